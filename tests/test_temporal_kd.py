"""Temporally decoupled logit KD (spec-logitkd-selfdistill §2.1–2.3), standard KD and prefix top-1
(§2.4), checked on hand-made logits against values written out by hand / in float64 numpy."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from replicate.distill import StandardKD, TemporalKD, self_teacher
from replicate.distill.temporal import kd_divergence
from replicate.models.output import ModelOutput
from replicate.prefix import prefix_correct, prefix_top1

# T = 3 steps, B = 2 samples, K = 3 classes. Labels (0, 1).
# Sample 0: argmax per step = 0, 1, 0 → correct at t = 0 and t = 2.
# Sample 1: argmax per step = 2, 0, 2 → never correct (label 1).
Z = np.array(
    [
        [[2.0, 1.0, 0.0], [0.0, 1.0, 3.0]],
        [[0.0, 3.0, 1.0], [1.0, 0.0, 0.5]],
        [[1.0, 0.0, -1.0], [0.0, 0.5, 2.0]],
    ]
)
ZA = np.array([[1.5, 0.5, -1.0], [-0.5, 2.0, 0.0]])  # ANN teacher [B, K]
Y = np.array([0, 1])
ZHAT_CORRECT = np.array([[1.5, 0.5, -0.5], [0.0, 0.0, 0.0]])  # mean of steps 0, 2 | none correct
ZHAT_ENSEMBLE = Z.mean(0)  # [[1, 4/3, 0], [1/3, 1/2, 11/6]]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _np_kd(zs: np.ndarray, zt: np.ndarray, tau: float) -> float:
    """τ² · mean over (t, b) of KL(softmax(zt/τ) ‖ softmax(zs/τ)); zt [B, K] broadcasts over t."""
    log_q = _log_softmax(zt / tau)
    kl = (np.exp(log_q) * (log_q - _log_softmax(zs / tau))).sum(-1)
    return float(tau**2 * np.broadcast_to(kl, zs.shape[:-1]).mean())


def _np_twce(z: np.ndarray, y_soft: np.ndarray) -> float:
    return float(-(y_soft * _log_softmax(z)).sum(-1).mean())


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float32, requires_grad=grad)


def _outs(grad=False):
    s, t = _t(Z, grad), _t(ZA, grad)
    return ModelOutput(logits=s), ModelOutput(logits=t), s, t


# --------------------------------------------------------------------------- self-teacher
def test_self_teacher_values():
    z = _t(Z, grad=True)
    y = torch.tensor(Y)
    correct = self_teacher(z, y, "correct_only")
    ens = self_teacher(z, y, "ensemble")
    torch.testing.assert_close(correct, _t(ZHAT_CORRECT))
    torch.testing.assert_close(ens, _t(ZHAT_ENSEMBLE))
    assert torch.equal(correct[1], torch.zeros(3))  # no correct step → exactly the zero vector
    assert not correct.requires_grad and not ens.requires_grad  # detached
    # all steps correct → correct_only equals the ensemble (up to the 1e-8 in the count)
    all_right = _t(np.array([[[3.0, 0.0, 1.0]], [[2.0, 1.0, 0.0]]]))
    torch.testing.assert_close(self_teacher(all_right, torch.tensor([0]), "correct_only"),
                               self_teacher(all_right, torch.tensor([0]), "ensemble"))
    # a soft target is reduced to its argmax class
    soft = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    torch.testing.assert_close(self_teacher(z, soft, "correct_only"), correct)
    with pytest.raises(ValueError):
        self_teacher(z, y, "mean")
    with pytest.raises(ValueError):
        self_teacher(z[0], y)


# --------------------------------------------------------------------------- KD_τ
def test_kd_divergence_written_out_by_hand():
    # one student row against one teacher row, τ = 2
    zs, zt, tau = [1.0, 0.0, -1.0], [0.0, 2.0, 0.0], 2.0
    lse = lambda v: math.log(sum(math.exp(x) for x in v))  # noqa: E731
    q = [math.exp(x / tau - lse([v / tau for v in zt])) for x in zt]
    log_p = [x / tau - lse([v / tau for v in zs]) for x in zs]
    expected = tau**2 * sum(qk * (math.log(qk) - lp) for qk, lp in zip(q, log_p))
    got = kd_divergence(_t([zs]), _t([zt]), tau)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    assert kd_divergence(_t([zs]), _t([zs]), tau).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError):
        kd_divergence(_t([zs]), _t([zt]), 0.0)
    with pytest.raises(ValueError):
        kd_divergence(_t(Z), _t(ZA[:, :2]), 1.0)


# --------------------------------------------------------------------------- TemporalKD
@pytest.mark.parametrize("mode,zhat", [("correct_only", ZHAT_CORRECT), ("ensemble", ZHAT_ENSEMBLE)])
@pytest.mark.parametrize("tau", [1.0, 3.0])
def test_temporal_kd_matches_reference(mode, zhat, tau):
    student, teacher, _, _ = _outs()
    kd = TemporalKD(twkl_alpha=0.2, twsd_beta=0.5, kd_temperature=tau, self_teacher=mode)
    out = kd(student, teacher, torch.tensor(Y))
    assert set(out) == {"twce", "twkl", "twsd"} and all(v.shape == () for v in out.values())
    assert out["twce"].item() == pytest.approx(_np_twce(Z, np.eye(3)[Y]), rel=1e-5)
    assert out["twkl"].item() == pytest.approx(0.2 * _np_kd(Z, ZA, tau), rel=1e-5)
    assert out["twsd"].item() == pytest.approx(0.5 * _np_kd(Z, zhat, tau), rel=1e-5)


def test_twce_is_mean_of_per_step_cross_entropy():
    student, teacher, s, _ = _outs()
    y = torch.tensor(Y)
    got = TemporalKD()(student, teacher, y)["twce"]
    per_step = torch.stack([F.cross_entropy(s[t], y) for t in range(3)]).mean()
    torch.testing.assert_close(got, per_step)
    # one-hot soft target gives the same; a real soft target is soft CE
    torch.testing.assert_close(TemporalKD()(student, teacher, torch.eye(3)[y])["twce"], per_step)
    soft = np.array([[0.8, 0.1, 0.1], [0.2, 0.6, 0.2]])
    got_soft = TemporalKD()(student, teacher, _t(soft))["twce"].item()
    assert got_soft == pytest.approx(_np_twce(Z, soft), rel=1e-5)


def test_zero_self_teacher_pulls_toward_uniform():
    """Sample 1 has no correct step: its TWSD target is softmax(0) = uniform (released code)."""
    tau = 3.0
    z1 = Z[:, 1:2]  # [T, 1, K]
    kd = TemporalKD(twkl_alpha=0.0, twsd_beta=1.0, kd_temperature=tau, include_twce=False)
    got = kd(ModelOutput(_t(z1)), None, torch.tensor([1]))["twsd"].item()
    expected = 0.0
    for t in range(3):
        log_p = _log_softmax(z1[t, 0] / tau)
        expected += tau**2 * sum((1 / 3) * (math.log(1 / 3) - lp) for lp in log_p) / 3
    assert got == pytest.approx(expected, rel=1e-5)
    assert got > 0
    # a uniform student at every step has zero TWSD for that sample
    flat = ModelOutput(torch.zeros(3, 1, 3))
    assert kd(flat, None, torch.tensor([1]))["twsd"].item() == pytest.approx(0.0, abs=1e-7)


def test_ensemble_and_correct_only_differ_only_where_they_should():
    student, teacher, _, _ = _outs()
    y = torch.tensor(Y)
    a = TemporalKD(self_teacher="correct_only")(student, teacher, y)
    b = TemporalKD(self_teacher="ensemble")(student, teacher, y)
    assert a["twce"] == b["twce"] and a["twkl"] == b["twkl"]
    assert abs(a["twsd"].item() - b["twsd"].item()) > 1e-3
    # a batch whose every step is correct: identical TWSD
    zs = _t(np.array([[[3.0, 0.0, 1.0], [0.0, 2.0, 1.0]], [[2.0, 1.0, 0.0], [0.5, 1.5, 0.0]]]))
    yy = torch.tensor([0, 1])
    s2 = ModelOutput(zs)
    t2 = ModelOutput(torch.zeros(2, 3))
    c = TemporalKD(self_teacher="correct_only")(s2, t2, yy)["twsd"]
    e = TemporalKD(self_teacher="ensemble")(s2, t2, yy)["twsd"]
    torch.testing.assert_close(c, e)


@pytest.mark.parametrize("mode", ["correct_only", "ensemble"])
def test_gradients_reach_only_the_student_and_self_teacher_is_constant(mode):
    tau = 3.0
    student, teacher, s, t = _outs(grad=True)
    kd = TemporalKD(twkl_alpha=0.0, twsd_beta=1.0, kd_temperature=tau, self_teacher=mode, include_twce=False)
    kd(student, teacher, torch.tensor(Y))["twsd"].backward()
    assert t.grad is None
    # if ẑ is a constant, d/dz_{t,b} τ² mean_{t,b} KL(q_b ‖ p_τ(z_{t,b})) = τ (p_τ(z_{t,b}) − q_b) / (T·B)
    zhat = ZHAT_CORRECT if mode == "correct_only" else ZHAT_ENSEMBLE
    p = np.exp(_log_softmax(Z / tau))
    q = np.exp(_log_softmax(zhat / tau))
    expected = tau * (p - q[None]) / (3 * 2)
    np.testing.assert_allclose(s.grad.numpy(), expected, rtol=1e-4, atol=1e-6)
    # the full loss also leaves the teacher untouched
    student, teacher, s, t = _outs(grad=True)
    sum(TemporalKD(self_teacher=mode)(student, teacher, torch.tensor(Y)).values()).backward()
    assert t.grad is None and s.grad is not None and s.grad.abs().sum() > 0


def test_weights_flags_and_errors():
    student, teacher, _, _ = _outs()
    y = torch.tensor(Y)
    one = TemporalKD(twkl_alpha=1.0, twsd_beta=1.0)(student, teacher, y)
    scaled = TemporalKD(twkl_alpha=0.3, twsd_beta=0.7)(student, teacher, y)
    torch.testing.assert_close(scaled["twkl"], 0.3 * one["twkl"])
    torch.testing.assert_close(scaled["twsd"], 0.7 * one["twsd"])
    no_ce = TemporalKD(include_twce=False)(student, teacher, y)
    assert set(no_ce) == {"twkl", "twsd"}
    # α = 0: no teacher needed, term is a constant 0
    out = TemporalKD(twkl_alpha=0.0)(student, None, y)
    assert out["twkl"].item() == 0.0 and not out["twkl"].requires_grad
    assert TemporalKD(twsd_beta=0.0)(student, teacher, y)["twsd"].item() == 0.0
    # an SNN teacher [T, B, K] is reduced to its T-mean
    snn_t = ModelOutput(_t(np.stack([ZA - 1.0, ZA + 1.0])))
    torch.testing.assert_close(TemporalKD()(student, snn_t, y)["twkl"], TemporalKD()(student, teacher, y)["twkl"])
    assert TemporalKD.needs_feature is False and StandardKD.needs_feature is False
    with pytest.raises(ValueError):
        TemporalKD()(student, None, y)
    with pytest.raises(ValueError):
        TemporalKD()(ModelOutput(_t(Z[0])), teacher, y)  # not [T, B, K]
    with pytest.raises(ValueError):
        TemporalKD()(student, ModelOutput(_t(ZA[:1])), y)
    with pytest.raises(ValueError):
        TemporalKD()(student, teacher, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError):
        TemporalKD(self_teacher="paper")
    with pytest.raises(ValueError):
        TemporalKD(kd_temperature=0)


# --------------------------------------------------------------------------- StandardKD
def test_standard_kd_on_mean_logits():
    student, teacher, s, t = _outs(grad=True)
    out = StandardKD(kd_temperature=3.0, kd_weight=0.2)(student, teacher, torch.tensor(Y))
    assert set(out) == {"kd"}
    assert out["kd"].item() == pytest.approx(0.2 * _np_kd(Z.mean(0), ZA, 3.0), rel=1e-5)
    # not the same as the per-timestep TWKL (KL is not linear in the logits)
    twkl = TemporalKD(twkl_alpha=0.2, kd_temperature=3.0)(student, teacher, torch.tensor(Y))["twkl"]
    assert abs(out["kd"].item() - twkl.item()) > 1e-3
    out["kd"].backward()
    assert t.grad is None and s.grad.abs().sum() > 0
    # the gradient is the same for every timestep (it only sees the mean)
    torch.testing.assert_close(s.grad[0], s.grad[2])
    with pytest.raises(ValueError):
        StandardKD()(student, ModelOutput(_t(ZA[:, :2])))


# --------------------------------------------------------------------------- prefix top-1
def test_prefix_top1_hand_made():
    # T = 3, B = 4, K = 2; labels 0, 0, 1, 1.
    logits = _t(np.array([
        [[1, 0], [0, 1], [0, 1], [1, 0]],   # step 1 → preds 0 1 1 0: correct b0, b2
        [[0, 3], [2, 0], [0, 1], [1, 0]],   # mean 1..2 → [.5,1.5] [1,.5] [0,1] [1,0]: b1, b2
        [[3, 0], [0, 0], [5, 0], [0, 5]],   # mean 1..3 sums [4,3] [2,1] [5,2] [2,5]: b0, b1, b3
    ]))
    labels = torch.tensor([0, 0, 1, 1])
    assert prefix_correct(logits, labels).tolist() == [2, 2, 3]
    assert prefix_top1(logits, labels) == [50.0, 50.0, 75.0]
    # the last budget is the usual top-1 of the T-mean
    assert prefix_top1(logits, labels)[-1] == 100.0 * (logits.mean(0).argmax(-1) == labels).float().mean().item()
    # ties go to the lowest class index (torch.argmax)
    assert prefix_top1(torch.zeros(1, 2, 2), torch.tensor([0, 1])) == [50.0]
    with pytest.raises(ValueError):
        prefix_top1(logits[0], labels)
    with pytest.raises(ValueError):
        prefix_top1(logits, labels.float())
    with pytest.raises(ValueError):
        prefix_top1(logits, labels[:3])
