"""The scoreboard: every registered claim of every row, beside our measurement and a verdict.

One line per claim (:func:`scoreboard`), computed from the registry and the records with the
rules of :func:`replicate.verdict.verdict`. Which measurement a line uses:

- a published number is about the published recipe, profile ``paper``; our records at ``gpu`` or
  ``cpu`` are another profile. An absolute claim is judged on the ``paper`` records when there are
  any, else shown at the profile closest to the recipe that has records (``gpu``, then ``cpu``;
  ``smoke`` measures nothing and never counts);
- a Δ claim is a claim of kind ``delta`` (a − the row's ``reference``), or the headline top-1
  claim of a row whose reference row has a checkable headline top-1 claim too (the paper's Δ is
  then the difference of the two claims) and that registers no ``delta`` claim itself. It is judged by direction on the pairs of the profile
  closest to the recipe with at least two paired seeds (else one), and the reason names it; a
  headline claim with ``paper`` records of its own is judged as the absolute number it is.
"""
from __future__ import annotations

import math

import pandas as pd

from .experiments import Claim, Row, get_row, papers, rows
from .stats import paired_ci, t_interval
from .verdict import CLAIM_PROFILE, VERDICTS, Measurement, Verdict, min_detectable_effect, verdict

#: Profiles that measure a claim, closest to the published recipe first.
PROFILES_BY_SCALE = ("paper", "gpu", "cpu")

COLUMNS = ["paper", "table", "row", "label", "kind", "claim", "paper Δ", "document", "locator",
           "note", "profile", "n", "our mean", "our ±", "Δ profile", "Δ n", "our Δ", "our Δ ±",
           "detectable Δ", "judged as", "verdict", "reason"]


def _current(df: pd.DataFrame) -> pd.DataFrame:
    """Current records of the measuring profiles."""
    if df.empty:
        return df
    return df[df.current.astype(bool) & df.profile.isin(PROFILES_BY_SCALE)]


def _absolute(df: pd.DataFrame, row_id: str, profiles=PROFILES_BY_SCALE) -> Measurement | None:
    """Top-1 of ``row_id`` at the first of ``profiles`` with current records."""
    cur = _current(df)
    for p in profiles:
        if cur.empty:
            break
        vals = cur[(cur.row == row_id) & (cur.profile == p)].top1.dropna()
        if len(vals):
            return Measurement.of(t_interval(vals), p)
    return None


def _paired(df: pd.DataFrame, row_id: str, ref_id: str) -> Measurement | None:
    """top-1(row) − top-1(ref), paired by seed, at the profile closest to the recipe with at
    least two paired seeds (else the closest with one)."""
    cur = _current(df)
    if cur.empty:
        return None
    found = [Measurement.of(paired_ci(cur, row_id, ref_id, p), p) for p in PROFILES_BY_SCALE]
    return next((m for m in found if m.n >= 2), None) or next((m for m in found if m.n == 1), None)


def paper_delta(row: Row, claim: Claim) -> float:
    """The paper's Δ (points) behind ``claim``: its value for kind ``delta``; for the row's
    headline top-1 claim, minus the reference row's headline top-1 claim when that one is
    checkable here and the row registers no ``delta`` claim of its own (that one then carries
    the Δ, once); else NaN."""
    if claim.kind == "delta":
        return claim.value
    ref = get_row(row.reference) if row.reference else None
    if any(c.kind == "delta" for c in row.claims):
        return math.nan
    if claim is row.claim and ref is not None and ref.claim is not None and ref.checkable(ref.claim) is True:
        return claim.value - ref.claim.value
    return math.nan


def _judge(df: pd.DataFrame, row: Row, claim: Claim, p_delta: float) -> tuple[str, Measurement | None,
                                                                              Measurement | None, Verdict]:
    """(judged as, our absolute measurement, our paired Δ, verdict) of one claim."""
    delta = _paired(df, row.id, row.reference) if row.reference else None
    ok = row.checkable(claim)
    own = _absolute(df, row.id, (CLAIM_PROFILE,))
    if claim.kind == "delta" or (not math.isnan(p_delta) and own is None):
        if not row.reference and ok is True:
            ok = "the row has no reference row to pair its Δ against"
        ours = _absolute(df, row.id, (delta.profile,)) if delta else _absolute(df, row.id)
        v = verdict("delta", p_delta, delta, bool(delta and delta.profile == CLAIM_PROFILE), checkable=ok)
        return "Δ", ours, delta, v
    ours = own or _absolute(df, row.id)
    if claim.kind != "top1":
        v = verdict(claim.kind, claim.value, None, False, checkable=ok)
        if v.verdict == "not run yet":
            v = Verdict(v.verdict, f"the records measure top-1 only; this {claim.kind} claim is "
                                   f"compared in its paper's chapter where it can be")
        return "absolute", None, None, v  # a count or energy has no paired top-1 Δ to show
    v = verdict("top1", claim.value, ours, bool(ours and ours.profile == CLAIM_PROFILE), checkable=ok)
    return "absolute", ours, delta, v


def _line(df: pd.DataFrame, row: Row, claim: Claim) -> dict:
    p_delta = paper_delta(row, claim)
    judged, ours, delta, v = _judge(df, row, claim, p_delta)
    nan = math.nan
    return {
        "paper": row.paper, "table": row.table, "row": row.id, "label": row.label, "kind": claim.kind,
        "claim": claim.value, "paper Δ": p_delta, "document": claim.source.document,
        "locator": claim.source.locator, "note": claim.note,
        "profile": ours.profile if ours else None, "n": ours.n if ours else 0,
        "our mean": ours.mean if ours else nan, "our ±": ours.half_width if ours else nan,
        "Δ profile": delta.profile if delta else None, "Δ n": delta.n if delta else 0,
        "our Δ": delta.mean if delta else nan, "our Δ ±": delta.half_width if delta else nan,
        "detectable Δ": min_detectable_effect(delta.n, delta.sd) if delta else nan,
        "judged as": judged, "verdict": v.verdict, "reason": v.reason,
    }


def scoreboard(df: pd.DataFrame) -> pd.DataFrame:
    """One line per registered claim of every row, grouped by paper (registration order).

    ``df`` is :func:`replicate.results.load_records` (columns ``row``, ``profile``, ``seed``,
    ``current``, ``top1``). Columns (:data:`COLUMNS`): the claim (``paper``, ``table``, ``row``,
    ``label``, ``kind``, ``claim`` as printed, ``paper Δ`` in points or NaN, ``document`` and
    ``locator`` of its source, ``note``); ours (``profile``, ``n`` seeds, ``our mean`` and ``our ±``,
    the 95 % t half-width, in %); the paired Δ against the row's reference (``Δ profile``, ``Δ n``,
    ``our Δ``, ``our Δ ±``, ``detectable Δ``: the smallest effect a paired test at that n and spread
    detects with 80 % power, in points); ``judged as`` (``absolute`` or ``Δ``), ``verdict``
    (one of :data:`replicate.verdict.VERDICTS`) and ``reason``.
    """
    lines = [_line(df, r, c) for p in papers() for r in rows(p) for c in r.claims]
    return pd.DataFrame(lines, columns=COLUMNS)


def verdict_counts(board: pd.DataFrame) -> pd.DataFrame:
    """Claims per verdict (every verdict of :data:`VERDICTS`, in that order, zeros included)."""
    counts = board.verdict.value_counts().reindex(list(VERDICTS), fill_value=0)
    return pd.DataFrame({"verdict": list(VERDICTS), "claims": counts.astype(int).tolist()})


def _keys(docs) -> dict[str, str]:
    """``A``, ``B``, … for the distinct documents, in order of first appearance."""
    uniq = list(dict.fromkeys(docs))
    return {d: (chr(ord("A") + i) if i < 26 else f"A{i}") for i, d in enumerate(uniq)}


def sources_table(board: pd.DataFrame, paper: str) -> pd.DataFrame:
    """The legend of ``paper``'s lines: one key per source document (``A``, ``B``, …)."""
    docs = _keys(board[board.paper == paper].document)
    return pd.DataFrame({"source": list(docs.values()), "document": list(docs)}).set_index("source")


def _pm(mean: float, half: float, profile, n: int, signed: bool = False) -> str:
    if not n:
        return "—"
    return Measurement(mean, int(n), profile, half).text(signed)


def _claim_text(value: float, kind: str) -> str:
    """A top-1 as ``95.90``; a Δ as ``+0.36 (Δ)``; other kinds named: ``16.81 (params)``."""
    if kind == "top1":
        return f"{value:.2f}"
    return f"{value:+.2f} (Δ)" if kind == "delta" else f"{value:g} ({kind})"


def paper_table(board: pd.DataFrame, paper: str) -> pd.DataFrame:
    """``paper``'s lines, narrow enough for a 1280 px page: ``#``, the row id, the claim
    (top-1 in %; other kinds named) with its source key in brackets (see :func:`sources_table`), ours (mean ±
    95 % half-width, profile, n), our paired Δ beside the paper's Δ, the smallest detectable Δ, the
    verdict. Locators and reasons are in :func:`detail_table` under the same ``#``."""
    lines = board[board.paper == paper].reset_index(drop=True)
    keys = _keys(lines.document)
    out = pd.DataFrame({
        "#": range(1, len(lines) + 1),
        "row": [r.replace("-", "-\u200b") for r in lines.row],  # may wrap after a hyphen
        "claim [source]": [f"{_claim_text(v, k)} [{key}]" for v, k, key
                           in zip(lines.claim, lines.kind, lines.document.map(keys))],
        "ours": [_pm(*x) for x in zip(lines["our mean"], lines["our ±"], lines.profile, lines.n)],
        "our Δ": [_pm(*x, signed=True) for x in zip(lines["our Δ"], lines["our Δ ±"], lines["Δ profile"],
                                                    lines["Δ n"])],
        "paper Δ": [f"{d:+.2f}" if not math.isnan(d) else "—" for d in lines["paper Δ"]],
        "detectable Δ": [f"{d:.2f}" if math.isfinite(d) else ("∞ (n=1)" if n == 1 else "—")
                         for d, n in zip(lines["detectable Δ"], lines["Δ n"])],
        "verdict": lines.verdict,
    })
    return out.set_index("#")


def detail_table(board: pd.DataFrame, paper: str) -> pd.DataFrame:
    """Per ``#`` of :func:`paper_table`: where in its source the number is printed (key: locator)
    and the reason for the verdict."""
    lines = board[board.paper == paper].reset_index(drop=True)
    keys = lines.document.map(_keys(lines.document))
    where = [f"{k}: {loc}" if loc else k for k, loc in zip(keys, lines.locator)]
    return pd.DataFrame({"#": range(1, len(lines) + 1), "where printed": where,
                         "why this verdict": lines.reason}).set_index("#")


def markdown(frame: pd.DataFrame) -> str:
    """``frame`` as a Markdown pipe table, cells exactly as given (no number re-parsing, so
    ``95.90`` stays ``95.90``; ``|`` escaped): Markdown tables wrap their text to the page."""
    esc = frame.astype(str).map(lambda s: s.replace("|", "\\|"))
    esc.index = esc.index.astype(str)
    return esc.to_markdown(disable_numparse=True)
