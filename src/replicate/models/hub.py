"""Pretrained weights from timm's hub, with a one-line error that names the fix when they cannot
be fetched (no network here; ``HF_HUB_OFFLINE`` respected). Used for every ``pretrained=True``
model a run builds (teachers: torchvision's ResNets as ``resnetXX.tv_in1k``, timm's AugReg ViTs).
"""
from __future__ import annotations

import os
from typing import Any

import timm
import torch.nn as nn

__all__ = ["PretrainedWeightsUnavailable", "create_model", "create_pretrained"]


class PretrainedWeightsUnavailable(FileNotFoundError):
    """Hub weights could not be fetched or found in the cache; the message names the fix."""


def _download_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError]
    try:
        from huggingface_hub.errors import EntryNotFoundError, HTTPError
        errors += [EntryNotFoundError, HTTPError]
    except ImportError:  # pragma: no cover  (timm falls back to torch.hub URLs: OSError)
        pass
    return tuple(errors)


def _hub_offline() -> bool:
    """Whether HF_HUB_OFFLINE is set (now, or when huggingface_hub was imported)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE"):
        return True
    try:
        from huggingface_hub import constants
        return bool(constants.HF_HUB_OFFLINE)
    except ImportError:  # pragma: no cover
        return False


def create_pretrained(name: str, **kwargs: Any) -> nn.Module:
    """``timm.create_model(name, pretrained=True, **kwargs)`` (e.g. a :data:`TV_TEACHERS` name);
    fetching is timm's (hub cache, ``HF_HUB_OFFLINE`` honoured by huggingface_hub).

    Raises:
        PretrainedWeightsUnavailable: the weights are neither downloadable nor cached; one line
            naming the fix.
    """
    try:
        return timm.create_model(name, pretrained=True, **kwargs)
    except _download_errors() as e:
        first = (str(e).strip().splitlines() or [""])[0][:200]
        if _hub_offline():
            why = "HF_HUB_OFFLINE is set and they are not in the local hub cache"
            fix = "unset HF_HUB_OFFLINE and run once with network access so timm caches them"
        else:
            why = "the download failed (no network?)"
            fix = "run once with network access so timm caches them, then HF_HUB_OFFLINE=1 works"
        raise PretrainedWeightsUnavailable(
            f"{name}: pretrained weights unavailable: {why} ({type(e).__name__}: {first}); fix: "
            f"{fix}, or use pretrained=False and load a state_dict (teacher_checkpoint=<path>)"
        ) from None


def create_model(name: str, pretrained: bool = False, **kwargs: Any) -> nn.Module:
    """``timm.create_model(name, **kwargs)``; with ``pretrained`` through :func:`create_pretrained`
    (hub weights, one-line error).

    Raises:
        PretrainedWeightsUnavailable: ``pretrained`` and the weights cannot be fetched.
    """
    if pretrained:
        return create_pretrained(name, **kwargs)
    return timm.create_model(name, **kwargs)
