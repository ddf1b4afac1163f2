"""The book's tables and figures, computed from records with pandas (the pages only call these).

Every measured cell comes from current records of one profile (``results.load_records`` marks a
record current when its hash equals the registry's); paper numbers sit in their own columns
with their source. A Δ is always paired by seed within one profile.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .experiments import config_for, get_row, rows
from .results import load_curves, load_records, paired_delta, summarize

REPO = Path(__file__).resolve().parents[2]
PROFILE_ORDER = ("paper", "gpu", "cpu", "smoke")
NOTEBOOK = "notebooks/train.ipynb"  #: the one notebook every row runs through


def results_dir() -> Path:
    """``$REPLICATE_RESULTS`` if set (the README's main job renders from its own output), else
    the committed ``results/``."""
    return Path(os.environ.get("REPLICATE_RESULTS", REPO / "results"))


def profiles_present(df: pd.DataFrame) -> list[str]:
    have = set(df[df.current].profile)
    return [p for p in PROFILE_ORDER if p in have]


def _arm(df: pd.DataFrame, row: str, profile: str, metric: str, seeds: list[int] | None = None) -> dict:
    """mean ± std and n of ``metric`` over the current records of ``row`` at ``profile``
    (only ``seeds``, if given)."""
    cur = df[df.current & (df.row == row) & (df.profile == profile)]
    if seeds is not None:
        cur = cur[cur.seed.isin(seeds)]
    return summarize(cur[metric].tolist())


# --------------------------------------------------------------------------- compact cells, legends
def pm(s: dict, digits: int = 2, signed: bool = False, with_n: bool = False) -> str:
    """``"mean ± sd"`` (``"mean"`` for n = 1, ``"—"`` for n = 0); ``with_n`` appends ``(n=k)``.
    The n of a table's arms goes in its own column, so the cells stay narrow."""
    if not s["n"]:
        return "—"
    mean = f"{s['mean']:{'+' if signed else ''}.{digits}f}".replace("-", "−")
    cell = mean if s["n"] < 2 else f"{mean} ± {s['std']:.{digits}f}"
    return f"{cell} (n={s['n']})" if with_n else cell


def _document(source) -> str:
    return getattr(source, "document", None) or str(source)


def cite(sources: list[str], source: str) -> str:
    """The key ``[k]`` of ``source`` in the legend ``sources`` (appended if new)."""
    if source not in sources:
        sources.append(source)
    return f"[{sources.index(source) + 1}]"


def with_sources(table: pd.DataFrame, sources: list[str]) -> pd.DataFrame:
    table.attrs["sources"] = list(sources)
    return table


def legend(table: pd.DataFrame) -> str:
    """The table's sources, one Markdown line per distinct source: ``[1] ...``."""
    return "  \n".join(f"[{i}] {s}" for i, s in enumerate(table.attrs.get("sources", []), 1))


def wrapped(table: pd.DataFrame):
    """``table`` as a Styler whose cells may break anywhere (long model names, paths and notes
    wrap inside the text column instead of widening the table); cells shown as ``str``."""
    return table.style.format(str).set_table_styles(
        [{"selector": "td, th", "props": [("overflow-wrap", "anywhere")]}])


def show(table: pd.DataFrame, wrap: bool = False) -> None:
    """Display ``table`` (:func:`wrapped` if ``wrap``) and, under it, its source legend (if any)."""
    from IPython.display import Markdown, display
    display(wrapped(table) if wrap else table)
    if legend(table):
        display(Markdown(legend(table)))


def caption(number: int, text: str) -> str:
    """A figure's caption, in Markdown: ``*Figure N.* text``."""
    return f"*Figure {number}.* {text}"


def table_ids(paper: str, table: str, *, with_references: bool = False) -> list[str]:
    """The student rows of one registered table (teachers excluded), in registration order;
    ``with_references`` adds, before each row, the row its Δ is paired against (once)."""
    out: list[str] = []
    for r in rows(paper, table):
        if r.arm == "teacher":
            continue
        if with_references and r.reference and r.reference not in out:
            out.append(r.reference)
        if r.id not in out:
            out.append(r.id)
    return out


def teacher_ids(paper: str, table: str | None = None) -> list[str]:
    """The teacher rows of ``paper`` (optionally of one table)."""
    return [r.id for r in rows(paper, table, arm="teacher")]


def reference_pairs(row_ids: list[str]) -> list[tuple[str, str]]:
    """``(row, its reference)`` for every row of ``row_ids`` that has a reference."""
    return [(rid, get_row(rid).reference) for rid in row_ids if get_row(rid).reference]


def profiles_of(df: pd.DataFrame, row_ids: list[str]) -> list[str]:
    """Profiles with current records of ``row_ids``, smoke only when there is nothing else."""
    have = set(df[df.current & df.row.isin(row_ids)].profile)
    return [p for p in PROFILE_ORDER if p in have and p != "smoke"] or sorted(have)


def bkdsnn_table(df: pd.DataFrame, profile: str, table: str = "BKDSNN Table (CIFAR-10)") -> pd.DataFrame:
    """One line per student size: the paper's baseline/BKD (mixed)/Δ beside ours at ``profile``
    (final top-1, mean ± sd over the seeds both arms share, and the paired Δ of the final and of
    the test-selected top-1). The claims' sources are a legend (``attrs["sources"]``)."""
    out, sources = [], []
    for base in rows("bkdsnn", table, arm="baseline"):
        mixed = next(r for r in rows("bkdsnn", table) if r.reference == base.id)
        d = paired_delta(df, mixed.id, base.id, profile)
        seeds = d["seeds"] or None  # both arms over the seeds they share (the baseline row also
        # serves the CML chapter, which adds seeds of its own)
        b, m = (_arm(df, r.id, profile, "top1", seeds) for r in (base, mixed))
        ds = paired_delta(df, mixed.id, base.id, profile, "best_curve_top1")
        cfg = config_for(base.id, profile) if profile in base.recipes else None
        src = base.claim.source  # the document and its table; the row and column are the table's own
        key = cite(sources, f"{_document(src)}, {getattr(src, 'locator', '').split(', row')[0]}".rstrip(", "))
        out.append({
            "student": base.label.split("-", 1)[-1],
            "ours": f"{cfg.depth}-{cfg.embed_dim}, {cfg.num_heads} h" if cfg else "—",
            "paper base": f"{base.claim.value:.2f} {key}", "paper BKD": f"{mixed.claim.value:.2f} {key}",
            "paper Δ": f"{mixed.claim.value - base.claim.value:+.2f}", "n": d["n"],
            "base": pm(b), "BKD": pm(m), "Δ": pm(d, signed=True), "Δ, test-sel.": pm(ds, signed=True),
        })
    return with_sources(pd.DataFrame(out).set_index("student"), sources)


def teacher_table(df: pd.DataFrame, teacher_row: str = "bkdsnn-c10-teacher") -> pd.DataFrame:
    """The teacher's claim (if the paper publishes one) and, per profile with a record, the
    measured top-1 (mean ± sd), n, architecture and wall time in minutes (mean over seeds)."""
    row = get_row(teacher_row)
    sources: list[str] = []
    paper = config_for(teacher_row, "paper")
    out = [{"profile": "paper", "teacher": paper.model + (f" (width {paper.width})" if paper.width else ""),
            "top-1": f"{row.claim.value:.2f} {cite(sources, str(row.claim.source))}" if row.claim
            else "not published", "n": "—", "wall (min)": "—"}]
    for p in profiles_present(df[df.row == teacher_row]):
        cfg = config_for(teacher_row, p)
        cur = df[df.current & (df.row == teacher_row) & (df.profile == p)]
        out.append({"profile": p, "teacher": cfg.model + (f" (width {cfg.width})" if cfg.width else ""),
                    "top-1": pm(summarize(cur.top1)), "n": len(cur),
                    "wall (min)": f"{cur.wall_time_s.mean() / 60:.1f}" if cur.wall_time_s.notna().any() else "—"})
    return with_sources(pd.DataFrame(out).set_index("profile"), sources)


RECIPE_FIELDS = ("model", "embed_dim", "depth", "num_heads", "width", "T", "epochs", "cooldown_epochs",
                 "train_subset", "batch_size", "lr", "warmup_frac", "mixup_alpha", "randaugment",
                 "random_erasing", "distill", "bkd_mask_ratio", "bkd_alpha", "kd_temperature",
                 "teacher_img_size", "img_size", "pretrained")


LOGITKD_FIELDS = ("model", "width", "T", "lif_decay", "lif_v_reset", "lif_detach_reset", "epochs",
                  "train_subset", "batch_size", "optimizer", "lr", "weight_decay", "crop_padding",
                  "autoaugment", "cutout", "distill", "kd_temperature", "kd_weight", "twkl_alpha",
                  "twsd_beta", "self_teacher", "in_chans", "pretrained")

ESD_FIELDS = ("model", "width", "T", "lif_decay", "lif_v_reset", "lif_detach_reset", "train_step", "epochs",
              "train_subset", "batch_size", "optimizer", "lr", "weight_decay", "autoaugment", "cutout",
              "distill", "esd_alpha", "esd_beta", "esd_pool", "esd_teacher", "kd_temperature", "device")


def recipe_table(row_id: str, profiles=("paper", "cpu"), fields=RECIPE_FIELDS) -> pd.DataFrame:
    """The recipe ``fields`` of ``row_id`` side by side for ``profiles`` (None shown as —)."""
    cols = {p: config_for(row_id, p).to_dict() for p in profiles if p in get_row(row_id).recipes}
    distill_fields = ("bkd_mask_ratio", "bkd_alpha", "kd_temperature", "teacher_img_size")
    frame = pd.DataFrame({p: {k: (None if c["distill"] == "none" and k in distill_fields else c[k])
                              for k in fields} for p, c in cols.items()})
    frame.index.name = "field"
    return frame.astype(object).where(frame.notna(), "—")


def papermill_command(row_id: str, profile: str, seed: int, out: str = "out") -> str:
    """The copyable command that reruns one record (a notebook executed by papermill)."""
    cfg = config_for(row_id, profile, seed)
    dest = f"{out}/records/{row_id}/{profile}/seed{seed}-{cfg.hash}.ipynb"
    return (f"papermill {NOTEBOOK} {dest} -p row {row_id} -p profile {profile} "
            f"-p seed {seed} -p out_dir {out}")


def curves_by_arm(root: Path, row_ids: list[str], profile: str) -> pd.DataFrame:
    """Per-epoch curve top-1 (mean and std over seeds) of current records, long format."""
    df = load_records(root)
    cur = df[df.current & (df.profile == profile) & df.row.isin(row_ids)]
    c = load_curves(root)
    if c.empty or cur.empty:
        return pd.DataFrame(columns=["row", "epoch", "mean", "std", "n"])
    c = c[c.config_hash.isin(cur.config_hash)]
    g = c.groupby(["row", "epoch"]).curve_top1
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1), "n": g.count()}).reset_index()


def made_by_papermill(record_path: str | Path) -> bool:
    """Whether the record at ``record_path`` was written by papermill running the notebook: the
    executed notebook sits beside it (runs made in-process, e.g. the ``gpu`` records, have none)."""
    return Path(record_path).with_suffix(".ipynb").is_file()


def rerun_command(row_id: str, profile: str, seed: int, record_path: str | Path | None = None) -> str:
    """The command that reproduces one record now: the papermill command for a record made by
    the notebook, ``replicate run`` (in-process, the same record layout) for any other."""
    if record_path is not None and made_by_papermill(record_path):
        return papermill_command(row_id, profile, seed)
    return f"replicate run {row_id} --profile {profile} --seed {seed}"


def provenance_table(df: pd.DataFrame) -> pd.DataFrame:
    """Who made each current record, one line per record indexed by row: profile, seed, final and
    test-selected top-1, wall time (min), device, git commit (``*``: dirty) and how it was run."""
    cur = df[df.current].sort_values(["row", "profile", "seed"])
    return pd.DataFrame({
        "row": cur.row, "profile": cur.profile, "seed": cur.seed,
        "top-1": cur.top1.round(2), "test-sel.": cur.best_curve_top1.round(2),
        "wall (min)": (cur.wall_time_s / 60).round(1), "device": cur.device,
        "commit": [f"{str(c)[:7]}{'*' if d is True else ''}" if isinstance(c, str) else "—"
                   for c, d in zip(cur.git_commit, cur.git_dirty)],
        "made by": ["papermill" if made_by_papermill(x) else "in-process" for x in cur.path],
    }).set_index("row")


def commands_block(df: pd.DataFrame) -> str:
    """A Markdown ``bash`` block: for every current record of ``df``, the command that reproduces it."""
    cur = df[df.current].sort_values(["row", "profile", "seed"])
    cmds = "\n".join(f"# {r.row}, profile {r.profile}, seed {r.seed}\n"
                     + rerun_command(r.row, r.profile, r.seed, r.path) for r in cur.itertuples())
    return "```bash\n" + (cmds or "# no records") + "\n```"


def show_provenance(df: pd.DataFrame, row_ids: list[str], profile: str) -> None:
    """The provenance of ``row_ids``' current records at ``profile`` and the commands that make
    them again (pages show it in a collapsed cell under the table it belongs to)."""
    from IPython.display import Markdown, display
    sub = df[df.current & df.row.isin(row_ids) & (df.profile == profile)]
    display(Markdown(f"Records behind the table above (profile `{profile}`) and how to make each again:"))
    display(provenance_table(sub))
    display(Markdown(commands_block(sub)))


def write_csv(df: pd.DataFrame, row_ids: list[str], path: str | Path) -> Path:
    """The current records of ``row_ids`` (every profile but smoke) as one CSV at ``path``:
    row, profile, seed, top-1, test-selected top-1, firing rate, energy, wall time, device, commit."""
    cols = ["row", "profile", "seed", "config_hash", "top1", "best_curve_top1", "best_epoch", "firing_rate",
            "params", "energy_mj", "wall_time_s", "device", "git_commit"]
    cur = df[df.current & df.row.isin(row_ids) & (df.profile != "smoke")]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cur.sort_values(["row", "profile", "seed"])[cols].to_csv(path, index=False)
    return path


def arm_table(df: pd.DataFrame, row_ids: list[str], profile: str) -> pd.DataFrame:
    """Per row (indexed by its arm): its claim (keyed to a source legend in ``attrs["sources"]``),
    n, our final and test-selected top-1 at ``profile`` (mean ± sd), and Δ = arm − reference (the
    row's registered ``reference``), paired by seed."""
    out, sources = [], []
    for rid in row_ids:
        row = get_row(rid)
        ref = row.reference
        fin = _arm(df, rid, profile, "top1")
        out.append({"arm": row.arm,
                    "paper": f"{row.claim.value:.2f} {cite(sources, str(row.claim.source))}" if row.claim else "—",
                    "n": fin["n"], "final": pm(fin), "test-selected": pm(_arm(df, rid, profile, "best_curve_top1")),
                    "reference": get_row(ref).arm if ref else "—",
                    "Δ (paired)": pm(paired_delta(df, rid, ref, profile), signed=True, with_n=True) if ref else "—"})
    return with_sources(pd.DataFrame(out).set_index("arm"), sources)


def vs_reference(df: pd.DataFrame, row_id: str, profile: str, label: str | None = None) -> pd.DataFrame:
    """:func:`replicate.comparison.comparison_table` of ``row_id`` against its registered
    ``reference``: Δ = arm − reference, the sign :func:`arm_table` and :func:`delta_lines` use."""
    from .comparison import Arm, comparison_table, shown
    row = get_row(row_id)
    if not row.reference:
        raise ValueError(f"{row_id} has no registered reference")
    ref = get_row(row.reference)
    t = comparison_table(df, [Arm(label or row.arm, row_id)], Arm(ref.arm, ref.id), profile)
    return shown(t).iloc[1:]


def prefix_curves(root: Path, row_ids: list[str], profile: str) -> pd.DataFrame:
    """Top-1 at every deployment budget T' (``metrics.prefix_top1``) of current records:
    mean, std over seeds and n per (row, T')."""
    from .results import iter_records
    df = load_records(root)
    current = set(df[df.current & (df.profile == profile) & df.row.isin(row_ids)].config_hash)
    out = []
    for _, r in iter_records(root):
        pre = r.get("metrics", {}).get("prefix_top1")
        if r["config_hash"] in current and pre:
            out += [{"row": r["row"], "seed": r["seed"], "T'": t + 1, "top1": v} for t, v in enumerate(pre)]
    if not out:
        return pd.DataFrame(columns=["row", "T'", "mean", "std", "n"])
    g = pd.DataFrame(out).groupby(["row", "T'"]).top1
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1), "n": g.count()}).reset_index()


#: Each chapter's papers: (title, arXiv id, code repository, commit the rows were read at).
PAPER_LINKS = {
    "bkdsnn": [("BKDSNN (ECCV 2024)", "2407.09083", "Intelligent-Computing-Research-Group/BKDSNN", "dd6bd53")],
    "cml": [("Spikingformer-CML", "2305.05954", "zhouchenlin2096/Spikingformer-CML", "292b4f0")],
    "logitkd": [("Temporally decoupled logit KD (ICML 2025)", "2501.15925",
                 "Intelli-Chip-Lab/snn_temporal_decoupling_distillation", "e3f5fd4")],
    "esd": [("Enhanced self-distillation (NeurIPS 2025)", "2510.06254",
             "Intelli-Chip-Lab/enhanced-self-distillation-framework-for-snn", "d44e876"),
            ("Rate-based backpropagation (NeurIPS 2024)", "2410.11488", "Tab-ct/rate-based-backpropagation",
             "3c70ee9")],
}
#: The page that downloads its records' CSV reads it from here (git-ignored; Sphinx copies it).
DOWNLOADS = REPO / "book" / "_build" / "downloads"


def links(chapter: str) -> str:
    """Markdown: the paper (arXiv) and the code (the repository at the commit the rows cite) of
    every paper of ``chapter``, one line each."""
    return "  \n".join(
        f"**{title}**: paper [arXiv {arxiv}](https://arxiv.org/abs/{arxiv}); code "
        f"[{repo} @ {commit}](https://github.com/{repo}/tree/{commit})"
        for title, arxiv, repo, commit in PAPER_LINKS[chapter])


def _size(cfg) -> str:
    """The model of ``cfg`` in a few words: ``name depth-dim (h heads)`` or ``name, width w``."""
    name = cfg.model
    if cfg.embed_dim:
        name += f" {cfg.depth}-{cfg.embed_dim} ({cfg.num_heads} heads)"
    elif cfg.width:
        name += f", width {cfg.width}"
    return name + (f", T = {cfg.T}" if cfg.T else "")


def scale_caveat(row_id: str, profile: str = "cpu") -> str:
    """One sentence, from the configs: what ``profile`` is for ``row_id`` against the paper's
    recipe (model size, training subset, epochs) and what that means for reading the table."""
    cfg, paper = config_for(row_id, profile), config_for(row_id, "paper")
    data = (f"a class-balanced {cfg.train_subset:,}-image subset" if cfg.train_subset
            else "the full training set")
    pdata = f"{paper.train_subset:,} images" if paper.train_subset else "the full training set"
    name = cfg.dataset.upper().replace("CIFAR", "CIFAR-")
    return (f"*What `{profile}` is:* {_size(cfg)}, trained on {data} of {name} for "
            f"{cfg.epochs} epochs, where the paper trains {_size(paper)}, on {pdata}, for {paper.epochs} "
            f"epochs; absolute top-1 is far below the paper's, and only the differences between arms "
            f"trained with one recipe are meant to carry over.")


def curve_subsets(row_ids: list[str], profiles: list[str]) -> dict[str, int]:
    """``{profile: size of the curve test subset}`` of ``row_ids`` (from their configs); raises
    ValueError if the rows of one profile disagree."""
    out = {}
    for p in profiles:
        sizes = {config_for(r, p).curve_test_subset for r in row_ids if p in get_row(r).recipes}
        if len(sizes) > 1:
            raise ValueError(f"rows {row_ids} use different curve subsets at {p}: {sizes}")
        out.update({p: sizes.pop()} if sizes else {})
    return out


def selection_note(row_ids: list[str], profiles: list[str]) -> str:
    """What "test-selected" means for ``row_ids``: the best per-epoch top-1 on a fixed
    class-balanced test subset whose size comes from the rows' configs, per profile."""
    sizes = curve_subsets(row_ids, profiles)
    where = "; ".join(f"`{p}`: {n:,} images" for p, n in sizes.items())
    return (f"*Final*: the model after its last epoch on the full test set. *Test-selected*: the best "
            f"per-epoch top-1 on a fixed class-balanced test subset ({where}): optimistic, as a "
            f"best-epoch number is.")


def curve_subset_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per paper and profile with current records (smoke excepted): the test-subset size(s) its
    records select epochs on, from the records' rows' configs."""
    cur = df[df.current & (df.profile != "smoke")]
    out = {}
    for (rid, p), _ in cur.groupby(["row", "profile"]):
        out.setdefault((get_row(rid).paper, p), set()).add(config_for(rid, p).curve_test_subset)
    cols = ["paper", "profile", "test-selected on (images)"]
    return pd.DataFrame([{"paper": k[0], "profile": k[1], cols[2]: ", ".join(f"{n:,}" for n in sorted(v))}
                         for k, v in sorted(out.items())], columns=cols).set_index(cols[:2])


def claims_view(paper: str) -> pd.DataFrame:
    """:func:`claims_table` narrowed for a page: per claim its row's arm and table, kind, value,
    where in its source (the document in the legend), note, and whether it can be checked here."""
    out, sources = [], []
    for r in rows(paper):
        for c in r.claims:
            ok = r.checkable(c)
            src = c.source
            key = cite(sources, _document(src))
            out.append({"row": r.id, "kind": c.kind, "claim": c.value,
                        "where": f"{key} {getattr(src, 'locator', '')}".strip(), "note": c.note,
                        "checkable here": "yes" if ok is True else f"no: {ok}"})
    cols = ["row", "kind", "claim", "where", "note", "checkable here"]
    return with_sources(pd.DataFrame(out, columns=cols).set_index("row"), sources)


def claims_table(paper: str) -> pd.DataFrame:
    """Every registered claim of ``paper``: row, table, arm, kind, value, source, note, and
    whether it can be checked here (or why not)."""
    out = []
    for r in rows(paper):
        for c in r.claims:
            ok = r.checkable(c)
            out.append({"row": r.id, "table": r.table, "arm": r.arm, "kind": c.kind, "claim": c.value,
                        "source": str(c.source), "note": c.note,
                        "checkable here": "yes" if ok is True else f"no: {ok}"})
    cols = ["row", "table", "arm", "kind", "claim", "source", "note", "checkable here"]
    return pd.DataFrame(out, columns=cols).set_index("row")


def _paper_delta(row_id: str) -> float:
    """The paper's Δ of ``row_id`` against its reference, read as the scoreboard reads it
    (:func:`replicate.scoreboard.paper_delta` of its ``delta`` claim, else of its headline claim;
    NaN when it publishes none)."""
    from .scoreboard import paper_delta
    row = get_row(row_id)
    claim = next((c for c in row.claims if c.kind == "delta"), row.claim)
    return paper_delta(row, claim) if claim is not None else float("nan")


def delta_lines(df: pd.DataFrame, row_ids: list[str], profiles: list[str]) -> list[str]:
    """One Markdown bullet per (row, its reference) and profile with paired records: Δ = arm −
    reference (the sign of :func:`arm_table`'s Δ) with its paired 95 % t-interval, and the
    verdict of :func:`replicate.verdict.verdict` (the scoreboard's rules) against the paper's Δ,
    or, where the paper publishes none, what the interval says
    (:func:`replicate.comparison.reading`)."""
    import math

    from .comparison import reading
    from .stats import paired_ci
    from .verdict import Measurement, min_detectable_effect, verdict
    lines = []
    for p in profiles:
        for a, b in reference_pairs(row_ids):
            ci = paired_ci(df, a, b, p)
            if ci["n"] == 0:
                continue
            m, paper = Measurement.of(ci, p), _paper_delta(a)
            interval = (f"{ci['mean']:+.2f} [{ci['lo']:+.2f}, {ci['hi']:+.2f}]" if ci["n"] > 1
                        else f"{ci['mean']:+.2f} (no interval)")
            if math.isnan(paper):
                said = reading(ci, min_detectable_effect(ci["n"], ci["std"]))
            else:
                v = verdict("delta", paper, m, p == "paper")
                said = f"paper {paper:+.2f}: **{v.verdict}** ({v.reason})"
            lines.append(f"- **Δ = {get_row(a).arm} − {get_row(b).arm}, profile `{p}`**: {interval} "
                         f"points (95 % CI, n = {ci['n']}, seeds {', '.join(map(str, ci['seeds']))}); {said}.")
    return lines


def paired_ci_line(df: pd.DataFrame, row_a: str, row_b: str, profile: str, metric: str = "top1",
                   unit: str = "points") -> str:
    """``Δ = +x.xx [lo, hi] (95 % t-interval, n = k, seeds ...)`` of ``row_a − row_b`` at
    ``profile``, or why there is no interval."""
    from .stats import paired_ci
    c = paired_ci(df, row_a, row_b, profile, metric)
    if c["n"] == 0:
        return "no paired records"
    if c["n"] < 2:
        return f"{c['mean']:+.3g} {unit} (n = 1: no interval)"
    return (f"{c['mean']:+.3g} {unit}, 95 % CI [{c['lo']:+.3g}, {c['hi']:+.3g}] "
            f"(n = {c['n']}, seeds {c['seeds']})")


def energy_table(df: pd.DataFrame, row_ids: list[str], profile: str) -> pd.DataFrame:
    """Per row (indexed by its arm): n, mean firing rate, and over the records that carry the
    energy measure (``n (energy)``; older records predate it) ΣMAC and ΣAC per image (M ops)
    and energy per image (µJ); mean ± sd over the current records of ``profile``."""
    out = []
    for rid in row_ids:
        cur = df[df.current & (df.row == rid) & (df.profile == profile)]
        measured = cur[cur.energy_mj.notna()]
        line = {"arm": get_row(rid).arm, "n": len(cur), "firing rate": pm(summarize(cur.firing_rate), digits=4),
                "n (energy)": len(measured)}
        for col, scale, name in (("mac", 1e-6, "ΣMAC (M)"), ("ac", 1e-6, "ΣAC (M)"),
                                 ("energy_mj", 1e3, "µJ/img")):
            line[name] = pm(summarize(measured[col] * scale), digits=3)
        out.append(line)
    return pd.DataFrame(out).set_index("arm")


def cml_param_table() -> pd.DataFrame:
    """The README's parameter counts beside the exact counts of our models (unused LayerNorms
    left out, as the README does; with them in the last column)."""
    import timm
    import torch

    import replicate.models  # noqa: F401
    out = []
    for r in rows("cml"):
        for c in r.claims:
            if c.kind != "params":
                continue
            cfg = config_for(r.id, "paper")
            kw = dict(num_classes=get_data_classes(cfg.dataset), **cfg.model_kwargs())
            with torch.device("meta"):  # counts only: no memory, no init
                n = sum(p.numel() for p in timm.create_model(cfg.model, **kw).parameters())
                n_all = sum(p.numel() for p in timm.create_model(cfg.model, keep_unused_norms=True,
                                                                 **kw).parameters())
            out.append({"row": r.id, "README (M)": c.value, "ours": f"{n:,}", "ours (M)": round(n / 1e6, 2),
                        "with unused norms": f"{n_all:,}", "source": str(c.source), "note": c.note})
    return pd.DataFrame(out).set_index("row")


def get_data_classes(dataset: str) -> int:
    from .data import registry as datasets
    return datasets.get(dataset).num_classes


def cml_imagenet_energy() -> pd.DataFrame:
    """The README's ImageNet energy column recomputed with our counter: ΣMAC exactly from each
    architecture (non-binary layers: the first conv and the head); ΣAC and energy only for 8-768,
    from the per-layer rates its original log publishes (the others publish none)."""
    import timm

    from . import energy
    from .energy_logs import LOG_SSA_HEADS, SOURCE_8_768, log_rates
    out = []
    for dim in (384, 512, 768):
        m = timm.create_model("cml_spikingformer_imagenet", embed_dim=dim, depth=8, num_heads=8)
        probe = energy.from_rates(m, (3, 224, 224), _zero_rates(m))
        line = {"model": f"CML + Spikingformer-8-{dim}", "ΣMAC (G/img)": f"{probe['mac'] / 1e9:.9f}"}
        if dim == 768:
            e = energy.from_rates(m, (3, 224, 224), log_rates(), ssa_heads=LOG_SSA_HEADS)
            line.update({"ΣAC (G/img)": f"{e['ac'] / 1e9:.4f}", "energy (mJ/img)": f"{e['energy_mj']:.2f}",
                         "rates from": SOURCE_8_768})
        else:
            line.update({"ΣAC (G/img)": "—", "energy (mJ/img)": "—",
                         "rates from": "no published per-layer rates"})
        out.append(line)
    return pd.DataFrame(out).set_index("model")


def _zero_rates(model) -> dict:
    """Rates for :func:`energy.from_rates` that count MACs only: the first conv and the head
    take a non-binary input (None), every spiking input rate is 0."""
    import torch.nn as nn
    rates = {n: (None if n in ("patch_embed.proj_conv", "head") else 0.0) for n, m in model.named_modules()
             if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))}
    rates.update({n: 0.0 for n, _ in model.named_modules() if n.endswith(("q_lif", "k_lif", "v_lif"))})
    return rates


def stem_energy(root: Path, row_ids: list[str], profile: str, prefix: str = "patch_embed.") -> pd.DataFrame:
    """Energy per image (µJ) of the layers under ``prefix`` (the tokenizer stem) and of the rest,
    mean ± std over the current records of ``profile`` that carry the energy measure."""
    from .results import iter_records
    df = load_records(root)
    current = set(df[df.current & (df.profile == profile) & df.row.isin(row_ids)].config_hash)
    vals: dict[str, dict[str, list[float]]] = {}
    for _, r in iter_records(root):
        e = r.get("metrics", {}).get("energy")
        if r["config_hash"] not in current or not e:
            continue
        pj = {n: l["mac"] * e["pj_mac"] + l["ac"] * e["pj_ac"] for n, l in e["layers"].items()}
        stem = sum(v for n, v in pj.items() if n.startswith(prefix)) * 1e-6
        d = vals.setdefault(r["row"], {"stem": [], "rest": []})
        d["stem"].append(stem)
        d["rest"].append(e["energy_mj"] * 1e3 - stem)
    out = [{"arm": get_row(rid).arm, "n": len(vals.get(rid, {}).get("stem", [])),
            "stem (µJ/img)": pm(summarize(vals.get(rid, {}).get("stem", [])), digits=3),
            "rest (µJ/img)": pm(summarize(vals.get(rid, {}).get("rest", [])), digits=3)}
           for rid in row_ids]
    return pd.DataFrame(out).set_index("arm")

