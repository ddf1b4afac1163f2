"""Distillation methods, one module each, registered by name (:mod:`.registry`).

- ``wsld``, ``bkd``, ``mixed``: BKDSNN (Xu et al., ECCV 2024) weighted soft-label logit KD,
  blurred knowledge distillation and their sum;
- ``temporal``, ``standard_kd``: temporally decoupled logit KD (Yu et al., ICML 2025) and its
  T-mean KD baseline;
- ``esd``: enhanced self-distillation branches (NeurIPS 2025).

Every distiller is an ``nn.Module`` with
``forward(student: ModelOutput, teacher: ModelOutput | None, target) -> dict[str, Tensor]``
returning named, already-weighted scalar loss terms that the training step adds to its CE, and a
``from_config(cfg, ctx)`` classmethod; :class:`~.registry.Distiller` documents the rest. Importing
this package registers every method.
"""
from __future__ import annotations

from replicate.distill import registry
from replicate.distill.bkd import BKD, channel_mask
from replicate.distill.esd import ESD
from replicate.distill.mixed import Mixed
from replicate.distill.registry import BuildContext, Distiller, register_distiller
from replicate.distill.temporal import StandardKD, TemporalKD, self_teacher
from replicate.distill.wsld import WSLD, as_soft_target, wsld_loss

__all__ = [
    "BKD",
    "BuildContext",
    "Distiller",
    "ESD",
    "Mixed",
    "StandardKD",
    "TemporalKD",
    "WSLD",
    "as_soft_target",
    "channel_mask",
    "register_distiller",
    "registry",
    "self_teacher",
    "wsld_loss",
]
