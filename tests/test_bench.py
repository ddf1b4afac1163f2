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
