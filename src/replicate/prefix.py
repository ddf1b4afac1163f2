"""Accuracy at every deployment budget T' = 1..T from one T-step run.

The "full-range timestep deployment" of Yu et al., *Efficient Logit-based Knowledge Distillation
of Deep Spiking Neural Networks for Full-Range Timestep Deployment*, ICML 2025 (arXiv
2501.15925). Its released code (github.com/Intelli-Chip-Lab/snn_temporal_decoupling_distillation
at commit e3f5fd4) evaluates only at the training T; the argument below is ours.

For a static input in eval mode, the first T' per-timestep logits of a T-step run are exactly the
logits of a T'-step run (causal LIF dynamics, running-statistics BN), so the prediction at budget
T' is ``argmax_k (1/T') Σ_{t ≤ T'} z_{t,k}`` and all budgets can be scored from one forward pass.
"""
from __future__ import annotations

import torch

__all__ = ["prefix_correct", "prefix_top1"]


def prefix_correct(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Number of correct top-1 predictions of every prefix ensemble, ``[T]`` (int64).

    Entry T'−1 counts the samples b with ``argmax_k logits[:T', b].mean(0)[k] == labels[b]``
    (ties → lowest class index, as ``torch.argmax``). Sum these over batches and divide by the
    number of samples for a whole test set.

    Args:
        logits: per-timestep logits ``[T, B, K]``.
        labels: int class labels ``[B]``.

    Raises:
        ValueError: if ``logits`` is not 3-D, ``labels`` is not an integer ``[B]`` tensor, or the
            batch sizes differ.
    """
    if logits.dim() != 3:
        raise ValueError(f"logits must be [T, B, K], got shape {tuple(logits.shape)}")
    if labels.dim() != 1 or labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"labels must be integer class labels [B], got {labels.dtype} {tuple(labels.shape)}")
    if labels.shape[0] != logits.shape[1]:
        raise ValueError(f"labels batch {labels.shape[0]} != logits batch {logits.shape[1]}")
    z = logits.detach()
    y = labels.to(z.device)
    counts = [(z[:t].mean(0).argmax(-1) == y).sum() for t in range(1, z.shape[0] + 1)]
    return torch.stack(counts).cpu()


def prefix_top1(logits: torch.Tensor, labels: torch.Tensor) -> list[float]:
    """Top-1 accuracy (%) of the mean of the first T' timesteps, for T' = 1..T.

    Args:
        logits: per-timestep logits ``[T, B, K]`` (B ≥ 1).
        labels: int class labels ``[B]``.

    Returns:
        ``[acc(T'=1), ..., acc(T'=T)]`` in percent; the last entry is the usual T-mean top-1.

    Raises:
        ValueError: bad shapes (see :func:`prefix_correct`) or an empty batch.
    """
    if logits.dim() == 3 and logits.shape[1] == 0:
        raise ValueError("empty batch")
    correct = prefix_correct(logits, labels)
    return [100.0 * c / logits.shape[1] for c in correct.tolist()]
