"""The recipes' per-sample transforms (torchvision + timm), by name.

``bkdsnn_cifar`` is the BKDSNN/CML CIFAR recipe (BKDSNN spec §2.1): no crop or padding,
horizontal flip, timm RandAugment (``rand-m9-n1-mstd0.4``), CIFAR-10 normalisation, random
erasing (p 0.25, const). Mixup and label smoothing act on the batch (``replicate.train``).
Each field of the recipe comes from the config, so the ``cpu`` profile can switch parts off.
"""
from __future__ import annotations

import torch
from torchvision import transforms as T

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
RECIPES = ("bkdsnn_cifar",)


def train_transform(recipe: str, *, hflip: float, randaugment: str | None,
                    random_erasing: float) -> T.Compose:
    """Per-sample training transform: PIL image ``[32, 32, 3]`` -> float tensor ``[3, 32, 32]``.

    Raises:
        ValueError: an unknown recipe name.
    """
    if recipe not in RECIPES:
        raise ValueError(f"recipe {recipe!r} is not one of {RECIPES}")
    from timm.data import rand_augment_transform
    from timm.data.random_erasing import RandomErasing

    ops: list = []
    if hflip > 0:
        ops.append(T.RandomHorizontalFlip(hflip))
    if randaugment:
        hparams = {"translate_const": int(32 * 0.45),
                   "img_mean": tuple(round(255 * m) for m in CIFAR10_MEAN)}
        ops.append(rand_augment_transform(randaugment, hparams))
    ops += [T.ToTensor(), T.Normalize(CIFAR10_MEAN, CIFAR10_STD)]
    if random_erasing > 0:
        ops.append(RandomErasing(random_erasing, mode="const", device="cpu"))
    return T.Compose(ops)


def normalize_uint8(x: torch.Tensor) -> torch.Tensor:
    """Evaluation transform on a batch: uint8 ``[B, H, W, 3]`` -> normalised float ``[B, 3, H, W]``."""
    x = x.permute(0, 3, 1, 2).float().div_(255)
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    return (x - mean) / std
