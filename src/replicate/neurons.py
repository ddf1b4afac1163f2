"""The one LIF neuron used by every spiking model in this package.

All spiking layers are built through :func:`make_lif` or :class:`LIFSettings`, so a neuron setting
(τ, threshold, reset mode, surrogate) is chosen in exactly one place. The layer is spikingjelly's
``LIFNode`` (multi-step mode); this module fixes the settings, validates them and makes the membrane
state per-call (no leak between batches). On the CPU the recurrence runs in
:mod:`replicate.fused_lif`, bit-identical to spikingjelly's arithmetic; on CUDA in spikingjelly.

Dynamics per neuron, t = 1..T, V_0 = 0 (spikingjelly ``LIFNode``; with V_reset = 0 or soft reset):

* ``decay_input=True`` (BKDSNN/Spikingformer: ``MultiStepLIFNode(tau=2.0, detach_reset=True)``,
  Spikingformer-CML: cifar10/model.py@8e51213 l.17):
  ``H_t = V_{t-1} + (X_t - V_{t-1}) / τ``
* ``decay_input=False`` (temporal logit KD / self-distillation: ``LIFLayer``,
  snn_temporal_decoupling_distillation: model/layer.py@e3f5fd4 l.22–28):
  ``H_t = λ·V_{t-1} + X_t`` with ``λ = 1 - 1/τ`` (use :func:`tau_from_decay` to go from λ to τ).
* fire: ``S_t = Θ(H_t - V_th)`` (Θ(0) = 1); backward uses the surrogate derivative, for the
  sigmoid surrogate ``dS/dH ≈ α·σ(α(H - V_th))·(1 - σ(α(H - V_th)))``.
* reset, with ``S̃_t = stopgrad(S_t)`` if ``detach_reset`` else ``S_t``:
  hard (``v_reset`` a float): ``V_t = (1 - S̃_t)·H_t + S̃_t·v_reset``;
  soft (``v_reset=None``): ``V_t = H_t - V_th·S̃_t``.

(With a non-zero hard-reset value spikingjelly leaks towards ``v_reset`` instead of 0:
``H_t = V_{t-1} + (X_t - (V_{t-1} - v_reset))/τ``; no model here uses that.)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from spikingjelly.activation_based import neuron, surrogate

from . import fused_lif

__all__ = ["LIF", "LIFSettings", "SURROGATES", "make_lif", "tau_from_decay"]

#: Allowed surrogate names → spikingjelly surrogate class (constructed with ``alpha=``).
SURROGATES: dict[str, type] = {
    "sigmoid": surrogate.Sigmoid,
    "atan": surrogate.ATan,
}

#: Strings accepted for ``v_reset`` meaning "soft reset" (``None``). Needed because
#: ``timm.create_model`` silently drops keyword arguments whose value is ``None``.
_SOFT_RESET_NAMES = ("soft", "none")


def tau_from_decay(decay: float) -> float:
    """Membrane time constant τ for a multiplicative leak λ per step: ``τ = 1 / (1 - λ)``.

    "decay" λ of snn_temporal_decoupling_distillation is the membrane leak per step
    (``LIFLayer``, model/layer.py@e3f5fd4 l.26, sets ``tau = 1/(1 - sigmoid(decay))`` with the
    decay passed as ``logit(λ)`` by ``warp_decay``, util/util.py@e3f5fd4 l.90), so with
    ``decay_input=False`` the charge is ``H_t = λ·V_{t-1} + X_t``. E.g. 0.5 → 2.0, 0.2 → 1.25.

    Raises:
        ValueError: if ``decay`` is not in ``[0, 1)``.
    """
    decay = float(decay)
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"decay must be in [0, 1), got {decay}")
    return 1.0 / (1.0 - decay)


def _normalise_v_reset(v_reset: Any) -> float | None:
    if v_reset is None:
        return None
    if isinstance(v_reset, str):
        if v_reset.strip().lower() in _SOFT_RESET_NAMES:
            return None
        try:
            return float(v_reset)
        except ValueError:
            raise ValueError(
                f"v_reset must be a float (hard reset), None or one of {_SOFT_RESET_NAMES} "
                f"(soft reset), got {v_reset!r}"
            ) from None
    if isinstance(v_reset, bool):
        raise ValueError(f"v_reset must be a float or None, got {v_reset!r}")
    return float(v_reset)


def _make_surrogate(name: str, alpha: float):
    key = str(name).lower()
    if key not in SURROGATES:
        raise ValueError(f"unknown surrogate {name!r}; allowed: {sorted(SURROGATES)}")
    return SURROGATES[key](alpha=float(alpha))


class LIF(neuron.LIFNode):
    """Multi-step LIF layer whose membrane state lives only inside one ``forward`` call.

    Input ``[T, B, ...]`` (any trailing shape) → spikes of the same shape and dtype (values 0/1).
    The state is reset before and after every forward, so two identical calls give identical
    outputs and nothing leaks from one batch to the next (the original code called
    ``functional.reset_net`` after every batch: ``train_one_epoch``, Spikingformer-CML:
    cifar10/train.py@8e51213 l.712). Only ``step_mode='m'`` is
    supported; single-step use would break the temporal recurrence under the per-call reset.

    Build it with :func:`make_lif` or :meth:`LIFSettings.build` rather than directly.
    """

    def supported_step_mode(self):
        """Only multi-step mode: the per-call reset would break single-step recurrence."""
        return ("m",)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, B, ...]`` for input currents ``x_seq`` ``[T, B, ...]`` (T ≥ 1).

        Spikes have the input's dtype; fp16/bf16 inputs (autocast) are integrated in fp32. On CPU
        the recurrence runs in :mod:`replicate.fused_lif` (bit-identical to spikingjelly's, forward
        and backward); elsewhere (CUDA: spikingjelly's Triton/CUDA kernels) in spikingjelly.

        Raises:
            ValueError: if ``x_seq`` has fewer than 2 dimensions.
        """
        if x_seq.device.type == "cpu" and x_seq.dim() >= 2 and fused_lif.available():
            return run_multistep(self, self._fused_forward, x_seq)
        return run_multistep(self, super().forward, x_seq)

    def surrogate_name(self) -> str:
        """The surrogate's name in :data:`SURROGATES` (e.g. ``"sigmoid"``).

        Raises:
            ValueError: the layer's surrogate is not one of :data:`SURROGATES`.
        """
        for name, cls in SURROGATES.items():
            if type(self.surrogate_function) is cls:
                return name
        raise ValueError(f"surrogate {type(self.surrogate_function).__name__} is not one of "
                         f"{sorted(SURROGATES)}")

    def _fused_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return fused_lif.lif_multistep(
            x_seq, tau=self.tau, decay_input=self.decay_input, v_threshold=self.v_threshold,
            v_reset=self.v_reset, detach_reset=self.detach_reset, surrogate=self.surrogate_name(),
            alpha=self.surrogate_function.alpha)



def run_multistep(node: Any, forward: Any, x_seq: torch.Tensor) -> torch.Tensor:
    """Run a spikingjelly multi-step neuron's ``forward`` on currents ``x_seq`` ``[T, B, ...]``
    from a fresh state and leave it fresh (state never leaks between calls). Under autocast the
    currents arrive in half precision; spikingjelly would then keep a half-precision membrane and
    fall back to a slow per-step loop, so the membrane is integrated in fp32 and the spikes (0/1,
    exact in any dtype) cast back.

    Raises:
        ValueError: if ``x_seq`` has fewer than 2 dimensions.
    """
    if x_seq.dim() < 2:
        raise ValueError(f"{type(node).__name__} expects [T, B, ...] input, got shape {tuple(x_seq.shape)}")
    dtype = x_seq.dtype
    if dtype in (torch.float16, torch.bfloat16):
        x_seq = x_seq.float()
    node.reset()
    try:
        return forward(x_seq).to(dtype)
    finally:
        node.reset()


@dataclass(frozen=True)
class LIFSettings:
    """All knobs of :class:`LIF`, in one immutable object that models can take as an argument.

    Defaults are the Spikingformer/CML neuron (``MultiStepLIFNode(tau=2.0, detach_reset=True)``
    with spikingjelly's other defaults, Spikingformer-CML: cifar10/model.py@8e51213 l.17): τ = 2,
    ``decay_input``, V_th = 1, hard reset to 0, detached reset, sigmoid surrogate with α = 4.

    Attributes:
        tau: membrane time constant, must be > 1 (spikingjelly requirement).
        decay_input: whether the input is scaled by 1/τ (see module docstring).
        v_threshold: firing threshold V_th.
        v_reset: float → hard reset to that value; ``None`` (or "soft"/"none") → soft reset.
        detach_reset: stop the gradient through the spike in the reset term.
        surrogate: ``"sigmoid"`` or ``"atan"`` (spikingjelly ``Sigmoid`` / ``ATan``).
        surrogate_alpha: the surrogate's sharpness α.

    Raises:
        ValueError: at construction, for τ ≤ 1, a non-positive α, an unknown surrogate or a
            malformed ``v_reset``.
    """

    tau: float = 2.0
    decay_input: bool = True
    v_threshold: float = 1.0
    v_reset: float | None = 0.0
    detach_reset: bool = True
    surrogate: str = "sigmoid"
    surrogate_alpha: float = 4.0

    def __post_init__(self) -> None:
        tau = float(self.tau)
        if not tau > 1.0:
            raise ValueError(
                f"tau must be > 1 (spikingjelly LIFNode requirement), got {self.tau}; "
                "for a leak factor λ use tau_from_decay(λ)"
            )
        alpha = float(self.surrogate_alpha)
        if not alpha > 0.0:
            raise ValueError(f"surrogate_alpha must be > 0, got {self.surrogate_alpha}")
        name = str(self.surrogate).lower()
        if name not in SURROGATES:
            raise ValueError(f"unknown surrogate {self.surrogate!r}; allowed: {sorted(SURROGATES)}")
        object.__setattr__(self, "tau", tau)
        object.__setattr__(self, "decay_input", bool(self.decay_input))
        object.__setattr__(self, "v_threshold", float(self.v_threshold))
        object.__setattr__(self, "v_reset", _normalise_v_reset(self.v_reset))
        object.__setattr__(self, "detach_reset", bool(self.detach_reset))
        object.__setattr__(self, "surrogate", name)
        object.__setattr__(self, "surrogate_alpha", alpha)

    def replace(self, **overrides: Any) -> "LIFSettings":
        """A copy with some fields changed (validated again)."""
        return replace(self, **overrides)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def build(self, **overrides: Any) -> LIF:
        """A fresh :class:`LIF` layer with these settings, optionally overriding some fields.

        Example: ``settings.build(v_threshold=0.5)`` for Spikingformer's ``attn_lif``.
        """
        s = self.replace(**overrides) if overrides else self
        return LIF(
            tau=s.tau,
            decay_input=s.decay_input,
            v_threshold=s.v_threshold,
            v_reset=s.v_reset,
            surrogate_function=_make_surrogate(s.surrogate, s.surrogate_alpha),
            detach_reset=s.detach_reset,
            step_mode="m",
        )


def make_lif(**settings: Any) -> LIF:
    """Build a multi-step :class:`LIF` layer (``[T, B, ...]`` → spikes ``[T, B, ...]``).

    Same as ``LIFSettings(**settings).build()``: the keyword-only fields and their defaults are
    those of :class:`LIFSettings` (``tau=2.0, decay_input=True, v_threshold=1.0, v_reset=0.0,
    detach_reset=True, surrogate="sigmoid", surrogate_alpha=4.0``); see the module docstring for
    the equations.

    Raises:
        ValueError: τ ≤ 1, α ≤ 0, unknown surrogate name (allowed: "sigmoid", "atan"), bad v_reset.
        TypeError: an unknown field name.
    """
    return LIFSettings(**settings).build()


#: Flat neuron fields of the experiment config (``Config``) → :class:`LIFSettings` field.
FLAT_LIF_KWARGS = {
    "lif_tau": "tau",
    "lif_decay_input": "decay_input",
    "lif_v_threshold": "v_threshold",
    "lif_v_reset": "v_reset",
    "lif_detach_reset": "detach_reset",
    "surrogate": "surrogate",
    "surrogate_alpha": "surrogate_alpha",
}


def lif_from_flat_kwargs(lif: LIFSettings, kwargs: dict[str, Any], owner: str,
                         ignore: tuple[str, ...] = ()) -> LIFSettings:
    """``lif`` with the flat neuron kwargs of ``kwargs`` applied (``lif_tau`` or ``lif_decay``,
    ``lif_v_reset``, ...); pops them, and the names in ``ignore``, from ``kwargs``.

    ``lif_decay`` is the leak λ (the ``--decay`` option of snn_temporal_decoupling_distillation:
    experiment/cifar/config/config.py@e3f5fd4 l.32), turned into τ = 1/(1−λ).

    Raises:
        TypeError: ``lif`` is not a LIFSettings, or unknown kwargs remain (named, with ``owner``).
        ValueError: both ``lif_tau`` and ``lif_decay`` given, or an invalid value.
    """
    if not isinstance(lif, LIFSettings):
        raise TypeError(f"lif must be a LIFSettings, got {type(lif).__name__}")
    overrides: dict[str, Any] = {}
    decay = kwargs.pop("lif_decay", None)
    for key in list(kwargs):
        if key in FLAT_LIF_KWARGS:
            overrides[FLAT_LIF_KWARGS[key]] = kwargs.pop(key)
        elif key in ignore:
            kwargs.pop(key)
    if kwargs:
        raise TypeError(f"{owner} got unexpected keyword arguments {sorted(kwargs)}")
    if decay is not None:
        if "tau" in overrides:
            raise ValueError("give either lif_tau or lif_decay (λ, τ = 1/(1-λ)), not both")
        overrides["tau"] = tau_from_decay(decay)
    return lif.replace(**overrides) if overrides else lif
