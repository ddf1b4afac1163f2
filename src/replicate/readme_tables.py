"""A README table as the book shows it: one line per printed row with every cell's number, where
each cell was registered (:func:`replicate.experiments.bkdsnn.readme_claims`) and whether the row
was measured here, can run here, or cannot (the reason in a legend, not repeated per line).
"""
from __future__ import annotations

import pandas as pd

from .experiments import Row, rows

#: The README's columns and the (arm, kind) of the claim that holds each.
COLUMNS = {"baseline": ("baseline", "top1"), "teacher": ("teacher", "top1"),
           "params (M)": ("mixed", "params"), "BKD (mixed)": ("mixed", "top1"),
           "Δ": ("mixed", "delta")}


def _by_readme_row(paper: str, table: str, document: str) -> dict[str, dict[str, tuple[Row, object]]]:
    """``{README row locator: {column: (row, claim)}}`` for the claims of ``document`` in ``table``."""
    out: dict[str, dict] = {}
    for r in rows(paper, table):
        for c in r.claims:
            if c.source.document != document or ", column " not in c.source.locator:
                continue
            where = c.source.locator.split(", column ")[0]
            col = next((k for k, (arm, kind) in COLUMNS.items()
                        if (r.arm == "teacher") == (arm == "teacher") and
                        (r.arm == arm or arm == "mixed" and r.reference) and c.kind == kind), None)
            if col:
                out.setdefault(where, {}).setdefault(col, (r, c))
    return out


def _status(df: pd.DataFrame, row: Row, claim, legend: dict[str, str]) -> str:
    cur = df[df.current & (df.row == row.id)] if len(df) else df
    measured = [f"{p} (n={int((cur.profile == p).sum())})" for p in ("paper", "gpu", "cpu")
                if len(cur) and (cur.profile == p).any()]
    if measured:
        return "measured: " + ", ".join(measured)
    ok = row.checkable(claim)
    if ok is True:
        here = row.runnable_here()
        return f"not run yet ({'cpu' if 'cpu' in here else here[0]})"
    key = legend.setdefault(ok, f"[{len(legend) + 1}]")
    return f"not here {key}"


def readme_table(df: pd.DataFrame, paper: str, table: str, document: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """The printed rows of ``table`` (registry table name) from ``document``'s claims, with the
    status of each row's distilled arm (measured at which profiles and n; "not run yet (profile)"
    where it runs here; "not here [k]" otherwise), and the legend ``{reason: "[k]"}``.
    Cells with a note that corrects the printed number are marked ``*`` (the note says why)."""
    legend: dict[str, str] = {}
    out = []
    for where, cells in _by_readme_row(paper, table, document).items():
        line = {"README row": where.split("row '")[-1].rstrip("'").rsplit("(", 1)[0]}
        for col in COLUMNS:
            r, c = cells.get(col, (None, None))
            star = "*" if c is not None and "corrected" in c.note else ""
            line[col] = "—" if c is None else (f"{c.value:+.2f}" if c.kind == "delta" else f"{c.value:.2f}") + star
        mixed = cells.get("BKD (mixed)")
        line["status"] = _status(df, *mixed, legend) if mixed else "—"
        out.append(line)
    return pd.DataFrame(out).set_index("README row"), legend
