"""ANN ResNet teachers with the CIFAR stem, built on timm's ResNet/BasicBlock.

CIFAR stem (the torchvision-style ``ResNet`` of snn_temporal_decoupling_distillation:
model/ResNet_ANN.py@e3f5fd4, l.172–183, used when num_classes ≤ 100, the ANN teachers of the
ICML 2025 paper): conv3×3 stride 1 (no bias) → BN → ReLU, **no max-pool**; four stages of
BasicBlocks with widths w, 2w, 4w, 8w and strides 1, 2, 2, 2; global average pool; Linear. With
w = 64 this is the standard CIFAR ResNet-18 (11,173,962 parameters for 10 classes). Global pooling
makes any input size work (32×32 → 4×4 final map; 224×224 → 28×28).

Input ``[B, C, H, W]``; output logits ``[B, K]``.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.models import generate_default_cfgs
from timm.models.resnet import BasicBlock, ResNet

from . import register_unique
from .helpers import TIMM_EXTRA_KWARGS, build_no_weights, cifar10_cfg
from .output import ModelOutput

__all__ = ["CifarResNet"]


class CifarResNet(ResNet):
    """timm ``ResNet`` (BasicBlock) with a 3×3/1 stem and no stem pool.

    Args:
        layers: blocks per stage, e.g. (2, 2, 2, 2) for ResNet-18, (3, 4, 6, 3) for ResNet-34.
        num_classes: K.
        in_chans: input channels.
        width: base width w (stage widths w, 2w, 4w, 8w); 64 is the standard model.
        channels: explicit stage widths (overrides ``width``; e.g. ResNet-19's 2w, 4w, 8w).
        hidden_features: h → the head is Linear(C_last, h) → ReLU → Linear(h, K) (the ANN twin
            of the spiking ResNet-19's head, ``ResNet19`` of snn_temporal_decoupling_distillation:
            model/ResNet_ANN.py@e3f5fd4 l.295–340); None → one Linear.
        zero_init_last: zero-init the last BN of each residual branch (timm's default is True;
            False here, like torchvision's ResNet that the reference teacher copies).
        drop_rate: dropout before the classifier; drop_path_rate: stochastic depth (timm rule).
        pretrained_cfg, pretrained_cfg_overlay, cache_dir: added by ``timm.create_model``; ignored.

    Raises:
        TypeError: unknown keyword arguments.
    """

    def __init__(
        self,
        layers: Sequence[int] = (2, 2, 2, 2),
        num_classes: int = 10,
        in_chans: int = 3,
        width: int = 64,
        channels: Sequence[int] | None = None,
        hidden_features: int | None = None,
        zero_init_last: bool = False,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        **kwargs: Any,
    ):
        extra = sorted(k for k in kwargs if k not in TIMM_EXTRA_KWARGS)
        if extra:
            raise TypeError(f"CifarResNet got unexpected keyword arguments {extra}")
        w = int(width)
        if w < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        channels = tuple(int(c) for c in channels) if channels is not None else (w, 2 * w, 4 * w, 8 * w)
        if len(channels) != len(layers) or min(channels) < 1:
            raise ValueError(f"channels {channels} must be positive, one per stage of {tuple(layers)}")
        super().__init__(
            block=BasicBlock,
            layers=tuple(layers),
            num_classes=num_classes,
            in_chans=in_chans,
            channels=channels,
            drop_rate=drop_rate,
            drop_path_rate=drop_path_rate,
            zero_init_last=zero_init_last,
        )
        self.width = w
        c0 = channels[0]
        # CIFAR stem: replace timm's 7×7/2 conv (+ 3×3/2 max-pool) by a 3×3/1 conv, no pool.
        self.conv1 = nn.Conv2d(in_chans, c0, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c0)
        self.maxpool = nn.Identity()
        if c0 != 64:
            # timm's stem always has 64 channels, so its first block would carry a 64→c0
            # projection shortcut; the CIFAR model has an identity shortcut there (no drop-path).
            self.layer1[0] = BasicBlock(c0, c0)
        reductions = iter((1, 1, 2, 4, 8))
        for info in self.feature_info:
            info["reduction"] = next(reductions)
        self.feature_info[0]["num_chs"] = c0
        if hidden_features is not None:
            self.fc = nn.Sequential(nn.Linear(self.num_features, int(hidden_features)), nn.ReLU(inplace=True),
                                    nn.Linear(int(hidden_features), num_classes))
        self.init_weights(zero_init_last=zero_init_last)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Last stage's map ``[B, C_last, H / 2^(stages-1), W / 2^(stages-1)]`` (any stage count;
        timm's own method assumes four)."""
        x = self.act1(self.bn1(self.conv1(x)))
        for i in range(len(self.feature_info) - 1):
            x = getattr(self, f"layer{i + 1}")(x)
        return x

    def forward(self, x: torch.Tensor, return_feature: bool = False) -> torch.Tensor | ModelOutput:
        """Logits ``[B, K]`` for images ``[B, C, H, W]`` (any H, W ≥ 8 or so).

        With ``return_feature=True``: ``ModelOutput(logits [B, K], feature [B, 8w])`` where the
        feature is the globally pooled pre-logits vector (the BKD target: a ``Bs*D`` teacher
        feature, ``BRDLoss.forward`` of BKDSNN: Spikingformer-CML/imagenet/loss.py@dd6bd53 l.45)
        taken before the classifier dropout, so ``logits == fc(feature)`` when ``drop_rate`` is 0
        or in eval mode.
        """
        feature = self.global_pool(self.forward_features(x))
        z = feature
        if self.drop_rate:
            z = F.dropout(z, p=float(self.drop_rate), training=self.training)
        logits = self.fc(z)
        if return_feature:
            return ModelOutput(logits=logits, feature=feature)
        return logits


# timm registration. No published weights exist for these CIFAR teachers (train one, or load a
# checkpoint explicitly); the default cfgs carry the CIFAR-10 input size and normalisation.

_ORIGIN = dict(origin_url="https://github.com/Intelli-Chip-Lab/snn_temporal_decoupling_distillation",
               paper_ids="arXiv:2501.15925", first_conv="conv1")

default_cfgs = generate_default_cfgs({
    "cifar_resnet18_ann": cifar10_cfg(classifier="fc", **_ORIGIN),
    "cifar_resnet34_ann": cifar10_cfg(classifier="fc", **_ORIGIN),
    "cifar_resnet19_ann": cifar10_cfg(classifier="fc.2", **_ORIGIN),
})


def _create(variant: str, layers, pretrained: bool, width: int, kwargs: dict[str, Any]):
    return build_no_weights(CifarResNet, variant, pretrained, layers=layers, width=width, **kwargs)


@register_unique
def cifar_resnet18_ann(pretrained: bool = False, width: int = 64, **kwargs: Any) -> CifarResNet:
    """ANN ResNet-18, CIFAR stem; 11,173,962 params for K = 10 at width 64."""
    return _create("cifar_resnet18_ann", (2, 2, 2, 2), pretrained, width, kwargs)


@register_unique
def cifar_resnet34_ann(pretrained: bool = False, width: int = 64, **kwargs: Any) -> CifarResNet:
    """ANN ResNet-34 ([3, 4, 6, 3] BasicBlocks), CIFAR stem."""
    return _create("cifar_resnet34_ann", (3, 4, 6, 3), pretrained, width, kwargs)


@register_unique
def cifar_resnet19_ann(pretrained: bool = False, width: int = 64, **kwargs: Any) -> CifarResNet:
    """ANN twin of the spiking ResNet-19 (the CIFAR10-DVS teacher; ``ResNet19`` of
    snn_temporal_decoupling_distillation: model/ResNet_ANN.py@e3f5fd4 l.295–340): stem of 2w
    channels, [3, 3, 2] BasicBlocks of widths 2w, 4w, 8w, head Linear(8w, 4w) → ReLU → Linear(4w, K);
    12,697,994 params for K = 10 at width 64, the spiking model's count."""
    w = int(width)
    return _create("cifar_resnet19_ann", (3, 3, 2), pretrained, width,
                   {"channels": (2 * w, 4 * w, 8 * w), "hidden_features": 4 * w, **kwargs})
