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
            ("the feature map right before the last layer", BKDSNN, ECCV 2024, arXiv 2407.09083).
            ANN teachers: the pooled pre-logits vector ``[B, C]`` (the BKD target, a ``Bs*D``
            teacher feature: BKDSNN: Spikingformer-CML/imagenet/loss.py@dd6bd53 l.45). ``None``
            if not requested.
        stages: spiking ResNets only, on request: the outputs of the stages that self-distillation
            branches read (NeurIPS 2025: after layer1..layer3, ``ResNet.forward`` of
            enhanced-self-distillation-framework-for-snn: model/resnet.py@d44e876 l.151–200),
            each averaged over T, ``[B, C_i, H_i, W_i]`` (firing rates for the post-activation ResNets, the
            residual stream for preact-ResNet-34). ``None`` if not requested.
    """

    logits: torch.Tensor
    feature: torch.Tensor | None = None
    stages: list[torch.Tensor] | None = None

    @property
    def mean_logits(self) -> torch.Tensor:
        """The prediction ``[B, K]``: the T-mean of SNN logits, or the ANN logits unchanged."""
        return self.logits.mean(0) if self.logits.dim() == 3 else self.logits
