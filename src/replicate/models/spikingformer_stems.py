"""Spikingformer stems ("SPS", ``SpikingTokenizer``) per dataset, in both downsampling orders.

Every stem has five stages; stage i has a 3×3 conv (stride 1, pad 1, no bias) and a BatchNorm2d,
and stages 1–4 start with a LIF (stage 0 sees the analog input). Widths are
``C_in → D/8 → D/4 → D/2 → D → D``. The stride-2 max-pools (3×3, pad 1) sit in some of the gaps
between stage i and stage i+1 ("pooled gaps"); the two released codes differ only in where, inside
such a gap, the pool acts:

* ``"cml"`` (Spikingformer-CML@8e51213, the CML change): ``BN_i → MaxPool → LIF_{i+1} → conv_{i+1}``
  — the pool acts on the real-valued BN output (the next neuron's input current);
* ``"original"`` (Spikingformer@4378623): ``BN_i → LIF_{i+1} → MaxPool → conv_{i+1}`` — the pool
  acts on binary spikes.

Each conv therefore runs at the same resolution in both orders (same parameters, same state_dict
keys, same dense MACs); only the LIF after a pooled gap runs at the lower resolution in CML.

Per dataset (:data:`STEMS`):

======== ============ ====== ===== ===== ===============================================
stem     pooled gaps  input  C_in  LIF τ released files (CML@8e51213 / Spikingformer@4378623)
======== ============ ====== ===== ===== ===============================================
cifar    2, 3         32     3     2.0   cifar10/model.py l.118–173 / l.117–173 (cifar100/ alike)
imagenet 0, 1, 2, 3   224    3     2.0   imagenet/model.py l.120–178 (both)
dvs      0, 1, 2, 3   128    2     1.75  cifar10-dvs/model.py l.126–184, dvs128-gesture/model.py
======== ============ ====== ===== ===== ===============================================

So CIFAR gives 32 → 8 (64 tokens), ImageNet 224 → 14 (196 tokens), DVS 128 → 8 (64 tokens).
The DVS τ 1.75 is CML's (``tau_thr = 1.75``, Spikingformer-CML: cifar10-dvs/model.py@8e51213 l.14;
``tau=1.75`` throughout dvs128-gesture/model.py@8e51213); the original Spikingformer's DVS files use
τ = 1.5 (Spikingformer: cifar10-dvs/model.py@4378623 l.14, dvs128-gesture/model.py@4378623 l.21).

Module names follow the CML files: ``proj_conv``/``proj_bn`` (stage 0), ``proj{i}_lif``,
``proj{i}_conv``, ``proj{i}_bn``; a pool is named after the stage it runs in: the pool of gap i
is ``proj{i}_mp`` after ``proj{i}_bn`` in CML (``proj_mp`` for gap 0) and ``proj{i+1}_mp`` after
``proj{i+1}_lif`` in the original order. Modules are registered in forward order. (The original CIFAR file names its stem modules ``block0_conv`` ... ``block4_bn``,
Spikingformer: cifar10/model.py@4378623 l.117–146; its weights map onto ours by that rename.)
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..neurons import LIFSettings
from .helpers import seq_to_ann

__all__ = ["DOWNSAMPLE_ORDERS", "STEMS", "SpikingTokenizer", "StemSpec", "stage_prefix"]

#: The two places a stem max-pool can take inside a pooled gap (see the module docstring).
DOWNSAMPLE_ORDERS = ("cml", "original")

#: Number of stages of every stem.
NUM_STAGES = 5


@dataclass(frozen=True)
class StemSpec:
    """What a released stem is built for.

    Attributes:
        name: ``"cifar"``, ``"imagenet"`` or ``"dvs"``.
        pooled_gaps: gaps i (between stage i and stage i+1) holding a stride-2 max-pool.
        img_size: the input side the released model runs at.
        in_chans: input channels of the released model.
        tau: LIF τ of the released model files (every LIF of the network).
        max_img_size: largest ``img_size`` accepted (None: no limit); the CIFAR stem refuses
            ImageNet/DVS-sized inputs, which need the four-pool stems.
    """

    name: str
    pooled_gaps: tuple[int, ...]
    img_size: int
    in_chans: int
    tau: float
    max_img_size: int | None = None

    @property
    def factor(self) -> int:
        """Total downsampling factor (2 per pooled gap)."""
        return 2 ** len(self.pooled_gaps)

    def check_img_size(self, img_size: int) -> None:
        """Raise a one-line ``ValueError`` if this stem cannot be built for ``img_size``."""
        pools = len(self.pooled_gaps)
        if img_size < self.factor or img_size % self.factor:
            raise ValueError(f"img_size {img_size} must be a positive multiple of {self.factor} "
                             f"(the {self.name} stem has {pools} stride-2 max-pools)")
        if self.max_img_size is not None and img_size > self.max_img_size:
            tokens = (img_size // self.factor) ** 2
            raise ValueError(
                f"img_size {img_size} is too large for the {self.name} stem (at most {self.max_img_size}: "
                f"its {pools} max-pools would give {tokens} tokens); ImageNet- and DVS-sized "
                "inputs need the four-pool stems: stem='imagenet' / 'dvs' "
                "(cml_spikingformer_imagenet, cml_spikingformer_dvs)")


STEMS: dict[str, StemSpec] = {
    "cifar": StemSpec("cifar", (2, 3), img_size=32, in_chans=3, tau=2.0, max_img_size=64),
    "imagenet": StemSpec("imagenet", (0, 1, 2, 3), img_size=224, in_chans=3, tau=2.0),
    "dvs": StemSpec("dvs", (0, 1, 2, 3), img_size=128, in_chans=2, tau=1.75),
}


def stage_prefix(i: int) -> str:
    """Name prefix of stem stage ``i``: ``proj`` for stage 0, ``proj{i}`` after it."""
    return "proj" if i == 0 else f"proj{i}"


class SpikingTokenizer(nn.Module):
    """Spikingformer stem for one dataset (``layout``) and downsampling order (``downsample``).

    ``[T, B, C_in, H, W]`` (analog image or event frames) → real-valued ``[T, B, D, H/f, W/f]``
    (the BN output of stage 4; no positional embedding, no residual), f = ``layout.factor``.

    Stage i > 0 runs ``proj{i}_lif`` on ``[T, B, ...]``, then, on the flattened ``[T·B, ...]``
    tensor (BN statistics shared over time), ``[MaxPool] → conv → BN → [MaxPool]``: the leading
    pool in the original order after a pooled gap i−1, the trailing one in the CML order before a
    pooled gap i. Stage 0 has no LIF.

    Raises:
        ValueError: unknown ``downsample``, or ``embed_dim`` not divisible by 8.
    """

    def __init__(self, in_chans: int, embed_dim: int, lif: LIFSettings, layout: StemSpec,
                 downsample: str = "cml"):
        super().__init__()
        if downsample not in DOWNSAMPLE_ORDERS:
            raise ValueError(f"downsample must be one of {DOWNSAMPLE_ORDERS}, got {downsample!r}")
        if embed_dim % 8:
            raise ValueError(f"embed_dim {embed_dim} must be divisible by 8 (stem widths D/8, D/4, D/2)")
        self.layout = layout
        self.downsample = downsample
        d = embed_dim
        widths = [in_chans, d // 8, d // 4, d // 2, d, d]
        self.stage_ops: list[list[str]] = []  # per stage, the [T·B]-flattened modules in call order
        for i in range(NUM_STAGES):
            p, ops = stage_prefix(i), []
            if i > 0:
                self.add_module(f"{p}_lif", lif.build())
            if downsample == "original" and i - 1 in layout.pooled_gaps:
                ops.append(self._add(f"{p}_mp", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)))
            ops.append(self._add(f"{p}_conv", nn.Conv2d(widths[i], widths[i + 1], 3, 1, 1, bias=False)))
            ops.append(self._add(f"{p}_bn", nn.BatchNorm2d(widths[i + 1])))
            if downsample == "cml" and i in layout.pooled_gaps:
                ops.append(self._add(f"{p}_mp", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)))
            self.stage_ops.append(ops)

    def _add(self, name: str, module: nn.Module) -> str:
        self.add_module(name, module)
        return name

    def _flat_ops(self, i: int, z: torch.Tensor) -> torch.Tensor:
        for name in self.stage_ops[i]:
            z = getattr(self, name)(z)
        return z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(NUM_STAGES):
            if i > 0:
                x = getattr(self, f"{stage_prefix(i)}_lif")(x)
            x = seq_to_ann(lambda z, i=i: self._flat_ops(i, z), x)
        return x
