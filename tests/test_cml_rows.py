"""Spikingformer-CML rows: every number of its README is a registered claim exactly once, on a row
whose recipe carries the README's own T, size and resolution; the parameter-count claims are the
models' exact counts as the README rounds them; the contradictions are said beside the numbers;
the measured original-order row differs from the BKDSNN baseline in its model only."""
from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from pathlib import Path

import pytest
import timm

from replicate.experiments import config_for, get_row, rows
from replicate.experiments.cml import README

SEED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "seeds" / "003_bb8b91192bcb7b15.txt"

# The README (Spikingformer-CML @ 292b4f0, lines 2 and 17-46) as transcribed; checked against the
# shared copy when it is there. The HTML comment is not rendered: its numbers are not claims.
HEADLINE = ("Our models achieve the state-of-the-art performance on several datasets (eg. 77.64 % on "
            "ImageNet, 96.04 % on CIFAR10, 80.75 % on CIFAR10, 81.4% on CIFAR10-DVS) in directly "
            "trained SNNs in 2023/05.")
TABLES = """\
## Main results on ImageNet-1K

| Model               | Resolution| T |  Param.     | FLOPs   |  Power |Top-1 Acc|
| :---:               | :---:     | :---:  | :---:       |  :---:  |  :---:              |:---: |
| Spikingformer-8-384 | 224x224   | 4 |  16.81M     | 6.82G   | 4.69 mJ   |72.45  |
| Spikingformer-8-512 | 224x224   | 4 |  29.68M     | 11.09G  | 7.46 mJ   |74.79  |
| Spikingformer-8-768 | 224x224   | 4  |  66.34M     | 22.09G  | 13.68 mJ  |75.85  |

<!--
| Spikformer-8-384 | 224x224    |  16.81M     | 6.82G   | 12.43  mJ              |70.24  |
| Spikformer-8-512 | 224x224    |  29.68M     | 11.09G  | 18.82  mJ             |73.38  |
| Spikformer-8-768 | 224x224    |  66.34M     | 22.09G  | 32.07  mJ             |74.81  |
-->

## Main results on CIFAR10/CIFAR100

| Model                | T      |  Param.     | CIFAR10 Top-1 Acc |CIFAR100 Top-1 Acc|
| :---:                | :---:  | :---:       |  :---:    |:---: |
| Spikingformer-4-256  | 4      |  4.15M     | 94.77     |77.43  |
| Spikingformer-2-384  | 4      |  5.76M     | 95.22     |78.34  |
| Spikingformer-4-384  | 4      |  9.32M     | 95.61     |79.09  |
| Spikingformer-4-384-400E  | 4      |  9.32M     | 95.81     |79.21  |

## Main results on CIFAR10-DVS/DVS128

| Model               | T      |  Param.     |  CIFAR10 DVS Top-1 Acc  | DVS 128 Top-1 Acc|
| :---:               | :---:  | :---:       | :---:                   |:---:            |
| Spikingformer-2-256 | 10     |  2.57M      | 79.9                    | 96.2            |
| Spikingformer-2-256 | 16     |  2.57M      | 81.3                    | 98.3            |
"""
KINDS = {"Param.": "params", "FLOPs": "flops", "Power": "energy"}
#: The dataset a README column measures (the Param. cells of the two-dataset tables sit on the
#: first dataset's row).
COLUMN_DATASET = {"CIFAR10 Top-1 Acc": "cifar10", "CIFAR100 Top-1 Acc": "cifar100",
                  "CIFAR10 DVS Top-1 Acc": "cifar10_dvs", "DVS 128 Top-1 Acc": "dvs128_gesture"}
TABLE_DATASET = {"Main results on ImageNet-1K": "imagenet", "Main results on CIFAR10/CIFAR100": "cifar10",
                 "Main results on CIFAR10-DVS/DVS128": "cifar10_dvs"}
NUM_CLASSES = {"imagenet": 1000, "cifar10": 10, "cifar100": 100, "cifar10_dvs": 10, "dvs128_gesture": 11}


def readme_cells() -> list[dict]:
    """Every rendered number of the transcription: one dict per table cell (with its row's T and
    label) and per headline figure, with the locator the registry must use."""
    cells = [{"locator": f"opening sentence, '{m.group(0)}'", "value": float(m.group(1)), "kind": "top1",
              "headline": True} for m in re.finditer(r"(\d+\.\d+) ?% on [\w-]+", HEADLINE)]
    text = re.sub(r"<!--.*?-->", "", TABLES, flags=re.S)
    for section in text.split("## ")[1:]:
        heading, *lines = section.splitlines()
        table = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines if line.startswith("|")]
        header = table[0]
        for cells_ in table[2:]:
            row = dict(zip(header, cells_))
            for col, raw in row.items():
                if col in ("Model", "Resolution", "T"):
                    continue
                cells.append({"locator": f"{heading}, row {row['Model']} (T {row['T']}), column {col}",
                              "value": float(re.match(r"[\d.]+", raw).group(0)), "kind": KINDS.get(col, "top1"),
                              "headline": False, "table": heading, "label": row["Model"], "T": int(row["T"]),
                              "column": col, "resolution": row.get("Resolution")})
    return cells


def readme_claims() -> list[tuple]:
    return [(r, c) for r in rows("cml") for c in r.claims if c.source.document == README]


def test_transcription_is_the_shared_readme():
    if not SEED.is_file():
        pytest.skip(f"{SEED} is not here")
    text = "\n".join(line.rstrip() for line in SEED.read_text().splitlines())
    assert HEADLINE in text and TABLES.rstrip("\n") in text


def test_every_readme_number_is_a_claim_exactly_once_with_its_locator():
    cells = readme_cells()
    # 34 numbers (4 headline figures, 12 ImageNet, 12 CIFAR, 6 DVS cells) + the 9 T cells = 43
    assert len(cells) == 34 and sum(not c["headline"] for c in cells) == 30
    assert len({(c["table"], c["label"], c["T"]) for c in cells if not c["headline"]}) == 9
    want = Counter((c["locator"], c["value"], c["kind"]) for c in cells)
    got = Counter((c.source.locator, c.value, c.kind) for _, c in readme_claims())
    assert got == want and set(want.values()) == {1}
    per_table = Counter(c.source.locator.split(",")[0] for _, c in readme_claims())
    assert per_table == {"opening sentence": 4, "Main results on ImageNet-1K": 12,
                         "Main results on CIFAR10/CIFAR100": 12, "Main results on CIFAR10-DVS/DVS128": 6}
    assert all(c.note for _, c in readme_claims())


def test_each_table_cell_sits_on_the_row_the_readme_describes():
    """The row holding a table cell is the original-order model of the README's label, at its T,
    size, resolution and dataset; the headline figures sit on CML rows."""
    by_locator = {c.source.locator: r for r, c in readme_claims()}
    for cell in readme_cells():
        row = by_locator[cell["locator"]]
        cfg = config_for(row.id, "paper")
        if cell["headline"]:
            assert row.arm == "cml" and cfg.model.startswith("cml_spikingformer_"), row.id
            continue
        assert row.arm == "original" and cfg.model.startswith("spikingformer_"), row.id
        assert get_row(row.reference).arm == "cml"
        depth, dim = map(int, re.match(r"Spikingformer-(\d+)-(\d+)", cell["label"]).groups())
        assert (cfg.T, cfg.depth, cfg.embed_dim) == (cell["T"], depth, dim), row.id
        if cell["table"] == "Main results on CIFAR10/CIFAR100":  # "-400E"; the plain rows read as 300
            assert cfg.epochs == (400 if cell["label"].endswith("-400E") else 300), row.id
        assert cfg.dataset == COLUMN_DATASET.get(cell["column"], TABLE_DATASET[cell["table"]]), row.id
        if cell["resolution"]:
            assert cell["resolution"] == f"{cfg.img_size}x{cfg.img_size}" == "224x224"


def _count(row_id: str, num_classes: int) -> int:
    cfg = config_for(row_id, "paper")
    model = timm.create_model(cfg.model, num_classes=num_classes, **cfg.model_kwargs())
    return sum(p.numel() for p in model.parameters())


EXACT = {  # row: parameters of the model at the README's size (without the dead LayerNorms), rounding
    "cml-in1k-sf-8-384": (16_816_024, "truncated"), "cml-in1k-sf-8-512": (29_689_384, "truncated"),
    "cml-in1k-sf-8-768": (66_338_632, "rounded"), "cml-c10-sf-4-256": (4_152_106, "rounded"),
    "cml-c10-sf-2-384": (5_762_746, "rounded"), "cml-c10-sf-4-384": (9_320_122, "rounded"),
    "cml-c10-sf-4-384-400e": (9_320_122, "rounded"), "cml-c10dvs-sf-2-256-t10": (2_566_666, "rounded"),
    "cml-c10dvs-sf-2-256-t16": (2_566_666, "rounded"),
}


def test_parameter_claims_are_the_models_counts_as_printed():
    params = [(r, c) for r, c in readme_claims() if c.kind == "params"]
    assert {r.id for r, _ in params} == set(EXACT) and len(params) == len(EXACT)
    for row, claim in params:
        cfg = config_for(row.id, "paper")
        n = _count(row.id, NUM_CLASSES[cfg.dataset])
        assert n == EXACT[row.id][0] == _count(row.reference, NUM_CLASSES[cfg.dataset]), row.id
        printed = {"rounded": round(n / 1e6, 2), "truncated": math.floor(n / 1e4) / 100}[EXACT[row.id][1]]
        assert claim.value == printed and f"{n:,}" in claim.note, row.id
        assert (EXACT[row.id][1] == "truncated") == ("printed truncated" in claim.note), row.id
        assert row.checkable(claim) is True
        other = {"cifar10": "cifar100", "cifar10_dvs": "dvs128_gesture"}.get(cfg.dataset)
        if other:  # one Param. cell for both datasets: the other head's count is in the note
            assert f"{_count(row.id, NUM_CLASSES[other]):,}" in claim.note, row.id


def test_contradictions_are_noted_beside_the_numbers():
    claims = {(c.source.locator.split(", row ")[-1], c.value): (r, c) for r, c in readme_claims()}

    def note(value, where=""):
        hits = [c for (loc, v), (_, c) in claims.items() if v == value and where in loc]
        assert len(hits) == 1, (value, where)
        return hits[0]

    for v in (72.45, 74.79, 75.85):  # the ImageNet table is the original Spikingformer's
        assert "not CML's" in note(v).note
    assert "77.64" in note(75.85).note and "75.85" in note(77.64).note
    assert "mixes two rows" in note(6.82).note and "3.88G" in note(6.82).note
    for v in (11.09, 22.09):
        assert "Spikformer" in note(v).note
    assert "CIFAR-100" in note(80.75).note and "80.37" in note(80.75).note
    assert isinstance(note(96.04).checkable_here, str) and "Spikformer" in note(96.04).note
    assert "95.97" in note(95.81, "400E").note and "80.37" in note(79.21, "400E").note
    assert "81.4" in note(81.3).note and "81.3" in note(81.4).note
    for r, c in readme_claims():
        if c.kind in ("flops", "energy"):
            assert isinstance(r.checkable(c), str) and r.checkable(c)


def test_rows_run_where_the_data_is_and_say_why_elsewhere():
    for r in rows("cml"):
        assert "smoke" in r.recipes, r.id
        ds = config_for(r.id, "paper").dataset
        assert (ds == "cifar10") == ("paper" not in r.unavailable), r.id
    # an original row and its CML row differ in the model (and the DVS rows in the original's τ)
    for r in rows("cml", arm="original"):
        if r.id == "cml-c10-2-384-original":
            continue
        a, b = (dataclasses.asdict(config_for(i, "paper")) for i in (r.id, r.reference))
        diff = {k for k in a if a[k] != b[k]}
        assert diff == ({"row", "model", "lif_tau"} if a["dataset"].endswith(("_dvs", "_gesture"))
                        else {"row", "model"}), r.id


def test_the_original_order_row_differs_from_the_baseline_only_in_model():
    row, base = get_row("cml-c10-2-384-original"), get_row("bkdsnn-c10-2-384-baseline")
    assert (row.paper, row.table, row.arm, row.reference) == (
        "cml", "CML vs original downsampling (CIFAR-10)", "original", base.id)
    assert row.profiles() == base.profiles() and row.seeds["cpu"] == (0, 1, 2, 3, 4)
    assert row.teacher_row is None and not row.claims
    for profile in base.profiles():
        for seed in row.seeds[profile]:
            a = dataclasses.asdict(config_for(row.id, profile, seed))
            b = dataclasses.asdict(config_for(base.id, profile, seed))
            assert {k for k in a if a[k] != b[k]} == {"row", "model"}, profile
            assert (a["model"], b["model"]) == ("spikingformer_cifar", "cml_spikingformer_cifar")
            assert a["distill"] == "none" and not config_for(row.id, profile, seed).needs_teacher
