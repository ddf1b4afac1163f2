"""Class-balanced subsets drawn with the data seed (identical across rows and run seeds)."""
from __future__ import annotations

import hashlib

import torch


def balanced_indices(labels: torch.Tensor, size: int | None, data_seed: int) -> torch.Tensor:
    """Sorted indices of a class-balanced subset of ``size`` items (all items if ``None``).

    Each of the K classes gets ``size // K`` items (the first ``size % K`` classes one more),
    drawn without replacement by a generator seeded with ``data_seed`` only.

    Raises:
        ValueError: ``size`` exceeds what a class can give.
    """
    if size is None or size >= len(labels):
        return torch.arange(len(labels))
    classes = torch.unique(labels)
    k = len(classes)
    g = torch.Generator().manual_seed(data_seed)
    picked = []
    for i, c in enumerate(classes.tolist()):
        idx = torch.nonzero(labels == c).flatten()
        n = size // k + (1 if i < size % k else 0)
        if n > len(idx):
            raise ValueError(f"subset of {size} needs {n} items of class {c}, only {len(idx)} exist")
        picked.append(idx[torch.randperm(len(idx), generator=g)[:n]])
    return torch.sort(torch.cat(picked)).values


def index_hash(indices: torch.Tensor) -> str:
    """16 hex digits of sha256 over the int64 indices: identifies a subset in a record."""
    return hashlib.sha256(indices.to(torch.int64).numpy().tobytes()).hexdigest()[:16]
