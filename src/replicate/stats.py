"""Confidence intervals for the book's and the CLI's paired comparisons (Student t, n − 1 dof)."""
from __future__ import annotations

import math
from typing import Any, Iterable

import pandas as pd


def t_interval(values: Iterable[float], level: float = 0.95) -> dict[str, Any]:
    """Two-sided Student-t confidence interval for the mean of ``values`` (NaNs dropped).

    Returns ``mean``, ``std`` (sample, ddof 1), ``n``, ``dof`` (n − 1), ``level``, ``t`` (the
    quantile t_{(1+level)/2, n−1}), ``half_width`` (t · std / √n) and ``lo``/``hi``, all in the
    units of ``values`` (percentage points for top-1 differences). With n < 2 there is no
    interval: ``std``, ``t``, ``half_width``, ``lo`` and ``hi`` are NaN (``mean`` is NaN for n = 0).

    Raises:
        ValueError: ``level`` is not strictly between 0 and 1.
    """
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level!r}")
    s = pd.Series(list(values), dtype=float).dropna()
    n = int(len(s))
    nan = float("nan")
    out = {"mean": float(s.mean()) if n else nan, "std": nan, "n": n, "dof": max(n - 1, 0),
           "level": level, "t": nan, "half_width": nan, "lo": nan, "hi": nan}
    if n < 2:
        return out
    from scipy import stats

    std = float(s.std(ddof=1))
    t = float(stats.t.ppf((1 + level) / 2, n - 1))
    half = t * std / math.sqrt(n)
    out.update(std=std, t=t, half_width=half, lo=out["mean"] - half, hi=out["mean"] + half)
    return out


def paired_ci(df: pd.DataFrame, row_a: str, row_b: str, profile: str, metric: str = "top1",
              level: float = 0.95) -> dict[str, Any]:
    """Δ = metric(row_a) − metric(row_b), paired by seed over the current records of ``profile``
    (as :func:`replicate.results.paired_delta`), with its Student-t interval.

    ``df`` is :func:`replicate.results.load_records`. Returns the keys of :func:`t_interval`
    (units of ``metric``: percentage points for top-1) plus ``seeds``, the paired seeds with a value in both rows (sorted).

    Raises:
        KeyError: ``metric`` is not a column of ``df``.
        ValueError: ``level`` is not strictly between 0 and 1.
    """
    if metric not in df.columns:
        raise KeyError(f"metric {metric!r} is not a record column; columns: {', '.join(df.columns)}")
    cur = df[df.current & (df.profile == profile)]
    a = cur[cur.row == row_a].set_index("seed")[metric]
    b = cur[cur.row == row_b].set_index("seed")[metric]
    delta = {int(s): float(a[s]) - float(b[s]) for s in a.index.intersection(b.index)}
    seeds = sorted(s for s, d in delta.items() if not math.isnan(d))
    out = t_interval([delta[s] for s in seeds], level)
    out["seeds"] = seeds
    return out
