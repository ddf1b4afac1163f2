"""The book's report functions (replicate.report) on hand-made and on the committed records: the
narrow tables with their source legends, the sign of Δ, how each record is made again, the
test-selected subsets, the scale caveats, the links, the CSV downloads."""
import re
from pathlib import Path

import pandas as pd
import pytest

from replicate import report
from replicate.experiments import config_for, get_row
from replicate.results import load_records, record_path, write_record

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "results"
CHAPTERS = ("bkdsnn", "cml", "logitkd", "esd")


def _record(root, row, seed, top1, profile="cpu", notebook=False, wall=60.0):
    cfg = config_for(row, profile, seed)
    rec = {"row": row, "profile": profile, "seed": seed, "config_hash": cfg.hash, "config": cfg.to_dict(),
           "metrics": {"top1": top1, "best_curve_top1": top1 + 1}, "curves": [{"epoch": 1, "curve_top1": top1}],
           "provenance": {"wall_time_s": wall, "git": {"commit": "0123456789abcdef", "dirty": False}}}
    path = record_path(root, row, profile, seed, cfg.hash)
    write_record(path, rec)
    if notebook:
        Path(path).with_suffix(".ipynb").write_text("{}")
    return path


@pytest.fixture(scope="module")
def committed():
    return load_records(COMMITTED)


def test_legend_keys_each_distinct_source_once():
    sources = []
    assert [report.cite(sources, s) for s in ("A", "B", "A")] == ["[1]", "[2]", "[1]"]
    t = report.with_sources(pd.DataFrame({"x": [1]}), sources)
    assert report.legend(t) == "[1] A  \n[2] B"
    assert report.legend(t.drop(columns=[])) == report.legend(t)  # survives the pages' drops
    assert report.legend(pd.DataFrame()) == ""


def test_pm_is_compact_and_uses_a_true_minus():
    assert report.pm({"mean": -1.5, "std": 0.25, "n": 3}, signed=True) == "−1.50 ± 0.25"
    assert report.pm({"mean": 2.0, "std": float("nan"), "n": 1}, with_n=True) == "2.00 (n=1)"
    assert report.pm({"mean": float("nan"), "std": float("nan"), "n": 0}) == "—"


def test_delta_has_one_sign_everywhere(tmp_path):
    """Δ = arm − reference in arm_table, delta_lines and the comparison against the registered
    reference (the ESD page's branch-CE arm is below its reference here: all three say −)."""
    ce, sd = "esd-c10-r18-rate-bp-branch-ce", "esd-c10-r18-rate-bp-sd"
    for seed in range(3):
        _record(tmp_path, sd, seed, 30.0 + seed)
        _record(tmp_path, ce, seed, 28.0 + seed + 0.5 * (seed == 2))
    df = load_records(tmp_path)
    t = report.arm_table(df, [sd, ce], "cpu")
    assert t.loc["rate-bp-branch-ce", "reference"] == "rate-bp-sd"
    assert t.loc["rate-bp-branch-ce", "Δ (paired)"].startswith("−1.83 ± 0.29")
    line = report.delta_lines(df, [sd, ce], ["cpu"])[0]
    assert line.startswith("- **Δ = rate-bp-branch-ce − rate-bp-sd, profile `cpu`**: -1.83 [")
    assert "(95 % CI, n = 3, seeds 0, 1, 2)" in line and "below the reference" in line
    v = report.vs_reference(df, ce, "cpu")
    assert v.loc["rate-bp-branch-ce", "Δ (points)"] == "-1.83"
    with pytest.raises(ValueError, match="no registered reference"):
        report.vs_reference(df, sd.replace("-sd", "") .replace("rate-bp", "bptt"), "cpu")


def test_the_esd_page_compares_the_branch_arm_against_its_registered_reference():
    page = (REPO / "book" / "esd.md").read_text()
    assert "report.vs_reference(df, CE" in page
    assert not re.search(r"comparison_table\(df, \[sd\], ce", page)  # the old reversed Δ


def test_each_record_is_made_again_by_the_command_that_made_it(tmp_path):
    nb = _record(tmp_path, "bkdsnn-c10-2-384-baseline", 0, 40.0, notebook=True)
    plain = _record(tmp_path, "bkdsnn-c10-2-384-baseline", 1, 41.0)
    assert report.made_by_papermill(nb) and not report.made_by_papermill(plain)
    assert report.rerun_command("bkdsnn-c10-2-384-baseline", "cpu", 0, nb).startswith("papermill notebooks/train.ipynb")
    assert report.rerun_command("bkdsnn-c10-2-384-baseline", "cpu", 1, plain) == \
        "replicate run bkdsnn-c10-2-384-baseline --profile cpu --seed 1"
    prov = report.provenance_table(load_records(tmp_path))
    assert list(prov["made by"]) == ["papermill", "in-process"] and prov.index.name == "row"
    assert list(prov.commit) == ["0123456", "0123456"]


def test_committed_gpu_records_are_in_process_and_their_commands_say_so(committed):
    gpu = committed[committed.profile == "gpu"]
    assert len(gpu) and not any(report.made_by_papermill(p) for p in gpu.path)
    block = report.commands_block(gpu)
    assert "papermill" not in block
    assert block.count("replicate run ") == len(gpu) and "--profile gpu --seed 1" in block
    assert "papermill notebooks/train.ipynb" in report.commands_block(committed[committed.profile == "cpu"])
    assert set(report.provenance_table(gpu)["made by"]) == {"in-process"}


def test_registered_gpu_seeds_are_the_committed_records_seeds(committed):
    """The book aggregates every current record; at gpu the registry names exactly those seeds."""
    gpu = committed[committed.current & (committed.profile == "gpu")]
    for row, g in gpu.groupby("row"):
        assert tuple(sorted(g.seed)) == tuple(get_row(row).seeds["gpu"]), row
    assert report.bkdsnn_table(committed, "gpu").loc["2-384", "n"] == len(get_row("bkdsnn-c10-2-384-mixed").seeds["gpu"])


def test_provenance_shown_under_a_table_is_that_tables_only(committed, capsys):
    from IPython.core.formatters import format_display_data  # noqa: F401  (IPython is a dependency)
    sub = committed[committed.current & committed.row.isin(["cml-c10-2-384-original"]) & (committed.profile == "cpu")]
    prov = report.provenance_table(sub)
    assert set(prov.index) == {"cml-c10-2-384-original"} and len(prov) == 5
    for page in (REPO / "book").glob("*.md"):
        text = page.read_text()
        assert "papermill_command" not in text, page.name  # pages print report.rerun_command's choice
        assert "provenance_table(df[df.profile" not in text, page.name


def test_test_selected_subset_is_each_rows_own(committed):
    t = report.curve_subset_table(committed)
    for (paper, profile), line in t.iterrows():
        rows_ = set(committed[committed.current & (committed.profile == profile)].row)
        sizes = {config_for(r, profile).curve_test_subset for r in rows_ if get_row(r).paper == paper}
        assert line.iloc[0] == ", ".join(f"{n:,}" for n in sorted(sizes))
    assert t.loc[("logitkd", "cpu")].iloc[0] == f"{config_for('logitkd-c10-r18-full', 'cpu').curve_test_subset:,}"
    note = report.selection_note(["esd-c10-r18-bptt"], ["gpu", "cpu"])
    assert f"`cpu`: {config_for('esd-c10-r18-bptt', 'cpu').curve_test_subset:,} images" in note
    assert f"`gpu`: {config_for('esd-c10-r18-bptt', 'gpu').curve_test_subset:,} images" in note
    with pytest.raises(ValueError, match="different curve subsets"):
        report.curve_subsets(["esd-c10-r18-bptt", "bkdsnn-c10-2-384-mixed"], ["cpu"])
    intro = (REPO / "book" / "intro.md").read_text()
    assert "report.curve_subset_table" in intro and not re.search(r"\d,\d{3}-image", intro)


def test_scale_caveat_comes_from_the_configs():
    for row in ("bkdsnn-c10-2-384-mixed", "logitkd-c10-r18-full", "esd-c10-r18-rate-bp-sd"):
        cfg, paper = config_for(row, "cpu"), config_for(row, "paper")
        text = report.scale_caveat(row)
        assert f"{cfg.train_subset:,}-image subset" in text and f"for {cfg.epochs} epochs" in text
        assert f"for {paper.epochs} epochs" in text and cfg.model in text
    assert "2-64 (2 heads)" in report.scale_caveat("bkdsnn-c10-2-384-mixed")
    assert "width 8" in report.scale_caveat("logitkd-c10-r18-full")


def test_every_chapter_links_its_papers_and_code_at_the_cited_commit():
    src = REPO / "src" / "replicate" / "experiments"
    for chapter in CHAPTERS:
        page = (REPO / "book" / f"{chapter}.md").read_text()
        assert f'report.links("{chapter}")' in page, chapter
        md = report.links(chapter)
        for _, arxiv, repo, commit in report.PAPER_LINKS[chapter]:
            assert f"https://arxiv.org/abs/{arxiv}" in md and f"https://github.com/{repo}/tree/{commit}" in md
            cited = " ".join(p.read_text() for p in src.glob("*.py"))
            assert f"{repo} @ {commit}" in cited or (repo in cited and commit in cited), (repo, commit)
            assert arxiv in cited, arxiv


def test_every_chapter_offers_its_records_as_csv(committed, tmp_path):
    for chapter in CHAPTERS:
        page = (REPO / "book" / f"{chapter}.md").read_text()
        name = f"{chapter}-records.csv"
        assert f'report.DOWNLOADS / "{name}"' in page and f"<_build/downloads/{name}>" in page, chapter
    assert report.DOWNLOADS == REPO / "book" / "_build" / "downloads"
    path = report.write_csv(committed, ["bkdsnn-c10-2-384-mixed", "bkdsnn-c10-2-384-baseline"], tmp_path / "d" / "x.csv")
    back = pd.read_csv(path)
    assert set(back.row) == {"bkdsnn-c10-2-384-mixed", "bkdsnn-c10-2-384-baseline"}
    assert set(back.profile) == {"cpu", "gpu"} and len(back) == 12
    mine = committed[committed.row == "bkdsnn-c10-2-384-mixed"].sort_values(["profile", "seed"]).top1
    assert back[back.row == "bkdsnn-c10-2-384-mixed"].top1.tolist() == pytest.approx(mine.tolist())


def test_every_figure_has_a_numbered_caption():
    assert report.caption(2, "x.") == "*Figure 2.* x."
    for chapter in ("bkdsnn", "logitkd", "esd"):
        page = (REPO / "book" / f"{chapter}.md").read_text()
        mine = page if chapter != "bkdsnn" else page[page.index("## Learning curves"):page.index("## Ablations")]
        assert mine.count("plt.show()") == mine.count("report.caption(figure"), chapter


def test_teacher_table_has_a_clean_index_and_minutes(tmp_path):
    _record(tmp_path, "logitkd-c10-teacher", 0, 55.0, wall=125.0)
    t = report.teacher_table(load_records(tmp_path), "logitkd-c10-teacher")
    assert t.index.name == "profile" and list(t.index) == ["paper", "cpu"]
    assert t.loc["paper", "top-1"] == "not published" and report.legend(t) == ""
    assert t.loc["cpu", "wall (min)"] == "2.1" and t.loc["cpu", "top-1"] == "55.00" and t.loc["cpu", "n"] == 1
    b = report.teacher_table(load_records(tmp_path))
    assert b.loc["paper", "top-1"] == f"{get_row('bkdsnn-c10-teacher').claim.value:.2f} [1]"


def test_measured_tables_are_narrow(committed):
    """Measured tables stay within a few short columns: no long ids, no per-row sources."""
    esd = report.table_ids("esd", "NeurIPS 2025 (CIFAR-10)")
    tables = [report.bkdsnn_table(committed, "cpu"), report.arm_table(committed, esd, "gpu"),
              report.energy_table(committed, esd, "cpu"), report.teacher_table(committed),
              report.claims_view("esd")]
    for t in tables:
        assert len(t.columns) <= 9 and "claim source" not in t.columns and "source" not in t.columns
    e = report.energy_table(committed, esd, "cpu")
    assert list(e.index) == ["bptt", "rate-bp", "rate-bp-sd"] and (e["n"] == 3).all()
    assert report.claims_view("esd").attrs["sources"]


def test_readme_repeats_no_measured_numbers():
    """The README points to the book for results instead of typing them (no mean ± sd)."""
    readme = (REPO / "README.md").read_text()
    assert "±" not in readme and "replicate book" in readme


def test_wrapped_tables_break_long_cells_and_keep_values():
    t = report.recipe_table("bkdsnn-c10-teacher", ("paper", "cpu"))
    html = report.wrapped(t).to_html()
    assert "overflow-wrap: anywhere" in html and "vit_small_patch16_224.augreg_in21k" in html
    assert str(t.loc["lr", "cpu"]) in html


def test_delta_lines_judge_with_the_scoreboards_verdict(tmp_path):
    """A published Δ (BKDSNN 2-384: +0.36) is judged by replicate.verdict.verdict, as on the
    scoreboard: a paired CI above 0 reproduces its direction; one that contains 0 with a wide
    spread is inconclusive at this scale."""
    base, mixed = "bkdsnn-c10-2-384-baseline", "bkdsnn-c10-2-384-mixed"
    for seed, (b, m) in enumerate(((40.0, 41.0), (41.0, 42.2), (39.0, 39.8))):
        _record(tmp_path, base, seed, b)
        _record(tmp_path, mixed, seed, m)
    line = report.delta_lines(load_records(tmp_path), [mixed], ["cpu"])[0]
    assert "paper +0.36: **direction reproduced**" in line and "+1.00 [" in line
    other = tmp_path / "noisy"
    for seed, (b, m) in enumerate(((40.0, 42.0), (41.0, 39.0), (39.0, 39.3))):
        _record(other, base, seed, b)
        _record(other, mixed, seed, m)
    assert "**inconclusive at this scale**" in report.delta_lines(load_records(other), [mixed], ["cpu"])[0]


def test_curve_subset_table_without_measured_records_is_empty_not_an_error(tmp_path):
    """A book built from smoke records only (the CI's smoke main job) has no measured profile."""
    _record(tmp_path, "bkdsnn-c10-2-384-mixed", 0, 10.0, profile="smoke")
    t = report.curve_subset_table(load_records(tmp_path))
    assert t.empty and list(t.columns) == ["test-selected on (images)"]
