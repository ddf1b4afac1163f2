"""NeurIPS 2025 rows through the shared engine (smoke) and their registered recipes."""
import pytest

from replicate.experiments import config_for, get_row, rows
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
