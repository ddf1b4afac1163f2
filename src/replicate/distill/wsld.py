"""Weighted soft-label logit distillation (WSLD), as used by BKDSNN's "wsld" and "mixed" modes.

Source: github.com/Intelligent-Computing-Research-Group/BKDSNN at commit dd6bd53:
``Spikingformer-CML/imagenet/loss.py``, ``get_logits_loss()`` (the loss), and
``Spikingformer-CML/imagenet/train.py``, ``train_one_epoch_distillation()`` (how it enters the
total objective).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from replicate.distill import registry
from replicate.distill.registry import register_distiller
from replicate.models.output import ModelOutput

__all__ = ["WSLD", "LogitKDFields", "as_soft_target", "check_temperature", "wsld_loss"]


_EPS = 1e-7  # CE^S / (CE^T + 1e-7): BKDSNN Spikingformer-CML/imagenet/loss.py@dd6bd53, l. 96


def as_soft_target(target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Return the target as a float distribution ``[B, K]``.

    Args:
        target: int class labels ``[B]`` or a soft target ``[B, K]`` (mixup/cutmix + label
            smoothing, rows summing to 1).
        num_classes: K, the logit width.

    Raises:
        ValueError: if the shape is neither ``[B]`` nor ``[B, num_classes]``, or if a ``[B]``
            target is not an integer tensor.
    """
    if target.dim() == 1:
        if target.dtype.is_floating_point or target.dtype == torch.bool:
            raise ValueError(f"a [B] target must hold integer class labels, got dtype {target.dtype}")
        return F.one_hot(target.long(), num_classes).float()
    if target.dim() == 2 and target.shape[1] == num_classes:
        return target.float()
    raise ValueError(
        f"target must be int labels [B] or a soft target [B, {num_classes}], got shape {tuple(target.shape)}"
    )


def wsld_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    target: torch.Tensor,
    temperature: float = 2.0,
) -> torch.Tensor:
    """Unweighted WSLD loss L_WSLD (BKDSNN ``Spikingformer-CML/imagenet/loss.py``@dd6bd53,
    ``get_logits_loss()``), a scalar.

    KD_b   = -sum_k softmax(z_T,b / tau)_k * log_softmax(z_S,b / tau)_k
    CE^X_b = -sum_k y_b,k * log_softmax(z_X,b)_k         (tau = 1, detached logits)
    w_b    = 1 - exp(-max(CE^S_b / (CE^T_b + 1e-7), 0))
    L      = tau^2 * mean_b(w_b * KD_b)

    Args:
        student_logits: z_S ``[B, K]`` (for an SNN: the T-mean of its per-step logits).
        teacher_logits: z_T ``[B, K]``; detached here, so no gradient reaches the teacher.
        target: int labels ``[B]`` or soft target ``[B, K]`` (see :func:`as_soft_target`).
        temperature: tau > 0 (softening temperature, dimensionless).

    Returns:
        Scalar loss in nats (times tau^2). Gradient flows only through KD_b into z_S; w_b is a
        constant per sample.

    Raises:
        ValueError: on mismatched logit shapes, a bad target, or tau <= 0.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if student_logits.dim() != 2 or student_logits.shape != teacher_logits.shape:
        raise ValueError(
            "student and teacher logits must both be [B, K]; got "
            f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}"
        )
    z_s = student_logits.float()
    z_t = teacher_logits.detach().float()
    y = as_soft_target(target, z_s.shape[1]).to(z_s.device)
    if y.shape[0] != z_s.shape[0]:
        raise ValueError(f"target batch {y.shape[0]} != logits batch {z_s.shape[0]}")

    kd = -(F.softmax(z_t / temperature, dim=1) * F.log_softmax(z_s / temperature, dim=1)).sum(1)
    with torch.no_grad():
        ce_s = -(y * F.log_softmax(z_s.detach(), dim=1)).sum(1)
        ce_t = -(y * F.log_softmax(z_t, dim=1)).sum(1)
        weight = 1.0 - torch.exp(-torch.clamp(ce_s / (ce_t + _EPS), min=0.0))
    return temperature**2 * (weight * kd).mean()


def check_temperature(kd_temperature: float) -> float:
    """``kd_temperature`` as a float; raises ``ValueError`` unless it is > 0."""
    if not kd_temperature > 0:
        raise ValueError(f"kd_temperature must be > 0, got {kd_temperature}")
    return float(kd_temperature)


class LogitKDFields:
    """Mixin of the logit-KD methods whose constructor takes exactly the config fields
    ``kd_temperature`` (> 0) and ``kd_weight`` (≥ 0): their check and construction."""

    @classmethod
    def check_config(cls, cfg) -> None:
        """Raises ``ValueError`` unless ``kd_temperature`` > 0 and ``kd_weight`` ≥ 0."""
        registry.at_least(cfg, 0, "kd_temperature", strict=True)
        registry.at_least(cfg, 0, "kd_weight")

    @classmethod
    def from_config(cls, cfg, ctx):
        return cls(kd_temperature=cfg.kd_temperature, kd_weight=cfg.kd_weight)


@register_distiller("wsld")
class WSLD(LogitKDFields, nn.Module):

    """WSLD logit distillation term (``get_logits_loss()`` of BKDSNN
    ``Spikingformer-CML/imagenet/loss.py``@dd6bd53), weighted by ``kd_weight`` (=
    ``args.distill_weight``, default 1.0, in ``train_one_epoch_distillation()`` of
    ``Spikingformer-CML/imagenet/train.py``@dd6bd53).

    ``forward(student, teacher, target)`` returns ``{"wsld": weight * L_WSLD}``, a scalar.
    Uses ``student.mean_logits`` ``[B, K]`` (T-mean of ``[T, B, K]``) and ``teacher.mean_logits``
    ``[B, K]``; features are not needed (``needs_feature = False``). No parameters.

    Raises:
        ValueError: from :func:`wsld_loss` on bad shapes / targets / temperature.
    """

    needs_feature = False

    def __init__(self, kd_temperature: float = 2.0, kd_weight: float = 1.0) -> None:
        super().__init__()
        self.temperature = check_temperature(kd_temperature)
        self.weight = float(kd_weight)


    def forward(
        self, student: ModelOutput, teacher: ModelOutput, target: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        loss = wsld_loss(student.mean_logits, teacher.mean_logits, target, self.temperature)
        return {"wsld": self.weight * loss}

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, weight={self.weight}"
