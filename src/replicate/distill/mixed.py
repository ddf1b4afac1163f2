"""The "mixed" distillation: BKD + w * WSLD (spec ``spec-bkdsnn-cml.md`` §1.7, all README rows).

The CE term of L_CE + L_BKD + w * L_WSLD is added by the training engine, not here.
"""
from __future__ import annotations

import torch
from torch import nn

from replicate.distill.bkd import BKD
from replicate.distill.wsld import WSLD
from replicate.models.output import ModelOutput

__all__ = ["Mixed"]


class Mixed(nn.Module):
    """BKD feature loss plus weighted WSLD logit loss.

    ``forward(student, teacher, target)`` returns ``{"bkd": L_BKD, "wsld": weight * L_WSLD}``
    (scalars). Needs ``student.feature`` ``[B, C_s, H, W]``, ``teacher.feature`` ``[B, C_t]``
    (or ``[B, C_t, H, W]`` when ``pooled=False``), ``student.logits`` ``[T, B, K]``,
    ``teacher.logits`` ``[B, K]`` and ``target`` ``[B]`` int or ``[B, K]`` soft.
    The BKD term is computed first (it draws the random mask from the global RNG).
    Parameters live in ``self.bkd`` (align + restoration block); WSLD has none.

    Raises:
        ValueError: from :class:`BKD` / :class:`WSLD` on bad shapes or arguments.
    """

    needs_feature = True

    def __init__(
        self,
        student_channels: int,
        teacher_channels: int,
        mask_ratio: float = 0.15,
        alpha: float = 2e-3,
        temperature: float = 2.0,
        weight: float = 1.0,
        pooled: bool = True,
    ) -> None:
        super().__init__()
        self.bkd = BKD(student_channels, teacher_channels, mask_ratio=mask_ratio, alpha=alpha, pooled=pooled)
        self.wsld = WSLD(temperature=temperature, weight=weight)

    def forward(
        self, student: ModelOutput, teacher: ModelOutput, target: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        out = dict(self.bkd(student, teacher, target))
        out.update(self.wsld(student, teacher, target))
        return out
