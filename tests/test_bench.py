"""The BPTT vs rate-based BP benchmark: one process per point, atomic records, the book's loader."""
import json

import pytest

from replicate import bench


def test_bad_points_are_refused_before_any_compute():
    with pytest.raises(ValueError, match="method 'tbptt'"):
        bench.measure_point("tbptt", 2, width=2, batch=2, steps=1, warmup=0, device="cpu", threads=1)
    with pytest.raises(ValueError, match="T must be >= 1"):
        bench.measure_point("bptt", 0, width=2, batch=2, steps=1, warmup=0, device="cpu", threads=1)


@pytest.mark.slow
def test_sweep_runs_each_point_in_its_own_process_and_writes_records(tmp_path):
    recs = bench.sweep(tmp_path, Ts=(1, 2), width=2, batch=2, steps=1, warmup=0, threads=1)
    files = sorted(p.name for p in tmp_path.glob("*/*.json"))
    assert files == ["bptt-T1.json", "bptt-T2.json", "rate_bp-T1.json", "rate_bp-T2.json"]
    r = json.loads(next(tmp_path.glob("*/rate_bp-T2.json")).read_text())
    assert r["T"] == 2 and r["step_s"] > 0 and r["peak_rss_mib"] >= r["rss_after_build_mib"] > 0
    assert r["provenance"]["git"]["commit"] and r["device_tag"].startswith("cpu-")
    assert len({x["params"] for x in recs}) == 1  # the same model for both methods
    df = bench.load(tmp_path)
    assert len(df) == 4 and (df.train_rss_mib >= 0).all()
    empty = bench.load(tmp_path / "nothing")  # the book renders without benchmark records
    assert empty.empty and "device_tag" in empty and not list(empty.groupby("device_tag"))


def test_committed_benchmark_records_cover_the_grid():
    """The book's figure: both methods at every T of the default sweep, per device measured."""
    from pathlib import Path
    df = bench.load(Path(__file__).resolve().parents[1] / "results" / "benchmarks" / "ratebp")
    assert {"cpu-2core", "nvidia-h100-80gb-hbm3"} <= set(df.device_tag)
    for tag, g in df.groupby("device_tag"):
        for m in bench.METHODS:
            assert sorted(g[g.method == m]["T"]) == list(bench.DEFAULT_TS), (tag, m)
        assert g.width.nunique() == 1 and g.batch.nunique() == 1, tag  # one model per figure


@pytest.mark.slow
def test_kd_suite_points_train_the_registered_rows_losses(tmp_path):
    """Suite kd: standard KD and the full ICML 2025 loss on the registered cpu rows' student,
    teacher and distiller, one process per point."""
    methods, _ = bench.SUITES["kd"]
    recs = bench.sweep(tmp_path, Ts=(2,), methods=methods, width=2, batch=2, steps=1, warmup=0,
                       threads=1)
    assert sorted(p.name for p in tmp_path.glob("*/*.json")) == ["full_kd-T2.json", "standard_kd-T2.json"]
    assert all(r["T"] == 2 and r["step_s"] > 0 for r in recs)
    assert recs[0]["params"] == recs[1]["params"]  # neither distiller has parameters of its own
    with pytest.raises(ValueError, match="method 'kd'"):
        bench.measure_point("kd", 2, width=2, batch=2, steps=1, warmup=0, device="cpu", threads=1)


def test_speed_methods_and_the_relu_twin():
    import torch
    from spikingjelly.activation_based.neuron import BaseNode

    from replicate import bench_speed
    from replicate.experiments import config_for
    from replicate.models import create_model
    assert bench_speed.split_method("r18-snn-reference") == ("r18", "snn-reference")
    with pytest.raises(ValueError, match="speed method 'r18-gelu'"):
        bench_speed.split_method("r18-gelu")
    assert bench_speed.recipe_T("r18-snn") == 6 and bench_speed.recipe_T("sf-relu") == 4
    cfg = config_for("logitkd-c10-r18-full", "cpu", 0, T=2)
    model = create_model(cfg.model, num_classes=10, **cfg.model_kwargs())
    twin = bench_speed._relu_twin(model)
    assert not any(isinstance(m, BaseNode) for m in twin.modules())
    assert sum(isinstance(m, torch.nn.ReLU) for m in twin.modules()) == 17
    assert twin(torch.randn(2, 3, 32, 32)).shape == (2, 2, 10)  # [T, B, K], T passes kept


@pytest.mark.slow
def test_speed_suite_points_and_summary(tmp_path):
    """Suite speed: each variant in its own process; the summary's neuron share and ratios come
    from the records of the same model and T."""
    from replicate import bench_speed
    methods = ("r18-snn", "r18-snn-reference", "r18-relu", "r18-ann")
    recs = bench.sweep(tmp_path, Ts=(2,), methods=methods, batch=2, steps=1, warmup=0, threads=1)
    assert [r["variant"] for r in recs] == ["snn", "snn-reference", "relu", "ann"]
    assert [r["model_T"] for r in recs] == [2, 2, 2, 1]
    assert all(r["step_s"] > 0 and r["eval_img_s"] > 0 and r["train_gflop"] > 0 for r in recs)
    assert recs[0]["train_gflop"] == recs[2]["train_gflop"]  # the neuron adds no conv/matmul FLOPs
    assert recs[3]["train_gflop"] < recs[2]["train_gflop"]
    s = bench_speed.summary(bench.load(tmp_path)).iloc[0]
    snn, relu = recs[0]["step_s"], recs[2]["step_s"]
    assert s["SNN / ReLU"] == pytest.approx(snn / relu)
    assert s["neuron share"] == pytest.approx((snn - relu) / snn)
    assert s["threads"] == 1


def test_walltime_pairs_records_and_detects_a_changed_result(tmp_path):
    import copy

    from replicate import bench_speed
    rec = {"row": "r", "profile": "cpu", "seed": 0, "config_hash": "h",
           "metrics": {"top1": 40.0, "mean_firing_rate": 0.1},
           "curves": [{"epoch": 0, "train_loss": 2.0, "curve_top1": 30.0}],
           "provenance": {"wall_time_s": 200.0, "git": {"commit": "a" * 40}}}
    faster = copy.deepcopy(rec)
    faster["provenance"] = {"wall_time_s": 120.0, "git": {"commit": "b" * 40}}
    faster["metrics"]["energy"] = {"mJ": 1.0}  # a metric only the newer code records
    d = tmp_path / "cpu-2core"
    d.mkdir()
    for name, r in (("r-before", rec), ("r-after", faster)):
        (d / f"{name}.json").write_text(json.dumps(r))
    t = bench_speed.walltime(tmp_path).iloc[0]
    assert t["after / before"] == pytest.approx(0.6) and t["identical results"]
    faster["curves"][0]["train_loss"] = 2.0000001
    (d / "r-after.json").write_text(json.dumps(faster))
    assert not bench_speed.walltime(tmp_path).iloc[0]["identical results"]


def test_commit_never_replaces_committed_records(capsys):
    """Committed benchmark records are evidence: --commit with --overwrite is refused before any
    compute, as is --commit into a folder that already holds the sweep's points."""
    assert bench.main(["sweep", "--commit", "--overwrite"]) == 2
    assert "never replaces" in capsys.readouterr().err
    assert bench.main(["sweep", "--suite", "ratebp", "--commit", "--Ts", "1"]) == 2  # committed
    assert "already under" in capsys.readouterr().err
