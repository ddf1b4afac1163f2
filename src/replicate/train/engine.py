"""The training engine: ``run(config) -> record``.

Order of work: validate everything that can fail cheaply (device, data, teacher weights) before
any training; build model, distiller and optimiser; resume from ``last.pt`` if a previous
attempt was interrupted; train epoch by epoch (tqdm, NaN guard, per-epoch curve on a fixed test
subset, atomic checkpoint); evaluate on the full test set; write the record atomically.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np
import timm
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from .. import data as data_mod
from .. import provenance
from ..config import Config
from ..distill import build_distiller
from ..results import SCHEMA_VERSION, checkpoint_dir, read_record, record_path, write_record
from . import checkpoint as ckpt
from .evaluate import evaluate, forward_output, resize
from .optim import build_mixup, build_optimizer, build_scheduler, mixup_active
from .steps import TRAIN_STEPS, StepContext


class TeacherNotFoundError(FileNotFoundError):
    """A distillation run's teacher weights are missing; the message says how to make them."""


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(cfg: Config, num_classes: int) -> torch.nn.Module:
    """``timm.create_model`` of ``cfg.model`` with the config's architecture fields."""
    import replicate  # noqa: F401  (registers the models)
    return timm.create_model(cfg.model, pretrained=cfg.pretrained, num_classes=num_classes,
                             **cfg.model_kwargs())


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
            f"not found at {path}: run `replicate batch --rows {cfg.teacher_row} --profile "
            f"{cfg.profile} --out {cfg.out_dir}` first, or pass teacher_checkpoint=<path>")
    return path


def load_teacher(cfg: Config, num_classes: int) -> torch.nn.Module:
    """The frozen, eval-mode teacher of a distillation run.

    Raises:
        TeacherNotFoundError: no weights at the teacher's hash (or at ``teacher_checkpoint``).
    """
    from ..experiments import config_for

    tcfg = config_for(cfg.teacher_row, cfg.profile)
    path = check_teacher(cfg)
    if path is None:  # hub weights as published (the teacher row is not trained here)
        teacher = build_model(tcfg, num_classes)
    else:
        teacher = build_model(tcfg.replace(pretrained=False), num_classes)
        teacher.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
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


def run(cfg: Config, *, force: bool = False, _interrupt_after_steps: int | None = None) -> dict:
    """Train ``cfg`` to completion (resuming if interrupted) and return its record.

    An existing record with the same hash is returned as is unless ``force``.
    ``_interrupt_after_steps`` raises ``KeyboardInterrupt`` after that many optimiser steps of
    this call (tests use it to simulate a run killed mid-epoch).

    Raises:
        DataNotFoundError, TeacherNotFoundError, RuntimeError (device), ValueError (config),
        FloatingPointError: the loss became NaN or infinite (the step and its terms are named).
    """
    preflight(cfg)
    h = cfg.hash
    rec_path = record_path(cfg.out_dir, cfg.row, cfg.profile, cfg.seed, h)
    if rec_path.is_file() and not force:
        return read_record(rec_path)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    device = torch.device(cfg.device)
    ck_dir = checkpoint_dir(cfg.out_dir, h)
    started = time.time()

    data = data_mod.build(cfg)
    _seed_everything(cfg.seed)
    model = build_model(cfg, data.num_classes).to(device)
    teacher = distiller = None
    if cfg.distill != "none":
        teacher = load_teacher(cfg, data.num_classes).to(device) if cfg.needs_teacher else None
        s_ch = t_ch = None
        pooled = True
        if cfg.distill in ("bkd", "mixed"):  # feature distillers: probe both feature shapes
            model.eval()  # the shape probe must not touch BN running statistics
            probe = data.curve_x[:2].to(device)
            with torch.no_grad():
                s_feat = forward_output(model, resize(probe, cfg.img_size), True).feature
                t_feat = forward_output(teacher, resize(probe, cfg.teacher_img_size), True).feature
            s_ch, t_ch, pooled = s_feat.shape[1], t_feat.shape[1], t_feat.dim() == 2
        esd = {}
        if cfg.distill == "esd":  # NeurIPS 2025 branches on every stage but the last
            from ..models.spiking_resnet import SpikingPreActResNet
            esd = dict(stage_channels=tuple(model.widths[:-1]), num_features=model.num_features,
                       num_classes=data.num_classes, esd_alpha=cfg.esd_alpha, esd_beta=cfg.esd_beta,
                       esd_pool=cfg.esd_pool, esd_teacher=cfg.esd_teacher,
                       std_blocks=isinstance(model, SpikingPreActResNet))  # ImageNet branches
        distiller = build_distiller(
            cfg.distill, student_channels=s_ch, teacher_channels=t_ch, mask_ratio=cfg.bkd_mask_ratio,
            alpha=cfg.bkd_alpha, temperature=cfg.kd_temperature, weight=cfg.kd_weight, pooled=pooled,
            twkl_alpha=cfg.twkl_alpha, twsd_beta=cfg.twsd_beta, self_teacher=cfg.self_teacher, **esd)
        distiller.to(device)
    trainable = torch.nn.ModuleList([model] + ([distiller] if distiller is not None else []))
    optimizer = build_optimizer(cfg, trainable)
    g = torch.Generator()
    loader = DataLoader(data.train, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                        num_workers=cfg.num_workers, generator=g)
    ipe = len(loader)
    if ipe == 0:
        raise ValueError(f"train_subset {len(data.train)} is smaller than batch_size {cfg.batch_size}")
    scheduler = build_scheduler(cfg, optimizer, ipe)
    mixup = build_mixup(cfg, data.num_classes)
    step_fn = TRAIN_STEPS[cfg.train_step]
    ctx = StepContext(model, distiller, teacher, cfg.img_size, cfg.teacher_img_size)

    start_epoch, curves, prior_wall = 0, [], 0.0
    resumed_from = None
    if (ck_dir / "last.pt").is_file():
        state = ckpt.load(ck_dir / "last.pt")
        if state["config_hash"] == h:
            model.load_state_dict(state["model"])
            if distiller is not None:
                distiller.load_state_dict(state["distiller"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            ckpt.set_rng_state(state["rng"])
            start_epoch, curves, prior_wall = state["epoch"] + 1, state["curves"], state["wall_s"]
            resumed_from = start_epoch

    total_epochs = cfg.epochs + cfg.cooldown_epochs
    steps_done = 0
    t0 = time.time()
    for epoch in range(start_epoch, total_epochs):
        g.manual_seed(cfg.seed * 100_003 + epoch)  # the epoch's shuffle, independent of history
        mixup.mixup_enabled = mixup_active(cfg, epoch)
        model.train()
        if distiller is not None:
            distiller.train()
        sums: dict[str, float] = {}
        bar = tqdm(loader, desc=f"{cfg.row} s{cfg.seed} epoch {epoch + 1}/{total_epochs}",
                   disable=not cfg.progress, file=sys.stderr, mininterval=15, leave=False)
        for i, (x, y) in enumerate(bar):
            x, y = x.to(device), y.to(device)
            x, target = mixup(x, y)
            terms = step_fn(ctx, x, target)
            loss = sum(terms.values())
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"non-finite loss at epoch {epoch + 1}, step {i + 1}: "
                    f"{ {k: float(v.detach()) for k, v in terms.items()} }")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step_update(epoch * ipe + i + 1)
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            steps_done += 1
            if _interrupt_after_steps is not None and steps_done >= _interrupt_after_steps:
                raise KeyboardInterrupt(f"test interrupt after {steps_done} steps")
        ev = evaluate(model, data.curve_x, data.curve_y, batch_size=cfg.eval_batch_size,
                      device=cfg.device, img_size=cfg.img_size)
        row = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"],
               "mixup": mixup.mixup_enabled, "curve_top1": ev["top1"],
               "mean_firing_rate": ev["mean_firing_rate"],
               "train_loss": sum(sums.values()) / ipe,
               **{f"train_{k}": v / ipe for k, v in sums.items()}}
        curves.append(row)
        wall = prior_wall + time.time() - t0
        ckpt.save(ck_dir / "last.pt", {
            "config_hash": h, "epoch": epoch, "model": model.state_dict(),
            "distiller": distiller.state_dict() if distiller is not None else None,
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "rng": ckpt.rng_state(), "curves": curves, "wall_s": wall})
        if cfg.progress:
            print(f"[{cfg.row} seed {cfg.seed}] epoch {epoch + 1}/{total_epochs} "
                  f"loss {row['train_loss']:.4f} curve top-1 {ev['top1']:.2f}% "
                  f"({wall:.0f} s)", file=sys.stderr, flush=True)

    final = evaluate(model, data.final_x, data.final_y, batch_size=cfg.eval_batch_size,
                     device=cfg.device, img_size=cfg.img_size)
    ckpt.save(ck_dir / "model.pt", model.state_dict())
    best = max(curves, key=lambda r: r["curve_top1"])
    train_wall = prior_wall + time.time() - t0
    record = {
        "schema": SCHEMA_VERSION, "row": cfg.row, "profile": cfg.profile, "seed": cfg.seed,
        "config_hash": h, "config": cfg.to_dict(), "overrides": _overrides(cfg),
        "metrics": {
            "top1": final["top1"], "final_test_size": len(data.final_y),
            "last_curve_top1": curves[-1]["curve_top1"], "best_curve_top1": best["curve_top1"],
            "best_epoch": best["epoch"], "curve_test_size": len(data.curve_y),
            "mean_firing_rate": final["mean_firing_rate"], "firing_rates": final["firing_rates"],
            "prefix_top1": final["prefix_top1"],
            "params": sum(p.numel() for p in model.parameters()),
            "distill_params": sum(p.numel() for p in distiller.parameters()) if distiller else 0,
        },
        "curves": curves, "data": data.provenance,
        "provenance": {**provenance.collect(cfg.device),
                       "wall_time_s": prior_wall + time.time() - started,
                       "train_wall_time_s": train_wall, "resumed_from_epoch": resumed_from,
                       "finished_unix": time.time()},
    }
    write_record(rec_path, record)
    return record
