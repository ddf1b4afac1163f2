"""Spiking ResNets of the temporal-logit-KD paper: CIFAR ResNet-18/19/34 and ImageNet preact-ResNet-34.

Follows the released code of Yu et al., "Efficient Logit-based Knowledge Distillation of Deep
Spiking Neural Networks for Full-Range Timestep Deployment" (ICML 2025, arXiv 2501.15925):
snn_temporal_decoupling_distillation: model/resnet.py@e3f5fd4, model/preact_resnet.py@e3f5fd4 and
model/layer.py@e3f5fd4. Layout conventions (the same as :mod:`.spikingformer`):

* activations are ``[T, B, C, H, W]`` (time first); convolutions and batch norms act on the
  flattened ``[T·B, ...]`` tensor, so BN statistics are shared over time steps (the released
  models run on ``[T·B, ...]`` and only ``LIFLayer.forward`` splits T off, model/layer.py@e3f5fd4
  l.80–104);
* every LIF is :class:`replicate.neurons.LIF` (multi-step, state reset per call) with this
  paper's neuron: leak λ per step (τ = 1/(1−λ)), ``decay_input=False``, V_th = 1, sigmoid
  surrogate α = 4 (``LIFLayer``, model/layer.py@e3f5fd4 l.22–28, fed ``logit(λ)`` by
  ``warp_decay``, util/util.py@e3f5fd4 l.90; spikingjelly's default ``Sigmoid`` surrogate);
* a static image ``[B, C, H, W]`` is repeated T times (direct encoding: ``torch.broadcast_tensors``
  in ``train``, experiment/cifar/main.py@e3f5fd4 l.56) and the first conv + BN output drives the
  first LIF; a ``[T, B, C, H, W]`` input is used as is;
* ``forward`` returns per-timestep logits ``[T, B, K]``; the prediction is their T-mean.

Two families:

* :class:`SpikingResNet` (post-activation, CIFAR/DVS; ``resnet18``/``resnet19`` of
  model/resnet.py@e3f5fd4, and a ResNet-34 with the same block and [3, 4, 6, 3] stages). Spikes
  travel between blocks.
* :class:`SpikingPreActResNet` (ImageNet; ``preact_resnet34`` of model/preact_resnet.py@e3f5fd4).
  The residual stream is real-valued; every block starts with a LIF.

Parameter and submodule names follow the released code (``conv0``, ``layer1.0.conv1``,
``layer1.0.shortcut``, ``classifier`` for the CIFAR family; ``conv1``, ``bn1``, ``layer1.0.sn1``,
``layer1.0.downsample``, ``fc`` for the preact family), so a released state_dict maps onto ours by
name. LIFs carry no parameters or buffers.

Because the LIF dynamics are causal and eval-mode BN uses running statistics, in ``eval()`` mode
a run with T' steps gives exactly the first T' per-timestep logits of a T-step run (the
full-range timestep deployment of the ICML 2025 paper rests on this); change
``model.T`` (static input) or pass a ``[T', B, ...]`` input to deploy at another budget. In train
mode this does not hold (BN batch statistics span all T·B rows).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
from timm.models import generate_default_cfgs

from ..neurons import LIFSettings, lif_from_flat_kwargs
from . import register_unique
from .helpers import (TIMM_EXTRA_KWARGS, build_no_weights, cifar10_cfg, imagenet_cfg, linear_head, seq_to_ann,
                      tapped_forward)
from .output import ModelOutput

__all__ = [
    "CIFAR_LIF",
    "IMAGENET_LIF",
    "SpikingBasicBlock",
    "SpikingPreActBlock",
    "SpikingPreActResNet",
    "SpikingResNet",
]

#: Neuron of the CIFAR/DVS configs of the released code (snn_temporal_decoupling_distillation:
#: experiment/cifar/config/config.py@e3f5fd4 l.32–38, experiment/dvs/config/config.py@e3f5fd4
#: l.30–35): λ = 0.5 (τ = 2), no input decay, hard reset to 0, reset *not* detached, sigmoid α = 4.
CIFAR_LIF = LIFSettings(
    tau=2.0, decay_input=False, v_threshold=1.0, v_reset=0.0, detach_reset=False,
    surrogate="sigmoid", surrogate_alpha=4.0,
)

#: Neuron of the ImageNet config (experiment/imagenet/config/config.py@e3f5fd4 l.32–37):
#: λ = 0.2 (τ = 1.25), soft reset, reset not detached, otherwise as :data:`CIFAR_LIF`.
IMAGENET_LIF = LIFSettings(
    tau=1.25, decay_input=False, v_threshold=1.0, v_reset=None, detach_reset=False,
    surrogate="sigmoid", surrogate_alpha=4.0,
)


class SpikingBasicBlock(nn.Module):
    """Post-activation spiking BasicBlock (``BasicBlock``, model/resnet.py@e3f5fd4 l.10–34):
    spikes in, spikes out.

    ``[T, B, C_in, H, W]`` → ``[T, B, C_out, H/s, W/s]``::

        out = LIF_2( BN_2(conv3×3(LIF_1(BN_1(conv3×3_s(x))))) + shortcut(x) )

    Convs have no bias; ``shortcut`` is the identity (an empty ``nn.Sequential``) or
    conv1×1 stride s (no bias) → BN when the stride or width changes.
    """

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int, lif: LIFSettings):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.spike1 = lif.build()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        self.spike2 = lif.build()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.spike1(seq_to_ann(lambda z: self.bn1(self.conv1(z)), x))
        out = seq_to_ann(lambda z: self.bn2(self.conv2(z)), out) + seq_to_ann(self.shortcut, x)
        return self.spike2(out)


class SpikingPreActBlock(nn.Module):
    """Pre-activation spiking BasicBlock (``BasicBlock``, model/preact_resnet.py@e3f5fd4 l.33–81):
    real in, real out.

    ``[T, B, C_in, H, W]`` → ``[T, B, C_out, H/s, W/s]``::

        out = BN_2(conv3×3(LIF_2(BN_1(conv3×3_s(LIF_1(x)))))) + downsample(x)

    Convs **with** bias; ``downsample`` (conv1×1 stride s with bias → BN) acts on the real-valued
    block input, or is ``None`` (identity) when stride and width are unchanged.
    """

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int, lif: LIFSettings):
        super().__init__()
        self.sn1 = lif.build()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(planes)
        self.sn2 = lif.build()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=True)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = (
            nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=True), nn.BatchNorm2d(planes))
            if stride != 1 or in_planes != planes
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = seq_to_ann(lambda z: self.bn1(self.conv1(z)), self.sn1(x))
        out = seq_to_ann(lambda z: self.bn2(self.conv2(z)), self.sn2(out))
        identity = x if self.downsample is None else seq_to_ann(self.downsample, x)
        return out + identity


class _SpikingNet(nn.Module):
    """Shared input encoding, head and ``forward`` contract of the spiking ResNets."""

    T: int
    num_classes: int
    num_features: int
    #: attribute name of the head (the released code's: ``classifier`` or ``fc``)
    head_name: str

    def _check_T(self, T: int) -> int:
        if int(T) != T or T < 1:
            raise ValueError(f"T must be an integer >= 1, got {T}")
        return int(T)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Direct encoding: ``[B, C, H, W]`` → ``[T, B, C, H, W]`` (repeated ``self.T`` times);
        a 5-D input ``[T', B, C, H, W]`` is returned unchanged.

        Raises:
            ValueError: for any other number of dimensions, or if ``self.T`` < 1.
        """
        if x.dim() == 4:
            t = self._check_T(self.T)
            return x.unsqueeze(0).expand(t, *x.shape)
        if x.dim() == 5:
            return x
        raise ValueError(f"expected [B, C, H, W] or [T, B, C, H, W] input, got {tuple(x.shape)}")

    def _make_classifier(self, num_classes: int) -> nn.Module:  # pragma: no cover
        raise NotImplementedError

    def get_classifier(self) -> nn.Module:
        return getattr(self, self.head_name)

    def reset_classifier(self, num_classes: int, global_pool: Any = None) -> None:
        """New (default-initialised) head for ``num_classes`` (timm API; ``global_pool`` ignored)."""
        self.num_classes = int(num_classes)
        setattr(self, self.head_name, self._make_classifier(self.num_classes))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, C, H', W']`` → per-timestep logits ``[T, B, K]`` (global average pool, head)."""
        return self.get_classifier()(x.mean(dim=(3, 4)))

    def forward_features(self, x: torch.Tensor, taps: list | None = None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward(self, x: torch.Tensor, return_feature: bool = False,
                return_stages: bool = False) -> torch.Tensor | ModelOutput:
        """Per-timestep logits ``[T, B, K]`` for an image batch ``[B, C, H, W]`` (repeated
        ``self.T`` times) or a temporal batch ``[T, B, C, H, W]`` (its own T is used).

        The prediction is ``logits.mean(0)``. With ``return_feature=True`` and/or
        ``return_stages=True`` returns a ``ModelOutput``: ``logits [T, B, K]``; ``feature
        [B, C, H', W']``, the last stage's output map averaged over T (firing rates for
        :class:`SpikingResNet`, the real-valued residual stream for :class:`SpikingPreActResNet`);
        ``stages``, the outputs of every stage but the last (layer1..layer3 for four stages),
        each averaged over T, ``[B, C_i, H_i, W_i]`` (where NeurIPS 2025's self-distillation
        branches attach: ``ResNet.forward`` of enhanced-self-distillation-framework-for-snn:
        model/resnet.py@d44e876 l.151–200).

        Raises:
            ValueError: bad input rank (see :meth:`encode`).
        """
        return tapped_forward(self, x, return_feature, return_stages)

    def _run_stages(self, x: torch.Tensor, taps: list[torch.Tensor] | None) -> torch.Tensor:
        n = len(self.layers)
        for i in range(n):
            x = getattr(self, f"layer{i + 1}")(x)
            if taps is not None and i < n - 1:
                taps.append(x)
        return x


class SpikingResNet(_SpikingNet):
    """Post-activation spiking ResNet with the CIFAR stem (``ResNet``/``ResNet19``,
    model/resnet.py@e3f5fd4 l.37–116).

    Input ``[B, C, H, W]`` (repeated T times) or ``[T, B, C, H, W]``; output per-timestep logits
    ``[T, B, K]``.

    Stem: conv3×3 stride 1 (no bias) → BN → LIF, no max-pool (``conv0`` = Sequential(conv, BN,
    LIF)). Stages of :class:`SpikingBasicBlock` (``layer1``, ``layer2``, ...). Head: global average
    pool → ``classifier``: Linear(C_last, K) or, with ``hidden_features`` h (ResNet-19),
    Linear(C_last, h) → LIF → Linear(h, K), applied per timestep. Default PyTorch initialisation
    (the released model has no custom init).

    Args:
        layers: blocks per stage, e.g. (2, 2, 2, 2) ResNet-18, (3, 3, 2) ResNet-19,
            (3, 4, 6, 3) ResNet-34.
        widths: output channels per stage, e.g. (64, 128, 256, 512) or (128, 256, 512).
        strides: stride of the first block of each stage (default 1, 2, 2, ...).
        stem_width: stem channels (default ``widths[0]``).
        hidden_features: width of the spiking hidden FC of the head (ResNet-19: 256), or None.
        num_classes: K (0 → no final Linear; "logits" are then the pooled features, or the
            hidden spikes when ``hidden_features`` is set).
        in_chans: input channels (3; 2 for DVS).
        T: time steps for a static image input (direct encoding).
        lif: neuron settings (default :data:`CIFAR_LIF`).
        lif_tau, lif_decay (λ; τ = 1/(1−λ); alternative to lif_tau), lif_decay_input,
            lif_v_threshold, lif_v_reset (float → hard reset; "soft"/None → soft), lif_detach_reset,
            surrogate, surrogate_alpha: flat overrides of the fields of ``lif``.
        pretrained_cfg, pretrained_cfg_overlay, cache_dir: added by ``timm.create_model``; ignored.

    Raises:
        ValueError: inconsistent ``layers``/``widths``/``strides``, non-positive sizes, T < 1,
            both lif_tau and lif_decay; TypeError: unknown kwargs.
    """

    head_name = "classifier"

    def __init__(
        self,
        layers: Sequence[int] = (2, 2, 2, 2),
        widths: Sequence[int] = (64, 128, 256, 512),
        strides: Sequence[int] | None = None,
        stem_width: int | None = None,
        hidden_features: int | None = None,
        num_classes: int = 10,
        in_chans: int = 3,
        T: int = 6,
        lif: LIFSettings = CIFAR_LIF,
        **kwargs: Any,
    ):
        super().__init__()
        lif = lif_from_flat_kwargs(lif, kwargs, type(self).__name__, ignore=TIMM_EXTRA_KWARGS)
        layers, widths = tuple(int(n) for n in layers), tuple(int(w) for w in widths)
        strides = tuple(int(s) for s in strides) if strides is not None else (1,) + (2,) * (len(layers) - 1)
        if not layers or len(widths) != len(layers) or len(strides) != len(layers):
            raise ValueError(
                f"layers {layers}, widths {widths} and strides {strides} must be non-empty and "
                "of equal length"
            )
        if min(layers) < 1 or min(widths) < 1 or min(strides) < 1:
            raise ValueError(f"layers, widths and strides must be positive: {layers}, {widths}, {strides}")
        stem_width = int(stem_width) if stem_width is not None else widths[0]
        if stem_width < 1 or (hidden_features is not None and hidden_features < 1):
            raise ValueError(
                f"stem_width and hidden_features must be positive, got {stem_width}, {hidden_features}"
            )

        self.T = self._check_T(T)
        self.num_classes = int(num_classes)
        self.in_chans = int(in_chans)
        self.layers, self.widths, self.strides = layers, widths, strides
        self.stem_width = stem_width
        self.hidden_features = None if hidden_features is None else int(hidden_features)
        self.lif_settings = lif
        self.num_features = widths[-1]

        self.conv0 = nn.Sequential(
            nn.Conv2d(in_chans, stem_width, 3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(stem_width),
            lif.build(),
        )
        in_planes = stem_width
        for i, (n, w, s) in enumerate(zip(layers, widths, strides)):
            blocks = []
            for j in range(n):
                blocks.append(SpikingBasicBlock(in_planes, w, s if j == 0 else 1, lif))
                in_planes = w
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.classifier = self._make_classifier(self.num_classes)

    def _make_classifier(self, num_classes: int) -> nn.Sequential:
        """``classifier``: ``[Linear(C_last, K)]``, or ``[Linear(C_last, h), LIF, Linear(h, K)]``
        with ``hidden_features`` h; Identity in place of the last Linear for K = 0."""
        last = linear_head(self.hidden_features or self.num_features, num_classes)
        if self.hidden_features is None:
            return nn.Sequential(last)
        return nn.Sequential(
            nn.Linear(self.num_features, self.hidden_features, bias=True),
            self.lif_settings.build(),
            last,
        )

    def forward_features(self, x: torch.Tensor, taps: list | None = None) -> torch.Tensor:
        """Spikes of the last stage, ``[T, B, C_last, H', W']`` (H' = H / prod(strides)); the
        earlier stages' outputs are appended to ``taps`` when it is a list."""
        x = self.encode(x)
        conv, bn, lif = self.conv0
        x = lif(seq_to_ann(lambda z: bn(conv(z)), x))
        return self._run_stages(x, taps)


class SpikingPreActResNet(_SpikingNet):
    """Pre-activation spiking ResNet with the ImageNet stem (``OnlineSpikingResNet`` built by
    ``preact_resnet34``, model/preact_resnet.py@e3f5fd4 l.148–284, l.301).

    Input ``[B, C, H, W]`` (repeated T times) or ``[T, B, C, H, W]``; output per-timestep logits
    ``[T, B, K]``.

    Stem: conv7×7 stride 2 **with bias** → BN → MaxPool(3, 2, 1); no LIF (the first LIF is the
    first block's ``sn1``). Stages of :class:`SpikingPreActBlock` with widths w, 2w, 4w, 8w and
    strides 1, 2, 2, 2; the real-valued layer4 output goes straight to global average pool → ``fc``
    (no final LIF). Init: Kaiming-normal (fan_out, ReLU gain) conv weights, BN weight 1 / bias 0,
    conv biases and ``fc`` PyTorch default. BN is ``nn.BatchNorm2d`` (the released ImageNet code
    used SyncBatchNorm; convert with ``nn.SyncBatchNorm.convert_sync_batchnorm`` for DDP).

    Args:
        layers: blocks per stage ((3, 4, 6, 3) for ResNet-34).
        width: w (64 in the paper).
        num_classes: K (0 → ``fc`` is Identity).
        in_chans: input channels.
        T: time steps for a static image input.
        lif: neuron settings (default :data:`IMAGENET_LIF`).
        lif_tau, lif_decay, lif_decay_input, lif_v_threshold, lif_v_reset, lif_detach_reset,
            surrogate, surrogate_alpha: flat overrides, as for :class:`SpikingResNet`.
        pretrained_cfg, pretrained_cfg_overlay, cache_dir: added by ``timm.create_model``; ignored.

    Raises:
        ValueError: empty/non-positive ``layers``, ``width`` < 1, T < 1, both lif_tau and
            lif_decay; TypeError: unknown kwargs.
    """

    head_name = "fc"

    def __init__(
        self,
        layers: Sequence[int] = (3, 4, 6, 3),
        width: int = 64,
        num_classes: int = 1000,
        in_chans: int = 3,
        T: int = 4,
        lif: LIFSettings = IMAGENET_LIF,
        **kwargs: Any,
    ):
        super().__init__()
        lif = lif_from_flat_kwargs(lif, kwargs, type(self).__name__, ignore=TIMM_EXTRA_KWARGS)
        layers = tuple(int(n) for n in layers)
        if not layers or min(layers) < 1 or int(width) < 1:
            raise ValueError(f"layers must be non-empty and positive and width >= 1, got {layers}, {width}")
        w = int(width)
        self.T = self._check_T(T)
        self.num_classes = int(num_classes)
        self.in_chans = int(in_chans)
        self.layers = layers
        self.width = w
        self.widths = tuple(w * 2**i for i in range(len(layers)))
        self.lif_settings = lif
        self.num_features = self.widths[-1]

        self.conv1 = nn.Conv2d(in_chans, w, 7, stride=2, padding=3, bias=True)
        self.bn1 = nn.BatchNorm2d(w)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        in_planes = w
        for i, (n, planes) in enumerate(zip(layers, self.widths)):
            blocks = []
            for j in range(n):
                stride = (1 if i == 0 else 2) if j == 0 else 1
                blocks.append(SpikingPreActBlock(in_planes, planes, stride, lif))
                in_planes = planes
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.fc = self._make_classifier(num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_classifier(self, num_classes: int) -> nn.Module:
        """``fc``: Linear(8w, K) (PyTorch default init), or Identity for K = 0."""
        return linear_head(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor, taps: list | None = None) -> torch.Tensor:
        """Real-valued layer-4 output ``[T, B, 8w, H/32, W/32]`` (7×7 for 224×224 input); the
        earlier stages' outputs are appended to ``taps`` when it is a list."""
        x = seq_to_ann(lambda z: self.maxpool(self.bn1(self.conv1(z))), self.encode(x))
        return self._run_stages(x, taps)


# ----------------------------------------------------------------------------------------------
# timm registration. No published weights exist for these models. The CIFAR default cfgs carry the
# CIFAR-10 normalisation of the bkdsnn_cifar recipe (see helpers.cifar10_cfg for the logitkd std);
# a DVS model is the same name with ``in_chans=2``.

_ORIGIN = dict(origin_url="https://github.com/Intelli-Chip-Lab/snn_temporal_decoupling_distillation",
               paper_ids="arXiv:2501.15925")

default_cfgs = generate_default_cfgs({
    "spiking_resnet18_cifar": cifar10_cfg(first_conv="conv0.0", classifier="classifier.0", **_ORIGIN),
    "spiking_resnet19_cifar": cifar10_cfg(first_conv="conv0.0", classifier="classifier.2", **_ORIGIN),
    "spiking_resnet34_cifar": cifar10_cfg(first_conv="conv0.0", classifier="classifier.0", **_ORIGIN),
    "spiking_preact_resnet34_imagenet": imagenet_cfg(first_conv="conv1", classifier="fc", **_ORIGIN),
})


def _cifar(variant: str, pretrained: bool, config: dict[str, Any], kwargs: dict[str, Any]) -> SpikingResNet:
    return build_no_weights(SpikingResNet, variant, pretrained, **{**config, **kwargs})


@register_unique
def spiking_resnet18_cifar(pretrained: bool = False, width: int = 64, **kwargs: Any) -> SpikingResNet:
    """Spiking ResNet-18, CIFAR stem, [2, 2, 2, 2] blocks, widths w·(1, 2, 4, 8):
    11,173,962 params for K = 10 at w = 64 (the same count as the ANN ResNet-18)."""
    w = int(width)
    return _cifar("spiking_resnet18_cifar", pretrained,
                  dict(layers=(2, 2, 2, 2), widths=(w, 2 * w, 4 * w, 8 * w)), kwargs)


@register_unique
def spiking_resnet19_cifar(pretrained: bool = False, width: int = 64, **kwargs: Any) -> SpikingResNet:
    """Spiking ResNet-19, CIFAR stem of 2w channels, [3, 3, 2] blocks, widths 2w, 4w, 8w, strides
    1, 2, 2, head Linear(8w, 4w) → LIF → Linear(4w, K): 12,697,994 params for K = 10 at w = 64."""
    w = int(width)
    return _cifar("spiking_resnet19_cifar", pretrained,
                  dict(layers=(3, 3, 2), widths=(2 * w, 4 * w, 8 * w), strides=(1, 2, 2),
                       stem_width=2 * w, hidden_features=4 * w), kwargs)


@register_unique
def spiking_resnet34_cifar(pretrained: bool = False, width: int = 64, **kwargs: Any) -> SpikingResNet:
    """Spiking ResNet-34 ([3, 4, 6, 3] post-activation BasicBlocks), CIFAR stem:
    21,282,122 params for K = 10 at w = 64 (not in the released code; same block as ResNet-18)."""
    w = int(width)
    return _cifar("spiking_resnet34_cifar", pretrained,
                  dict(layers=(3, 4, 6, 3), widths=(w, 2 * w, 4 * w, 8 * w)), kwargs)


@register_unique
def spiking_preact_resnet34_imagenet(
    pretrained: bool = False, width: int = 64, **kwargs: Any
) -> SpikingPreActResNet:
    """Spiking preact-ResNet-34 for ImageNet (7×7/2 stem with bias, max-pool, [3, 4, 6, 3]
    pre-activation blocks with conv biases): 21,806,184 params for K = 1000 at w = 64."""
    return build_no_weights(SpikingPreActResNet, "spiking_preact_resnet34_imagenet", pretrained,
                            **{"layers": (3, 4, 6, 3), "width": width, **kwargs})
