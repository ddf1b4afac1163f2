"""The dataset registry: one module per dataset, found by the config's ``dataset`` name.

A dataset registers two functions with :func:`register_dataset`:

- ``resolve(data_root) -> source``: cheap (no decoding), run by the preflight before any compute;
  raises :class:`~replicate.data.sources.DataNotFoundError` naming how to get the data.
- ``build(cfg, source) -> RunData``: the train set (augmented per sample), the fixed per-epoch
  curve subset and the final test set, each a ``torch.utils.data.Dataset`` of ``(x, y)``.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch.utils.data import Dataset


@dataclass
class RunData:
    """What a run trains and evaluates on, plus what its record says about it.

    Items of every set are ``(x, y)``: ``x`` a normalised float image ``[C, H, W]`` (or event
    frames ``[T, C, H, W]``), ``y`` an int class.
    """

    train: Dataset
    curve: Dataset   #: the fixed test subset for the per-epoch curve
    final: Dataset   #: the test set (or the configured final subset) for the record's top-1
    num_classes: int
    provenance: dict

    def probe(self, n: int = 2) -> torch.Tensor:
        """The first ``n`` curve images as a model input: ``[n, C, H, W]``, or event frames
        ``[T, n, C, H, W]`` (shape probes, e.g. BKD's)."""
        x = torch.stack([self.curve[i][0] for i in range(n)])
        return x.transpose(0, 1) if x.dim() == 5 else x


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    resolve: Callable[[str | None], Any]
    build: Callable[[Any, Any], RunData]
    num_classes: int


_DATASETS: dict[str, DatasetEntry] = {}


def register_dataset(name: str, *, resolve: Callable, build: Callable, num_classes: int) -> None:
    """Register ``name`` (the config's ``dataset`` value).

    Raises:
        ValueError: ``name`` is already registered.
    """
    if name in _DATASETS:
        raise ValueError(f"dataset {name!r} registered twice")
    _DATASETS[name] = DatasetEntry(name, resolve, build, num_classes)


def names() -> tuple[str, ...]:
    return tuple(sorted(_DATASETS))


def get(name: str) -> DatasetEntry:
    """The entry of ``name``.

    Raises:
        ValueError: an unknown dataset, with the closest registered names.
    """
    if name not in _DATASETS:
        close = difflib.get_close_matches(name, names(), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ValueError(f"unknown dataset {name!r}{hint} (registered: {', '.join(names())})")
    return _DATASETS[name]
