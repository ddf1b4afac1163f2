"""The ``replicate`` commands on the committed records (show, compare, export), bad input
everywhere, ``--help``; the t-interval on hand-made numbers; ``run`` + ``load_model`` on a smoke run."""
from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import shutil
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest
import torch

from replicate import cli
from replicate.config import Config
from replicate.experiments import config_for
from replicate.inference import load_model, load_record, run_command
from replicate.stats import paired_ci, t_interval

RESULTS = Path(__file__).resolve().parents[1] / "results"
COMMANDS = ("run", "show", "compare", "export", "batch", "list", "book", "bench", "book-check")
MIXED, BASE = "bkdsnn-c10-2-384-mixed", "bkdsnn-c10-2-384-baseline"


def _cli(capsys, *argv) -> tuple[int, str, str]:
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _record_files(row: str, profile: str) -> pd.DataFrame:
    """The committed records of ``row`` at ``profile``, read here from the JSON files."""
    recs = [json.loads(p.read_text()) for p in sorted((RESULTS / "records" / row / profile).glob("*.json"))]
    return pd.DataFrame([{"seed": r["seed"], "top1": r["metrics"]["top1"], "hash": r["config_hash"],
                          "current": r["config_hash"] == config_for(row, profile, r["seed"]).hash}
                         for r in recs])


# --------------------------------------------------------------------------- stats
def test_t_interval_on_hand_made_numbers():
    ci = t_interval([1.0, 2.0, 3.0])  # mean 2, sd 1, t(0.975, 2 dof) = 4.3027 (tables)
    assert ci["mean"] == 2.0 and ci["std"] == 1.0 and ci["n"] == 3 and ci["dof"] == 2
    assert ci["t"] == pytest.approx(4.302653, abs=1e-6)
    assert ci["half_width"] == pytest.approx(4.302653 / math.sqrt(3), abs=1e-6)
    assert (ci["lo"], ci["hi"]) == pytest.approx((2 - 2.484138, 2 + 2.484138), abs=1e-6)
    two = t_interval([0.5, 1.5])  # t(0.975, 1 dof) = 12.7062; sd = 1/√2; half = 12.7062 / 2
    assert two["half_width"] == pytest.approx(12.706205 / 2, abs=1e-6)
    assert t_interval([1.0, 2.0, 3.0], level=0.90)["t"] == pytest.approx(2.919986, abs=1e-6)


def test_t_interval_has_no_interval_below_two_values():
    one = t_interval([0.7, float("nan")])
    assert one["n"] == 1 and one["mean"] == 0.7
    assert all(math.isnan(one[k]) for k in ("std", "t", "half_width", "lo", "hi"))
    assert t_interval([])["n"] == 0 and math.isnan(t_interval([])["mean"])
    for level in (0, 1, 95):
        with pytest.raises(ValueError, match="confidence level"):
            t_interval([1.0, 2.0], level=level)


def test_paired_ci_pairs_current_records_of_one_profile_by_seed():
    df = pd.DataFrame([  # row, profile, seed, current, top1
        ("a", "cpu", 0, True, 50.0), ("b", "cpu", 0, True, 49.0),
        ("a", "cpu", 1, True, 52.0), ("b", "cpu", 1, True, 50.0),
        ("a", "cpu", 2, True, 60.0), ("b", "cpu", 2, False, 10.0),  # stale B: seed 2 unpaired
        ("a", "gpu", 3, True, 90.0), ("b", "gpu", 3, True, 0.0),    # another profile
        ("a", "cpu", 4, True, 55.0),                                # no B at all
    ], columns=["row", "profile", "seed", "current", "top1"])
    ci = paired_ci(df, "a", "b", "cpu")
    assert ci["seeds"] == [0, 1] and ci["n"] == 2 and ci["mean"] == 1.5
    assert ci["half_width"] == pytest.approx(12.706205 * math.sqrt(0.5) / math.sqrt(2), abs=1e-6)
    with pytest.raises(KeyError, match="metric 'nope'"):
        paired_ci(df, "a", "b", "cpu", metric="nope")


# --------------------------------------------------------------------------- compare
@pytest.mark.parametrize("a, b, profile", [
    (MIXED, BASE, "cpu"), (MIXED, BASE, "gpu"),
    ("logitkd-c10-r18-full", "logitkd-c10-r18-standard-kd", "cpu"),
    ("esd-c10-r18-rate-bp-sd", "esd-c10-r18-rate-bp", "gpu"),
])
def test_compare_equals_pandas_on_the_record_files(capsys, a, b, profile):
    from scipy import stats

    ra, rb = (_record_files(r, profile) for r in (a, b))
    d = (ra[ra.current].set_index("seed").top1 - rb[rb.current].set_index("seed").top1).dropna()
    assert len(d) >= 2  # the committed records are current: real numbers to compare
    rc, out, err = _cli(capsys, "compare", a, b, "--profile", profile, "--results", RESULTS)
    assert rc == 0 and err == ""
    assert f"mean Δ  {d.mean():+.3f}\n" in out
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    assert f"95% CI  [{d.mean() - half:+.3f}, {d.mean() + half:+.3f}]  (Student t, {len(d) - 1} dof" in out
    assert re.search(rf"^  n {{7}}{len(d)}$", out, re.M), out
    assert f"seeds   {', '.join(str(s) for s in sorted(d.index))}\n" in out


def test_compare_with_one_paired_seed_says_no_interval(tmp_path, capsys):
    for row in (MIXED, BASE):
        dest = tmp_path / "records" / row / "cpu"
        dest.mkdir(parents=True)
        src = next(p for p in (RESULTS / "records" / row / "cpu").glob("seed0-*.json"))
        shutil.copy(src, dest / src.name)
    rc, out, _ = _cli(capsys, "compare", MIXED, BASE, "--profile", "cpu", "--results", tmp_path)
    ra, rb = _record_files(MIXED, "cpu"), _record_files(BASE, "cpu")
    d0 = ra.set_index("seed").top1[0] - rb.set_index("seed").top1[0]
    assert rc == 0 and "95% CI  n<2: no interval" in out and f"mean Δ  {d0:+.3f}" in out
    assert re.search(r"^  n {7}1$", out, re.M) and "seeds   0\n" in out


def test_compare_without_paired_records_is_an_error(capsys):
    rc, out, err = _cli(capsys, "compare", MIXED, BASE, "--profile", "smoke", "--results", RESULTS)
    assert rc == 1 and out == "" and len(err.strip().splitlines()) == 1 and "no seed" in err


# --------------------------------------------------------------------------- show
def _show_table(out: str) -> dict[str, tuple[str, str]]:
    lines = out.splitlines()
    start = next(i for i, l in enumerate(lines) if l.split() == ["field", "value", "source"])
    rows = {}
    for line in lines[start + 1:]:
        if line.startswith("claim:"):
            break
        words = line.split()
        rows[words[0]] = (" ".join(words[1:-1]), words[-1])
    return rows


def test_show_marks_every_field_with_its_source_and_lists_the_records(capsys):
    rc, out, err = _cli(capsys, "show", MIXED, "--profile", "cpu", "-p", "lr=0.01", "-p", "epochs=2",
                        "--results", RESULTS)
    assert rc == 0 and err == ""
    table = _show_table(out)
    assert list(table) == [f.name for f in fields(Config)]  # every field, once, in order
    assert table["lr"] == ("0.01", "override") and table["epochs"] == ("2", "override")
    assert table["embed_dim"] == ("64", "recipe") and table["distill"] == ("'mixed'", "recipe")
    for name in ("row", "profile", "seed", "teacher_row", "teacher_hash"):
        assert table[name][1] == "registry"
    assert table["teacher_hash"][0] == repr(config_for("bkdsnn-c10-teacher", "cpu").hash)
    for f in fields(Config):  # a "default" is the dataclass default
        if table[f.name][1] == "default":
            assert table[f.name][0] == repr(f.default), f.name
    assert "claim: 95.90 (top1); source: BKDSNN README" in out
    assert f"hash {config_for(MIXED, 'cpu', 0, lr=0.01, epochs=2).hash}" in out
    recs = _record_files(MIXED, "cpu")
    assert len(recs) == 3 and recs.current.all()
    for r in recs.itertuples():  # the lr/epochs overrides do not change which records are current
        assert re.search(rf"^{r.seed}\s+{r.hash}\s+current\s+{r.top1:.2f}\s*$", out, re.M), out


def test_show_marks_a_stale_record(tmp_path, capsys):
    src = next((RESULTS / "records" / BASE / "gpu").glob("seed1-*.json"))
    rec = json.loads(src.read_text())
    rec["config"]["lr"] = 1e-3  # a record of an older recipe: valid, but not today's hash
    h = rec["config_hash"] = Config(**rec["config"]).hash
    dest = tmp_path / "records" / BASE / "gpu" / f"seed1-{h}.json"
    dest.parent.mkdir(parents=True)
    dest.write_text(json.dumps(rec))
    rc, out, _ = _cli(capsys, "show", BASE, "--profile", "gpu", "--results", tmp_path)
    assert rc == 0
    assert re.search(rf"^1\s+{h}\s+stale\s+{rec['metrics']['top1']:.2f}", out, re.M), out
    assert _show_table(out)["device"] == ("'cuda'", "recipe")


# --------------------------------------------------------------------------- export
def test_export_csv_holds_every_record_with_its_config(tmp_path, capsys):
    dest = tmp_path / "sub" / "records.csv"
    rc, out, err = _cli(capsys, "export", "--results", RESULTS, "--csv", dest)
    assert rc == 0 and err == "" and str(dest) in out
    df = pd.read_csv(dest)
    files = sorted((RESULTS / "records").glob("*/*/*.json"))
    assert len(df) == len(files) > 40
    assert {"row", "profile", "seed", "current", "top1", "config.lr", "config.model",
            "config.epochs", "config.teacher_hash"} <= set(df.columns)
    assert [c for c in df.columns if c.startswith("config.")] == [f"config.{f.name}" for f in fields(Config)]
    by_path = df.set_index("path")
    for p in files:
        r = json.loads(p.read_text())
        line = by_path.loc[str(p)]
        assert line.top1 == r["metrics"]["top1"] and line["config.epochs"] == r["config"]["epochs"]
        assert line.config_hash == r["config_hash"] and line["config.row"] == r["row"]


@pytest.mark.skipif(__import__("importlib").util.find_spec("pyarrow") is not None,
                    reason="pyarrow is installed")
def test_export_parquet_without_pyarrow_is_one_line(tmp_path, capsys):
    rc, out, err = _cli(capsys, "export", "--results", RESULTS, "--parquet", tmp_path / "r.parquet")
    assert rc == 2 and out == "" and not any(tmp_path.iterdir())
    assert err.count("\n") == 1 and "pyarrow" in err and "not installed" in err


# --------------------------------------------------------------------------- bad input, help
X, Y = MIXED, BASE
BAD = [
    (["batch", "--main-job", "--seeds", "a"], "'a' is not a comma-separated list"),
    (["batch", "--main-job", "--seeds", "0,,1"], "not a comma-separated list"),
    (["batch", "--paper", "nope"], "unknown paper 'nope'; papers: bkdsnn, cml, esd, logitkd, ratebp"),
    (["batch", "--rows", ""], "empty row list"),
    (["batch", "--rows", ","], "empty row list"),
    (["batch", "--rows", "bkdsnn-c10-2-384-mixd"], "did you mean bkdsnn-c10-2-384-mixed"),
    (["batch", "--main-job", "-p", "seed=3"], "'seed' is set by --seed/--seeds"),
    (["batch", "--main-job", "-p", "out_dir=x"], "'out_dir' is set by --out"),
    (["batch", "--main-job", "--paper", "bkdsnn"], "not allowed with argument"),
    (["batch", "--main-job", "--profile", "huge"], "invalid choice: 'huge'"),
    (["run", "bkdsnn-c10-2-384-mixd"], "unknown row 'bkdsnn-c10-2-384-mixd'; did you mean bkdsnn-c10-2-384-mixed"),
    (["run", "nothing-like-a-row"], "unknown row 'nothing-like-a-row' (`replicate list`"),
    (["run", Y, "--seed", "x"], "'x' is not an integer seed"),
    (["run", Y, "--seed", "-1"], "seed -1 is negative"),
    (["run", Y, "-p", "epochs=three"], "'epochs' must be int, got str"),
    (["run", Y, "-p", "lr"], "must look like name=value"),
    (["run", Y, "-p", "nonsense=1"], "unknown parameter 'nonsense'"),
    (["run", Y, "-p", "teacher_row=x"], "'teacher_row' is set by the registry"),
    (["run", Y, "--data-root", "/nonexistent/cifar"], "cifar10 not found"),
    (["run", "esd-in1k-pr34-rate-bp-sd", "--profile", "paper"], "cannot run here at profile 'paper'"),
    (["run", "logitkd-c10-r18-full", "--profile", "gpu"], "has no 'gpu' recipe"),
    (["run", X, "--profile", "smoke"], "teacher weights for row 'bkdsnn-c10-teacher'"),
    (["run"], "the following arguments are required: ROW"),
    (["show", "logitkd-c10-r18-ful"], "did you mean logitkd-c10-r18-full"),
    (["show", X, "-p", "teacher_hash=x"], "'teacher_hash' is set by the registry"),
    (["show", X, "-p", "lr='fast'"], "'lr' must be float, got str"),
    (["compare", "a", X, "--profile", "cpu"], "unknown row 'a'"),
    (["compare", X, Y], "the following arguments are required: --profile"),
    (["compare", X, Y, "--profile", "cpu", "--metric", "nope"], "invalid choice: 'nope'"),
    (["compare", X, Y, "--profile", "cpu", "--level", "1.5"], "confidence level must be in (0, 1)"),
    (["compare", X, Y, "--profile", "cpu", "--results", "empty"], "no records under empty/records"),
    (["export", "--results", RESULTS], "one of the arguments --csv --parquet is required"),
    (["export", "--results", "empty", "--csv", "x.csv"], "no records under empty/records"),
    (["list", "--paper", "nope"], "unknown paper 'nope'"),
    (["book", "--results", "empty"], "no records under empty/records"),
    ([], "the following arguments are required: COMMAND"),
    (["nope"], "invalid choice: 'nope'"),
]


@pytest.mark.parametrize("argv, needle", BAD, ids=[" ".join(map(str, a))[:60] or "none" for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys, argv, needle):
    monkeypatch.chdir(tmp_path)  # relative outputs (out/, x.csv) would land here
    rc, out, err = _cli(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and needle in err, err
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is available")
def test_run_on_a_missing_device_is_one_line(tmp_path, capsys):
    rc, out, err = _cli(capsys, "run", BASE, "--profile", "smoke", "--device", "cuda", "--out", tmp_path)
    assert rc == 2 and err.count("\n") == 1 and "no CUDA device" in err and not any(tmp_path.iterdir())


def test_help_lists_every_command_on_one_line(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps help to the terminal width
    rc, out, _ = _cli(capsys, "--help")
    assert rc == 0
    lines = out.splitlines()
    start = lines.index("  COMMAND") + 1
    listed = lines[start:start + len(COMMANDS)]
    assert [line.split()[0] for line in listed] == list(COMMANDS)
    assert all(len(line.split()) > 2 for line in listed)
    assert start + len(COMMANDS) == len(lines) or not lines[start + len(COMMANDS)].startswith("      ")


def test_every_option_of_every_command_has_help():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert tuple(sub.choices) == COMMANDS
    for name, p in sub.choices.items():
        for action in p._actions:
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)


# --------------------------------------------------------------------------- run, load_model
def test_run_command_parses_back_to_the_same_overrides(tmp_path):
    overrides = {"lr": 0.05, "self_teacher": "ensemble", "randaugment": None, "recipe": "3",
                 "surrogate": "a b", "autoaugment": True}
    cmd = run_command(BASE, "smoke", 1, tmp_path / "my out", overrides)
    words = shlex.split(cmd)
    assert words[:9] == ["replicate", "run", BASE, "--profile", "smoke", "--seed", "1", "--out",
                         str(tmp_path / "my out")]
    assert dict(cli._parse_kv(w) for w in words[10::2]) == overrides


def test_load_model_without_weights_names_the_command_that_makes_them(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        load_model(BASE, "smoke", 1, out=tmp_path, lr=0.01, num_threads=1)
    msg = str(e.value)
    assert "\n" not in msg and str(tmp_path / "checkpoints") in msg
    assert f"`replicate run {BASE} --profile smoke --seed 1 --out {tmp_path} -p lr=0.01`" in msg
    with pytest.raises(FileNotFoundError, match="no record for"):
        load_record(BASE, "smoke", 1, out=tmp_path)


@pytest.mark.slow
def test_run_then_load_model_gives_the_record_top1_bit_for_bit(tmp_path, capsys, data_root):
    from replicate import data
    from replicate.train.evaluate import evaluate

    rc, out, err = _cli(capsys, "run", BASE, "--profile", "smoke", "--seed", "0", "--out", tmp_path,
                        "--data-root", data_root, "-q")
    assert rc == 0, err
    cfg = config_for(BASE, "smoke", 0, data_root=data_root, out_dir=str(tmp_path))
    path = tmp_path / "records" / BASE / "smoke" / f"seed0-{cfg.hash}.json"
    record = json.loads(path.read_text())
    assert f"record {path}\n" in out and f"top-1 {record['metrics']['top1']:.2f}%" in out
    assert load_record(BASE, "smoke", 0, out=tmp_path) == record
    model = load_model(BASE, "smoke", 0, out=tmp_path)
    assert not model.training
    d = data.build(cfg)
    ev = evaluate(model, d.final, batch_size=record["config"]["eval_batch_size"],
                  device="cpu", img_size=record["config"]["img_size"])
    assert len(d.final) == record["metrics"]["final_test_size"]
    assert ev["top1"] == record["metrics"]["top1"]
    assert ev["prefix_top1"] == record["metrics"]["prefix_top1"]
    rc, out, _ = _cli(capsys, "run", BASE, "--profile", "smoke", "--out", tmp_path, "--data-root", data_root)
    assert rc == 0 and "record exists" in out  # the default seed is the row's first: no retraining
