"""ImageNet-1k (ILSVRC-2012): an ImageFolder tree on disk, streamed per sample (no decoded
cache at this size) through DataLoader workers, with the recipes' transforms.

Where it comes from: ``data_root`` (else ``$REPLICATE_DATA``) names a folder holding
``imagenet/{train,val}/<wnid>/*.JPEG`` (or ``imagenet-sample/val/...``, the one-image-per-class
sample), or is such a tree itself. The official val set must be sorted into its 1000 class
folders (the ILSVRC-2012 val tarball is flat).

Known shape: the 1000 ILSVRC-2012 wnids (timm's ``imagenet_synsets.txt``), label = index in
sorted-wnid order (0 = n01440764 tench), every class folder non-empty; at every profile but
``smoke`` both splits must be there and val must hold 50 images per class (train counts vary,
732–1300). At ``smoke`` a tree with only ``val/`` (``imagenet-sample.tar``) is used as both the
train and the test split; only the 1000 classes are checked, and the record says
``"shape_checked": False``.

Recipes (:data:`RECIPES`):

* ``imagenet_rrc224`` (ICML 2025 / NeurIPS 2025): ``load_dataset()`` of ``util/data.py`` in
  github.com/Intelli-Chip-Lab/snn_temporal_decoupling_distillation @ e3f5fd4 (identical in
  enhanced-self-distillation-framework-for-snn @ d44e876). Train: torchvision
  RandomResizedCrop(224) (scale 0.08–1, ratio 3/4–4/3, bilinear), horizontal flip, ImageNet
  mean/std. Eval: Resize(256), CenterCrop(224).
* ``cml_imagenet`` (Spikingformer-CML, github.com/zhouchenlin2096/Spikingformer-CML @ 8e51213,
  ``imagenet/train.py`` + ``imagenet/imagenet.yml``): timm's pipeline with ``scale [1, 1]`` and
  the argparse default ``ratio [1, 1]``, which makes RandomResizedCrop a centre-square crop
  (side = the shorter side) resized to 224, bicubic; flip 0.5; RandAugment
  ``rand-m9-mstd0.5-inc1``; random erasing 0.25 const. Eval: resize the shorter side to 224
  (crop_pct 1.0), centre crop 224, bicubic. The original's colour jitter 0.4 is inert while
  RandAugment is on (timm disables it) and is not applied. Mixup/cutmix and label smoothing act
  on the batch (:mod:`replicate.train`).

Each recipe reads its augmentation fields from the config (``hflip``; ``cml_imagenet`` also
``randaugment`` and ``random_erasing``); a field it does not implement must be off.
"""
from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..safeio import DamagedFileError
from .registry import RunData, register_dataset
from .sources import DataNotFoundError, DataShapeError
from .subsets import balanced_indices, index_hash
from .transforms import fix_posterize, posterize  # noqa: F401  (posterize re-exported)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NUM_CLASSES = 1000
VAL_PER_CLASS = 50  #: the official ILSVRC-2012 val set: 50,000 images, 50 per class
_TREES = ("imagenet", "imagenet-sample", ".")
SAMPLE_TAR = "imagenet-sample.tar"


def _sample_tree(tar: Path) -> Path:
    """``imagenet-sample.tar`` extracted once under the cache (``$REPLICATE_CACHE``), in a
    temporary folder renamed into place; returns its ``imagenet-sample`` tree."""
    import shutil
    import tarfile

    from .sources import cache_root
    st = tar.stat()
    key = hashlib.sha256(f"{tar.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:16]
    final = cache_root() / f"imagenet-sample-{key}"
    if not final.is_dir():
        tmp = final.with_name(f"{final.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            with tarfile.open(tar) as tf:
                tf.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise DamagedFileError(tar, f"cannot be extracted ({e})") from None
        try:
            tmp.rename(final)
        except OSError:  # another process finished first: use its copy
            shutil.rmtree(tmp, ignore_errors=True)
    return final / "imagenet-sample"


@functools.cache
def wnids() -> tuple[str, ...]:
    """The 1000 ILSVRC-2012 wnids in label order (sorted; timm's ``imagenet_synsets.txt``)."""
    from timm.data import ImageNetInfo
    names = tuple(ImageNetInfo().label_names())
    assert len(names) == NUM_CLASSES and list(names) == sorted(names)
    return names


def rgb_loader(path: str) -> Image.Image:
    """Open an image file as 3-channel RGB (grayscale and CMYK JPEGs are converted).

    Raises:
        DamagedFileError: the file cannot be read or decoded (names the file).
    """
    try:
        with open(path, "rb") as fh:
            img = Image.open(fh)
            return img.convert("RGB")
    except (OSError, ValueError, SyntaxError) as e:  # PIL's ways to refuse an image
        raise DamagedFileError(path, f"cannot be decoded ({type(e).__name__}: {str(e)[:80]})") from None


# ----------------------------------------------------------------------------- transforms
def _rrc224_train(hflip: float, randaugment: str | None, random_erasing: float):
    from torchvision import transforms as T
    ops = [T.RandomResizedCrop(224)] + ([T.RandomHorizontalFlip(hflip)] if hflip > 0 else [])
    return T.Compose(ops + [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def _rrc224_eval():
    from torchvision import transforms as T
    return T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                      T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def _cml_train(hflip: float, randaugment: str | None, random_erasing: float):
    from timm.data import create_transform
    return fix_posterize(create_transform(
        224, is_training=True, scale=(1.0, 1.0), ratio=(1.0, 1.0), hflip=hflip, color_jitter=None,
        auto_augment=randaugment, interpolation="bicubic", mean=IMAGENET_MEAN, std=IMAGENET_STD,
        re_prob=random_erasing, re_mode="const", re_count=1))


def _cml_eval():
    from timm.data import create_transform
    return create_transform(224, is_training=False, crop_pct=1.0, interpolation="bicubic",
                            mean=IMAGENET_MEAN, std=IMAGENET_STD)


@dataclass(frozen=True)
class Recipe:
    """A recipe's train and eval transform builders and the config fields it reads."""

    train: object
    eval: object
    reads: tuple[str, ...]


RECIPES: dict[str, Recipe] = {
    "imagenet_rrc224": Recipe(_rrc224_train, _rrc224_eval, ("hflip",)),
    "cml_imagenet": Recipe(_cml_train, _cml_eval, ("hflip", "randaugment", "random_erasing")),
}
#: Augmentation fields of the config and their "off" value.
_AUG_OFF = {"randaugment": None, "random_erasing": 0.0, "crop_padding": None, "autoaugment": None,
            "cutout": None}


def _recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"recipe {name!r} is not an ImageNet recipe; one of {sorted(RECIPES)}")
    return RECIPES[name]


def _refuse_unread(recipe: str, fields: dict) -> None:
    r = _recipe(recipe)
    for name, value in fields.items():
        if name not in r.reads and value not in (_AUG_OFF[name], 0, False):
            raise ValueError(f"recipe {recipe!r} has no {name} (got {value!r}); set {name}="
                             f"{_AUG_OFF[name]!r} or use a recipe with it ({sorted(RECIPES)})")


def train_transform(recipe: str, *, hflip: float = 0.5, randaugment: str | None = None,
                    random_erasing: float = 0.0):
    """Per-sample training transform: an RGB PIL image of any size -> float ``[3, 224, 224]``,
    normalised with the ImageNet mean/std (``randaugment``/``random_erasing``: ``cml_imagenet``
    only).

    Raises:
        ValueError: an unknown recipe, or an augmentation the recipe does not implement.
    """
    _refuse_unread(recipe, {"randaugment": randaugment, "random_erasing": random_erasing})
    return _recipe(recipe).train(hflip, randaugment, random_erasing)


def eval_transform(recipe: str):
    """Evaluation transform: an RGB PIL image of any size -> normalised float ``[3, 224, 224]``.

    Raises:
        ValueError: an unknown recipe.
    """
    return _recipe(recipe).eval()


def check_recipe_fields(cfg) -> None:
    """The config's augmentation fields that ``cfg.recipe`` does not implement are all off.

    Raises:
        ValueError: an unknown recipe, or such a field set; one line naming it.
    """
    _refuse_unread(cfg.recipe, {name: getattr(cfg, name) for name in _AUG_OFF})


# ----------------------------------------------------------------------------- source
@dataclass
class ImageNetSource:
    """A resolved ImageNet tree: ``root/val/<wnid>/`` and, when ``has_train``, ``root/train/``."""

    root: Path
    has_train: bool
    dataset: str = "imagenet"


def _missing(where: str) -> DataNotFoundError:
    return DataNotFoundError(
        f"imagenet not found ({where}). Set REPLICATE_DATA (or the notebook parameter data_root) "
        f"to a folder holding an ImageFolder tree imagenet/{{train,val}}/<wnid>/*.JPEG (ILSVRC-2012, "
        f"val sorted into its 1000 class folders), or, for profile smoke only, the folder where "
        f"imagenet-sample.tar was extracted (tar -xf imagenet-sample.tar -C DIR).")


def resolve(data_root: str | None = None) -> ImageNetSource:
    """Find the tree from ``data_root`` or ``$REPLICATE_DATA``: ``<root>/imagenet``,
    ``<root>/imagenet-sample`` or ``<root>`` itself, the first with a ``val/`` folder.
    Cheap: no file is listed or opened.

    Raises:
        DataNotFoundError: no such tree (one line naming how to get it; a tar found there is
            named with the command that extracts it).
    """
    root = data_root or os.environ.get("REPLICATE_DATA")
    if not root:
        raise _missing("neither data_root nor REPLICATE_DATA is set")
    p = Path(root).expanduser()
    for tree in (p / t for t in _TREES):
        if (tree / "val").is_dir():
            return ImageNetSource(tree.resolve(), (tree / "train").is_dir())
    if (p / SAMPLE_TAR).is_file():  # the shared data's one image per class: smoke only
        return ImageNetSource(_sample_tree(p / SAMPLE_TAR), False)
    tars = sorted(t.name for t in p.glob("imagenet*.tar")) if p.is_dir() else []
    hint = f"; found {tars[0]} there, extract it first: tar -xf {p / tars[0]} -C DIR" if tars else ""
    raise _missing(f"no val/ folder in {p}/{{imagenet,imagenet-sample,.}}{hint}")


# ----------------------------------------------------------------------------- scan and check
@dataclass
class SplitFiles:
    """One split's files: paths relative to the source root (``np.bytes_`` ``[N]``, compact and
    shared copy-on-write by DataLoader workers without refcount traffic), labels int64 ``[N]``,
    images per class ``[1000]`` and the sha256 of the sorted relative paths (names, not contents)."""

    split: str
    files: np.ndarray
    targets: np.ndarray
    counts: np.ndarray
    names_sha256: str


def scan(source: ImageNetSource, split: str) -> SplitFiles:
    """List ``<root>/<split>/<wnid>/*`` with torchvision's ImageFolder rules (no image is opened)
    and check the class folders: exactly the 1000 wnids, none empty.

    Raises:
        DataShapeError: no class folders (e.g. the flat official val), a class missing or
            unknown, or an empty class folder; one line naming the split and the class.
    """
    from torchvision.datasets import ImageFolder
    where = source.root / split
    try:
        folder = ImageFolder(str(where), loader=rgb_loader, allow_empty=True)
    except FileNotFoundError:
        raise DataShapeError(f"{where}: no <wnid>/ class folders (the official ILSVRC-2012 val is "
                             f"flat: sort it into its 1000 class folders first)") from None
    known = wnids()
    if tuple(folder.classes) != known:
        unknown = sorted(set(folder.classes) - set(known))
        missing = sorted(set(known) - set(folder.classes))
        what = f"class {unknown[0]!r} is not an ILSVRC-2012 wnid" if unknown else \
            f"class {missing[0]!r} is missing ({len(missing)} of 1000 missing)"
        raise DataShapeError(f"{where}: {what}; expected the {NUM_CLASSES} ILSVRC-2012 class folders, "
                             f"found {len(folder.classes)}")
    targets = np.asarray(folder.targets, dtype=np.int64)
    counts = np.bincount(targets, minlength=NUM_CLASSES)
    if (counts == 0).any():
        empty = np.flatnonzero(counts == 0)
        raise DataShapeError(f"{where}: class {known[empty[0]]!r} has no images "
                             f"({len(empty)} empty class folders)")
    cut = len(str(where)) + 1  # ImageFolder's order: sorted classes, then sorted file names
    rel = [f"{split}/{p[cut:]}" for p, _ in folder.samples]
    files = np.array([os.fsencode(p) for p in rel], dtype=np.bytes_)
    names = hashlib.sha256("\n".join(rel).encode()).hexdigest()
    return SplitFiles(split, files, targets, counts, names)


def check_val(source: ImageNetSource, val: SplitFiles) -> None:
    """The official val split: 50 images in each of the 1000 classes.

    Raises:
        DataShapeError: another count; one line naming the first class that differs.
    """
    bad = np.flatnonzero(val.counts != VAL_PER_CLASS)
    if len(bad):
        more = f"; {len(bad) - 1} more classes differ" if len(bad) > 1 else ""
        raise DataShapeError(
            f"{source.root / 'val'}: class {wnids()[bad[0]]!r} has {val.counts[bad[0]]} images, "
            f"expected {VAL_PER_CLASS} (ILSVRC-2012 val: {NUM_CLASSES} classes x {VAL_PER_CLASS})"
            f"{more}")


def splits(source: ImageNetSource, profile: str) -> tuple[SplitFiles, SplitFiles]:
    """``(train, val)`` of ``source``, checked for ``profile``: strict (both splits, 50 val
    images per class) at every profile but ``smoke``; at ``smoke`` a missing ``train/`` is
    replaced by ``val/`` and only the class folders are checked.

    Raises:
        DataShapeError: see :func:`scan` and :func:`check_val`, or no ``train/`` at a strict profile.
    """
    if not source.has_train and profile != "smoke":
        raise DataShapeError(
            f"{source.root}: no train/ split (only val/); profile {profile!r} needs ImageNet-1k's "
            f"train/ and val/ class folders (only profile smoke may train on val/ alone)")
    val = scan(source, "val")
    if profile != "smoke":
        check_val(source, val)
    return (scan(source, "train") if source.has_train else val), val


# ----------------------------------------------------------------------------- datasets
class ImageFiles(Dataset):
    """Images streamed from disk: item ``i`` is ``(transform(RGB PIL image), label)``, i.e. a
    normalised float ``[3, 224, 224]`` and an int, decoded when asked (in a DataLoader worker).

    Raises (on item access):
        DamagedFileError: the file cannot be decoded (names it).
    """

    def __init__(self, root: Path, files: np.ndarray, targets: np.ndarray, transform):
        self.root, self.files, self.targets, self.transform = str(root), files, targets, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        img = rgb_loader(os.path.join(self.root, os.fsdecode(self.files[i])))
        return self.transform(img), int(self.targets[i])


def _subset(source, split: SplitFiles, size: int | None, seed: int, transform):
    idx = balanced_indices(torch.from_numpy(split.targets), size, seed)
    ix = idx.numpy()
    return ImageFiles(source.root, split.files[ix], split.targets[ix], transform), idx


def build(cfg, source: ImageNetSource) -> RunData:
    """The run data of ``cfg`` from ``source``: a class-balanced train subset (train transform of
    ``cfg.recipe``, per sample), the curve and final subsets of val (eval transform), each a
    Dataset of ``(float [3, 224, 224], int)`` read from disk per item; the provenance names the
    tree, the file-list fingerprints, the subsets and whether the shape was checked.

    Raises:
        ValueError: an unknown recipe, an augmentation it lacks, or a subset larger than a class.
        DataShapeError: see :func:`splits` (strict at every profile but ``smoke``).
    """
    check_recipe_fields(cfg)
    train, val = splits(source, cfg.profile)
    tf_train = train_transform(cfg.recipe, hflip=cfg.hflip, randaugment=cfg.randaugment,
                               random_erasing=cfg.random_erasing)
    tf_eval = eval_transform(cfg.recipe)
    tr, tr_idx = _subset(source, train, cfg.train_subset, cfg.data_seed, tf_train)
    cu, cu_idx = _subset(source, val, cfg.curve_test_subset, cfg.data_seed, tf_eval)
    fi, fi_idx = _subset(source, val, cfg.final_test_subset, cfg.data_seed, tf_eval)
    both = hashlib.sha256(f"{train.split}:{train.names_sha256}\nval:{val.names_sha256}".encode())
    prov = {"source": {"kind": "imagefolder", "path": str(source.root), "sha256": both.hexdigest(),
                       "train_split": train.split, "train_images": len(train.files),
                       "val_images": len(val.files)},
            "shape_checked": cfg.profile != "smoke", "recipe": cfg.recipe,
            "train_size": len(tr_idx), "train_index_hash": index_hash(tr_idx),
            "curve_test_size": len(cu_idx), "curve_test_index_hash": index_hash(cu_idx),
            "final_test_size": len(fi_idx), "final_test_index_hash": index_hash(fi_idx)}
    return RunData(tr, cu, fi, NUM_CLASSES, prov)


register_dataset("imagenet", resolve=resolve, build=build, num_classes=NUM_CLASSES)
