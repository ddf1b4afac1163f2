"""The batch command end to end: validation errors, then a real papermill smoke batch."""
import json
import subprocess
import sys

import pytest

from replicate.results import load_records, paired_delta


def _batch(*args):
    cmd = [sys.executable, "-m", "replicate", "batch", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("args, needle", [
    (["--rows", "bkdsnn-c10-9-999"], "unknown row 'bkdsnn-c10-9-999'"),
    (["--main-job", "-p", "epochs=three"], "'epochs' must be int, got str"),
    (["--main-job", "-p", "lr='0.1'"], "'lr' must be float, got str"),
    (["--main-job", "-p", "nonsense=1"], "unknown parameter 'nonsense'"),
    (["--main-job", "--data-root", "/nonexistent/cifar"], "cifar10 not found"),
    (["--rows", "esd-in1k-pr34-rate-bp-sd", "--profile", "paper"], "cannot run here at profile 'paper': no ImageNet"),
])
def test_bad_input_is_one_line_before_any_training(tmp_path, args, needle):
    r = _batch(*args, *([] if "--profile" in args else ["--profile", "smoke"]), "--out", str(tmp_path))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert not any(tmp_path.iterdir())  # nothing was trained or written


@pytest.mark.slow
def test_smoke_main_job_through_papermill(tmp_path, data_root):
    out = tmp_path / "out"
    r = _batch("--main-job", "--profile", "smoke", "--out", str(out), "--data-root", data_root, "-q")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "total" in r.stdout
    recs = sorted((out / "records").glob("*/smoke/*.json"))
    assert {p.parent.parent.name for p in recs} == {
        "bkdsnn-c10-teacher", "bkdsnn-c10-2-384-baseline", "bkdsnn-c10-2-384-mixed"}
    for p in recs:
        nb = p.with_suffix(".ipynb")
        assert nb.is_file() and nb.stat().st_size < 1 << 20
        assert "injected-parameters" in nb.read_text()
        assert json.loads(p.read_text())["profile"] == "smoke"
    df = load_records(out)
    assert df.current.all() and len(df) == 3
    d = paired_delta(df, "bkdsnn-c10-2-384-mixed", "bkdsnn-c10-2-384-baseline", "smoke")
    assert d["n"] == 1 and d["seeds"] == [0]
    # a second batch finds every record (and the teacher's weights) and skips all runs
    r2 = _batch("--main-job", "--profile", "smoke", "--out", str(out), "--data-root", data_root, "-q")
    assert r2.returncode == 0 and r2.stdout.count("skip ") == 3, r2.stdout
    # the book builds strictly (-W -n, no --keep-going) from these smoke records
    b = subprocess.run([sys.executable, "-m", "replicate", "book", "--results", str(out),
                        "--build", str(tmp_path / "build")], capture_output=True, text=True,
                       timeout=600)
    assert b.returncode == 0, b.stdout[-3000:] + b.stderr[-3000:]
    html = (tmp_path / "build" / "_build" / "html" / "bkdsnn.html").read_text()
    assert "Profile <code" in html or "smoke" in html


def test_notebook_parameters_pass_each_override_as_its_own_parameter():
    import ast

    from replicate.cli import NOTEBOOK, REPO, _notebook_params
    from replicate.experiments import config_for
    from replicate.notebook import NOTEBOOK_PARAMETERS

    cfg = config_for("bkdsnn-c10-2-384-mixed", "smoke", 1, out_dir="o", data_root="d", lr=0.05)
    params = _notebook_params(cfg, {"lr": 0.05, "device": "cpu"})
    fixed = {"row": "bkdsnn-c10-2-384-mixed", "profile": "smoke", "seed": 1, "data_root": "d",
             "out_dir": "o", "progress": True, "force": False}
    assert params == {**fixed, "lr": 0.05, "device": "cpu"}
    assert _notebook_params(cfg, {}, force=True)["force"] is True  # --force: the engine retrains
    # the one notebook declares exactly these fixed parameters in its parameters cell
    nb = json.loads((REPO / NOTEBOOK).read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    assert {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets} == set(fixed)
    assert set(NOTEBOOK_PARAMETERS) == set(fixed)


@pytest.mark.slow
def test_a_teacher_runs_through_the_one_notebook_with_its_overrides(tmp_path, data_root):
    r = _batch("--rows", "bkdsnn-c10-teacher", "--profile", "smoke", "--out", str(tmp_path),
               "--data-root", data_root, "-q", "-p", "epochs=1", "-p", "lr=0.002")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "via notebooks/train.ipynb" in r.stdout
    rec = json.loads(next((tmp_path / "records" / "bkdsnn-c10-teacher" / "smoke").glob("*.json")).read_text())
    assert rec["overrides"] == {"epochs": 1, "lr": 0.002}
    assert rec["config"]["epochs"] == 1 and len(rec["curves"]) == 1


def test_a_whole_paper_batch_plans_only_the_rows_that_can_run_here(tmp_path):
    from argparse import Namespace

    from replicate.cli import _plan
    args = Namespace(main_job=False, rows=None, paper="logitkd", profile="cpu", seeds=None, out=tmp_path,
                     data_root=None, param=[])
    planned = {rid for rid, _, _ in _plan(args)}
    assert "logitkd-c10-r18-full" in planned and "logitkd-c10-teacher" in planned
    assert not any(r.startswith(("logitkd-c100", "logitkd-in1k", "logitkd-dvs")) for r in planned)
