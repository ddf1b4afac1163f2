"""Data-parallel training under torchrun, on this CPU with the gloo backend: 2 processes with
batch b each train the same model as 1 process with batch 2b (same global batch, same record
within float tolerance), and a 2-process run killed mid-epoch resumes to the same record."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# A BN-free net: its normalisation cannot depend on the per-rank batch, so 2 x b == 1 x 2b.
_SCRIPT = textwrap.dedent("""
    import sys
    import torch.nn as nn
    from timm.models import register_model

    @register_model
    def ddp_test_mlp(pretrained=False, num_classes=10, **kw):
        return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 32), nn.ReLU(), nn.Linear(32, num_classes))

    from replicate.config import Config
    from replicate.train import run
    cfg = Config(row="ddp-test", profile="smoke", model="ddp_test_mlp", data_root=sys.argv[1],
                 out_dir=sys.argv[2], train_subset=256, batch_size=32, curve_test_subset=100,
                 final_test_subset=100, eval_batch_size=100, epochs=2, optimizer="sgd", lr=0.05,
                 weight_decay=0.0, warmup_frac=0.0, min_lr=0.0, hflip=0.0, randaugment=None,
                 random_erasing=0.0, label_smoothing=0.0, progress=False)
    stop = int(sys.argv[3])
    run(cfg, _interrupt_after_steps=stop or None)
""")


def _torchrun(tmp_path: Path, nproc: int, out: Path, data_root: str, stop: int = 0):
    script = tmp_path / "ddp_run.py"
    script.write_text(_SCRIPT)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           str(script), data_root, str(out), str(stop)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


def _record(out: Path) -> dict:
    paths = list((out / "records" / "ddp-test" / "smoke").glob("*.json"))
    assert len(paths) == 1, paths
    return json.loads(paths[0].read_text())


def _close(a: dict, b: dict) -> None:
    assert a["config_hash"] == b["config_hash"]  # the same run: the global batch is the recipe's
    for ca, cb in zip(a["curves"], b["curves"], strict=True):
        assert ca["train_loss"] == pytest.approx(cb["train_loss"], rel=1e-5)
        assert ca["curve_top1"] == pytest.approx(cb["curve_top1"], abs=1.0)  # at most 1 of 100 flips
    assert a["metrics"]["top1"] == pytest.approx(b["metrics"]["top1"], abs=1.0)


@pytest.mark.slow
def test_two_processes_equal_one_with_the_same_global_batch_and_resume(tmp_path, data_root):
    one = _torchrun(tmp_path, 1, tmp_path / "one", data_root)
    assert one.returncode == 0, one.stderr[-3000:]
    two = _torchrun(tmp_path, 2, tmp_path / "two", data_root)
    assert two.returncode == 0, two.stderr[-3000:]
    _close(_record(tmp_path / "two"), _record(tmp_path / "one"))
    assert len(list((tmp_path / "two" / "records").rglob("*.json"))) == 1  # rank 0 alone wrote it

    killed = _torchrun(tmp_path, 2, tmp_path / "killed", data_root, stop=11)  # 8 steps/epoch
    assert killed.returncode != 0 and "test interrupt" in killed.stderr
    assert not list((tmp_path / "killed" / "records").rglob("*.json"))
    resumed = _torchrun(tmp_path, 2, tmp_path / "killed", data_root)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    rec = _record(tmp_path / "killed")
    assert rec["provenance"]["resumed_from_epoch"] == 1
    ref = _record(tmp_path / "two")
    assert rec["curves"] == ref["curves"] and rec["metrics"] == ref["metrics"]


def test_the_global_batch_must_split_evenly():
    from replicate.train import distributed as dist
    w = dist.World(size=3, rank=0, active=True)
    assert dist.per_rank_batch(dist.World(size=2, active=True), 64) == 32
    with pytest.raises(ValueError, match="batch_size 64 .* not divisible by the 3 processes"):
        dist.per_rank_batch(w, 64)
    assert dist.device_of(dist.World(size=2, rank=1, local_rank=1, active=True), "cuda") == "cuda:1"
    assert dist.device_of(dist.World(), "cuda") == "cuda" and dist.setup("cpu") == dist.World()


def test_sync_batchnorm_only_for_several_cuda_processes():
    import torch.nn as nn

    from replicate.train import distributed as dist
    net = lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))  # noqa: E731
    two = dist.World(size=2, active=True)
    assert isinstance(dist.maybe_sync_bn(two, net(), "cuda", True)[1], nn.SyncBatchNorm)
    for world, device, flag in ((two, "cpu", True), (two, "cuda", None), (dist.World(), "cuda", True)):
        assert type(dist.maybe_sync_bn(world, net(), device, flag)[1]) is nn.BatchNorm2d
