"""Records: one JSON file per finished run, written atomically; loaded into pandas.

Layout under a results folder (``results/`` for the published book, ``out/`` for a local run)::

    records/<row>/<profile>/seed<seed>-<hash>.json    the record (schema below)
    records/<row>/<profile>/seed<seed>-<hash>.ipynb   the executed notebook that produced it
    checkpoints/<hash>/last.pt, model.pt              resume state and final weights (git-ignored)

A record holds ``row, profile, seed, config_hash, config, metrics, curves, data, provenance``.
Tables aggregate only records whose ``config_hash`` equals the one the registry builds today for
the same (row, profile, seed): an edited recipe never mixes with old numbers.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from .safeio import DamagedFileError, atomic_write_bytes  # noqa: F401  (re-exported)

SCHEMA_VERSION = 1


def record_path(root: str | Path, row: str, profile: str, seed: int, cfg_hash: str) -> Path:
    return Path(root) / "records" / row / profile / f"seed{seed}-{cfg_hash}.json"


def checkpoint_dir(root: str | Path, cfg_hash: str) -> Path:
    return Path(root) / "checkpoints" / cfg_hash


#: What every record holds (validated on every read; extra fields are allowed).
RECORD_SCHEMA = {
    "type": "object",
    "required": ["row", "profile", "seed", "config_hash", "config", "metrics", "curves", "provenance"],
    "properties": {
        "row": {"type": "string", "minLength": 1},
        "profile": {"type": "string", "minLength": 1},
        "seed": {"type": "integer"},
        "config_hash": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
        "config": {"type": "object"},
        "metrics": {"type": "object", "properties": {"top1": {"type": ["number", "null"]}}},
        "curves": {"type": "array", "items": {"type": "object"}},
        "provenance": {"type": "object"},
    },
}


def write_record(path: str | Path, record: dict) -> None:
    """Write ``record`` as JSON, atomically (:func:`~replicate.safeio.atomic_write_bytes`)."""
    atomic_write_bytes(path, json.dumps(record, indent=1, sort_keys=True, default=str).encode())


def read_record(path: str | Path) -> dict:
    """The record at ``path``, verified: valid JSON, :data:`RECORD_SCHEMA`, and a config that
    hashes to its ``config_hash``.

    Raises:
        DamagedFileError: naming the file and what is wrong with it.
    """
    import jsonschema

    from .config import Config
    path = Path(path)
    try:
        rec = json.loads(path.read_bytes())
        jsonschema.validate(rec, RECORD_SCHEMA)
    except (ValueError, jsonschema.ValidationError) as e:
        why = e.message if isinstance(e, jsonschema.ValidationError) else f"not valid JSON ({e})"
        raise DamagedFileError(path, why) from None
    try:
        h = Config(**rec["config"]).hash
    except (TypeError, ValueError) as e:
        raise DamagedFileError(path, f"its config is not a valid Config ({e})") from None
    if h != rec["config_hash"]:
        raise DamagedFileError(path, f"its config hashes to {h}, not to its config_hash {rec['config_hash']}")
    return rec


def iter_records(root: str | Path) -> Iterable[tuple[Path, dict]]:
    for p in sorted((Path(root) / "records").glob("*/*/*.json")):
        yield p, read_record(p)


def load_records(root: str | Path) -> pd.DataFrame:
    """One row per record: identity, headline metrics, wall time, provenance, and ``current``
    (True when the record's hash equals the registry's hash for its row/profile/seed)."""
    from .experiments import config_for, get_row

    rows = []
    for p, r in iter_records(root):
        m = r.get("metrics", {})
        try:
            get_row(r["row"])
            expected = config_for(r["row"], r["profile"], r["seed"]).hash
        except (KeyError, ValueError):
            expected = None
        prov = r.get("provenance", {})
        rows.append({
            "row": r["row"], "profile": r["profile"], "seed": r["seed"],
            "config_hash": r["config_hash"], "current": r["config_hash"] == expected,
            "top1": m.get("top1"), "best_curve_top1": m.get("best_curve_top1"),
            "best_epoch": m.get("best_epoch"), "last_curve_top1": m.get("last_curve_top1"),
            "prefix_top1": m.get("prefix_top1"),  # top-1 at T' = 1..T (list; None for ANNs)
            "firing_rate": m.get("mean_firing_rate"), "params": m.get("params"),
            # ops and energy per image (records before the energy measure have none: NaN)
            "mac": (m.get("energy") or {}).get("mac"), "ac": (m.get("energy") or {}).get("ac"),
            "energy_mj": (m.get("energy") or {}).get("energy_mj"),
            "epochs": r["config"].get("epochs"), "wall_time_s": prov.get("wall_time_s"),
            "device": prov.get("machine", {}).get("gpu") or prov.get("machine", {}).get("processor"),
            "git_commit": (prov.get("git", {}).get("commit") or "")[:10],
            "git_dirty": prov.get("git", {}).get("dirty"), "path": str(p),
        })
    cols = ["row", "profile", "seed", "config_hash", "current", "top1", "best_curve_top1",
            "best_epoch", "last_curve_top1", "prefix_top1", "firing_rate", "params", "mac", "ac", "energy_mj",
            "epochs", "wall_time_s",
            "device", "git_commit", "git_dirty", "path"]
    return pd.DataFrame(rows, columns=cols)


def load_curves(root: str | Path) -> pd.DataFrame:
    """Per-epoch curves of every record, long format (row, profile, seed, epoch, metric columns)."""
    out = []
    for _, r in iter_records(root):
        for c in r.get("curves", []):
            out.append({"row": r["row"], "profile": r["profile"], "seed": r["seed"],
                        "config_hash": r["config_hash"], **c})
    return pd.DataFrame(out)


def summarize(values: Iterable[float]) -> dict[str, Any]:
    """mean, sample std (ddof 1; NaN for n < 2) and n of ``values``."""
    s = pd.Series(list(values), dtype=float).dropna()
    return {"mean": s.mean() if len(s) else float("nan"),
            "std": s.std(ddof=1) if len(s) > 1 else float("nan"), "n": int(len(s))}


def paired_delta(df: pd.DataFrame, row_a: str, row_b: str, profile: str,
                 metric: str = "top1") -> dict[str, Any]:
    """Δ = metric(row_a) − metric(row_b), paired by seed, over current records of one profile.

    Never mixes profiles: both arms come from ``profile``. Returns mean ± std over seeds and n.
    """
    cur = df[df.current & (df.profile == profile)]
    a = cur[cur.row == row_a].set_index("seed")[metric]
    b = cur[cur.row == row_b].set_index("seed")[metric]
    both = a.index.intersection(b.index)
    out = summarize((a[both] - b[both]).tolist())
    out["seeds"] = sorted(int(s) for s in both)
    return out


def format_pm(s: dict[str, Any], digits: int = 2, signed: bool = False) -> str:
    """``"mean ± std (n=k)"``; ``"—"`` when n is 0."""
    if not s["n"]:
        return "—"
    f = f"{{:{'+' if signed else ''}.{digits}f}}"
    std = "" if s["n"] < 2 else f" ± {s['std']:.{digits}f}"
    return f"{f.format(s['mean'])}{std} (n={s['n']})"
