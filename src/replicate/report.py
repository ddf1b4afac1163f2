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
from .results import format_pm, load_curves, load_records, paired_delta, summarize

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
    """One line per student size: the paper's baseline/mixed/Δ beside ours at ``profile``."""
    out = []
    sizes = [r for r in rows("bkdsnn", table) if r.arm == "baseline"]
    for base in sizes:
        mixed = next(r for r in rows("bkdsnn", table) if r.reference == base.id)
        d = paired_delta(df, mixed.id, base.id, profile)
        seeds = d["seeds"] or None  # both arms over the seeds they share (the baseline row also
        # serves the CML chapter, which adds seeds of its own)
        b, m = (_arm(df, r.id, profile, "top1", seeds) for r in (base, mixed))
        bs, ms = (_arm(df, r.id, profile, "best_curve_top1", seeds) for r in (base, mixed))
        cfg = config_for(base.id, profile) if profile in base.recipes else None
        ours = f"{cfg.depth}-{cfg.embed_dim}, {cfg.num_heads} heads, T={cfg.T}" if cfg else "—"
        out.append({
            "student": base.label, "claim source": str(base.claim.source),
            "paper baseline": f"{base.claim.value:.2f}", "paper BKD (mixed)": f"{mixed.claim.value:.2f}",
            "paper Δ": f"{mixed.claim.value - base.claim.value:+.2f}",
            "profile": profile, "our student": ours,
            "our baseline, final": format_pm(b), "our mixed, final": format_pm(m),
            "our Δ (mixed − baseline)": format_pm(d, signed=True),
            "baseline, test-selected": format_pm(bs), "mixed, test-selected": format_pm(ms),
        })
    return pd.DataFrame(out).set_index("student")


def teacher_table(df: pd.DataFrame, teacher_row: str = "bkdsnn-c10-teacher") -> pd.DataFrame:
    """The teacher's claim and, per profile with a record, the measured top-1 and architecture."""
    row = get_row(teacher_row)
    out = [{"profile": "paper (claim)", "teacher": row.recipes["paper"]["model"],
            "top-1": f"{row.claim.value:.2f}", "source": str(row.claim.source)}]
    for p in profiles_present(df[df.row == teacher_row]):
        cfg = config_for(teacher_row, p)
        arch = cfg.model + (f" (width {cfg.width})" if cfg.width else "")
        out.append({"profile": f"{p} (measured)", "teacher": arch,
                    "top-1": format_pm(_arm(df, teacher_row, p, "top1")), "source": "this book's records"})
    return pd.DataFrame(out).set_index("profile")


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


def provenance_table(df: pd.DataFrame) -> pd.DataFrame:
    """Who made each current record: seed, commit, device, wall time."""
    cur = df[df.current].copy()
    cur["wall (min)"] = (cur.wall_time_s / 60).round(1)
    return cur[["row", "profile", "seed", "config_hash", "top1", "best_curve_top1", "best_epoch",
                "firing_rate", "params", "wall (min)", "device", "git_commit", "git_dirty"]]


def arm_table(df: pd.DataFrame, row_ids: list[str], profile: str) -> pd.DataFrame:
    """Per row: its claim (with source) beside our final and test-selected top-1 at ``profile``,
    and our Δ to the row's registered ``reference``, paired by seed."""
    out = []
    for rid in row_ids:
        row = get_row(rid)
        ref = row.reference
        out.append({"row": rid, "arm": row.arm,
                    "claim": f"{row.claim.value:.2f}" if row.claim else "—",
                    "claim source": str(row.claim.source) if row.claim else "—",
                    "profile": profile,
                    "our top-1, final": format_pm(_arm(df, rid, profile, "top1")),
                    "test-selected": format_pm(_arm(df, rid, profile, "best_curve_top1")),
                    "Δ vs": get_row(ref).arm if ref else "—",
                    "Δ (paired)": format_pm(paired_delta(df, rid, ref, profile), signed=True) if ref else "—"})
    return pd.DataFrame(out).set_index("row")


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


def delta_lines(df: pd.DataFrame, row_ids: list[str], profiles: list[str]) -> list[str]:
    """One Markdown bullet per (row, its reference) and profile with paired records: Δ mean ± std
    and n, and whether it exceeds one standard deviation over seeds."""
    lines = []
    for p in profiles:
        for a, b in reference_pairs(row_ids):
            d = paired_delta(df, a, b, p)
            if d["n"] == 0:
                continue
            verdict = ("beyond one standard deviation over seeds" if d["n"] > 1 and abs(d["mean"]) > d["std"]
                       else "within seed noise (one standard deviation)")
            lines.append(f"- **{get_row(a).arm} − {get_row(b).arm}, profile `{p}`**: "
                         f"{format_pm(d, signed=True)} points; {verdict}.")
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
    """Per row: top-1, mean firing rate, ΣMAC and ΣAC per image (M ops) and energy per image
    (µJ) over the current records of ``profile``; records made before the energy measure count
    in ``n`` but not in the energy cells."""
    out = []
    for rid in row_ids:
        cur = df[df.current & (df.row == rid) & (df.profile == profile)]
        measured = cur[cur.energy_mj.notna()]
        line = {"row": rid, "arm": get_row(rid).arm, "n": len(cur), "top-1 (%)": format_pm(summarize(cur.top1)),
                "firing rate": format_pm(summarize(cur.firing_rate), digits=4),
                "n with energy": len(measured)}
        for col, scale, name in (("mac", 1e-6, "ΣMAC (M/img)"), ("ac", 1e-6, "ΣAC (M/img)"),
                                 ("energy_mj", 1e3, "energy (µJ/img)")):
            line[name] = format_pm(summarize(measured[col] * scale), digits=3) if len(measured) else \
                "— (records predate the measure)"
        out.append(line)
    return pd.DataFrame(out).set_index("row")


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
    out = [{"row": rid, "arm": get_row(rid).arm,
            "stem (µJ/img)": format_pm(summarize(vals.get(rid, {}).get("stem", [])), digits=3),
            "rest (µJ/img)": format_pm(summarize(vals.get(rid, {}).get("rest", [])), digits=3)}
           for rid in row_ids]
    return pd.DataFrame(out).set_index("row")

