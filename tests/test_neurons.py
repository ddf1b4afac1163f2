"""The LIF factory against a hand-written recurrence (forward spikes and input gradients)."""
from __future__ import annotations

import itertools
import math

import pytest
import torch
from spikingjelly.activation_based import functional, neuron, surrogate

from replicate.neurons import LIF, LIFSettings, make_lif, tau_from_decay

T = 5


class _HeavisideSpike(torch.autograd.Function):
    """Θ(u) forward (Θ(0) = 1); backward ``surrogate_grad(grad, u, α)``, the upstream gradient times
    the surrogate's derivative at u (u and the gradient any shape, e.g. ``[B, ...]``)."""

    @staticmethod
    def forward(ctx, u, alpha, surrogate_grad):
        ctx.save_for_backward(u)
        ctx.alpha = alpha
        ctx.surrogate_grad = surrogate_grad
        return (u >= 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad):
        (u,) = ctx.saved_tensors
        return ctx.surrogate_grad(grad, u, ctx.alpha), None, None


def _sigmoid_grad(grad, u, alpha):
    """grad · α·σ(αu)(1 − σ(αu)) (spikingjelly ``surrogate.Sigmoid``)."""
    s = torch.sigmoid(alpha * u)
    return grad * alpha * s * (1 - s)


def _atan_grad(grad, u, alpha):
    """grad · (α/2) / (1 + (π/2·α·u)²) (spikingjelly ``surrogate.ATan``)."""
    return grad * (alpha / 2) / (1 + (math.pi / 2 * alpha * u) ** 2)


def reference_lif(x, *, tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_grad, alpha):
    """The recurrence of spec-bkdsnn-cml §3.1 / spec-logitkd-selfdistill §1.1, written out."""
    v = torch.zeros_like(x[0]) + (0.0 if v_reset is None else v_reset)
    vr = 0.0 if v_reset is None else v_reset
    out = []
    for t in range(x.shape[0]):
        if decay_input:
            h = v + (x[t] - (v - vr)) / tau  # = V + (X − V)/τ for v_reset 0 / soft
        else:
            h = v - (v - vr) / tau + x[t]  # = λV + X, λ = 1 − 1/τ, for v_reset 0 / soft
        s = _HeavisideSpike.apply(h - v_threshold, alpha, surrogate_grad)
        s_r = s.detach() if detach_reset else s
        if v_reset is None:
            v = h - v_threshold * s_r
        else:
            v = (1 - s_r) * h + s_r * v_reset
        out.append(s)
    return torch.stack(out)


def _inputs(seed, shape=(T, 4, 3, 5)):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g) * 1.5 + 1.0
    up = torch.randn(shape, generator=g)
    return x, up


def _spikes_and_grad(fn, x, up):
    x = x.clone().requires_grad_(True)
    s = fn(x)
    (s * up).sum().backward()
    return s.detach(), x.grad


CASES = list(
    itertools.product(
        [0.0, None, 0.3],  # hard reset to 0, soft reset, hard reset to 0.3
        [True, False],  # detach_reset
        [True, False],  # decay_input
    )
)


@pytest.mark.parametrize("v_reset,detach_reset,decay_input", CASES)
def test_lif_matches_hand_written_recurrence(v_reset, detach_reset, decay_input):
    # decay_input=False is the λ-parameterised neuron of spec-logitkd §1.1 (λ = 0.5 → τ = 2);
    # use a second τ there so the two charge equations differ also in the leak.
    tau = 2.0 if decay_input else tau_from_decay(0.2)
    lif = make_lif(tau=tau, decay_input=decay_input, v_reset=v_reset, detach_reset=detach_reset)
    x, up = _inputs(seed=CASES.index((v_reset, detach_reset, decay_input)))
    s, g = _spikes_and_grad(lif, x, up)
    ref = lambda z: reference_lif(  # noqa: E731
        z, tau=tau, decay_input=decay_input, v_threshold=1.0, v_reset=v_reset,
        detach_reset=detach_reset, surrogate_grad=_sigmoid_grad, alpha=4.0,
    )
    s_ref, g_ref = _spikes_and_grad(ref, x, up)
    rate = s.mean().item()
    assert 0.05 < rate < 0.95, f"test input should make some (not all) neurons fire: {rate}"
    assert torch.equal(s, s_ref)
    assert torch.allclose(g, g_ref, atol=1e-6, rtol=1e-5), (g - g_ref).abs().max()
    # the gradient must actually flow through time (not just the diagonal surrogate term)
    assert g.abs().sum() > 0


def test_detach_reset_changes_gradient():
    """Sanity check that the test above can fail: the detach flag must matter."""
    x, up = _inputs(seed=7)
    _, g_det = _spikes_and_grad(make_lif(detach_reset=True), x, up)
    _, g_att = _spikes_and_grad(make_lif(detach_reset=False), x, up)
    assert not torch.allclose(g_det, g_att, atol=1e-4)


def test_atan_surrogate_and_threshold():
    lif = make_lif(surrogate="atan", surrogate_alpha=2.0, v_threshold=0.5, v_reset=None)
    x, up = _inputs(seed=3)
    s, g = _spikes_and_grad(lif, x, up)
    ref = lambda z: reference_lif(  # noqa: E731
        z, tau=2.0, decay_input=True, v_threshold=0.5, v_reset=None, detach_reset=True,
        surrogate_grad=_atan_grad, alpha=2.0,
    )
    s_ref, g_ref = _spikes_and_grad(ref, x, up)
    assert torch.equal(s, s_ref)
    assert torch.allclose(g, g_ref, atol=1e-6, rtol=1e-5)


def test_multi_step_equals_single_step_loop():
    kw = dict(tau=2.0, decay_input=True, v_threshold=1.0, v_reset=0.0, detach_reset=True)
    lif = make_lif(**kw)
    single = neuron.LIFNode(**kw, surrogate_function=surrogate.Sigmoid(alpha=4.0), step_mode="s")
    x, _ = _inputs(seed=11)
    s_multi = lif(x)
    s_loop = torch.stack([single(x[t]) for t in range(T)])
    functional.reset_net(single)
    assert torch.equal(s_multi, s_loop)


def test_state_is_reset_between_calls():
    lif = make_lif()
    x, _ = _inputs(seed=5)
    x2, _ = _inputs(seed=6)
    a = lif(x)
    b = lif(x)
    assert torch.equal(a, b)
    # a different batch shape after a call works, and a batch in between leaves no trace
    lif(x2[:, :2])
    assert torch.equal(lif(x), a)
    assert lif.v == 0.0 or (isinstance(lif.v, torch.Tensor) and not lif.v.any())


def test_shapes_and_binary_output():
    lif = make_lif()
    x = torch.randn(3, 2, 8, 4, 4) * 2
    s = lif(x)
    assert s.shape == x.shape and s.dtype == x.dtype
    assert set(s.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError):
        lif(torch.randn(4))
    with pytest.raises(ValueError):
        lif.step_mode = "s"


def test_tau_from_decay():
    assert tau_from_decay(0.5) == 2.0
    assert tau_from_decay(0.2) == pytest.approx(1.25)
    assert tau_from_decay(0.0) == 1.0
    for bad in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            tau_from_decay(bad)


def test_settings_and_errors():
    assert isinstance(make_lif(), LIF)
    with pytest.raises(ValueError, match="sigmoid"):
        make_lif(surrogate="triangle")
    with pytest.raises(ValueError, match="tau"):
        make_lif(tau=1.0)
    with pytest.raises(ValueError):
        LIFSettings(surrogate_alpha=0.0)
    # "soft" is an alias of None (timm.create_model drops None-valued kwargs)
    assert LIFSettings(v_reset="soft").v_reset is None
    assert LIFSettings(v_reset=0).v_reset == 0.0
    with pytest.raises(ValueError):
        LIFSettings(v_reset="hardish")
    s = LIFSettings(tau=1.25, decay_input=False, v_reset=None, detach_reset=False, surrogate="ATan")
    lif = s.build(v_threshold=0.5)
    assert (lif.tau, lif.decay_input, lif.v_threshold, lif.v_reset, lif.detach_reset) == (
        1.25, False, 0.5, None, False
    )
    assert isinstance(lif.surrogate_function, surrogate.ATan)
    assert s.v_threshold == 1.0  # build overrides do not mutate the settings
    kw = dict(tau=3.0, v_reset=None, surrogate_alpha=2.0)
    a, b = make_lif(**kw), LIFSettings(**kw).build()
    assert repr(a) == repr(b)
    with pytest.raises(Exception):
        s.tau = 4.0  # frozen


def test_half_precision_input_is_integrated_in_fp32():
    """Under autocast the LIF gets bf16/fp16 currents; the membrane stays fp32, spikes keep the
    input dtype and equal the fp32 result on the same (rounded) input."""
    x, up = _inputs(seed=9)
    xb = x.to(torch.bfloat16)
    lif = make_lif()
    s_half, g_half = _spikes_and_grad(lif, xb, up.to(torch.bfloat16))
    s_full, g_full = _spikes_and_grad(lif, xb.float(), up.to(torch.bfloat16).float())
    assert s_half.dtype == torch.bfloat16 and g_half.dtype == torch.bfloat16
    assert torch.equal(s_half.float(), s_full)
    assert torch.allclose(g_half.float(), g_full, atol=1e-2, rtol=1e-2)
