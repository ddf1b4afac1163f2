"""The scoreboard: one line per registered claim, with the measurement and verdict its rules pick.

A toy paper is registered inside the tests (and removed afterwards) and found on the board."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from replicate import experiments
from replicate.experiments import Claim, Row, Source, papers, register, rows
from replicate.results import load_records
from replicate.scoreboard import (COLUMNS, detail_table, markdown, paper_delta, paper_table,
                                  scoreboard, sources_table, verdict_counts)
from replicate.verdict import VERDICTS

TOY = "toypaper"
DOC = "Toy et al. 2099, Table 1 (arXiv 9999.00001)"
RECIPES = {"paper": {}, "cpu": {}}  # the scoreboard reads no recipe field, only which profiles exist


def _row(rid: str, *claims: Claim, reference: str | None = None, **kw) -> Row:
    return Row(id=rid, paper=TOY, table="Toy Table 1", label=rid, arm=rid.split("-")[-1],
               recipes=kw.pop("recipes", RECIPES), seeds={"paper": (42,), "cpu": (0, 1, 2)},
               claims=claims, reference=reference, **kw)


@pytest.fixture
def toy_paper():
    """Seven rows of a toy paper, one per way a claim can be judged; removed from the registry after."""
    new = [
        _row("toy-base", Claim(90.0, Source(DOC, "row base, column top-1"))),
        _row("toy-kd", Claim(91.0, Source(DOC, "row KD, column top-1")), reference="toy-base"),
        _row("toy-delta", Claim(2.0, Source(DOC, "row Δ, column gain"), kind="delta"),
             Claim(1.5, Source(DOC, "row Δ, column params"), kind="params"), reference="toy-base"),
        _row("toy-far", Claim(70.0, Source("Toy README", "ImageNet row")), recipes={"paper": {}},
             unavailable={"paper": "no ImageNet copy here"}),
        _row("toy-sf", Claim(69.0, Source("Toy README", "ImageNet row, original")), reference="toy-far",
             recipes={"paper": {}}, unavailable={"paper": "no ImageNet copy here"}),
        _row("toy-lone-delta", Claim(-1.0, Source(DOC, "footnote 3"), kind="delta")),
        _row("toy-both", Claim(93.0, Source(DOC, "row both, column top-1")),
             Claim(3.0, Source(DOC, "row both, column gain"), kind="delta"), reference="toy-base"),
    ]
    for r in new:
        register(r)
    yield new
    for r in new:
        experiments._REGISTRY.pop(r.id, None)


def _records(*lines) -> pd.DataFrame:
    """Hand-made records: (row, profile, seed, top1[, current])."""
    out = [dict(zip(("row", "profile", "seed", "top1", "current"), (*x, True)[:5])) for x in lines]
    return pd.DataFrame(out, columns=["row", "profile", "seed", "top1", "current"])


CPU = _records(*[("toy-base", "cpu", s, v) for s, v in zip((0, 1, 2), (50.0, 51.0, 52.0))],
               *[("toy-kd", "cpu", s, v) for s, v in zip((0, 1, 2), (53.0, 54.1, 55.0))],
               *[("toy-delta", "cpu", s, v) for s, v in zip((0, 1, 2), (51.5, 49.5, 52.5))],
               ("toy-base", "paper", 42, 90.3), ("toy-base", "smoke", 0, 10.0),
               ("toy-kd", "cpu", 3, 99.0, False))  # a stale record: never counted


def _line(board: pd.DataFrame, row: str, kind: str = "top1") -> pd.Series:
    hit = board[(board.row == row) & (board.kind == kind)]
    assert len(hit) == 1, (row, kind)
    return hit.iloc[0]


def test_every_registered_claim_has_one_line_grouped_by_paper(toy_paper):
    board = scoreboard(CPU)
    assert list(board.columns) == COLUMNS
    assert len(board) == sum(len(r.claims) for r in rows())
    assert list(dict.fromkeys(board.paper)) == list(papers())  # one contiguous block per paper
    assert board.paper.tolist() == sorted(board.paper, key=list(papers()).index)
    assert set(board.verdict) <= set(VERDICTS)
    counts = verdict_counts(board)
    assert counts.verdict.tolist() == list(VERDICTS) and counts.claims.sum() == len(board)


def test_the_toy_paper_is_judged_by_the_stated_rules(toy_paper):
    board = scoreboard(CPU)
    base = _line(board, "toy-base")  # absolute, at its own profile (n = 1): 90.3 vs 90.0
    assert (base.verdict, base.profile, base.n, base["judged as"]) == ("reproduced", "paper", 1, "absolute")
    kd = _line(board, "toy-kd")  # headline top-1 over a reference with a claim: Δ = 91 − 90
    assert kd["paper Δ"] == pytest.approx(1.0) and kd["judged as"] == "Δ"
    assert (kd.verdict, kd["Δ profile"], kd["Δ n"]) == ("direction reproduced", "cpu", 3)
    assert kd["our Δ"] == pytest.approx(3.0333, abs=1e-3) and "`cpu`" in kd.reason
    assert kd.profile == "cpu" and kd["our mean"] == pytest.approx(54.0333, abs=1e-3)
    assert 0 < kd["detectable Δ"] < math.inf
    delta = _line(board, "toy-delta", "delta")  # Δ ≈ +0.17 ± 3.8: contains 0, MDE ≈ 5 > 2
    assert delta.verdict == "inconclusive at this scale" and delta["paper Δ"] == 2.0
    params = _line(board, "toy-delta", "params")
    assert params.verdict == "not run yet" and params["Δ n"] == 0 and "top-1 only" in params.reason
    far = _line(board, "toy-far")
    assert (far.verdict, far.reason) == ("not checkable here", "no ImageNet copy here")
    sf = _line(board, "toy-sf")  # its reference's claim is not checkable: judged as absolute
    assert math.isnan(sf["paper Δ"]) and sf.verdict == "not checkable here"
    lone = _line(board, "toy-lone-delta", "delta")
    assert lone.verdict == "not checkable here" and "no reference" in lone.reason


def test_records_at_another_profile_only_make_an_absolute_claim_not_checkable_at_this_scale(toy_paper):
    board = scoreboard(CPU[CPU.profile != "paper"])
    base = _line(board, "toy-base")
    assert (base.verdict, base.profile, base.n) == ("not checkable at this scale", "cpu", 3)
    assert base["our ±"] > 0


def test_a_headline_claim_with_records_at_its_own_profile_is_judged_as_printed(toy_paper):
    recs = pd.concat([CPU, _records(("toy-kd", "paper", 42, 93.0))])
    kd = _line(scoreboard(recs), "toy-kd")
    assert (kd["judged as"], kd.verdict, kd.profile) == ("absolute", "not reproduced", "paper")
    assert kd["Δ profile"] == "cpu"  # the paired Δ is still shown, from the profile with pairs


def test_without_records_every_checkable_claim_is_not_run_yet(toy_paper):
    board = scoreboard(_records())
    assert _line(board, "toy-base").verdict == "not run yet"
    assert _line(board, "toy-kd").verdict == "not run yet"
    assert (board.n == 0).all() and board.profile.isna().all()


def test_paper_delta_is_the_difference_of_two_checkable_headline_claims(toy_paper):
    kd, delta, sf = (experiments.get_row(r) for r in ("toy-kd", "toy-delta", "toy-sf"))
    assert paper_delta(kd, kd.claim) == pytest.approx(1.0)
    assert paper_delta(delta, delta.claims[0]) == 2.0 and math.isnan(paper_delta(delta, delta.claims[1]))
    assert math.isnan(paper_delta(sf, sf.claim))
    both = experiments.get_row("toy-both")  # its own Δ claim carries the Δ: counted once
    assert math.isnan(paper_delta(both, both.claim)) and paper_delta(both, both.claims[1]) == 3.0
    board = scoreboard(CPU)
    assert _line(board, "toy-both")["judged as"] == "absolute"
    assert _line(board, "toy-both", "delta")["judged as"] == "Δ"


def test_a_claim_registered_in_a_test_is_rendered_on_the_page_tables(toy_paper):
    board = scoreboard(CPU)
    table = paper_table(board, TOY)
    assert len(table) == 9 and list(table.index) == list(range(1, 10))
    assert table.loc[2].tolist() == ["toy-\u200bkd", "91.00 [A]", "54.03 ± 2.49 (cpu, n=3)",
                                     f"+3.03 ± {_line(board, 'toy-kd')['our Δ ±']:.2f} (cpu, n=3)",
                                     "+1.00", f"{_line(board, 'toy-kd')['detectable Δ']:.2f}",
                                     "direction reproduced"]
    assert table.loc[4, "claim [source]"] == "1.5 (params) [A]" and table.loc[4, "ours"] == "—"
    assert table.loc[3, "claim [source]"] == "+2.00 (Δ) [A]"
    legend = sources_table(board, TOY)
    assert legend.document.tolist() == [DOC, "Toy README"] and legend.index.tolist() == ["A", "B"]
    details = detail_table(board, TOY)
    assert details.loc[5, "where printed"] == "B: ImageNet row"
    assert details.loc[5, "why this verdict"] == "no ImageNet copy here"
    md = markdown(table)
    assert "| toy-\u200bkd " in md and "91.00" in md and "direction reproduced" in md
    assert "a \\| b" in markdown(pd.DataFrame({"x": ["a | b"]}))


def test_the_committed_records_give_a_verdict_to_every_registered_claim():
    board = scoreboard(load_records(Path(__file__).resolve().parents[1] / "results"))
    assert len(board) == sum(len(r.claims) for r in rows())
    assert board.verdict.isin(VERDICTS).all() and board.reason.str.len().gt(0).all()
    judged = board[(board["judged as"] == "Δ") & (board["Δ n"] > 0)]
    assert all(f"`{p}`" in r for p, r in zip(judged["Δ profile"], judged.reason))  # names its profile
    scaled = board[(board["judged as"] == "absolute") & board.profile.isin(["gpu", "cpu"])]
    assert scaled.verdict.isin(["not checkable at this scale", "not checkable here"]).all()
    # the gpu records of the BKDSNN 2-384 pair (n = 2 at gpu, 3 at cpu): a Δ is judged at gpu
    mixed = board[(board.row == "bkdsnn-c10-2-384-mixed") & (board["judged as"] == "Δ")]
    assert (mixed["Δ profile"] == "gpu").all()
