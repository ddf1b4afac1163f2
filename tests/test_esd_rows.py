"""NeurIPS 2025 rows through the shared engine (smoke) and their registered recipes."""
import pytest
import torch

from replicate.experiments import Source, config_for, get_row, rows
from replicate.train import run


def test_rows_registered_with_the_released_recipes():
    ids = {r.id for r in rows("esd")}
    assert {f"esd-c10-r18-{a}" for a in ("bptt", "rate-bp", "rate-bp-sd", "rate-bp-sd-beta0.5",
                                         "rate-bp-sd-all")} <= ids
    sd = config_for("esd-c10-r18-rate-bp-sd", "paper")
    assert (sd.T, sd.lif_decay, sd.lif_v_reset, sd.lif_detach_reset, sd.lif_decay_input) == (6, 0.2, None, True, False)
    assert (sd.train_step, sd.esd_alpha, sd.esd_beta, sd.kd_temperature, sd.esd_pool) == ("rate_bp", 1.0, 0.3, 3.0, "avg4")
    # the three arms differ only in how the gradient is computed and the branches
    base = config_for("esd-c10-r18-bptt", "cpu").scientific()
    for arm, extra in (("rate-bp", {"train_step"}),
                       ("rate-bp-sd", {"train_step", "distill", "esd_alpha", "esd_beta", "esd_pool", "esd_teacher"})):
        diff = {k for k, v in config_for(f"esd-c10-r18-{arm}", "cpu").scientific().items() if base.get(k) != v}
        assert diff == {"row"} | extra, arm
    assert get_row("esd-c100-r18-rate-bp-sd").claim.value == 80.20
    assert "cifar100.log" in str(get_row("esd-c100-r18-rate-bp-sd").claim.source)
    assert get_row("esd-c10-r18-rate-bp").claims == ()  # R's numbers are the ratebp paper's rows
    im = config_for("esd-in1k-pr34-rate-bp-sd", "paper")
    assert (im.T, im.esd_alpha, im.lr, im.weight_decay) == (4, 0.7, 0.2, 2e-5)
    assert get_row("esd-in1k-pr34-rate-bp-sd").claim.value == 70.70
    assert config_for("esd-dvs-r18-rate-bp-sd", "paper").esd_beta == 0.1


@pytest.mark.slow
def test_rate_bp_with_self_distillation_smoke_through_the_engine(tmp_path, data_root):
    kw = dict(data_root=data_root, out_dir=str(tmp_path), progress=False)
    rec = run(config_for("esd-c10-r18-rate-bp-sd", "smoke", **kw))
    c = rec["curves"][-1]
    assert {"train_ce", "train_branch_ce", "train_esd_kd"} <= set(c)
    assert c["train_branch_ce"] > c["train_ce"] > 0  # three branches' CE against one main CE
    m = rec["metrics"]
    # the branches are trained but are not part of the deployed model
    assert m["distill_params"] > 0 and m["params"] == rec_params(rec)
    assert len(m["prefix_top1"]) == rec["config"]["T"] and rec["overrides"] == {}


def rec_params(rec):
    from replicate.experiments import config_for
    from replicate.train import build_model
    cfg = config_for(rec["row"], rec["profile"])
    return sum(p.numel() for p in build_model(cfg, 10).parameters())


@pytest.mark.slow
def test_rate_bp_run_killed_mid_epoch_resumes_to_the_same_record(tmp_path, data_root):
    """Branch weights and their BN statistics live in the distiller's state: a resumed rate-BP +
    self-distillation run ends exactly where an uninterrupted one does."""
    from replicate.results import record_path

    def cfg(out):
        return config_for("esd-c10-r18-rate-bp-sd", "smoke", 0, data_root=data_root, out_dir=str(out),
                          progress=False, epochs=3)
    ref = run(cfg(tmp_path / "a"))
    c = cfg(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        run(c, _interrupt_after_steps=15)  # 10 steps per epoch: dies inside epoch 2
    assert not record_path(c.out_dir, c.row, "smoke", 0, c.hash).exists()
    resumed = run(c)
    assert resumed["provenance"]["resumed_from_epoch"] == 1
    assert resumed["curves"] == ref["curves"] and resumed["metrics"] == ref["metrics"]


# spec-logitkd-selfdistill §4.6: B's two committed logs give one number each (CIFAR-100 80.20,
# ImageNet 70.704); S3's β ablation has no numbers.
B_LOG_COUNTS = {"experiment/cifar/cifar100.log": 1, "experiment/imagenet/T4_34_deep100.log": 1}


def test_every_number_of_b_logs_is_a_claim_with_its_locator_and_nothing_else_is():
    claims = [(r, c) for r in rows("esd") for c in r.claims]
    for r, c in claims:
        assert isinstance(c.source, Source) and c.source.locator and "d44e876" in c.source.document, r.id
    counts = {log: sum(log in c.source.document for _, c in claims) for log in B_LOG_COUNTS}
    assert counts == B_LOG_COUNTS and len(claims) == sum(B_LOG_COUNTS.values())
    assert sorted(c.value for _, c in claims) == [70.70, 80.20]


def test_branch_ce_arm_differs_from_reliable_kd_only_in_beta():
    for profile in ("paper", "gpu", "cpu", "smoke"):
        ce, sd = (config_for(f"esd-c10-r18-{a}", profile) for a in ("rate-bp-branch-ce", "rate-bp-sd"))
        assert {k for k, v in ce.scientific().items() if sd.scientific().get(k) != v} == {"row", "esd_beta"}
        assert ce.esd_beta == 0.0 and ce.needs_teacher is False
    assert get_row("esd-c10-r18-rate-bp-branch-ce").seeds["cpu"] == (0, 1, 2)
    for ds in ("c10-r18", "c100-r18", "in1k-pr34", "dvs-r18"):
        row = get_row(f"esd-{ds}-rate-bp-branch-ce")
        assert row.reference == f"esd-{ds}-rate-bp-sd", ds
        ref = config_for(row.reference, "paper").scientific()
        diff = {k for k, v in config_for(row.id, "paper").scientific().items() if ref.get(k) != v}
        assert diff == {"row", "esd_beta"}, ds
    for ds in ("c100-r18", "in1k-pr34", "dvs-r18"):
        assert "paper" in get_row(f"esd-{ds}-rate-bp-branch-ce").unavailable


def test_beta_zero_leaves_only_the_branch_ce_on_a_hand_made_batch():
    """β = 0 (the CE-only arm): the KD term is an exact 0 with zero gradient, the branch CE is
    the same as with β = 0.3 (same weights, same input)."""
    from replicate.distill.esd import ESD
    from replicate.models.output import ModelOutput
    torch.manual_seed(0)
    stages = [torch.randn(4, 8, 32, 32), torch.randn(4, 16, 16, 16), torch.randn(4, 32, 8, 8)]
    logits = torch.randn(2, 4, 10, requires_grad=True)
    y = torch.tensor([0, 3, 3, 9])
    out = {}
    for beta in (0.0, 0.3):
        torch.manual_seed(1)  # the same branch weights for both
        esd = ESD((8, 16, 32), num_features=64, num_classes=10, esd_beta=beta).eval()
        out[beta] = esd(ModelOutput(logits=logits, stages=stages), None, y)
    assert out[0.0]["esd_kd"].item() == 0.0 and out[0.3]["esd_kd"].item() > 0
    assert torch.equal(out[0.0]["branch_ce"], out[0.3]["branch_ce"])
    (g,) = torch.autograd.grad(out[0.0]["esd_kd"], logits)
    assert torch.count_nonzero(g) == 0
