"""Spikingformer per dataset (CIFAR, ImageNet, DVS stems) and per downsampling order (CML vs the
original Spikingformer): sizes, parameter counts, stem order, token counts, input checks, cfgs and
the hooks an energy counter needs.

Sources: Spikingformer-CML@8e51213 (cifar10/, imagenet/, cifar10-dvs/, dvs128-gesture/ model.py and
origin_logs/) and Spikingformer@4378623 (the same model files, original order)."""
from __future__ import annotations

import pytest
import timm
import torch
import torch.nn as nn
from timm.data import resolve_data_config
from timm.models import get_pretrained_cfg

import replicate.models  # noqa: F401  (registers the models)
from replicate.models import count_parameters
from replicate.models.spikingformer import CMLSpikingformer, Spikingformer
from replicate.models.spikingformer_stems import STEMS
from replicate.neurons import LIF

NEW_NAMES = ["spikingformer_cifar", "cml_spikingformer_imagenet", "spikingformer_imagenet",
             "cml_spikingformer_dvs", "spikingformer_dvs"]
#: (CML name, original name, input [C, H, W]) per stem
PAIRS = {
    "cifar": ("cml_spikingformer_cifar", "spikingformer_cifar", (3, 32, 32)),
    "imagenet": ("cml_spikingformer_imagenet", "spikingformer_imagenet", (3, 224, 224)),
    "dvs": ("cml_spikingformer_dvs", "spikingformer_dvs", (2, 128, 128)),
}
TINY = dict(embed_dim=16, depth=1, num_heads=2, T=2)


def on_meta(name: str, **kw) -> nn.Module:
    """The model without allocating its weights (parameter counts and structure only)."""
    with torch.device("meta"):
        return timm.create_model(name, **kw)


def calibrated(name: str, seed: int = 0, **kw) -> nn.Module:
    """A tiny model in eval mode, BN running statistics set to those of one random train-mode batch
    (BN momentum 1), so that the LIFs fire: fresh running stats leave the conv outputs too small."""
    torch.manual_seed(seed)
    m = timm.create_model(name, **{**TINY, **kw}).train()
    bns = [mod for mod in m.modules() if isinstance(mod, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for bn in bns:
            bn.momentum = 1.0  # running stats := this batch's
        m(torch.randn(3, *m.pretrained_cfg["input_size"]))
    return m.eval()


def sample(model: nn.Module, batch: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, *model.pretrained_cfg["input_size"], generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- parameter counts
@pytest.mark.parametrize("stem_name,kw,used,with_norms,readme", [
    ("imagenet", dict(embed_dim=384), 16_816_024, 16_828_312, 16.81),
    ("imagenet", dict(embed_dim=512), 29_689_384, 29_705_768, 29.68),
    ("imagenet", dict(embed_dim=768), 66_338_632, 66_363_208, 66.34),
    ("dvs", dict(num_classes=10), 2_566_666, 2_568_714, 2.57),
    ("dvs", dict(num_classes=11), 2_566_923, 2_568_971, 2.57),
])
@pytest.mark.parametrize("order", [0, 1], ids=["cml", "original"])
def test_exact_parameter_counts(stem_name, kw, used, with_norms, readme, order):
    """P_used (default) and P_all (the printed counts of Spikingformer-CML@8e51213
    origin_logs/imagenet/CML-Spikingformer-on-Imagenet-{384,512,768}.text and
    origin_logs/cifar10dvs/CML-Spikingformer-cifar10dvs.text, with the unused LayerNorms); the
    README's 16.81 / 29.68 / 66.34 / 2.57M are P_used rounded (truncated for the first two)."""
    name = PAIRS[stem_name][order]
    assert count_parameters(on_meta(name, **kw)) == used
    assert count_parameters(on_meta(name, keep_unused_norms=True, **kw)) == with_norms
    assert abs(used / 1e6 - readme) <= 0.01


@pytest.mark.parametrize("stem_name", sorted(STEMS))
def test_parameter_formula_per_stem(stem_name):
    """SPS 9·C_in·D/8 + 477·D²/32 + 23·D/4, blocks L·(12D² + 24D), head D·K + K, LayerNorms 4·L·D."""
    c_in = STEMS[stem_name].in_chans
    for d, depth, k in [(64, 2, 10), (128, 3, 7)]:
        m = Spikingformer(num_classes=k, embed_dim=d, depth=depth, num_heads=4, stem=stem_name)
        used = 9 * c_in * d // 8 + 477 * d * d // 32 + 23 * d // 4 + depth * (12 * d * d + 24 * d) + d * k + k
        assert count_parameters(m) == used
        m = Spikingformer(num_classes=k, embed_dim=d, depth=depth, num_heads=4, stem=stem_name,
                          keep_unused_norms=True)
        assert count_parameters(m) == used + 4 * depth * d


# --------------------------------------------------------------------------- the two orders
def _expand(stages: str) -> list[str]:
    """``"CBM|LCBM|..."`` → module names in call order (C conv, B bn, L lif, M max-pool)."""
    part = {"C": "conv", "B": "bn", "L": "lif", "M": "mp"}
    names = []
    for i, stage in enumerate(stages.split("|")):
        prefix = "proj" if i == 0 else f"proj{i}"
        names += [f"{prefix}_{part[c]}" for c in stage]
    return names


#: stem call order per (stem, order), read off the released forward() of each file
EXPECTED_ORDER = {
    # Spikingformer-CML: cifar10/model.py@8e51213 l.148–173 / Spikingformer: cifar10/model.py@4378623 l.148–173
    ("cifar", 0): _expand("CB|LCB|LCBM|LCBM|LCB"),
    ("cifar", 1): _expand("CB|LCB|LCB|LMCB|LMCB"),
    # imagenet/model.py l.152–178 (both); cifar10-dvs/model.py l.159–184 / l.159–183
    ("imagenet", 0): _expand("CBM|LCBM|LCBM|LCBM|LCB"),
    ("imagenet", 1): _expand("CB|LMCB|LMCB|LMCB|LMCB"),
    ("dvs", 0): _expand("CBM|LCBM|LCBM|LCBM|LCB"),
    ("dvs", 1): _expand("CB|LMCB|LMCB|LMCB|LMCB"),
}


def _stem_trace(model: nn.Module, x: torch.Tensor) -> list[tuple[str, nn.Module, torch.Tensor]]:
    """(name, module, input) of every stem module, in execution order."""
    trace = []
    hooks = [mod.register_forward_hook(lambda m, inp, out, n=n: trace.append((n, m, inp[0])))
             for n, mod in model.patch_embed.named_children()]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return trace


def _is_binary(t: torch.Tensor) -> bool:
    return bool(torch.all((t == 0) | (t == 1)))


@pytest.mark.parametrize("stem_name", sorted(PAIRS))
@pytest.mark.parametrize("order", [0, 1], ids=["cml", "original"])
def test_stem_order_matches_released_files(stem_name, order):
    m = calibrated(PAIRS[stem_name][order])
    trace = _stem_trace(m, sample(m, 1))
    names = [n for n, _, _ in trace]
    assert names == EXPECTED_ORDER[stem_name, order]
    assert names == [n for n, _ in m.patch_embed.named_children()]  # registered in forward order
    for i, (n, mod, inp) in enumerate(trace):
        if isinstance(mod, nn.MaxPool2d) and order == 0:  # CML: pools BN currents, feeds a LIF
            assert isinstance(trace[i - 1][1], nn.BatchNorm2d) and not _is_binary(inp), n
            assert i + 1 == len(trace) or isinstance(trace[i + 1][1], LIF), n
        if isinstance(mod, nn.MaxPool2d) and order == 1:  # original: pools spikes, feeds a conv
            assert isinstance(trace[i - 1][1], LIF) and _is_binary(inp), n
            assert isinstance(trace[i + 1][1], nn.Conv2d), n


@pytest.mark.parametrize("stem_name,conv_sides,cml_lif_sides,orig_lif_sides", [
    ("cifar", [32, 32, 32, 16, 8], [32, 32, 16, 8], [32, 32, 32, 16]),
    ("imagenet", [224, 112, 56, 28, 14], [112, 56, 28, 14], [224, 112, 56, 28]),
    ("dvs", [128, 64, 32, 16, 8], [64, 32, 16, 8], [128, 64, 32, 16]),
])
def test_convs_run_at_the_same_resolution_lifs_do_not(stem_name, conv_sides, cml_lif_sides, orig_lif_sides):
    """Every conv sees the same resolution in both orders (same parameters and dense MACs); the
    LIF after a pooled gap runs at the lower resolution in CML."""
    for order, lif_sides in ((0, cml_lif_sides), (1, orig_lif_sides)):
        m = calibrated(PAIRS[stem_name][order])
        trace = _stem_trace(m, sample(m, 1))
        assert [inp.shape[-1] for _, mod, inp in trace if isinstance(mod, nn.Conv2d)] == conv_sides
        assert [inp.shape[-1] for _, mod, inp in trace if isinstance(mod, LIF)] == lif_sides


@pytest.mark.parametrize("stem_name", sorted(PAIRS))
def test_orders_share_weights_but_not_outputs(stem_name):
    """Same parameter count and state_dict keys/shapes: the CML weights load strictly into the
    original-order model, which then gives other outputs (only the pool position differs)."""
    cml_name, orig_name, _ = PAIRS[stem_name]
    cml = calibrated(cml_name)
    torch.manual_seed(5)
    orig = timm.create_model(orig_name, **TINY).eval()
    sd_cml, sd_orig = cml.state_dict(), orig.state_dict()
    assert list(sd_cml) == list(sd_orig)
    assert all(sd_cml[k].shape == sd_orig[k].shape for k in sd_cml)
    assert count_parameters(cml) == count_parameters(orig)
    orig.load_state_dict(sd_cml, strict=True)
    x = sample(cml)
    with torch.no_grad():
        a, b = cml(x), orig(x)
    assert a.shape == b.shape and not torch.allclose(a, b)


# --------------------------------------------------------------------------- tokens and neurons
@pytest.mark.parametrize("name,tokens,side,tau", [
    ("cml_spikingformer_imagenet", 196, 14, 2.0), ("spikingformer_imagenet", 196, 14, 2.0),
    ("cml_spikingformer_dvs", 64, 8, 1.75), ("spikingformer_dvs", 64, 8, 1.75),
    ("cml_spikingformer_cifar", 64, 8, 2.0), ("spikingformer_cifar", 64, 8, 2.0),
])
def test_tokens_and_tau(name, tokens, side, tau):
    """ImageNet 224 → 14×14 = 196 tokens; DVS 128 → 8×8 = 64 tokens with τ 1.75 in every LIF
    (Spikingformer-CML: cifar10-dvs/model.py@8e51213 l.14); CIFAR 32 → 8×8."""
    m = calibrated(name, T=1)
    assert m.num_patches == tokens
    x = sample(m, 1)
    with torch.no_grad():
        feat = m.forward_features(x)
    assert feat.shape == (1, 1, 16, side, side)
    lifs = [mod for mod in m.modules() if isinstance(mod, LIF)]
    assert len(lifs) == 4 + 7 and all(lif.tau == tau for lif in lifs)
    assert m.block[0].attn.attn_lif.v_threshold == 0.5
    assert timm.create_model(name, **TINY, lif_tau=1.5).patch_embed.proj1_lif.tau == 1.5


@pytest.mark.parametrize("name", NEW_NAMES)
def test_tiny_forward_and_backward(name):
    m = calibrated(name, num_classes=5)
    x = sample(m)
    logits = m(x)
    assert logits.shape == (2, 2, 5)  # [T, B, K]
    out = m(x, return_feature=True)
    assert out.feature.shape[:2] == (2, 16) and torch.equal(out.logits, logits)
    xt = x.unsqueeze(0).repeat(2, 1, 1, 1, 1)  # [T, B, C, H, W] event frames are used as given
    assert torch.allclose(m(xt), logits, atol=1e-6)
    m.train()
    m(x).mean(0).logsumexp(-1).sum().backward()
    assert m.patch_embed.proj_conv.weight.grad.abs().sum() > 0


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("name", ["cml_spikingformer_cifar", "cml_spikingformer_2_384_cifar"] + NEW_NAMES)
def test_wrong_input_size_is_refused_in_one_line(name):
    m = timm.create_model(name, **TINY)
    c, s, _ = m.pretrained_cfg["input_size"]
    others = [(c, 32 if s != 32 else 224, 32 if s != 32 else 224), (c, s, s // 2), (5 - c, s, s)]
    for shape in others:
        for x in (torch.zeros(1, *shape), torch.zeros(2, 1, *shape)):
            with pytest.raises(ValueError) as err:
                m(x)
            msg = str(err.value)
            assert "\n" not in msg and f"{c}×{s}×{s}" in msg and str(tuple(x.shape)) in msg, msg


def test_cifar_stem_refuses_imagenet_and_dvs_sizes():
    """The CIFAR stem (2 max-pools) at 224 or 128 would silently be a different network with the
    right parameter count; it is refused, naming the four-pool stems."""
    for size in (128, 224):
        with pytest.raises(ValueError, match="cml_spikingformer_imagenet") as err:
            timm.create_model("cml_spikingformer_cifar", img_size=size)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="multiple of 16"):
        timm.create_model("cml_spikingformer_imagenet", img_size=200)
    with pytest.raises(ValueError, match="multiple of 4"):
        timm.create_model("cml_spikingformer_cifar", img_size=30)
    m = timm.create_model("cml_spikingformer_imagenet", **TINY, img_size=288)  # the 288 fine-tune
    assert m.num_patches == 18 * 18 and resolve_data_config(model=m)["input_size"] == (3, 288, 288)


def test_names_fix_stem_and_order():
    for name in ["cml_spikingformer_cifar"] + NEW_NAMES:
        for key, value in (("stem", "imagenet"), ("downsample", "original")):
            with pytest.raises(TypeError, match="fixes stem"):
                timm.create_model(name, **{key: value})
    with pytest.raises(ValueError, match="stem"):
        Spikingformer(stem="mnist")
    with pytest.raises(ValueError, match="downsample"):
        Spikingformer(downsample="avgpool")
    assert CMLSpikingformer is Spikingformer
    m = CMLSpikingformer(embed_dim=16, depth=1, num_heads=2)
    assert (m.stem, m.downsample, m.img_size, m.in_chans, m.num_patches) == ("cifar", "cml", 32, 3, 64)


# --------------------------------------------------------------------------- cfgs
@pytest.mark.parametrize("name,input_size,mean,std,k,params", [
    ("spikingformer_cifar", (3, 32, 32), (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), 10, 9_320_122),
    ("cml_spikingformer_imagenet", (3, 224, 224), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 1000, 16_816_024),
    ("spikingformer_imagenet", (3, 224, 224), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 1000, 16_816_024),
    ("cml_spikingformer_dvs", (2, 128, 128), (0.0, 0.0), (1.0, 1.0), 10, 2_566_666),
    ("spikingformer_dvs", (2, 128, 128), (0.0, 0.0), (1.0, 1.0), 10, 2_566_666),
])
def test_default_cfgs(name, input_size, mean, std, k, params):
    cfg = get_pretrained_cfg(name)
    assert not cfg.has_weights and cfg.architecture == name and cfg.num_classes == k
    assert tuple(cfg.input_size) == input_size
    m = on_meta(name)
    data = resolve_data_config(model=m)
    assert data["input_size"] == input_size and data["mean"] == mean and data["std"] == std
    assert m.pretrained_cfg["architecture"] == name and count_parameters(m) == params
    assert (m.in_chans, m.img_size) == input_size[:2]
    if "imagenet" in name:  # the released eval transform (imagenet/imagenet.yml, both repositories)
        assert (data["crop_pct"], data["interpolation"]) == (1.0, "bicubic")
    with pytest.raises(ValueError, match="no pretrained weights"):
        timm.create_model(name, pretrained=True)


# --------------------------------------------------------------------------- energy-counter hooks
@pytest.mark.parametrize("name", ["cml_spikingformer_imagenet", "spikingformer_imagenet", "cml_spikingformer_dvs"])
def test_what_an_energy_counter_can_read(name):
    """Weight layers are Conv1d/Conv2d/Linear; every conv but the first sees binary spikes (in both
    orders); each attention module exposes h, D, d and its q/k/v LIFs, whose outputs are
    ``[T, B, D, N]`` spike tensors."""
    m = calibrated(name, num_heads=4)
    weight_types = {type(mod) for mod in m.modules() if isinstance(getattr(mod, "weight", None), torch.Tensor)}
    assert weight_types <= {nn.Conv1d, nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d}
    inputs, outputs = {}, {}

    def record(name):
        def hook(mod, inp, out):  # returns None: the output is left as it is
            inputs[name], outputs[name] = inp[0], out
        return hook

    hooks = [mod.register_forward_hook(record(n))
             for n, mod in m.named_modules() if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Linear, LIF))]
    with torch.no_grad():
        m(sample(m))
    for h in hooks:
        h.remove()
    convs = [n for n, mod in m.named_modules() if isinstance(mod, (nn.Conv1d, nn.Conv2d))]
    assert not _is_binary(inputs["patch_embed.proj_conv"]) and not _is_binary(inputs["head"])
    assert all(_is_binary(inputs[n]) for n in convs if n != "patch_embed.proj_conv")
    attn = m.block[0].attn
    assert (attn.num_heads, attn.embed_dim, attn.head_dim) == (4, 16, 4)
    for part in ("q", "k", "v"):
        lif = getattr(attn, f"{part}_lif")
        assert isinstance(lif, LIF) and m.get_submodule(f"block.0.attn.{part}_lif") is lif
        out = outputs[f"block.0.attn.{part}_lif"]
        assert out.shape == (2, 2, 16, m.num_patches) and _is_binary(out)
