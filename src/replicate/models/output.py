"""The one output object every model returns on request.

Students and teachers hand the same small dataclass to the distillation losses, so a loss never
needs to know which architecture produced its inputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ModelOutput:
    """Logits plus the feature that feature-distillation taps.

    Attributes:
        logits: SNN students: per-timestep logits ``[T, B, K]`` (their mean over T is the
            prediction). ANN teachers: ``[B, K]``.
        feature: SNN students: the real-valued last feature map averaged over T, ``[B, C, H, W]``
            (BKDSNN spec §1.2, "right before the last layer"). ANN teachers: the pooled
            pre-logits vector ``[B, C]`` (the BKD target, spec §1.4). ``None`` if not requested.
        stages: spiking ResNets only, on request: the outputs of the stages that self-distillation
            branches read (NeurIPS 2025, spec-logitkd §4.1: after layer1..layer3), each averaged
            over T, ``[B, C_i, H_i, W_i]`` (firing rates for the post-activation ResNets, the
            residual stream for preact-ResNet-34). ``None`` if not requested.
    """

    logits: torch.Tensor
    feature: torch.Tensor | None = None
    stages: list[torch.Tensor] | None = None

    @property
    def mean_logits(self) -> torch.Tensor:
        """The prediction ``[B, K]``: the T-mean of SNN logits, or the ANN logits unchanged."""
        return self.logits.mean(0) if self.logits.dim() == 3 else self.logits
