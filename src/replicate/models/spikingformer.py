"""Spikingformer with the CML stem ("CML + Spikingformer") for 32×32 inputs (CIFAR-10/100).

Follows the CIFAR model of Spikingformer-CML: cifar10/model.py@8e51213 (``SpikingTokenizer``,
``SpikingSelfAttention``, ``MLP``, ``SpikingTransformer``, ``vit_snn``), the code of Zhou et al.,
"Enhancing the Performance of Transformer-based Spiking Neural Networks by SNN-optimized
Downsampling with Precise Gradient Backpropagation" (arXiv 2305.05954). Layout conventions:

* activations are ``[T, B, C, H, W]`` (time first); convolutions and batch norms act on the
  flattened ``[T·B, ...]`` tensor, so BN statistics are shared over time steps (every ``forward``
  of cifar10/model.py@8e51213 calls its convs on ``x.flatten(0, 1)``);
* every LIF is :class:`replicate.neurons.LIF` (multi-step, state reset per call);
* the residual stream is real-valued: every branch is "LIF → conv → BN" and ends in BN
  (``SpikingTransformer.forward``, cifar10/model.py@8e51213 l.112–115).

Parameter/attribute names follow the released CIFAR model (``patch_embed.proj1_conv``,
``block.0.attn.q_conv``, ``block.0.mlp.mlp1_conv``, ``head``, ...) and the 1×1 convs have the same
shapes (Conv1d in attention, Conv2d in the MLP), so a released state_dict maps onto ours by name;
with ``keep_unused_norms=True`` the dead ``norm1``/``norm2`` LayerNorms are created too, which
makes strict loading possible and the parameter count equal to what the original code prints.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
from timm.layers import trunc_normal_
from timm.models import generate_default_cfgs

from ..neurons import LIFSettings, lif_from_flat_kwargs
from . import register_unique
from .helpers import TIMM_EXTRA_KWARGS, build_no_weights, cifar10_cfg, linear_head, seq_to_ann
from .output import ModelOutput

__all__ = ["CMLSpikingformer", "CMLTokenizer", "SpikingSelfAttention", "SpikingMLP", "SpikingBlock"]

#: Fixed attention scale of Spikingformer, whatever the head size
#: (Spikingformer-CML: cifar10/model.py@8e51213 l.91, ``x = (attn @ v) * 0.125``).
ATTN_SCALE = 0.125


class CMLTokenizer(nn.Module):
    """SPS stem with CML downsampling (``SpikingTokenizer``, Spikingformer-CML:
    cifar10/model.py@8e51213 l.118–173): each max-pool acts on the BN output, before the next LIF,
    which is CML's change to Spikingformer (arXiv 2305.05954).

    ``[T, B, C_in, H, W]`` (analog image) → real-valued ``[T, B, D, H/4, W/4]``.

    stage 0: conv C_in→D/8, BN                      (no LIF: the input is the analog image)
    stage 1: LIF → conv D/8→D/4, BN
    stage 2: LIF → conv D/4→D/2, BN → MaxPool(3,2,1) (pool on the BN output, before the next LIF)
    stage 3: LIF → conv D/2→D,   BN → MaxPool(3,2,1)
    stage 4: LIF → conv D→D,     BN                 ("RPE" conv; no residual, no positional emb.)

    All convs 3×3, stride 1, pad 1, no bias. Modules are registered in forward order.
    """

    def __init__(self, in_chans: int, embed_dim: int, lif: LIFSettings):
        super().__init__()
        d = embed_dim
        widths = [in_chans, d // 8, d // 4, d // 2, d, d]

        def conv(i: int) -> nn.Conv2d:
            return nn.Conv2d(widths[i], widths[i + 1], 3, stride=1, padding=1, bias=False)

        def pool() -> nn.MaxPool2d:
            return nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        self.proj_conv = conv(0)
        self.proj_bn = nn.BatchNorm2d(widths[1])
        self.proj1_lif = lif.build()
        self.proj1_conv = conv(1)
        self.proj1_bn = nn.BatchNorm2d(widths[2])
        self.proj2_lif = lif.build()
        self.proj2_conv = conv(2)
        self.proj2_bn = nn.BatchNorm2d(widths[3])
        self.proj2_mp = pool()
        self.proj3_lif = lif.build()
        self.proj3_conv = conv(3)
        self.proj3_bn = nn.BatchNorm2d(widths[4])
        self.proj3_mp = pool()
        self.proj4_lif = lif.build()
        self.proj4_conv = conv(4)
        self.proj4_bn = nn.BatchNorm2d(widths[5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = seq_to_ann(lambda z: self.proj_bn(self.proj_conv(z)), x)
        x = seq_to_ann(lambda z: self.proj1_bn(self.proj1_conv(z)), self.proj1_lif(x))
        x = seq_to_ann(lambda z: self.proj2_mp(self.proj2_bn(self.proj2_conv(z))), self.proj2_lif(x))
        x = seq_to_ann(lambda z: self.proj3_mp(self.proj3_bn(self.proj3_conv(z))), self.proj3_lif(x))
        x = seq_to_ann(lambda z: self.proj4_bn(self.proj4_conv(z)), self.proj4_lif(x))
        return x


class SpikingSelfAttention(nn.Module):
    """Spikingformer SSA branch (``SpikingSelfAttention``, Spikingformer-CML: cifar10/model.py@8e51213
    l.41–97): ``[T, B, D, H, W]`` real → ``[T, B, D, H, W]`` real.

    s = LIF(x); Q, K, V = LIF(BN1d(Conv1d_1×1(s))) (no conv bias); per head (channel c → head
    c // d) A = (Q Kᵀ) V · 0.125 (no softmax); a = LIF_{V_th=attn_v_threshold}(A);
    out = BN1d(Conv1d_1×1(a) + bias). No LIF at the end.
    """

    def __init__(self, dim: int, num_heads: int, lif: LIFSettings, attn_v_threshold: float = 0.5):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} must be divisible by num_heads {num_heads}")
        self.dim = dim
        self.num_heads = num_heads
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


class CMLSpikingformer(nn.Module):
    """CML + Spikingformer for CIFAR (``vit_snn``, Spikingformer-CML: cifar10/model.py@8e51213
    l.177–231).

    Input ``[B, C_in, H, W]`` (repeated T times) or ``[T, B, C_in, H, W]``; output per-timestep
    logits ``[T, B, K]``.

    Args:
        num_classes: K (0 → no head; "logits" are then the pooled features).
        in_chans: input channels C_in.
        img_size: nominal input side (32); must be divisible by 4 (two stride-2 pools).
        embed_dim: D; must be divisible by 8 and by ``num_heads``.
        depth: number of blocks L.
        num_heads: attention heads h.
        mlp_ratio: MLP hidden width / D (4).
        T: time steps used when the input is a static image (direct encoding, repeated T times).
        lif: neuron settings for every LIF (default: τ 2, decay_input, V_th 1, hard reset 0,
            detach_reset, sigmoid α 4 — ``MultiStepLIFNode(tau=2.0, detach_reset=True)`` with
            spikingjelly's other defaults, Spikingformer-CML: cifar10/model.py@8e51213 l.17).
        attn_v_threshold: threshold of ``attn_lif`` after (QKᵀ)V (0.5).
        keep_unused_norms: also create the never-used ``norm1``/``norm2`` LayerNorms per block
            (only for strict loading of released state_dicts; +4·D params per block).
        lif_tau, lif_decay_input, lif_v_threshold, lif_v_reset, lif_detach_reset, surrogate,
            surrogate_alpha: flat overrides of the fields of ``lif`` (``lif_v_reset="soft"`` for
            soft reset, since ``timm.create_model`` drops ``None`` values).
        pretrained_cfg, pretrained_cfg_overlay, cache_dir: added by ``timm.create_model``; ignored.

    Raises:
        ValueError: bad ``embed_dim``/``num_heads``/``img_size``/``T``; TypeError: unknown kwargs.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_chans: int = 3,
        img_size: int = 32,
        embed_dim: int = 384,
        depth: int = 4,
        num_heads: int = 12,
        mlp_ratio: float = 4,
        T: int = 4,
        lif: LIFSettings = LIFSettings(),
        attn_v_threshold: float = 0.5,
        keep_unused_norms: bool = False,
        **kwargs: Any,
    ):
        super().__init__()
        lif = lif_from_flat_kwargs(lif, kwargs, "CMLSpikingformer", ignore=TIMM_EXTRA_KWARGS)
        if embed_dim % 8:
            raise ValueError(f"embed_dim {embed_dim} must be divisible by 8 (stem widths D/8, D/4, D/2)")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        if img_size % 4:
            raise ValueError(f"img_size {img_size} must be divisible by 4 (two stride-2 max-pools)")
        if T < 1:
            raise ValueError(f"T must be >= 1, got {T}")

        self.num_classes = num_classes
        self.in_chans = in_chans
        self.img_size = img_size
        self.embed_dim = self.num_features = embed_dim
        self.depth = depth
        self.num_heads = num_heads
        self.T = T
        self.lif_settings = lif
        self.attn_v_threshold = attn_v_threshold
        self.num_patches = (img_size // 4) ** 2

        self.patch_embed = CMLTokenizer(in_chans, embed_dim, lif)
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

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Direct encoding: ``[B, C, H, W]`` → ``[T, B, C, H, W]`` (repeated); 5-D input unchanged."""
        if x.dim() == 4:
            return x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        if x.dim() == 5:
            return x
        raise ValueError(f"expected [B, C, H, W] or [T, B, C, H, W] input, got {tuple(x.shape)}")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Residual stream after the last block, ``[T, B, D, H/4, W/4]`` (real-valued)."""
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
        ``ModelOutput(logits [T, B, K], feature [B, D, H/4, W/4])``, the last block's output
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


# ----------------------------------------------------------------------------------------------
# timm registration. No published weights exist for these CIFAR models; the default cfgs (filed by
# ``register_model`` under each name) carry the CIFAR-10 input size and normalisation.


def _cfg(**kwargs: Any) -> dict[str, Any]:
    return cifar10_cfg(
        first_conv="patch_embed.proj_conv", classifier="head",
        origin_url="https://github.com/zhouchenlin2096/Spikingformer-CML", paper_ids="arXiv:2305.05954",
        **kwargs,
    )


default_cfgs = generate_default_cfgs({
    "cml_spikingformer_cifar": _cfg(),
    "cml_spikingformer_4_256_cifar": _cfg(),
    "cml_spikingformer_2_384_cifar": _cfg(),
    "cml_spikingformer_4_384_cifar": _cfg(),
})


def _create(variant: str, pretrained: bool, defaults: dict[str, Any], kwargs: dict[str, Any]):
    return build_no_weights(CMLSpikingformer, variant, pretrained, **{**defaults, **kwargs})


@register_unique
def cml_spikingformer_cifar(pretrained: bool = False, **kwargs: Any) -> CMLSpikingformer:
    """CML + Spikingformer for 32×32 input; all sizes from kwargs (default 4-384, 12 heads)."""
    return _create("cml_spikingformer_cifar", pretrained, {}, kwargs)


@register_unique
def cml_spikingformer_4_256_cifar(pretrained: bool = False, **kwargs: Any) -> CMLSpikingformer:
    """CML + Spikingformer-4-256 (CIFAR; 16 heads as in BKDSNN:
    Spikingformer-CML/cifar10/config/baseline/vit-ti.yml@dd6bd53): 4,152,106 params for K = 10
    (README of Spikingformer-CML@8e51213: 4.15M)."""
    return _create(
        "cml_spikingformer_4_256_cifar", pretrained, dict(embed_dim=256, depth=4, num_heads=16), kwargs
    )


@register_unique
def cml_spikingformer_2_384_cifar(pretrained: bool = False, **kwargs: Any) -> CMLSpikingformer:
    """CML + Spikingformer-2-384 (CIFAR; 12 heads as in BKDSNN:
    Spikingformer-CML/cifar10/config/mixed/vit-st-mixed.yml@dd6bd53): 5,762,746 params for K = 10
    (README of Spikingformer-CML@8e51213: 5.76M)."""
    return _create(
        "cml_spikingformer_2_384_cifar", pretrained, dict(embed_dim=384, depth=2, num_heads=12), kwargs
    )


@register_unique
def cml_spikingformer_4_384_cifar(pretrained: bool = False, **kwargs: Any) -> CMLSpikingformer:
    """CML + Spikingformer-4-384 (CIFAR; 12 heads, Spikingformer-CML: cifar10/cifar10.yml@8e51213;
    its cifar100/cifar100.yml uses 8): 9,320,122 params for K = 10 (README of Spikingformer-CML@8e51213:
    9.32M; with the unused LayerNorms 9,326,266, the count printed in its
    origin_logs/cifar10/CML-Spikingformer-cifar10.text l.3)."""
    return _create(
        "cml_spikingformer_4_384_cifar", pretrained, dict(embed_dim=384, depth=4, num_heads=12), kwargs
    )
