"""SEW-ResNet-18/34/50 of BKDSNN (Spike-Element-Wise-ResNet/imagenet/sew_resnet.py@dd6bd53) and their
torchvision V1 teachers: parameter counts, the once-run stem, shapes and the BKD tap, connect
functions, IF neuron settings, equality with spikingjelly 2.0's sew_resnet on the same weights, the
config kwargs, and the one-line error when hub weights are out of reach. Forwards are tiny (batch 1,
64×64, T ≤ 2)."""
from __future__ import annotations

import copy
import math

import pytest
import timm
import torch
from spikingjelly.activation_based import functional, neuron, surrogate
from spikingjelly.activation_based.model import sew_resnet as sj_sew
from timm.models import get_pretrained_cfg, model_entrypoint

import replicate.models  # noqa: F401  (registers the models)
from replicate.config import Config
from replicate.models import ModelOutput, count_parameters
from replicate.models.sew_resnet import (
    IF,
    SEW_IF,
    TV_TEACHERS,
    PretrainedWeightsUnavailable,
    SEWBottleneck,
    SEWResNet,
    connect,
    create_pretrained,
)
from replicate.train.evaluate import forward_output

#: name → (params for K = 1000 (torchvision's ResNet), layer-4 channels, number of IF layers)
SEW = {
    "sew_resnet18": (11_689_512, 512, 1 + 2 * 8 + 3),
    "sew_resnet34": (21_797_672, 512, 1 + 2 * 16 + 3),
    "sew_resnet50": (25_557_032, 2048, 1 + 3 * 16 + 4),
}


def _image(seed: int = 0, b: int = 1, side: int = 64) -> torch.Tensor:
    return torch.randn(b, 3, side, side, generator=torch.Generator().manual_seed(seed))


def _sj_model(name: str, cnf: str) -> torch.nn.Module:
    """spikingjelly 2.0's multi-step SEW-ResNet with BKDSNN's neuron."""
    m = getattr(sj_sew, name)(cnf=cnf, spiking_neuron=neuron.IFNode, detach_reset=True,
                              surrogate_function=surrogate.ATan(alpha=2.0))
    functional.set_step_mode(m, "m")
    return m


def _lively(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random BN statistics and affine parameters that keep spikes alive down to layer 4 in eval
    mode (fresh BNs are the identity there, and the Kaiming-initialised currents die out)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
            m.running_var.copy_(0.02 + 0.08 * torch.rand(c, generator=g))
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.3 * torch.randn(c, generator=g))
    return model


def _sj_forward(m: torch.nn.Module, x: torch.Tensor, T: int) -> torch.Tensor:
    functional.reset_net(m)
    out = m(x.unsqueeze(0).repeat(T, 1, 1, 1, 1))
    functional.reset_net(m)
    return out


# --------------------------------------------------------------------------- names and counts
@pytest.mark.parametrize("name", sorted(SEW))
def test_registered_here_and_not_timms_own(name):
    assert model_entrypoint(name).__module__ == "replicate.models.sew_resnet"
    cfg = get_pretrained_cfg(name)
    assert tuple(cfg.input_size) == (3, 224, 224) and cfg.num_classes == 1000
    assert (cfg.mean, cfg.std) == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@pytest.mark.parametrize("name", sorted(SEW))
def test_parameter_count_is_torchvisions_and_names_match(name):
    """IF neurons hold no parameters: exactly torchvision's ResNet, under the same names."""
    with torch.device("meta"):
        m = timm.create_model(name)
        ann = timm.create_model(name.removeprefix("sew_"))
    assert count_parameters(m) == SEW[name][0] == count_parameters(ann)
    assert list(m.state_dict()) == list(ann.state_dict())
    assert m.num_features == SEW[name][1] and m.T == 4 and m.cnf == "ADD"


# --------------------------------------------------------------------------- stem, shapes, tap
def test_stem_runs_once_and_is_repeated_T_times():
    m = timm.create_model("sew_resnet18", T=3, num_classes=5).eval()
    seen: dict[str, list] = {"conv": [], "sn1": []}
    h1 = m.conv1.register_forward_hook(lambda _m, i, o: seen["conv"].append(o.shape))
    h2 = m.sn1.register_forward_hook(lambda _m, i, o: seen["sn1"].append(i[0]))
    with torch.no_grad():
        m(_image(b=2))
    h1.remove(), h2.remove()
    assert seen["conv"] == [torch.Size([2, 64, 32, 32])]  # one call on B images, not T·B
    (current,) = seen["sn1"]
    assert current.shape == (3, 2, 64, 32, 32)
    assert all(torch.equal(current[t], current[0]) for t in range(3))


@pytest.mark.parametrize("name", sorted(SEW))
def test_logits_and_bkd_feature_shapes(name):
    m = timm.create_model(name, T=2, num_classes=7).eval()
    with torch.no_grad():
        out = m(_image(), return_feature=True, return_stages=True)
        plain = m(_image())
    assert isinstance(out, ModelOutput)
    assert out.logits.shape == (2, 1, 7) and torch.equal(out.logits, plain)
    c = SEW[name][1]
    assert out.feature.shape == (1, c, 2, 2)  # layer 4 at H/32: 2048 channels for ResNet-50
    e = c // 512
    assert [s.shape[1] for s in out.stages] == [64 * e, 128 * e, 256 * e]
    with torch.no_grad():  # the tap is the T-mean of layer 4, which the head pools
        feat = m.forward_features(_image())
    assert torch.allclose(out.feature, feat.mean(0))
    assert torch.allclose(out.mean_logits, m.fc(feat.mean(dim=(0, 3, 4))), atol=1e-5)


def test_forward_output_gives_the_bkd_tap():
    m = timm.create_model("sew_resnet18", T=2, num_classes=3).eval()
    with torch.no_grad():
        out = forward_output(m, _image(), need_feature=True)
    assert out.logits.shape == (2, 1, 3) and out.feature.shape == (1, 512, 2, 2)


def test_time_input_T_change_and_head_reset():
    m = timm.create_model("sew_resnet18", T=1, num_classes=4).eval()
    with torch.no_grad():
        assert m(torch.randn(2, 1, 3, 32, 32)).shape == (2, 1, 4)  # a [T, B, ...] input keeps its T
        m.T = 2
        assert m(_image(side=32)).shape == (2, 1, 4)
        m.reset_classifier(0)
        assert m(_image(side=32)).shape == (2, 1, 512)  # K = 0: the pooled features
    with pytest.raises(ValueError, match="input"):
        m(torch.randn(3, 32, 32))


# --------------------------------------------------------------------------- connect functions
def test_connect_functions_on_hand_made_spikes():
    a = torch.tensor([0.0, 0.0, 1.0, 1.0])  # branch spikes
    s = torch.tensor([0.0, 1.0, 0.0, 1.0])  # shortcut spikes
    assert connect(a, s, "ADD").tolist() == [0.0, 1.0, 1.0, 2.0]
    assert connect(a, s, "AND").tolist() == [0.0, 0.0, 0.0, 1.0]
    assert connect(a, s, "IAND").tolist() == [0.0, 1.0, 0.0, 0.0]  # S and not A
    with pytest.raises(ValueError, match="connect"):
        connect(a, s, "OR")


def _block_io(block: torch.nn.Module, last_sn: str, x: torch.Tensor):
    """(branch spikes, shortcut spikes, output) of one block call."""
    got = {}
    h1 = getattr(block, last_sn).register_forward_hook(lambda _m, i, o: got.__setitem__("a", o))
    h2 = block.downsample_sn.register_forward_hook(lambda _m, i, o: got.__setitem__("s", o))
    with torch.no_grad():
        out = block(x)
    h1.remove(), h2.remove()
    return got["a"], got["s"], out


@pytest.mark.parametrize("block", ["basic", "bottleneck"])
def test_iand_is_shortcut_and_not_branch_in_both_blocks(block):
    m = timm.create_model("sew_resnet50" if block == "bottleneck" else "sew_resnet18", cnf="IAND", T=2)
    blk, last = (m.layer2[0], "sn3") if block == "bottleneck" else (m.layer2[0], "sn2")
    x = (torch.rand(2, 1, blk.conv1.in_channels, 8, 8, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    a, s, out = _block_io(blk, last, x)
    assert 0 < a.mean() < 1 and 0 < s.mean() < 1  # real spikes on both paths
    assert torch.equal(out, s * (1 - a))


def test_spikingjelly_bottleneck_swaps_iand_operands():
    """Why :class:`SEWBottleneck` exists: spikingjelly 2.0's Bottleneck computes A·(1 − S)."""
    ours = timm.create_model("sew_resnet50", cnf="IAND", T=2).layer2[0]
    assert isinstance(ours, SEWBottleneck)
    theirs = sj_sew.Bottleneck(ours.conv1.in_channels, 128, 2, copy.deepcopy(ours.downsample), cnf="IAND",
                               spiking_neuron=IF, **SEW_IF.neuron_kwargs())
    theirs.load_state_dict(ours.state_dict())
    functional.set_step_mode(theirs, "m")
    x = (torch.rand(2, 1, ours.conv1.in_channels, 8, 8, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    a, s, out = _block_io(theirs, "sn3", x)
    assert torch.equal(out, a * (1 - s)) and not torch.equal(out, s * (1 - a))


# --------------------------------------------------------------------------- the IF neuron
@pytest.mark.parametrize("name", sorted(SEW))
def test_every_neuron_is_bkdsnns_if(name):
    with torch.device("meta"):
        m = timm.create_model(name)
    ifs = [mod for mod in m.modules() if isinstance(mod, neuron.BaseNode)]
    assert len(ifs) == SEW[name][2] and all(type(n) is IF for n in ifs)
    for n in ifs:
        assert n.v_threshold == 1.0 and n.v_reset == 0.0 and n.detach_reset and n.step_mode == "m"
        assert isinstance(n.surrogate_function, surrogate.ATan) and n.surrogate_function.alpha == 2.0


def test_if_dynamics_hard_detached_reset_atan_gradient():
    n = SEW_IF.build()
    assert n(torch.tensor([[0.6], [0.6], [0.6]])).flatten().tolist() == [0.0, 1.0, 0.0]  # no leak
    assert n(torch.tensor([[1.5], [0.6]])).flatten().tolist() == [1.0, 0.0]  # hard reset to 0
    assert n(torch.tensor([[0.6], [0.6]])).flatten().tolist() == [0.0, 1.0]  # no state across calls
    x = torch.tensor([[1.5], [0.5]], requires_grad=True)
    n(x)[1].sum().backward()
    assert x.grad[0].item() == 0.0  # detached reset: S_2 does not see x_1 through the reset
    x = torch.tensor([[0.5]], requires_grad=True)
    n(x).sum().backward()  # ATan, α = 2: α/2 / (1 + (π/2·α·(x − V_th))²)
    assert x.grad.item() == pytest.approx(1.0 / (1.0 + (math.pi * -0.5) ** 2), rel=1e-6)
    half = n(torch.tensor([[1.5], [0.6]], dtype=torch.bfloat16))  # autocast: fp32 membrane
    assert half.dtype == torch.bfloat16 and half.flatten().tolist() == [1.0, 0.0]


def test_eval_prefix_property():
    """Causal IF + eval-mode BN: a T'-step run gives the first T' per-step logits of a T-step run
    (what deployment at a smaller budget relies on)."""
    m = _lively(timm.create_model("sew_resnet18", T=3, num_classes=6)).eval()
    x = _image(6, side=32)
    with torch.no_grad():
        full = m(x)
        m.T = 2
        assert torch.allclose(m(x), full[:2], atol=1e-6)


# --------------------------------------------------------------------------- vs spikingjelly
@pytest.mark.parametrize("name, cnf", [("sew_resnet18", "ADD"), ("sew_resnet18", "IAND"),
                                       ("sew_resnet50", "ADD"), ("sew_resnet50", "AND")])
def test_equals_spikingjelly_sew_resnet_on_the_same_weights(name, cnf):
    """Eval mode: identical per-step logits to spikingjelly's model fed the repeated image.
    (Bottleneck IAND differs on purpose: see test_spikingjelly_bottleneck_swaps_iand_operands.)"""
    torch.manual_seed(0)
    ours = _lively(timm.create_model(name, T=2, cnf=cnf)).eval()
    theirs = _sj_model(name, cnf).eval()
    theirs.load_state_dict(ours.state_dict())
    x = _image(3)
    with torch.no_grad():
        a, b = ours(x), _sj_forward(theirs, x, 2)
    assert a.shape == b.shape == (2, 1, 1000)
    assert not torch.allclose(a, ours.fc.bias.expand_as(a))  # layer 4 carries spikes: not a bias-only test
    assert torch.allclose(a, b, atol=1e-5, rtol=1e-5)


def test_train_step_equals_spikingjelly_outputs_and_gradients():
    """Train mode (batch statistics): the once-run stem gives the same logits and gradients as
    spikingjelly's stem on T repeated copies."""
    torch.manual_seed(0)
    ours = timm.create_model("sew_resnet18", T=2, num_classes=10).train()
    theirs = _sj_model("sew_resnet18", "ADD")
    theirs.fc = torch.nn.Linear(512, 10)
    theirs.load_state_dict(ours.state_dict())
    theirs.train()
    x = _image(4, b=2)
    a, b = ours(x), _sj_forward(theirs, x, 2)
    assert torch.allclose(a, b, atol=1e-5, rtol=1e-5)
    a.square().sum().backward()
    b.square().sum().backward()
    ga, gb = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert ga["conv1.weight"].grad.abs().sum() > 0  # the gradient reaches the stem
    for k in ("conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer4.1.bn2.bias", "fc.weight"):
        assert torch.allclose(ga[k].grad, gb[k].grad, atol=1e-4, rtol=1e-3), k


def test_sync_batchnorm_conversion_keeps_the_model_working():
    """The original's --sync-bn (train_distillation.py@dd6bd53 l.334): SyncBatchNorm replaces every
    BN and must still see [T·B, C, H, W] (it runs like BN on CPU in eval mode)."""
    m = _lively(timm.create_model("sew_resnet18", T=2, num_classes=5)).eval()
    x = _image(5)
    with torch.no_grad():
        ref = m(x)
        synced = torch.nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(m)).eval()
        assert any(isinstance(b, torch.nn.SyncBatchNorm) for b in synced.modules())
        assert torch.equal(synced(x), ref)


# --------------------------------------------------------------------------- kwargs
def test_config_model_kwargs_build_it():
    kw = Config(model="sew_resnet18", T=2).model_kwargs()
    assert kw["lif_v_reset"] == 0.0
    with torch.device("meta"):
        m = timm.create_model("sew_resnet18", **kw)
    assert m.T == 2 and m.neuron_settings == SEW_IF


def test_neuron_kwargs_honoured_and_leak_kwargs_refused():
    with torch.device("meta"):
        m = timm.create_model("sew_resnet18", lif_v_reset="soft", lif_v_threshold=0.5,
                              surrogate="sigmoid", surrogate_alpha=4.0, lif_detach_reset=False)
    n = m.layer1[0].sn1
    assert n.v_reset is None and n.v_threshold == 0.5 and not n.detach_reset
    assert isinstance(n.surrogate_function, surrogate.Sigmoid) and n.surrogate_function.alpha == 4.0
    for bad in ("lif_tau", "lif_decay", "lif_decay_input"):
        with pytest.raises(TypeError, match="IF neurons"):
            SEWResNet(**{bad: 0.5})
    with pytest.raises(TypeError, match="unexpected"):
        SEWResNet(width=32)
    with pytest.raises(ValueError, match="cnf"):
        SEWResNet(cnf="OR")
    with pytest.raises(ValueError, match="T must"):
        SEWResNet(T=0)
    with pytest.raises(ValueError, match="pretrained"):
        timm.create_model("sew_resnet18", pretrained=True)


def test_zero_init_residual_and_in_chans():
    for block, last in (("basic", "bn2"), ("bottleneck", "bn3")):
        m = SEWResNet(layers=(1, 1, 1, 1), block=block, zero_init_residual=True, cnf="and",
                      num_classes=2, in_chans=2, T=1)
        bn = getattr(m.layer1[0], last)
        assert m.cnf == "AND" and m.conv1.in_channels == 2
        assert torch.all(bn.weight == 0) and torch.all(bn.bias == 1)  # AND: branch fires at init
    with torch.no_grad():
        assert m.eval()(torch.randn(1, 2, 32, 32)).shape == (1, 1, 2)


# --------------------------------------------------------------------------- teachers
def test_teachers_are_timms_torchvision_v1_weights():
    urls = {"resnet18": "resnet18-f37072fd.pth", "resnet34": "resnet34-b627a593.pth",
            "resnet50": "resnet50-0676ba61.pth"}  # torchvision IMAGENET1K_V1
    assert TV_TEACHERS == {"resnet18.tv_in1k": 69.758, "resnet34.tv_in1k": 73.314,
                           "resnet50.tv_in1k": 76.130}
    for tag in TV_TEACHERS:
        cfg = get_pretrained_cfg(tag)
        assert cfg.url.endswith(urls[tag.split(".")[0]]) and cfg.hf_hub_id == f"timm/{tag}"
        assert tuple(cfg.mean) == (0.485, 0.456, 0.406) and cfg.num_classes == 1000
    assert not timm.is_model("tv_resnet18")  # nothing registered under tv_*


def test_cnn_teacher_feature_is_the_unpooled_layer4_map():
    """BKD's map variant for CNN teachers: the layer-4 map after its last ReLU, not pooled."""
    t = timm.create_model("resnet18.tv_in1k", pretrained=False, num_classes=10).eval()
    with torch.no_grad():
        out = forward_output(t, _image(), need_feature=True)
        fmap = t.forward_features(_image())
        logits = t(_image())
    assert out.logits.shape == (1, 10) and out.feature.shape == (1, 512, 2, 2)
    assert torch.equal(out.feature, fmap) and torch.allclose(out.logits, logits)
    assert out.feature.min() >= 0  # after the ReLU


@pytest.mark.parametrize("depth, channels", [(18, 512), (50, 2048)])
def test_bkd_between_sew_and_its_torchvision_teacher_is_the_map_variant(depth, channels):
    from replicate.distill import registry
    student = timm.create_model(f"sew_resnet{depth}", num_classes=10, T=2)
    teacher = timm.create_model(f"resnet{depth}.tv_in1k", pretrained=False, num_classes=10).eval()
    ctx = registry.BuildContext(student=student, teacher=teacher, probe=_image().repeat(2, 1, 1, 1),
                                num_classes=10)
    cfg = Config(distill="bkd", teacher_row="x", model=f"sew_resnet{depth}", T=2)
    bkd = registry.build(cfg, ctx)
    assert (bkd.student_channels, bkd.teacher_channels, bkd.pooled) == (channels, channels, False)
    s = forward_output(student.train(), _image().repeat(2, 1, 1, 1), need_feature=True)
    with torch.no_grad():
        t = forward_output(teacher, _image().repeat(2, 1, 1, 1), need_feature=True)
    loss = bkd(s, t)["bkd"]
    assert loss.ndim == 0 and torch.isfinite(loss) and loss > 0


def test_firing_rates_count_the_if_neurons():
    from replicate.train.evaluate import FiringRates
    m = timm.create_model("sew_resnet18", num_classes=10, T=2).eval()
    with torch.no_grad(), FiringRates(m) as fr:
        m(_image())
    n_if = sum(isinstance(x, IF) for x in m.modules())
    assert n_if > 0 and len(fr.rates()) == n_if and 0 < fr.mean() < 1


def test_engine_builds_hub_models_through_create_pretrained(monkeypatch):
    from replicate.experiments import config_for
    from replicate.train.engine import build_model

    def no_hub(name, **kwargs):
        raise PretrainedWeightsUnavailable(f"{name}: pretrained weights unavailable: (test)")
    monkeypatch.setattr("replicate.models.hub.create_pretrained", no_hub)  # create_model calls it
    cfg = config_for("bkdsnn-in1k-resnet50-teacher", "paper")
    with pytest.raises(PretrainedWeightsUnavailable, match="^resnet50.tv_in1k: "):
        build_model(cfg, 1000)


@pytest.mark.parametrize("offline", [False, True])
def test_missing_hub_weights_fail_in_one_line_naming_the_fix(monkeypatch, offline):
    from huggingface_hub import constants
    from huggingface_hub.errors import LocalEntryNotFoundError

    def no_hub(*args, **kwargs):
        raise LocalEntryNotFoundError("Cannot find the requested files in the disk cache.\n"
                                      "Check your connection and try again.")

    monkeypatch.setattr("timm.models._hub.hf_hub_download", no_hub)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    if offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(PretrainedWeightsUnavailable) as info:
        create_pretrained("resnet18.tv_in1k", num_classes=1000)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("resnet18.tv_in1k: ") and "fix:" in msg
    assert ("HF_HUB_OFFLINE is set" in msg) == offline
    assert isinstance(info.value, FileNotFoundError)  # the CLI prints it as one line, exit 2
