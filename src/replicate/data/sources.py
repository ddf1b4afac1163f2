"""Where CIFAR-10 comes from, decoded once into a cached uint8 tensor.

One setting chooses the source: the ``data_root`` notebook parameter, else the
``$REPLICATE_DATA`` environment variable. It may name

* a tar of an ImageFolder tree (such as ``cifar10-jpeg.tar``) or a folder holding one,
* an ImageFolder tree ``<root>/cifar10/{train,test}/<class>/*`` or ``<root>/{train,test}/<class>/*``,
* a folder with torchvision's ``cifar-10-batches-py`` (downloaded there with
  ``$REPLICATE_DOWNLOAD=1`` where the network allows).

The decoded arrays are cached under ``$REPLICATE_CACHE`` (default ``~/.cache/replicate``),
keyed by a fingerprint of the source (the tar's sha256), and written atomically.
"""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
_IMG_EXT = (".jpg", ".jpeg", ".png", ".bmp")


class DataNotFoundError(FileNotFoundError):
    """The dataset could not be found; the message names both ways to provide it."""


@dataclass(frozen=True)
class Source:
    """A resolved dataset source. ``kind`` is ``tar``, ``imagefolder`` or ``torchvision``."""

    kind: str
    path: Path
    fingerprint: str  #: sha256 of the tar, or of the file list; recorded in every record

    def describe(self) -> dict:
        return {"kind": self.kind, "path": str(self.path), "sha256": self.fingerprint}


@dataclass
class Split:
    """Decoded images ``x`` uint8 ``[N, H, W, 3]`` and int64 labels ``y`` ``[N]``."""

    x: torch.Tensor
    y: torch.Tensor


def _missing(dataset: str, where: str) -> DataNotFoundError:
    return DataNotFoundError(
        f"{dataset} not found ({where}). Either set REPLICATE_DATA (or the notebook parameter "
        f"data_root) to a folder holding cifar10-jpeg.tar or an ImageFolder tree "
        f"cifar10/{{train,test}}/<class>/, or point it at a torchvision CIFAR10 root "
        f"(cifar-10-batches-py/) and set REPLICATE_DOWNLOAD=1 to let torchvision download it.")


def resolve(dataset: str = "cifar10", data_root: str | None = None) -> Source:
    """Find ``dataset`` from ``data_root`` or ``$REPLICATE_DATA``; no decoding yet.

    Raises:
        DataNotFoundError: nothing usable there (the message says how to provide the data).
        ValueError: a dataset other than ``cifar10`` (the only static set with a loader here).
    """
    if dataset != "cifar10":
        raise ValueError(f"dataset {dataset!r}: only 'cifar10' has a loader in this version")
    root = data_root or os.environ.get("REPLICATE_DATA")
    if not root:
        raise _missing(dataset, "neither data_root nor REPLICATE_DATA is set")
    p = Path(root).expanduser()
    candidates = [p] if p.is_file() else [p / "cifar10-jpeg.tar"]
    for c in candidates:
        if c.is_file() and tarfile.is_tarfile(c):
            return Source("tar", c.resolve(), _sha256(c))
    for tree in (p / "cifar10", p):
        if (tree / "train").is_dir() and (tree / "test").is_dir():
            files = sorted(str(f.relative_to(tree)) for f in tree.rglob("*")
                           if f.suffix.lower() in _IMG_EXT)
            return Source("imagefolder", tree.resolve(),
                          hashlib.sha256("\n".join(files).encode()).hexdigest())
    if (p / "cifar-10-batches-py").is_dir() or os.environ.get("REPLICATE_DOWNLOAD") == "1":
        return Source("torchvision", p.resolve(), "torchvision-cifar-10-python")
    raise _missing(dataset, f"looked in {p}")


def load(source: Source, cache_dir: str | None = None) -> tuple[Split, Split]:
    """Train and test splits of ``source``, decoded once and cached as uint8 tensors."""
    cache = Path(cache_dir or os.environ.get("REPLICATE_CACHE", "~/.cache/replicate")).expanduser()
    f = cache / f"cifar10-{source.kind}-{source.fingerprint[:16]}.pt"
    if f.is_file():
        blob = torch.load(f, weights_only=True)
        return Split(blob["train_x"], blob["train_y"]), Split(blob["test_x"], blob["test_y"])
    if source.kind == "tar":
        train, test = _decode_tar(source.path)
    elif source.kind == "imagefolder":
        train, test = _decode_tree(source.path)
    else:
        train, test = _torchvision(source.path)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(f".tmp{os.getpid()}")
    torch.save({"train_x": train.x, "train_y": train.y, "test_x": test.x, "test_y": test.y}, tmp)
    os.replace(tmp, f)
    return train, test


# ----------------------------------------------------------------------------- decoders
def _decode(blob: bytes) -> np.ndarray:
    from PIL import Image
    with Image.open(io.BytesIO(blob)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _stack(items: list[tuple[str, str, np.ndarray]], classes: list[str]) -> Split:
    items.sort(key=lambda t: (classes.index(t[0]), t[1]))
    x = torch.from_numpy(np.stack([a for _, _, a in items]))
    y = torch.tensor([classes.index(c) for c, _, _ in items], dtype=torch.int64)
    return Split(x, y)


def _classes_ok(classes: list[str], where: Path) -> list[str]:
    if tuple(classes) != CIFAR10_CLASSES:
        raise DataNotFoundError(f"{where}: class folders {classes} are not CIFAR-10's {CIFAR10_CLASSES}")
    return classes


def _decode_tar(path: Path) -> tuple[Split, Split]:
    found: dict[str, list] = {"train": [], "test": []}
    with tarfile.open(path) as tar:
        for m in tar:
            parts = Path(m.name).parts
            if not m.isfile() or len(parts) < 3 or Path(m.name).suffix.lower() not in _IMG_EXT:
                continue
            split, cls, name = parts[-3], parts[-2], parts[-1]
            if split in found:
                found[split].append((cls, name, _decode(tar.extractfile(m).read())))
    if not found["train"] or not found["test"]:
        raise DataNotFoundError(f"{path} holds no <split>/<class>/<image> files for train and test")
    classes = _classes_ok(sorted({c for c, _, _ in found["train"]}), path)
    return _stack(found["train"], classes), _stack(found["test"], classes)


def _decode_tree(root: Path) -> tuple[Split, Split]:
    out = []
    for split in ("train", "test"):
        classes = _classes_ok(sorted(d.name for d in (root / split).iterdir() if d.is_dir()), root)
        items = [(c, f.name, _decode(f.read_bytes())) for c in classes
                 for f in sorted((root / split / c).iterdir()) if f.suffix.lower() in _IMG_EXT]
        out.append(_stack(items, classes))
    return out[0], out[1]


def _torchvision(root: Path) -> tuple[Split, Split]:
    from torchvision.datasets import CIFAR10
    download = os.environ.get("REPLICATE_DOWNLOAD") == "1"
    sets = [CIFAR10(str(root), train=t, download=download) for t in (True, False)]
    return tuple(Split(torch.from_numpy(s.data), torch.tensor(s.targets, dtype=torch.int64))
                 for s in sets)  # type: ignore[return-value]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
