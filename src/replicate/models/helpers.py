"""Helpers shared by the model files: time-flattened module calls and the timm registration path.

Every model file of this package imports what it shares from here (and nothing private from another
model file):

* :func:`seq_to_ann` applies a per-sample module to a ``[T, B, ...]`` tensor (the job of
  spikingjelly's ``SeqToANNContainer``);
* :func:`linear_head` is the classifier rule of every model here (Linear, or Identity for K = 0);
* :data:`TIMM_EXTRA_KWARGS` names the keyword arguments ``timm.create_model`` adds on its own;
* :func:`cifar10_cfg` / :func:`imagenet_cfg` are the ``_cfg(...)`` helpers of timm's own model
  files: each model module turns them into ``default_cfgs = generate_default_cfgs({...})``, which
  ``timm.models.register_model`` files under the model's name when the module is imported;
* :func:`build_no_weights` builds a registered model through ``timm.models.build_model_with_cfg``,
  which attaches that registered cfg as ``model.pretrained_cfg``; with it,
  ``timm.data.resolve_data_config(model=timm.create_model(name))`` gives the input size and
  normalisation our data pipeline uses.

No model here has published weights: the cfgs carry no ``url``/``hf_hub_id``, and
``pretrained=True`` is refused.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn as nn
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models import build_model_with_cfg

from ..data.transforms import CIFAR10_MEAN, CIFAR10_STD

__all__ = [
    "tapped_forward",
    "CIFAR10_INPUT_SIZE",
    "TIMM_EXTRA_KWARGS",
    "build_no_weights",
    "cifar10_cfg",
    "imagenet_cfg",
    "linear_head",
    "seq_to_ann",
]

#: kwargs that ``timm.create_model`` adds on its own; the model classes accept and ignore them.
TIMM_EXTRA_KWARGS = ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir")

#: ``(C, H, W)`` of a CIFAR image.
CIFAR10_INPUT_SIZE = (3, 32, 32)


def seq_to_ann(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Apply a per-sample module ``fn`` to ``[T, B, ...]`` by flattening T and B.

    ``[T, B, *in]`` → ``fn`` on ``[T·B, *in]`` → ``[T, B, *out]``; batch norms inside ``fn`` thus
    share their statistics over the time steps.
    """
    y = fn(x.flatten(0, 1))
    return y.reshape(x.shape[0], x.shape[1], *y.shape[1:])


def linear_head(in_features: int, num_classes: int) -> nn.Module:
    """Classifier ``[..., in_features]`` → ``[..., K]``: ``nn.Linear(in_features, K)`` (PyTorch
    default init), or ``nn.Identity`` for K ≤ 0 (timm's ``num_classes=0``: no head)."""
    return nn.Linear(in_features, num_classes) if num_classes > 0 else nn.Identity()


def cifar10_cfg(**kwargs: Any) -> dict[str, Any]:
    """Pretrained-cfg dict of a CIFAR-10 model without weights (timm's ``_cfg`` convention).

    Input ``(3, 32, 32)``, 10 classes, bicubic, crop_pct 1.0 (32×32 in, nothing cropped), and the
    CIFAR-10 normalisation of the ``bkdsnn_cifar`` recipe (:mod:`replicate.data.transforms`):
    mean (0.4914, 0.4822, 0.4465), std (0.2470, 0.2435, 0.2616), all as in BKDSNN:
    Spikingformer-CML/cifar10/config/mixed/vit-st-mixed.yml@dd6bd53 l.11–28 (and Spikingformer-CML:
    cifar10/cifar10.yml@8e51213). (The ``logitkd_cifar`` recipe normalises with the older std
    (0.2023, 0.1994, 0.2010), snn_temporal_decoupling_distillation: util/data.py@e3f5fd4
    ``load_dataset``; pass ``pretrained_cfg_overlay=dict(std=...)`` to ``timm.create_model`` for it.)
    ``kwargs`` override or add fields (``first_conv``, ``classifier``, ``origin_url``, ...).
    """
    return {
        "url": "",
        "num_classes": 10,
        "input_size": CIFAR10_INPUT_SIZE,
        "crop_pct": 1.0,
        "interpolation": "bicubic",
        "mean": tuple(CIFAR10_MEAN),
        "std": tuple(CIFAR10_STD),
        **kwargs,
    }


def imagenet_cfg(**kwargs: Any) -> dict[str, Any]:
    """Pretrained-cfg dict of an ImageNet-1k model without weights.

    Input ``(3, 224, 224)``, 1000 classes, the ImageNet mean/std, and the evaluation transform of
    snn_temporal_decoupling_distillation: util/data.py@e3f5fd4 ``load_dataset`` (Resize(256) →
    CenterCrop(224), torchvision's default bilinear: crop_pct 0.875). ``kwargs`` override or add
    fields.
    """
    return {
        "url": "",
        "num_classes": 1000,
        "input_size": (3, 224, 224),
        "crop_pct": 0.875,
        "interpolation": "bilinear",
        "mean": tuple(IMAGENET_DEFAULT_MEAN),
        "std": tuple(IMAGENET_DEFAULT_STD),
        **kwargs,
    }


def _instance_cfg(cfg: dict[str, Any], model: nn.Module) -> dict[str, Any]:
    """``cfg`` with this instance's ``num_classes`` and input channels (and ``img_size`` if the
    model has one). With other than 3 input channels (the DVS frames, which neither paper
    normalises) mean/std become the identity normalisation (0, 1) per channel."""
    cfg = dict(cfg)
    c, h, w = cfg["input_size"]
    size = getattr(model, "img_size", None)
    if isinstance(size, int):
        h = w = size
    chans = int(getattr(model, "in_chans", c))
    cfg["num_classes"] = int(model.num_classes)
    cfg["input_size"] = (chans, h, w)
    if chans != len(cfg.get("mean", ())):
        cfg["mean"], cfg["std"] = (0.0,) * chans, (1.0,) * chans
    return cfg


def build_no_weights(model_cls: Callable[..., nn.Module], variant: str, pretrained: bool,
                     **kwargs: Any) -> nn.Module:
    """``model_cls(**kwargs)`` built by ``timm.models.build_model_with_cfg`` for the registered
    ``variant``, which has no published weights.

    The registered default cfg of ``variant`` (or the ``pretrained_cfg`` /
    ``pretrained_cfg_overlay`` that ``timm.create_model`` passes on) becomes
    ``model.pretrained_cfg`` (alias ``model.default_cfg``), updated to the instance's
    ``num_classes`` and input channels / ``img_size``.

    Raises:
        ValueError: ``pretrained=True`` (nothing to download; load a checkpoint explicitly).
    """
    if pretrained:
        raise ValueError(
            f"{variant}: no pretrained weights are published for this model; use pretrained=False "
            "and load a checkpoint explicitly"
        )
    model = build_model_with_cfg(model_cls, variant, pretrained=False, **kwargs)
    model.pretrained_cfg = model.default_cfg = _instance_cfg(model.pretrained_cfg, model)
    return model


def tapped_forward(model: nn.Module, x: torch.Tensor, return_feature: bool, return_stages: bool):
    """The spiking ResNets' forward: per-timestep logits ``[T, B, K]`` from
    ``model.forward_features(x, taps)`` and ``model.forward_head``; with ``return_feature`` and/or
    ``return_stages`` a ``ModelOutput`` whose ``feature`` is the T-mean of the last stage's output
    ``[B, C, H, W]`` (the BKD tap) and ``stages`` the T-means of the earlier stages' outputs."""
    from .output import ModelOutput
    taps: list[torch.Tensor] | None = [] if return_stages else None
    feat = model.forward_features(x, taps)
    logits = model.forward_head(feat)
    if return_feature or return_stages:
        return ModelOutput(logits=logits, feature=feat.mean(0) if return_feature else None,
                           stages=[t.mean(0) for t in taps] if taps is not None else None)
    return logits

