"""Spiking ResNet-18/19/34 (CIFAR) and preact-ResNet-34 (ImageNet), spec-logitkd-selfdistill §1.1–1.3:
parameter counts, shapes, head/feature contract, state reset, prefix property, neuron settings."""
from __future__ import annotations


import pytest
import timm
import torch
import torch.nn as nn

import replicate.models  # noqa: F401  (registers the models)
from replicate.models import ModelOutput, count_parameters
from replicate.models.spiking_resnet import (
    CIFAR_LIF,
    IMAGENET_LIF,
    SpikingPreActResNet,
    SpikingResNet,
)
from replicate.neurons import LIF

NAMES = [
    "spiking_resnet18_cifar",
    "spiking_resnet19_cifar",
    "spiking_resnet34_cifar",
    "spiking_preact_resnet34_imagenet",
]


# --------------------------------------------------------------------------- parameter counts
def _block(cin: int, cout: int, stride: int, bias: bool) -> int:
    """BasicBlock: two 3×3 convs (+ bias), two BNs (γ, β), projection conv1×1 (+ bias) + BN if needed."""
    n = 9 * cin * cout + 9 * cout * cout + 2 * 2 * cout + (2 * cout if bias else 0)
    if stride != 1 or cin != cout:
        n += cin * cout + 2 * cout + (cout if bias else 0)
    return n


def _stages(c0: int, layers, widths, strides, bias: bool) -> int:
    n, cin = 0, c0
    for blocks, w, s in zip(layers, widths, strides):
        for j in range(blocks):
            n += _block(cin, w, s if j == 0 else 1, bias)
            cin = w
    return n


def expected_cifar(layers, w: int, k: int, in_chans: int = 3) -> int:
    """ResNet-18/34 (§1.3): conv3×3 stem (no bias) + BN, stages w·(1,2,4,8) /1,2,2,2, Linear(8w, K)."""
    stem = 9 * in_chans * w + 2 * w
    return stem + _stages(w, layers, (w, 2 * w, 4 * w, 8 * w), (1, 2, 2, 2), False) + 8 * w * k + k


def expected_resnet19(w: int, k: int) -> int:
    """ResNet-19 (§1.3): stem 2w, [3,3,2] at 2w/4w/8w, strides 1,2,2, Linear(8w,4w) → LIF → Linear(4w,K)."""
    stem = 9 * 3 * 2 * w + 2 * 2 * w
    body = _stages(2 * w, (3, 3, 2), (2 * w, 4 * w, 8 * w), (1, 2, 2), False)
    return stem + body + (8 * w * 4 * w + 4 * w) + (4 * w * k + k)


def expected_preact(layers, w: int, k: int) -> int:
    """preact-ResNet (§1.3): conv7×7/2 with bias + BN, stages with conv biases, Linear(8w, K)."""
    stem = 49 * 3 * w + w + 2 * w
    return stem + _stages(w, layers, (w, 2 * w, 4 * w, 8 * w), (1, 2, 2, 2), True) + 8 * w * k + k


@pytest.mark.parametrize(
    "name,k,formula,literal",
    [
        ("spiking_resnet18_cifar", 10, lambda: expected_cifar((2, 2, 2, 2), 64, 10), 11_173_962),
        ("spiking_resnet18_cifar", 100, lambda: expected_cifar((2, 2, 2, 2), 64, 100), 11_220_132),
        ("spiking_resnet19_cifar", 10, lambda: expected_resnet19(64, 10), 12_697_994),
        ("spiking_resnet34_cifar", 10, lambda: expected_cifar((3, 4, 6, 3), 64, 10), 21_282_122),
        ("spiking_preact_resnet34_imagenet", 1000, lambda: expected_preact((3, 4, 6, 3), 64, 1000), 21_806_184),
    ],
)
def test_parameter_counts(name, k, formula, literal):
    assert formula() == literal
    assert count_parameters(timm.create_model(name, num_classes=k)) == literal


def test_parameter_formula_at_small_width_and_dvs_input():
    assert count_parameters(timm.create_model("spiking_resnet18_cifar", width=8, num_classes=7)) == \
        expected_cifar((2, 2, 2, 2), 8, 7)
    assert count_parameters(timm.create_model("spiking_resnet34_cifar", width=4, in_chans=2)) == \
        expected_cifar((3, 4, 6, 3), 4, 10, in_chans=2)
    assert count_parameters(timm.create_model("spiking_resnet19_cifar", width=4, num_classes=10)) == \
        expected_resnet19(4, 10)
    assert count_parameters(timm.create_model("spiking_preact_resnet34_imagenet", width=8, num_classes=5)) == \
        expected_preact((3, 4, 6, 3), 8, 5)


# --------------------------------------------------------------------------- helpers
SMALL = {  # name → (kwargs, input side, feature shape [C, H, W])
    "spiking_resnet18_cifar": (dict(width=8), 32, (64, 4, 4)),
    "spiking_resnet19_cifar": (dict(width=8), 32, (64, 8, 8)),
    "spiking_resnet34_cifar": (dict(width=4), 32, (32, 4, 4)),
    "spiking_preact_resnet34_imagenet": (dict(width=8), 64, (64, 2, 2)),
}


def calibrated(name: str, seed: int = 0, **kw) -> nn.Module:
    """Small model in eval mode with BN running statistics from one train-mode batch.

    Fresh running stats (mean 0, var 1) leave un-normalised conv outputs too small to fire the
    LIFs; one train-mode pass with cumulative averaging (momentum None) fixes that.
    """
    base, side, _ = SMALL[name]
    torch.manual_seed(seed)
    m = timm.create_model(name, **{**base, **kw})
    for mod in m.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            mod.reset_running_stats()
            mod.momentum = None
    if name == "spiking_resnet19_cifar":
        # The default-initialised Linear(8w, 4w) on firing rates in [0, 1] stays far below the
        # threshold, so the hidden-FC LIF would never fire (logits = bias at every step); a
        # trained model does fire. Scale it up so the test exercises the spiking head.
        with torch.no_grad():
            m.classifier[0].weight.mul_(20.0)
    m.train()
    with torch.no_grad():
        m(torch.randn(6, 3, side, side))
    return m.eval()


def _head_is_linear(m: nn.Module) -> bool:
    return not any(isinstance(x, LIF) for x in m.get_classifier().modules())


# --------------------------------------------------------------------------- forward contract
@pytest.mark.parametrize("name", NAMES)
def test_outputs_feature_and_head(name):
    m = calibrated(name, num_classes=7, T=3)
    _, side, feat_shape = SMALL[name]
    x = torch.randn(2, 3, side, side)
    with torch.no_grad():
        logits = m(x)
        out = m(x, return_feature=True)
        feats = m.forward_features(x)
    assert logits.shape == (3, 2, 7)
    assert isinstance(out, ModelOutput)
    assert out.logits.shape == (3, 2, 7) and out.feature.shape == (2, *feat_shape)
    assert torch.equal(out.logits, logits)
    assert torch.allclose(out.feature, feats.mean(0))
    assert not torch.allclose(logits[0], logits[-1])  # stateful over T: steps differ
    # per-timestep head on the pooled per-timestep features
    assert torch.allclose(logits, m.forward_head(feats), atol=1e-6)
    if _head_is_linear(m):
        # linear head ⇒ the prediction is the head of the T-mean pooled feature
        head_of_feature = m.get_classifier()(out.feature.mean((2, 3)))
        assert torch.allclose(out.mean_logits, head_of_feature, atol=1e-5)
    else:  # ResNet-19's spiking hidden FC: the head is applied per timestep, not to the mean
        assert name == "spiking_resnet19_cifar"
    # a temporal input [T, B, C, H, W] is used as is (its own T)
    with torch.no_grad():
        assert torch.allclose(m(x.unsqueeze(0).repeat(3, 1, 1, 1, 1)), logits, atol=1e-6)
        assert m(x.unsqueeze(0).repeat(5, 1, 1, 1, 1)).shape == (5, 2, 7)
    with pytest.raises(ValueError):
        m(torch.randn(3, side, side))


@pytest.mark.parametrize("name", NAMES)
def test_state_reset_between_calls(name):
    m = calibrated(name, seed=1)
    side = SMALL[name][1]
    x = torch.randn(2, 3, side, side)
    with torch.no_grad():
        a = m(x)
        m(torch.randn(3, 3, side, side))  # another batch (other size) in between
        b = m(x)
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_prefix_property(name):
    """§2.4: in eval mode a T'=2 run equals the first 2 timesteps of a T=4 run (static input)."""
    m = calibrated(name, seed=2, T=4)
    side = SMALL[name][1]
    x = torch.randn(3, 3, side, side)
    with torch.no_grad():
        full = m(x)
        m.T = 2
        short = m(x)
        m.T = 4
    assert full.shape[0] == 4 and short.shape[0] == 2
    torch.testing.assert_close(short, full[:2])
    assert not torch.allclose(full[2], full[1])  # later steps carry new information


def test_train_mode_uses_all_timesteps_in_bn():
    """In train mode BN statistics span T·B, so the prefix property does not hold there."""
    m = calibrated("spiking_resnet18_cifar", seed=3, T=4).train()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        full = m(x)
        m.T = 2
        short = m(x)
    assert not torch.allclose(short, full[:2])


def test_backward_reaches_stem():
    for name in ("spiking_resnet18_cifar", "spiking_preact_resnet34_imagenet"):
        m = calibrated(name, seed=4, T=2).train()
        side = SMALL[name][1]
        m(torch.randn(2, 3, side, side)).mean(0).logsumexp(-1).sum().backward()
        first = m.conv0[0] if isinstance(m, SpikingResNet) else m.conv1
        assert first.weight.grad is not None and first.weight.grad.abs().sum() > 0, name


# --------------------------------------------------------------------------- structure
def test_cifar_blocks_pass_spikes_and_preact_stream_is_real():
    m = calibrated("spiking_resnet18_cifar")
    with torch.no_grad():
        s = m.layer1(m.conv0[2](torch.randn(2, 2, 8, 32, 32)))
    assert set(s.unique().tolist()) <= {0.0, 1.0}
    with torch.no_grad():
        feats = m.forward_features(torch.randn(2, 3, 32, 32))
    assert set(feats.unique().tolist()) <= {0.0, 1.0}  # last stage ends in a LIF
    p = calibrated("spiking_preact_resnet34_imagenet")
    seen = {}
    hook = p.layer1[0].sn1.register_forward_hook(lambda mod, inp, out: seen.update(x=inp[0]))
    with torch.no_grad():
        pf = p.forward_features(torch.randn(2, 3, 64, 64))
    hook.remove()
    assert not torch.all((seen["x"] == 0) | (seen["x"] == 1))  # no LIF in the stem
    assert seen["x"].shape[-2:] == (16, 16)  # 7×7/2 conv, then max-pool 3/2
    assert not torch.all((pf == 0) | (pf == 1))  # real-valued residual stream, no final LIF


def test_block_layout_and_state_dict_names():
    m = timm.create_model("spiking_resnet18_cifar", width=8)
    sd = m.state_dict()
    expect = {
        "conv0.0.weight": (8, 3, 3, 3),
        "conv0.1.running_mean": (8,),
        "layer1.0.conv1.weight": (8, 8, 3, 3),
        "layer2.0.conv1.weight": (16, 8, 3, 3),
        "layer2.0.shortcut.0.weight": (16, 8, 1, 1),
        "layer2.0.shortcut.1.weight": (16,),
        "classifier.0.weight": (10, 64),
    }
    for key, shape in expect.items():
        assert tuple(sd[key].shape) == shape, key
    assert "layer1.0.shortcut.0.weight" not in sd and "layer1.0.conv1.bias" not in sd
    assert m.layer2[0].conv1.stride == (2, 2) and m.layer2[1].conv1.stride == (1, 1)
    assert not any("lif" in k or "spike" in k for k in sd)
    r19 = timm.create_model("spiking_resnet19_cifar", width=4)
    assert [type(x) for x in r19.classifier] == [nn.Linear, LIF, nn.Linear]
    assert r19.classifier[0].in_features == 32 and r19.classifier[2].in_features == 16
    assert [len(getattr(r19, f"layer{i}")) for i in (1, 2, 3)] == [3, 3, 2]
    assert not hasattr(r19, "layer4") and len(r19.layer1[0].shortcut) == 0
    p = timm.create_model("spiking_preact_resnet34_imagenet", width=8, num_classes=5)
    psd = p.state_dict()
    assert tuple(psd["conv1.weight"].shape) == (8, 3, 7, 7) and "conv1.bias" in psd
    assert "layer1.0.conv1.bias" in psd and "layer2.0.downsample.0.bias" in psd
    assert p.layer1[0].downsample is None and "layer1.0.downsample.0.weight" not in psd
    assert tuple(psd["fc.weight"].shape) == (5, 64)
    assert [len(getattr(p, f"layer{i}")) for i in (1, 2, 3, 4)] == [3, 4, 6, 3]
    assert isinstance(p.maxpool, nn.MaxPool2d)


def test_lif_counts_and_default_neurons():
    counts = {
        "spiking_resnet18_cifar": 1 + 2 * 8,  # stem + 2 per block
        "spiking_resnet19_cifar": 1 + 2 * 8 + 1,  # + hidden-FC LIF
        "spiking_resnet34_cifar": 1 + 2 * 16,
        "spiking_preact_resnet34_imagenet": 2 * 16,  # no stem LIF
    }
    for name, n in counts.items():
        m = timm.create_model(name, width=4)
        lifs = [x for x in m.modules() if isinstance(x, LIF)]
        assert len(lifs) == n, name
        ref = IMAGENET_LIF if "imagenet" in name else CIFAR_LIF
        assert m.lif_settings == ref
        for lif in lifs:
            assert lif.tau == ref.tau and lif.decay_input is False and lif.v_threshold == 1.0
            assert lif.v_reset == ref.v_reset and lif.detach_reset is False
            assert lif.surrogate_function.alpha == 4.0
    assert CIFAR_LIF.tau == 2.0 and CIFAR_LIF.v_reset == 0.0  # λ 0.5, hard reset
    assert IMAGENET_LIF.tau == 1.25 and IMAGENET_LIF.v_reset is None  # λ 0.2, soft reset
    assert timm.create_model("spiking_resnet18_cifar").T == 6
    assert timm.create_model("spiking_preact_resnet34_imagenet", width=4).T == 4


def test_flat_lif_kwargs():
    m = timm.create_model("spiking_resnet18_cifar", width=4, lif_decay=0.2, lif_v_reset="soft",
                          lif_detach_reset=True, surrogate_alpha=2.0, lif_v_threshold=0.5)
    for lif in (x for x in m.modules() if isinstance(x, LIF)):
        assert lif.tau == pytest.approx(1.25) and lif.v_reset is None and lif.detach_reset is True
        assert lif.v_threshold == 0.5 and lif.surrogate_function.alpha == 2.0
    assert m.lif_settings.decay_input is False
    m2 = SpikingResNet(layers=(1,), widths=(4,), lif_tau=3.0, lif_v_reset=None, lif_decay=None)
    assert m2.lif_settings.tau == 3.0 and m2.lif_settings.v_reset is None
    m3 = timm.create_model("spiking_preact_resnet34_imagenet", width=4, lif_v_reset=0.0, lif_decay_input=True)
    assert m3.lif_settings.v_reset == 0.0 and m3.lif_settings.decay_input is True
    with pytest.raises(ValueError, match="not both"):
        timm.create_model("spiking_resnet18_cifar", width=4, lif_tau=2.0, lif_decay=0.5)
    with pytest.raises(ValueError):
        timm.create_model("spiking_resnet18_cifar", width=4, lif_decay=1.0)
    with pytest.raises(ValueError):
        timm.create_model("spiking_resnet18_cifar", width=4, lif_decay=0.0)  # τ = 1: refused
    with pytest.raises(TypeError):
        timm.create_model("spiking_resnet18_cifar", width=4, lif_dcay=0.5)
    with pytest.raises(TypeError):
        SpikingPreActResNet(width=4, drop_rate=0.1)


def test_bad_arguments_and_reset_classifier():
    with pytest.raises(ValueError):
        SpikingResNet(layers=(2, 2), widths=(8,))
    with pytest.raises(ValueError):
        SpikingResNet(layers=(2,), widths=(8,), T=0)
    with pytest.raises(ValueError):
        SpikingPreActResNet(layers=(), width=8)
    for name in NAMES:
        with pytest.raises(ValueError, match="pretrained"):
            timm.create_model(name, pretrained=True)
    m = calibrated("spiking_resnet19_cifar", num_classes=4, T=2)
    m.reset_classifier(9)
    assert m.num_classes == 9 and m(torch.randn(1, 3, 32, 32)).shape == (2, 1, 9)
    assert isinstance(m.get_classifier()[1], LIF)
    p = timm.create_model("spiking_preact_resnet34_imagenet", width=4, num_classes=0, T=2)
    assert isinstance(p.fc, nn.Identity) and p(torch.randn(1, 3, 32, 32)).shape == (2, 1, 32)
    assert p.pretrained_cfg["input_size"] == (3, 224, 224)
    assert m.pretrained_cfg["architecture"] == "spiking_resnet19_cifar"


