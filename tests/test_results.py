import json
import os

import pandas as pd
import pytest

from replicate.experiments import config_for
from replicate.results import (atomic_write_bytes, format_pm, load_records, paired_delta,
                               record_path, summarize, write_record)


def _fake(root, row, seed, top1, profile="cpu", **cfg_kw):
    cfg = config_for(row, profile, seed, **cfg_kw)
    rec = {"row": row, "profile": profile, "seed": seed, "config_hash": cfg.hash,
           "config": cfg.to_dict(), "metrics": {"top1": top1, "best_curve_top1": top1 + 1},
           "curves": [{"epoch": 1, "curve_top1": top1}], "provenance": {"wall_time_s": 60.0}}
    write_record(record_path(root, row, profile, seed, cfg.hash), rec)


def test_atomic_write_leaves_old_file_when_write_fails(tmp_path, monkeypatch):
    p = tmp_path / "r.json"
    atomic_write_bytes(p, b"old")

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"old"


def test_paired_delta_is_per_seed_within_one_profile(tmp_path):
    b, m = "bkdsnn-c10-2-384-baseline", "bkdsnn-c10-2-384-mixed"
    for seed, (tb, tm) in enumerate([(50.0, 51.0), (52.0, 52.5), (49.0, 51.5)]):
        _fake(tmp_path, b, seed, tb)
        _fake(tmp_path, m, seed, tm)
    _fake(tmp_path, m, 0, 99.0, profile="smoke")       # another profile: never mixed in
    _fake(tmp_path, b, 3, 10.0, epochs=99)              # an override: not current
    df = load_records(tmp_path)
    assert df.current.sum() == 7 and not df[df.seed == 3].current.any()
    d = paired_delta(df, m, b, "cpu")
    assert d["n"] == 3 and d["seeds"] == [0, 1, 2]
    assert d["mean"] == pytest.approx((1.0 + 0.5 + 2.5) / 3)
    assert d["std"] == pytest.approx(pd.Series([1.0, 0.5, 2.5]).std(ddof=1))
    assert paired_delta(df, m, b, "smoke")["n"] == 0   # smoke has no baseline


def test_format_pm():
    assert format_pm(summarize([1.0, 3.0]), signed=True) == "+2.00 ± 1.41 (n=2)"
    assert format_pm(summarize([1.0])) == "1.00 (n=1)"
    assert format_pm(summarize([])) == "—"


def test_book_tables_from_records(tmp_path):
    from replicate import report
    b, m = "bkdsnn-c10-2-384-baseline", "bkdsnn-c10-2-384-mixed"
    for seed in range(2):
        _fake(tmp_path, b, seed, 40.0 + seed)
        _fake(tmp_path, m, seed, 41.0 + seed)
    df = load_records(tmp_path)
    t = report.bkdsnn_table(df, "cpu")
    assert "profile" not in t.columns and "claim source" not in t.columns  # the heading and the legend say them
    line = t.loc["2-384"]
    assert line["paper Δ"] == "+0.36" and line["ours"] == "2-64, 2 h" and line["n"] == 2
    assert line["paper base"].endswith(" [1]") and line["paper BKD"].endswith(" [1]")
    assert "BKDSNN README" in report.legend(t) and report.legend(t).startswith("[1] ")
    assert line["base"] == "40.50 ± 0.71" and line["BKD"] == "41.50 ± 0.71"
    assert line["Δ"] == "+1.00 ± 0.00" and line["Δ, test-sel."] == "+1.00 ± 0.00"
    assert t.loc["4-256", "base"] == "—" and t.loc["4-256", "n"] == 0
    cmd = report.papermill_command(m, "cpu", 1)
    assert cmd.startswith("papermill notebooks/train.ipynb") and "-p seed 1" in cmd


def test_committed_records_are_current_and_complete():
    """Every record the published book shows still matches the registry's hash (a change to a
    recipe or to the hashing would silently drop them from the tables), and the main job's set
    is complete: the cpu teacher and both 2-384 arms for seeds 0, 1, 2."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "results"
    df = load_records(root)
    assert len(df) and df.current.all(), df[~df.current][["row", "profile", "seed"]]
    cpu = df[df.profile == "cpu"]
    assert set(cpu[cpu.row == "bkdsnn-c10-teacher"].seed) == {0}
    for arm in ("baseline", "mixed"):  # the main job's seeds (the baseline row also holds the CML
        assert set(cpu[cpu.row == f"bkdsnn-c10-2-384-{arm}"].seed) >= {0, 1, 2}  # chapter's 3, 4)
    assert set(cpu[cpu.row == "cml-c10-2-384-original"].seed) == {0, 1, 2, 3, 4}

    for p in cpu.path:  # each cpu record sits beside the executed notebook that produced it
        assert Path(p).with_suffix(".ipynb").is_file()


def test_prefix_curves_and_arm_table(tmp_path):
    from replicate import report
    rows_ = ["logitkd-c10-r18-standard-kd", "logitkd-c10-r18-full"]
    for seed in range(2):
        for rid, base in zip(rows_, (30.0, 32.0)):
            cfg = config_for(rid, "cpu", seed)
            rec = {"row": rid, "profile": "cpu", "seed": seed, "config_hash": cfg.hash,
                   "config": cfg.to_dict(), "curves": [], "provenance": {},
                   "metrics": {"top1": base + seed, "best_curve_top1": base + seed,
                               "prefix_top1": [base - 5 + seed, base + seed]}}
            write_record(record_path(tmp_path, rid, "cpu", seed, cfg.hash), rec)
    c = report.prefix_curves(tmp_path, rows_, "cpu")
    first = c[(c["T'"] == 1) & (c.row == "logitkd-c10-r18-full")].iloc[0]
    assert first["mean"] == pytest.approx(27.5) and first["n"] == 2
    t = report.arm_table(load_records(tmp_path), rows_, "cpu")  # Δ against each row's registered reference
    assert list(t.index) == ["standard-kd", "full"]
    assert t.loc["full", "reference"] == "standard-kd"
    assert t.loc["full", "Δ (paired)"] == "+2.00 ± 0.00 (n=2)"
    assert t.loc["full", "final"] == "32.50 ± 0.71" and t.loc["full", "n"] == 2
    assert t.loc["standard-kd", "Δ (paired)"] == "—"

    assert t.loc["full", "paper"] == "—"  # S1's 97.00 is a ResNet-19 figure


def test_git_state_ignores_results_but_not_code(tmp_path):
    """A batch that replaces a committed record under results/ leaves the code clean; an edited
    source file makes the checkout dirty."""
    import subprocess
    from replicate.provenance import git_state

    def git(*args):
        subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=tmp_path,
                       check=True, capture_output=True)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "r.json").write_text("{}")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "init")
    assert git_state(tmp_path)["dirty"] is False
    (tmp_path / "results" / "r.json").write_text('{"replaced": 1}')
    assert git_state(tmp_path)["dirty"] is False
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_state(tmp_path)["dirty"] is True
