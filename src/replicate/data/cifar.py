"""CIFAR-10 and CIFAR-100 (fine labels), sharing one build: decoded once to a checksummed uint8
cache (:mod:`.sources`), class-balanced subsets by a separate data seed, per-sample train
transforms and normalised evaluation sets.

Every profile but ``smoke`` holds the source to the dataset's known shape; a smoke run checks only
class names and image size (so the 20 lossless CIFAR-100 test images can drive one), and its
record's ``data.shape_checked`` is ``False``."""
from __future__ import annotations

import torch
from PIL import Image
from torch.utils.data import Dataset, TensorDataset

from .registry import RunData, register_dataset
from .sources import (CIFAR10_CLASSES, CIFAR100_CLASSES, EXPECTED_SHAPES, Split, checks_shape, load,
                      resolve)
from .subsets import balanced_indices, index_hash
from .transforms import normalize_uint8, train_transform


class TrainSet(Dataset):
    """uint8 images ``[N, H, W, 3]`` + labels, transformed per sample (PIL in, tensor out)."""

    def __init__(self, split: Split, indices: torch.Tensor, transform):
        self.x, self.y, self.indices, self.transform = split.x, split.y, indices, transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        j = int(self.indices[i])
        return self.transform(Image.fromarray(self.x[j].numpy())), int(self.y[j])


def build_static(cfg, source) -> RunData:
    """The run data of a small static image set held in memory (CIFAR-10/100). The source is
    held to its known shape unless ``cfg.profile`` is ``smoke`` (:func:`.sources.checks_shape`);
    the provenance's ``shape_checked`` says which.

    Raises:
        DataShapeError, DamagedFileError, DiskFullError: from :func:`.sources.load`.
        ValueError: a subset larger than a class can give (:func:`.subsets.balanced_indices`).
    """
    strict = checks_shape(cfg.profile)
    train, test = load(source, strict=strict)
    tr_idx = balanced_indices(train.y, cfg.train_subset, cfg.data_seed)
    cu_idx = balanced_indices(test.y, cfg.curve_test_subset, cfg.data_seed)
    fi_idx = balanced_indices(test.y, cfg.final_test_subset, cfg.data_seed)
    tf = train_transform(cfg.recipe, hflip=cfg.hflip, randaugment=cfg.randaugment,
                         random_erasing=cfg.random_erasing, crop_padding=cfg.crop_padding,
                         autoaugment=bool(cfg.autoaugment), cutout=cfg.cutout)
    prov = {"source": source.describe(), "shape_checked": strict,
            "train_size": len(tr_idx), "train_index_hash": index_hash(tr_idx),
            "curve_test_size": len(cu_idx), "curve_test_index_hash": index_hash(cu_idx),
            "final_test_size": len(fi_idx), "final_test_index_hash": index_hash(fi_idx)}
    curve = TensorDataset(normalize_uint8(test.x[cu_idx], cfg.recipe), test.y[cu_idx])
    final = TensorDataset(normalize_uint8(test.x[fi_idx], cfg.recipe), test.y[fi_idx])
    return RunData(TrainSet(train, tr_idx, tf), curve, final,
                   len(EXPECTED_SHAPES[source.dataset]["classes"]), prov)


register_dataset("cifar10", resolve=lambda root: resolve("cifar10", root), build=build_static,
                 num_classes=len(CIFAR10_CLASSES))
register_dataset("cifar100", resolve=lambda root: resolve("cifar100", root), build=build_static,
                 num_classes=len(CIFAR100_CLASSES))
