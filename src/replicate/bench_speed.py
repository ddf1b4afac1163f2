"""Benchmark suite ``speed``: where a spiking network's training and evaluation time goes.

Per model (the student of a registered ``cpu`` row, at its recipe width) and T, one point per
variant, each in its own process (``replicate bench sweep --suite speed``):

* ``<model>-snn``: the SNN as trained here (the fused CPU LIF, :mod:`replicate.fused_lif`);
* ``<model>-snn-reference``: the same with spikingjelly's own neuron (``REPLICATE_FUSED_LIF=0``);
* ``<model>-relu``: every LIF replaced by ``nn.ReLU`` (same ``[T, B, ...]`` tensors, T passes);
* ``<model>-ann``: that ReLU net at T = 1, the SNN's ANN twin;
* ``<model>-snn-glibc``: the SNN with glibc's default allocator thresholds, i.e. without
  :func:`replicate.train.memory.keep_freed_memory` (which every other point, like the engine,
  applies).

Each point reports ``step_s`` (median wall time of one BPTT step: CE on the T-mean logits,
backward, SGD), ``eval_img_s`` (:func:`replicate.train.evaluate.evaluate` at the recipe's eval
batch on random images), ``train_gflop`` (forward + backward FLOPs of one step, counted by
``torch.utils.flop_counter.FlopCounterMode``: convolutions and matrix products), ``gflops``
(``train_gflop / step_s``) and ``matmul_gflops``, the rate of a 1024² fp32 ``torch.mm`` on the
same threads. :func:`summary` derives the neuron's share ``(snn − relu) / snn`` and the ratios.
"""
from __future__ import annotations

import os
import statistics
import time

#: Model key → the registered cpu row whose student it is.
SPEED_MODELS = {"r18": "logitkd-c10-r18-full", "sf": "bkdsnn-c10-2-384-mixed"}
VARIANTS = ("snn", "snn-reference", "relu", "ann", "snn-glibc")
SPEED_METHODS = tuple(f"{m}-{v}" for m in SPEED_MODELS for v in VARIANTS)


def split_method(method: str) -> tuple[str, str]:
    """``"r18-snn-reference"`` → ``("r18", "snn-reference")``.

    Raises:
        ValueError: not one of :data:`SPEED_METHODS`.
    """
    if method not in SPEED_METHODS:
        raise ValueError(f"speed method {method!r} is not one of {SPEED_METHODS}")
    model, variant = method.split("-", 1)
    return model, variant


def recipe_T(method: str) -> int:
    """The T of the method's row at the cpu profile."""
    from .experiments import config_for
    return config_for(SPEED_MODELS[split_method(method)[0]], "cpu", 0).T


def _relu_twin(model):
    """Replace every spiking neuron (spikingjelly ``BaseNode``) of ``model`` by ``nn.ReLU``."""
    from spikingjelly.activation_based.neuron import BaseNode
    from torch import nn
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, BaseNode):
                setattr(module, name, nn.ReLU())
    return model


def _build(method: str, T: int):
    """(model, cfg) of one point; sets the process's neuron and allocator options first."""
    model_key, variant = split_method(method)
    if variant == "snn-reference":
        os.environ["REPLICATE_FUSED_LIF"] = "0"
    if variant != "snn-glibc":
        from .train.memory import keep_freed_memory
        keep_freed_memory()
    from .experiments import config_for
    from .models import create_model
    cfg = config_for(SPEED_MODELS[model_key], "cpu", 0, T=1 if variant == "ann" else T)
    model = create_model(cfg.model, num_classes=10, **cfg.model_kwargs())
    if variant in ("relu", "ann"):
        _relu_twin(model)
    return model.train(), cfg


def _matmul_gflops(n: int = 1024, reps: int = 10) -> float:
    import torch
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    t0 = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    return 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9


def measure_speed_point(method: str, T: int, *, batch: int, steps: int, warmup: int,
                        eval_images: int = 512, seed: int = 0) -> dict:
    """One ``speed`` point in this process (fresh process: neuron and allocator settings are
    process-wide). Times in s, rates in img/s and GFLOP/s.

    Raises:
        ValueError: unknown method.
    """
    import torch
    import torch.nn.functional as F
    from torch.utils.data import TensorDataset
    from torch.utils.flop_counter import FlopCounterMode

    from . import fused_lif
    from .train.evaluate import evaluate
    from .train.steps import TRAIN_STEPS, StepContext
    torch.manual_seed(seed)
    model, cfg = _build(method, T)
    step, ctx = TRAIN_STEPS["bptt"], StepContext(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, 32, 32)
    target = F.one_hot(torch.randint(0, 10, (batch,)), 10).float()

    def one_step():
        loss = sum(step(ctx, x, target).values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    with FlopCounterMode(display=False) as fc:
        one_step()
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        one_step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    data = TensorDataset(torch.randn(eval_images, 3, 32, 32), torch.randint(0, 10, (eval_images,)))
    evaluate(model, torch.utils.data.Subset(data, range(min(64, eval_images))),
             batch_size=cfg.eval_batch_size, device="cpu")
    t0 = time.perf_counter()
    evaluate(model, data, batch_size=cfg.eval_batch_size, device="cpu")
    eval_s = time.perf_counter() - t0
    step_s = statistics.median(times)
    flop = fc.get_total_flops()
    return {"method": method, "model": split_method(method)[0], "variant": split_method(method)[1],
            "row": SPEED_MODELS[split_method(method)[0]], "T": T, "model_T": cfg.T, "width": cfg.model_kwargs().get("width"),
            "batch": batch, "steps": steps, "warmup": warmup, "step_s": step_s, "step_s_all": times,
            "eval_batch": cfg.eval_batch_size, "eval_images": eval_images,
            "eval_img_s": eval_images / eval_s, "train_gflop": flop / 1e9,
            "gflops": flop / 1e9 / step_s, "matmul_gflops": _matmul_gflops(),
            "torch_threads": torch.get_num_threads(),
            "cpu_lif_build_s": fused_lif.build_seconds()}


def summary(df):
    """Per (device, model, T): the SNN, reference-neuron, ReLU and ANN step times (ms), the
    neuron's share of the SNN step ``(snn − relu) / snn``, SNN/ReLU and reference/SNN ratios,
    eval img/s with and without the allocator setting, and achieved vs matmul GFLOP/s.
    ``df``: :func:`replicate.bench.load` of the speed records."""
    import pandas as pd
    rows = []
    for (tag, model, T), g in df.groupby(["device_tag", "model", "T"]):
        by = {r["variant"]: r for _, r in g.iterrows()}
        get = lambda v, k: by[v][k] if v in by else float("nan")  # noqa: E731
        snn, relu = get("snn", "step_s"), get("relu", "step_s")
        rows.append({
            "device": tag, "model": model, "row": get("snn", "row"), "T": T,
            "threads": get("snn", "threads"),
            "SNN step (ms)": 1e3 * snn, "spikingjelly-neuron step (ms)": 1e3 * get("snn-reference", "step_s"),
            "ReLU-net step (ms)": 1e3 * relu,
            "ANN twin step (ms)": 1e3 * get("ann", "step_s"),
            "SNN / ReLU": snn / relu, "neuron share": (snn - relu) / snn,
            "reference / fused": get("snn-reference", "step_s") / snn,
            "eval img/s": get("snn", "eval_img_s"), "eval img/s, glibc default": get("snn-glibc", "eval_img_s"),
            "GFLOP/s": get("snn", "gflops"), "matmul GFLOP/s": get("snn", "matmul_gflops"),
        })
    return pd.DataFrame(rows)


def _same_results(a: dict, b: dict) -> bool:
    """Same config hash, every per-epoch curve value equal, every metric both records hold equal."""
    common = set(a["metrics"]) & set(b["metrics"])
    return (a["config_hash"] == b["config_hash"] and a["curves"] == b["curves"] and bool(common)
            and all(a["metrics"][k] == b["metrics"][k] for k in common))


def walltime(root):
    """Whole-run evidence under ``root`` (``results/benchmarks/walltime``): per device folder, the
    run records ``<row>-before.json`` and ``<row>-after.json`` of one config made at two commits.
    → DataFrame per (device, row): wall times (s, the records' ``wall_time_s``), after/before,
    both commits and whether the results are identical (:func:`_same_results`)."""
    import json
    from pathlib import Path

    import pandas as pd
    rows = []
    for before in sorted(Path(root).glob("*/*-before.json")):
        after = before.with_name(before.name.replace("-before.json", "-after.json"))
        if not after.exists():
            continue
        a, b = json.loads(before.read_text()), json.loads(after.read_text())
        pa, pb = a["provenance"], b["provenance"]
        rows.append({"device": before.parent.name, "row": a["row"], "profile": a["profile"],
                     "seed": a["seed"], "before (s)": pa["wall_time_s"], "after (s)": pb["wall_time_s"],
                     "after / before": pb["wall_time_s"] / pa["wall_time_s"],
                     "commit before": pa["git"]["commit"][:7], "commit after": pb["git"]["commit"][:7],
                     "identical results": _same_results(a, b)})
    return pd.DataFrame(rows)
