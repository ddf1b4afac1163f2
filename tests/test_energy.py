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

from replicate.energy_logs import (IMAGENET_SSA, LOG_AC, LOG_BLOCK_RATES, LOG_CONV_AC, LOG_DENSE,  # noqa: E402,F401
                                     LOG_MAC, LOG_MJ, LOG_QKV_RATES, LOG_SSA_HEADS, LOG_STEM_RATES,
                                     log_rates)

needs_imagenet_model = pytest.mark.skipif(
    not timm.is_model("cml_spikingformer_imagenet"),
    reason="cml_spikingformer_imagenet is not registered yet "
           "(src/replicate/models/spikingformer.py)")


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
