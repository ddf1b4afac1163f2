"""replicate.energy: MAC/AC counts and energy per image (spec-bkdsnn-cml §5).

Fixture of the 8-768 tests: the energy log of CML+Spikingformer-8-768 (epoch-306 checkpoint),
Spikingformer-CML: imagenet/energy_consumption_of_CML_Spikingformer-8-768_log.txt@8e51213.
"""
from __future__ import annotations

import json

import pytest
import timm
import torch
import torch.nn as nn

import replicate.models  # noqa: F401  (registers the models)
from replicate import energy

# ------------------------------------------------------------------------------------------------
# Fixture transcribed from the log (file@8e51213 above). Input spike rates of the convs, in %: the
# 4th entry of each array in "Info of Conv/Linear layers" (l.471–524). patch_embed.proj_conv and
# head print 100 % there, i.e. a non-binary input counted as MACs.
LOG_STEM_RATES = {"proj1_conv": 30.6979311, "proj2_conv": 27.2936276, "proj3_conv": 20.1218839,
                  "proj4_conv": 18.0511491}
#: per block: (q_conv = k_conv = v_conv input, attn.proj_conv, mlp.mlp1_conv, mlp.mlp2_conv), %
LOG_BLOCK_RATES = [
    (13.3533379, 24.6886645, 20.1599884, 2.3262328),
    (28.6496022, 28.0517638, 29.7398049, 1.77142146),
    (30.9635712, 29.0120455, 29.7945762, 1.48185823),
    (29.7424507, 25.3351113, 30.0659853, 1.0811033),
    (30.814554, 20.4082568, 31.2376956, 0.728958219),
    (30.4838282, 15.0605091, 29.9169693, 0.530492536),
    (28.5801217, 9.59511737, 26.6817061, 0.260331367),
    (27.9276919, 11.7014378, 28.3720409, 0.731475075),
]
#: l.529 "Firing rate of Q/K/V inputs in each block": output rates of q_lif, k_lif, v_lif (fraction)
LOG_QKV_RATES = [
    (0.13315043649503164, 0.026845977721469745, 0.0589680741088731),
    (0.10154261520930699, 0.03320765120642526, 0.05909506022930145),
    (0.08418023134980883, 0.03426689425749438, 0.06547139636107853),
    (0.0653290120618684, 0.03764567235750811, 0.07199092379638126),
    (0.056951823702880315, 0.036176159381866455, 0.07051320629460471),
    (0.047579609240804406, 0.031267547256180216, 0.048261352202722006),
    (0.06125698353563037, 0.03037317144019263, 0.05197884289281709),
    (0.07514111629554203, 0.03165835722216538, 0.08135679389749255),
]
LOG_MAC = 520_993_768                # l.525 "0.520993768 G MACs"
LOG_CONV_AC = 15.420965553047033e9   # l.525 "G ACs in conv layers"
LOG_AC = 15.45512980251666e9         # l.530, conv + SSA
LOG_MJ = 16.306188155064994          # l.531 "Energy consumption"
LOG_SSA_HEADS = 12                   # l.527 ssa_info "Nheads": 12, for a model built with 8 heads
#: dense op counts per image of the log's tree view (the "Ops" before "oriMACs", l.42–467)
LOG_DENSE = {"patch_embed.proj_conv": 520_224_768, "patch_embed.proj1_conv": 8_323_596_288,
             "patch_embed.proj4_conv": 4_161_798_144, "block.0.attn.q_conv": 462_422_016,
             "block.0.attn.proj_conv": 463_024_128, "block.0.mlp.mlp1_conv": 1_852_096_512,
             "block.0.mlp.mlp2_conv": 1_850_290_176}
#: attribute names of the ImageNet SSA (``SpikingSelfAttention``: num_heads, embed_dim, q/k/v_lif)
IMAGENET_SSA = energy.SSANames()

needs_imagenet_model = pytest.mark.skipif(
    not timm.is_model("cml_spikingformer_imagenet"),
    reason="cml_spikingformer_imagenet is not registered yet "
           "(src/replicate/models/spikingformer.py)")


def log_rates() -> dict[str, float | None]:
    """The fixture as ``from_rates`` input: conv input rates (None = MAC) and q/k/v LIF rates."""
    rates: dict[str, float | None] = {"patch_embed.proj_conv": None, "head": None}
    rates.update({f"patch_embed.{k}": v / 100 for k, v in LOG_STEM_RATES.items()})
    for i, ((qkv, proj, mlp1, mlp2), lif) in enumerate(zip(LOG_BLOCK_RATES, LOG_QKV_RATES)):
        b = f"block.{i}"
        rates.update({f"{b}.attn.{c}_conv": qkv / 100 for c in "qkv"})
        rates.update({f"{b}.attn.proj_conv": proj / 100, f"{b}.mlp.mlp1_conv": mlp1 / 100,
                      f"{b}.mlp.mlp2_conv": mlp2 / 100})
        rates.update({f"{b}.attn.{getattr(IMAGENET_SSA, c)}": r for c, r in zip("qkv", lif)})
    return rates


def cml_8_768(**kwargs) -> nn.Module:
    return timm.create_model("cml_spikingformer_imagenet", embed_dim=768, depth=8, num_heads=8,
                             **kwargs)


# ------------------------------------------------------------------------------------------------
class Spike(nn.Module):
    """Heaviside: 1.0 where x > 0 (a stand-in neuron whose spikes are known by hand)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > 0).to(x.dtype)


def lively(model: nn.Module) -> nn.Module:
    """Eval-mode ``model``, BN weights 1 and biases U(0, 2): every layer fires at random init."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.weight.data.fill_(1.0)
            m.bias.data.uniform_(0.0, 2.0, generator=g)
    return model.eval()


def count(model: nn.Module, *batches: torch.Tensor, **kwargs) -> dict:
    with energy.Counter(model, **kwargs) as c, torch.no_grad():
        for x in batches:
            model(x)
    return c.summary()


def test_hand_made_two_layer_net():
    # fc1 copies the first three inputs: spikes [1, 0, 1] and [0, 0, 1], 3 of 6, rate 0.5
    fc1, fc2 = nn.Linear(4, 3), nn.Linear(3, 2)
    with torch.no_grad():
        fc1.weight.copy_(torch.eye(3, 4))
        fc1.bias.zero_()
    net = nn.Sequential(fc1, Spike(), fc2)
    x = torch.tensor([[1.0, -1.0, 2.0, 5.0], [-1.0, -1.0, 3.0, 5.0]])  # 2 images
    s = count(net, x, check_every=1)
    # fc1: 2 rows × 3 outputs × (4 weights + bias) = 30 MACs; fc2: 0.5 × 2 rows × 2 outputs ×
    # (3 weights + bias) = 8 ACs; per image: 15 MACs, 4 ACs
    assert s["images"] == 2
    assert s["layers"]["0"] == {"mac": 15.0, "ac": 0.0, "input_rate": 1.0, "binary": False,
                                "dense": 15.0}
    assert s["layers"]["2"] == {"mac": 0.0, "ac": 4.0, "input_rate": 0.5, "binary": True,
                                "dense": 8.0}
    assert (s["mac"], s["ac"], s["ssa_ac"]) == (15.0, 4.0, 0.0)
    assert s["energy_mj"] == pytest.approx((4.6 * 15 + 0.9 * 4) * 1e-9, rel=1e-12)  # 72.6 pJ
    assert json.loads(json.dumps(s)) == s  # a record can store it as is


class TimeConv(nn.Module):
    """A grouped, padded, biased 3×3 conv on ``[T, B, C, H, W]`` (T·B flattened)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1, groups=2, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.flatten(0, 1))


def test_hand_made_conv_counts_and_from_rates():
    net = TimeConv()
    spikes = torch.zeros(2, 1, 2, 4, 4)  # T = 2, one image, 8 spikes in 64 inputs: rate 1/8
    spikes.view(-1)[::8] = 1.0
    # dense per image: T·C_out·H·W = 2·4·16 = 128 outputs × (9 weights per group + bias) = 1280
    s = count(net, spikes)
    assert (s["images"], s["mac"], s["ac"]) == (1, 0.0, 160.0)
    assert s["layers"]["conv"]["input_rate"] == 0.125
    analog = count(net, spikes + 0.5)
    assert (analog["mac"], analog["ac"]) == (1280.0, 0.0)
    both = count(net, spikes, spikes * 0.5, check_every=1)  # 2nd batch non-binary: MACs
    assert (both["images"], both["mac"], both["ac"]) == (2, 640.0, 80.0)
    r = energy.from_rates(net, (2, 2, 4, 4), {"conv": 0.125})
    assert (r["images"], r["mac"], r["ac"], r["layers"]["conv"]["dense"]) == (1, 0.0, 160.0, 1280)
    assert energy.from_rates(net, (2, 2, 4, 4), {"conv": None})["mac"] == 1280


class DataDependent(TimeConv):
    """Cannot run on the meta device (``.item()``): ``from_rates`` falls back to a real pass."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.flatten(0, 1)) * (1.0 if x.sum().item() >= 0 else 1.0)


def test_from_rates_without_the_meta_device():
    net = DataDependent().train()
    r = energy.from_rates(net, (2, 2, 4, 4), {"conv": 0.125})
    assert (r["mac"], r["ac"]) == (0.0, 160.0)
    assert net.training  # the real pass ran in eval mode and restored the mode


@pytest.mark.parametrize("values", [[0.0, 0.5], [0.0, 1.0 - 2 ** -24], [1e-30, 1.0], [0.0, 2.0],
                                    [-1.0, 1.0], [float("nan"), 1.0]])
def test_only_exact_zeros_and_ones_are_spikes(values):
    fc = nn.Linear(2, 1, bias=False)
    assert count(fc, torch.tensor([values]))["layers"][""]["binary"] is False
    assert count(fc, torch.tensor([[0.0, 1.0]]))["layers"][""]["binary"] is True


def test_agrees_with_spikingjelly_op_counter():
    """Where the two rules coincide (bias-free 1×1 convs and Linears) our MACs equal spikingjelly's
    MACCounter and our ACs its SynOpCounter; for a padded 3×3 conv the dense MACs agree and r·M
    is at least the exact weight uses (border outputs see fewer inputs)."""
    from spikingjelly.activation_based.op_counter import (DispatchCounterMode, MACCounter,
                                                          SynOpCounter)

    torch.manual_seed(0)
    shared = nn.Sequential(nn.Flatten(0, 1), nn.Conv2d(3, 8, 1, bias=False), Spike(),
                           nn.Conv2d(8, 16, 1, bias=False), Spike(), nn.Flatten(1),
                           nn.Linear(16 * 36, 10, bias=False))
    padded = nn.Sequential(nn.Flatten(0, 1), nn.Conv2d(3, 8, 3, padding=1, bias=False), Spike(),
                           nn.Conv2d(8, 8, 3, padding=1, bias=False))
    x = torch.randn(4, 5, 3, 6, 6)  # T = 4, B = 5
    for net, exact in ((shared, True), (padded, False)):
        ours = count(net, x)
        mac, synop = MACCounter(), SynOpCounter()
        with DispatchCounterMode([mac, synop]), torch.no_grad():
            net(x)
        assert ours["mac"] * 5 == mac.get_total()
        assert synop.get_total() > 0
        if exact:
            assert ours["ac"] * 5 == pytest.approx(synop.get_total(), rel=1e-9)
        else:
            assert ours["ac"] * 5 >= synop.get_total()


def test_ann_counts_only_macs():
    model = timm.create_model("cifar_resnet18_ann", width=4).eval()
    s = count(model, torch.randn(3, 3, 32, 32))
    assert s["ac"] == 0 and s["head_folded"] is None
    assert not any(v["binary"] for v in s["layers"].values())
    assert s["mac"] == sum(v["dense"] for v in s["layers"].values())
    assert s["energy_mj"] == pytest.approx(4.6e-9 * s["mac"])


def test_static_and_temporal_inputs_count_the_same():
    model = lively(timm.create_model("spiking_resnet18_cifar", width=4, T=3))
    x = torch.randn(2, 3, 32, 32)
    static, temporal = count(model, x), count(model, x.unsqueeze(0).repeat(3, 1, 1, 1, 1))
    assert static["images"] == temporal["images"] == 2
    assert static["mac"] == temporal["mac"]
    for key in ("ac", "energy_mj"):
        assert static[key] == pytest.approx(temporal[key], rel=1e-6)
    for name, layer in static["layers"].items():
        rate = temporal["layers"][name]["input_rate"]
        assert layer["input_rate"] == pytest.approx(rate, rel=1e-6)
    assert 0 < static["ac"] and static["head_folded"] == "classifier.0"
    # the head (Linear 32 → 10 on the T-mean of the pooled spikes) is counted once per image
    assert static["layers"]["classifier.0"]["mac"] == 32 * 10 + 10
    unfolded = count(model, x, fold_head=False)
    assert unfolded["layers"]["classifier.0"]["mac"] == 3 * (32 * 10 + 10)


def small_spikingformer() -> nn.Module:
    return lively(timm.create_model("cml_spikingformer_cifar", embed_dim=32, depth=2, num_heads=2,
                                    T=2))


def test_ssa_term_is_the_papers_formula():
    from replicate.train.evaluate import FiringRates

    model = small_spikingformer()
    x = torch.randn(3, 3, 32, 32)
    with FiringRates(model) as fr, torch.no_grad():
        model(x)
    s = count(model, x)
    rates = fr.rates()
    for b in ("block.0.attn", "block.1.attn"):
        rq, rk, rv = (rates[f"{b}.{c}_lif"] for c in "qkv")
        t, h, n, d = 2, 2, 64, 16  # T, heads, tokens (8×8), head dim 32 / 2
        assert s["ssa"][b]["ac"] == pytest.approx(t * h * n * d ** 2 * (min(rk, rv) + rq), rel=1e-6)
        assert 0 < s["ssa"][b]["ac"]
    assert s["ac"] == pytest.approx(s["conv_ac"] + s["ssa_ac"])
    assert count(model, x, ssa_heads=4)["ssa_ac"] == pytest.approx(s["ssa_ac"] / 2)


def test_from_rates_reproduces_the_counter():
    model = small_spikingformer()
    x = torch.randn(4, 3, 32, 32)
    s = count(model, x[:2], x[2:], check_every=1)
    assert count(model, x[:2], x[2:], check_every=5) == s
    rates = {n: (v["input_rate"] if v["binary"] else None) for n, v in s["layers"].items()}
    rates.update({f"{b}.{c}_lif": t[f"r_{c}"] for b, t in s["ssa"].items() for c in "qkv"})
    r = energy.from_rates(model, (3, 32, 32), rates)
    for key in ("mac", "ac", "conv_ac", "ssa_ac", "energy_mj"):
        assert r[key] == pytest.approx(s[key], rel=1e-6), key
    assert r["head_folded"] == s["head_folded"] == "head"
    with pytest.raises(ValueError, match="missing rates for .*head.*unknown names .*nope"):
        energy.from_rates(model, (3, 32, 32), {**{k: v for k, v in rates.items() if k != "head"},
                                                "nope": 0.1})


def test_counter_spans_several_with_blocks():
    model = small_spikingformer()
    x = torch.randn(4, 3, 32, 32)
    c = energy.Counter(model)
    with pytest.raises(ValueError, match="no measured forward pass"):
        c.summary()
    for part in (x[:2], x[2:]):
        with c, torch.no_grad():
            model(part)
    assert c.summary() == count(model, x[:2], x[2:])
    assert not model._forward_hooks and not model._forward_pre_hooks


def test_benchmark_overhead_runs():
    out = energy.benchmark_overhead(batch=2, reps=1, threads=None)
    assert set(out) == {"cml_spikingformer_cifar 2-64 T=4", "spiking_resnet18_cifar w8 T=6"}
    assert all(v["hooks_pct"] > 0 for v in out.values())


# ------------------------------------------------------------------------------------------------
# CML+Spikingformer-8-768 against its energy log (shapes from a meta-device pass: no weights)


@needs_imagenet_model
def test_cml_8_768_dense_counts_and_mac_are_the_logs():
    with torch.device("meta"):
        model = cml_8_768()
    s = energy.from_rates(model, (3, 224, 224), log_rates())
    assert s["mac"] == LOG_MAC  # 224²·3·96·9·T + (768·1000 + 1000), exactly
    assert s["head_folded"] == "head" and s["layers"]["head"]["mac"] == 769_000
    for name, dense in LOG_DENSE.items():
        assert s["layers"][name]["dense"] == dense, name


@needs_imagenet_model
def test_cml_8_768_log_rates_give_the_logs_energy():
    with torch.device("meta"):
        model = cml_8_768()
    s = energy.from_rates(model, (3, 224, 224), log_rates(), ssa=IMAGENET_SSA,
                          ssa_heads=LOG_SSA_HEADS)
    assert s["conv_ac"] == pytest.approx(15.421e9, rel=5e-3)
    assert s["ssa_ac"] == pytest.approx(0.0342e9, rel=5e-3)
    assert s["energy_mj"] == pytest.approx(16.31, rel=5e-3)
    # and to the digits the log prints (its rates are transcribed to 9 significant digits)
    assert s["conv_ac"] == pytest.approx(LOG_CONV_AC, rel=1e-7)
    assert s["ac"] == pytest.approx(LOG_AC, rel=1e-7)
    assert s["energy_mj"] == pytest.approx(LOG_MJ, rel=1e-7)
    # with the model's own 8 heads (d = 96, not 64) the SSA term is 1.5× larger; E moves +0.1 %
    own = energy.from_rates(model, (3, 224, 224), log_rates(), ssa=IMAGENET_SSA)
    assert own["ssa_ac"] == pytest.approx(1.5 * s["ssa_ac"], rel=1e-12)
    assert own["energy_mj"] == pytest.approx(16.31, rel=5e-3)


@needs_imagenet_model
def test_cml_8_768_counter_sees_spikes_everywhere_but_the_first_conv():
    """On real data every conv but the first sees spikes and the head is counted once, so the
    hook's ΣMAC equals the shape-derived one (at 64×64 input to keep the CPU forward short)."""
    model = lively(cml_8_768(img_size=64))
    s = count(model, torch.randn(1, 3, 64, 64))
    assert s["mac"] == 64 * 64 * 3 * 96 * 9 * 4 + 769_000
    analog = [n for n, v in s["layers"].items() if not v["binary"]]
    assert analog == ["patch_embed.proj_conv", "head"]
    assert set(s["ssa"]) == {f"block.{i}.attn" for i in range(8)}
