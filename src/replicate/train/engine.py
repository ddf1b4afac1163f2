"""The training engine: ``run(config) -> record``, in small steps.

1. :func:`preflight`: every cheap check (device, data, teacher weights) before any compute.
2. :func:`build`: data, model, teacher, distiller (by name, from the registry), optimiser,
   scheduler, loader: a :class:`Run`.
3. :func:`resume`: continue from ``last.pt`` if an earlier attempt of the same hash was cut short.
4. :func:`train_one_epoch` then :func:`end_epoch` (curve top-1 on a fixed test subset, atomic
   checkpoint) for every remaining epoch.
5. :func:`make_record`: final top-1 on the test set, top-1 at every T' ≤ T, provenance; written
   atomically.

The engine knows no method and no model class: distillers come from
:mod:`replicate.distill.registry`, training steps from :data:`~replicate.train.steps.TRAIN_STEPS`.
"""
from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from .. import data as data_mod
from .. import energy
from .. import provenance
from ..config import Config
from ..distill import registry
from ..results import SCHEMA_VERSION, checkpoint_dir, read_record, record_path, write_record
from ..safeio import DamagedFileError, clean_stale_temps, move_aside
from . import checkpoint as ckpt
from . import distributed as dist
from .evaluate import evaluate
from .memory import keep_freed_memory
from .optim import build_mixup, build_optimizer, build_scheduler, mixup_active
from .steps import TRAIN_STEPS, StepContext


class TeacherNotFoundError(FileNotFoundError):
    """A distillation run's teacher weights are missing; the message says how to make them."""


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(cfg: Config, num_classes: int) -> torch.nn.Module:
    """``timm.create_model`` of ``cfg.model`` with the config's architecture fields.

    Raises:
        PretrainedWeightsUnavailable: ``pretrained`` and the hub weights cannot be fetched (one
            line naming the fix, :func:`replicate.models.hub.create_pretrained`).
    """
    from ..models import create_model  # registers the models
    return create_model(cfg.model, cfg.pretrained, num_classes=num_classes, **cfg.model_kwargs())


def teacher_weights_path(cfg: Config) -> Path:
    if cfg.teacher_checkpoint:
        return Path(cfg.teacher_checkpoint)
    return checkpoint_dir(cfg.out_dir, cfg.teacher_hash) / "model.pt"


def _hub_teacher(cfg: Config) -> bool:
    """Whether the teacher row uses timm hub weights as is (e.g. ImageNet ``resnet34``)."""
    from ..experiments import config_for
    return bool(cfg.teacher_row) and config_for(cfg.teacher_row, cfg.profile).pretrained


def check_teacher(cfg: Config) -> Path | None:
    """The teacher weights' path (``None``: timm hub weights, fetched when the teacher is built);
    raises :class:`TeacherNotFoundError` naming the fix if the weights are absent."""
    path = teacher_weights_path(cfg)
    if not cfg.teacher_checkpoint and not path.is_file() and _hub_teacher(cfg):
        return None
    if not path.is_file():
        raise TeacherNotFoundError(
            f"teacher weights for row {cfg.teacher_row!r} ({cfg.profile}, hash {cfg.teacher_hash}) "
            f"not found at {path}: run `replicate run {cfg.teacher_row} --profile "
            f"{cfg.profile} --out {cfg.out_dir}` first, or pass teacher_checkpoint=<path>")
    return path


def load_teacher(cfg: Config, num_classes: int) -> torch.nn.Module:
    """The frozen, eval-mode teacher of a distillation run.

    Raises:
        TeacherNotFoundError: no weights at the teacher's hash (or at ``teacher_checkpoint``).
        DamagedFileError: the weights fail their checksum (``replicate batch`` moves them aside
            and retrains the teacher).
    """
    from ..experiments import config_for

    tcfg = config_for(cfg.teacher_row, cfg.profile)
    path = check_teacher(cfg)
    if path is None:  # hub weights as published (the teacher row is not trained here)
        teacher = build_model(tcfg, num_classes)
    else:
        teacher = build_model(tcfg.replace(pretrained=False), num_classes)
        # our own model.pt carries a checksum; a user's teacher_checkpoint may be a plain state_dict
        teacher.load_state_dict(ckpt.load(path, weights_only=True,
                                          require_checksum=not cfg.teacher_checkpoint))
    teacher.eval().requires_grad_(False)
    return teacher


def preflight(cfg: Config) -> None:
    """Every cheap check, before any data is decoded or any weight is trained."""
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {cfg.device!r} requested but no CUDA device is available; "
                           f"run with device='cpu' (profiles cpu/smoke) or on a GPU")
    data_mod.resolve(cfg.dataset, cfg.data_root)  # raises DataNotFoundError with the fix
    if cfg.needs_teacher:
        check_teacher(cfg)


def _overrides(cfg: Config) -> dict | None:
    """Fields where ``cfg`` departs from its registered recipe (None for an unregistered row)."""
    from ..experiments import overrides_of
    try:
        return overrides_of(cfg)
    except (KeyError, ValueError):
        return None


def _say(cfg: Config, message: str) -> None:
    """One line on stderr about this run (damaged or replaced files, restarts)."""
    print(f"[{cfg.row} seed {cfg.seed}] {message}", file=sys.stderr, flush=True)


def _set_aside(cfg: Config, paths: list[Path], tag: str) -> None:
    """Move each existing file of ``paths`` to ``<name>.<tag>-<time>`` and say so."""
    for p in paths:
        if p.is_file():
            _say(cfg, f"{p} moved aside to {move_aside(p, tag).name}")


def check_finite(r: "Run", when: str) -> None:
    """Every parameter and buffer of the model and the distiller is finite.

    Raises:
        FloatingPointError: naming the first non-finite tensor (nothing is written after it).
    """
    for owner, module in (("model", r.model), ("distiller", r.distiller)):
        if module is None:
            continue
        for name, t in [*module.named_parameters(), *module.named_buffers()]:
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise FloatingPointError(f"non-finite {owner} tensor {name!r} {when} "
                                         f"(diverged; lower lr?): no checkpoint or record written")


@dataclass
class Run:
    """Everything a training run holds while it trains (built by :func:`build`)."""

    cfg: Config
    data: Any
    model: torch.nn.Module
    distiller: torch.nn.Module | None
    optimizer: torch.optim.Optimizer
    scheduler: Any
    loader: DataLoader
    generator: torch.Generator
    mixup: Any
    step: Any
    ctx: StepContext
    params: list = field(default_factory=list)  #: every trainable parameter (student + distiller)
    world: dist.World = field(default_factory=dist.World)
    sampler: Any = None  #: the DistributedSampler under torchrun, else None
    #: raise KeyboardInterrupt after this many optimiser steps of this call (tests: a killed run)
    interrupt_after: int | None = None
    steps_done: int = 0

    @property
    def epochs(self) -> int:
        return self.cfg.epochs + self.cfg.cooldown_epochs

    @property
    def ck_dir(self) -> Path:
        return checkpoint_dir(self.cfg.out_dir, self.cfg.hash)


@dataclass
class Progress:
    """Where a run stands: the next epoch, the curves so far, the wall time of earlier attempts."""

    start_epoch: int = 0
    curves: list[dict] = field(default_factory=list)
    prior_wall: float = 0.0
    resumed_from: int | None = None


def build_distiller(cfg: Config, model: torch.nn.Module, teacher: torch.nn.Module | None,
                    data: Any, device: torch.device) -> torch.nn.Module | None:
    """The configured distiller (``None`` for ``distill='none'``), built by its registered
    ``from_config`` with a two-image probe batch from the curve subset."""
    if cfg.distill == registry.NONE:
        return None
    ctx = registry.BuildContext(student=model, teacher=teacher, probe=data.probe(2).to(device),
                                num_classes=data.num_classes, img_size=cfg.img_size,
                                teacher_img_size=cfg.teacher_img_size)
    return registry.build(cfg, ctx).to(device)


def _loader(cfg: Config, world: dist.World, train: Any, g: torch.Generator) -> tuple[DataLoader, Any]:
    """The train loader: a seeded reshuffle per epoch; under torchrun each rank's share of the
    global batch from a DistributedSampler."""
    if not world.active:
        return DataLoader(train, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                          num_workers=cfg.num_workers, generator=g), None
    sampler = dist.sampler(world, train, cfg.seed)
    return DataLoader(train, batch_size=dist.per_rank_batch(world, cfg.batch_size), sampler=sampler,
                      drop_last=True, num_workers=cfg.num_workers, generator=g), sampler


def build(cfg: Config, world: dist.World | None = None) -> Run:
    """Decode the data, seed, and build model, teacher, distiller, optimiser and schedule.

    Raises:
        ValueError: the train subset is smaller than one batch.
        TeacherNotFoundError: the teacher's weights are missing.
    """
    world = world or dist.World()
    device = torch.device(cfg.device)
    data = data_mod.build(cfg)
    _seed_everything(cfg.seed)
    model = dist.maybe_sync_bn(world, build_model(cfg, data.num_classes), cfg.device, cfg.sync_bn).to(device)
    teacher = load_teacher(cfg, data.num_classes).to(device) if cfg.needs_teacher else None
    distiller = build_distiller(cfg, model, teacher, data, device)
    trainable = torch.nn.ModuleList([model] + ([distiller] if distiller is not None else []))
    dist.broadcast_parameters(world, trainable)
    optimizer = build_optimizer(cfg, trainable)
    g = torch.Generator()
    loader, sampler = _loader(cfg, world, data.train, g)
    if len(loader) == 0:
        raise ValueError(f"train_subset {len(data.train)} is smaller than batch_size {cfg.batch_size}")
    return Run(cfg=cfg, data=data, model=model, distiller=distiller, optimizer=optimizer,
               scheduler=build_scheduler(cfg, optimizer, len(loader)), loader=loader, generator=g,
               mixup=build_mixup(cfg, data.num_classes), step=TRAIN_STEPS[cfg.train_step],
               ctx=StepContext(model, distiller, teacher, cfg.img_size, cfg.teacher_img_size,
                               ratebp_bn_stats=cfg.ratebp_bn_stats),
               params=[p for p in trainable.parameters() if p.requires_grad], world=world,
               sampler=sampler)


def resume(r: Run) -> Progress:
    """Load ``last.pt`` of this config hash, if any: weights, optimiser, schedule, RNG, curves.
    A damaged ``last.pt`` is moved aside (never trusted, never deleted) and the run starts over."""
    path = r.ck_dir / "last.pt"
    if not path.is_file():
        return Progress()
    try:
        state = ckpt.load(path)
    except DamagedFileError as e:
        _say(r.cfg, f"{e}; moved aside to {move_aside(path).name}, starting from epoch 1")
        return Progress()
    if state["config_hash"] != r.cfg.hash:
        return Progress()
    r.model.load_state_dict(state["model"])
    if r.distiller is not None:
        r.distiller.load_state_dict(state["distiller"])
    r.optimizer.load_state_dict(state["optimizer"])
    r.scheduler.load_state_dict(state["scheduler"])
    rng = state["rng"]  # one state per rank under torchrun
    if isinstance(rng, list) and len(rng) != r.world.size:
        raise ValueError(f"{path} was written by {len(rng)} processes; resume it with as many")
    ckpt.set_rng_state(rng[r.world.rank] if isinstance(rng, list) else rng)
    start = state["epoch"] + 1
    return Progress(start_epoch=start, curves=state["curves"], prior_wall=state["wall_s"],
                    resumed_from=start)


def train_one_epoch(r: Run, epoch: int) -> dict[str, float]:
    """One pass over the shuffled train set; returns the sum of every loss term over its steps.

    Raises:
        FloatingPointError: the loss became NaN or infinite (the step and its terms are named).
    """
    cfg, ipe = r.cfg, len(r.loader)
    if r.sampler is not None:
        r.sampler.set_epoch(epoch)
    else:
        r.generator.manual_seed(cfg.seed * 100_003 + epoch)  # the epoch's shuffle, independent of history
    r.mixup.mixup_enabled = mixup_active(cfg, epoch)
    r.model.train()
    if r.distiller is not None:
        r.distiller.train()
    sums: dict[str, float] = {}
    bar = tqdm(r.loader, desc=f"{cfg.row} s{cfg.seed} epoch {epoch + 1}/{r.epochs}",
               disable=not cfg.progress, file=sys.stderr, mininterval=15, leave=False)
    device = torch.device(cfg.device)
    for i, (x, y) in enumerate(bar):
        x, target = r.mixup(x.to(device), y.to(device))
        if x.dim() == 5:  # event frames: [B, T, C, H, W] -> [T, B, C, H, W], the models' layout
            x = x.transpose(0, 1)
        terms = r.step(r.ctx, x, target)
        loss = sum(terms.values())
        if not dist.all_finite(r.world, loss):
            raise FloatingPointError(
                f"non-finite loss at epoch {epoch + 1}, step {i + 1}: "
                f"{ {k: float(v.detach()) for k, v in terms.items()} }")
        r.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        dist.average_gradients(r.world, r.params)
        r.optimizer.step()
        r.scheduler.step_update(epoch * ipe + i + 1)
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach())
        r.steps_done += 1
        if r.interrupt_after is not None and r.steps_done >= r.interrupt_after:
            raise KeyboardInterrupt(f"test interrupt after {r.steps_done} steps")
    return sums


def end_epoch(r: Run, epoch: int, sums: dict[str, float], prog: Progress, t0: float) -> dict | None:
    """Curve top-1 on the fixed test subset, the epoch's curve row, an atomic ``last.pt``
    (under torchrun: rank 0 evaluates and writes, holding every rank's RNG state)."""
    cfg, ipe = r.cfg, len(r.loader)
    sums = dist.mean_over_ranks(r.world, sums)
    rng = dist.gather(r.world, ckpt.rng_state())
    if not r.world.main:
        dist.barrier(r.world)
        return None
    ev = evaluate(r.model, r.data.curve, batch_size=cfg.eval_batch_size, device=cfg.device,
                  img_size=cfg.img_size, num_workers=cfg.num_workers)
    row = {"epoch": epoch + 1, "lr": r.optimizer.param_groups[0]["lr"],
           "mixup": r.mixup.mixup_enabled, "curve_top1": ev["top1"],
           "mean_firing_rate": ev["mean_firing_rate"],
           "train_loss": sum(sums.values()) / ipe,
           **{f"train_{k}": v / ipe for k, v in sums.items()}}
    prog.curves.append(row)
    wall = prog.prior_wall + time.time() - t0
    check_finite(r, f"after epoch {epoch + 1}")
    ckpt.save(r.ck_dir / "last.pt", {
        "config_hash": cfg.hash, "epoch": epoch, "model": r.model.state_dict(),
        "distiller": r.distiller.state_dict() if r.distiller is not None else None,
        "optimizer": r.optimizer.state_dict(), "scheduler": r.scheduler.state_dict(),
        "rng": rng if r.world.active else rng[0], "curves": prog.curves, "wall_s": wall})
    dist.barrier(r.world)
    if cfg.progress:
        print(f"[{cfg.row} seed {cfg.seed}] epoch {epoch + 1}/{r.epochs} "
              f"loss {row['train_loss']:.4f} curve top-1 {ev['top1']:.2f}% "
              f"({wall:.0f} s)", file=sys.stderr, flush=True)
    return row


def make_record(r: Run, prog: Progress, started: float, t0: float) -> dict:
    """Evaluate on the final test set, save ``model.pt`` and return the run's record."""
    cfg, data = r.cfg, r.data
    with energy.Counter(r.model) as ops:  # ΣMAC, ΣAC, energy per image (BKDSNN/CML rule)
        final = evaluate(r.model, data.final, batch_size=cfg.eval_batch_size, device=cfg.device,
                         img_size=cfg.img_size, num_workers=cfg.num_workers)
    check_finite(r, "at the end")
    ckpt.save(r.ck_dir / "model.pt", r.model.state_dict())
    curves = prog.curves
    best = max(curves, key=lambda c: c["curve_top1"])
    metrics = {
        "top1": final["top1"], "final_test_size": len(data.final),
        "last_curve_top1": curves[-1]["curve_top1"], "best_curve_top1": best["curve_top1"],
        "best_epoch": best["epoch"], "curve_test_size": len(data.curve),
        "mean_firing_rate": final["mean_firing_rate"], "firing_rates": final["firing_rates"],
        "prefix_top1": final["prefix_top1"],
        "params": sum(p.numel() for p in r.model.parameters()),
        "distill_params": sum(p.numel() for p in r.distiller.parameters()) if r.distiller else 0,
        "energy": ops.summary(),
    }
    return {
        "schema": SCHEMA_VERSION, "row": cfg.row, "profile": cfg.profile, "seed": cfg.seed,
        "config_hash": cfg.hash, "config": cfg.to_dict(), "overrides": _overrides(cfg),
        "metrics": metrics, "curves": curves, "data": data.provenance,
        "provenance": {**provenance.collect(cfg.device),
                       "wall_time_s": prog.prior_wall + time.time() - started,
                       "train_wall_time_s": prog.prior_wall + time.time() - t0,
                       "resumed_from_epoch": prog.resumed_from, "finished_unix": time.time()},
    }


def _existing(cfg: Config, rec_path: Path, force: bool, main: bool) -> dict | None:
    """The valid record of this hash, if any and not ``force``; on rank 0, dead writers'
    temporaries are removed and a damaged (or, with ``force``, the old) record and checkpoints
    are moved aside."""
    ck_dir = checkpoint_dir(cfg.out_dir, cfg.hash)
    if main:
        for folder in (rec_path.parent, ck_dir):
            clean_stale_temps(folder)
        if force:
            _set_aside(cfg, [rec_path, ck_dir / "last.pt", ck_dir / "model.pt"], "replaced")
    if force or not rec_path.is_file():
        return None
    try:
        return read_record(rec_path)
    except DamagedFileError as e:
        if not main:
            return None
        _say(cfg, f"{e}; moved aside to {move_aside(rec_path).name}, retraining")
    return None


def run(cfg: Config, *, force: bool = False, _interrupt_after_steps: int | None = None) -> dict:
    """Train ``cfg`` to completion (resuming if interrupted) and return its record.

    An existing record with the same hash is returned as is unless ``force`` (which moves the
    old record and checkpoints aside). Under ``torchrun`` every rank calls this; rank 0 writes.
    ``_interrupt_after_steps`` raises ``KeyboardInterrupt`` after that many optimiser steps of
    this call (tests use it to simulate a run killed mid-epoch).

    Raises:
        DataNotFoundError, TeacherNotFoundError, RuntimeError (device), ValueError (config),
        FloatingPointError: the loss, or a weight, became NaN or infinite (named).
    """
    world = dist.setup(cfg.device)
    if world.active:
        cfg = cfg.replace(device=dist.device_of(world, cfg.device))
    preflight(cfg)
    rec_path = record_path(cfg.out_dir, cfg.row, cfg.profile, cfg.seed, cfg.hash)
    existing = _existing(cfg, rec_path, force, world.main)
    dist.barrier(world)
    if existing is not None:
        return existing
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    keep_freed_memory()  # no re-faulting of T-fold activations; changes no number
    started = time.time()
    r = build(cfg, world)
    r.interrupt_after = _interrupt_after_steps
    prog = resume(r)
    t0 = time.time()
    for epoch in range(prog.start_epoch, r.epochs):
        sums = train_one_epoch(r, epoch)
        end_epoch(r, epoch, sums, prog, t0)
    if world.main:
        write_record(rec_path, make_record(r, prog, started, t0))
    dist.barrier(world)
    return read_record(rec_path)
