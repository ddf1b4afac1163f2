"""Command line: run, show, compare and export rows; batch them through papermill; list; book; bench; book-check.

``run`` trains one row in this process and writes the same record layout as ``batch``.
``batch`` validates every requested run first (row ids, parameter types, data, device, teachers)
and exits with a one-line error before any training; then it executes each run with papermill
(``notebooks/train.ipynb``, one kernel per run) and keeps the executed notebook beside the run's
record. A run is skipped only when its record verifies, its executed notebook is complete and,
for a teacher, its weights verify (:func:`rerun_reason`); a damaged file is moved aside, never
deleted, and the run redone. A failed run keeps its notebook (with the traceback) and the batch
goes on (its students are skipped); it ends with a table of every run and exits 1 if any failed.
A full disk is one line naming the file, exit status 1. Each run is executed under its claim
(:mod:`replicate.claims`), so any number of batches can share one output folder, and either in
this process (``--executor local``) or as one SLURM job per run (``--executor slurm``,
:mod:`replicate.executors`).

Bad input (an unknown row, paper, profile or parameter, a malformed value, missing data) is
reported by every command as one line on stderr, with exit status 2 and nothing written.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

from .config import PROFILES

REPO = Path(__file__).resolve().parents[2]
#: The one notebook ``batch`` executes, for teachers and students alike.
NOTEBOOK = "notebooks/train.ipynb"
#: Config fields that ``config_for`` fills from the registry (``show`` marks them ``registry``).
REGISTRY_FIELDS = ("row", "profile", "seed", "teacher_row", "teacher_hash")
#: Where a field that ``-p`` may not set comes from, per command family.
_SET_BY = {"row": "the ROW argument", "profile": "--profile", "seed": "--seed/--seeds",
           "teacher_row": "the registry", "teacher_hash": "the registry",
           "out_dir": "--out", "data_root": "--data-root"}
#: Numeric record columns ``compare`` can difference (results.load_records).
METRICS = ("top1", "best_curve_top1", "last_curve_top1", "firing_rate", "wall_time_s")
_BAD_INPUT = (KeyError, ValueError, TypeError, FileNotFoundError, RuntimeError)


class UsageError(Exception):
    """Bad input: ``main`` prints it as one line on stderr and exits 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block), exit status 2."""

    def error(self, message: str):
        """Print ``message`` as one line on stderr and exit with status 2."""
        self.exit(2, _one_line(f"{self.prog}: error: {message} (see `{self.prog} --help`)") + "\n")


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter with the command column wide enough for the longest command name
    (argparse measures sub-commands one indent short, so ``book-check`` would wrap its help)."""

    def add_argument(self, action):
        super().add_argument(action)
        for choice in getattr(action, "_choices_actions", ()):
            self._action_max_length = max(self._action_max_length, len(choice.dest) + 6)


def _one_line(text: str) -> str:
    return " ".join(str(text).split("\n"))


@contextmanager
def _bad_input():
    """Turn the validation errors of the library into :class:`UsageError`."""
    try:
        yield
    except UsageError:
        raise
    except _BAD_INPUT as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        raise UsageError(msg) from None


# --------------------------------------------------------------------------- argument values
def _parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parse_kv(text: str):
    if "=" not in text:
        raise UsageError(f"parameter {text!r} must look like name=value")
    k, v = text.split("=", 1)
    return k, _parse_value(v)


def _overrides(params: list[str], reserved: tuple[str, ...] = tuple(_SET_BY)) -> dict:
    """The ``-p name=value`` overrides, checked against the Config fields.

    Raises:
        UsageError: malformed, reserved (set by an option or the registry), unknown or mistyped.
    """
    from .config import coerce_parameters

    out = dict(_parse_kv(p) for p in params)
    for k in out:
        if k in reserved:
            raise UsageError(f"-p {k}=...: {k!r} is set by {_SET_BY[k]}, not by -p")
    with _bad_input():
        return coerce_parameters(out)


def _int_arg(text: str, least: int = 0, what: str = "") -> int:
    """``text`` as an integer of at least ``least`` (0 or 1); else an ArgumentTypeError."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer" + (f" {what}" if what else "")) from None
    if n < least:
        raise argparse.ArgumentTypeError((f"{what} " if what else "") + f"{n} is "
                                         + ("negative" if least == 0 else "not positive"))
    return n


def _seed(text: str) -> int:
    return _int_arg(text, 0, "seed")


def _seed_list(text: str) -> list[int]:
    try:
        return [_seed(s) for s in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of non-negative integer seeds") from None


def _row_list(text: str) -> list[str]:
    ids = [r.strip() for r in text.split(",") if r.strip()]
    if not ids:
        raise argparse.ArgumentTypeError("empty row list; name at least one row (`replicate list`)")
    return list(dict.fromkeys(ids))


def _row(row_id: str):
    """The registered row ``row_id``.

    Raises:
        UsageError: unknown row; the message suggests the closest registered ids.
    """
    from .experiments import get_row, rows

    ids = [r.id for r in rows()]
    if row_id not in ids:
        close = difflib.get_close_matches(row_id, ids, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UsageError(f"unknown row {row_id!r}{hint} (`replicate list` shows every row)")
    return get_row(row_id)


def _check_profile(row, profile: str, runnable: bool) -> None:
    """Raises UsageError when ``row`` has no ``profile`` recipe (or, if ``runnable``, cannot run it here)."""
    if profile not in row.recipes:
        raise UsageError(f"row {row.id!r} has no {profile!r} recipe; it has {', '.join(row.profiles())}")
    reason = row.unavailable.get(profile)
    if runnable and reason:
        raise UsageError(f"row {row.id!r} cannot run here at profile {profile!r}: {reason}")


def _check_paper(paper: str | None) -> None:
    from .experiments import rows

    papers = sorted({r.paper for r in rows()})
    if paper is not None and paper not in papers:
        raise UsageError(f"unknown paper {paper!r}; papers: {', '.join(papers)}")


def _require_records(results: str | Path) -> None:
    if not any((Path(results) / "records").glob("*/*/*.json")):
        raise UsageError(f"no records under {Path(results) / 'records'}")


# --------------------------------------------------------------------------- run
def cmd_run(args) -> int:
    """``replicate run``: train one row in this process; print the record's path and top-1."""
    from .experiments import config_for
    from .results import record_path
    from .train import preflight, run

    with _bad_input():
        row = _row(args.row)
        _check_profile(row, args.profile, runnable=True)
        runtime = _overrides(args.param)
        if args.device:
            runtime["device"] = args.device
        if args.quiet:
            runtime["progress"] = False
        cfg = config_for(row.id, args.profile, args.seed, out_dir=str(args.out),
                         data_root=args.data_root, **runtime)
        preflight(cfg)
    rec = record_path(args.out, cfg.row, cfg.profile, cfg.seed, cfg.hash)
    again = (" (forced: the old record and checkpoints are kept as <name>.replaced-<time>)" if args.force
             else " (record exists; --force retrains it)" if rec.is_file() else "")
    print(f"replicate run: {cfg.row} profile {cfg.profile} seed {cfg.seed} ({cfg.hash}){again}",
          flush=True)
    try:
        record = run(cfg, force=args.force)
    except (FloatingPointError, ValueError, RuntimeError) as e:
        print(_one_line(f"replicate run: error: {cfg.row} seed {cfg.seed} failed "
                        f"({type(e).__name__}: {e})"), file=sys.stderr)
        return 1
    m = record["metrics"]
    print(f"replicate run: record {rec}")
    print(f"replicate run: top-1 {m['top1']:.2f}% on {m['final_test_size']} test images")
    return 0


# --------------------------------------------------------------------------- show
def _table(df) -> str:
    """``df`` as text: floats with 2 decimals, every other column left-aligned, no index."""
    fmt = {c: f"{{!s:<{max(len(c), df[c].astype(str).str.len().max())}}}".format
           for c in df.columns if df[c].dtype.kind != "f"}
    return df.to_string(index=False, justify="left", formatters=fmt, float_format=lambda x: f"{x:.2f}")


def config_sources(cfg, recipe: dict, overrides: dict):
    """Every Config field of ``cfg`` with its value (``repr``) and where it came from:
    ``override`` (-p), ``recipe`` (``row.recipes[profile]``), ``registry`` (set by
    ``config_for``: row, profile, seed, teacher_row, teacher_hash) or ``default`` (the Config
    dataclass default). Returns a DataFrame with columns field, value, source."""
    import pandas as pd

    from .config import Config

    out = []
    for f in fields(Config):
        src = ("override" if f.name in overrides else "recipe" if f.name in recipe
               else "registry" if f.name in REGISTRY_FIELDS else "default")
        out.append({"field": f.name, "value": repr(getattr(cfg, f.name)), "source": src})
    return pd.DataFrame(out, columns=["field", "value", "source"])


def records_of(results: str | Path, row_id: str, profile: str, overrides: dict | None = None):
    """The records of ``row_id`` at ``profile`` under ``results``: seed, hash, status, top-1 (%).

    status is ``current`` (the record's hash is the registry's hash today), ``with -p`` (the
    hash of the config with ``overrides``) or ``stale``. Returns a DataFrame sorted by seed."""
    import pandas as pd

    from .experiments import config_for
    from .results import read_record

    out = []
    for p in sorted((Path(results) / "records" / row_id / profile).glob("*.json")):
        r = read_record(p)
        h, seed = r["config_hash"], r["seed"]
        status = ("current" if h == config_for(row_id, profile, seed).hash
                  else "with -p" if overrides and h == config_for(row_id, profile, seed, **overrides).hash
                  else "stale")
        out.append({"seed": seed, "hash": h, "status": status, "top1": r.get("metrics", {}).get("top1")})
    df = pd.DataFrame(out, columns=["seed", "hash", "status", "top1"])
    return df.sort_values(["seed", "hash"], ignore_index=True)


def _claim_lines(row) -> list[str]:
    """``claim: value (kind); source: ...; note; checkable here`` for every number the row's
    sources publish."""
    if not row.claims:
        return ["claim: none registered"]
    out = []
    for c in row.claims:
        ok = row.checkable(c)
        out.append(f"claim: {c.value:.2f} ({c.kind}); source: {c.source}" + (f"; {c.note}" if c.note else "")
                   + ("; checkable here" if ok is True else f"; not checkable here: {ok}"))
    return out


def cmd_show(args) -> int:
    """``replicate show``: the resolved config with sources, the claim, the records."""
    from .experiments import config_for

    with _bad_input():
        row = _row(args.row)
        profile = args.profile or ("cpu" if "cpu" in row.recipes else row.profiles()[0])
        _check_profile(row, profile, runnable=False)
        overrides = _overrides(args.param, REGISTRY_FIELDS)
        cfg = config_for(row.id, profile, args.seed, **overrides)
    print(f"{row.id}: {row.label} ({row.table}, arm {row.arm}); profile {profile}, seed {cfg.seed}, "
          f"hash {cfg.hash}" + (f" (registered: {config_for(row.id, profile, cfg.seed).hash}), "
                                f"overrides {overrides}" if overrides else ""))
    print(_table(config_sources(cfg, row.recipes[profile], overrides)))
    for line in _claim_lines(row):
        print(line)
    recs = records_of(args.results, row.id, profile, overrides)
    where = Path(args.results) / "records" / row.id / profile
    if recs.empty:
        print(f"records: none under {where}")
    else:
        print(f"records under {where}:")
        print(_table(recs))
    return 0


# --------------------------------------------------------------------------- compare, export
def cmd_compare(args) -> int:
    """``replicate compare``: paired Δ = A − B by seed, mean with its Student-t interval."""
    from .results import load_records
    from .stats import paired_ci

    with _bad_input():
        a, b = _row(args.row_a), _row(args.row_b)
        _require_records(args.results)
        ci = paired_ci(load_records(args.results), a.id, b.id, args.profile, args.metric, args.level)
    if ci["n"] == 0:
        print(f"replicate compare: error: no seed has current {args.profile} records of both "
              f"{a.id} and {b.id} under {args.results}", file=sys.stderr)
        return 1
    print(f"replicate compare: {a.id} − {b.id}, profile {args.profile}, metric {args.metric}, "
          f"paired by seed over current records in {args.results}")
    pct = f"{100 * args.level:g}% CI"
    print(f"  mean Δ  {ci['mean']:+.3f}")
    if ci["n"] < 2:
        print(f"  {pct}  n<2: no interval")
    else:
        print(f"  {pct}  [{ci['lo']:+.3f}, {ci['hi']:+.3f}]  (Student t, {ci['dof']} dof; "
              f"sd of Δ {ci['std']:.3f})")
    print(f"  n       {ci['n']}")
    print(f"  seeds   {', '.join(map(str, ci['seeds']))}")
    return 0


def export_table(results: str | Path):
    """Every record under ``results`` as one DataFrame: the columns of
    :func:`replicate.results.load_records` plus each config field as ``config.<name>`` (in the
    Config's declaration order; units as in the record: top-1 in %, wall time in s)."""
    import pandas as pd

    from .results import load_records, read_record

    df = load_records(results)
    from .config import Config

    # each record's config read back through Config: fields added since it was made take their
    # defaults (what the record's run used), so every field is a column, in declaration order
    cfg = pd.DataFrame([Config(**read_record(p)["config"]).to_dict() for p in df.path], index=df.index,
                       columns=[f.name for f in fields(Config)])
    return pd.concat([df, cfg.add_prefix("config.")], axis=1)


def cmd_export(args) -> int:
    """``replicate export``: write :func:`export_table` to a CSV or Parquet file (atomically)."""
    import importlib.util
    import io

    from .results import atomic_write_bytes

    with _bad_input():
        if args.parquet and importlib.util.find_spec("pyarrow") is None:
            raise UsageError("--parquet needs pyarrow, which is not installed; use --csv")
        _require_records(args.results)
        df = export_table(args.results)
    if args.csv:
        dest, data = args.csv, df.to_csv(index=False).encode()
    else:
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        dest, data = args.parquet, buf.getvalue()
    atomic_write_bytes(dest, data)
    print(f"replicate export: {len(df)} records x {len(df.columns)} columns -> {dest}")
    return 0


# --------------------------------------------------------------------------- batch
def _plan(args) -> list:
    """``(row id, seed, Config)`` of every run a batch asks for, teachers first.

    Raises:
        UsageError: unknown paper or row, a profile a row lacks or cannot run here, bad -p.
        KeyError, ValueError, TypeError: as :func:`replicate.experiments.config_for`.
    """
    from .experiments import config_for, rows
    from .experiments.bkdsnn import MAIN_JOB

    _check_paper(getattr(args, "paper", None))
    whole_paper = not (args.main_job or args.rows)
    ids = list(MAIN_JOB) if args.main_job else args.rows or [r.id for r in rows(args.paper)]
    overrides = _overrides(args.param)
    plan = []
    for rid in ids:
        row = _row(rid)
        reason = row.unavailable.get(args.profile)
        if whole_paper and (args.profile not in row.recipes or reason):
            print(f"  {rid}: not run at {args.profile} ({reason or 'no such recipe'})", file=sys.stderr)
            continue
        _check_profile(row, args.profile, runnable=True)
        seeds = list(args.seeds) if args.seeds else list(row.seeds[args.profile])
        for seed in seeds[:1] if row.arm == "teacher" else seeds:
            cfg = config_for(rid, args.profile, seed, out_dir=str(args.out),
                             data_root=args.data_root, **overrides)
            plan.append((rid, seed, cfg))
    plan.sort(key=lambda t: _row(t[0]).arm != "teacher")  # teachers first: students need them
    return plan


def _notebook_params(cfg, overrides: dict, force: bool = False) -> dict:
    """papermill parameters of one run: identity and locations, then each override as its own
    top-level parameter (``papermill ... -p lr 0.05``). ``force`` is the notebook's own parameter
    (``run(cfg, force=force)``: retrain, the old record and checkpoints kept aside), not a field."""
    return {"row": cfg.row, "profile": cfg.profile, "seed": cfg.seed, "data_root": cfg.data_root,
            "out_dir": cfg.out_dir, "progress": True, "force": force, **overrides}


def _preflight_plan(plan: list) -> None:
    """Every cheap check of every run; a teacher that the batch itself trains may be absent."""
    from .train import preflight
    from .train.engine import TeacherNotFoundError

    planned = {c.hash for _, _, c in plan}
    for _, _, cfg in plan:
        try:
            preflight(cfg)
        except TeacherNotFoundError:
            if cfg.teacher_hash not in planned:
                raise


def _drop_unknown_parameter_warnings(record) -> bool:
    """Logging filter: papermill warns of every parameter the notebook's parameters cell does not
    name, but every Config field is a parameter of the notebook (validated before the batch)."""
    return not record.getMessage().startswith("Passed unknown parameter")


@dataclass
class Outcome:
    """What became of one run of a batch (a row of the closing table)."""

    row: str
    seed: int
    hash: str
    status: str = "done"  #: done | skipped | failed | submitted (``--no-wait``)
    detail: str = ""      #: ran, ran (forced), verified, done by host:pid, teacher failed, claimed
                          #: by host:pid, queued (--no-wait), or the error's first line
    wall_s: float = 0.0
    look_at: str = ""     #: the file to look at (a failure's executed notebook or job log)
    disk_full: str = ""   #: the disk filled: this line, and the batch stops
    claimed_by: str = ""  #: ``host:pid`` of the live process that held its claim
    job: str = ""         #: its SLURM (submitit) job id


def _first_line(text: str, limit: int = 160) -> str:
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[:limit - 1] + "…"


def disk_full_line(e: BaseException, path: str | Path | None = None) -> str | None:
    """One line naming the file that could not be written when ``e`` is a full disk (or quota or
    file-size limit), raised here or inside a notebook (papermill); ``None`` for anything else."""
    import errno
    import re

    if type(e).__name__ == "PapermillExecutionError":
        if e.ename != "DiskFullError" and "No space left on device" not in str(e.evalue):
            return None
        return re.sub(r"^\[Errno \d+\] ", "", _first_line(e.evalue, 1000))
    if not (isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)):
        return None
    from .safeio import DiskFullError

    if isinstance(e, DiskFullError):
        return _first_line(e.strerror, 1000)
    where = e.filename or path or "a file"
    return (f"cannot write {where}: {os.strerror(e.errno)} (disk full or file-size limit); "
            f"free space and rerun: finished runs are kept")


# --------------------------------------------------------------------------- batch: skip or rerun
def notebook_state(path: str | Path) -> str | None:
    """``None`` when the executed notebook at ``path`` is complete (papermill ended it and every
    cell's status is ``completed``), else why not: missing, unreadable, stopped, failed."""
    import json

    path = Path(path)
    if not path.is_file():
        return "missing"
    try:
        nb = json.loads(path.read_bytes())
        meta = nb["metadata"].get("papermill", {})
        states = [c.get("metadata", {}).get("papermill", {}).get("status") for c in nb["cells"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        return "unreadable (cut short)"
    if meta.get("exception") or "failed" in states:
        return "failed"
    if not meta.get("end_time") or any(s != "completed" for s in states):
        stuck = next((s for s in states if s != "completed"), None)
        return f"stopped with a cell at status {stuck!r}" if stuck else "never finished"
    return None


def _move_aside(path: Path, err: Exception) -> None:
    from .safeio import move_aside

    dest = move_aside(path, "damaged")
    print(_one_line(f"  moved aside {path} -> {dest.name} ({err})"), flush=True)


def rerun_reason(cfg, teacher: bool, out: Path, notebook: bool = True) -> tuple[str | None, bool]:
    """Why a run must be (re)done, or ``None`` when its outputs verify; and whether it must
    retrain (``force``) rather than finish from what it left.

    A run is done when its record verifies (:func:`replicate.results.read_record`), its executed
    notebook is complete (:func:`notebook_state`; not asked when ``notebook`` is false: a
    ``torchrun`` job makes none) and, for a teacher, its ``model.pt`` verifies.
    A damaged record or ``model.pt`` is moved aside (``<name>.damaged-<time>``), never deleted.
    Call it only under the run's claim (:mod:`replicate.claims`)."""
    from .results import checkpoint_dir, read_record, record_path
    from .safeio import DamagedFileError, clean_stale_temps
    from .train import checkpoint

    rec = record_path(out, cfg.row, cfg.profile, cfg.seed, cfg.hash)
    ck = checkpoint_dir(out, cfg.hash)
    clean_stale_temps(rec.parent), clean_stale_temps(ck)
    if not rec.is_file():
        return "no record", False
    try:
        read_record(rec)
    except DamagedFileError as e:
        _move_aside(rec, e)
        return "damaged record", False
    if teacher:
        try:
            checkpoint.load(ck / "model.pt", weights_only=True)
        except DamagedFileError as e:
            if (ck / "model.pt").is_file():
                _move_aside(ck / "model.pt", e)
            return "teacher weights missing or damaged", True  # the record alone is not enough
    state = notebook_state(rec.with_suffix(".ipynb")) if notebook else None
    return (f"notebook {state}", False) if state else (None, False)


# --------------------------------------------------------------------------- batch: execute
def _run_notebook(cfg, args, overrides: dict, force: bool) -> Outcome:
    """Execute one run's notebook with papermill; a failure is an :class:`Outcome` (its
    executed notebook, with the traceback, is kept), not an exception; a full disk sets
    ``disk_full`` (the batch stops)."""
    import papermill as pm

    from .results import record_path

    nb = record_path(args.out, cfg.row, cfg.profile, cfg.seed, cfg.hash).with_suffix(".ipynb")
    out = Outcome(cfg.row, cfg.seed, cfg.hash, "done", "ran (forced)" if force else "ran")
    t0 = time.time()
    try:
        nb.parent.mkdir(parents=True, exist_ok=True)
        pm.execute_notebook(str(REPO / NOTEBOOK), str(nb),
                            parameters=_notebook_params(cfg, overrides, force), kernel_name="python3",
                            progress_bar=False, log_output=not args.quiet, cwd=str(REPO))
    except Exception as e:  # noqa: BLE001  (one run's failure never stops the batch)
        out.disk_full = disk_full_line(e, nb) or ""
        why = (f"{e.ename}: {_first_line(e.evalue)}" if isinstance(e, pm.PapermillExecutionError)
               else f"{type(e).__name__}: {_first_line(e)}")
        out.status, out.look_at = "failed", str(nb)
        out.detail = _first_line(f"disk full: {out.disk_full}" if out.disk_full else why, 100)
        if not out.disk_full:
            print(_one_line(f"replicate batch: error: {cfg.row} seed {cfg.seed} failed ({why}); "
                            f"see {nb}"), file=sys.stderr, flush=True)
    out.wall_s = time.time() - t0
    return out


def summary_table(outcomes: list[Outcome]):
    """The closing table of a batch: one row per run (status, wall time, detail, file to look at)."""
    import pandas as pd

    cols = ["row", "seed", "hash", "status", "wall_s", "detail", "job", "look_at"]
    return pd.DataFrame([vars(o) for o in outcomes], columns=cols)


def _print_summary(outcomes: list[Outcome], total_s: float, planned: int) -> None:
    states = ("done", "skipped", "failed") + (("submitted",) if any(
        o.status == "submitted" for o in outcomes) else ())
    counts = {s: sum(o.status == s for o in outcomes) for s in states}
    if len(outcomes) < planned:
        counts["not attempted"] = planned - len(outcomes)
    print("replicate batch: summary")
    if outcomes:
        df = summary_table(outcomes)
        print(_table(df.drop(columns=[c for c in ("job", "look_at") if not df[c].any()])))
    print(f"replicate batch: total {total_s:.1f} s; " + ", ".join(f"{n} {s}" for s, n in counts.items()))


#: ``--slurm-time`` (minutes) per profile when the flag is not given.
SLURM_TIME = {"smoke": 15, "cpu": 240, "gpu": 720, "paper": 2880}
_SLURM_FLAGS = ("slurm_partition", "slurm_gpus", "slurm_time", "slurm_cpus", "no_wait")


def _runner(args):
    """The executor of ``--executor`` (:mod:`replicate.executors`).

    Raises:
        UsageError: a SLURM flag without ``--executor slurm``; no ``sbatch`` or submitit here."""
    import importlib.util
    import shutil

    from . import executors

    given = [f"--{n.replace('_', '-')}" for n in _SLURM_FLAGS
             if getattr(args, n) is not None and getattr(args, n) is not False]
    if args.executor == "local":
        if given:
            raise UsageError(f"{', '.join(given)}: only with --executor slurm")
        return executors.LocalRunner()
    if importlib.util.find_spec("submitit") is None:
        raise UsageError("--executor slurm needs submitit (pinned in requirements-lock.txt)")
    if args.submitit_cluster == "slurm" and shutil.which("sbatch") is None:
        raise UsageError("--executor slurm needs SLURM's sbatch on PATH; run the batch on a "
                         "machine of the cluster (e.g. its login node)")
    params = {"timeout_min": args.slurm_time or SLURM_TIME[args.profile], "nodes": 1,
              "tasks_per_node": 1, "cpus_per_task": args.slurm_cpus or 8,
              "slurm_partition": args.slurm_partition}
    return executors.SubmititRunner(Path(args.out) / "slurm", args.submitit_cluster, params,
                                    wait=not args.no_wait)


def _run_jobs(plan: list, args, overrides: dict, since: float) -> list:
    """One :class:`replicate.executors.RunJob` per planned run; a SLURM job's GPUs come from
    ``--slurm-gpus``, else from its recipe's device (1 for cuda, 0 for cpu)."""
    from .executors import RunJob

    def gpus(cfg) -> int:
        if args.executor == "local":
            return 0
        return args.slurm_gpus if args.slurm_gpus is not None else int(cfg.device.startswith("cuda"))

    return [RunJob(cfg, overrides, str(args.out), args.force, args.quiet, since, gpus(cfg))
            for _, _, cfg in plan]


def _batch_logging(quiet: bool) -> None:
    import logging

    if not quiet:  # stream each notebook's output (epoch lines, tqdm) as it runs
        logging.basicConfig(level=logging.INFO, format="    %(message)s")
        logging.getLogger("papermill").setLevel(logging.INFO)
    logging.getLogger("papermill").addFilter(_drop_unknown_parameter_warnings)


def cmd_batch(args) -> int:
    """``replicate batch``: validate every run, then execute each (here, or as SLURM jobs) through
    papermill, each under its claim; every run that can run does; a closing table; exit 1 if any
    failed (2: bad input, before any run)."""
    from .executors import schedule

    with _bad_input():
        plan = _plan(args)
        runner = _runner(args)
        _preflight_plan(plan)
    _batch_logging(args.quiet)
    overrides = _overrides(args.param)
    total0, final = time.time(), {}
    jobs = _run_jobs(plan, args, overrides, total0)
    where = "this process" if args.executor == "local" else f"SLURM jobs ({args.submitit_cluster})"
    print(f"replicate batch: {len(plan)} run(s), profile {args.profile}, output {args.out}, "
          f"executor {args.executor} ({where})", flush=True)
    try:
        schedule(jobs, runner, final)
    finally:
        outcomes = [final[c.hash] for _, _, c in plan if c.hash in final]
        _print_summary(outcomes, time.time() - total0, len(plan))
    full = next((o.disk_full for o in outcomes if o.disk_full), "")
    if full:
        print(_one_line(f"replicate batch: error: {full}"), file=sys.stderr)
    return 1 if any(o.status == "failed" for o in outcomes) else 0


# --------------------------------------------------------------------------- list, book
def cmd_list(args) -> int:
    """``replicate list``: every registered row (of one paper) with its claim and profiles."""
    from .experiments import rows

    _check_paper(args.paper)
    for r in rows(args.paper):
        claim = f"{r.claim.value:.2f}" if r.claim else "—"
        print(f"{r.id:32s} {r.arm:9s} claim {claim:>6s}  profiles {','.join(r.profiles())}")
    return 0


def cmd_book(args) -> int:
    """``replicate book``: build the jupyter-book from a results folder (exit status of jupyter-book)."""
    _require_records(args.results)
    env = dict(os.environ, REPLICATE_RESULTS=str(Path(args.results).resolve()))
    jb = Path(sys.executable).parent / "jupyter-book"  # the console script beside this Python
    cmd = [str(jb), "build", str(REPO / "book"), "-W", "-n",
           "--path-output", str(Path(args.build).resolve())]
    return subprocess.run(cmd, env=env).returncode


# --------------------------------------------------------------------------- parser
_HELP_PARAM = "override a config field: name=value, a Python literal or a bare string (changes the hash)"


def _add_run(sub) -> None:
    r = sub.add_parser("run", help="train one row in this process and write its record")
    r.add_argument("row", metavar="ROW", help="row id (`replicate list`)")
    r.add_argument("--profile", default="cpu", choices=PROFILES, help="recipe size (default: cpu)")
    r.add_argument("--seed", type=_seed, default=None, help="run seed (default: the row's first seed)")
    r.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE", help=_HELP_PARAM)
    r.add_argument("--out", default="out", type=Path, help="output folder for records and checkpoints (default: out)")
    r.add_argument("--data-root", default=None, help="dataset location (default: $REPLICATE_DATA)")
    r.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: the recipe's)")
    r.add_argument("--force", action="store_true", help="retrain even if the record exists")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar or epoch lines")
    r.set_defaults(fn=cmd_run)


def _add_show(sub) -> None:
    s = sub.add_parser("show", help="a row's config with each field's source, claim, records")
    s.add_argument("row", metavar="ROW", help="row id (`replicate list`)")
    s.add_argument("--profile", default=None, choices=PROFILES,
                   help="recipe size (default: cpu if the row has it, else its first profile)")
    s.add_argument("--seed", type=_seed, default=None, help="run seed (default: the row's first seed)")
    s.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE", help=_HELP_PARAM)
    s.add_argument("--results", default=str(REPO / "results"),
                   help="results folder whose records are listed (default: the repository's results/)")
    s.set_defaults(fn=cmd_show)


def _add_compare(sub) -> None:
    c = sub.add_parser("compare", help="paired difference A - B by seed with its t-interval")
    c.add_argument("row_a", metavar="ROW_A", help="row id of A")
    c.add_argument("row_b", metavar="ROW_B", help="row id of B (Δ = A − B)")
    c.add_argument("--profile", required=True, choices=PROFILES, help="profile of both rows' records")
    c.add_argument("--results", default=str(REPO / "results"),
                   help="results folder (default: the repository's results/)")
    c.add_argument("--metric", default="top1", choices=METRICS, help="record column to difference (default: top1, %%)")
    c.add_argument("--level", default=0.95, type=float, help="confidence level of the interval (default: 0.95)")
    c.set_defaults(fn=cmd_compare)


def _add_export(sub) -> None:
    e = sub.add_parser("export", help="every record as one table (CSV or Parquet)")
    e.add_argument("--results", default=str(REPO / "results"),
                   help="results folder (default: the repository's results/)")
    g = e.add_mutually_exclusive_group(required=True)
    g.add_argument("--csv", metavar="FILE", help="write a CSV file")
    g.add_argument("--parquet", metavar="FILE", help="write a Parquet file (needs pyarrow)")
    e.set_defaults(fn=cmd_export)


def _add_batch(sub) -> None:
    b = sub.add_parser("batch", help="run many rows through notebooks/train.ipynb (papermill)")
    g = b.add_mutually_exclusive_group()
    g.add_argument("--rows", type=_row_list, help="comma-separated row ids")
    g.add_argument("--main-job", action="store_true", help="the README's main job")
    g.add_argument("--paper", help="all rows of one paper that can run at the profile (default: all rows)")
    b.add_argument("--profile", default="cpu", choices=PROFILES, help="recipe size (default: cpu)")
    b.add_argument("--seeds", type=_seed_list, help="comma-separated seeds (default: the row's seeds)")
    b.add_argument("--out", default="out", type=Path, help="output folder for records and checkpoints (default: out)")
    b.add_argument("--data-root", default=None, help="dataset location (default: $REPLICATE_DATA)")
    b.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE", help=_HELP_PARAM)
    b.add_argument("--force", action="store_true",
                   help="retrain every run even if its record verifies (the old record and "
                        "checkpoints are kept as <name>.replaced-<time>)")
    b.add_argument("-q", "--quiet", action="store_true", help="do not stream the notebooks' output")
    _add_batch_executor(b)
    b.set_defaults(fn=cmd_batch)


def _positive(text: str) -> int:
    return _int_arg(text, 1)


def _count(text: str) -> int:
    return _int_arg(text, 0)


def _add_batch_executor(b) -> None:
    b.add_argument("--executor", default="local", choices=("local", "slurm"),
                   help="local: every run in this process (default); slurm: one SLURM job per run "
                        "through submitit, the batch waits for them")
    b.add_argument("--slurm-partition", default=None, help="SLURM partition (default: the cluster's)")
    b.add_argument("--slurm-gpus", type=_count, default=None, metavar="N",
                   help="GPUs per job (default: 1 for a recipe on cuda, 0 on cpu); N > 1 trains "
                        "the run under torchrun, data-parallel (no executed notebook then)")
    b.add_argument("--slurm-time", type=_positive, default=None, metavar="MIN",
                   help="time limit per job in minutes (default per profile: "
                        + ", ".join(f"{p} {m}" for p, m in SLURM_TIME.items()) + ")")
    b.add_argument("--slurm-cpus", type=_positive, default=None, metavar="N",
                   help="CPUs per job (default: 8)")
    b.add_argument("--no-wait", action="store_true",
                   help="with --executor slurm: submit the jobs (students after their teacher's "
                        "job, afterok), print their ids and exit")
    b.add_argument("--submitit-cluster", default="slurm", choices=("slurm", "local", "debug"),
                   help="submitit backend for --executor slurm: slurm (sbatch), or local/debug to "
                        "try a batch's jobs on this machine (default: slurm)")



def build_parser() -> argparse.ArgumentParser:
    """The ``replicate`` argument parser (``bench`` has its own, in :mod:`replicate.bench`)."""
    p = _Parser(prog="replicate", description=__doc__.split("\n")[0], formatter_class=_HelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True, title="commands", metavar="COMMAND")
    for add in (_add_run, _add_show, _add_compare, _add_export, _add_batch):
        add(sub)
    ls = sub.add_parser("list", help="list the registered rows with their claims")
    ls.add_argument("--paper", help="only this paper's rows")
    ls.set_defaults(fn=cmd_list)
    bk = sub.add_parser("book", help="build the jupyter-book from a results folder")
    bk.add_argument("--results", default=str(REPO / "results"), help="results folder (default: results/)")
    bk.add_argument("--build", default=str(REPO / "_build"), help="build folder (default: _build/)")
    bk.set_defaults(fn=cmd_book)
    sub.add_parser("bench", help="BPTT vs rate-BP memory/time benchmark (bench -h)")
    sub.add_parser("book-check", help="the built book in headless Chromium (book-check -h)")
    return p


def _dispatch(argv: list[str]) -> int:
    if argv[:1] == ["bench"]:  # its own parser: `replicate bench sweep|point ...`
        from . import bench
        return bench.main(argv[1:])
    if argv[:1] == ["book-check"]:  # its own parser too (replicate.bookcheck)
        from . import bookcheck
        return bookcheck.main(argv[1:])
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a one-line usage error (2)
        return e.code if isinstance(e.code, int) else 2
    try:
        return args.fn(args)
    except UsageError as e:
        print(_one_line(f"replicate {args.cmd}: error: {e}"), file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``replicate`` command; returns the exit status (2: bad input; 1: a run
    failed, or the disk filled, which is one line naming the file)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return _dispatch(argv)
    except OSError as e:
        line = disk_full_line(e)
        if line is None:
            raise
        print(_one_line(f"replicate {(argv or ['?'])[0]}: error: {line}"), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
