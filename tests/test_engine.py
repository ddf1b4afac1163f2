import json

import pytest
import torch

from replicate.experiments import config_for
from replicate.results import checkpoint_dir, record_path
from replicate.train import TeacherNotFoundError, run
from replicate.train.optim import build_scheduler


def _cfg(row, out, data_root, **kw):
    return config_for(row, "smoke", 0, data_root=data_root, out_dir=str(out), progress=False, **kw)


def test_resume_after_kill_mid_epoch_equals_uninterrupted(tmp_path, data_root, smoke_teacher):
    """A run killed in the middle of epoch 2 and resumed ends with exactly the same metrics and
    curves as one that was never interrupted (mixed distillation: covers the BKD mask RNG,
    mixup, RandAugment-free smoke recipe, optimiser and scheduler state)."""
    kw = dict(teacher_checkpoint=str(smoke_teacher), epochs=3)
    ref = run(_cfg("bkdsnn-c10-2-384-mixed", tmp_path / "a", data_root, **kw))
    cfg = _cfg("bkdsnn-c10-2-384-mixed", tmp_path / "b", data_root, **kw)
    with pytest.raises(KeyboardInterrupt):
        run(cfg, _interrupt_after_steps=15)  # 10 steps per epoch: dies inside epoch 2
    assert (checkpoint_dir(cfg.out_dir, cfg.hash) / "last.pt").is_file()
    assert not record_path(cfg.out_dir, cfg.row, "smoke", 0, cfg.hash).exists()
    resumed = run(cfg)
    assert resumed["provenance"]["resumed_from_epoch"] == 1
    assert resumed["curves"] == ref["curves"]
    assert resumed["metrics"] == ref["metrics"]
    assert set(ref["curves"][0]) >= {"train_ce", "train_bkd", "train_wsld", "curve_top1", "lr"}


def test_record_has_provenance_and_is_reused(tmp_path, data_root):
    cfg = _cfg("bkdsnn-c10-2-384-baseline", tmp_path, data_root)
    rec = run(cfg)
    path = record_path(tmp_path, cfg.row, "smoke", 0, cfg.hash)
    on_disk = json.loads(path.read_text())
    assert on_disk["config_hash"] == cfg.hash == rec["config_hash"]
    prov = on_disk["provenance"]
    assert {"git", "packages", "machine", "wall_time_s"} <= set(prov)
    assert prov["packages"]["torch"] and prov["packages"]["spikingjelly"]
    assert on_disk["data"]["source"]["kind"] == "tar"
    assert on_disk["overrides"] == {}  # the registered smoke recipe, unchanged
    assert len(on_disk["curves"]) == cfg.epochs
    assert 0 < on_disk["metrics"]["mean_firing_rate"] < 1
    assert on_disk["metrics"]["final_test_size"] == 200
    mtime = path.stat().st_mtime_ns
    assert run(cfg)["config_hash"] == cfg.hash and path.stat().st_mtime_ns == mtime  # not retrained


def test_missing_teacher_fails_before_training(tmp_path, data_root):
    cfg = _cfg("bkdsnn-c10-2-384-mixed", tmp_path, data_root)
    with pytest.raises(TeacherNotFoundError, match="replicate run bkdsnn-c10-teacher"):
        run(cfg)
    assert not (tmp_path / "checkpoints" / cfg.hash).exists()


def test_nan_guard_fails_loudly(tmp_path, data_root):
    cfg = _cfg("bkdsnn-c10-2-384-baseline", tmp_path, data_root, lr=1e30, warmup_frac=0.0,
               warmup_lr=1e30)
    with pytest.raises(FloatingPointError, match="non-finite loss at epoch"):
        run(cfg)


def test_schedule_keeps_its_shape_as_fractions():
    cfg = config_for("bkdsnn-c10-2-384-baseline", "cpu", 0, epochs=20)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=cfg.lr)
    sched = build_scheduler(cfg, opt, iters_per_epoch=10)
    lrs = []
    for t in range(1, 201):
        sched.step_update(t)
        lrs.append(opt.param_groups[0]["lr"])
    peak = max(lrs)
    assert lrs.index(peak) == 9  # warm-up: 5 % of 200 iterations, then cosine
    assert peak == pytest.approx(cfg.lr, rel=1e-2)
    assert lrs[-1] == pytest.approx(cfg.min_lr, rel=1e-2)
    assert lrs[99] == pytest.approx((cfg.lr + cfg.min_lr) / 2, rel=1e-3)  # cosine midpoint


def test_snn_record_has_prefix_top1_ending_at_the_full_T(tmp_path, data_root):
    rec = run(_cfg("bkdsnn-c10-2-384-baseline", tmp_path, data_root))
    prefix = rec["metrics"]["prefix_top1"]
    assert len(prefix) == rec["config"]["T"]
    assert prefix[-1] == pytest.approx(rec["metrics"]["top1"])


def test_a_distiller_with_its_own_ce_replaces_the_mean_ce():
    from replicate.distill import TemporalKD
    from replicate.train.steps import StepContext, bptt_step

    class Tiny(torch.nn.Module):
        def forward(self, x, return_feature=False):
            return x.flatten(1)[:, :3].expand(2, -1, -1)  # [T=2, B, K=3]

    x = torch.randn(4, 1, 3, 1)
    target = torch.eye(3)[[0, 1, 2, 0]]
    plain = bptt_step(StepContext(Tiny()), x, target)
    tw = bptt_step(StepContext(Tiny(), TemporalKD(twkl_alpha=0.0, twsd_beta=0.0), None), x, target)
    assert set(plain) == {"ce"} and "ce" not in tw and "twce" in tw
    # identical timesteps: TWCE equals the CE of the mean
    assert tw["twce"].item() == pytest.approx(plain["ce"].item(), rel=1e-6)


def test_temporal_kd_trains_a_spiking_resnet_without_a_teacher(tmp_path, data_root):
    """TWCE + TWSD (α = 0) through the shared engine: no teacher needed, per-timestep terms
    logged, top-1 stored for every budget T' <= T."""
    from replicate.config import Config
    cfg = Config(row="adhoc-temporal", profile="smoke", model="spiking_resnet18_cifar", width=4,
                 T=2, lif_decay=0.5, lif_decay_input=False, lif_v_reset=0.0, lif_detach_reset=False,
                 distill="temporal", twkl_alpha=0.0, twsd_beta=0.5, self_teacher="correct_only",
                 kd_temperature=3.0, train_subset=64, batch_size=32, curve_test_subset=50,
                 final_test_subset=50, epochs=1, optimizer="sgd", lr=0.1, warmup_frac=0.0,
                 min_lr=0.0, data_root=data_root, out_dir=str(tmp_path), progress=False)
    assert not cfg.needs_teacher
    rec = run(cfg)
    assert {"train_twce", "train_twkl", "train_twsd"} <= set(rec["curves"][0]) and "train_ce" not in rec["curves"][0]
    assert len(rec["metrics"]["prefix_top1"]) == 2 and rec["overrides"] is None
    with pytest.raises(ValueError, match="temporal. needs twkl_alpha, twsd_beta, self_teacher"):
        Config(distill="temporal")
    with pytest.raises(ValueError, match="needs teacher_row"):
        cfg.replace(twkl_alpha=0.2)


def test_evaluation_does_not_depend_on_the_batch_or_the_allocator():
    """Top-1, every prefix top-1 and every firing rate are identical at eval batch 7 and 32 and
    with glibc's freed-memory thresholds raised (replicate.train.memory)."""
    import timm

    import replicate.models  # noqa: F401
    from replicate.train.evaluate import evaluate
    from replicate.train.memory import keep_freed_memory

    torch.manual_seed(0)
    model = timm.create_model("spiking_resnet18_cifar", num_classes=10, width=4, T=3)
    data = torch.utils.data.TensorDataset(torch.randn(45, 3, 32, 32), torch.randint(0, 10, (45,)))
    a = evaluate(model, data, batch_size=7, device="cpu")
    assert keep_freed_memory() in (True, False)
    b = evaluate(model, data, batch_size=32, device="cpu")
    assert a == b
    assert a["mean_firing_rate"] > 0 and len(a["prefix_top1"]) == 3
