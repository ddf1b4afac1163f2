"""Command line: ``replicate list``, ``replicate batch``, ``replicate book``.

``batch`` validates every requested run first (row ids, parameter types, data, device, teachers)
and exits with a one-line error before any training; then it executes each run's notebook with
papermill, in its own kernel, and keeps the executed notebook beside the run's record. A run is
skipped when its record and the artefacts its dependants need (a teacher's weights) already
exist in the output folder under the same config hash.
"""
from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import time
from pathlib import Path

from .config import PROFILES

REPO = Path(__file__).resolve().parents[2]


def _parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _plan(args) -> list:
    from .config import Config
    from .experiments import config_for, get_row, rows
    from .experiments.bkdsnn import MAIN_JOB

    if args.main_job:
        ids = list(MAIN_JOB)
    elif args.rows:
        ids = [r for r in args.rows.split(",") if r]
    else:
        ids = [r.id for r in rows(args.paper)]
    overrides = dict(_parse_kv(p) for p in args.param)
    plan: list[tuple[str, int, Config]] = []
    whole_paper = not (args.main_job or args.rows)
    for rid in ids:
        row = get_row(rid)
        reason = row.unavailable.get(args.profile)
        if whole_paper and (args.profile not in row.recipes or reason):
            print(f"  {rid}: not run at {args.profile} ({reason or 'no such recipe'})", file=sys.stderr)
            continue
        if args.profile not in row.recipes:
            raise ValueError(f"row {rid!r} has no {args.profile!r} recipe; it has {row.profiles()}")
        if reason:
            raise ValueError(f"row {rid!r} cannot run here at profile {args.profile!r}: {reason}")
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else row.seeds[args.profile]
        if row.arm == "teacher":
            seeds = seeds[:1]
        for seed in seeds:
            cfg = config_for(rid, args.profile, seed, out_dir=str(args.out),
                             data_root=args.data_root, **overrides)
            plan.append((rid, seed, cfg))
    # teachers first, so their students find the weights
    plan.sort(key=lambda t: get_row(t[0]).arm != "teacher")
    return plan


def _parse_kv(text: str):
    if "=" not in text:
        raise TypeError(f"parameter {text!r} must look like name=value")
    k, v = text.split("=", 1)
    return k, _parse_value(v)


def _notebook_params(cfg, overrides: dict) -> dict:
    return {"row": cfg.row, "profile": cfg.profile, "seed": cfg.seed, "data_root": cfg.data_root,
            "out_dir": cfg.out_dir, "progress": True, "overrides": overrides}


def cmd_batch(args) -> int:
    from .experiments import get_row
    from .results import checkpoint_dir, record_path
    from .train import preflight
    from .train.engine import TeacherNotFoundError

    try:
        plan = _plan(args)
        planned = {c.hash for _, _, c in plan}
        for rid, seed, cfg in plan:
            try:
                preflight(cfg)
            except TeacherNotFoundError:
                if cfg.teacher_hash not in planned:
                    raise
    except (KeyError, ValueError, TypeError, FileNotFoundError, RuntimeError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"replicate batch: error: {msg}", file=sys.stderr)
        return 2
    import logging

    import papermill as pm

    if not args.quiet:  # stream each notebook's output (epoch lines, tqdm) as it runs
        logging.basicConfig(level=logging.INFO, format="    %(message)s")
        logging.getLogger("papermill").setLevel(logging.INFO)
    overrides = dict(_parse_kv(p) for p in args.param)
    total0, times = time.time(), []
    print(f"replicate batch: {len(plan)} run(s), profile {args.profile}, output {args.out}")
    for rid, seed, cfg in plan:
        row = get_row(rid)
        rec = record_path(args.out, rid, cfg.profile, seed, cfg.hash)
        needs = [rec] + ([checkpoint_dir(args.out, cfg.hash) / "model.pt"] if row.arm == "teacher" else [])
        if all(p.is_file() for p in needs) and not args.force:
            print(f"  skip {rid} seed {seed} ({cfg.hash}): record exists")
            times.append((rid, seed, 0.0, "skipped"))
            continue
        print(f"  run  {rid} seed {seed} ({cfg.hash}) via {row.notebook}", flush=True)
        t0 = time.time()
        rec.parent.mkdir(parents=True, exist_ok=True)
        try:
            pm.execute_notebook(str(REPO / row.notebook), str(rec.with_suffix(".ipynb")),
                                parameters=_notebook_params(cfg, overrides), kernel_name="python3",
                                progress_bar=False, log_output=not args.quiet, cwd=str(REPO))
        except pm.PapermillExecutionError as e:
            print(f"replicate batch: error: {rid} seed {seed} failed ({e.ename}: {e.evalue}); "
                  f"see {rec.with_suffix('.ipynb')}", file=sys.stderr)
            return 1
        times.append((rid, seed, time.time() - t0, "ran"))
        print(f"       done in {time.time() - t0:.0f} s", flush=True)
    print("replicate batch: wall time per run")
    for rid, seed, dt, what in times:
        print(f"  {rid:32s} seed {seed}  {dt:8.1f} s  {what}")
    print(f"replicate batch: total {time.time() - total0:.1f} s")
    return 0


def cmd_list(args) -> int:
    from .experiments import rows
    for r in rows(args.paper):
        claim = f"{r.claim.value:.2f}" if r.claim else "—"
        print(f"{r.id:32s} {r.arm:9s} claim {claim:>6s}  profiles {','.join(r.profiles())}")
    return 0


def cmd_book(args) -> int:
    env = dict(os.environ, REPLICATE_RESULTS=str(Path(args.results).resolve()))
    jb = Path(sys.executable).parent / "jupyter-book"  # the console script beside this Python
    cmd = [str(jb), "build", str(REPO / "book"), "-W", "-n",
           "--path-output", str(Path(args.build).resolve())]
    if not (Path(args.results) / "records").is_dir():
        print(f"replicate book: error: no records under {args.results}/records", file=sys.stderr)
        return 2
    return subprocess.run(cmd, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["bench"]:  # its own parser: `replicate bench sweep|point ...`
        from . import bench
        return bench.main(argv[1:])
    p = argparse.ArgumentParser(prog="replicate", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("batch", help="run rows through their notebooks with papermill")
    g = b.add_mutually_exclusive_group()
    g.add_argument("--rows", help="comma-separated row ids")
    g.add_argument("--main-job", action="store_true", help="the README's main job")
    b.add_argument("--paper", help="all rows of one paper (default: all rows)")
    b.add_argument("--profile", default="cpu", choices=PROFILES)
    b.add_argument("--seeds", help="comma-separated seeds (default: the row's seeds)")
    b.add_argument("--out", default="out", type=Path, help="output folder (records, checkpoints)")
    b.add_argument("--data-root", default=None, help="dataset location (default $REPLICATE_DATA)")
    b.add_argument("-p", "--param", action="append", default=[],
                   help="override a config field: name=value (changes the hash)")
    b.add_argument("--force", action="store_true", help="rerun even if the record exists")
    b.add_argument("-q", "--quiet", action="store_true", help="do not stream the notebooks' output")
    b.set_defaults(fn=cmd_batch)
    ls = sub.add_parser("list", help="list the registered rows")
    ls.add_argument("--paper")
    ls.set_defaults(fn=cmd_list)
    bk = sub.add_parser("book", help="build the jupyter-book from a results folder")
    bk.add_argument("--results", default=str(REPO / "results"))
    bk.add_argument("--build", default=str(REPO / "_build"))
    bk.set_defaults(fn=cmd_book)
    sub.add_parser("bench", help="BPTT vs rate-based BP memory/time benchmark "
                                 "(`replicate bench sweep --help`)")
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
