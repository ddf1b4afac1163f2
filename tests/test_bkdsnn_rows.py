"""BKDSNN's rows as data: every cell of the README's three tables and the paper card's two claims,
with a locator and a status; the SEW-ResNet corrected reading; the ablation rows."""
from __future__ import annotations

import pytest

from replicate.experiments import config_for, get_row, rows
from replicate.experiments.bkdsnn import README
from replicate.experiments.bkdsnn_in1k import CARD

TABLES = {  # README table → (README rows, cells per row); seeds/000 (the README)
    "Main results on ImageNet-1K": (6, 5),
    "Main results on CIFAR-100": (3, 5),
    "Main results on CIFAR-10": (3, 5),
}


def _claims(document: str):
    return [(r, c) for r in rows("bkdsnn") for c in r.claims if c.source.document == document]


@pytest.mark.parametrize("table", list(TABLES))
def test_every_readme_cell_is_a_claim_with_a_locator_and_a_status(table):
    n_rows, cells = TABLES[table]
    found = [(r, c) for r, c in _claims(README) if c.source.locator.startswith(table + ",")]
    assert len(found) == n_rows * cells
    readme_rows = {c.source.locator.split(", column")[0] for _, c in found}
    assert len(readme_rows) == n_rows
    kinds = sorted(c.kind for _, c in found)
    assert kinds.count("delta") == kinds.count("params") == n_rows
    assert kinds.count("top1") == 3 * n_rows  # baseline, result, teacher
    for r, c in found:
        status = r.checkable(c)
        assert status is True or (isinstance(status, str) and len(status) > 20), (r.id, c)
        if status is True and c.kind != "params":
            assert r.runnable_here(), r.id  # measurable here: a profile that runs on this machine


def test_the_card_claims_are_registered_and_say_why_they_cannot_be_checked():
    card = _claims(CARD)
    assert sorted(c.value for _, c in card) == [0.93, 4.51]
    for r, c in card:
        assert c.kind == "delta" and "prior best" in r.checkable(c) and c.source.locator


def test_sew_rows_hold_the_corrected_reading_and_the_printed_cell():
    for depth, printed, true in ((34, 77.24, 71.24), (50, 79.93, 72.32)):
        claim = get_row(f"bkdsnn-in1k-sew{depth}-mixed").claim
        assert claim.value == true and str(printed) in claim.note
        teacher_cell = get_row(f"bkdsnn-in1k-resnet{depth}-teacher").claims[0]
        assert teacher_cell.value == true  # the Teacher column prints the student's result
        assert "not a teacher accuracy" in get_row(f"bkdsnn-in1k-resnet{depth}-teacher").checkable(teacher_cell)
    assert get_row("bkdsnn-in1k-sew18-mixed").claim.value == 65.60
    tv = [get_row(f"bkdsnn-in1k-resnet{d}-teacher").claims[-1].value for d in (18, 34, 50)]
    assert tv == [69.758, 73.314, 76.130]


def test_imagenet_recipes_follow_the_released_scripts():
    sew50 = config_for("bkdsnn-in1k-sew50-mixed", "paper")
    assert (sew50.model, sew50.T, sew50.optimizer, sew50.lr, sew50.weight_decay, sew50.epochs,
            sew50.batch_size, sew50.bkd_alpha, sew50.bkd_mask_ratio, sew50.kd_temperature) == \
        ("sew_resnet50", 4, "sgd", 0.1, 0.0, 320, 512, 7e-5, 0.15, 2.0)
    assert config_for(sew50.teacher_row, "paper").model == "resnet50.tv_in1k"
    assert config_for("bkdsnn-in1k-sew18-baseline", "paper").batch_size == 256
    for size, batch, lr in (("8-384", 192, 5e-4), ("8-512", 136, 4.208e-4), ("8-768", 96, 3.5355e-4)):
        cfg = config_for(f"bkdsnn-in1k-{size}-mixed", "paper")
        assert (cfg.batch_size, cfg.lr, cfg.distill, cfg.bkd_alpha) == (batch, lr, "mixed", 2e-3)
        assert config_for(cfg.teacher_row, "paper").model == "vit_base_patch16_224.augreg_in21k_ft_in1k"


def test_cifar100_rows_and_the_4_256_heads():
    assert config_for("bkdsnn-c100-4-384-mixed", "paper").num_heads == 8
    assert config_for("bkdsnn-c100-2-384-mixed", "paper").num_heads == 12
    c10 = config_for("bkdsnn-c10-4-256-mixed", "paper")
    assert c10.num_heads == 16 and "12 heads" in get_row("bkdsnn-c10-4-256-mixed").claim.note
    assert get_row("bkdsnn-c100-2-384-mixed").claim.value == 80.63
    assert "cifar100" == config_for("bkdsnn-c100-2-384-mixed", "paper").dataset
    assert get_row("bkdsnn-c100-teacher").claim.value == 82.22
    for r in rows("bkdsnn", "BKDSNN Table (CIFAR-100)") + rows("bkdsnn", "BKDSNN Table (ImageNet-1K)"):
        assert "paper" in r.unavailable and r.runnable_here() == ()


def test_cifar_paper_recipes_use_the_configs_randaugment_and_mixup_switch():
    base = config_for("bkdsnn-c10-2-384-baseline", "paper")
    mixed = config_for("bkdsnn-c10-2-384-mixed", "paper")
    assert base.randaugment == mixed.randaugment == "rand-m9-n1-mstd0.4-inc1"
    assert base.epochs * base.mixup_off_frac == mixed.epochs * mixed.mixup_off_frac == 200


def test_ablations_differ_from_their_anchors_only_in_the_swept_field():
    anchor = config_for("bkdsnn-c10-2-384-mixed", "cpu").scientific()
    for suffix, field, value in (("mixed-l0.4", "bkd_mask_ratio", 0.4), ("mixed-l0.6", "bkd_mask_ratio", 0.6)):
        abl = config_for(f"bkdsnn-c10-abl-{suffix}", "cpu").scientific()
        assert {k for k in abl if abl[k] != anchor.get(k)} == {"row", field} and abl[field] == value
    wsld = config_for("bkdsnn-c10-abl-wsld-t4", "cpu")
    assert (wsld.distill, wsld.kd_temperature) == ("wsld", 4.0)
    bkd = config_for("bkdsnn-c10-abl-bkd-l0.6", "cpu")
    assert (bkd.distill, bkd.bkd_mask_ratio, bkd.bkd_alpha) == ("bkd", 0.6, 2e-3)
    # at paper, the released ablation scripts' 4-384 student for 400 epochs
    p = config_for("bkdsnn-c10-abl-bkd", "paper")
    assert (p.embed_dim, p.depth, p.num_heads, p.epochs) == (384, 4, 12, 400)
    assert len(rows("bkdsnn", "BKDSNN ablations (CIFAR-10)")) == 8
