"""Models of the package. Importing this package registers them with timm.

Registered timm names (none of them exists in timm itself; :func:`register_unique` refuses to
shadow a name registered by another module):

* ``cml_spikingformer_cifar`` (generic; sizes from kwargs), ``cml_spikingformer_4_256_cifar``,
  ``cml_spikingformer_2_384_cifar``, ``cml_spikingformer_4_384_cifar`` — :mod:`.spikingformer`
* ``cifar_resnet18_ann``, ``cifar_resnet34_ann``, ``cifar_resnet19_ann`` — :mod:`.resnet_ann`
* ``spiking_resnet18_cifar``, ``spiking_resnet19_cifar``, ``spiking_resnet34_cifar``,
  ``spiking_preact_resnet34_imagenet`` — :mod:`.spiking_resnet` (ICML 2025 / NeurIPS 2025 students)

Each has a timm default cfg (``timm.models.get_pretrained_cfg(name)``, attached to the model as
``model.pretrained_cfg``) with its input size and the normalisation of our data pipeline, so
``timm.data.resolve_data_config(model=timm.create_model(name))`` works; none has weights. What the
model files share lives in :mod:`.helpers`.
"""
from __future__ import annotations

from typing import Callable, TypeVar

import torch.nn as nn
from timm.models import is_model, model_entrypoint, register_model

from .hub import PretrainedWeightsUnavailable, create_model, create_pretrained  # noqa: F401
from .output import ModelOutput

_F = TypeVar("_F", bound=Callable)


def register_unique(fn: _F) -> _F:
    """``timm.models.register_model`` that refuses to overwrite a model of another module.

    Raises:
        RuntimeError: if ``fn.__name__`` is already registered by a different module (e.g. timm).
    """
    name = fn.__name__
    if is_model(name):
        existing = model_entrypoint(name)
        if getattr(existing, "__module__", None) != fn.__module__:
            raise RuntimeError(
                f"model name {name!r} is already registered by {existing.__module__}; "
                "refusing to shadow it"
            )
    return register_model(fn)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements (shared parameters counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


from . import resnet_ann, spikingformer  # noqa: E402  (registers the models with timm)
from . import spiking_resnet  # noqa: E402  (registers the spiking ResNets)
from . import sew_resnet  # noqa: E402  (registers the SEW-ResNets of BKDSNN)
from .resnet_ann import CifarResNet  # noqa: E402
from .spikingformer import CMLSpikingformer  # noqa: E402

__all__ = [
    "CMLSpikingformer",
    "CifarResNet",
    "ModelOutput",
    "count_parameters",
    "register_unique",
    "resnet_ann",
    "spikingformer",
    "spiking_resnet",
]
