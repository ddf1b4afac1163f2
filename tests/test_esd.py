"""Enhanced self-distillation (spec-logitkd-selfdistill §4.1–4.3): branches, teacher, loss, ESD."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from replicate.distill.esd import (
    ESD,
    Branch,
    DeepConv,
    StdConvBlock,
    reliable_teacher,
    self_distillation_loss,
)
from replicate.models.output import ModelOutput


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These tensors are tiny: a second intra-op thread only adds contention on a busy CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# ---------------------------------------------------------------- branch geometry (§4.1)

def test_deepconv_shape_ceil_half():
    dc = DeepConv(4, 8)
    assert dc(torch.randn(2, 4, 7, 6)).shape == (2, 8, 4, 3)
    assert StdConvBlock(8)(torch.randn(2, 8, 5, 5)).shape == (2, 8, 5, 5)


def test_cifar_resnet18_branch_shapes():
    k = 10
    for c, hw in [(64, 32), (128, 16), (256, 8)]:
        br = Branch(c, 512, k)
        assert br(torch.randn(2, c, hw, hw)).shape == (2, k)


def test_dvs_48_branch_last_map_6x6_avg4():
    br = Branch(64, 512, 10)
    x = torch.randn(2, 64, 48, 48)
    assert br.features(x).shape[-2:] == (6, 6)
    assert br(x).shape == (2, 10)


def test_avg4_keeps_top_left_window_only():
    br = Branch(4, 8, 3).eval()
    h = torch.randn(2, 8, 7, 7)
    pooled = br.pool(h).flatten(1)
    assert torch.allclose(pooled, h[:, :, :4, :4].mean((-2, -1)), atol=1e-6)


def test_avg4_too_large_map_raises_adaptive_works():
    br = Branch(16, 32, 5)  # one DeepConv: 16×16 → 8×8, AvgPool(4) → 2×2
    with pytest.raises(ValueError, match="8×8.*adaptive"):
        br(torch.randn(2, 16, 16, 16))
    br = Branch(16, 32, 5, pool="adaptive")
    assert br(torch.randn(2, 16, 16, 16)).shape == (2, 5)


def test_branch_std_blocks_and_bad_geometry():
    br = Branch(8, 32, 3, std_blocks=True)
    assert sum(isinstance(m, StdConvBlock) for m in br.features) == 2
    assert br(torch.randn(2, 8, 16, 16)).shape == (2, 3)
    for c in (48, 512, 0):
        with pytest.raises(ValueError):
            Branch(c, 512, 10)
    with pytest.raises(ValueError):
        Branch(64, 512, 10, pool="max")


def _deepconv_params(cin: int, cout: int) -> int:
    dw = 9 * cin
    return dw + cin * cin + 2 * cin + dw + cin * cout + 2 * cout + cin * cout + 2 * cout


def test_cifar_branch_parameter_count():
    k = 100
    fc = 512 * k + k
    dc = {c: _deepconv_params(c, 2 * c) for c in (64, 128, 256)}
    expected = [dc[64] + dc[128] + dc[256] + fc, dc[128] + dc[256] + fc, dc[256] + fc]
    esd = ESD(num_classes=k)
    got = [sum(p.numel() for p in br.parameters()) for br in esd.branches]
    assert got == expected
    assert sum(p.numel() for p in esd.parameters()) == sum(expected)
    hand = 0.49e6 + 0.47e6 + 0.39e6
    assert abs(sum(got) - hand) / hand < 0.03
    assert all(abs(g - h) / h < 0.03 for g, h in zip(got, (0.49e6, 0.47e6, 0.39e6)))


# ---------------------------------------------------------------- teacher (§4.2)

def test_reliable_teacher_hand_cases():
    # E=4 exits, B=3 samples, K=3; labels 0, 1, 2.
    z = torch.zeros(4, 3, 3)
    # sample 0 (y=0): exits 0 and 3 correct, exits 1 and 2 predict class 1.
    z[0, 0] = torch.tensor([3.0, 1.0, 0.0])
    z[1, 0] = torch.tensor([0.0, 2.0, 1.0])
    z[2, 0] = torch.tensor([1.0, 4.0, 0.0])
    z[3, 0] = torch.tensor([5.0, 0.0, -1.0])
    # sample 1 (y=1): only exit 2 correct.
    z[0, 1] = torch.tensor([2.0, 1.0, 0.0])
    z[1, 1] = torch.tensor([0.0, 1.0, 3.0])
    z[2, 1] = torch.tensor([0.5, 2.5, -1.0])
    z[3, 1] = torch.tensor([4.0, 0.0, 0.0])
    # sample 2 (y=2): all wrong.
    z[:, 2] = torch.tensor([1.0, 0.0, -1.0])
    y = torch.tensor([0, 1, 2])
    t, rel = reliable_teacher(z.requires_grad_(), y)
    assert not t.requires_grad
    assert rel.tolist() == [True, True, False]
    assert torch.allclose(t[0], (z[0, 0] + z[3, 0]).detach() / 2, atol=1e-6)
    assert torch.allclose(t[1], z[2, 1].detach(), atol=1e-6)
    assert torch.equal(t[2], torch.zeros(3))
    with pytest.raises(ValueError):
        reliable_teacher(z, y.float())


# ---------------------------------------------------------------- loss (§4.2)

def _np_kl_sum_over_exits(z: np.ndarray, teacher: np.ndarray, reliable: list[bool], tau: float) -> float:
    def softmax(v):
        e = np.exp(v - v.max())
        return e / e.sum()

    total = 0.0
    for e in range(z.shape[0]):
        vals = []
        for i in range(z.shape[1]):
            if not reliable[i]:
                continue
            q = softmax(teacher[i] / tau)
            p = softmax(z[e, i] / tau)
            vals.append(float(np.sum(q * (np.log(q) - np.log(p)))))
        total += tau**2 * sum(vals) / len(vals)
    return total


def test_self_distillation_loss_hand_value_excludes_unreliable():
    z = np.array([[[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]],
                  [[2.0, 0.0, 1.0], [5.0, 5.0, 5.0]]], dtype=np.float64)  # [E=2, B=2, K=3]
    teacher = np.array([[1.5, 1.0, 0.75], [0.0, 0.0, 0.0]])
    tau = 3.0
    ref = _np_kl_sum_over_exits(z, teacher, [True, False], tau)
    got = self_distillation_loss(torch.tensor(z, dtype=torch.float32),
                                 torch.tensor(teacher, dtype=torch.float32),
                                 torch.tensor([True, False]), tau)
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(ref, rel=1e-5)
    # the mean over the reliable samples differs from a mean over the whole batch
    ref_all = _np_kl_sum_over_exits(z, teacher, [True, True], tau)
    assert abs(ref - ref_all) > 1e-3


def test_self_distillation_loss_no_reliable_is_exact_zero_with_zero_grads():
    z = torch.randn(4, 3, 5, requires_grad=True)
    # make every exit wrong on every sample: the label is a class no exit predicts
    y = torch.tensor([next(c for c in range(5) if c not in z.detach()[:, i].argmax(1).tolist())
                      for i in range(3)])
    t, rel = reliable_teacher(z, y)
    assert not rel.any()
    loss = self_distillation_loss(z, t, rel, 3.0)
    assert loss.item() == 0.0 and not torch.isnan(loss)
    loss.backward()
    assert torch.isfinite(z.grad).all() and torch.equal(z.grad, torch.zeros_like(z))


def test_self_distillation_loss_zero_when_exits_equal_teacher():
    t = torch.randn(3, 4)
    z = t.unsqueeze(0).repeat(4, 1, 1)
    loss = self_distillation_loss(z, t, torch.ones(3, dtype=torch.bool), 3.0)
    assert loss.item() == pytest.approx(0.0, abs=1e-5)
    with pytest.raises(ValueError):
        self_distillation_loss(z, t, torch.ones(3, dtype=torch.bool), 0.0)


# ---------------------------------------------------------------- ESD end to end (§4.3)

K = 5
CH = (4, 8, 16)
HW = (32, 16, 8)


def _stages(b: int = 4, grad: bool = True):
    torch.manual_seed(0)
    return [torch.rand(b, c, hw, hw, requires_grad=grad) for c, hw in zip(CH, HW)]


def _esd(**kw) -> ESD:
    torch.manual_seed(1)
    return ESD(stage_channels=CH, num_features=32, num_classes=K, **kw)


def _branch_logits(esd: ESD, stages):
    with torch.no_grad():
        return [br(s) for br, s in zip(esd.branches, stages)]


def test_esd_branch_ce_matches_hand_and_one_hot():
    esd = _esd(esd_alpha=0.7, esd_beta=0.3)
    stages = _stages()
    logits = torch.randn(2, 4, K)
    y = torch.tensor([0, 3, 1, 4])
    out = esd(ModelOutput(logits=logits, stages=stages), None, y)
    assert set(out) == {"branch_ce", "esd_kd"}
    hand = 0.7 * sum(F.cross_entropy(p, y) for p in _branch_logits(esd, stages))
    assert out["branch_ce"].item() == pytest.approx(hand.item(), rel=1e-5)
    out1 = esd(ModelOutput(logits=logits, stages=stages), None, F.one_hot(y, K).float())
    assert out1["branch_ce"].item() == pytest.approx(hand.item(), rel=1e-5)
    assert out1["esd_kd"].item() == pytest.approx(out["esd_kd"].item(), rel=1e-5)


def test_esd_5d_stages_equal_4d():
    esd = _esd()
    stages = _stages(grad=False)
    logits = torch.randn(4, K)
    y = torch.tensor([0, 1, 2, 3])
    a = esd(ModelOutput(logits=logits, stages=stages), None, y)
    b = esd(ModelOutput(logits=logits, stages=[s.unsqueeze(0) for s in stages]), None, y)
    for key in a:
        assert a[key].item() == pytest.approx(b[key].item(), rel=1e-6)


def test_esd_gradients_reach_stages_and_main_logits():
    esd = _esd()
    stages = _stages()
    y = _branch_logits(esd, stages)[0].argmax(1)  # b1 correct everywhere → every sample reliable
    logits = torch.randn(2, 4, K, requires_grad=True)
    out = esd(ModelOutput(logits=logits, stages=stages), None, y)
    assert out["esd_kd"].item() > 0
    out["esd_kd"].backward(retain_graph=True)
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    out["branch_ce"].backward()
    for s in stages:
        assert s.grad is not None and torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0


def test_esd_teacher_mode_all_differs_from_reliable():
    stages = _stages(grad=False)
    rel, allm = _esd(), _esd(esd_teacher="all")
    allm.load_state_dict(rel.state_dict())
    y = _branch_logits(rel, stages)[0].argmax(1)
    logits = torch.randn(4, K)
    logits[0, y[0]] = -10.0  # the main exit is wrong on sample 0
    a = rel(ModelOutput(logits=logits, stages=stages), None, y)["esd_kd"]
    b = allm(ModelOutput(logits=logits, stages=stages), None, y)["esd_kd"]
    assert math.isfinite(a.item()) and math.isfinite(b.item())
    assert abs(a.item() - b.item()) > 1e-4


def test_esd_all_wrong_batch_gives_zero_kd_no_nan():
    esd = _esd()
    stages = _stages()
    logits = torch.randn(4, K, requires_grad=True)
    preds = torch.stack([p.argmax(1) for p in _branch_logits(esd, stages)] + [logits.detach().argmax(1)])
    y = torch.tensor([next(c for c in range(K) if c not in preds[:, i].tolist()) for i in range(4)])
    out = esd(ModelOutput(logits=logits, stages=stages), None, y)
    assert out["esd_kd"].item() == 0.0
    (out["esd_kd"] + out["branch_ce"]).backward()
    assert torch.isfinite(logits.grad).all() and torch.equal(logits.grad, torch.zeros_like(logits))
    assert all(torch.isfinite(s.grad).all() for s in stages)


def test_esd_argument_validation():
    for kw in (dict(esd_pool="max"), dict(esd_teacher="confidence"), dict(kd_temperature=0.0),
               dict(esd_alpha=-1.0), dict(esd_beta=-0.1)):
        with pytest.raises(ValueError):
            _esd(**kw)
    esd = _esd()
    assert ESD.needs_stages and not ESD.needs_feature and not ESD.replaces_ce
    with pytest.raises(ValueError, match="expects 3 stage maps"):
        esd(ModelOutput(logits=torch.randn(4, K), stages=_stages(grad=False)[:2]), None,
            torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError):
        esd(ModelOutput(logits=torch.randn(4, K)), None, torch.zeros(4, dtype=torch.long))
