"""The "mixed" distillation: BKD + w * WSLD (all rows of the BKDSNN README).

Source: github.com/Intelligent-Computing-Research-Group/BKDSNN at commit dd6bd53,
``Spikingformer-CML/imagenet/train.py``, ``train_one_epoch_distillation()``, the
``distill_type == "mixed"`` branch.

The CE term of L_CE + L_BKD + w * L_WSLD is added by the training engine, not here.
"""
from __future__ import annotations

import torch
from torch import nn

from replicate.distill.bkd import BKD
from replicate.distill.registry import register_distiller
from replicate.distill.wsld import WSLD

from replicate.models.output import ModelOutput

__all__ = ["Mixed"]


@register_distiller("mixed")
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
        bkd_mask_ratio: float = 0.15,
        bkd_alpha: float = 2e-3,
        kd_temperature: float = 2.0,
        kd_weight: float = 1.0,
        pooled: bool = True,
    ) -> None:
        super().__init__()
        self.bkd = BKD(student_channels, teacher_channels, bkd_mask_ratio=bkd_mask_ratio,
                       bkd_alpha=bkd_alpha, pooled=pooled)
        self.wsld = WSLD(kd_temperature=kd_temperature, kd_weight=kd_weight)

    @classmethod
    def check_config(cls, cfg) -> None:
        """BKD's and WSLD's fields (Raises: ValueError)."""
        BKD.check_config(cfg)
        WSLD.check_config(cfg)

    @classmethod
    def from_config(cls, cfg, ctx) -> "Mixed":
        """Channels and pooling probed from the student's and the teacher's last features."""
        c_s, c_t, pooled = ctx.feature_shapes()
        return cls(c_s, c_t, bkd_mask_ratio=cfg.bkd_mask_ratio, bkd_alpha=cfg.bkd_alpha,
                   kd_temperature=cfg.kd_temperature, kd_weight=cfg.kd_weight, pooled=pooled)


    def forward(
        self, student: ModelOutput, teacher: ModelOutput, target: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        out = dict(self.bkd(student, teacher, target))
        out.update(self.wsld(student, teacher, target))
        return out
