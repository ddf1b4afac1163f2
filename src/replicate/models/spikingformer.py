"""Spikingformer, with CML ("CML + Spikingformer") or the original downsampling, for CIFAR
(32×32), ImageNet (224×224) and DVS (2×128×128) inputs.

Follows the models of Spikingformer-CML@8e51213 (cifar10/model.py, cifar100/model.py,
imagenet/model.py, cifar10-dvs/model.py, dvs128-gesture/model.py: ``SpikingTokenizer``,
``SpikingSelfAttention``, ``MLP``, ``SpikingTransformer``, ``vit_snn``), the code of Zhou et al.,
"Enhancing the Performance of Transformer-based Spiking Neural Networks by SNN-optimized
Downsampling with Precise Gradient Backpropagation" (arXiv 2305.05954), and, for the original
downsampling order, the same files of Spikingformer@4378623 (Zhou et al., arXiv 2304.11954). The
files of one dataset differ between the two repositories only in where the stem max-pools sit
(:mod:`.spikingformer_stems`); the blocks and the head are the same everywhere, and the DVS files
also change the LIF τ. Layout conventions:

* activations are ``[T, B, C, H, W]`` (time first; the DVS files take ``[B, T, ...]`` and permute,
  Spikingformer-CML: cifar10-dvs/model.py@8e51213 l.238; we take ``[T, B, ...]`` like every model
  here); convolutions and batch norms act on the flattened ``[T·B, ...]`` tensor, so BN
  statistics are shared over time steps (every ``forward`` of the released files calls its convs
  on ``x.flatten(0, 1)``);
* every LIF is :class:`replicate.neurons.LIF` (multi-step, state reset per call);
* the residual stream is real-valued: every branch is "LIF → conv → BN" and ends in BN
  (``SpikingTransformer.forward``, cifar10/model.py@8e51213 l.112–115).

Parameter/attribute names follow the released CML models (``patch_embed.proj1_conv``,
``block.0.attn.q_conv``, ``block.0.mlp.mlp1_conv``, ``head``, ...) and the 1×1 convs have the same
shapes (Conv1d in attention, Conv2d in the MLP), so a released state_dict maps onto ours by name;
with ``keep_unused_norms=True`` the dead ``norm1``/``norm2`` LayerNorms are created too, which
makes strict loading possible and the parameter count equal to what the original code prints.

For hooks (e.g. an energy counter): every weight layer is an ``nn.Conv2d`` (stem, MLP),
``nn.Conv1d`` (attention q/k/v/proj, as released) or the ``nn.Linear`` head, every neuron a
:class:`~replicate.neurons.LIF`; each attention module has ``num_heads`` (h), ``embed_dim`` (D),
``head_dim`` (d = D/h) and its spike sources ``q_lif``, ``k_lif``, ``v_lif`` (outputs
``[T, B, D, N]``), ``attn_lif`` and ``proj_lif`` as named submodules.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
from timm.layers import trunc_normal_
from timm.models import generate_default_cfgs

from ..neurons import LIFSettings, lif_from_flat_kwargs
from . import register_unique
from .helpers import TIMM_EXTRA_KWARGS, build_no_weights, cifar10_cfg, imagenet_cfg, linear_head, seq_to_ann
from .output import ModelOutput
from .spikingformer_stems import DOWNSAMPLE_ORDERS, STEMS, SpikingTokenizer, StemSpec

__all__ = ["CMLSpikingformer", "Spikingformer", "SpikingTokenizer", "SpikingSelfAttention", "SpikingMLP",
           "SpikingBlock"]

#: Fixed attention scale of Spikingformer, whatever the head size
#: (Spikingformer-CML: cifar10/model.py@8e51213 l.91, ``x = (attn @ v) * 0.125``).
ATTN_SCALE = 0.125


class SpikingSelfAttention(nn.Module):
    """Spikingformer SSA branch (``SpikingSelfAttention``, Spikingformer-CML: cifar10/model.py@8e51213
    l.41–97): ``[T, B, D, H, W]`` real → ``[T, B, D, H, W]`` real.

    s = LIF(x); Q, K, V = LIF(BN1d(Conv1d_1×1(s))) (no conv bias); per head (channel c → head
    c // d) A = (Q Kᵀ) V · 0.125 (no softmax); a = LIF_{V_th=attn_v_threshold}(A);
    out = BN1d(Conv1d_1×1(a) + bias). No LIF at the end. (The ImageNet files evaluate Q (Kᵀ V),
    Spikingformer-CML: imagenet/model.py@8e51213 l.91–92: the same numbers, since every product of
    spikes is an integer far below 2²⁴, exact in float32.)

    Attributes (read by hooks, e.g. an energy counter): ``num_heads`` h, ``embed_dim`` D (alias
    ``dim``), ``head_dim`` d = D/h; the submodules ``proj_lif`` (block input spikes), ``q_lif``,
    ``k_lif``, ``v_lif`` (Q, K, V spikes, output ``[T, B, D, N]``, N = H·W tokens) and ``attn_lif``.
    """

    def __init__(self, dim: int, num_heads: int, lif: LIFSettings, attn_v_threshold: float = 0.5):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} must be divisible by num_heads {num_heads}")
        self.dim = self.embed_dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = ATTN_SCALE
        self.proj_lif = lif.build()
        for name in "qkv":  # q_conv, q_bn, q_lif, k_conv, ..., v_lif: the released names and order
            self.add_module(f"{name}_conv", nn.Conv1d(dim, dim, 1, bias=False))
            self.add_module(f"{name}_bn", nn.BatchNorm1d(dim))
            self.add_module(f"{name}_lif", lif.build())
        self.attn_lif = lif.build(v_threshold=attn_v_threshold)
        self.proj_conv = nn.Conv1d(dim, dim, 1, bias=True)
        self.proj_bn = nn.BatchNorm1d(dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, D, N]`` → ``[T, B, h, N, d]`` with channel c in head c // d."""
        t, b, c, n = x.shape
        return x.reshape(t, b, self.num_heads, c // self.num_heads, n).transpose(-1, -2)

    def _qkv(self, name: str, s: torch.Tensor) -> torch.Tensor:
        """``{name}_lif(BN1d(Conv1d_1×1(s)))`` for spikes ``s`` ``[T, B, D, N]``, split into heads
        ``[T, B, h, N, d]``; ``name`` is "q", "k" or "v"."""
        conv, bn, lif = (getattr(self, f"{name}_{part}") for part in ("conv", "bn", "lif"))
        return self._heads(lif(seq_to_ann(lambda z: bn(conv(z)), s)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, b, c, h, w = x.shape
        s = self.proj_lif(x).flatten(3)  # [T, B, D, N] spikes
        q, k, v = (self._qkv(name, s) for name in "qkv")
        a = (q @ k.transpose(-1, -2)) @ v * self.scale  # [T, B, h, N, d]
        a = a.transpose(-1, -2).reshape(t, b, c, h * w)  # merge heads back to channels
        a = self.attn_lif(a)
        out = seq_to_ann(lambda z: self.proj_bn(self.proj_conv(z)), a)
        return out.reshape(t, b, c, h, w)


class SpikingMLP(nn.Module):
    """MLP branch (``MLP``, Spikingformer-CML: cifar10/model.py@8e51213 l.12–38):
    BN(Conv1×1_{hid→D}(LIF(BN(Conv1×1_{D→hid}(LIF(x)))))), convs with bias.

    ``[T, B, D, H, W]`` → ``[T, B, D, H, W]``; no LIF at the end.
    """

    def __init__(self, dim: int, hidden: int, lif: LIFSettings):
        super().__init__()
        for i, (c_in, c_out) in enumerate(((dim, hidden), (hidden, dim)), start=1):
            self.add_module(f"mlp{i}_lif", lif.build())  # mlp{i}_lif, _conv, _bn: the released names
            self.add_module(f"mlp{i}_conv", nn.Conv2d(c_in, c_out, 1, bias=True))
            self.add_module(f"mlp{i}_bn", nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in (1, 2):
            lif, conv, bn = (getattr(self, f"mlp{i}_{part}") for part in ("lif", "conv", "bn"))
            x = seq_to_ann(lambda z: bn(conv(z)), lif(x))
        return x


class SpikingBlock(nn.Module):
    """``x ← x + SSA(x); x ← x + MLP(x)`` on the real-valued stream ``[T, B, D, H, W]``
    (``SpikingTransformer``, Spikingformer-CML: cifar10/model.py@8e51213 l.100–115).

    ``norm1``/``norm2`` (only with ``keep_unused_norms``) are never called, as in the original.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float,
        lif: LIFSettings,
        attn_v_threshold: float,
        keep_unused_norms: bool,
    ):
        super().__init__()
        if keep_unused_norms:
            self.norm1 = nn.LayerNorm(dim)
        self.attn = SpikingSelfAttention(dim, num_heads, lif, attn_v_threshold)
        if keep_unused_norms:
            self.norm2 = nn.LayerNorm(dim)
        self.mlp = SpikingMLP(dim, int(dim * mlp_ratio), lif)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x)
        return x + self.mlp(x)


def _stem_spec(stem: str, downsample: str) -> StemSpec:
    """The :class:`~.spikingformer_stems.StemSpec` of ``stem``, after checking both names."""
    if stem not in STEMS:
        raise ValueError(f"stem must be one of {sorted(STEMS)}, got {stem!r}")
    if downsample not in DOWNSAMPLE_ORDERS:
        raise ValueError(f"downsample must be one of {DOWNSAMPLE_ORDERS}, got {downsample!r}")
    return STEMS[stem]


def _check_sizes(layout: StemSpec, img_size: int, embed_dim: int, num_heads: int, T: int) -> None:
    """One-line ``ValueError`` for sizes the network cannot be built with."""
    if embed_dim % 8:
        raise ValueError(f"embed_dim {embed_dim} must be divisible by 8 (stem widths D/8, D/4, D/2)")
    if embed_dim % num_heads:
        raise ValueError(f"embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
    layout.check_img_size(img_size)
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")


class Spikingformer(nn.Module):
    """Spikingformer (``vit_snn``) with the stem of dataset ``stem`` in the ``downsample`` order.

    Sources (``vit_snn``): CML order Spikingformer-CML@8e51213 cifar10/model.py l.177–231,
    imagenet/model.py l.181–246, cifar10-dvs/model.py l.186–241 (dvs128-gesture/model.py alike);
    original order the same files of Spikingformer@4378623. Stems: :mod:`.spikingformer_stems`.

    Input ``[B, C_in, H, W]`` (repeated T times) or ``[T, B, C_in, H, W]`` (its own T is used),
    with ``C_in = in_chans`` and ``H = W = img_size``: any other size is refused in one line (the
    stem was built for it); output per-timestep logits ``[T, B, K]``. Tokens: N = (img_size / f)²
    with f = 4 (CIFAR stem) or 16 (ImageNet, DVS): 64 at 32, 196 at 224, 64 at 128.

    Args:
        num_classes: K (0 → no head; "logits" are then the pooled features).
        in_chans: input channels C_in (None: the stem's, 3, or 2 for DVS).
        img_size: input side (None: the stem's, 32 / 224 / 128); a positive multiple of f, at
            most 64 with the CIFAR stem.
        embed_dim: D; must be divisible by 8 and by ``num_heads``.
        depth: number of blocks L.
        num_heads: attention heads h.
        mlp_ratio: MLP hidden width / D (4).
        T: time steps used when the input is a static image (direct encoding, repeated T times).
        lif: neuron settings for every LIF (None: the released neuron, ``MultiStepLIFNode(tau=τ,
            detach_reset=True)`` with spikingjelly's other defaults — decay_input, V_th 1, hard
            reset 0, sigmoid α 4 — with τ 2, or 1.75 for the DVS stem: Spikingformer-CML:
            cifar10/model.py@8e51213 l.17, cifar10-dvs/model.py@8e51213 l.14).
        attn_v_threshold: threshold of ``attn_lif`` after (QKᵀ)V (0.5).
        keep_unused_norms: also create the never-used ``norm1``/``norm2`` LayerNorms per block
            (only for strict loading of released state_dicts; +4·D params per block).
        stem: ``"cifar"``, ``"imagenet"`` or ``"dvs"`` (which released stem; see :data:`STEMS`).
        downsample: ``"cml"`` (max-pool on the BN output, before the next LIF) or ``"original"``
            (max-pool on the LIF's spikes, before the next conv).
        lif_tau, lif_decay_input, lif_v_threshold, lif_v_reset, lif_detach_reset, surrogate,
            surrogate_alpha: flat overrides of the fields of ``lif`` (``lif_v_reset="soft"`` for
            soft reset, since ``timm.create_model`` drops ``None`` values).
        pretrained_cfg, pretrained_cfg_overlay, cache_dir: added by ``timm.create_model``; ignored.

    Raises:
        ValueError: bad ``embed_dim``/``num_heads``/``img_size``/``T``/``stem``/``downsample``;
        TypeError: unknown kwargs.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_chans: int | None = None,
        img_size: int | None = None,
        embed_dim: int = 384,
        depth: int = 4,
        num_heads: int = 12,
        mlp_ratio: float = 4,
        T: int = 4,
        lif: LIFSettings | None = None,
        attn_v_threshold: float = 0.5,
        keep_unused_norms: bool = False,
        stem: str = "cifar",
        downsample: str = "cml",
        **kwargs: Any,
    ):
        super().__init__()
        layout = _stem_spec(stem, downsample)
        lif = LIFSettings(tau=layout.tau) if lif is None else lif
        lif = lif_from_flat_kwargs(lif, kwargs, type(self).__name__, ignore=TIMM_EXTRA_KWARGS)
        img_size = layout.img_size if img_size is None else img_size
        _check_sizes(layout, img_size, embed_dim, num_heads, T)

        self.stem, self.downsample = stem, downsample
        self.variant = f"{'cml_' if downsample == 'cml' else ''}spikingformer_{stem}"
        self.num_classes = num_classes
        self.in_chans = layout.in_chans if in_chans is None else in_chans
        self.img_size = img_size
        self.embed_dim = self.num_features = embed_dim
        self.depth = depth
        self.num_heads = num_heads
        self.T = T
        self.lif_settings = lif
        self.attn_v_threshold = attn_v_threshold
        self.num_patches = (img_size // layout.factor) ** 2

        self.patch_embed = SpikingTokenizer(self.in_chans, embed_dim, lif, layout, downsample)
        self.block = nn.ModuleList(
            SpikingBlock(embed_dim, num_heads, mlp_ratio, lif, attn_v_threshold, keep_unused_norms)
            for _ in range(depth)
        )
        self.head = linear_head(embed_dim, num_classes)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        # convs/BN keep PyTorch defaults; Linear: trunc-normal std .02, bias 0 (``vit_snn._init_weights``,
        # Spikingformer-CML: cifar10/model.py@8e51213 l.209–216).
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: Any = None) -> None:
        """New head for ``num_classes`` (timm API; ``global_pool`` is ignored: always token mean)."""
        self.num_classes = num_classes
        self.head = linear_head(self.embed_dim, num_classes)
        self._init_weights(self.head)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a one-line ``ValueError`` unless ``x`` is ``[B, C_in, S, S]`` or
        ``[T, B, C_in, S, S]`` with the ``in_chans`` and ``img_size`` S the stem was built for."""
        want = (self.in_chans, self.img_size, self.img_size)
        if x.dim() not in (4, 5):
            raise ValueError(f"expected [B, C, H, W] or [T, B, C, H, W] input, got {tuple(x.shape)}")
        if tuple(x.shape[-3:]) != want:
            name = getattr(self, "pretrained_cfg", {}).get("architecture", self.variant)
            raise ValueError(
                f"{name}: input {tuple(x.shape)} does not match the {self.stem} stem, built "
                f"for {want[0]}×{want[1]}×{want[2]} (in_chans={self.in_chans}, img_size={self.img_size}); "
                "resize the input or build the model for its size")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Direct encoding: ``[B, C, H, W]`` → ``[T, B, C, H, W]`` (repeated); 5-D input unchanged.
        Both are checked by :meth:`check_input` first."""
        self.check_input(x)
        if x.dim() == 4:
            return x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        return x

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Residual stream after the last block, ``[T, B, D, H/f, W/f]`` (real-valued)."""
        x = self.patch_embed(self.encode(x))
        for blk in self.block:
            x = blk(x)
        return x

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, D, H', W']`` → per-timestep logits ``[T, B, K]`` (token mean, then Linear)."""
        return self.head(x.flatten(3).mean(3))

    def forward(self, x: torch.Tensor, return_feature: bool = False) -> torch.Tensor | ModelOutput:
        """Per-timestep logits ``[T, B, K]`` for an image batch ``[B, C, H, W]`` (repeated T times)
        or a temporal batch ``[T, B, C, H, W]`` (its own T is used).

        The prediction is ``logits.mean(0)``; since the head is linear it equals the original
        ``head(mean_T mean_tokens x)``. With ``return_feature=True`` returns
        ``ModelOutput(logits [T, B, K], feature [B, D, H/f, W/f])``, the last block's output
        averaged over T: the BKD student feature, "the feature map right before the last layer"
        (BKDSNN, ECCV 2024, arXiv 2407.09083, abstract), which ``forward_features(x,
        return_inter=True)`` returns as ``x.mean(0)`` in BKDSNN: Spikingformer-CML/imagenet/model.py@dd6bd53
        l.234–256.
        """
        feat = self.forward_features(x)
        logits = self.forward_head(feat)
        if return_feature:
            return ModelOutput(logits=logits, feature=feat.mean(0))
        return logits


#: The name of the class before the ImageNet/DVS stems and the original order were added; its
#: defaults are still the CML CIFAR model (``stem="cifar"``, ``downsample="cml"``).
CMLSpikingformer = Spikingformer


# ----------------------------------------------------------------------------------------------
# timm registration. No published weights exist for these models; the default cfgs (filed by
# ``register_model`` under each name) carry the input size and normalisation of the dataset.

_ORIGINS = {
    "cml": dict(origin_url="https://github.com/zhouchenlin2096/Spikingformer-CML", paper_ids="arXiv:2305.05954"),
    "original": dict(origin_url="https://github.com/zhouchenlin2096/Spikingformer", paper_ids="arXiv:2304.11954"),
}


def _cfg(stem: str = "cifar", downsample: str = "cml") -> dict[str, Any]:
    """Default cfg of a ``stem`` model.

    * cifar: :func:`.helpers.cifar10_cfg` (3×32×32, the CIFAR-10 mean/std of our pipeline);
    * imagenet: :func:`.helpers.imagenet_cfg` (3×224×224, ImageNet mean/std) with the released
      evaluation transform, ``crop_pct: 1.0`` and ``interpolation: bicubic``
      (Spikingformer-CML: imagenet/imagenet.yml@8e51213; Spikingformer: imagenet/imagenet.yml@4378623);
    * dvs: 2×128×128 event frames, not normalised (mean 0, std 1), 10 classes (CIFAR10-DVS).
    """
    common = dict(first_conv="patch_embed.proj_conv", classifier="head", **_ORIGINS[downsample])
    if stem == "cifar":
        return cifar10_cfg(**common)
    if stem == "imagenet":
        return imagenet_cfg(crop_pct=1.0, interpolation="bicubic", **common)
    return {"url": "", "num_classes": 10, "input_size": (2, 128, 128), "crop_pct": 1.0,
            "interpolation": "bilinear", "mean": (0.0, 0.0), "std": (1.0, 1.0), **common}


default_cfgs = generate_default_cfgs({
    "cml_spikingformer_cifar": _cfg(),
    "cml_spikingformer_4_256_cifar": _cfg(),
    "cml_spikingformer_2_384_cifar": _cfg(),
    "cml_spikingformer_4_384_cifar": _cfg(),
    "spikingformer_cifar": _cfg("cifar", "original"),
    "cml_spikingformer_imagenet": _cfg("imagenet", "cml"),
    "spikingformer_imagenet": _cfg("imagenet", "original"),
    "cml_spikingformer_dvs": _cfg("dvs", "cml"),
    "spikingformer_dvs": _cfg("dvs", "original"),
})

#: Defaults of the named entry points per stem: the released sizes (ImageNet 8-384, 8 heads, 1000
#: classes: Spikingformer-CML: imagenet/imagenet.yml@8e51213 with ``dim`` 384; DVS 2-256, 16 heads,
#: T 16, 10 classes: cifar10-dvs/model.py@8e51213 l.245–251 and cifar10-dvs/train.py@8e51213 l.77).
_STEM_DEFAULTS = {
    "cifar": {},
    "imagenet": dict(embed_dim=384, depth=8, num_heads=8, num_classes=1000),
    "dvs": dict(embed_dim=256, depth=2, num_heads=16, num_classes=10, T=16),
}


def _create(variant: str, pretrained: bool, defaults: dict[str, Any], kwargs: dict[str, Any],
            stem: str = "cifar", downsample: str = "cml") -> Spikingformer:
    """``Spikingformer(stem=stem, downsample=downsample, **defaults, **kwargs)`` through timm.

    Raises:
        TypeError: ``kwargs`` set ``stem`` or ``downsample``, which the model name fixes.
    """
    fixed = sorted({"stem", "downsample"} & set(kwargs))
    if fixed:
        raise TypeError(f"{variant} fixes stem={stem!r} and downsample={downsample!r}; "
                        f"do not pass {fixed} (pick the model name instead)")
    return build_no_weights(Spikingformer, variant, pretrained,
                            **{**_STEM_DEFAULTS[stem], **defaults, **kwargs, "stem": stem, "downsample": downsample})


@register_unique
def cml_spikingformer_cifar(pretrained: bool = False, **kwargs: Any) -> Spikingformer:
    """CML + Spikingformer for 32×32 input; all sizes from kwargs (default 4-384, 12 heads).
    CIFAR stem, CML order: max-pools after ``proj2_bn`` and ``proj3_bn``, before the next LIF
    (Spikingformer-CML: cifar10/model.py@8e51213 l.148–173); 32 → 8, 64 tokens."""
    return _create("cml_spikingformer_cifar", pretrained, {}, kwargs)


@register_unique
def spikingformer_cifar(pretrained: bool = False, **kwargs: Any) -> Spikingformer:
    """Spikingformer (original downsampling) for 32×32 input; sizes from kwargs (default 4-384,
    12 heads). CIFAR stem, original order: max-pools after ``proj3_lif`` and ``proj4_lif``, on
    spikes, before the conv (Spikingformer: cifar10/model.py@4378623 l.148–173, there named
    ``block3_mp``/``block4_mp``); 32 → 8, 64 tokens. Same parameters and state_dict keys as
    :func:`cml_spikingformer_cifar` (9,320,122 at 4-384, K = 10)."""
    return _create("spikingformer_cifar", pretrained, {}, kwargs, downsample="original")


@register_unique
def cml_spikingformer_imagenet(pretrained: bool = False, **kwargs: Any) -> Spikingformer:
    """CML + Spikingformer for 224×224 ImageNet input (default 8-384, 8 heads, K = 1000; 8-512 and
    8-768 via ``embed_dim``). ImageNet stem, CML order: max-pools after ``proj_bn``, ``proj1_bn``,
    ``proj2_bn``, ``proj3_bn`` (Spikingformer-CML: imagenet/model.py@8e51213 l.152–178);
    224 → 14, 196 tokens. Parameters for K = 1000: 16,816,024 / 29,689,384 / 66,338,632 at
    8-384 / 8-512 / 8-768 (README of Spikingformer-CML@8e51213: 16.81 / 29.68 / 66.34M); with
    ``keep_unused_norms`` 16,828,312 / 29,705,768 / 66,363,208, the counts printed in its
    origin_logs/imagenet/CML-Spikingformer-on-Imagenet-{384,512,768}.text."""
    return _create("cml_spikingformer_imagenet", pretrained, {}, kwargs, stem="imagenet")


@register_unique
def spikingformer_imagenet(pretrained: bool = False, **kwargs: Any) -> Spikingformer:
    """Spikingformer (original downsampling) for 224×224 ImageNet input (default 8-384, 8 heads,
    K = 1000). ImageNet stem, original order: max-pools after ``proj1_lif`` … ``proj4_lif``, on
    spikes, before each conv (Spikingformer: imagenet/model.py@4378623 l.152–178, ``maxpool1``…
    ``maxpool4``); 224 → 14, 196 tokens; the parameters of :func:`cml_spikingformer_imagenet`."""
    return _create("spikingformer_imagenet", pretrained, {}, kwargs, stem="imagenet",
                   downsample="original")


@register_unique
def cml_spikingformer_dvs(pretrained: bool = False, **kwargs: Any) -> Spikingformer:
    """CML + Spikingformer for 2×128×128 event frames ``[T, B, 2, 128, 128]`` (default 2-256, 16
    heads, T 16, K = 10 for CIFAR10-DVS; ``num_classes=11`` for DVS128 Gesture), every LIF τ 1.75.
    DVS stem, CML order: max-pools after ``proj_bn`` … ``proj3_bn`` (Spikingformer-CML:
    cifar10-dvs/model.py@8e51213 l.159–184, dvs128-gesture/model.py@8e51213 l.158–183); 128 → 8,
    64 tokens. 2,566,666 parameters for K = 10, 2,566,923 for K = 11 (README: 2.57M); with
    ``keep_unused_norms`` 2,568,714, printed in origin_logs/cifar10dvs/CML-Spikingformer-cifar10dvs.text."""
    return _create("cml_spikingformer_dvs", pretrained, {}, kwargs, stem="dvs")


@register_unique
def spikingformer_dvs(pretrained: bool = False, **kwargs: Any) -> Spikingformer:
    """Spikingformer (original downsampling) for 2×128×128 event frames (defaults as
    :func:`cml_spikingformer_dvs`, τ 1.75 too, so that only the pool position differs; the
    original's own DVS files use τ 1.5, Spikingformer: cifar10-dvs/model.py@4378623 l.14: pass
    ``lif_tau=1.5``). DVS stem, original order: max-pools after ``proj1_lif`` … ``proj4_lif``
    (Spikingformer: cifar10-dvs/model.py@4378623 l.159–183); 128 → 8, 64 tokens."""
    return _create("spikingformer_dvs", pretrained, {}, kwargs, stem="dvs", downsample="original")


@register_unique
def cml_spikingformer_4_256_cifar(pretrained: bool = False, **kwargs: Any) -> Spikingformer:
    """CML + Spikingformer-4-256 (CIFAR; 16 heads as in BKDSNN:
    Spikingformer-CML/cifar10/config/baseline/vit-ti.yml@dd6bd53): 4,152,106 params for K = 10
    (README of Spikingformer-CML@8e51213: 4.15M)."""
    return _create(
        "cml_spikingformer_4_256_cifar", pretrained, dict(embed_dim=256, depth=4, num_heads=16), kwargs
    )


@register_unique
def cml_spikingformer_2_384_cifar(pretrained: bool = False, **kwargs: Any) -> Spikingformer:
    """CML + Spikingformer-2-384 (CIFAR; 12 heads as in BKDSNN:
    Spikingformer-CML/cifar10/config/mixed/vit-st-mixed.yml@dd6bd53): 5,762,746 params for K = 10
    (README of Spikingformer-CML@8e51213: 5.76M)."""
    return _create(
        "cml_spikingformer_2_384_cifar", pretrained, dict(embed_dim=384, depth=2, num_heads=12), kwargs
    )


@register_unique
def cml_spikingformer_4_384_cifar(pretrained: bool = False, **kwargs: Any) -> Spikingformer:
    """CML + Spikingformer-4-384 (CIFAR; 12 heads, Spikingformer-CML: cifar10/cifar10.yml@8e51213;
    its cifar100/cifar100.yml uses 8): 9,320,122 params for K = 10 (README of Spikingformer-CML@8e51213:
    9.32M; with the unused LayerNorms 9,326,266, the count printed in its
    origin_logs/cifar10/CML-Spikingformer-cifar10.text l.3)."""
    return _create(
        "cml_spikingformer_4_384_cifar", pretrained, dict(embed_dim=384, depth=4, num_heads=12), kwargs
    )
