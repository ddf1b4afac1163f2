"""Optimiser, learning-rate schedule and batch-level mixup, built from the config with timm.

The schedule is stepped per iteration; warm-up and the mixup switch-off are fractions of the run
(BKDSNN CIFAR recipe, ``warmup_epochs: 20``, ``epochs: 400``, ``mixup_off_epoch: 200`` in
``Spikingformer-CML/cifar10/config/mixed/vit-st-mixed.yml`` of
github.com/Intelligent-Computing-Research-Group/BKDSNN at commit dd6bd53: 20 of 400 epochs = 5 %,
mixup off at epoch 200 of 400 = 50 %), so a short
``cpu`` run keeps the published schedule's shape. After the cosine, ``cooldown_epochs`` run at
``min_lr`` (timm's behaviour past ``t_initial``).
"""
from __future__ import annotations

import torch
from timm.data import Mixup
from timm.optim import create_optimizer_v2
from timm.scheduler import CosineLRScheduler


def build_optimizer(cfg, params_module: torch.nn.Module) -> torch.optim.Optimizer:
    """AdamW or SGD over ``params_module`` (student + distillation modules); timm exempts 1-D
    parameters (biases, norms) from weight decay, as the original scripts do."""
    kw = {"momentum": cfg.momentum} if cfg.optimizer == "sgd" else {}
    return create_optimizer_v2(params_module, opt=cfg.optimizer, lr=cfg.lr,
                               weight_decay=cfg.weight_decay, **kw)


def build_scheduler(cfg, optimizer: torch.optim.Optimizer, iters_per_epoch: int) -> CosineLRScheduler:
    t_initial = cfg.epochs * iters_per_epoch
    return CosineLRScheduler(optimizer, t_initial=t_initial, lr_min=cfg.min_lr,
                             warmup_t=int(round(cfg.warmup_frac * t_initial)),
                             warmup_lr_init=cfg.warmup_lr, t_in_epochs=False)


def build_mixup(cfg, num_classes: int) -> Mixup:
    """Mixup (no cutmix) with label smoothing; with ``mixup_alpha == 0`` only label smoothing."""
    m = Mixup(mixup_alpha=cfg.mixup_alpha, cutmix_alpha=0.0, prob=1.0, switch_prob=0.0,
              mode="batch", label_smoothing=cfg.label_smoothing, num_classes=num_classes)
    m.mixup_enabled = cfg.mixup_alpha > 0
    return m


def mixup_active(cfg, epoch: int) -> bool:
    """Whether mixup is on in 0-based ``epoch`` (off from ``mixup_off_frac * epochs``)."""
    return cfg.mixup_alpha > 0 and epoch < cfg.mixup_off_frac * cfg.epochs
