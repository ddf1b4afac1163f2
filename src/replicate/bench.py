"""Benchmarks: peak memory and step time of BPTT against rate-based BP as T grows (suite
``ratebp``), and of the ICML 2025 full loss against standard KD (suite ``kd``).

The efficiency claim of rate-based BP: memory lower than BPTT's at every T and training time
nearly flat in T, where BPTT's grows about linearly (Yu et al., NeurIPS 2024, arXiv 2410.11488,
its memory/time comparison with BPTT, Fig. 5 as third-party summaries describe it, not checked
against the PDF; and the abstract of Zhao, Yu et al., NeurIPS 2025, arXiv 2510.06254). Both methods
train the same model (spiking ResNet-18 with the rate-BP neuron: λ = 0.2, soft reset, detached
reset) on the same batch with the same loss (CE on the T-mean logits) and the same SGD step;
only the ``train_step`` differs.

Each (method, T) point runs in its **own process** (``python -m replicate.bench point ...``),
because peak RSS is a lifetime maximum: a point measured after another would inherit its peak.
Inputs are random CIFAR-shaped tensors (the cost does not depend on the pixels). Per point:

* ``step_s``: median wall time of one optimiser step (s) over ``steps`` steps after ``warmup``;
* ``peak_rss_mib``: the process's peak resident memory (MiB, ``getrusage``), and
  ``rss_after_build_mib``, the same just before the first step (model, optimiser, batch), so
  ``peak_rss_mib − rss_after_build_mib`` is what training added;
* on CUDA, ``peak_cuda_mib``: ``torch.cuda.max_memory_allocated`` over the timed steps (MiB).

Suite ``kd``: the cost claim of the temporally decoupled logit KD (ICML 2025, arXiv 2501.15925:
the full loss trains "at the same cost" as standard KD, as its summaries state it): the registered
cpu rows ``logitkd-c10-r18-standard-kd`` and ``logitkd-c10-r18-full`` (spiking ResNet-18 student,
ANN ResNet-34 teacher, random weights: the cost does not depend on them) at the given T, with the
registry's distiller and the engine's training step, teacher forward included.

``replicate bench sweep [--suite kd|speed]`` runs the sweep and writes one JSON record per point,
atomically, under ``<out>/<device tag>/``: by default the git-ignored ``out/benchmarks/<suite>``;
the book draws committed records under ``results/benchmarks/`` (``--commit`` adds to
``results/benchmarks/<suite>`` and never replaces a record there; a changed setting, e.g. rate-BP at
one thread after the fused LIF, goes to its own folder: ``results/benchmarks/ratebp-1thread``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .bench_speed import SPEED_METHODS, measure_speed_point, recipe_T

METHODS = ("bptt", "rate_bp")
#: rate-BP with ``ratebp_bn_stats="batchnorm"`` (the spike pass's BN statistics from BN's kernel)
RATEBP_BNSTATS = "rate_bp_bnstats"
DEFAULT_TS = (1, 2, 4, 6, 8)
#: Per suite: its methods and default time steps. ``kd`` methods name registered rows.
KD_ROWS = {"standard_kd": "logitkd-c10-r18-standard-kd", "full_kd": "logitkd-c10-r18-full"}
#: ``speed`` (:mod:`replicate.bench_speed`): default T is each model's recipe T (None).
SUITES = {"ratebp": (METHODS + (RATEBP_BNSTATS,), DEFAULT_TS), "kd": (tuple(KD_ROWS), (2, 4, 6)),
          "speed": (SPEED_METHODS, None)}
ALL_METHODS = METHODS + (RATEBP_BNSTATS,) + tuple(KD_ROWS) + SPEED_METHODS


def _rss_mib() -> float:
    """Peak RSS of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _ratebp_point(method: str, T: int, width: int, dev):
    """(trainable modules, step, ctx) of one rate-BP suite point: spiking ResNet-18, CE only;
    ``rate_bp_bnstats`` is rate-BP with ``ratebp_bn_stats="batchnorm"``."""
    import timm

    from replicate.train.steps import TRAIN_STEPS, StepContext
    model = timm.create_model("spiking_resnet18_cifar", num_classes=10, width=width, T=T,
                              lif_decay=0.2, lif_decay_input=False, lif_v_reset="soft",
                              lif_detach_reset=True).to(dev).train()
    if method == RATEBP_BNSTATS:
        return model, TRAIN_STEPS["rate_bp"], StepContext(model, ratebp_bn_stats="batchnorm")
    return model, TRAIN_STEPS[method], StepContext(model)


def _kd_point(method: str, T: int, width: int, dev):
    """(trainable modules, step, ctx) of one KD suite point: the registered cpu row of ``method``
    at ``T`` and ``width`` (its student, teacher and distiller), random weights."""
    import torch

    from replicate.distill import registry
    from replicate.experiments import config_for
    from replicate.models import create_model
    from replicate.train.steps import TRAIN_STEPS, StepContext
    cfg = config_for(KD_ROWS[method], "cpu", 0, T=T, width=width)
    tcfg = config_for(cfg.teacher_row, "cpu")
    student = create_model(cfg.model, num_classes=10, **cfg.model_kwargs()).to(dev).train()
    teacher = create_model(tcfg.model, num_classes=10, **tcfg.model_kwargs()).to(dev).eval()
    teacher.requires_grad_(False)
    probe = torch.randn(2, 3, 32, 32, device=dev)
    distiller = registry.build(cfg, registry.BuildContext(student, teacher, probe, 10)).to(dev)
    trainable = torch.nn.ModuleList([student, distiller])
    return trainable, TRAIN_STEPS[cfg.train_step], StepContext(student, distiller, teacher)


def measure_point(method: str, T: int, *, width: int, batch: int, steps: int, warmup: int,
                  device: str, threads: int | None, seed: int = 0) -> dict:
    """One benchmark point in this process (call it in a fresh process; see the module docstring).

    Raises:
        ValueError: unknown method or T < 1.
    """
    if method not in ALL_METHODS:
        raise ValueError(f"method {method!r} is not one of {ALL_METHODS}")
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    import torch
    import torch.nn.functional as F

    import replicate  # noqa: F401  (registers the models)

    if threads:
        torch.set_num_threads(threads)
    if method in SPEED_METHODS:
        if device != "cpu":
            raise ValueError("the speed suite measures the CPU path (fused LIF, allocator)")
        return measure_speed_point(method, T, batch=batch, steps=steps, warmup=warmup, seed=seed)
    from replicate.train.memory import keep_freed_memory
    keep_freed_memory()  # as the engine does
    torch.manual_seed(seed)
    dev = torch.device(device)
    build = _kd_point if method in KD_ROWS else _ratebp_point
    model, step, ctx = build(method, T, width, dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32, device=dev)
    target = F.one_hot(torch.randint(0, 10, (batch,), device=dev), 10).float()
    cuda = dev.type == "cuda"
    rss_build = _rss_mib()
    times = []
    for i in range(warmup + steps):
        if cuda and i == warmup:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        loss = sum(step(ctx, x, target).values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if cuda:
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    out = {"method": method, "T": T, "width": width, "batch": batch, "steps": steps, "warmup": warmup,
           "step_s": statistics.median(times), "step_s_all": times,
           "peak_rss_mib": _rss_mib(), "rss_after_build_mib": rss_build,
           "params": sum(p.numel() for p in model.parameters())}
    if cuda:
        out["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def _device_tag(device: str) -> str:
    import torch
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(0).replace(" ", "-").lower()
    return f"cpu-{os.cpu_count()}core"


def default_out(suite: str = "ratebp") -> Path:
    """``out/benchmarks/<suite>`` under the git-ignored output folder (the repository's ``out/``
    for an editable install): a sweep never writes into the committed ``results/`` unless told."""
    from .notebook import default_out_dir
    return default_out_dir() / "benchmarks" / suite


def sweep_points(Ts, methods) -> list[tuple[str, int]]:
    """(method, T) of every point, in sweep order; ``Ts=None``: each method's recipe T (speed)."""
    if Ts is None:
        return [(m, recipe_T(m)) for m in methods]
    return [(m, t) for t in Ts for m in methods]


def record_paths(out: str | Path, tag: str, Ts=DEFAULT_TS, methods=METHODS) -> list[Path]:
    """``<out>/<tag>/<method>-T<T>.json`` of every point of a sweep, in sweep order."""
    return [Path(out) / tag / f"{m}-T{t}.json" for m, t in sweep_points(Ts, methods)]


def sweep(out: str | Path, *, Ts=DEFAULT_TS, methods=METHODS, width: int = 16, batch: int = 64,
          steps: int = 5, warmup: int = 2, device: str = "cpu", threads: int | None = 2,
          overwrite: bool = False) -> list[dict]:
    """Run every (method, T) point in its own process and write ``<out>/<device tag>/<method>-T<T>.json``.

    Each record holds the point's measurements plus provenance (git commit, versions, device).

    Raises:
        FileExistsError: before any compute, when a record of the sweep exists and not ``overwrite``.
        RuntimeError: a point's process failed (its stderr is included).
    """
    from tqdm import tqdm

    from . import provenance
    from .results import write_record

    tag = _device_tag(device)
    there = [p for p in record_paths(out, tag, Ts, methods) if p.exists()]
    if there and not overwrite:
        raise FileExistsError(f"{len(there)} benchmark record(s) already under {there[0].parent} "
                              f"(e.g. {there[0].name}); pass --overwrite to replace them, or another --out")
    records = []
    for (method, T), dest in zip(tqdm(sweep_points(Ts, methods), desc="bench points",
                                      file=sys.stderr), record_paths(out, tag, Ts, methods)):
        cmd = [sys.executable, "-m", "replicate.bench", "point", "--method", method, "--T", str(T),
               "--width", str(width), "--batch", str(batch), "--steps", str(steps),
               "--warmup", str(warmup), "--device", device] + (["--threads", str(threads)] if threads else [])
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"benchmark point {method} T={T} failed:\n{p.stderr[-3000:]}")
        rec = json.loads(p.stdout.strip().splitlines()[-1])
        rec.update({"device_tag": tag, "threads": threads,
                    "provenance": provenance.collect(device)})
        write_record(dest, rec)
        print(f"{method:8s} T={T}: step {rec['step_s']:.3f} s"
              + (f", eval {rec['eval_img_s']:.0f} img/s, {rec['gflops']:.1f} GFLOP/s"
                 if "eval_img_s" in rec else
                 f", peak RSS {rec['peak_rss_mib']:.0f} MiB "
                 f"(+{rec['peak_rss_mib'] - rec['rss_after_build_mib']:.0f} over the built model)")
              + (f", peak CUDA {rec['peak_cuda_mib']:.0f} MiB" if "peak_cuda_mib" in rec else ""),
              file=sys.stderr, flush=True)
        records.append(rec)
    return records


def load(root: str | Path):
    """All benchmark records under ``root`` as a pandas DataFrame (one row per point; empty, with
    the columns, when there are none), plus ``train_rss_mib`` = peak RSS − RSS after build."""
    import pandas as pd
    rows = [json.loads(f.read_text()) for f in sorted(Path(root).glob("*/*.json"))]
    cols = ["device_tag", "method", "T", "width", "batch", "step_s", "peak_rss_mib", "rss_after_build_mib"]
    df = pd.DataFrame(rows, columns=None if rows else cols)
    if "peak_rss_mib" in df:
        df["train_rss_mib"] = df["peak_rss_mib"] - df["rss_after_build_mib"]
    return df


# --------------------------------------------------------------------------- command line
def _int_at_least(lo: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"{v} is below {lo}")
        return v
    return parse


def _t_list(text: str) -> tuple[int, ...]:
    try:
        Ts = tuple(dict.fromkeys(_int_at_least(1)(t) for t in text.split(",")))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of time steps "
                                         f">= 1, e.g. 1,2,4") from None
    return Ts


def _device(text: str) -> str:
    import re
    if not re.fullmatch(r"cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not cpu, cuda or cuda:N")
    return text


def _add_point_options(p) -> None:
    p.add_argument("--width", type=_int_at_least(1), default=16,
                   help="channel width of the spiking ResNet-18 (default: 16)")
    p.add_argument("--batch", type=_int_at_least(1), default=64, help="batch size (default: 64)")
    p.add_argument("--steps", type=_int_at_least(1), default=5,
                   help="timed optimiser steps per point; the median is reported (default: 5)")
    p.add_argument("--warmup", type=_int_at_least(0), default=2,
                   help="untimed steps before them (default: 2)")
    p.add_argument("--device", type=_device, default="cpu", help="cpu, cuda or cuda:N (default: cpu)")


def build_parser() -> argparse.ArgumentParser:
    """The ``replicate bench`` parser: one-line errors, exit status 2."""
    from .cli import _Parser

    ap = _Parser(prog="replicate bench", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    sp = sub.add_parser("sweep", help="every (method, T) point, each in its own process; writes records")
    pp = sub.add_parser("point", help="one point in this process; prints its JSON (used by sweep)")
    for p in (sp, pp):
        _add_point_options(p)
    pp.add_argument("--method", choices=ALL_METHODS, required=True,
                    help="training step (ratebp suite) or KD loss (kd suite) to measure")
    pp.add_argument("--T", type=_int_at_least(1), required=True, help="number of time steps")
    pp.add_argument("--threads", type=_int_at_least(1), default=None,
                    help="torch CPU threads (default: torch's)")
    sp.add_argument("--threads", type=_int_at_least(1), default=2, help="torch CPU threads per point (default: 2)")
    sp.add_argument("--suite", choices=tuple(SUITES), default="ratebp",
                    help="ratebp: BPTT vs rate-BP; kd: standard KD vs the full ICML 2025 loss; "
                         "speed: SNN vs its ReLU net and ANN twin, eval img/s, GFLOP/s "
                         "(default: ratebp)")
    sp.add_argument("--Ts", type=_t_list, default=None,
                    help="comma-separated time steps (default: ratebp "
                         f"{','.join(map(str, SUITES['ratebp'][1]))}, kd {','.join(map(str, SUITES['kd'][1]))}, "
                         "speed: each model's recipe T)")
    sp.add_argument("--out", type=Path, default=None,
                    help="output folder; records go to <out>/<device tag>/ (default: the git-ignored "
                         "out/benchmarks/<suite>; the book's records are results/benchmarks/<suite>)")
    sp.add_argument("--overwrite", action="store_true",
                    help="replace existing records of the same points (refused without it)")
    sp.add_argument("--commit", action="store_true",
                    help="write to the book's committed results/benchmarks/<suite>; refused where a "
                         "record of the same point exists (committed records are evidence: measure "
                         "a changed setting into a new --out under results/benchmarks)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """``replicate bench sweep|point``; 2: bad input or records in the way (before any compute),
    1: a point failed."""
    ap = build_parser()
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    if a.device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            print(f"replicate bench: error: device {a.device!r} requested but no CUDA device is "
                  f"available; use --device cpu", file=sys.stderr)
            return 2
    kw = dict(width=a.width, batch=a.batch, steps=a.steps, warmup=a.warmup, device=a.device,
              threads=a.threads)
    if a.cmd == "point":
        print(json.dumps(measure_point(a.method, a.T, **kw)))
        return 0
    try:
        methods, Ts = SUITES[a.suite]
        if a.commit and a.out is not None:
            raise FileExistsError("give either --commit or --out, not both")
        out = Path("results/benchmarks") / a.suite if a.commit else (a.out or default_out(a.suite))
        if a.commit and a.overwrite:
            raise FileExistsError("--commit never replaces committed benchmark records; "
                                  "give a new --out instead")
        sweep(out, Ts=a.Ts or Ts, methods=methods, overwrite=a.overwrite, **kw)
    except FileExistsError as e:
        print(f"replicate bench sweep: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        tail = [ln for ln in str(e).splitlines()[1:] if ln.strip()]
        print(f"replicate bench sweep: error: {str(e).splitlines()[0]}"
              + (f" ({tail[-1].strip()})" if tail else ""), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
