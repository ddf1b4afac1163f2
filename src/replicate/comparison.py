"""Paired comparisons of arms against a reference arm, for ablation tables and figures: per arm
the top-1 over seeds and Δ = arm − reference paired by seed, its 95 % Student-t interval
(:func:`replicate.stats.paired_ci`) and the smallest Δ that n seeds at the measured spread could
detect (:func:`replicate.verdict.min_detectable_effect`, 80 % power, two-sided α = 0.05).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import pandas as pd

from .results import format_pm, summarize
from .stats import paired_ci
from .verdict import min_detectable_effect


class Arm(NamedTuple):
    """One arm of a comparison: its label in the table and figure, and its registered row."""

    label: str
    row: str


def at_budget(df: pd.DataFrame, t: int) -> tuple[pd.DataFrame, str]:
    """``df`` with a column ``top1@T'=t``: each record's top-1 when only its first ``t`` timesteps
    are averaged (``prefix_top1[t-1]``; NaN when the model has fewer than ``t`` or none), and that
    column's name. For a model trained at T = t it equals its top-1 (the same pass)."""
    name = f"top1@T'={t}"
    prefix = df["prefix_top1"] if "prefix_top1" in df else pd.Series([None] * len(df), index=df.index)
    col = prefix.map(lambda p: float(p[t - 1]) if isinstance(p, (list, tuple)) and len(p) >= t
                     else math.nan)
    return df.assign(**{name: col}), name


def reading(ci: dict, mde: float) -> str:
    """What a paired interval says, in words: which side of 0 it excludes, or that it cannot
    tell the arms apart from seed noise and which effect the seeds could have detected."""
    if ci["n"] == 0:
        return "not run yet"
    if ci["n"] < 2:
        return "one paired seed: no interval"
    if ci["lo"] > 0:
        return "above the reference (the 95 % CI excludes 0)"
    if ci["hi"] < 0:
        return "below the reference (the 95 % CI excludes 0)"
    return f"not distinguishable from seed noise; n = {ci['n']} would detect |Δ| ≥ {mde:.2f}"


def comparison_table(df: pd.DataFrame, arms: list[Arm], reference: Arm, profile: str,
                     metric: str = "top1") -> pd.DataFrame:
    """One line per arm (reference first): top-1 mean ± sd and n, and for the others Δ vs
    ``reference`` paired by seed (mean, 95 % CI, seeds), the smallest detectable |Δ| and the
    :func:`reading`. The reference's top-1 is over the seeds it shares with the arms (the
    seeds its Δs use; all its seeds when no arm has records), so the columns agree. Units:
    percentage points. ``df``: :func:`replicate.results.load_records`."""
    cur = df[df.current & (df.profile == profile)]
    cis = {a.row: paired_ci(df, a.row, reference.row, profile, metric) for a in arms}
    paired = set().union(*(c["seeds"] for c in cis.values()))
    ref = cur[cur.row == reference.row]
    ref = ref[ref.seed.isin(paired)] if paired else ref
    out = [{"arm": reference.label, "row": reference.row, "top-1 (%)": format_pm(summarize(ref[metric]))}]
    for arm in arms:
        ci = cis[arm.row]
        mde = min_detectable_effect(ci["n"], ci["std"])
        out.append({
            "arm": arm.label, "row": arm.row,
            "top-1 (%)": format_pm(summarize(cur[cur.row == arm.row][metric])),
            "Δ (points)": f"{ci['mean']:+.2f}" if ci["n"] else "—",
            "95 % CI": f"[{ci['lo']:+.2f}, {ci['hi']:+.2f}]" if ci["n"] > 1 else "—",
            "seeds": ", ".join(map(str, ci["seeds"])) or "—",
            "detectable |Δ|": f"{mde:.2f}" if math.isfinite(mde) else "—",
            "reading": reading(ci, mde),
            "_mean": ci["mean"], "_lo": ci["lo"], "_hi": ci["hi"], "_n": ci["n"]})
    return pd.DataFrame(out).set_index("arm")


def comparison_figure(table: pd.DataFrame, reference: str, title: str):
    """Δ vs ``reference`` with its 95 % CI per measured arm (a horizontal error bar; n = 1 as a
    bare point), a line at 0. Returns the matplotlib Figure. Raises ValueError: nothing measured."""
    import matplotlib.pyplot as plt

    t = table[table["_n"].fillna(0) > 0] if "_n" in table else table.iloc[0:0]
    if t.empty:
        raise ValueError("no arm has paired records: nothing to draw")
    fig, ax = plt.subplots(figsize=(6.4, 0.5 * len(t) + 1.4))
    y = range(len(t))[::-1]
    err = [[m - lo if n > 1 else 0 for m, lo, n in zip(t._mean, t._lo, t._n)],
           [hi - m if n > 1 else 0 for m, hi, n in zip(t._mean, t._hi, t._n)]]
    ax.errorbar(t._mean, list(y), xerr=err, fmt="o", capsize=4)
    ax.axvline(0, color="grey", lw=1, ls="--")
    ax.set_yticks(list(y), [f"{a} (n={int(n)})" for a, n in zip(t.index, t._n)])
    ax.set_xlabel(f"Δ top-1 vs {reference} (points), 95 % CI")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """The table without its plotting columns (those starting with ``_``)."""
    return table[[c for c in table.columns if not c.startswith("_")]]
