"""Every registered row at every profile either passes the preflight here or says precisely why
it cannot run here (as timm's tests walk ``list_models``); and one smoke run per dataset the
rows name trains end to end on the shared data's real fixtures."""
from __future__ import annotations

import pytest

from replicate.experiments import config_for, get_row, rows
from replicate.train import preflight, run
from replicate.train.engine import TeacherNotFoundError

CASES = [(r.id, p) for r in rows() for p in r.profiles()]


@pytest.mark.parametrize("row_id, profile", CASES, ids=[f"{r}@{p}" for r, p in CASES])
def test_every_row_runs_here_or_says_why(row_id, profile, data_root, tmp_path):
    row = get_row(row_id)
    cfg = config_for(row_id, profile, data_root=data_root, out_dir=str(tmp_path))
    reason = row.unavailable.get(profile)
    try:
        preflight(cfg)
    except TeacherNotFoundError as e:  # its teacher row must run first: that row is checked too
        assert f"replicate run {row.teacher_row}" in str(e) and "\n" not in str(e)
    except RuntimeError as e:  # the profile's device: a GPU
        assert "no CUDA device is available" in str(e) and cfg.device.startswith("cuda")
    else:
        if reason:  # data is here for smoke only: the reason must say what is missing
            assert profile != "smoke" and len(reason) > 20


SMOKE_ROWS = ["logitkd-c100-r18-twce", "esd-in1k-pr34-rate-bp-sd", "logitkd-dvs-teacher",
              "logitkd-dvs-r19-full", "esd-dvs-r18-rate-bp-sd", "esd-c100-r18-rate-bp-sd"]


@pytest.mark.slow
@pytest.mark.parametrize("row_id", SMOKE_ROWS)
def test_a_smoke_run_of_each_new_dataset_trains_on_the_fixtures(row_id, data_root, tmp_path):
    """CIFAR-100 on its 20 lossless images, ImageNet on imagenet-sample, CIFAR10-DVS on frames of
    the real DVS128 recording (teacher first where the row distils)."""
    row = get_row(row_id)
    kw = dict(data_root=data_root, out_dir=str(tmp_path), progress=False)
    if config_for(row_id, "smoke", **kw).needs_teacher:
        run(config_for(row.teacher_row, "smoke", **kw))
    rec = run(config_for(row_id, "smoke", **kw))
    assert rec["data"]["shape_checked"] is False and rec["metrics"]["top1"] is not None
    assert len(rec["curves"]) == config_for(row_id, "smoke").epochs


@pytest.mark.slow
def test_a_cifar100_batch_runs_end_to_end_through_papermill(data_root, tmp_path):
    """`replicate batch --rows <a CIFAR-100 row> --profile smoke` on the 20 lossless images."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "replicate", "batch", "--rows", "logitkd-c100-r18-twce",
                        "--profile", "smoke", "--out", str(tmp_path), "--data-root", data_root, "-q"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    recs = list((tmp_path / "records" / "logitkd-c100-r18-twce" / "smoke").glob("*.json"))
    assert len(recs) == 1 and recs[0].with_suffix(".ipynb").is_file()
