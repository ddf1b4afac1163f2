"""SEW-ResNet-18/34/50 (ImageNet), the CNN students of BKDSNN, and their torchvision teachers.

The students follow BKDSNN: Spike-Element-Wise-ResNet/imagenet/sew_resnet.py@dd6bd53
(github.com/Intelligent-Computing-Research-Group/BKDSNN), which is Fang et al.'s SEW ResNet
(NeurIPS 2021, arXiv 2102.04159; fangwei123456/Spike-Element-Wise-ResNet:
imagenet/sew_resnet.py@cfc547c) plus a ``return_inter`` tap on the last block of a stage. The
blocks, the stage layout and the initialisation are spikingjelly 2.0's
``spikingjelly.activation_based.model.sew_resnet`` (the same torchvision-style code ported to
``activation_based``); this file adds only what differs from it:

* **the stem runs once** (:meth:`SEWResNet.forward_stem`): conv 7×7/2 + BN act on the static
  image ``[B, 3, H, W]`` and their output is repeated T times before the first IF neuron, as in
  BKDSNN's ``SEWResNet._forward_impl`` (sew_resnet.py@dd6bd53 l.229–235). spikingjelly's model
  instead expects an already repeated ``[T, B, ...]`` input and convolves each copy, which costs
  T× the stem compute and counts the stem BN's running variance over T·B·H·W copies. (A 5-D
  input ``[T, B, C, H, W]``, e.g. event frames, goes through the stem per step.)
* **IAND of the bottleneck**: the SEW connect function is g(A, S) with A the branch spikes and S
  the shortcut spikes: ADD A + S, AND A·S, IAND S·(1 − A) (sew_resnet.py@dd6bd53 l.62–69 and
  l.126–133, both blocks). spikingjelly 2.0's ``BasicBlock`` computes exactly that
  (``sew_function(identity, out)``), but its ``Bottleneck`` calls ``sew_function(out, identity)``,
  i.e. IAND = A·(1 − S); :class:`SEWBottleneck` restores the original order (ADD and AND are
  symmetric, so only IAND differs).
* **time flattening in the blocks' forward** (:class:`SEWBasicBlock`, :class:`SEWBottleneck`):
  convs and BNs stay in spikingjelly's single-step mode and act on the flattened ``[T·B, ...]``
  tensor (the job of ``SeqToANNContainer`` in the original); only the IF neurons are multi-step.
  spikingjelly's multi-step ``layer.BatchNorm2d`` flattens T itself, so after
  ``nn.SyncBatchNorm.convert_sync_batchnorm`` (the original's ``--sync-bn``,
  train_distillation.py@dd6bd53 l.334–336; our ``sync_bn``) the plain ``SyncBatchNorm`` that
  replaces it would receive ``[T, B, C, H, W]`` and take B for the channels. Same arithmetic.
* **the neuron** :class:`IF` is spikingjelly's ``IFNode`` in multi-step mode whose membrane state
  lives only inside one call (reset before and after, like :class:`replicate.neurons.LIF`), with
  the settings of BKDSNN's ``cext_neuron.MultiStepIFNode(detach_reset=True)`` (sew_resnet.py@dd6bd53
  l.37): V_th 1, hard reset to 0, detached reset, ATan surrogate with α = 2 (the cext defaults).
* **the head** returns per-timestep logits ``[T, B, K]`` (spikingjelly's multi-step head does the
  same). BKDSNN returns ``fc(mean_T(pool(x)))``, ``[B, K]``: the fc is linear, so that is exactly
  the T-mean of ours (:attr:`ModelOutput.mean_logits`).
* ``zero_init_residual`` with AND also sets the last branch BN's β to 1 (``zero_init_blocks``,
  sew_resnet.py@dd6bd53 l.140–149); spikingjelly only zeroes γ.
* ``in_chans`` other than 3 replaces the stem conv (spikingjelly fixes 3).

Parameter names are torchvision's (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer1.0.downsample.0``,
``fc``; the IF neurons hold none), so the parameter counts are those of torchvision's ResNet-18/34/50:
11,689,512 / 21,797,672 / 25,557,032 for K = 1000, and an ANN state_dict loads by name.

BKD tap (``forward(x, return_feature=True)``): the T-mean of the layer-4 output (after the
connect function of its last block), ``[B, 512·e, H/32, W/32]`` with e = 1 for 18/34 and e = 4 for
50 (2048 channels; the ``intermeidate`` list of ``_forward_impl``, sew_resnet.py@dd6bd53 l.236–263,
default ``indices=(3,)``). BKDSNN's README command passes ``--student_channel 512`` for
SEW-ResNet-50, which does not match this map; the real width is 2048. With ADD the map holds
non-negative integers, not spikes.

Teachers: BKDSNN builds torchvision ResNets with ``pretrained=True`` (train_distillation.py@dd6bd53
l.318 via its patched imagenet/resnet.py), i.e. the IMAGENET1K_V1 weights. timm serves exactly
those files as ``resnet18.tv_in1k`` / ``resnet34.tv_in1k`` / ``resnet50.tv_in1k`` (origin URLs
download.pytorch.org/models/resnet{18-f37072fd,34-b627a593,50-0676ba61}.pth); :data:`TV_TEACHERS`
names them and :func:`create_pretrained` loads them with a one-line error when the hub is out of
reach. No ``tv_resnet*`` name is registered here: timm already has ``tv_resnet34``/``tv_resnet50``
(deprecated aliases of the same weights).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn as nn
from spikingjelly.activation_based import layer, neuron
from spikingjelly.activation_based.model import sew_resnet as sj_sew
from timm.models import generate_default_cfgs

from ..neurons import SURROGATES, LIFSettings, lif_from_flat_kwargs, run_multistep
from . import register_unique
from .helpers import (TIMM_EXTRA_KWARGS, build_no_weights, imagenet_cfg, linear_head, seq_to_ann,
                      tapped_forward)
from .hub import PretrainedWeightsUnavailable, create_pretrained  # noqa: F401  (re-exported)
from .output import ModelOutput

__all__ = [
    "CONNECT_FUNCTIONS",
    "IF",
    "IFSettings",
    "PretrainedWeightsUnavailable",
    "SEWBasicBlock",
    "SEWBottleneck",
    "SEWResNet",
    "SEW_IF",
    "TV_TEACHERS",
    "connect",
    "create_pretrained",
]

#: The SEW connect functions g(A, S) (A: branch spikes, S: shortcut spikes).
CONNECT_FUNCTIONS = ("ADD", "AND", "IAND")


def connect(branch: torch.Tensor, shortcut: torch.Tensor, cnf: str) -> torch.Tensor:
    """SEW connect function of BKDSNN: Spike-Element-Wise-ResNet/imagenet/sew_resnet.py@dd6bd53
    l.62–69: ADD ``A + S``, AND ``A·S``, IAND ``S·(1 − A)`` (A = ``branch``, S = ``shortcut``,
    same shape, e.g. ``[T, B, C, H, W]``).

    Raises:
        ValueError: ``cnf`` is not one of :data:`CONNECT_FUNCTIONS`.
    """
    if cnf == "ADD":
        return branch + shortcut
    if cnf == "AND":
        return branch * shortcut
    if cnf == "IAND":
        return shortcut * (1.0 - branch)
    raise ValueError(f"connect function must be one of {CONNECT_FUNCTIONS}, got {cnf!r}")


class IF(neuron.IFNode):
    """Multi-step integrate-and-fire layer whose membrane state lives only inside one call.

    ``[T, B, ...]`` currents → spikes of the same shape and dtype. Per step (spikingjelly
    ``IFNode``): ``H_t = V_{t-1} + X_t``, ``S_t = Θ(H_t − V_th)``, hard reset
    ``V_t = (1 − S̃_t)·H_t + S̃_t·V_reset`` (soft: ``V_t = H_t − V_th·S̃_t``), ``S̃`` = stopgrad(S)
    with ``detach_reset``; V_0 = 0. State is reset before and after every call (the original reset
    the net after every batch). fp16/bf16 inputs (autocast) are integrated in fp32.
    """

    def supported_step_mode(self):
        """Only multi-step mode: the per-call reset would break single-step recurrence."""
        return ("m",)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, B, ...]`` for currents ``x_seq`` ``[T, B, ...]``.

        Raises:
            ValueError: fewer than 2 dimensions.
        """
        return run_multistep(self, super().forward, x_seq)


@dataclass(frozen=True)
class IFSettings:
    """Settings of every :class:`IF` of a SEW-ResNet (defaults: BKDSNN's
    ``MultiStepIFNode(detach_reset=True)``, sew_resnet.py@dd6bd53 l.37, with the cext defaults
    V_th 1.0, V_reset 0.0, ATan α = 2). ``v_reset=None`` is a soft reset."""

    v_threshold: float = 1.0
    v_reset: float | None = 0.0
    detach_reset: bool = True
    surrogate: str = "atan"
    surrogate_alpha: float = 2.0

    def neuron_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of spikingjelly's ``IFNode`` (multi-step) for these settings."""
        return dict(v_threshold=self.v_threshold, v_reset=self.v_reset, detach_reset=self.detach_reset,
                    surrogate_function=SURROGATES[self.surrogate](alpha=self.surrogate_alpha),
                    step_mode="m")

    def build(self) -> IF:
        """A fresh :class:`IF` layer with these settings."""
        return IF(**self.neuron_kwargs())


#: The neuron of BKDSNN's SEW-ResNets.
SEW_IF = IFSettings()

#: ``Config.model_kwargs()`` fields that describe a leak, which an IF neuron does not have.
_LEAK_KWARGS = ("lif_tau", "lif_decay", "lif_decay_input")


def if_from_flat_kwargs(settings: IFSettings, kwargs: dict[str, Any], owner: str) -> IFSettings:
    """``settings`` with the flat neuron kwargs of the experiment config applied (``lif_v_threshold``,
    ``lif_v_reset`` (float → hard, "soft"/None → soft), ``lif_detach_reset``, ``surrogate``,
    ``surrogate_alpha``); pops them and timm's extra kwargs from ``kwargs``. Validation is
    :class:`replicate.neurons.LIFSettings`'s (τ is not used).

    Raises:
        TypeError: a leak kwarg (``lif_tau``/``lif_decay``/``lif_decay_input``) or an unknown kwarg.
        ValueError: an invalid value (α ≤ 0, unknown surrogate, malformed ``lif_v_reset``).
    """
    refused = sorted(k for k in _LEAK_KWARGS if k in kwargs)
    if refused:
        raise TypeError(f"{owner} uses IF neurons (no leak, no input decay) and cannot honour "
                        f"{refused}; leave them unset for SEW-ResNet rows")
    as_lif = LIFSettings(v_threshold=settings.v_threshold, v_reset=settings.v_reset,
                         detach_reset=settings.detach_reset, surrogate=settings.surrogate,
                         surrogate_alpha=settings.surrogate_alpha)
    s = lif_from_flat_kwargs(as_lif, kwargs, owner, ignore=TIMM_EXTRA_KWARGS)
    return IFSettings(s.v_threshold, s.v_reset, s.detach_reset, s.surrogate, s.surrogate_alpha)


def _shortcut(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The block's shortcut spikes: ``x`` itself, or IF(BN(conv1×1/stride(x)))."""
    if block.downsample is None:
        return x
    return block.downsample_sn(seq_to_ann(block.downsample, x))


class SEWBasicBlock(sj_sew.BasicBlock):
    """spikingjelly 2.0's SEW ``BasicBlock`` (conv3×3/stride + BN + IF → conv3×3 + BN + IF; shortcut
    conv1×1/stride + BN + IF when the shape changes; ``g(A, S)``, :func:`connect`), with convs and
    BNs applied to the flattened ``[T·B, ...]`` tensor (``SeqToANNContainer`` of BasicBlock,
    sew_resnet.py@dd6bd53 l.19–75).

    ``[T, B, C_in, H, W]`` → ``[T, B, planes, H/s, W/s]``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.sn1(seq_to_ann(lambda z: self.bn1(self.conv1(z)), x))
        out = self.sn2(seq_to_ann(lambda z: self.bn2(self.conv2(z)), out))
        return connect(out, _shortcut(self, x), self.cnf)


class SEWBottleneck(sj_sew.Bottleneck):
    """spikingjelly 2.0's SEW ``Bottleneck`` (1×1 → 3×3 (stride) → 1×1·4, each conv + BN + IF;
    shortcut conv1×1/stride + BN + IF when the shape changes) with the connect function applied as
    ``g(A, S)`` of the original (:func:`connect`; spikingjelly swaps A and S, which changes IAND)
    and convs/BNs on the flattened ``[T·B, ...]`` tensor (sew_resnet.py@dd6bd53 l.77–138).

    ``[T, B, C_in, H, W]`` → ``[T, B, 4·planes, H/s, W/s]``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.sn1(seq_to_ann(lambda z: self.bn1(self.conv1(z)), x))
        out = self.sn2(seq_to_ann(lambda z: self.bn2(self.conv2(z)), out))
        out = self.sn3(seq_to_ann(lambda z: self.bn3(self.conv3(z)), out))
        return connect(out, _shortcut(self, x), self.cnf)


_BLOCKS = {"basic": SEWBasicBlock, "bottleneck": SEWBottleneck}
_STAGES = ("layer1", "layer2", "layer3", "layer4")


def _check_T(T: Any) -> int:
    if int(T) != T or T < 1:
        raise ValueError(f"T must be an integer >= 1, got {T}")
    return int(T)


class SEWResNet(sj_sew.SEWResNet):
    """SEW-ResNet for ImageNet (BKDSNN: Spike-Element-Wise-ResNet/imagenet/sew_resnet.py@dd6bd53),
    built on spikingjelly 2.0's ``SEWResNet`` (see the module docstring for what differs).

    Input ``[B, C, H, W]`` (stem once, repeated ``T`` times) or ``[T, B, C, H, W]``; output
    per-timestep logits ``[T, B, K]``. Stem conv 7×7/2 (no bias) → BN → IF → max-pool 3×3/2;
    stages of 64, 128, 256, 512 planes (stride 2 at the start of layers 2–4); global average pool →
    ``fc``: Linear(512·e, K) per step. Kaiming-normal (fan_out) convs, BN γ 1 β 0, PyTorch-default fc.

    Args:
        layers: blocks per stage ((2, 2, 2, 2) ResNet-18, (3, 4, 6, 3) ResNet-34/50).
        block: ``"basic"`` (18/34) or ``"bottleneck"`` (50, expansion 4, stride on the 3×3).
        num_classes: K (0 → ``fc`` is Identity and the "logits" are the pooled features).
        in_chans: input channels.
        T: time steps for a static image.
        cnf: connect function, ``"ADD"`` (every BKDSNN run), ``"AND"`` or ``"IAND"``.
        zero_init_residual: zero the last BN γ of each branch (β = 1 for AND).
        if_settings: :class:`IFSettings` (default :data:`SEW_IF`).
        lif_v_threshold, lif_v_reset, lif_detach_reset, surrogate, surrogate_alpha: flat overrides of
            ``if_settings`` (the names ``Config.model_kwargs()`` passes).
        pretrained_cfg, pretrained_cfg_overlay, cache_dir: added by ``timm.create_model``; ignored.

    Raises:
        ValueError: bad ``layers``/``block``/``cnf``, T < 1; TypeError: lif_tau / lif_decay /
            lif_decay_input (an IF has no leak) or unknown kwargs.
    """

    def __init__(self, layers: Sequence[int] = (2, 2, 2, 2), block: str = "basic",
                 num_classes: int = 1000, in_chans: int = 3, T: int = 4, cnf: str = "ADD",
                 zero_init_residual: bool = False, if_settings: IFSettings = SEW_IF, **kwargs: Any):
        settings = if_from_flat_kwargs(if_settings, kwargs, type(self).__name__)
        layers = tuple(int(n) for n in layers)
        if len(layers) != 4 or min(layers) < 1:
            raise ValueError(f"layers must be 4 positive block counts, got {layers}")
        if block not in _BLOCKS:
            raise ValueError(f"block must be one of {sorted(_BLOCKS)}, got {block!r}")
        cnf = str(cnf).upper()
        if cnf not in CONNECT_FUNCTIONS:
            raise ValueError(f"cnf must be one of {CONNECT_FUNCTIONS}, got {cnf!r}")
        super().__init__(_BLOCKS[block], list(layers), num_classes=max(int(num_classes), 1),
                         zero_init_residual=zero_init_residual, cnf=cnf, spiking_neuron=IF,
                         **settings.neuron_kwargs())
        self.T, self.cnf, self.block_counts, self.block = _check_T(T), cnf, layers, block
        self.num_classes, self.in_chans = int(num_classes), int(in_chans)
        self.neuron_settings = settings
        self.num_features = 512 * _BLOCKS[block].expansion
        if self.in_chans != 3:
            self.conv1 = layer.Conv2d(self.in_chans, 64, kernel_size=7, stride=2, padding=3, bias=False)
            nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.fc = self._make_classifier(self.num_classes)
        if zero_init_residual and cnf == "AND":
            for m in self.modules():
                if isinstance(m, (sj_sew.BasicBlock, sj_sew.Bottleneck)):
                    nn.init.ones_((m.bn3 if isinstance(m, sj_sew.Bottleneck) else m.bn2).bias)

    def _make_classifier(self, num_classes: int) -> nn.Module:
        """``fc``: Linear(512·e, K) applied to ``[T, B, 512·e]``, or Identity for K = 0."""
        return linear_head(self.num_features, num_classes)

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int, global_pool: Any = None) -> None:
        """New (default-initialised) head for ``num_classes`` (timm API; ``global_pool`` ignored)."""
        self.num_classes = int(num_classes)
        self.fc = self._make_classifier(self.num_classes)

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` → conv + BN once → repeated ``T`` times → IF → max-pool:
        ``[T, B, 64, H/4, W/4]``. A ``[T', B, C, H, W]`` input goes through conv + BN per step.

        Raises:
            ValueError: an input of another rank, or ``self.T`` < 1.
        """
        if x.dim() == 4:
            z = self.bn1(self.conv1(x))  # [B, 64, H/2, W/2]: the stem runs once
            z = z.unsqueeze(0).expand(_check_T(self.T), *z.shape)
        elif x.dim() == 5:
            z = seq_to_ann(lambda y: self.bn1(self.conv1(y)), x)
        else:
            raise ValueError(f"expected [B, C, H, W] or [T, B, C, H, W] input, got {tuple(x.shape)}")
        return seq_to_ann(self.maxpool, self.sn1(z))

    def forward_features(self, x: torch.Tensor, taps: list | None = None) -> torch.Tensor:
        """Layer-4 output ``[T, B, 512·e, H/32, W/32]``; the outputs of layers 1–3 are appended
        to ``taps`` when it is a list."""
        x = self.forward_stem(x)
        for i, name in enumerate(_STAGES):
            x = getattr(self, name)(x)
            if taps is not None and i < len(_STAGES) - 1:
                taps.append(x)
        return x

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, C, H', W']`` → per-timestep logits ``[T, B, K]`` (global average pool, ``fc``)."""
        return self.fc(torch.flatten(seq_to_ann(self.avgpool, x), 2))

    def forward(self, x: torch.Tensor, return_feature: bool = False,
                return_stages: bool = False) -> torch.Tensor | ModelOutput:
        """Per-timestep logits ``[T, B, K]`` (the prediction is their T-mean).

        With ``return_feature`` and/or ``return_stages`` a ``ModelOutput``: ``feature`` = T-mean of
        the layer-4 output ``[B, 512·e, H/32, W/32]`` (the BKD tap), ``stages`` = T-means of the
        layer 1–3 outputs (BKDSNN's ``indices`` 0–2).
        """
        return tapped_forward(self, x, return_feature, return_stages)


# ----------------------------------------------------------------------------------------------
# timm registration (no published SNN weights). Evaluation transform of BKDSNN's SEW scripts:
# Resize 256 → CenterCrop 224, ImageNet mean/std (imagenet_cfg).

_ORIGIN = dict(origin_url="https://github.com/Intelligent-Computing-Research-Group/BKDSNN",
               paper_ids="arXiv:2407.09083")

default_cfgs = generate_default_cfgs({
    name: imagenet_cfg(first_conv="conv1", classifier="fc", **_ORIGIN)
    for name in ("sew_resnet18", "sew_resnet34", "sew_resnet50")
})


@register_unique
def sew_resnet18(pretrained: bool = False, **kwargs: Any) -> SEWResNet:
    """SEW-ResNet-18 ([2, 2, 2, 2] BasicBlocks): 11,689,512 params for K = 1000."""
    return build_no_weights(SEWResNet, "sew_resnet18", pretrained,
                            **{"layers": (2, 2, 2, 2), "block": "basic", **kwargs})


@register_unique
def sew_resnet34(pretrained: bool = False, **kwargs: Any) -> SEWResNet:
    """SEW-ResNet-34 ([3, 4, 6, 3] BasicBlocks): 21,797,672 params for K = 1000."""
    return build_no_weights(SEWResNet, "sew_resnet34", pretrained,
                            **{"layers": (3, 4, 6, 3), "block": "basic", **kwargs})


@register_unique
def sew_resnet50(pretrained: bool = False, **kwargs: Any) -> SEWResNet:
    """SEW-ResNet-50 ([3, 4, 6, 3] Bottlenecks, 2048-channel layer 4): 25,557,032 params for K = 1000."""
    return build_no_weights(SEWResNet, "sew_resnet50", pretrained,
                            **{"layers": (3, 4, 6, 3), "block": "bottleneck", **kwargs})


# ----------------------------------------------------------------------------------------------
# Teachers: torchvision's IMAGENET1K_V1 ResNets, as timm serves them.

#: timm name (with pretrained tag) → torchvision's published ImageNet top-1 of those weights.
TV_TEACHERS = {
    "resnet18.tv_in1k": 69.758,
    "resnet34.tv_in1k": 73.314,
    "resnet50.tv_in1k": 76.130,
}


