"""Distillation losses: BKDSNN's WSLD, BKD and mixed (spec ``spec-bkdsnn-cml.md`` §1) and the
ICML 2025 per-timestep KD (``spec-logitkd-selfdistill.md`` §2, :mod:`.temporal`).

Every distiller is an ``nn.Module`` with
``forward(student: ModelOutput, teacher: ModelOutput, target) -> dict[str, Tensor]`` returning
named, already-weighted scalar loss terms that the engine adds to the CE loss. The class attribute
``needs_feature`` says whether the models must return their features.
"""
from __future__ import annotations

import inspect

from torch import nn

from replicate.distill.bkd import BKD, channel_mask
from replicate.distill.esd import ESD
from replicate.distill.mixed import Mixed
from replicate.distill.temporal import StandardKD, TemporalKD, self_teacher
from replicate.distill.wsld import WSLD, as_soft_target, wsld_loss

__all__ = [
    "BKD",
    "DISTILLERS",
    "ESD",
    "Mixed",
    "StandardKD",
    "TemporalKD",
    "WSLD",
    "as_soft_target",
    "build_distiller",
    "channel_mask",
    "self_teacher",
    "wsld_loss",
]

DISTILLERS: dict[str, type[nn.Module]] = {"wsld": WSLD, "bkd": BKD, "mixed": Mixed}


def build_distiller(
    name: str,
    *,
    student_channels: int,
    teacher_channels: int,
    mask_ratio: float = 0.15,
    alpha: float = 2e-3,
    temperature: float = 2.0,
    weight: float = 1.0,
    pooled: bool = True,
    twkl_alpha: float = 0.2,
    twsd_beta: float = 0.5,
    self_teacher: str = "correct_only",
    stage_channels: tuple[int, ...] = (),
    num_features: int = 0,
    num_classes: int = 0,
    esd_alpha: float = 1.0,
    esd_beta: float = 0.3,
    esd_pool: str = "avg4",
    esd_teacher: str = "reliable",
    std_blocks: bool = False,
) -> nn.Module | None:
    """Build the distiller called ``name`` ("none", "wsld", "bkd", "mixed", "standard_kd",
    "temporal" or "esd"). For the ICML 2025 losses ``temperature`` is the KD temperature τ and, for
    "standard_kd", ``weight`` is the KD weight. "esd" (NeurIPS 2025) builds one ANN branch per
    entry of ``stage_channels`` ending at ``num_features`` channels and ``num_classes`` logits.

    Passes each class only the keyword arguments its constructor accepts (e.g. WSLD gets
    ``temperature`` and ``weight``; BKD gets channels, ``mask_ratio``, ``alpha``, ``pooled``).

    Returns:
        The module, or ``None`` for ``"none"`` (plain CE training).

    Raises:
        ValueError: for an unknown name; the message lists the allowed names.
    """
    key = name.lower()
    if key == "none":
        return None
    if key == "standard_kd":
        return StandardKD(kd_temperature=temperature, alpha=weight)
    if key == "temporal":
        return TemporalKD(twkl_alpha=twkl_alpha, twsd_beta=twsd_beta, kd_temperature=temperature,
                          self_teacher=self_teacher)
    if key == "esd":
        return ESD(stage_channels=tuple(stage_channels), num_features=num_features,
                   num_classes=num_classes, alp=esd_alpha, beta=esd_beta, kd_temperature=temperature,
                   pool=esd_pool, std_blocks=std_blocks, teacher_mode=esd_teacher)
    if key not in DISTILLERS:
        allowed = ", ".join(["none", *DISTILLERS, "standard_kd", "temporal", "esd"])
        raise ValueError(f"unknown distiller {name!r}; allowed: {allowed}")
    cls = DISTILLERS[key]
    offered = dict(
        student_channels=student_channels,
        teacher_channels=teacher_channels,
        mask_ratio=mask_ratio,
        alpha=alpha,
        temperature=temperature,
        weight=weight,
        pooled=pooled,
    )
    accepted = inspect.signature(cls.__init__).parameters
    return cls(**{k: v for k, v in offered.items() if k in accepted})
