"""Nothing wrong, nothing lost: a batch runs every run it can, trusts no damaged or unfinished
output, says what it did in one table, and stops on a full disk with one line; the benchmark
never writes over records it was not told to.

In-process (``replicate.cli.main``) on the smoke profile. One real papermill batch (teacher, a
student that fails inside its run, a student after it) is made once per module; each test works
on its own copy of that output folder.
"""
from __future__ import annotations

import contextlib
import errno
import io
import json
import shutil
import subprocess
from pathlib import Path

import papermill
import pytest

from replicate import bench, cli
from replicate.experiments import config_for
from replicate.results import checkpoint_dir, read_record, record_path

TEACHER, MIXED, BASE = "bkdsnn-c10-teacher", "bkdsnn-c10-2-384-mixed", "bkdsnn-c10-2-384-baseline"


def _main(*argv) -> tuple[int, str, str]:
    """``replicate.cli.main(argv)``: exit status, stdout, stderr (what the command printed)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def _batch(out, data_root, *rows, extra=()):
    return _main("batch", "--rows", ",".join(rows), "--profile", "smoke", "--out", out,
                 "--data-root", data_root, "-q", *extra)


def _rec(out, row) -> Path:
    cfg = config_for(row, "smoke", 0)
    return record_path(out, row, "smoke", 0, cfg.hash)


def _summary(stdout: str, row: str) -> str:
    """The closing table's line of ``row``."""
    table = stdout.split("replicate batch: summary", 1)[1]
    return next(ln for ln in table.splitlines() if ln.startswith(row + " "))


@pytest.fixture(scope="module")
def first(tmp_path_factory, data_root):
    """teacher, mixed (fails inside its run: its teacher weights are garbage), baseline."""
    out = tmp_path_factory.mktemp("first") / "out"
    garbage = out.parent / "garbage.pt"
    garbage.write_bytes(b"these are not weights")
    real = papermill.execute_notebook

    def mixed_fails(inp, outp, parameters, **kw):
        if parameters["row"] == MIXED:
            parameters = {**parameters, "teacher_checkpoint": str(garbage)}
        return real(inp, outp, parameters=parameters, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(papermill, "execute_notebook", mixed_fails)
        rc, so, se = _batch(out, data_root, TEACHER, MIXED, BASE)
    return out, rc, so, se


@pytest.fixture
def done(first, tmp_path) -> Path:
    """A copy of the first batch's output folder (teacher and baseline done, mixed failed)."""
    return Path(shutil.copytree(first[0], tmp_path / "out"))


def test_a_failed_run_keeps_its_notebook_and_the_batch_goes_on(first):
    out, rc, so, se = first
    assert rc == 1, so + se
    read_record(_rec(out, TEACHER)), read_record(_rec(out, BASE))  # ran, after the failure
    assert not _rec(out, MIXED).exists()
    nb = _rec(out, MIXED).with_suffix(".ipynb")
    outputs = [o for c in json.loads(nb.read_text())["cells"] for o in c.get("outputs", [])]
    assert any(o.get("output_type") == "error" for o in outputs)  # the traceback is kept
    assert cli.notebook_state(nb) == "failed"
    errors = se.strip().splitlines()
    assert len(errors) == 1 and MIXED in errors[0] and str(nb) in errors[0], se
    line = _summary(so, MIXED)
    assert " failed " in line and str(nb) in line
    assert " done " in _summary(so, BASE) and " done " in _summary(so, TEACHER)
    assert "2 done, 0 skipped, 1 failed" in so


def test_a_second_batch_runs_nothing_that_verifies(done, data_root, monkeypatch):
    def no_run(*a, **k):
        raise AssertionError("a verified run was executed again")

    monkeypatch.setattr(papermill, "execute_notebook", no_run)
    rc, so, se = _batch(done, data_root, TEACHER, BASE)
    assert rc == 0, so + se
    assert "skipped" in _summary(so, TEACHER) and "skipped" in _summary(so, BASE)
    assert "0 done, 2 skipped, 0 failed" in so


def test_a_failed_teacher_skips_its_students(tmp_path, data_root):
    real = papermill.execute_notebook

    def teacher_fails(inp, outp, parameters, **kw):
        if parameters["row"] == TEACHER:  # fails in the notebook's first cells: an unknown name
            parameters = {**parameters, "no_such_field": 1}
        return real(inp, outp, parameters=parameters, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(papermill, "execute_notebook", teacher_fails)
        rc, so, se = _batch(tmp_path, data_root, TEACHER, MIXED)
    assert rc == 1, so + se
    assert "teacher failed" in _summary(so, MIXED) and " skipped " in _summary(so, MIXED)
    assert "ParameterError" in _summary(so, TEACHER)
    assert not _rec(tmp_path, MIXED).with_suffix(".ipynb").exists()  # never started


def test_a_truncated_record_is_moved_aside_and_the_run_redone(done, data_root):
    rec = _rec(done, BASE)
    whole = rec.read_bytes()
    rec.write_bytes(whole[: len(whole) // 2])
    rc, so, se = _batch(done, data_root, BASE)
    assert rc == 0, so + se
    assert "moved aside" in so and " done " in _summary(so, BASE)
    read_record(rec)  # a good record again
    aside = list(rec.parent.glob(rec.name + ".damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == whole[: len(whole) // 2]


def test_a_notebook_stuck_at_running_beside_a_valid_record_is_rerun(done, data_root):
    rec = _rec(done, BASE)
    nb_path = rec.with_suffix(".ipynb")
    nb = json.loads(nb_path.read_text())
    nb["metadata"]["papermill"]["end_time"] = None
    nb["cells"][-1]["metadata"]["papermill"]["status"] = "running"
    nb_path.write_text(json.dumps(nb))
    assert cli.notebook_state(nb_path).startswith("stopped")
    finished = read_record(rec)["provenance"]["finished_unix"]
    rc, so, se = _batch(done, data_root, BASE)
    assert rc == 0 and " done " in _summary(so, BASE), so + se
    assert cli.notebook_state(nb_path) is None
    assert read_record(rec)["provenance"]["finished_unix"] == finished  # found, not retrained


def test_a_garbled_teacher_model_is_moved_aside_and_the_teacher_retrained(done, data_root):
    from replicate.train import checkpoint

    pt = checkpoint_dir(done, config_for(TEACHER, "smoke", 0).hash) / "model.pt"
    data = bytearray(pt.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    pt.write_bytes(bytes(data))
    rc, so, se = _batch(done, data_root, TEACHER, BASE)
    assert rc == 0, so + se
    assert "moved aside" in so and "ran (forced)" in _summary(so, TEACHER)
    assert "skipped" in _summary(so, BASE)
    checkpoint.load(pt, weights_only=True)
    assert len(list(pt.parent.glob("model.pt.damaged-*"))) == 1


def test_force_retrains_and_keeps_the_old_record(done, data_root):
    rec = _rec(done, BASE)
    before = read_record(rec)["provenance"]["finished_unix"]
    rc, so, se = _batch(done, data_root, BASE, extra=("--force",))
    assert rc == 0 and "ran (forced)" in _summary(so, BASE), so + se
    assert read_record(rec)["provenance"]["finished_unix"] != before
    old = list(rec.parent.glob(rec.name + ".replaced-*"))
    assert len(old) == 1 and json.loads(old[0].read_text())["provenance"]["finished_unix"] == before


def test_the_notebook_is_complete_only_when_papermill_ended_every_cell(tmp_path):
    committed = next((cli.REPO / "results" / "records").glob("*/cpu/*.ipynb"))
    assert cli.notebook_state(committed) is None
    assert cli.notebook_state(tmp_path / "none.ipynb") == "missing"
    cut = tmp_path / "cut.ipynb"
    cut.write_bytes(committed.read_bytes()[:500])
    assert cli.notebook_state(cut).startswith("unreadable")


# --------------------------------------------------------------------------- disk full
def _one_error_line(se: str) -> str:
    lines = se.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in se, se
    return lines[0]


def test_disk_full_while_papermill_writes_the_notebook_is_one_line(tmp_path, data_root, monkeypatch):
    import papermill.engines

    calls = []

    def full(nb, path):
        calls.append(path)
        if len(calls) > 2:  # the notebook is started, then the disk fills
            raise OSError(errno.ENOSPC, "No space left on device")
        return papermill.iorw.write_ipynb(nb, path)

    monkeypatch.setattr(papermill.engines, "write_ipynb", full)
    rc, so, se = _batch(tmp_path, data_root, TEACHER, BASE)
    line = _one_error_line(se)
    nb = _rec(tmp_path, TEACHER).with_suffix(".ipynb")
    assert rc == 1 and "No space left on device" in line and str(nb) in line
    assert "1 not attempted" in so  # the batch stopped; the baseline was not tried
    assert cli.notebook_state(nb) is not None  # the next batch reruns it


def test_a_file_size_limit_in_a_batch_is_one_line(tmp_path, data_root):
    """RLIMIT_FSIZE (64 KiB, inherited by the kernel): the teacher's first checkpoint cannot be
    written inside the notebook, as on a full disk; the batch stops with one line."""
    import os
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import resource, signal, sys
        from replicate.cli import main
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))
        sys.exit(main(["batch", "--rows", "{TEACHER},{BASE}", "--profile", "smoke", "-q",
                       "--out", r"{tmp_path}", "--data-root", r"{data_root}"]))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "REPLICATE_DATA": data_root})
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("[IPKernelApp]")]
    assert r.returncode == 1 and len(lines) == 1, r.stdout + r.stderr
    assert "cannot write" in lines[0] and str(tmp_path) in lines[0]
    assert "1 not attempted" in r.stdout and "Traceback" not in r.stdout + r.stderr


def test_disk_full_inside_a_run_is_one_line(tmp_path, data_root, monkeypatch):
    from replicate.safeio import DiskFullError
    from replicate.train import checkpoint

    def full(path, data):
        raise DiskFullError(path, OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", full)
    rc, so, se = _main("run", BASE, "--profile", "smoke", "--out", tmp_path, "--data-root",
                       data_root, "-q")
    line = _one_error_line(se)
    assert rc == 1 and "last.pt" in line and "No space left" in line


# --------------------------------------------------------------------------- bench
def test_bench_writes_under_the_ignored_out_folder_by_default():
    default = bench.default_out().resolve()
    assert (cli.REPO / "results") not in default.parents
    assert default.relative_to(cli.REPO).parts[:1] == ("out",)
    ignored = subprocess.run(["git", "check-ignore", "-q", str(default / "x.json")], cwd=cli.REPO)
    assert ignored.returncode == 0


def _fake_points(monkeypatch, point: dict | None):
    """Benchmark points answer ``point`` at once (``None``: starting one fails the test); other
    subprocesses (git, for provenance) run as usual."""
    real = subprocess.run

    def run(cmd, **kw):
        if "replicate.bench" not in cmd:
            return real(cmd, **kw)
        assert point is not None, "a benchmark point was started"
        method = cmd[cmd.index("--method") + 1]
        return subprocess.CompletedProcess(cmd, 0, json.dumps({**point, "method": method}), "")
    monkeypatch.setattr(subprocess, "run", run)


def _no_compute(monkeypatch):
    _fake_points(monkeypatch, None)


def test_bench_refuses_to_overwrite_records_without_overwrite(tmp_path, monkeypatch):
    _no_compute(monkeypatch)
    tag = bench._device_tag("cpu")
    old = tmp_path / tag / "bptt-T2.json"
    old.parent.mkdir(parents=True)
    old.write_text('{"kept": true}')
    rc, so, se = _main("bench", "sweep", "--Ts", "1,2", "--out", tmp_path)
    assert rc == 2 and "--overwrite" in _one_error_line(se)
    assert old.read_text() == '{"kept": true}'
    committed = cli.REPO / "results" / "benchmarks" / "ratebp"
    monkeypatch.setattr(bench, "_device_tag", lambda device: "cpu-2core")  # a committed device
    rc, so, se = _main("bench", "sweep", "--out", committed)
    assert rc == 2 and "--overwrite" in _one_error_line(se)


def test_bench_overwrites_when_told(tmp_path, monkeypatch):
    _fake_points(monkeypatch, {"T": 1, "step_s": 0.1, "peak_rss_mib": 2.0, "rss_after_build_mib": 1.0})
    tag = bench._device_tag("cpu")
    (tmp_path / tag).mkdir()
    (tmp_path / tag / "bptt-T1.json").write_text("{}")
    rc, so, se = _main("bench", "sweep", "--Ts", "1", "--out", tmp_path, "--overwrite")
    assert rc == 0, se
    assert json.loads((tmp_path / tag / "bptt-T1.json").read_text())["step_s"] == 0.1


@pytest.mark.parametrize("args, needle", [
    (["sweep", "--Ts", "1,0"], "--Ts"),
    (["sweep", "--width", "-3"], "--width"),
    (["sweep", "--device", "tpu"], "--device"),
    (["sweep", "--frobnicate"], "unrecognized"),
    (["point", "--method", "tbptt", "--T", "2"], "--method"),
])
def test_bench_bad_input_is_one_line(monkeypatch, args, needle):
    _no_compute(monkeypatch)
    rc, so, se = _main("bench", *args)
    assert rc == 2 and needle in _one_error_line(se)


def test_bench_options_have_help():
    ap = bench.build_parser()
    for name, sp in ap._subparsers._group_actions[0].choices.items():
        for a in sp._actions:
            assert a.help, (name, a.dest)
