"""CML-Spikingformer student and CIFAR ANN ResNet teacher: sizes, shapes, structure, registry."""
from __future__ import annotations

import subprocess
import sys

import pytest
import timm
import torch
import torch.nn as nn
from timm.models import _registry

import replicate.models  # noqa: F401  (registers the models)
from replicate.models import CMLSpikingformer, ModelOutput, count_parameters
from replicate.neurons import LIF, LIFSettings

SNN_NAMES = [
    "cml_spikingformer_cifar",
    "cml_spikingformer_4_256_cifar",
    "cml_spikingformer_2_384_cifar",
    "cml_spikingformer_4_384_cifar",
]
ANN_NAMES = ["cifar_resnet18_ann", "cifar_resnet34_ann"]
OUR_NAMES = SNN_NAMES + ANN_NAMES


def tiny(**kw) -> CMLSpikingformer:
    """The scaled CPU student: D 64, depth 2, 2 heads."""
    return timm.create_model("cml_spikingformer_cifar", embed_dim=64, depth=2, num_heads=2, **kw)


def calibrated_tiny(seed: int = 0, **kw) -> CMLSpikingformer:
    """``tiny`` in eval mode with BN running statistics taken from one random batch.

    Freshly initialised running stats (mean 0, var 1) leave the un-normalised conv outputs too
    small to make the LIFs fire; one train-mode pass with cumulative BN averaging fixes that.
    """
    torch.manual_seed(seed)
    m = tiny(**kw)
    for mod in m.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            mod.reset_running_stats()
            mod.momentum = None
    m.train()
    with torch.no_grad():
        m(torch.randn(8, 3, 32, 32))
    return m.eval()


# --------------------------------------------------------------------------- parameter counts
@pytest.mark.parametrize(
    "name,k,used,with_norms",
    [
        ("cml_spikingformer_4_256_cifar", 10, 4_152_106, 4_156_202),
        ("cml_spikingformer_2_384_cifar", 10, 5_762_746, 5_765_818),
        ("cml_spikingformer_4_384_cifar", 10, 9_320_122, 9_326_266),
        ("cml_spikingformer_4_384_cifar", 100, 9_354_772, 9_360_916),
    ],
)
def test_spikingformer_parameter_counts(name, k, used, with_norms):
    """spec-bkdsnn-cml §3.8: P_used (default) and P_all (with the dead LayerNorms)."""
    assert count_parameters(timm.create_model(name, num_classes=k)) == used
    assert count_parameters(timm.create_model(name, num_classes=k, keep_unused_norms=True)) == with_norms


def test_spikingformer_parameter_formula_at_other_sizes():
    for d, depth, k in [(64, 2, 10), (128, 3, 7)]:
        m = CMLSpikingformer(num_classes=k, embed_dim=d, depth=depth, num_heads=4)
        sps = 9 * 3 * d // 8 + 477 * d * d // 32 + 23 * d // 4
        assert count_parameters(m) == sps + depth * (12 * d * d + 24 * d) + d * k + k


def test_resnet_parameter_counts():
    assert count_parameters(timm.create_model("cifar_resnet18_ann", num_classes=10)) == 11_173_962
    assert count_parameters(timm.create_model("cifar_resnet34_ann", num_classes=10)) == 21_282_122
    small = timm.create_model("cifar_resnet18_ann", num_classes=10, width=16)
    # width 16: same formula at w = 16, i.e. no 64→16 projection in layer1
    assert count_parameters(small) == 701_466
    assert small.layer1[0].downsample is None and small.conv1.out_channels == 16


# --------------------------------------------------------------------------- structure
def _type_sequence(model: nn.Module) -> list[type]:
    return [type(m) for _, m in model.named_modules()]


def test_cpu_student_has_same_structure_as_2_384():
    big = timm.create_model("cml_spikingformer_2_384_cifar", num_classes=10)
    small = tiny(num_classes=10)
    assert _type_sequence(small) == _type_sequence(big)
    assert len(small.block) == len(big.block) == 2


def test_state_dict_names_follow_released_model():
    m = CMLSpikingformer(embed_dim=64, depth=1, num_heads=2, keep_unused_norms=True)
    sd = m.state_dict()
    expect = {
        "patch_embed.proj_conv.weight": (8, 3, 3, 3),
        "patch_embed.proj4_bn.running_mean": (64,),
        "block.0.norm1.weight": (64,),
        "block.0.attn.q_conv.weight": (64, 64, 1),
        "block.0.attn.proj_conv.bias": (64,),
        "block.0.attn.proj_bn.weight": (64,),
        "block.0.mlp.mlp1_conv.weight": (256, 64, 1, 1),
        "block.0.mlp.mlp2_bn.running_var": (64,),
        "head.weight": (10, 64),
    }
    for key, shape in expect.items():
        assert tuple(sd[key].shape) == shape, key
    assert "block.0.attn.q_conv.bias" not in sd  # q/k/v convs have no bias
    assert not any("lif" in k for k in sd)  # neurons carry no state in the state_dict


def _stem_execution_order(model, x):
    order = []
    hooks = [
        m.register_forward_hook(lambda mod, inp, out, n=n: order.append((n, mod, inp[0])))
        for n, m in model.patch_embed.named_children()
    ]
    model(x)
    for h in hooks:
        h.remove()
    return order


def test_cml_maxpool_before_lif():
    """§3.6: each stem max-pool acts on the real-valued BN output and feeds the next LIF."""
    m = calibrated_tiny()
    order = _stem_execution_order(m, torch.randn(1, 3, 32, 32))
    kinds = [type(mod) for _, mod, _ in order]
    pools = [i for i, k in enumerate(kinds) if k is nn.MaxPool2d]
    assert len(pools) == 2
    for i in pools:
        assert kinds[i - 1] is nn.BatchNorm2d  # preceded by BN, never by a LIF
        assert kinds[i + 1] is LIF  # directly followed by the next stage's LIF
        pool_in = order[i][2]
        assert not torch.all((pool_in == 0) | (pool_in == 1))  # pools currents, not spikes
    assert kinds[0] is nn.Conv2d  # stage 0 sees the analog image (no LIF first)
    lif_sizes = {n: tuple(inp.shape[-2:]) for n, mod, inp in order if isinstance(mod, LIF)}
    assert lif_sizes == {
        "proj1_lif": (32, 32),
        "proj2_lif": (32, 32),
        "proj3_lif": (16, 16),  # the LIF after stage 2 runs at the pooled resolution
        "proj4_lif": (8, 8),
    }


def test_attention_matches_explicit_per_head_computation():
    """§3.3: channel c → head c // d; A = (Q Kᵀ) V · 0.125 without softmax; attn_lif at 0.5."""
    m = calibrated_tiny()
    attn = m.block[0].attn
    assert attn.attn_lif.v_threshold == 0.5 and attn.q_lif.v_threshold == 1.0
    seen = {}
    hooks = [
        getattr(attn, n).register_forward_hook(
            lambda mod, inp, out, n=n: seen.update({n: (inp[0].detach(), out.detach())})
        )
        for n in ("q_lif", "k_lif", "v_lif", "attn_lif")
    ]
    m(torch.randn(2, 3, 32, 32))
    for h in hooks:
        h.remove()
    q, k, v = (seen[n][1] for n in ("q_lif", "k_lif", "v_lif"))  # [T, B, D, N] spikes
    assert q.sum() > 0 and k.sum() > 0 and v.sum() > 0
    h, d = 2, 32
    expected = torch.zeros_like(q)
    for head in range(h):
        sl = slice(head * d, (head + 1) * d)
        qh, kh, vh = (z[:, :, sl].transpose(-1, -2) for z in (q, k, v))  # [T, B, N, d]
        expected[:, :, sl] = ((qh @ kh.transpose(-1, -2)) @ vh * 0.125).transpose(-1, -2)
    assert torch.allclose(seen["attn_lif"][0], expected, atol=1e-4)


# --------------------------------------------------------------------------- forward contract
def test_spikingformer_outputs_and_feature():
    m = calibrated_tiny(num_classes=7, T=3)
    x = torch.randn(2, 3, 32, 32)
    logits = m(x)
    assert logits.shape == (3, 2, 7)
    out = m(x, return_feature=True)
    assert isinstance(out, ModelOutput)
    assert out.logits.shape == (3, 2, 7) and out.feature.shape == (2, 64, 8, 8)
    assert torch.equal(out.logits, logits)
    head_of_feature = m.head(out.feature.mean((2, 3)))
    assert torch.allclose(out.mean_logits, head_of_feature, atol=1e-5)
    # per-timestep logits are not all equal (the network is stateful over T)
    assert not torch.allclose(logits[0], logits[-1])
    # an already temporal input is used as is
    xt = x.unsqueeze(0).repeat(3, 1, 1, 1, 1)
    assert torch.allclose(m(xt), logits, atol=1e-6)
    with pytest.raises(ValueError):
        m(torch.randn(3, 32, 32))


def test_spikingformer_state_reset_and_backward():
    m = calibrated_tiny(seed=1)
    x = torch.randn(2, 3, 32, 32)
    a = m(x)
    m(torch.randn(3, 3, 32, 32))  # another batch (other size) in between
    b = m(x)
    assert torch.equal(a, b)
    m.train()
    m(x).mean(0).logsumexp(-1).sum().backward()
    g = m.patch_embed.proj_conv.weight.grad
    assert g is not None and g.abs().sum() > 0  # surrogate gradient reaches the first conv


def test_resnet_outputs_and_feature():
    torch.manual_seed(0)
    m = timm.create_model("cifar_resnet18_ann", num_classes=10, width=8).eval()
    x = torch.randn(2, 3, 32, 32)
    out = m(x, return_feature=True)
    assert out.logits.shape == (2, 10) and out.feature.shape == (2, 64)
    assert torch.allclose(out.logits, m.fc(out.feature), atol=1e-6)
    assert torch.equal(m(x), out.logits)
    assert out.mean_logits is out.logits
    # CIFAR stem: no downsampling before layer2 (32×32 → 4×4 at layer4)
    assert m.forward_features(x).shape == (2, 64, 4, 4)
    big = m(torch.randn(1, 3, 224, 224), return_feature=True)
    assert big.logits.shape == (1, 10) and big.feature.shape == (1, 64)


# --------------------------------------------------------------------------- config handling
def test_flat_lif_overrides_and_settings():
    m = tiny(lif_tau=1.5, lif_v_reset="soft", lif_detach_reset=False, surrogate="atan",
             surrogate_alpha=2.0)
    lifs = [mod for mod in m.modules() if isinstance(mod, LIF)]
    assert len(lifs) == 4 + 2 * (5 + 2)  # stem 4; per block: proj, q, k, v, attn + 2 MLP
    for lif in lifs:
        assert lif.tau == 1.5 and lif.v_reset is None and lif.detach_reset is False
    assert m.block[1].attn.attn_lif.v_threshold == 0.5
    m2 = CMLSpikingformer(embed_dim=64, depth=1, num_heads=2, lif=LIFSettings(v_threshold=0.8),
                          attn_v_threshold=0.3)
    assert m2.patch_embed.proj1_lif.v_threshold == 0.8
    assert m2.block[0].attn.attn_lif.v_threshold == 0.3


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_heads"):
        CMLSpikingformer(embed_dim=64, num_heads=3)
    with pytest.raises(ValueError, match="8"):
        CMLSpikingformer(embed_dim=36, num_heads=4)
    with pytest.raises(TypeError):
        CMLSpikingformer(embed_dim=64, num_heads=2, drop_rat=0.1)
    with pytest.raises(TypeError):
        timm.create_model("cifar_resnet18_ann", stem_type="deep")
    for name in OUR_NAMES:
        with pytest.raises(ValueError, match="pretrained"):
            timm.create_model(name, pretrained=True)


# --------------------------------------------------------------------------- timm registry
def test_registered_names_do_not_shadow_timm():
    """Every model any replicate module registers (found in timm's registry, so a new model is
    covered without editing this test) is absent from plain timm and maps back to replicate."""
    ours = sorted(n for n, fn in _registry._model_entrypoints.items()
                  if fn.__module__.startswith("replicate."))
    assert set(OUR_NAMES) | {"spiking_resnet18_cifar", "spiking_preact_resnet34_imagenet"} <= set(ours)
    code = (
        "import timm, sys; names = set(timm.list_models()); "
        f"hit = [n for n in {ours!r} if n in names]; "
        "assert 'replicate' not in sys.modules; print(hit)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"  # none of our names exists in plain timm
    for name in ours:
        fn = _registry._model_entrypoints[name]
        assert fn.__module__.startswith("replicate.models."), (name, fn.__module__)
        assert _registry._model_to_module[name] == fn.__module__.rsplit(".", 1)[-1]


def test_register_unique_refuses_timm_name():
    from replicate.models import register_unique

    def resnet18(pretrained=False, **kw):  # a timm name
        raise AssertionError("never called")

    with pytest.raises(RuntimeError, match="shadow"):
        register_unique(resnet18)
    assert _registry._model_entrypoints["resnet18"].__module__.startswith("timm.")
