"""Training steps: one function per way of computing the gradient, chosen by ``train_step``.

A step takes the :class:`StepContext` and one augmented batch and returns the named loss terms
(already weighted); the engine sums them, backpropagates and steps the optimiser. Later methods
(per-timestep KD, rate-based backpropagation) add entries to :data:`TRAIN_STEPS`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from timm.loss import SoftTargetCrossEntropy

from .evaluate import forward_output, resize

_soft_ce = SoftTargetCrossEntropy()


@dataclass
class StepContext:
    model: torch.nn.Module
    distiller: torch.nn.Module | None = None
    teacher: torch.nn.Module | None = None
    img_size: int | None = None
    teacher_img_size: int | None = None


def bptt_step(ctx: StepContext, x: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Surrogate-gradient BPTT through all T steps: CE of the T-mean logits against the (mixed,
    smoothed) soft target ``[B, K]``, plus the distiller's terms (BKDSNN spec §1.7). A distiller
    with ``replaces_ce = True`` supplies the CE term itself."""
    need_feature = ctx.distiller is not None and ctx.distiller.needs_feature
    out = forward_output(ctx.model, resize(x, ctx.img_size), need_feature)
    # a distiller that brings its own CE (per-timestep TWCE, ICML 2025) replaces the T-mean CE
    terms = {} if getattr(ctx.distiller, "replaces_ce", False) else {"ce": _soft_ce(out.mean_logits, target)}
    if ctx.distiller is not None:
        t_out = None  # self-distillation without a teacher (e.g. TWCE + TWSD) passes None
        if ctx.teacher is not None:
            with torch.no_grad():  # the teacher sees the student's augmented batch, online
                t_out = forward_output(ctx.teacher, resize(x, ctx.teacher_img_size), need_feature)
        terms.update(ctx.distiller(out, t_out, target))
    return terms


TRAIN_STEPS: dict[str, Callable[[StepContext, torch.Tensor, torch.Tensor], dict]] = {
    "bptt": bptt_step,
}
