"""Run registry rows with replicate.train.run directly, without papermill.

Used for the committed `gpu` records: the lent GPU box has torch but no papermill/jupyter, so
this script ran there with `PYTHONPATH=src`, `REPLICATE_DATA` pointing at a class-balanced
20k-image train subset tar (plus the full test set) of cifar10-jpeg.tar, and `OUT` a folder for
the flat records. Usage: `OUT=dir python scripts/run_rows.py bkdsnn-c10-teacher:0 ...`; set
`TEACHER_WEIGHTS` to reuse a teacher trained by an earlier call, `NUM_WORKERS` for the loaders
(default 10; lower it when several rows share the box).
"""
import os, shutil, sys, time

from replicate.experiments import config_for
from replicate.results import checkpoint_dir, write_record
from replicate.train import run

out = os.environ["OUT"]
work = "/tmp/rout"
plan = [a.split(":") for a in sys.argv[1:]]  # row:seed
tw = os.environ.get("TEACHER_WEIGHTS")
for rid, seed in plan:
    kw = dict(out_dir=work, device="cuda", num_workers=int(os.environ.get("NUM_WORKERS", 10)), eval_batch_size=500, progress=False)
    cfg = config_for(rid, "gpu", int(seed), **kw)
    if cfg.teacher_hash and tw:
        d = checkpoint_dir(work, cfg.teacher_hash); d.mkdir(parents=True, exist_ok=True)
        shutil.copy(tw, d / "model.pt")
    t = time.time()
    rec = run(cfg)
    print(rid, seed, round(rec["metrics"]["top1"], 2), [round(c["curve_top1"], 1) for c in rec["curves"]],
          f"{time.time() - t:.0f}s", flush=True)
    write_record(f"{out}/{rid}__gpu__seed{seed}-{cfg.hash}.json", rec)
    if rid.endswith("teacher"):
        shutil.copy(checkpoint_dir(work, cfg.hash) / "model.pt", f"{out}/teacher-{cfg.hash}.pt")
