"""Where CIFAR-10 and CIFAR-100 come from, checked against their known shape and decoded once
into a cache.

One setting chooses the source: the ``data_root`` notebook parameter, else the
``$REPLICATE_DATA`` environment variable. It may name

* a tar of an ImageFolder tree (such as ``cifar10-jpeg.tar``; for CIFAR-100 a ``cifar100*.tar``)
  or a folder holding one,
* an ImageFolder tree ``<root>/<dataset>/{train,test}/<class>/*`` or ``<root>/{train,test}/<class>/*``,
  whose class folders are named as the dataset's classes (:data:`EXPECTED_SHAPES`; labels follow
  that order by name, not the folders' sorted position),
* a folder with torchvision's ``cifar-10-batches-py`` / ``cifar-100-python`` (read by
  ``torchvision.datasets.CIFAR10`` / ``CIFAR100``, fine labels; downloaded there with
  ``$REPLICATE_DOWNLOAD=1`` where the network allows).

Nothing wrong, nothing lost:

* Before anything is decoded or trained, the source is checked against its known shape
  (:data:`EXPECTED_SHAPES`: classes, images per class and split, image size); a tar cut short
  fails with one :class:`DataShapeError` line naming the split, the class and the counts.
  ``load(..., strict=False)`` (the ``smoke`` profile only, :func:`checks_shape`) checks only the
  class names and the image size, so that a handful of real images can drive a smoke run.
* A tar's sha256 is computed once, when its cache is built, and verified against a
  ``SHA256SUMS`` file beside it when that lists the tar. The cache is keyed by something cheap
  (the tar's resolved path, size and ``mtime_ns``) and stores the sha256 that records report.
* The decoded arrays are cached under ``$REPLICATE_CACHE`` (default ``~/.cache/replicate``)
  with a checksum of their content, written atomically (:mod:`replicate.safeio`). A damaged
  cache is moved aside (never trusted, never deleted), said so on stderr in one line, and
  rebuilt from the source; temporaries of writers that died are removed on the next load.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import re
import sys
import tarfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..safeio import DamagedFileError, atomic_write_bytes, clean_stale_temps, move_aside, pid_alive

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
#: The 100 fine labels of CIFAR-100 in label order: ``fine_label_names`` of the official
#: ``cifar-100-python/meta`` (which torchvision's ``CIFAR100.classes`` reads as is); the order
#: happens to be alphabetical.
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup",
    "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house",
    "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man",
    "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid",
    "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy",
    "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal",
    "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar",
    "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
    "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm")
#: The known shape of every dataset with a loader: class names (in label order), images per
#: class in each split, and the image size ``(H, W, C)``. A source that differs is refused.
EXPECTED_SHAPES: dict[str, dict] = {
    "cifar10": {"classes": CIFAR10_CLASSES, "per_class": {"train": 5000, "test": 1000},
                "image": (32, 32, 3)},
    "cifar100": {"classes": CIFAR100_CLASSES, "per_class": {"train": 500, "test": 100},
                 "image": (32, 32, 3)},
}
#: Where each static set is looked for: the tar name (a glob), torchvision's folder and class.
LAYOUTS: dict[str, dict] = {
    "cifar10": {"tar": "cifar10-jpeg.tar", "torchvision": "cifar-10-batches-py",
                "tv_class": "CIFAR10", "tv_label": "torchvision-cifar-10-python"},
    "cifar100": {"tar": "cifar100*.tar", "torchvision": "cifar-100-python",
                 "tv_class": "CIFAR100", "tv_label": "torchvision-cifar-100-python"},
}
#: Profiles whose source is not held to its known shape (tests only; their numbers never reach
#: the book): only class names and image size are checked, and the record says so.
UNCHECKED_PROFILES = ("smoke",)
CACHE_FORMAT = "replicate-data-cache-1"
_IMG_EXT = (".jpg", ".jpeg", ".png", ".bmp")
_SPLITS = ("train", "test")
_LEGACY_TMP = re.compile(r"^[\w.-]+-[0-9a-z-]{16}\.tmp(?P<pid>\d+)$")  # before safeio.temp_path


class DataNotFoundError(FileNotFoundError):
    """The dataset could not be found; the message names both ways to provide it."""


class DataShapeError(ValueError):
    """The source does not have its dataset's known shape (:data:`EXPECTED_SHAPES`): a class
    missing, extra or short of images, or an image of the wrong size. One line naming the
    source, the split, the class and the counts found vs expected."""


@dataclass
class Source:
    """A resolved dataset source. ``kind`` is ``tar``, ``imagefolder`` or ``torchvision``.

    ``key`` is a cheap identity (for a tar: its resolved path, size and ``mtime_ns``) that names
    the cache; ``sha256`` is the content fingerprint recorded in every record. For a tar it is
    ``None`` until :func:`load` reads it from the cache (or computes it once, building the cache).
    """

    kind: str
    path: Path
    key: str
    sha256: str | None = None
    dataset: str = "cifar10"

    def describe(self) -> dict:
        """``{"kind", "path", "sha256"}`` for the record. Before :func:`load`, a tar's sha256 is
        computed here (one pass over the file)."""
        if self.sha256 is None:
            self.sha256 = _sha256(self.path)
        return {"kind": self.kind, "path": str(self.path), "sha256": self.sha256}


@dataclass
class Split:
    """Decoded images ``x`` uint8 ``[N, H, W, 3]`` and int64 labels ``y`` ``[N]``."""

    x: torch.Tensor
    y: torch.Tensor


def checks_shape(profile: str) -> bool:
    """Whether a run of ``profile`` holds its source to the dataset's full known shape
    (every profile but those in :data:`UNCHECKED_PROFILES`)."""
    return profile not in UNCHECKED_PROFILES


def _missing(dataset: str, where: str) -> DataNotFoundError:
    lay = LAYOUTS[dataset]
    return DataNotFoundError(
        f"{dataset} not found ({where}). Either set REPLICATE_DATA (or the notebook parameter "
        f"data_root) to a folder holding {lay['tar']} or an ImageFolder tree "
        f"{dataset}/{{train,test}}/<class>/, or point it at a torchvision {lay['tv_class']} root "
        f"({lay['torchvision']}/) and set REPLICATE_DOWNLOAD=1 to let torchvision download it.")


def _key(*parts) -> str:
    return hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()


def _find_tar(dataset: str, p: Path) -> Path | None:
    """``p`` itself if it is a tar, else the one tar in ``p`` matching the dataset's name.

    Raises:
        DataNotFoundError: several tars match (the message names them; set data_root to one).
    """
    if p.is_file():
        return p if tarfile.is_tarfile(p) else None
    found = sorted(f for f in p.glob(LAYOUTS[dataset]["tar"]) if f.is_file()) if p.is_dir() else []
    if len(found) > 1:
        raise DataNotFoundError(f"{dataset}: several tars in {p} ({', '.join(f.name for f in found)}); "
                                f"set REPLICATE_DATA (or data_root) to the one to use")
    return found[0] if found and tarfile.is_tarfile(found[0]) else None


def _tree_source(dataset: str, tree: Path) -> Source:
    files = sorted(f for f in tree.rglob("*") if f.suffix.lower() in _IMG_EXT)
    names = "\n".join(str(f.relative_to(tree)) for f in files)
    stats = [(f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    return Source("imagefolder", tree.resolve(), _key("imagefolder", tree.resolve(), names, stats),
                  hashlib.sha256(names.encode()).hexdigest(), dataset)


def resolve(dataset: str = "cifar10", data_root: str | None = None) -> Source:
    """Find ``dataset`` (``cifar10`` or ``cifar100``) from ``data_root`` or ``$REPLICATE_DATA``;
    cheap: no decoding, no hashing of the tar. Looks for, in order: a tar (``data_root`` itself,
    or :data:`LAYOUTS`' tar name in it), an ImageFolder tree ``<root>/<dataset>/{train,test}``
    or ``<root>/{train,test}``, torchvision's folder (or any root with ``$REPLICATE_DOWNLOAD=1``).

    Raises:
        DataNotFoundError: nothing usable there, or several candidate tars (the message says how
            to provide the data).
        ValueError: a dataset without a static-image loader here.
    """
    if dataset not in LAYOUTS:
        raise ValueError(f"dataset {dataset!r}: only {', '.join(map(repr, LAYOUTS))} have a "
                         f"static-image loader in this version")
    root = data_root or os.environ.get("REPLICATE_DATA")
    if not root:
        raise _missing(dataset, "neither data_root nor REPLICATE_DATA is set")
    p = Path(root).expanduser()
    c = _find_tar(dataset, p)
    if c is not None:
        c, st = c.resolve(), c.stat()
        return Source("tar", c, _key("tar", c, st.st_size, st.st_mtime_ns), None, dataset)
    for tree in (p / dataset, p):
        if (tree / "train").is_dir() and (tree / "test").is_dir():
            return _tree_source(dataset, tree)
    lay = LAYOUTS[dataset]
    if (p / lay["torchvision"]).is_dir() or os.environ.get("REPLICATE_DOWNLOAD") == "1":
        return Source("torchvision", p.resolve(), _key("torchvision", p.resolve()), lay["tv_label"],
                      dataset)
    if dataset == "cifar100" and (p / LOSSLESS_SAMPLES).is_file():
        return _tree_source(dataset, _sample_tree(p / LOSSLESS_SAMPLES, dataset))
    raise _missing(dataset, f"looked in {p}")


#: The shared data's 20 lossless CIFAR-100 test images: enough for a smoke run, nothing else.
LOSSLESS_SAMPLES = "cifar-lossless-samples.tar"


def _sample_tree(tar: Path, dataset: str) -> Path:
    """The ImageFolder tree of the lossless samples under the cache, made once (in a temporary
    folder renamed into place). Its shape is not the dataset's: only ``smoke`` accepts it."""
    st = tar.stat()
    final = cache_root() / f"{dataset}-lossless-sample-{_key(tar.resolve(), st.st_size, st.st_mtime_ns)[:16]}"
    if not final.is_dir():
        tmp = final.with_name(f"{final.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        lossless_sample_tree(tar, tmp, dataset)
        try:
            tmp.rename(final)
        except OSError:  # another process finished first: use its copy
            shutil.rmtree(tmp, ignore_errors=True)
    return final / dataset


def lossless_sample_tree(tar: str | Path, dest: str | Path, dataset: str = "cifar100") -> Path:
    """Unpack the lossless ``dataset`` test images of ``cifar-lossless-samples.tar`` (shared data)
    into an ImageFolder tree ``dest/<dataset>/{train,test}/<class>/<file>.png`` whose class folders
    are named as its ``labels.csv`` says; the same images in both splits. For smoke runs and tests
    only: the tree is not the dataset's shape, so only a ``smoke`` profile accepts it. Returns
    ``dest`` (a ``data_root``).

    Raises:
        DataNotFoundError: ``tar`` is missing or holds no ``labels.csv`` rows of ``dataset``.
        DataShapeError: ``labels.csv`` names a class that is not the label's class of ``dataset``.
    """
    import csv

    tar, dest = Path(tar), Path(dest)
    if not tar.is_file():
        raise DataNotFoundError(f"{tar} not found: it is cifar-lossless-samples.tar of the shared data")
    classes = _shape(dataset)["classes"]
    with tarfile.open(tar) as tf:
        top = next(m.name for m in tf.getmembers() if m.name.endswith("labels.csv"))
        rows = [r for r in csv.DictReader(io.TextIOWrapper(tf.extractfile(top), "utf-8"))
                if r["dataset"] == dataset]
        if not rows:
            raise DataNotFoundError(f"{tar}: labels.csv lists no {dataset} image")
        for r in rows:
            if classes[int(r["label"])] != r["class_name"]:
                raise DataShapeError(f"{tar}: {r['file']} is labelled {r['label']} "
                                     f"{r['class_name']!r}, but {dataset} class {r['label']} is "
                                     f"{classes[int(r['label'])]!r}")
            blob = tf.extractfile(str(Path(top).parent / r["file"])).read()
            for split in _SPLITS:
                f = dest / dataset / split / r["class_name"] / Path(r["file"]).name
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_bytes(blob)
    return dest


# ----------------------------------------------------------------------------- cache
def cache_root(cache: str | Path | None = None) -> Path:
    """The cache folder: ``cache``, else ``$REPLICATE_CACHE``, else ``~/.cache/replicate``."""
    return Path(cache or os.environ.get("REPLICATE_CACHE", "~/.cache/replicate")).expanduser()


def cache_path(source: Source, cache: str | Path | None = None) -> Path:
    """Where the decoded arrays of ``source`` are cached (named by its cheap ``key``)."""
    return cache_root(cache) / f"{source.dataset}-{source.kind}-{source.key[:16]}.pt"


def load(source: Source, cache_dir: str | Path | None = None, *,
         strict: bool = True) -> tuple[Split, Split]:
    """Train and test splits of ``source``, decoded once, checked against the dataset's known
    shape and cached as uint8 tensors with a checksum. Sets ``source.sha256``.

    ``strict=False`` (smoke runs only, :func:`checks_shape`) checks only that every class is one
    of the dataset's, that each split has images, and the image size; counts per class are not
    checked. A cache built that way is checked again, strictly, by a strict load.

    A damaged cache (garbled, truncated, or not of this format) is moved aside, said so on
    stderr in one line, and rebuilt. Temporaries of dead writers in the cache folder are removed.

    Raises:
        DataShapeError: the source is not the dataset's known shape (no cache is written);
            with ``strict=False``: an unknown class, an empty split or a wrong image size.
        DamagedFileError: the tar fails its ``SHA256SUMS`` entry, or a member cannot be read or
            decoded; the message names the file.
        DataNotFoundError: the source holds no ``<split>/<class>/<image>`` files.
        DiskFullError: no space left for the cache (nothing half-written is left).
    """
    f = cache_path(source, cache_dir)
    _clean_temps(f.parent)
    if f.is_file():
        try:
            train, test, meta = _read_cache(f, source, strict)
            source.sha256 = meta["sha256"]
            return train, test
        except DamagedFileError as e:
            _set_aside(f, e, source)
    train, test, sha = _build(source, strict)
    _write_cache(f, source, sha, train, test)
    source.sha256 = sha
    return train, test


def _set_aside(f: Path, err: DamagedFileError, source: Source) -> None:
    """Move a damaged cache aside (a concurrent reader may have done so) and say so in one line."""
    try:
        where = f"moved aside to {move_aside(f).name}"
    except FileNotFoundError:
        where = "already moved aside by another process"
    print(f"replicate: {' '.join(str(err).split())}; {where}, rebuilding it from {source.path}",
          file=sys.stderr, flush=True)


def _clean_temps(folder: Path) -> None:
    """safeio's stale temporaries, and those named ``<cache>.tmp<pid>`` by earlier versions."""
    clean_stale_temps(folder)
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        m = _LEGACY_TMP.match(p.name)
        if m and p.is_file() and not pid_alive(int(m["pid"])):
            p.unlink(missing_ok=True)


_TENSORS = ("train_x", "train_y", "test_x", "test_y")


def _checksum(meta: dict, tensors: dict) -> str:
    """sha256 over the metadata and every tensor's name, dtype, shape and bytes."""
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for name in _TENSORS:
        t = tensors[name].contiguous()
        h.update(f"\0{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.numpy().reshape(-1).view(np.uint8).data)
    return h.hexdigest()


def _write_cache(f: Path, source: Source, sha: str, train: Split, test: Split) -> None:
    meta = {"format": CACHE_FORMAT, "dataset": source.dataset, "kind": source.kind,
            "path": str(source.path), "key": source.key, "sha256": sha}
    tensors = {"train_x": train.x, "train_y": train.y, "test_x": test.x, "test_y": test.y}
    buf = io.BytesIO()
    torch.save({"meta": meta, "checksum": _checksum(meta, tensors), **tensors}, buf)
    with buf.getbuffer() as view:
        atomic_write_bytes(f, view)


def _read_cache(f: Path, source: Source, strict: bool = True) -> tuple[Split, Split, dict]:
    """The cached splits and metadata, verified (and shape-checked as :func:`load` says).

    Raises:
        DamagedFileError: unreadable, truncated, garbled, of another format or another source.
        DataShapeError: the cached splits are not the dataset's known shape.
    """
    try:
        blob = torch.load(f, map_location="cpu", weights_only=True)
    except Exception as e:  # zip, pickle and EOF errors all mean the same: not a good file
        raise DamagedFileError(f, f"cannot be read ({type(e).__name__}: {str(e)[:120]})") from None
    if not isinstance(blob, dict) or not isinstance(blob.get("meta"), dict) \
            or blob["meta"].get("format") != CACHE_FORMAT:
        raise DamagedFileError(f, f"not a {CACHE_FORMAT} file")
    meta = blob["meta"]
    try:
        ok = all(isinstance(blob.get(n), torch.Tensor) for n in _TENSORS) \
            and _checksum(meta, blob) == blob.get("checksum")
    except Exception:  # garbled metadata that json or numpy cannot take
        ok = False
    if not ok:
        raise DamagedFileError(f, "checksum mismatch (the file was changed or garbled)")
    if meta.get("key") != source.key:
        raise DamagedFileError(f, f"was built from another source ({meta.get('path')})")
    train, test = Split(blob["train_x"], blob["train_y"]), Split(blob["test_x"], blob["test_y"])
    check_shape(source, "train", train, strict)
    check_shape(source, "test", test, strict)
    return train, test, meta


# ----------------------------------------------------------------------------- known shape
def _shape(dataset: str) -> dict:
    return EXPECTED_SHAPES[dataset]


def check_counts(source: Source, split: str, counts: dict[str, int], strict: bool = True) -> None:
    """Images per class of one split (``{class name: count}``) against the known shape;
    ``strict=False``: only that every class is known and the split is not empty.

    Raises:
        DataShapeError: a class missing, unknown or with another count (not strict: unknown, or
            no image at all); one line naming the source path, the split, the class and the
            counts found vs expected.
    """
    shape = _shape(source.dataset)
    classes, want = shape["classes"], shape["per_class"][split]
    unknown = sorted(set(counts) - set(classes))
    if unknown:
        raise DataShapeError(
            f"{source.path}: {split} split has class {unknown[0]!r} ({counts[unknown[0]]} images), "
            f"not one of {source.dataset}'s {len(classes)} classes {list(classes)}")
    if not strict:
        if sum(counts.values()) == 0:
            raise DataShapeError(f"{source.path}: {split} split has no images")
        return
    bad = [c for c in classes if counts.get(c, 0) != want]
    if bad:
        more = f"; {len(bad) - 1} more classes differ" if len(bad) > 1 else ""
        raise DataShapeError(
            f"{source.path}: {split} split, class {bad[0]!r} has {counts.get(bad[0], 0)} images, "
            f"expected {want} ({source.dataset}: {len(classes)} classes x {want} {split} images)"
            f"{more}")


def check_shape(source: Source, split: str, data: Split, strict: bool = True) -> None:
    """A decoded split against the known shape: counts per class (``strict`` only, see
    :func:`check_counts`), labels in range and image size.

    Raises:
        DataShapeError: see :func:`check_counts`, labels out of range, or images of another size.
    """
    shape = _shape(source.dataset)
    classes = shape["classes"]
    if data.y.numel() and (int(data.y.min()) < 0 or int(data.y.max()) >= len(classes)):
        raise DataShapeError(f"{source.path}: {split} split has labels outside 0..{len(classes) - 1}")
    found = torch.bincount(data.y, minlength=len(classes)).tolist()
    check_counts(source, split, dict(zip(classes, found)), strict)
    if tuple(data.x.shape[1:]) != tuple(shape["image"]) or data.x.dtype != torch.uint8:
        raise DataShapeError(f"{source.path}: {split} split has images {tuple(data.x.shape[1:])} "
                             f"{data.x.dtype}, expected {tuple(shape['image'])} uint8")


# ----------------------------------------------------------------------------- build
def _build(source: Source, strict: bool = True) -> tuple[Split, Split, str]:
    """Decode ``source`` (verified and shape-checked first); return the splits and sha256."""
    if source.kind == "tar":
        sha = verify_tar(source.path)
        train, test = _decode_tar(source, strict)
    elif source.kind == "imagefolder":
        sha = source.sha256 or ""
        train, test = _decode_tree(source, strict)
    else:
        sha = source.sha256 or ""
        train, test = _torchvision(source)
    check_shape(source, "train", train, strict)
    check_shape(source, "test", test, strict)
    return train, test, sha


def expected_sha256(path: Path) -> tuple[Path, str] | None:
    """``(SHA256SUMS file, sha256)`` when a ``SHA256SUMS`` beside ``path`` lists its name."""
    sums = path.parent / "SHA256SUMS"
    if not sums.is_file():
        return None
    for line in sums.read_text(errors="replace").splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[1].strip().lstrip("*") == path.name:
            return sums, parts[0].lower()
    return None


def verify_tar(path: Path) -> str:
    """The tar's sha256 (one pass), checked against ``SHA256SUMS`` beside it if that lists it.

    Raises:
        DamagedFileError: the sha256 differs from the ``SHA256SUMS`` entry; one line naming both.
    """
    sha = _sha256(path)
    listed = expected_sha256(path)
    if listed and listed[1] != sha:
        raise DamagedFileError(path, f"sha256 {sha} differs from {listed[1]} listed in {listed[0]}")
    return sha


def _decode(blob: bytes) -> np.ndarray:
    from PIL import Image
    with Image.open(io.BytesIO(blob)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _stack(items: list[tuple[str, str, np.ndarray]], source: Source, split: str) -> Split:
    classes = list(_shape(source.dataset)["classes"])
    image = tuple(_shape(source.dataset)["image"])
    for c, name, a in items:
        if a.shape != image:
            raise DataShapeError(f"{source.path}: {split}/{c}/{name} is {a.shape}, expected {image}")
    items.sort(key=lambda t: (classes.index(t[0]), t[1]))
    x = torch.from_numpy(np.stack([a for _, _, a in items]))
    y = torch.tensor([classes.index(c) for c, _, _ in items], dtype=torch.int64)
    return Split(x, y)


def _tar_members(tar: tarfile.TarFile) -> dict[str, list]:
    found: dict[str, list] = {s: [] for s in _SPLITS}
    for m in tar.getmembers():
        parts = Path(m.name).parts
        if not m.isfile() or len(parts) < 3 or Path(m.name).suffix.lower() not in _IMG_EXT:
            continue
        if parts[-3] in found:
            found[parts[-3]].append((parts[-2], parts[-1], m))
    return found


def _decode_tar(source: Source, strict: bool = True) -> tuple[Split, Split]:
    """Count the members per class first (fails fast on a cut tar), then decode.

    Raises:
        DataNotFoundError, DataShapeError, DamagedFileError (unreadable tar or image).
    """
    path, out = source.path, []
    try:
        with tarfile.open(path) as tar:
            found = _tar_members(tar)
            if not found["train"] or not found["test"]:
                raise DataNotFoundError(f"{path} holds no <split>/<class>/<image> files for train and test")
            for split in _SPLITS:
                check_counts(source, split, Counter(c for c, _, _ in found[split]), strict)
            for split in _SPLITS:
                items = []
                for c, name, m in found[split]:
                    try:
                        items.append((c, name, _decode(tar.extractfile(m).read())))
                    except (OSError, ValueError, SyntaxError) as e:  # PIL's ways to refuse an image
                        raise DamagedFileError(path, f"member {m.name} cannot be decoded "
                                                     f"({type(e).__name__}: {str(e)[:80]})") from None
                out.append(_stack(items, source, split))
    except (tarfile.TarError, EOFError) as e:
        raise DamagedFileError(path, f"cannot be read as a tar ({type(e).__name__}: {e})") from None
    return out[0], out[1]


def _decode_tree(source: Source, strict: bool = True) -> tuple[Split, Split]:
    root, files = source.path, {}
    for split in _SPLITS:
        dirs = sorted(d for d in (root / split).iterdir() if d.is_dir())
        files[split] = {d.name: sorted(f for f in d.iterdir() if f.suffix.lower() in _IMG_EXT)
                        for d in dirs}
        check_counts(source, split, {c: len(fs) for c, fs in files[split].items()}, strict)
    out = []
    for split in _SPLITS:
        items = [(c, f.name, _decode(f.read_bytes())) for c, fs in files[split].items() for f in fs]
        out.append(_stack(items, source, split))
    return out[0], out[1]


def _torchvision(source: Source) -> tuple[Split, Split]:
    """Both splits through ``torchvision.datasets.CIFAR10`` / ``CIFAR100`` (fine labels), which
    verify the official files' md5; its class names must be the dataset's, in order.

    Raises:
        DataNotFoundError: torchvision finds no (or no intact) copy; the message says how to get it.
        DataShapeError: the copy's class names differ from :data:`EXPECTED_SHAPES`.
    """
    import torchvision.datasets as tvd
    dataset, root = source.dataset, source.path
    download = os.environ.get("REPLICATE_DOWNLOAD") == "1"
    try:
        sets = [getattr(tvd, LAYOUTS[dataset]["tv_class"])(str(root), train=t, download=download)
                for t in (True, False)]
    except RuntimeError as e:  # torchvision's "not found or corrupted" (md5) errors
        raise _missing(dataset, f"torchvision: {' '.join(str(e).split())} in {root}") from None
    got, want = list(sets[0].classes), list(_shape(dataset)["classes"])
    if got != want:
        i = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        raise DataShapeError(
            f"{root}: torchvision {LAYOUTS[dataset]['tv_class']} has {len(got)} classes, not "
            f"{dataset}'s {len(want)} in order: class {i} is {got[i] if i < len(got) else None!r}, "
            f"expected {want[i] if i < len(want) else None!r}")
    return tuple(Split(torch.from_numpy(s.data), torch.tensor(s.targets, dtype=torch.int64))
                 for s in sets)  # type: ignore[return-value]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
