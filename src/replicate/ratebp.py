"""Rate-based backpropagation (Yu et al., NeurIPS 2024; the training engine of the NeurIPS 2025
enhanced self-distillation).

Sources: Yu et al., *Advancing Training Efficiency of Deep Spiking Neural Networks through
Rate-based Backpropagation*, NeurIPS 2024 (arXiv 2410.11488), and its released code,
github.com/Tab-ct/rate-based-backpropagation at commit 3c70ee9: ``model/layer.py`` (``LIFLayer``,
``CustomEvaluator``) and ``model/model_setting.py`` (``rate_model_setting()``,
``model_forward_hook()``, ``calcu_rate()``, ``bn_forward_hook()``); the multi-step copy in
github.com/Intelli-Chip-Lab/enhanced-self-distillation-framework-for-snn at commit d44e876
(``model/layer.py``; ``experiment/cifar/main.py``, ``train()``).

One training iteration is two passes over the same spiking model:

1. **spike pass** (:meth:`RateBP.spike_pass`, run under ``torch.no_grad()`` in train mode): the
   ordinary T-step forward on ``[T, B, ...]``. Every LIF records, per call, its firing rate
   ``r = (1/T) Σ_t s_t`` and its eligibility ``e = (1/T) Σ_t sg(H_t − V_th)·κ_t`` (``[B, ...]``,
   independent of T; ``LIFLayer.calcu_sg_and_elig()``), where ``sg`` is the surrogate derivative
   at the pre-reset potential H_t and ``κ_t = ∂H_t/∂x̄`` under a constant input: κ_1 = 1,
   κ_{t+1} = 1 + λ·κ_t (soft reset, detached reset, no input decay). Every BatchNorm records the
   batch mean μ_s and biased variance σ²_s of its ``[T·B, ...]`` input and updates its running
   statistics (once per iteration, here).
2. **rate pass** (:meth:`RateBP.rate_pass`, with gradients): one time-collapsed forward on the
   time-mean input ``[1, B, ...]``. Each LIF returns ``r + x·e − stopgrad(x·e)`` (value r,
   Jacobian diag(e)); each BatchNorm computes ``γ (x − μ̃)/√(σ̃² + ε) + β`` with
   ``μ̃ = μ_s + m(x) − stopgrad(m(x))`` and ``σ̃² = σ²_s + v(x) − stopgrad(v(x))`` (values from the
   spike pass, gradients of ordinary batch-statistics BN; ``calcu_rate()``) and leaves its
   running statistics alone. Every other layer of the spiking ResNets is affine (conv, linear,
   average pool, residual add; max-pool on T identical copies), so the rate-pass logits equal the
   T-mean of the spike-pass logits ("forward exactness", checked in ``tests/test_ratebp.py``).

The loss goes on the rate-pass logits only (nothing per timestep) and its gradient is scaled by
1/T (``CustomEvaluator``; :func:`scale_grad`). The modules are switched by replacing their
``forward`` on the instance for the duration of a pass, so the model class, its ``state_dict``
and eval-mode inference (the ordinary spiking forward) are untouched.

The eligibility formula holds only for soft reset with a detached reset and ``decay_input=False``
(the self-distillation code hard-codes it whatever the flags: ``LIFLayer.forward()`` in its
``model/layer.py``@d44e876 always calls ``calcu_elig_factor_soft_reset_detach_reset()``);
:class:`RateBP` refuses any other neuron with :class:`RateBPError`.
"""
from __future__ import annotations

from collections import deque
from contextlib import contextmanager
from typing import Iterator

import torch
from spikingjelly.activation_based import surrogate
from torch import nn

from . import fused_lif
from .neurons import LIF

__all__ = ["BN_STATS", "RateBP", "RateBPError", "check_neurons", "scale_grad", "surrogate_derivative"]


class RateBPError(ValueError):
    """The model cannot be trained with rate-based BP as implemented (neuron settings, or a pass
    that did not consume what the spike pass recorded)."""


def scale_grad(loss: torch.Tensor, factor: float) -> torch.Tensor:
    """``loss`` with its forward value unchanged and its gradient multiplied by ``factor``.

    The released code's ``CustomEvaluator`` (rate-based-backpropagation ``model/layer.py``@3c70ee9)
    / ``loss / T`` (``loss2 = loss / model.time_step`` in ``experiment/cifar/main.py``@d44e876 of the
    self-distillation code): the logged loss is the plain loss, the weights see 1/T of its gradient.
    """
    return loss * factor + (loss * (1.0 - factor)).detach()


_SURROGATE_DERIVATIVES = {
    surrogate.Sigmoid: surrogate.sigmoid_backward,
    surrogate.ATan: surrogate.atan_backward,
}


def surrogate_derivative(lif: LIF, x: torch.Tensor) -> torch.Tensor:
    """The surrogate gradient dS/dH of ``lif`` at ``x = H − V_th`` (spikingjelly's own backward
    formula for its ``Sigmoid`` / ``ATan`` surrogates), same shape as ``x``.

    Raises:
        RateBPError: a surrogate without a known derivative.
    """
    fn = _SURROGATE_DERIVATIVES.get(type(lif.surrogate_function))
    if fn is None:
        raise RateBPError(f"no eligibility formula for surrogate {type(lif.surrogate_function).__name__}")
    return fn(torch.ones_like(x), x, lif.surrogate_function.alpha)[0]


def check_neurons(model: nn.Module) -> list[LIF]:
    """Every LIF of ``model``, after checking it is the neuron rate-based BP assumes (the
    eligibility of ``LIFLayer`` in rate-based-backpropagation ``model/layer.py``@3c70ee9 with
    ``calcu_elig_factor_soft_reset_detach_reset()``, the only case the self-distillation code's
    ``model/layer.py``@d44e876 implements): soft reset (``v_reset=None``), ``detach_reset=True``,
    ``decay_input=False``.

    Raises:
        RateBPError: naming the first offending LIF and its settings, or if there is no LIF.
    """
    lifs = []
    for name, m in model.named_modules():
        if isinstance(m, LIF):
            if m.v_reset is not None or not m.detach_reset or m.decay_input:
                raise RateBPError(
                    f"rate-based BP needs soft reset with detach_reset=True and decay_input=False "
                    f"(its eligibility assumes them, arXiv 2410.11488); LIF {name!r} has v_reset={m.v_reset}, detach_reset={m.detach_reset}, "
                    f"decay_input={m.decay_input}. Set lif_v_reset=None, lif_detach_reset=True, "
                    "lif_decay_input=False, or train with train_step='bptt'")
            surrogate_derivative(m, torch.zeros(1))  # raises for an unknown surrogate
            lifs.append(m)
    if not lifs:
        raise RateBPError("rate-based BP needs a spiking model; this one has no LIF layer")
    return lifs


#: Spike-pass BatchNorm statistics: ``None`` (``Tensor.mean`` and ``Tensor.var`` beside the BN
#: forward, as every committed record) or ``"batchnorm"``: the statistics BatchNorm's own kernel
#: computes (on CPU those of the forward itself, from ``torch.native_batch_norm``; elsewhere
#: ``torch.batch_norm_update_stats``), saving one or two passes over ``[T·B, C, H, W]``; equal to
#: the former up to float32 rounding (``tests/test_ratebp.py``). A hashed config field,
#: ``ratebp_bn_stats``.
BN_STATS = (None, "batchnorm")


def _fused_spike_pass(lif: LIF, x: torch.Tensor) -> bool:
    """Whether the spike pass of ``lif`` on ``x`` runs in the fused C++ loop (CPU, float32,
    sigmoid surrogate, extension built): bit-identical spikes, rates and eligibilities."""
    return (x.device.type == "cpu" and x.dtype == torch.float32
            and type(lif.surrogate_function) is surrogate.Sigmoid and fused_lif.available())


def _plain_cpu_bn(bn: nn.modules.batchnorm._BatchNorm, x: torch.Tensor) -> bool:
    """A CPU BatchNorm in train mode whose forward is exactly ``torch.native_batch_norm``."""
    return (x.device.type == "cpu" and type(bn) in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
            and bn.training and bn.track_running_stats and bn.momentum is not None
            and bn.running_mean is not None)


def _bn_forward_keeping_stats(bn: nn.modules.batchnorm._BatchNorm, x: torch.Tensor, mem: deque):
    """``bn(x)`` (same output bits, same running-statistics update as ``_BatchNorm.forward``) that
    also appends the batch mean and biased variance to ``mem``. The variance is recovered from
    the kernel's 1/√(σ² + ε) as ``invstd⁻² − ε``: the rate pass only uses σ² + ε, which this
    reproduces to float32 rounding (relative error ≈ 1e-7, tests/test_ratebp.py)."""
    bn.num_batches_tracked.add_(1)
    y, mean, invstd = torch.native_batch_norm(x, bn.weight, bn.bias, bn.running_mean,
                                              bn.running_var, True, bn.momentum, bn.eps)
    mem.append((mean, invstd.pow(-2) - bn.eps))
    return y


class RateBP:
    """The two passes of rate-based BP for one model (see the module docstring).

    Usage, one iteration (the ``rate_bp`` training step does this)::

        rbp = RateBP(model)                      # checks the neurons once
        with torch.no_grad(), rbp.spike_pass():
            model(x)                             # [B, C, H, W] → T steps, records r, e, μ_s, σ²_s
        with rbp.rate_pass():
            logits = model(x.unsqueeze(0))       # [1, B, K] = T-mean of the spike-pass logits
        loss = scale_grad(ce(logits[0], y), 1 / T)

    A module called several times per forward records one entry per call; the rate pass consumes
    them in the same order.

    Raises:
        RateBPError: at construction, for a neuron rate-based BP does not support.
    """

    def __init__(self, model: nn.Module, bn_stats: str | None = None):
        if bn_stats not in BN_STATS:
            raise RateBPError(f"bn_stats must be one of {BN_STATS}, got {bn_stats!r}")
        self.bn_stats = bn_stats
        self.lifs = check_neurons(model)
        self.bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        self._lif_mem: dict[int, deque] = {id(m): deque() for m in self.lifs}
        self._bn_mem: dict[int, deque] = {id(m): deque() for m in self.bns}

    # ------------------------------------------------------------------ spike pass
    def _lif_spike(self, lif: LIF):
        mem = self._lif_mem[id(lif)]
        decay = 1.0 - 1.0 / lif.tau  # λ (decay_input=False: H_t = λ·V_{t-1} + X_t)

        def forward(x_seq: torch.Tensor) -> torch.Tensor:
            if x_seq.dim() < 2:
                raise ValueError(f"LIF expects [T, B, ...] input, got shape {tuple(x_seq.shape)}")
            x = x_seq.float()
            kappas = [1.0]  # κ_t, soft reset with detached reset (see check_neurons)
            for _ in range(x.shape[0] - 1):
                kappas.append(1.0 + decay * kappas[-1])
            if _fused_spike_pass(lif, x):
                spikes, rate, elig = fused_lif.ratebp_spike_pass(
                    x, lif.tau, lif.v_threshold, lif.surrogate_function.alpha, kappas)
                mem.append((rate.view(x.shape[1:]), elig.view(x.shape[1:])))
                return spikes.to(x_seq.dtype)
            theta = lif.v_threshold
            v = torch.zeros_like(x[0])
            rate, elig = torch.zeros_like(v), torch.zeros_like(v)
            spikes = []
            for t in range(x.shape[0]):
                h = v - v / lif.tau + x[t]  # spikingjelly's charge, so spikes match its forward
                s = (h >= theta).to(x.dtype)
                elig += kappas[t] * surrogate_derivative(lif, h - theta)
                rate += s
                v = h - theta * s  # soft reset
                spikes.append(s)
            n = x.shape[0]
            mem.append((rate / n, elig / n))
            return torch.stack(spikes).to(x_seq.dtype)

        return forward

    def _bn_spike(self, bn: nn.modules.batchnorm._BatchNorm):
        mem = self._bn_mem[id(bn)]
        original = type(bn).forward.__get__(bn)
        fast = self.bn_stats == "batchnorm"

        def forward(x: torch.Tensor) -> torch.Tensor:
            if fast and _plain_cpu_bn(bn, x):  # the normalisation's own statistics, one pass
                return _bn_forward_keeping_stats(bn, x, mem)
            if fast:  # BatchNorm's own statistics kernel: mean, biased variance
                mem.append(torch.batch_norm_update_stats(x, None, None, 0.0))
            else:
                dims = [0] + list(range(2, x.dim()))
                mem.append((x.mean(dims), x.var(dims, unbiased=False)))
            return original(x)  # train mode: batch statistics, running statistics updated

        return forward

    # ------------------------------------------------------------------ rate pass
    def _lif_rate(self, lif: LIF):
        mem = self._lif_mem[id(lif)]

        def forward(x: torch.Tensor) -> torch.Tensor:
            if not mem:
                raise RateBPError("rate pass called a LIF more often than the spike pass did")
            rate, elig = mem.popleft()
            if x.shape[1:] != rate.shape or x.shape[0] != 1:
                raise RateBPError(
                    f"rate pass expects [1, {', '.join(map(str, rate.shape))}] at this LIF, got "
                    f"{list(x.shape)}: run it on the time-mean input (x.unsqueeze(0) for images)")
            xe = x * elig.unsqueeze(0)
            return rate.unsqueeze(0).to(x.dtype) + xe - xe.detach()

        return forward

    def _bn_rate(self, bn: nn.modules.batchnorm._BatchNorm):
        mem = self._bn_mem[id(bn)]

        def forward(x: torch.Tensor) -> torch.Tensor:
            if not mem:
                raise RateBPError("rate pass called a BatchNorm more often than the spike pass did")
            mu_s, var_s = mem.popleft()
            dims = [0] + list(range(2, x.dim()))
            shape = [1, -1] + [1] * (x.dim() - 2)
            m = x.mean(dims)
            v = x.var(dims, unbiased=False)
            mu = mu_s + (m - m.detach())
            var = var_s + (v - v.detach())
            y = (x - mu.view(shape)) / torch.sqrt(var.view(shape) + bn.eps)
            if bn.affine:
                y = y * bn.weight.view(shape) + bn.bias.view(shape)
            return y

        return forward

    # ------------------------------------------------------------------ switching
    @contextmanager
    def _installed(self, lif_fn, bn_fn) -> Iterator[None]:
        modules = self.lifs + self.bns
        try:
            for m in self.lifs:
                m.forward = lif_fn(m)
            for m in self.bns:
                m.forward = bn_fn(m)
            yield
        finally:
            for m in modules:
                m.__dict__.pop("forward", None)

    @contextmanager
    def spike_pass(self) -> Iterator[None]:
        """Phase 1: record r, e per LIF call and μ_s, σ²_s per BN call (clears older records).
        Run it under ``torch.no_grad()`` with the model in train mode."""
        for mem in (*self._lif_mem.values(), *self._bn_mem.values()):
            mem.clear()
        with self._installed(self._lif_spike, self._bn_spike):
            yield

    @contextmanager
    def rate_pass(self) -> Iterator[None]:
        """Phase 2: LIFs emit their recorded rates with Jacobian diag(e); BNs use the recorded
        statistics. Everything the spike pass recorded must be consumed.

        Raises:
            RateBPError: a module called more (or fewer) times than in the spike pass.
        """
        with self._installed(self._lif_rate, self._bn_rate):
            yield
        left = sum(len(m) for m in (*self._lif_mem.values(), *self._bn_mem.values()))
        if left:
            raise RateBPError(f"rate pass left {left} spike-pass records unused: the two passes "
                              "must run the same modules in the same order")
