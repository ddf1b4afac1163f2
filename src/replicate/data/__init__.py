"""Datasets, subsets and the recipes' transforms. See :func:`build` for what a run gets."""
from __future__ import annotations

from . import registry
from .registry import RunData, register_dataset
from .sources import (CIFAR10_CLASSES, EXPECTED_SHAPES, DataNotFoundError, DataShapeError, Source,
                      Split, cache_path, check_shape, load)
from .subsets import balanced_indices, index_hash
from .transforms import CIFAR10_MEAN, CIFAR10_STD, normalize_uint8, train_transform

__all__ = ["CIFAR10_CLASSES", "EXPECTED_SHAPES", "DataNotFoundError", "DataShapeError", "Source",
           "cache_path", "check_shape", "Split", "RunData", "build",
           "balanced_indices", "index_hash", "resolve", "load", "normalize_uint8",
           "train_transform", "CIFAR10_MEAN", "CIFAR10_STD", "TrainSet", "register_dataset", "registry"]


def resolve(dataset: str = "cifar10", data_root: str | None = None):
    """Find ``dataset`` from ``data_root`` or ``$REPLICATE_DATA``; cheap (no decoding).

    Raises:
        DataNotFoundError: nothing usable there (the message says how to provide the data).
        ValueError: an unknown dataset.
    """
    return registry.get(dataset).resolve(data_root)


def build(cfg) -> RunData:
    """Resolve and build the data of ``cfg`` (a :class:`replicate.config.Config`) through its
    dataset's registered builder.

    The source is checked against its dataset's known shape before anything is trained; static
    sets come from a checksummed cache (a damaged one is moved aside and rebuilt).

    Raises:
        DataNotFoundError: the dataset is not where ``cfg.data_root`` / ``$REPLICATE_DATA`` says.
        DataShapeError: the source is not the dataset's known shape (e.g. a tar cut short).
        DamagedFileError: the tar fails its ``SHA256SUMS`` entry or cannot be read.
        DiskFullError: no space left for the cache.
    """
    entry = registry.get(cfg.dataset)
    return entry.build(cfg, entry.resolve(cfg.data_root))


# The datasets register themselves on import.
from . import cifar  # noqa: E402,F401
from . import neuromorphic  # noqa: E402,F401
from . import imagenet  # noqa: E402,F401
from .cifar import TrainSet  # noqa: E402
