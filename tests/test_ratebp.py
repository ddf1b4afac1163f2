"""Rate-based backpropagation (spec-logitkd §3, §5.4): spike-pass equivalence, forward exactness,
T = 1 equality with BPTT, a hand-computed gradient, and the refusals."""
import copy
import math

import pytest
import timm
import torch
import torch.nn.functional as F
from torch import nn

import replicate  # noqa: F401  (registers the models)
from replicate.config import Config
from replicate.neurons import make_lif
from replicate.ratebp import RateBP, RateBPError, scale_grad, surrogate_derivative
from replicate.train.steps import StepContext, rate_bp_step

RATE_LIF = dict(lif_decay=0.2, lif_decay_input=False, lif_v_reset="soft", lif_detach_reset=True)


def _resnet(T: int, **kw):
    torch.manual_seed(0)
    return timm.create_model("spiking_resnet18_cifar", num_classes=10, width=4, T=T, **RATE_LIF, **kw)


def test_spike_pass_gives_spikingjelly_spikes_and_rate_and_eligibility():
    torch.manual_seed(0)
    lif = make_lif(tau=1.25, decay_input=False, v_reset=None, detach_reset=True)
    x = torch.randn(5, 3, 7) * 1.5
    ref = lif(x)
    rbp = RateBP(nn.Sequential(lif))
    with torch.no_grad(), rbp.spike_pass():
        s = lif(x)
    assert torch.equal(s, ref)
    rate, elig = rbp._lif_mem[id(lif)][0]
    assert torch.allclose(rate, ref.mean(0))
    assert (elig >= 0).all() and elig.shape == (3, 7)


def test_surrogate_derivative_is_spikingjellys_backward():
    lif = make_lif(tau=1.25, decay_input=False, v_reset=None, detach_reset=True, surrogate_alpha=4.0)
    u = torch.linspace(-2, 2, 41, requires_grad=True)
    lif.surrogate_function(u).sum().backward()
    assert torch.allclose(surrogate_derivative(lif, u.detach()), u.grad)
    assert surrogate_derivative(lif, torch.zeros(1)).item() == pytest.approx(1.0)  # α/4 at H = V_th


@pytest.mark.parametrize("arch", ["spiking_resnet18_cifar", "spiking_preact_resnet34_imagenet"])
def test_rate_pass_logits_equal_the_time_mean_of_spike_pass_logits(arch):
    torch.manual_seed(0)
    extra = {"layers": (1, 1, 1, 1)} if "preact" in arch else {}
    model = timm.create_model(arch, num_classes=10, width=4, T=4, **RATE_LIF, **extra).train()
    x = torch.randn(6, 3, 32, 32)
    rbp = RateBP(model)
    with torch.no_grad(), rbp.spike_pass():
        z = model(x)  # [T, B, K]
    with rbp.rate_pass():
        zr = model(x.unsqueeze(0))  # [1, B, K]
    assert zr.shape == (1, 6, 10)
    assert torch.allclose(zr[0], z.mean(0), atol=1e-4)


def test_at_T1_the_rate_bp_gradient_equals_bptt():
    torch.manual_seed(1)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    target = F.one_hot(y, 10).float()
    a = _resnet(T=1).train()
    b = copy.deepcopy(a)
    loss = F.cross_entropy(a(x).mean(0), y)
    loss.backward()
    terms = rate_bp_step(StepContext(b), x, target)
    terms["ce"].backward()
    assert terms["ce"].item() == pytest.approx(loss.item(), rel=1e-4)
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.allclose(pa.grad, pb.grad, atol=1e-6, rtol=1e-4), name
    for (name, ba), bb in zip(a.named_buffers(), b.buffers()):  # running stats: one update each
        if ba.dtype.is_floating_point:
            assert torch.allclose(ba, bb, atol=1e-6), name


class _Tiny(nn.Module):
    """x ``[T, B, 1]`` → w·x → LIF (λ = 0.5, soft reset, detached) → spikes ``[T, B, 1]``."""

    def __init__(self, w: float):
        super().__init__()
        self.fc = nn.Linear(1, 1, bias=False)
        self.fc.weight.data.fill_(w)
        self.lif = make_lif(tau=2.0, decay_input=False, v_reset=None, detach_reset=True)

    def forward(self, x):
        return self.lif(self.fc(x))


def test_hand_computed_rate_and_gradient_on_a_one_neuron_net():
    # constant current I = w·x = 0.6, λ = 0.5, V_th = 1:
    # H = 0.6 (no spike), 0.9 (no spike), 1.05 (spike) → r = 1/3; κ = 1, 1.5, 1.75
    net, x = _Tiny(1.0), torch.tensor([[0.6]])
    rbp = RateBP(net)
    with torch.no_grad(), rbp.spike_pass():
        net(x.expand(3, 1, 1))
    with rbp.rate_pass():
        r = net(x.unsqueeze(0))
    sg = lambda u: 4 * (1 / (1 + math.exp(-4 * u))) * (1 - 1 / (1 + math.exp(-4 * u)))  # noqa: E731
    e = (1.0 * sg(0.6 - 1) + 1.5 * sg(0.9 - 1) + 1.75 * sg(1.05 - 1)) / 3
    assert r.item() == pytest.approx(1 / 3)
    r.sum().backward()
    assert net.fc.weight.grad.item() == pytest.approx(e * 0.6, rel=1e-5)  # dr/dw = e · x


def test_scale_grad_keeps_the_value_and_scales_the_gradient():
    w = torch.tensor(2.0, requires_grad=True)
    loss = scale_grad(w**2, 1 / 6)
    loss.backward()
    assert loss.item() == 4.0 and w.grad.item() == pytest.approx(4.0 / 6)


def test_refuses_other_neurons_and_mismatched_passes():
    hard = timm.create_model("spiking_resnet18_cifar", num_classes=10, width=4, T=2)  # hard reset
    with pytest.raises(RateBPError, match="soft reset with detach_reset=True"):
        RateBP(hard)
    with pytest.raises(RateBPError, match="no LIF"):
        RateBP(nn.Linear(2, 2))
    model = _resnet(T=2)
    rbp = RateBP(model)
    with pytest.raises(RateBPError, match="more often than the spike pass"):
        with rbp.rate_pass():
            model(torch.randn(2, 3, 32, 32).unsqueeze(0))
    with torch.no_grad(), rbp.spike_pass():
        model(torch.randn(2, 3, 32, 32))
    with pytest.raises(RateBPError, match="time-mean input"):
        with rbp.rate_pass():
            model(torch.randn(2, 3, 32, 32))  # 4-D: repeated T times, not collapsed
    # after a pass the modules are plain again: eval is the ordinary spiking forward
    assert "forward" not in model.conv0[2].__dict__


def test_config_refuses_rate_bp_with_an_unsupported_neuron_before_any_compute():
    ok = dict(T=6, lif_decay=0.2, lif_decay_input=False, lif_v_reset=None, lif_detach_reset=True,
              train_step="rate_bp")
    Config(**ok)
    with pytest.raises(ValueError, match="lif_v_reset=None"):
        Config(**{**ok, "lif_v_reset": 0.0})
    with pytest.raises(ValueError, match="lif_detach_reset"):
        Config(**{**ok, "lif_detach_reset": False})
    with pytest.raises(ValueError, match="distill=.temporal. supports train_step bptt, not .rate_bp."):
        Config(**{**ok, "distill": "temporal", "twkl_alpha": 0.0, "twsd_beta": 0.5,
                  "self_teacher": "ensemble"})
    with pytest.raises(ValueError, match="train_step 'rbp'"):
        Config(train_step="rbp")


def test_the_config_knows_exactly_the_engines_training_steps():
    from replicate.config import TRAIN_STEP_NAMES
    from replicate.train.steps import TRAIN_STEPS
    assert set(TRAIN_STEP_NAMES) == set(TRAIN_STEPS)


def test_the_step_logs_the_plain_loss_and_backpropagates_one_T_th_of_it():
    torch.manual_seed(2)
    x, y = torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))
    a = _resnet(T=3).train()
    b = copy.deepcopy(a)
    rbp = RateBP(a)  # the two passes by hand, loss unscaled
    with torch.no_grad(), rbp.spike_pass():
        a(x)
    with rbp.rate_pass():
        loss = F.cross_entropy(a(x.unsqueeze(0))[0], y)
    loss.backward()
    terms = rate_bp_step(StepContext(b), x, F.one_hot(y, 10).float())
    terms["ce"].backward()
    assert terms["ce"].item() == pytest.approx(loss.item(), rel=1e-5)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pb.grad * 3, pa.grad, atol=1e-6, rtol=1e-4)


def _spike_pass_records(model, x, monkeypatch, fused: str, bn_stats=None):
    monkeypatch.setenv("REPLICATE_FUSED_LIF", fused)
    rbp = RateBP(model, bn_stats=bn_stats)
    with torch.no_grad(), rbp.spike_pass():
        out = model(x)
    return out, [r for m in rbp._lif_mem.values() for r in m], [r for m in rbp._bn_mem.values() for r in m]


def test_fused_spike_pass_is_bit_identical_to_the_python_loop(monkeypatch):
    """The C++ spike pass (replicate.fused_lif.ratebp_spike_pass) gives the Python loop's spikes,
    rates and eligibilities bit for bit, on a real net at T = 4."""
    from replicate import fused_lif
    if not fused_lif.available():
        pytest.skip("no C++ toolchain for the fused LIF here")
    model = _resnet(4)
    x = torch.randn(3, 3, 32, 32)
    out0, lif0, _ = _spike_pass_records(model, x, monkeypatch, "0")
    out1, lif1, _ = _spike_pass_records(model, x, monkeypatch, "1")
    assert torch.equal(out0, out1) and len(lif0) == len(lif1) == 17
    for (r0, e0), (r1, e1) in zip(lif0, lif1):
        assert torch.equal(r0.view(torch.int32), r1.view(torch.int32))
        assert torch.equal(e0.view(torch.int32), e1.view(torch.int32))
        assert e0.abs().sum() > 0


def test_batchnorm_statistics_match_tensor_var_to_float_rounding(monkeypatch):
    """ratebp_bn_stats='batchnorm': spike-pass outputs identical, the recorded BN mean/variance
    within 1e-6 (relative) of Tensor.mean/var and both as close to float64 as each other; one
    step's gradients within 1e-4 relative (measured: see the printed figure)."""
    model = _resnet(4)
    x = torch.randn(8, 3, 32, 32)
    out0, _, bn0 = _spike_pass_records(copy.deepcopy(model), x, monkeypatch, "1")
    out1, _, bn1 = _spike_pass_records(copy.deepcopy(model), x, monkeypatch, "1", "batchnorm")
    assert torch.equal(out0, out1) and len(bn0) == len(bn1) > 0
    for (m0, v0), (m1, v1) in zip(bn0, bn1):
        assert torch.allclose(m1, m0, rtol=1e-6, atol=1e-6) and torch.allclose(v1, v0, rtol=1e-6)

    target = F.one_hot(torch.arange(8) % 10, 10).float()
    grads = []
    for stats in (None, "batchnorm"):
        m = copy.deepcopy(model)
        ctx = StepContext(m, ratebp_bn_stats=stats)
        sum(rate_bp_step(ctx, x, target).values()).backward()
        grads.append(torch.cat([p.grad.flatten() for p in m.parameters()]))
    rel = float((grads[1] - grads[0]).norm() / grads[0].norm())
    print(f"rate-BP gradient, batchnorm vs Tensor.var statistics: relative L2 difference {rel:.2e}")
    assert 0 <= rel < 1e-4


def test_bn_stats_option_is_hashed_only_when_set_and_checked():
    ok = dict(T=6, lif_decay=0.2, lif_decay_input=False, lif_v_reset=None, lif_detach_reset=True,
              train_step="rate_bp")
    base = Config(**ok)
    assert Config(**ok, ratebp_bn_stats=None).hash == base.hash
    assert Config(**ok, ratebp_bn_stats="batchnorm").hash != base.hash
    with pytest.raises(ValueError, match="ratebp_bn_stats 'welford'"):
        Config(**ok, ratebp_bn_stats="welford")
    with pytest.raises(ValueError, match="train_step='rate_bp' only"):
        Config(ratebp_bn_stats="batchnorm")
    with pytest.raises(RateBPError, match="bn_stats"):
        RateBP(_resnet(2), bn_stats="fast")
