"""The recipes' per-sample transforms (torchvision + timm), by name.

``bkdsnn_cifar`` is the BKDSNN/CML CIFAR recipe (BKDSNN at commit dd6bd53,
github.com/Intelligent-Computing-Research-Group/BKDSNN: ``Spikingformer-CML/cifar10/config/mixed/*.yml``
over the argparse defaults of ``Spikingformer-CML/cifar100/train.py``): no crop or padding,
horizontal flip, timm RandAugment (``rand-m9-n1-mstd0.4``), CIFAR-10 normalisation, random
erasing (p 0.25, const). Mixup and label smoothing act on the batch (``replicate.train``).

``logitkd_cifar`` is the ICML 2025 / NeurIPS 2025 CIFAR recipe (``util/data.py``, ``load_dataset()``,
identical in github.com/Intelli-Chip-Lab/snn_temporal_decoupling_distillation at commit e3f5fd4
and github.com/Intelli-Chip-Lab/enhanced-self-distillation-framework-for-snn at commit d44e876):
RandomCrop(32, pad 4), flip, torchvision AutoAugment (CIFAR-10 policy), ToTensor, Cutout (one
16×16 hole, *before* normalisation), normalisation with std (0.2023, 0.1994, 0.2010).
``logitkd_cifar100`` is the same recipe for CIFAR-100: ``load_dataset('CIFAR100', ...)`` at both
commits keeps the crop, flip, AutoAugment (the CIFAR-10 policy, ``CIFAR10Policy``) and Cutout and
normalises with mean (0.5071, 0.4867, 0.4408) and std (0.2675, 0.2565, 0.2761).

Each field of a recipe comes from the config, so a profile can switch parts off.
"""
from __future__ import annotations

import torch
from PIL import Image, ImageOps
from torchvision import transforms as T

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN = (0.5071, 0.4867, 0.4408)  # util/data.py load_dataset() of both logit-KD repos
CIFAR100_STD = (0.2675, 0.2565, 0.2761)
#: Per recipe: normalisation mean and std (the logit-KD code uses the older CIFAR-10 std).
RECIPES = {
    "bkdsnn_cifar": (CIFAR10_MEAN, CIFAR10_STD),
    "logitkd_cifar": (CIFAR10_MEAN, (0.2023, 0.1994, 0.2010)),
    "logitkd_cifar100": (CIFAR100_MEAN, CIFAR100_STD),
}


def posterize(img: Image.Image, bits_to_keep: int, **_) -> Image.Image:
    """timm's RandAugment posterize, keeping 0 bits as Pillow < 13 did (a black image): Pillow 13
    refuses ``bits=0``, which ``PosterizeIncreasing`` (``inc1``) draws at magnitude 10, i.e.
    whenever ``m9 ± mstd0.5`` reaches its clip (about 2 % of its uses)."""
    if bits_to_keep >= 8:
        return img
    if bits_to_keep <= 0:
        return Image.new(img.mode, img.size)
    return ImageOps.posterize(img, bits_to_keep)


def fix_posterize(transform):
    """Point every posterize op of the timm RandAugment ``transform`` (or of the RandAugments in
    a Compose) at :func:`posterize`; returns ``transform``."""
    for t in getattr(transform, "transforms", (transform,)):
        for op in getattr(t, "ops", ()):
            if getattr(op, "name", "").startswith("Posterize"):
                op.aug_fn = posterize
    return transform


class Cutout:
    """Zero one ``size``×``size`` square (clipped at the border) centred uniformly at random in a
    ``[C, H, W]`` tensor (DeVries & Taylor 2017; applied before Normalize as in ``load_dataset()`` of
    snn_temporal_decoupling_distillation ``util/data.py``@e3f5fd4)."""

    def __init__(self, size: int):
        self.size = int(size)

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[-2:]
        cy, cx = int(torch.randint(h, ())), int(torch.randint(w, ()))
        y0, y1 = max(cy - self.size // 2, 0), min(cy + self.size // 2, h)
        x0, x1 = max(cx - self.size // 2, 0), min(cx + self.size // 2, w)
        img = img.clone()
        img[..., y0:y1, x0:x1] = 0
        return img


def train_transform(recipe: str, *, hflip: float, randaugment: str | None,
                    random_erasing: float, crop_padding: int | None = None,
                    autoaugment: bool = False, cutout: int | None = None) -> T.Compose:
    """Per-sample training transform: PIL image ``[32, 32, 3]`` -> float tensor ``[3, 32, 32]``.

    Raises:
        ValueError: an unknown recipe name.
    """
    if recipe not in RECIPES:
        raise ValueError(f"recipe {recipe!r} is not one of {sorted(RECIPES)}")
    from timm.data import rand_augment_transform
    from timm.data.random_erasing import RandomErasing

    mean, std = RECIPES[recipe]
    ops: list = []
    if crop_padding:
        ops.append(T.RandomCrop(32, padding=crop_padding))
    if hflip > 0:
        ops.append(T.RandomHorizontalFlip(hflip))
    if randaugment:
        hparams = {"translate_const": int(32 * 0.45),
                   "img_mean": tuple(round(255 * m) for m in CIFAR10_MEAN)}
        ops.append(fix_posterize(rand_augment_transform(randaugment, hparams)))
    if autoaugment:
        ops.append(T.AutoAugment(T.AutoAugmentPolicy.CIFAR10))
    ops.append(T.ToTensor())
    if cutout:
        ops.append(Cutout(cutout))
    ops.append(T.Normalize(mean, std))
    if random_erasing > 0:
        ops.append(RandomErasing(random_erasing, mode="const", device="cpu"))
    return T.Compose(ops)


def normalize_uint8(x: torch.Tensor, recipe: str = "bkdsnn_cifar") -> torch.Tensor:
    """Evaluation transform on a batch: uint8 ``[B, H, W, 3]`` -> float ``[B, 3, H, W]``
    normalised with the recipe's statistics."""
    x = x.permute(0, 3, 1, 2).float().div_(255)
    mean = torch.tensor(RECIPES[recipe][0]).view(1, 3, 1, 1)
    std = torch.tensor(RECIPES[recipe][1]).view(1, 3, 1, 1)
    return (x - mean) / std
