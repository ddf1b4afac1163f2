"""Tests for replicate.distill (BKDSNN spec §1.3-1.7)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from replicate.distill import BKD, WSLD, Mixed, channel_mask, registry
from replicate.models.output import ModelOutput


# ----------------------------------------------------------------------------- WSLD
def _np_log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _np_wsld(zs: np.ndarray, zt: np.ndarray, y: np.ndarray, tau: float) -> float:
    """Independent float64 reference of spec §1.6."""
    p_t = np.exp(_np_log_softmax(zt / tau))
    kd = -(p_t * _np_log_softmax(zs / tau)).sum(1)
    ce_s = -(y * _np_log_softmax(zs)).sum(1)
    ce_t = -(y * _np_log_softmax(zt)).sum(1)
    w = 1.0 - np.exp(-np.maximum(ce_s / (ce_t + 1e-7), 0.0))
    return float(tau**2 * (w * kd).mean())


# 2 samples, 3 classes; student has T = 2 steps whose mean is ZS_MEAN.
ZS_STEPS = np.array(
    [[[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]],
     [[3.0, 1.0, 0.0], [0.5, 0.0, 1.0]]]
)  # [T=2, B=2, K=3]
ZS_MEAN = ZS_STEPS.mean(0)  # [[2, 0.5, -0.5], [0.5, 1, 0.5]]
ZT = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, -1.0]])
LABELS = np.array([0, 1])


def _outputs(zs=ZS_STEPS, zt=ZT, student_grad=False, teacher_grad=False):
    s = torch.tensor(zs, dtype=torch.float32, requires_grad=student_grad)
    t = torch.tensor(zt, dtype=torch.float32, requires_grad=teacher_grad)
    return ModelOutput(logits=s), ModelOutput(logits=t), s, t


def test_wsld_hand_formula_written_out():
    # Sample 0 at tau=1 (weight), tau=2 (KD), spelled out explicitly.
    zs, zt = ZS_MEAN[0], ZT[0]
    lse = lambda v: math.log(sum(math.exp(x) for x in v))  # noqa: E731
    ce_s = lse(zs) - zs[0]
    ce_t = lse(zt) - zt[0]
    w = 1 - math.exp(-ce_s / (ce_t + 1e-7))
    p_t = [math.exp(x / 2) / sum(math.exp(v / 2) for v in zt) for x in zt]
    kd = -sum(p * (x / 2 - lse(zs / 2)) for p, x in zip(p_t, zs))
    expected0 = 4 * w * kd
    student, teacher, _, _ = _outputs(zs=ZS_STEPS[:, :1], zt=ZT[:1])
    got = WSLD(kd_temperature=2.0)(student, teacher, torch.tensor([0]))["wsld"]
    assert got.shape == ()
    assert got.item() == pytest.approx(expected0, rel=1e-5)


@pytest.mark.parametrize("tau", [1.0, 2.0, 4.0])
def test_wsld_matches_numpy_reference(tau):
    student, teacher, _, _ = _outputs()
    got = WSLD(kd_temperature=tau)(student, teacher, torch.tensor(LABELS))["wsld"].item()
    y = np.eye(3)[LABELS]
    assert got == pytest.approx(_np_wsld(ZS_MEAN, ZT, y, tau), rel=1e-5)


def test_wsld_tau_squared_and_weight_factor():
    # Equal student/teacher logits: CE ratio 1 -> w = 1 - e^-1, KD = entropy of softmax(z/tau).
    z = np.array([[1.0, -0.5, 0.25]])
    student, teacher, _, _ = _outputs(zs=z[None], zt=z)
    for tau in (1.0, 3.0):
        p = np.exp(_np_log_softmax(z / tau))
        entropy = float(-(p * np.log(p)).sum())
        got = WSLD(kd_temperature=tau, kd_weight=0.5)(student, teacher, torch.tensor([2]))["wsld"].item()
        assert got == pytest.approx(0.5 * tau**2 * (1 - math.exp(-1)) * entropy, rel=1e-5)


def test_wsld_weight_small_when_student_much_better():
    # Student confident and right (CE ~ 1e-4), teacher wrong (CE ~ 3): w ~ 3e-5.
    good = np.array([[[10.0, 0.0, 0.0]]])
    bad = np.array([[0.0, 0.0, 3.0]])
    student, teacher, _, _ = _outputs(zs=good, zt=bad)
    loss = WSLD(kd_temperature=2.0)(student, teacher, torch.tensor([0]))["wsld"].item()
    p_t = np.exp(_np_log_softmax(bad / 2))
    kd = float(-(p_t * _np_log_softmax(good[0] / 2)).sum())
    assert kd > 1.0
    assert 0 < loss / (4 * kd) < 1e-3
    # Reverse roles: student wrong, teacher right -> weight close to 1.
    student, teacher, _, _ = _outputs(zs=bad[None], zt=good[0])
    loss = WSLD(kd_temperature=2.0)(student, teacher, torch.tensor([0]))["wsld"].item()
    p_t = np.exp(_np_log_softmax(good[0] / 2))
    kd = float(-(p_t * _np_log_softmax(bad / 2)).sum())
    assert loss / (4 * kd) > 0.99


def test_wsld_gradient_to_student_only():
    student, teacher, s, t = _outputs(student_grad=True, teacher_grad=True)
    WSLD()(student, teacher, torch.tensor(LABELS))["wsld"].backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None or torch.all(t.grad == 0)


def test_wsld_int_and_onehot_soft_targets_agree():
    student, teacher, _, _ = _outputs()
    wsld = WSLD()
    a = wsld(student, teacher, torch.tensor(LABELS))["wsld"]
    b = wsld(student, teacher, torch.eye(3)[LABELS])["wsld"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    # A genuinely soft target also works and matches the reference.
    y = np.array([[0.8, 0.1, 0.1], [0.05, 0.9, 0.05]])
    c = wsld(student, teacher, torch.tensor(y, dtype=torch.float32))["wsld"].item()
    assert c == pytest.approx(_np_wsld(ZS_MEAN, ZT, y, 2.0), rel=1e-5)


def test_wsld_bad_target_shape_raises():
    student, teacher, _, _ = _outputs()
    with pytest.raises(ValueError):
        WSLD()(student, teacher, torch.zeros(2, 4))
    with pytest.raises(ValueError):
        WSLD()(student, teacher, torch.zeros(2))  # float [B] is not labels


# ----------------------------------------------------------------------------- BKD
def test_channel_mask_ratio_and_values():
    g = torch.Generator().manual_seed(0)
    m = channel_mask(200, 256, 0.15, generator=g)  # 51,200 draws: sd of the fraction ~ 0.0016
    assert m.shape == (200, 256, 1, 1)
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    assert abs((m == 0).float().mean().item() - 0.15) < 0.01
    m4 = channel_mask(200, 256, 0.4, generator=g)
    assert abs((m4 == 0).float().mean().item() - 0.4) < 0.01
    assert channel_mask(4, 8, 0.0).min() == 1 and channel_mask(4, 8, 1.0).max() == 0
    with pytest.raises(ValueError):
        channel_mask(2, 2, 1.5)


def test_channel_mask_uses_global_rng():
    torch.manual_seed(3)
    a = channel_mask(8, 64, 0.5)
    torch.manual_seed(3)
    b = channel_mask(8, 64, 0.5)
    c = channel_mask(8, 64, 0.5)
    assert torch.equal(a, b) and not torch.equal(b, c)


class _Recorder(nn.Module):
    def forward(self, x):
        self.seen = x.detach().clone()
        return x


def test_bkd_masks_whole_channels_per_sample():
    torch.manual_seed(0)
    bkd = BKD(16, 16, bkd_mask_ratio=0.5, pooled=False)
    bkd.generation = _Recorder()
    feat = torch.ones(4, 16, 5, 5)
    bkd(ModelOutput(torch.zeros(1, 4, 3), feat), ModelOutput(torch.zeros(4, 3), torch.zeros(4, 16, 5, 5)), None)
    seen = bkd.generation.seen
    per_channel = seen.flatten(2)
    assert torch.all(per_channel.amin(2) == per_channel.amax(2))  # constant over H, W
    assert set(seen.unique().tolist()) == {0.0, 1.0}  # zeroed or kept, not rescaled
    assert not torch.equal(seen[0], seen[1])  # independent per sample (prob. 2^-16 to fail)


def test_bkd_zero_loss_when_restoration_equals_teacher():
    torch.manual_seed(0)
    bkd = BKD(6, 4, bkd_mask_ratio=0.15)
    t = torch.tensor([0.5, -1.25, 2.0, 0.0])
    with torch.no_grad():
        bkd.generation[2].weight.zero_()
        bkd.generation[2].bias.copy_(t)
    out = bkd(ModelOutput(torch.zeros(1, 3, 2), torch.randn(3, 6, 4, 4)),
              ModelOutput(torch.zeros(3, 2), t.expand(3, 4).clone()), None)
    assert out["bkd"].item() == 0.0


def test_bkd_hand_value_without_mask_and_generation():
    bkd = BKD(3, 2, bkd_mask_ratio=0.0, bkd_alpha=0.1)
    bkd.generation = nn.Identity()
    w = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]])
    bias = np.array([0.25, -1.0])
    with torch.no_grad():
        bkd.align.weight.copy_(torch.tensor(w).view(2, 3, 1, 1))
        bkd.align.bias.copy_(torch.tensor(bias))
    rng = np.random.default_rng(0)
    f = rng.normal(size=(2, 3, 2, 3))
    t = rng.normal(size=(2, 2))
    pooled = np.einsum("oc,bchw->bo", w, f) / 6 + bias  # pool(align(F))
    expected = 0.1 * ((pooled - t) ** 2).sum() / 2
    got = bkd(ModelOutput(torch.zeros(1, 2, 5), torch.tensor(f, dtype=torch.float32)),
              ModelOutput(torch.zeros(2, 5), torch.tensor(t, dtype=torch.float32)), None)["bkd"]
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_bkd_gradients():
    torch.manual_seed(0)
    bkd = BKD(8, 12, bkd_mask_ratio=0.15)
    f = torch.randn(3, 8, 4, 4, requires_grad=True)
    t = torch.randn(3, 12, requires_grad=True)
    bkd(ModelOutput(torch.zeros(2, 3, 5), f), ModelOutput(torch.zeros(3, 5), t), torch.tensor([0, 1, 2]))["bkd"].backward()
    assert t.grad is None
    assert f.grad is not None and f.grad.abs().sum() > 0
    for name, p in bkd.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_bkd_param_counts_match_spec():
    b = BKD(256, 384)
    assert b.param_counts() == {"generation": 2_654_976, "align": 98_688}
    b = BKD(384, 384)
    assert isinstance(b.align, nn.Identity)
    assert b.param_counts() == {"generation": 2_654_976, "align": 0}
    assert b.param_counts() == BKD.expected_param_counts(384, 384)
    # Remaining spec §1.4 numbers via the formula.
    assert BKD.expected_param_counts(384, 768) == {"generation": 10_618_368, "align": 295_680}
    assert BKD.expected_param_counts(512, 768)["align"] == 393_984
    assert BKD.expected_param_counts(256, 256)["generation"] == 1_180_160


def test_bkd_map_variant_and_shape_errors():
    torch.manual_seed(0)
    bkd = BKD(4, 6, pooled=False, bkd_alpha=1.0)
    f = torch.randn(2, 4, 3, 3)
    t_map = torch.randn(2, 6, 3, 3)
    s = ModelOutput(torch.zeros(1, 2, 3), f)
    torch.manual_seed(5)
    loss = bkd(s, ModelOutput(torch.zeros(2, 3), t_map), None)["bkd"]
    torch.manual_seed(5)
    g = bkd.restore(f)
    assert g.shape == (2, 6, 3, 3)
    torch.testing.assert_close(loss, ((g - t_map) ** 2).sum() / 2)
    with pytest.raises(ValueError):
        bkd(s, ModelOutput(torch.zeros(2, 3), torch.randn(2, 6)), None)
    with pytest.raises(ValueError):
        BKD(4, 6)(s, ModelOutput(torch.zeros(2, 3), t_map), None)
    with pytest.raises(ValueError):
        bkd(ModelOutput(torch.zeros(1, 2, 3)), ModelOutput(torch.zeros(2, 3), t_map), None)


def test_bkd_computes_in_eval_and_no_grad():
    torch.manual_seed(0)
    bkd = BKD(4, 4).eval()
    with torch.no_grad():
        out = bkd(ModelOutput(torch.zeros(1, 2, 3), torch.randn(2, 4, 3, 3)),
                  ModelOutput(torch.zeros(2, 3), torch.randn(2, 4)), None)
    assert torch.isfinite(out["bkd"]) and out["bkd"] > 0


# ----------------------------------------------------------------------------- Mixed / registry
def _mixed_inputs():
    g = torch.Generator().manual_seed(11)
    s = ModelOutput(torch.randn(4, 3, 10, generator=g), torch.randn(3, 8, 4, 4, generator=g))
    t = ModelOutput(torch.randn(3, 10, generator=g), torch.randn(3, 16, generator=g))
    return s, t, torch.tensor([1, 4, 9])


def test_mixed_equals_bkd_plus_wsld():
    torch.manual_seed(0)
    mixed = Mixed(8, 16, bkd_mask_ratio=0.5, bkd_alpha=2e-3, kd_temperature=2.0, kd_weight=0.7)
    bkd = BKD(8, 16, bkd_mask_ratio=0.5, bkd_alpha=2e-3)
    bkd.load_state_dict(mixed.bkd.state_dict())
    wsld = WSLD(kd_temperature=2.0, kd_weight=0.7)
    s, t, y = _mixed_inputs()
    torch.manual_seed(42)
    out = mixed(s, t, y)
    assert set(out) == {"bkd", "wsld"}
    torch.manual_seed(42)
    ref_bkd = bkd(s, t, y)["bkd"]
    ref_wsld = wsld(s, t, y)["wsld"]
    torch.testing.assert_close(out["bkd"], ref_bkd, rtol=0, atol=0)
    torch.testing.assert_close(out["wsld"], ref_wsld, rtol=0, atol=0)
    torch.manual_seed(43)  # a different mask gives a different BKD value
    assert mixed(s, t, y)["bkd"] != out["bkd"]


def test_needs_feature_flags():
    assert WSLD.needs_feature is False
    assert BKD.needs_feature is True and Mixed.needs_feature is True


def test_registry_builds_each_bkdsnn_method_from_a_config():
    """from_config reads the config's own field names and probes the feature channels."""
    from types import SimpleNamespace

    cfg = SimpleNamespace(bkd_mask_ratio=0.4, bkd_alpha=7e-3, kd_temperature=4.0, kd_weight=0.5)
    ctx = SimpleNamespace(feature_shapes=lambda: (8, 16, True))
    w = registry.get("wsld").from_config(cfg, ctx)
    assert isinstance(w, WSLD) and (w.temperature, w.weight) == (4.0, 0.5)
    b = registry.get("bkd").from_config(cfg, ctx)
    assert isinstance(b, BKD) and (b.mask_ratio, b.alpha, b.student_channels, b.teacher_channels) == (0.4, 7e-3, 8, 16)
    m = registry.get("mixed").from_config(cfg, ctx)
    assert isinstance(m, Mixed) and m.bkd.alpha == 7e-3 and m.wsld.temperature == 4.0 and m.wsld.weight == 0.5
    assert {"wsld", "bkd", "mixed", "temporal", "standard_kd", "esd"} <= set(registry.names())
    assert registry.names()[0] == "none"
    with pytest.raises(ValueError, match="unknown distiller 'mixd'; did you mean 'mixed'"):
        registry.get("mixd")
