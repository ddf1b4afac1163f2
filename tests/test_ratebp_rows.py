"""NeurIPS 2024 rate-based BP (arXiv 2410.11488) as its own paper: its rows, recipes and claims."""
from replicate.experiments import Source, config_for, get_row, rows

# spec-logitkd-selfdistill §3.6: S5's best numbers per benchmark, one each (architecture and T not
# given): CIFAR-10 96.26, CIFAR-100 80.71, CIFAR10-DVS 76.96, ImageNet 70.01.
S5_COUNTS = {"CIFAR-10": 1, "CIFAR-100": 1, "CIFAR10-DVS": 1, "ImageNet": 1}
S5_VALUES = {"CIFAR-10": 96.26, "CIFAR-100": 80.71, "CIFAR10-DVS": 76.96, "ImageNet": 70.01}


def test_every_s5_number_is_a_claim_of_this_paper_with_its_locator():
    claims = [(r, c) for r in rows("ratebp") for c in r.claims]
    for r, c in claims:
        assert isinstance(c.source, Source) and c.source.document.startswith("S5:") and c.source.locator, r.id
        assert "names no architecture" in c.note, r.id  # S5 names none: the note says so
    counts = {d: sum(c.source.locator == f"best {d} result" for _, c in claims) for d in S5_COUNTS}
    assert counts == S5_COUNTS and len(claims) == sum(S5_COUNTS.values())
    assert {c.source.locator.split(" ")[1]: c.value for _, c in claims} == S5_VALUES
    # none of them is left on the NeurIPS 2025 rows
    esd = {c.value for r in rows("esd") for c in r.claims}
    assert not esd & set(S5_VALUES.values())


def test_rows_follow_the_readme_commands_with_rate_bp():
    for rid, t in (("ratebp-c10-r18", 4), ("ratebp-c100-r18", 4), ("ratebp-in1k-pr34", 4),
                   ("ratebp-dvs-r18", 10)):
        cfg = config_for(rid, "paper")
        assert (cfg.train_step, cfg.T, cfg.distill, cfg.needs_teacher) == ("rate_bp", t, "none", False), rid
        assert (cfg.lif_decay, cfg.lif_v_reset, cfg.lif_detach_reset) == (0.2, None, True), rid
        assert config_for(rid, "smoke").train_step == "rate_bp"
    c10 = config_for("ratebp-c10-r18", "paper")
    assert (c10.lr, c10.weight_decay, c10.batch_size, c10.epochs, c10.autoaugment, c10.cutout) == (0.1, 5e-4, 128, 300, True, 16)
    im = config_for("ratebp-in1k-pr34", "paper")
    assert (im.lr, im.weight_decay, im.batch_size, im.epochs) == (0.2, 2e-5, 512, 100)
    assert config_for("ratebp-dvs-r18", "paper").batch_size == 128
    # the same recipe as B's rate-BP baseline, at R's README T = 4
    b = config_for("esd-c10-r18-rate-bp", "paper").scientific()
    assert {k for k, v in c10.scientific().items() if b.get(k) != v} == {"row", "T", "seed"}
    for rid in ("ratebp-c100-r18", "ratebp-in1k-pr34", "ratebp-dvs-r18"):
        assert "paper" in get_row(rid).unavailable, rid
    dvs = get_row("ratebp-dvs-r18")  # a stand-in model: its claim says it cannot be checked by it
    assert "stand-in" in dvs.checkable(dvs.claim)


def test_s5_numbers_are_not_checkable_by_one_models_run():
    """S5 gives no architecture or T: no row's run can check its numbers (issue 15)."""
    from replicate.experiments import rows
    for r in rows("ratebp"):
        for c in r.claims:
            reason = r.checkable(c)
            assert isinstance(reason, str) and ("names neither" in reason or "names no architecture" in reason), r.id
