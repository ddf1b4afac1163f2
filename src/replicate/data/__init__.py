"""Datasets, subsets and the recipes' transforms. See :func:`build` for what a run gets."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image
from torch.utils.data import Dataset

from .sources import (CIFAR10_CLASSES, EXPECTED_SHAPES, DataNotFoundError, DataShapeError, Source,
                      Split, cache_path, check_shape, load, resolve)
from .subsets import balanced_indices, index_hash
from .transforms import CIFAR10_MEAN, CIFAR10_STD, normalize_uint8, train_transform

__all__ = ["CIFAR10_CLASSES", "EXPECTED_SHAPES", "DataNotFoundError", "DataShapeError", "Source",
           "cache_path", "check_shape", "Split", "RunData", "build",
           "balanced_indices", "index_hash", "resolve", "load", "normalize_uint8",
           "train_transform", "CIFAR10_MEAN", "CIFAR10_STD", "TrainSet"]


class TrainSet(Dataset):
    """uint8 images ``[N, H, W, 3]`` + labels, transformed per sample (PIL in, tensor out)."""

    def __init__(self, split: Split, indices: torch.Tensor, transform):
        self.x, self.y, self.indices, self.transform = split.x, split.y, indices, transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        j = int(self.indices[i])
        return self.transform(Image.fromarray(self.x[j].numpy())), int(self.y[j])


@dataclass
class RunData:
    """What a run trains and evaluates on, plus what its record says about it."""

    train: TrainSet
    curve_x: torch.Tensor  #: normalised ``[N, 3, 32, 32]`` fixed test subset for per-epoch curves
    curve_y: torch.Tensor
    final_x: torch.Tensor  #: the full test set (or the configured final subset)
    final_y: torch.Tensor
    num_classes: int
    provenance: dict


def build(cfg) -> RunData:
    """Resolve, decode (cached) and subset the data of ``cfg`` (a :class:`replicate.config.Config`).

    The source is checked against its dataset's known shape before anything is trained; its
    decoded arrays come from a checksummed cache (a damaged one is moved aside and rebuilt).

    Raises:
        DataNotFoundError: the dataset is not where ``cfg.data_root`` / ``$REPLICATE_DATA`` says.
        DataShapeError: the source is not the dataset's known shape (e.g. a tar cut short).
        DamagedFileError: the tar fails its ``SHA256SUMS`` entry or cannot be read.
        DiskFullError: no space left for the cache.
    """
    source = resolve(cfg.dataset, cfg.data_root)
    train, test = load(source)
    tr_idx = balanced_indices(train.y, cfg.train_subset, cfg.data_seed)
    cu_idx = balanced_indices(test.y, cfg.curve_test_subset, cfg.data_seed)
    fi_idx = balanced_indices(test.y, cfg.final_test_subset, cfg.data_seed)
    tf = train_transform(cfg.recipe, hflip=cfg.hflip, randaugment=cfg.randaugment,
                         random_erasing=cfg.random_erasing, crop_padding=cfg.crop_padding,
                         autoaugment=bool(cfg.autoaugment), cutout=cfg.cutout)
    prov = {"source": source.describe(), "train_size": len(tr_idx), "train_index_hash": index_hash(tr_idx),
            "curve_test_size": len(cu_idx), "curve_test_index_hash": index_hash(cu_idx),
            "final_test_size": len(fi_idx), "final_test_index_hash": index_hash(fi_idx)}
    return RunData(TrainSet(train, tr_idx, tf), normalize_uint8(test.x[cu_idx], cfg.recipe),
                   test.y[cu_idx], normalize_uint8(test.x[fi_idx], cfg.recipe), test.y[fi_idx],
                   len(EXPECTED_SHAPES[source.dataset]["classes"]), prov)
