"""Cluster batches: run claims, concurrent batches on one output folder, the SLURM executor.

Claims are tested directly (live, dead, stale and reused-pid owners; racing processes). Batches
run for real on the smoke profile: two ``replicate batch`` processes on one folder train every
run exactly once; a batch killed mid-run leaves a claim the next batch takes over; submitit's
local executor runs a batch end to end; ``--no-wait`` against a stand-in ``sbatch`` writes the
job scripts SLURM would get (dependency, GPUs, partition, time).
"""
from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from replicate import claims, cli
from replicate.experiments import config_for
from replicate.results import read_record, record_path

TEACHER, MIXED = "bkdsnn-c10-teacher", "bkdsnn-c10-2-384-mixed"


def _main(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def _batch_cmd(out, data_root, rows, *extra) -> list[str]:
    return [sys.executable, "-m", "replicate", "batch", "--rows", ",".join(rows), "--profile",
            "smoke", "--out", str(out), "--data-root", data_root, "-q", *extra]


def _env(data_root) -> dict:
    return {**os.environ, "REPLICATE_DATA": data_root, "OMP_NUM_THREADS": "1"}


def _summary(stdout: str) -> list[list[str]]:
    """The closing table's rows, split on whitespace."""
    table = stdout.split("replicate batch: summary", 1)[1].splitlines()[2:]
    return [ln.split() for ln in table if not ln.startswith("replicate batch:")]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _write_claim(path: Path, **owner) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"owner": "x" * 32, "started": 0, **owner}))


def _no_claims_left(out: Path) -> bool:
    return not [p for p in (out / "claims").rglob("*") if p.is_file()]


# --------------------------------------------------------------------------- claims
def test_a_claim_is_refused_while_its_owner_lives_and_removed_on_release(tmp_path):
    path = claims.claim_path(tmp_path, "r", "smoke", 0, "0" * 16)
    first = claims.acquire(path)
    assert isinstance(first, claims.Claim) and path.is_file()
    held = claims.acquire(path)  # a second claimant: this process is alive
    assert held == first.owner and claims.describe(held) == f"{socket.gethostname()}:{os.getpid()}"
    assert claims.holder(path) == first.owner
    first.release()
    assert not path.exists() and claims.holder(path) is None
    assert list(path.parent.iterdir()) == []  # no temporaries either


def test_a_claim_whose_process_died_is_taken_over(tmp_path):
    path = claims.claim_path(tmp_path, "r", "smoke", 0, "0" * 16)
    _write_claim(path, host=socket.gethostname(), pid=_dead_pid())
    said = []
    claim = claims.acquire(path, log=said.append)
    assert isinstance(claim, claims.Claim) and claim.owner["pid"] == os.getpid()
    assert len(said) == 1 and "took over" in said[0] and "dead" in said[0]
    claim.release()
    assert list(path.parent.iterdir()) == []


def test_a_reused_pid_is_another_process(tmp_path):
    path = claims.claim_path(tmp_path, "r", "smoke", 0, "0" * 16)
    _write_claim(path, host=socket.gethostname(), pid=os.getpid(), pid_start="1")
    assert isinstance(claims.acquire(path, log=lambda s: None), claims.Claim)


def test_another_hosts_claim_lives_while_its_heartbeat_is_fresh(tmp_path):
    path = claims.claim_path(tmp_path, "r", "smoke", 0, "0" * 16)
    _write_claim(path, host="node-that-is-not-this-one", pid=1)
    assert claims.describe(claims.acquire(path)) == "node-that-is-not-this-one:1"
    old = time.time() - claims.STALE_S - 5
    os.utime(path, (old, old))  # no heartbeat for longer than STALE_S: its owner is dead
    assert isinstance(claims.acquire(path, log=lambda s: None), claims.Claim)


def test_an_owned_claims_heartbeat_refreshes_its_mtime(tmp_path, monkeypatch):
    monkeypatch.setattr(claims, "HEARTBEAT_S", 0.05)
    path = claims.claim_path(tmp_path, "r", "smoke", 0, "0" * 16)
    with claims.acquire(path):
        os.utime(path, (1, 1))
        time.sleep(0.5)
        assert time.time() - path.stat().st_mtime < 5
    assert not path.exists()


def _race(path, start, hold, wins):
    start.wait()
    claim = claims.acquire(path, log=lambda s: None)
    wins.put(isinstance(claim, claims.Claim))
    hold.wait()  # the winner holds its claim until every process has tried


@pytest.mark.parametrize("dead_claim_first", [False, True])
def test_racing_processes_get_one_claim(tmp_path, dead_claim_first):
    path = claims.claim_path(tmp_path, "r", "smoke", 0, "0" * 16)
    if dead_claim_first:  # all of them find a dead owner's claim and try to take it over
        _write_claim(path, host=socket.gethostname(), pid=_dead_pid())
    ctx, n = multiprocessing.get_context("fork"), 6
    start, hold, wins = ctx.Barrier(n), ctx.Barrier(n + 1), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(path, start, hold, wins)) for _ in range(n)]
    for p in procs:
        p.start()
    results = [wins.get(timeout=60) for _ in procs]
    hold.wait(timeout=60)
    for p in procs:
        p.join(timeout=60)
    assert sum(results) == 1, results


# --------------------------------------------------------------------------- batches
@pytest.mark.slow
def test_two_concurrent_batches_on_one_folder_train_every_run_once(tmp_path, data_root):
    out = tmp_path / "out"
    cmd = _batch_cmd(out, data_root, [TEACHER, MIXED], "--seeds", "0,1")
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env(data_root)) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    rows = [r for so, _ in outs for r in _summary(so)]
    ran = [r for r in rows if r[3] == "done"]
    assert len(ran) == 3 and len({(r[0], r[1]) for r in ran}) == 3, outs  # 3 runs, each once
    assert all(r[3] in ("done", "skipped") for r in rows) and len(rows) == 6
    recs = sorted((out / "records").glob("*/smoke/*.json"))
    assert len(recs) == 3 and not list((out / "records").rglob("*.replaced-*"))
    assert len({read_record(p)["provenance"]["finished_unix"] for p in recs}) == 3
    assert all(cli.notebook_state(p.with_suffix(".ipynb")) is None for p in recs)
    assert _no_claims_left(out)
    # a --force batch that started before a record was finished does not retrain it again
    from replicate.executors import RunJob, decide
    cfg = config_for(TEACHER, "smoke", 0, out_dir=str(out), data_root=data_root)
    assert decide(RunJob(cfg, {}, str(out), force=True, since=0.0))[0] is None
    assert decide(RunJob(cfg, {}, str(out), force=True, since=time.time()))[0] == "--force"


@pytest.mark.slow
def test_the_claim_of_a_killed_batch_is_taken_over(tmp_path, data_root):
    out = tmp_path / "out"
    cfg = config_for(TEACHER, "smoke", 0)
    claim = claims.claim_path(out, TEACHER, "smoke", 0, cfg.hash)
    p = subprocess.Popen(_batch_cmd(out, data_root, [TEACHER]), env=_env(data_root),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while not claim.exists() and time.time() < deadline:
        time.sleep(0.2)
    assert claim.exists()
    os.killpg(p.pid, signal.SIGKILL)  # the batch and its notebook's kernel die mid-run
    p.wait()
    assert claim.exists() and claims.holder(claim) is None  # left behind, owner dead
    rc, so, se = _main("batch", "--rows", TEACHER, "--profile", "smoke", "--out", out,
                       "--data-root", data_root, "-q")
    assert rc == 0, so + se
    assert "took over the claim" in so and f"{p.pid}" in so
    assert [r[3] for r in _summary(so)] == ["done"]
    read_record(record_path(out, TEACHER, "smoke", 0, cfg.hash))
    assert _no_claims_left(out)


@pytest.mark.slow
def test_submitit_local_executor_runs_a_batch_end_to_end(tmp_path, data_root):
    out = tmp_path / "out"
    r = subprocess.run(_batch_cmd(out, data_root, [TEACHER], "--executor", "slurm",
                                  "--submitit-cluster", "local", "--slurm-time", "10"),
                       capture_output=True, text=True, timeout=600, env=_env(data_root))
    assert r.returncode == 0, r.stdout + r.stderr
    (row,) = _summary(r.stdout)
    assert row[0] == TEACHER and row[3] == "done" and row[6].isdigit(), r.stdout  # its job id
    assert "1 done, 0 skipped, 0 failed" in r.stdout
    log = out / "slurm" / row[6] / f"{row[6]}_0_log.out"
    assert "via notebooks/train.ipynb" in log.read_text()  # the job ran the per-run function
    rec = record_path(out, TEACHER, "smoke", 0, config_for(TEACHER, "smoke", 0).hash)
    read_record(rec)
    assert cli.notebook_state(rec.with_suffix(".ipynb")) is None and _no_claims_left(out)


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch) -> Path:
    """``sbatch`` and ``srun`` stand-ins on PATH: sbatch keeps each job script as job<id>.sh."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "sbatch").write_text(
        '#!/bin/bash\nd=$(dirname "$0")\nn=$(( $(cat "$d/count" 2>/dev/null || echo 100) + 1 ))\n'
        'echo $n > "$d/count"\ncp "${@: -1}" "$d/job$n.sh"\necho "Submitted batch job $n"\n')
    (bin_ / "srun").write_text("#!/bin/bash\nexit 0\n")
    for f in ("sbatch", "srun"):
        (bin_ / f).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_}{os.pathsep}{os.environ['PATH']}")
    return bin_


def test_no_wait_submits_students_after_their_teachers_job(tmp_path, data_root, fake_slurm):
    rc, so, se = _main("batch", "--rows", f"{TEACHER},{MIXED}", "--profile", "smoke", "--seeds",
                       "0,1", "--out", tmp_path / "out", "--data-root", data_root, "--executor",
                       "slurm", "--no-wait", "--slurm-partition", "gpu", "--slurm-gpus", "2",
                       "--slurm-time", "90")
    assert rc == 0, so + se
    assert [r[3] for r in _summary(so)] == ["submitted"] * 3 and "3 submitted" in so
    scripts = {n: (fake_slurm / f"job{n}.sh").read_text() for n in (101, 102, 103)}
    assert "--dependency" not in scripts[101] and "--job-name=replicate-bkdsnn-c10-teacher-seed0" in scripts[101]
    for n in (102, 103):
        assert "#SBATCH --dependency=afterok:101" in scripts[n]
        assert "#SBATCH --kill-on-invalid-dep=yes" in scripts[n]
    for s in scripts.values():
        assert "#SBATCH --partition=gpu" in s and "#SBATCH --gpus-per-node=2" in s
        assert "#SBATCH --time=90" in s and "#SBATCH --cpus-per-task=8" in s
    assert not list((tmp_path / "out").glob("records/*/*/*.json"))  # nothing ran here
    assert _no_claims_left(tmp_path / "out")


@pytest.mark.parametrize("extra, needle", [
    (["--slurm-gpus", "2"], "--slurm-gpus: only with --executor slurm"),
    (["--no-wait"], "--no-wait: only with --executor slurm"),
    (["--executor", "slurm"], "needs SLURM's sbatch on PATH"),
    (["--executor", "slurm", "--slurm-time", "0"], "--slurm-time: 0 is not positive"),
    (["--executor", "slurm", "--slurm-gpus", "-1"], "--slurm-gpus: -1 is negative"),
    (["--executor", "pbs"], "invalid choice: 'pbs'"),
])
def test_bad_executor_input_is_one_line_before_anything(tmp_path, monkeypatch, extra, needle):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    rc, so, se = _main("batch", "--rows", TEACHER, "--profile", "smoke", "--out", tmp_path / "out",
                       *extra)
    lines = se.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and needle in lines[0], se
    assert not (tmp_path / "out").exists()
