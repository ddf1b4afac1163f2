"""Training steps: one function per way of computing the gradient, chosen by ``train_step``.

A step takes the :class:`StepContext` and one augmented batch and returns the named loss terms
(already weighted); the engine sums them, backpropagates and steps the optimiser. Later methods
(per-timestep KD, rate-based backpropagation) add entries to :data:`TRAIN_STEPS`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from timm.loss import SoftTargetCrossEntropy

from ..ratebp import RateBP, scale_grad
from .evaluate import forward_output, resize

_soft_ce = SoftTargetCrossEntropy()


@dataclass
class StepContext:
    model: torch.nn.Module
    distiller: torch.nn.Module | None = None
    teacher: torch.nn.Module | None = None
    img_size: int | None = None
    teacher_img_size: int | None = None
    state: dict[str, Any] = field(default_factory=dict)  #: a step's per-run state (e.g. RateBP)
    ratebp_bn_stats: str | None = None  #: Config.ratebp_bn_stats (replicate.ratebp.BN_STATS)


def _distill_terms(ctx: StepContext, out, x: torch.Tensor, target: torch.Tensor, need_feature: bool) -> dict:
    t_out = None  # self-distillation without a teacher (TWCE + TWSD, ESD) passes None
    if ctx.teacher is not None:
        with torch.no_grad():  # the teacher sees the student's augmented batch, online
            t_out = forward_output(ctx.teacher, resize(x, ctx.teacher_img_size), need_feature)
    return ctx.distiller(out, t_out, target)


def bptt_step(ctx: StepContext, x: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Surrogate-gradient BPTT through all T steps: CE of the T-mean logits against the (mixed,
    smoothed) soft target ``[B, K]``, plus the distiller's terms (BKDSNN ``Spikingformer-CML/imagenet/train.py``@dd6bd53, ``train_one_epoch_distillation()``). A distiller
    with ``replaces_ce = True`` supplies the CE term itself."""
    need_feature = ctx.distiller is not None and ctx.distiller.needs_feature
    need_stages = getattr(ctx.distiller, "needs_stages", False)
    out = forward_output(ctx.model, resize(x, ctx.img_size), need_feature, need_stages)
    # a distiller that brings its own CE (per-timestep TWCE, ICML 2025) replaces the T-mean CE
    terms = {} if getattr(ctx.distiller, "replaces_ce", False) else {"ce": _soft_ce(out.mean_logits, target)}
    if ctx.distiller is not None:
        terms.update(_distill_terms(ctx, out, x, target, need_feature))
    return terms


def rate_bp_step(ctx: StepContext, x: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Rate-based backpropagation (Yu et al., NeurIPS 2024, arXiv 2410.11488; :mod:`replicate.ratebp`).

    A no-grad T-step spike pass records firing rates, eligibilities and BN statistics; one
    time-collapsed rate pass on the time-mean input ``[1, B, ...]`` gives the logits z̄ ``[1, B, K]``
    (equal to the T-mean of the spike-pass logits) and, for self-distillation, the stage rates.
    Terms: CE(z̄, target) plus the distiller's terms, each with its gradient scaled by 1/T (the
    logged values are the plain losses).

    Raises:
        RateBPError: the model's neurons are not the soft-reset, detached-reset LIF it assumes.
    """
    model = ctx.model
    if "rate_bp" not in ctx.state:
        ctx.state["rate_bp"] = RateBP(model, bn_stats=ctx.ratebp_bn_stats)
    rbp: RateBP = ctx.state["rate_bp"]
    x = resize(x, ctx.img_size)
    steps = x.shape[0] if x.dim() == 5 else model.T
    with torch.no_grad(), rbp.spike_pass():
        model(x)
    x_rate = x.mean(0, keepdim=True) if x.dim() == 5 else x.unsqueeze(0)
    need_feature = ctx.distiller is not None and ctx.distiller.needs_feature
    need_stages = getattr(ctx.distiller, "needs_stages", False)
    with rbp.rate_pass():
        out = forward_output(model, x_rate, need_feature, need_stages)
    terms = {"ce": _soft_ce(out.mean_logits, target)}
    if ctx.distiller is not None:
        terms.update(_distill_terms(ctx, out, x, target, need_feature))
    return {k: scale_grad(v, 1.0 / steps) for k, v in terms.items()}


TRAIN_STEPS: dict[str, Callable[[StepContext, torch.Tensor, torch.Tensor], dict]] = {
    "bptt": bptt_step,
    "rate_bp": rate_bp_step,
}
