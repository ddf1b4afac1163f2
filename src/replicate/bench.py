"""Benchmark: peak memory and step time of BPTT against rate-based BP as T grows.

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

``replicate bench`` runs the sweep and writes one JSON record per point, atomically, under
``<out>/<device tag>/``; the book draws them.
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

METHODS = ("bptt", "rate_bp")
DEFAULT_TS = (1, 2, 4, 6, 8)


def _rss_mib() -> float:
    """Peak RSS of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_point(method: str, T: int, *, width: int, batch: int, steps: int, warmup: int,
                  device: str, threads: int | None, seed: int = 0) -> dict:
    """One benchmark point in this process (call it in a fresh process; see the module docstring).

    Raises:
        ValueError: unknown method or T < 1.
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {METHODS}")
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    import timm
    import torch
    import torch.nn.functional as F

    import replicate  # noqa: F401  (registers the models)
    from replicate.train.steps import TRAIN_STEPS, StepContext

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    dev = torch.device(device)
    model = timm.create_model("spiking_resnet18_cifar", num_classes=10, width=width, T=T,
                              lif_decay=0.2, lif_decay_input=False, lif_v_reset="soft",
                              lif_detach_reset=True).to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32, device=dev)
    target = F.one_hot(torch.randint(0, 10, (batch,), device=dev), 10).float()
    ctx, step = StepContext(model), TRAIN_STEPS[method]
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


def sweep(out: str | Path, *, Ts=DEFAULT_TS, methods=METHODS, width: int = 16, batch: int = 64,
          steps: int = 5, warmup: int = 2, device: str = "cpu", threads: int | None = 2) -> list[dict]:
    """Run every (method, T) point in its own process and write ``<out>/<device tag>/<method>-T<T>.json``.

    Each record holds the point's measurements plus provenance (git commit, versions, device).

    Raises:
        RuntimeError: a point's process failed (its stderr is included).
    """
    from tqdm import tqdm

    from . import provenance
    from .results import write_record

    tag = _device_tag(device)
    records = []
    points = [(m, t) for t in Ts for m in methods]
    for method, T in tqdm(points, desc="bench points", file=sys.stderr):
        cmd = [sys.executable, "-m", "replicate.bench", "point", "--method", method, "--T", str(T),
               "--width", str(width), "--batch", str(batch), "--steps", str(steps),
               "--warmup", str(warmup), "--device", device]
        if threads:
            cmd += ["--threads", str(threads)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"benchmark point {method} T={T} failed:\n{p.stderr[-3000:]}")
        rec = json.loads(p.stdout.strip().splitlines()[-1])
        rec.update({"device_tag": tag, "threads": threads,
                    "provenance": provenance.collect(device)})
        write_record(Path(out) / tag / f"{method}-T{T}.json", rec)
        print(f"{method:8s} T={T}: step {rec['step_s']:.3f} s, peak RSS {rec['peak_rss_mib']:.0f} MiB "
              f"(+{rec['peak_rss_mib'] - rec['rss_after_build_mib']:.0f} over the built model)"
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
    df["train_rss_mib"] = df["peak_rss_mib"] - df["rss_after_build_mib"]
    return df


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="replicate bench", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("point", "sweep"):
        p = sub.add_parser(name)
        p.add_argument("--width", type=int, default=16)
        p.add_argument("--batch", type=int, default=64)
        p.add_argument("--steps", type=int, default=5)
        p.add_argument("--warmup", type=int, default=2)
        p.add_argument("--device", default="cpu")
        p.add_argument("--threads", type=int, default=None)
    pp = sub.choices["point"]
    pp.add_argument("--method", choices=METHODS, required=True)
    pp.add_argument("--T", type=int, required=True)
    sp = sub.choices["sweep"]
    sp.add_argument("--out", default="results/benchmarks/ratebp")
    sp.add_argument("--Ts", default=",".join(map(str, DEFAULT_TS)))
    a = ap.parse_args(argv)
    if a.cmd == "point":
        rec = measure_point(a.method, a.T, width=a.width, batch=a.batch, steps=a.steps,
                            warmup=a.warmup, device=a.device, threads=a.threads)
        print(json.dumps(rec))
        return 0
    sweep(a.out, Ts=tuple(int(t) for t in a.Ts.split(",")), width=a.width, batch=a.batch,
          steps=a.steps, warmup=a.warmup, device=a.device, threads=a.threads or 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
