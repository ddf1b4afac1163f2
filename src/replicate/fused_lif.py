"""A fused multi-step LIF for CPU, bit-identical to spikingjelly 2.0's and a few times faster.

On the CPU spikingjelly 2.0 trains a ``LIFNode`` through its reference step
(``spikingjelly/_ops/lif/reference.py`` and ``_ops/reset.py``, registered for ``AutogradCPU`` by
``_ops/dispatch.py``): per timestep ≈ 8 whole-tensor PyTorch ops forward and as many autograd
nodes backward. Here one C++ loop per direction (``csrc/fused_lif.cpp``, built once per machine by
``torch.utils.cpp_extension``, ~20 s) keeps the membrane in registers and touches each element
once per timestep. Its arithmetic is spikingjelly's, operation by operation: the forward of the
reference step, and for the backward the arithmetic autograd performs through it, in autograd's
accumulation order (written out in the C++ file's header). Compiled without FMA contraction or
fast-math, every result is IEEE-identical: spikes, membrane, input gradients, and so the weights
after any number of optimiser steps (``tests/test_fused_lif.py``: hard/soft reset, detached or
not, ``decay_input`` on/off, sigmoid and atan surrogates, τ = 2 and 1.25, a 3-step SGD run of a
spiking ResNet-18). The sigmoid of the surrogate is PyTorch's own kernel, called on each
timestep's ``[N]`` slice as the reference does (its vectorised ``exp`` treats a tensor's tail with
scalar code, so its bits depend on the slice length).

:func:`lif_multistep` is the entry point (used by :class:`replicate.neurons.LIF` on CPU). It runs
the eager recurrence (:func:`lif_eager`: the same arithmetic as PyTorch ops, slower) when the
extension cannot be built (no C++ compiler: one warning) or ``REPLICATE_FUSED_LIF=0``.
:func:`build_seconds` reports this process's build/load time. :func:`ratebp_spike_pass` is the
spike pass of rate-based BP (:mod:`replicate.ratebp`) in the same loop.
"""
from __future__ import annotations

import logging
import math
import os
import time
import warnings
from pathlib import Path

import torch

__all__ = ["SURROGATE_IDS", "available", "build_seconds", "lif_eager", "lif_multistep",
           "ratebp_spike_pass", "surrogate_grad"]

#: Surrogate names handled here → spikingjelly's surrogate id (``_ops/surrogate.py``).
SURROGATE_IDS = {"sigmoid": 0, "atan": 1}
_SOURCE = Path(__file__).with_name("csrc") / "fused_lif.cpp"
_EXT = None
_BUILD_S: float | None = None
_FAILED: str | None = None


def surrogate_grad(x: torch.Tensor, alpha: float, surrogate: str) -> torch.Tensor:
    """spikingjelly's surrogate derivative at ``x = H − V_th`` (any shape), same ops and order.

    sigmoid: ``σ(αx)·(1 − σ(αx))·α`` written ``(1 − s)·s·α``; atan: ``(α/2) / (1 + (π/2·α·x)²)``.
    Source: spikingjelly 2.0 ``_ops/surrogate.py`` ``_surrogate_gradient`` (ids 0 and 1).

    Raises:
        ValueError: for another surrogate name.
    """
    if surrogate == "sigmoid":
        s = torch.sigmoid(alpha * x)
        return (1 - s) * s * alpha
    if surrogate == "atan":
        z = x * (math.pi / 2 * alpha)
        return (alpha / 2) / (1 + z * z)
    raise ValueError(f"fused LIF supports surrogates {sorted(SURROGATE_IDS)}, got {surrogate!r}")


def _ninja_on_path() -> None:
    """Put the pinned ``ninja`` package's binary on PATH (the venv's bin/ may not be on it)."""
    try:
        import ninja
    except ImportError:
        return
    path = os.environ.get("PATH", "")
    if ninja.BIN_DIR not in path.split(os.pathsep):
        os.environ["PATH"] = ninja.BIN_DIR + os.pathsep + path


def _extension():
    """The compiled extension, or None (and one warning) if it cannot be built here."""
    global _EXT, _BUILD_S, _FAILED
    if _EXT is not None or _FAILED is not None:
        return _EXT
    start = time.perf_counter()
    try:
        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)  # "no CUDA" note
        _ninja_on_path()
        from torch.utils import cpp_extension
        _EXT = cpp_extension.load(
            name="replicate_fused_lif", sources=[str(_SOURCE)],
            extra_cflags=["-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-trapping-math",
                         "-fopenmp"],
            extra_ldflags=["-fopenmp"], verbose=False)
    except Exception as err:  # no compiler, no headers: fall back, results unchanged
        _FAILED = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
        warnings.warn(f"fused LIF unavailable ({_FAILED}); using the eager recurrence "
                      "(same numbers, slower)", RuntimeWarning, stacklevel=3)
        return None
    _BUILD_S = time.perf_counter() - start
    return _EXT


def available() -> bool:
    """Whether the C++ fused LIF is enabled (``REPLICATE_FUSED_LIF`` not ``0``) and builds here."""
    if os.environ.get("REPLICATE_FUSED_LIF", "1") == "0":
        return False
    return _extension() is not None


def build_seconds() -> float | None:
    """Seconds this process spent building/loading the extension (None if not loaded)."""
    return _BUILD_S


def _eager_forward(x, p):
    """spikingjelly's forward loop on ``x`` ``[T, N]``: (spikes, H, V_T)."""
    tau, decay_input, th, r, soft, v = p["tau"], p["decay_input"], p["th"], p["r"], p["soft"], None
    v = torch.full_like(x[0], p["v_init"])
    spikes, hs = [], []
    for xt in x:
        h = v + (xt - (v - r)) / tau if decay_input else v - (v - r) / tau + xt
        s = ((h - th) >= 0).to(torch.float32)
        v = h - s * th if soft else s * r + (1 - s) * h
        spikes.append(s)
        hs.append(h)
    return torch.stack(spikes), torch.stack(hs), v


def _eager_backward(gs, h, sg, p):
    """gX ``[T, N]``: autograd's arithmetic through spikingjelly's reference step, in its order."""
    tau, th, r, soft, detach = p["tau"], p["th"], p["r"], p["soft"], p["detach"]
    gx = torch.empty_like(h)
    g = None  # dL/dV_t; the final membrane is not an output
    for t in range(h.shape[0] - 1, -1, -1):
        if g is None:
            gh = gs[t] * sg[t]
        elif soft:
            g_spike = gs[t] if detach else gs[t] + (-g) * th
            gh = g_spike * sg[t] + g
        else:
            s = ((h[t] - th) >= 0).to(h.dtype)
            g_spike = gs[t] if detach else (gs[t] + -(g * h[t])) + g * r
            gh = g_spike * sg[t] + g * (1.0 - s)
        gx[t] = gh / tau if p["decay_input"] else gh
        g = gh - gh / tau
    return gx


class _LIFFunction(torch.autograd.Function):
    """Multi-step LIF on ``x`` ``[T, N]`` with spikingjelly's hand-written backward."""

    @staticmethod
    def forward(ctx, x, p, fused):
        if fused:
            spikes, h, v_last = _EXT.lif_forward(x, p["tau"], p["decay_input"], p["th"], p["r"],
                                                  p["soft"], p["v_init"])
        else:
            spikes, h, v_last = _eager_forward(x, p)
        ctx.save_for_backward(h)
        ctx.p, ctx.fused = p, fused
        ctx.mark_non_differentiable(v_last)
        return spikes, v_last

    @staticmethod
    def backward(ctx, g_spikes, g_v):
        (h,) = ctx.saved_tensors
        p = ctx.p
        g_spikes = g_spikes.contiguous() if g_spikes is not None else torch.zeros_like(h)
        if ctx.fused:
            gx = _EXT.lif_backward(g_spikes, h, p["tau"], p["decay_input"], p["th"], p["r"],
                                   p["soft"], p["detach"], SURROGATE_IDS[p["surrogate"]],
                                   p["alpha"])
        else:
            # per timestep, as the reference does: PyTorch's vectorised exp handles a tensor's
            # tail (and each thread's share) with scalar code, so its bits depend on the length
            sg = torch.stack([surrogate_grad(h_t - p["th"], p["alpha"], p["surrogate"])
                              for h_t in h])
            gx = _eager_backward(g_spikes, h, sg, p)
        return gx, None, None


def _params(tau, decay_input, v_threshold, v_reset, detach_reset, surrogate, alpha) -> dict:
    if surrogate not in SURROGATE_IDS:
        raise ValueError(f"fused LIF supports surrogates {sorted(SURROGATE_IDS)}, got {surrogate!r}")
    soft = v_reset is None
    return {"tau": float(tau), "decay_input": bool(decay_input), "th": float(v_threshold),
            "r": 0.0 if soft else float(v_reset), "soft": soft, "detach": bool(detach_reset),
            "v_init": 0.0 if soft else float(v_reset), "surrogate": surrogate,
            "alpha": float(alpha)}


def lif_multistep(x_seq: torch.Tensor, *, tau: float, decay_input: bool, v_threshold: float,
                  v_reset: float | None, detach_reset: bool, surrogate: str, alpha: float,
                  fused: bool | None = None) -> torch.Tensor:
    """Spikes ``[T, B, ...]`` (float32, 0/1) of a LIF started at rest (V_0 = v_reset, or 0 for a
    soft reset) for float32 CPU currents ``x_seq`` ``[T, B, ...]``; differentiable in ``x_seq``.

    ``fused=None`` uses the C++ loop when :func:`available`, else the eager recurrence; both give
    spikingjelly's bits (see the module docstring).

    Raises:
        ValueError: input not float32 on CPU with ≥ 2 dims, or an unsupported surrogate.
        RuntimeError: ``fused=True`` but the extension cannot be built.
    """
    if x_seq.dim() < 2 or x_seq.dtype != torch.float32 or x_seq.device.type != "cpu":
        raise ValueError("fused LIF expects a float32 CPU tensor [T, B, ...], got "
                         f"{x_seq.dtype} {x_seq.device.type} {tuple(x_seq.shape)}")
    p = _params(tau, decay_input, v_threshold, v_reset, detach_reset, surrogate, alpha)
    if fused is None:
        fused = available()
    elif fused and _extension() is None:
        raise RuntimeError(f"fused LIF extension unavailable: {_FAILED}")
    T = x_seq.shape[0]
    spikes, _ = _LIFFunction.apply(x_seq.reshape(T, -1).contiguous(), p, bool(fused))
    return spikes.view(x_seq.shape)


def ratebp_spike_pass(x: torch.Tensor, tau: float, v_threshold: float, alpha: float,
                      kappas: list[float]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The spike pass of rate-based BP for one soft-reset LIF (``decay_input=False``, sigmoid
    surrogate) in one C++ loop: spikes ``[T, B, ...]``, firing rate and eligibility ``[B, ...]``,
    bit-identical to :class:`replicate.ratebp.RateBP`'s Python loop (``kappas``: κ_1..κ_T).

    Raises:
        RuntimeError: the extension is not built (check :func:`available` first).
    """
    if _extension() is None:
        raise RuntimeError(f"fused LIF extension unavailable: {_FAILED}")
    T = x.shape[0]
    spikes, rate, elig = _EXT.ratebp_spike_pass(x.reshape(T, -1).contiguous(), float(tau),
                                                float(v_threshold), float(alpha), list(kappas))
    return spikes.view(x.shape), rate, elig


def lif_eager(x_seq: torch.Tensor, **settings) -> torch.Tensor:
    """:func:`lif_multistep` with the eager (PyTorch-ops) recurrence; same arguments and errors."""
    return lif_multistep(x_seq, fused=False, **settings)
