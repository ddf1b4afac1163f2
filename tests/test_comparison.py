"""Paired ablation comparisons on hand-made records: Δ, its t-interval, the detectable effect and
the reading for each branch; the figure draws measured arms only."""
from __future__ import annotations

import math

import matplotlib
import pandas as pd
import pytest
from scipy import stats

from replicate.comparison import Arm, at_budget, comparison_figure, comparison_table, reading, shown

matplotlib.use("Agg")


def _records() -> pd.DataFrame:
    ref = [50.0, 52.0, 51.0]
    rows = {"ref": ref, "up": [r + d for r, d in zip(ref, (1.0, 1.2, 0.8))],
            "noise": [r + d for r, d in zip(ref, (1.0, -1.0, 0.5))],
            "down": [r - d for r, d in zip(ref, (2.0, 2.2, 1.9))]}
    recs = [{"row": k, "profile": "cpu", "seed": s, "top1": v, "current": True}
            for k, vals in rows.items() for s, v in enumerate(vals)]
    recs.append({"row": "up", "profile": "gpu", "seed": 0, "top1": 99.0, "current": True})
    recs.append({"row": "ref", "profile": "cpu", "seed": 7, "top1": 10.0, "current": True})  # unpaired
    return pd.DataFrame(recs)


def test_table_pairs_by_seed_and_reads_each_branch():
    arms = [Arm("up", "up"), Arm("noise", "noise"), Arm("down", "down"), Arm("absent", "absent")]
    t = comparison_table(_records(), arms, Arm("reference", "ref"), "cpu")
    assert list(t.index) == ["reference", "up", "noise", "down", "absent"]
    # the reference over the seeds its Δs pair (seed 7 has no partner): 51.00 ± 1.00 over 0, 1, 2
    assert t.loc["reference", "top-1 (%)"] == "51.00 ± 1.00 (n=3)"
    d = [1.0, 1.2, 0.8]
    half = stats.t.ppf(0.975, 2) * pd.Series(d).std() / math.sqrt(3)
    assert t.loc["up", "_mean"] == pytest.approx(1.0) and t.loc["up", "_hi"] == pytest.approx(1.0 + half)
    assert t.loc["up", "seeds"] == "0, 1, 2"  # seed 7 of the reference has no partner
    assert t.loc["up", "reading"].startswith("above") and t.loc["down", "reading"].startswith("below")
    assert t.loc["noise", "reading"].startswith("not distinguishable from seed noise; n = 3 would detect")
    assert float(t.loc["noise", "detectable |Δ|"]) > abs(t.loc["noise", "_mean"])
    assert t.loc["absent", "reading"] == "not run yet" and t.loc["absent", "95 % CI"] == "—"
    assert not any(c.startswith("_") for c in shown(t).columns)


def test_reading_with_one_seed_has_no_interval():
    assert reading({"n": 1, "mean": 1.0}, math.inf) == "one paired seed: no interval"


def test_figure_draws_measured_arms_and_refuses_an_empty_table():
    arms = [Arm("up", "up"), Arm("absent", "absent")]
    t = comparison_table(_records(), arms, Arm("reference", "ref"), "cpu")
    fig = comparison_figure(t, "reference", "test")
    labels = [x.get_text() for x in fig.axes[0].get_yticklabels()]
    assert labels == ["up (n=3)"]
    with pytest.raises(ValueError, match="nothing to draw"):
        comparison_figure(t.loc[["reference", "absent"]], "reference", "test")


def test_at_budget_compares_models_trained_at_different_T():
    df = pd.DataFrame([
        {"row": "t6", "profile": "cpu", "seed": s, "current": True, "top1": 60.0 + s,
         "prefix_top1": [40.0, 50.0 + s, 55.0, 57.0, 59.0, 60.0 + s]} for s in range(3)] + [
        {"row": "t2", "profile": "cpu", "seed": s, "current": True, "top1": 52.0 + 2 * s,
         "prefix_top1": [45.0, 52.0 + 2 * s]} for s in range(3)] + [
        {"row": "ann", "profile": "cpu", "seed": 0, "current": True, "top1": 70.0, "prefix_top1": None}])
    d, col = at_budget(df, 2)
    assert col == "top1@T'=2" and math.isnan(d[d.row == "ann"][col].iloc[0])
    t = comparison_table(d, [Arm("T=6 at T'=2", "t6")], Arm("trained at T=2", "t2"), "cpu", metric=col)
    assert t.loc["T=6 at T'=2", "_mean"] == pytest.approx(-3.0)  # (50+s) − (52+2s), s = 0, 1, 2
    assert t.loc["T=6 at T'=2", "reading"].startswith("below")
