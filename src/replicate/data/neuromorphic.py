"""CIFAR10-DVS and DVS128 Gesture as event frames, read and integrated by spikingjelly.

Both datasets come from a spikingjelly root (``spikingjelly.datasets.cifar10_dvs.CIFAR10DVS``,
``spikingjelly.datasets.dvs128_gesture.DVS128Gesture``; spikingjelly 2.0 has them under
``spikingjelly.datasets``) found under the data root (``data_root`` or ``$REPLICATE_DATA``) as
``cifar10_dvs/`` or ``CIFAR10DVS/`` (``dvs128_gesture/`` or ``DVS128Gesture/``), holding either
spikingjelly's ``events_np/`` tree or its ``download/`` folder with the published archives.
spikingjelly parses the recordings (AEDAT 2.0 for CIFAR10-DVS, AEDAT 3.1 for DVS128 Gesture) and
integrates each into ``T`` frames with ``data_type='frame', split_by='number', frames_number=T``
(equal event counts per frame, the last frame taking the remainder); the frames are written
once into that root (``frames_number_<T>_split_by_number/``). Items are ``(x, y)``: ``x`` float32
raw event counts ``[T, 2, S, S]`` (no normalisation, as in both papers' code), ``y`` an int.

Recipes (the config's ``recipe``), each a frame size, a split and a per-sample train transform:

``dvs_nda``: the ICML 2025 / NeurIPS 2025 DVS pipeline (``butongDVSCifar10()``, ``trans_t()``,
``function_nda()`` in ``experiment/dvs/process.py``, identical in
github.com/Intelli-Chip-Lab/snn_temporal_decoupling_distillation @ e3f5fd4 and
github.com/Intelli-Chip-Lab/enhanced-self-distillation-framework-for-snn @ d44e876): frames resized
to 48×48 (torchvision ``Resize``, bilinear, antialiased), the seed-42 ``random_split`` of all
10,000 recordings into 9,000 / 1,000, then for training a horizontal flip (p 0.5) and exactly one
of {roll by up to ±5 px on both axes, ``RandomRotation(30)``, one 16×16 Cutout hole}, the same for
every frame of the clip. Evaluation: the resize only.

``cml_dvs``: the CML DVS recipe (github.com/zhouchenlin2096/Spikingformer-CML @ 8e51213,
``cifar10-dvs/train.py`` ``load_data()``, ``split_to_train_test_set()``, ``train_one_epoch()`` and
``cifar10-dvs/autoaugment.py`` ``SNNAugmentWide``; the same in ``dvs128-gesture/``): 128×128
frames, the first 90 % (ceil) of every class in dataset order for training and the rest for test,
a horizontal flip (p 0.5) of the whole clip, then one op drawn uniformly from {identity, ShearX
±0.3 rad, TranslateX/Y ±5 px, Rotate ±30° (31 magnitude bins, random sign, nearest), Cutout =
``RandomErasing(p=1, scale=(0.001, 0.11), ratio=(1, 1))``}. Mixup acts on the batch (the engine).

DVS128 Gesture always uses its official split (spikingjelly's ``train=True/False``: 1,176 / 288);
its labels are spikingjelly's, the index of the class folder in string order (``0, 1, 10, 2, …``),
as CML trained with (the record lists the folders as ``class_folders``).
``img_size`` in the config, when set, replaces the recipe's frame size (the engine's own resize
then has nothing to do). The random draws come from torch's global generator, which the engine
seeds, so the augmentations follow the run seed.

A smoke run needs no dataset: with only ``events-fixtures.tar`` in the data root (or the folder it
unpacks to), :func:`make_fixture_dataset` lays out, once, under the cache, a spikingjelly root whose
recordings are slices of its real DVS128 AEDAT 2.0 recording, converted by spikingjelly's own
reader; any other profile refuses it.
"""
from __future__ import annotations

import hashlib
import io
import math
import os
import shutil
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from ..safeio import DamagedFileError
from .registry import RunData, register_dataset
from .sources import DataNotFoundError, DataShapeError, cache_root
from .subsets import balanced_indices, index_hash
from .transforms import Cutout

CIFAR10_DVS_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                       "dog", "frog", "horse", "ship", "truck")
#: What each dataset is known to be; a source that differs is refused (except at profile smoke).
KNOWN: dict[str, dict] = {
    "cifar10_dvs": {
        "folders": ("cifar10_dvs", "CIFAR10DVS"), "classes": CIFAR10_DVS_CLASSES,
        "per_class": 1000, "split": None,  # no official split: the recipe makes one
        "downloads": tuple(f"{c}.zip" for c in CIFAR10_DVS_CLASSES),
        "get": "the 10 class zips from figshare (airplane.zip ... truck.zip; the URLs and md5s "
               "spikingjelly's CIFAR10DVS.resource_url_md5() lists, e.g. "
               "https://ndownloader.figshare.com/files/7712788) into {root}/download/, or set "
               "REPLICATE_DOWNLOAD=1 to let spikingjelly download them"},
    "dvs128_gesture": {
        "folders": ("dvs128_gesture", "DVS128Gesture"), "classes": tuple(str(i) for i in range(11)),
        "per_class": None, "split": {"train": 1176, "test": 288},
        "downloads": ("DvsGesture.tar.gz", "gesture_mapping.csv", "LICENSE.txt", "README.txt"),
        "get": "DvsGesture.tar.gz, gesture_mapping.csv, LICENSE.txt and README.txt from IBM's box "
               "(https://ibm.ent.box.com/s/3hiq58ww1pbbjrinh367ykfdf60xsfm8/folder/50167556794, as "
               "spikingjelly's DVS128Gesture.resource_url_md5() lists; no script download) "
               "into {root}/download/"},
}
#: Per recipe: frame size, frames per recording when the config has no T (an ANN teacher: the
#: ICML loader's fixed 10, CML's ``--T`` default 16) and the CIFAR10-DVS split (DVS128 Gesture
#: keeps its official one).
RECIPES = {"dvs_nda": {"size": 48, "frames": 10, "split": "random_seed42"},
           "cml_dvs": {"size": 128, "frames": 16, "split": "per_class_9_1"}}
FIXTURE_IN_DIR = "dvs128-aedat2/alex_walking_again.aedat"  #: in events-fixtures/
FIXTURE_MEMBER = f"events-fixtures/{FIXTURE_IN_DIR}"          #: in events-fixtures.tar
FIXTURE_FORMAT = "replicate-dvs-fixture-1"


# ----------------------------------------------------------------------------- sources
@dataclass
class EventSource:
    """A resolved spikingjelly root. ``layout``: ``events_np`` (converted recordings present),
    ``download`` (the published archives, converted on first use), ``fetch`` (spikingjelly
    downloads them; ``$REPLICATE_DOWNLOAD=1``) or ``fixture`` (``events-fixtures.tar``: smoke only)."""

    dataset: str
    root: Path
    layout: str
    fixture: Path | None = None   #: the tar (or its unpacked folder) for layout ``fixture``
    listing_sha256: str | None = None  #: sha256 of the recordings' names and sizes (after build)

    def describe(self) -> dict:
        """``{"kind", "layout", "path", "listing_sha256"}`` for the record."""
        return {"kind": "spikingjelly", "layout": self.layout, "path": str(self.root),
                "listing_sha256": self.listing_sha256}


def _missing(dataset: str, where: str, root: Path | None) -> DataNotFoundError:
    known = KNOWN[dataset]
    folder = f"{root}/{known['folders'][0]}" if root else f"<data root>/{known['folders'][0]}"
    return DataNotFoundError(
        f"{dataset} not found ({where}). Set REPLICATE_DATA (or data_root) to a folder holding "
        f"a spikingjelly root {known['folders'][0]}/ or {known['folders'][1]}/ with events_np/ "
        f"or download/; to get it, put {known['get'].format(root=folder)}.")


def _fixture_in(p: Path) -> Path | None:
    """``events-fixtures.tar`` or its unpacked ``events-fixtures/`` in ``p``, or ``p`` itself."""
    for c in (p / "events-fixtures.tar", p / "events-fixtures", p):
        tar = c.is_file() and c.name == "events-fixtures.tar"
        if tar or (c.is_dir() and (c / FIXTURE_IN_DIR).is_file()):
            return c
    return None


def _is_root(c: Path, dataset: str) -> str | None:
    """The layout of a spikingjelly root of ``dataset`` at ``c`` (None: not one)."""
    first = "airplane" if dataset == "cifar10_dvs" else "train"
    if (c / "events_np" / first).is_dir():
        return "events_np"
    if all((c / "download" / f).is_file() for f in KNOWN[dataset]["downloads"]):
        return "download"
    return None


def _check_markers(root: Path) -> None:
    """spikingjelly leaves ``<dir>.building`` beside a folder it did not finish writing.

    Raises:
        DamagedFileError: such a marker; the message names what to remove.
    """
    for marker in sorted(root.glob("*.building")):
        raise DamagedFileError(marker, f"spikingjelly did not finish writing {marker.with_suffix('')}; "
                                       f"remove that folder and {marker.name}, then run again")


def resolve_events(dataset: str, data_root: str | None = None) -> EventSource:
    """Find ``dataset`` (``cifar10_dvs`` | ``dvs128_gesture``) under ``data_root`` or
    ``$REPLICATE_DATA``; cheap (directory listings only).

    Raises:
        DataNotFoundError: no spikingjelly root there, nor (for a smoke run) the fixture tar;
            one line saying where to get the data.
        DamagedFileError: a root with an unfinished spikingjelly conversion.
    """
    known = KNOWN[dataset]
    root = data_root or os.environ.get("REPLICATE_DATA")
    if not root:
        raise _missing(dataset, "neither data_root nor REPLICATE_DATA is set", None)
    p = Path(root).expanduser()
    for c in [p / f for f in known["folders"]] + [p]:
        layout = _is_root(c, dataset)
        if layout:
            _check_markers(c)
            return EventSource(dataset, c.resolve(), layout)
    if os.environ.get("REPLICATE_DOWNLOAD") == "1" and dataset == "cifar10_dvs":
        return EventSource(dataset, (p / known["folders"][0]).resolve(), "fetch")
    fixture = _fixture_in(p)
    if fixture is not None:
        return EventSource(dataset, fixture.resolve(), "fixture", fixture=fixture.resolve())
    raise _missing(dataset, f"looked in {p}/{known['folders'][0]}, {p}/{known['folders'][1]} and {p}", p)


def _listing_sha256(root: Path) -> str:
    """sha256 over the relative names and sizes of every converted recording (cheap)."""
    h = hashlib.sha256()
    for f in sorted((root / "events_np").rglob("*.np[yz]")):
        h.update(f"{f.relative_to(root)}\0{f.stat().st_size}\n".encode())
    return h.hexdigest()


# ----------------------------------------------------------------------------- fixtures
def read_fixture_aedat(path: str | Path) -> bytes:
    """The bytes of the DVS128 AEDAT 2.0 recording in ``events-fixtures.tar`` (``path`` is the
    tar, its unpacked folder, or the ``.aedat`` file itself).

    Raises:
        DataNotFoundError: the recording is not there.
    """
    p = Path(path)
    if p.is_file() and p.suffix == ".aedat":
        return p.read_bytes()
    if p.is_dir() and (p / FIXTURE_IN_DIR).is_file():
        return (p / FIXTURE_IN_DIR).read_bytes()
    if p.is_file() and tarfile.is_tarfile(p):
        with tarfile.open(p) as tar:
            try:
                return tar.extractfile(FIXTURE_MEMBER).read()
            except (KeyError, AttributeError):
                pass
    raise DataNotFoundError(f"{p} holds no {FIXTURE_MEMBER} (see the data folder's README.md)")


def split_aedat2(blob: bytes) -> tuple[bytes, bytes]:
    """``(header, records)`` of a jAER AEDAT 2.0 file: the ``#`` lines, then 8-byte records
    (big-endian uint32 address, uint32 timestamp in µs).

    Raises:
        ValueError: the records are not a whole number of 8-byte events.
    """
    pos = 0
    while blob.startswith(b"#", pos):
        end = blob.find(b"\n", pos)
        pos = len(blob) if end < 0 else end + 1
    if (len(blob) - pos) % 8:
        raise ValueError(f"AEDAT 2.0 body of {len(blob) - pos} bytes is not a whole number of events")
    return blob[:pos], blob[pos:]


def write_aedat31(path: str | Path, t, x, y, p) -> None:
    """Write polarity events as an AEDAT 3.1 file (the DVS128 Gesture container): an ASCII
    header, then little-endian packets of a 28-byte header (type 1 = polarity, size 8, timestamp
    overflow ``t >> 31``) and 8-byte events (``x << 17 | y << 2 | p << 1 | valid``, ``t & 0x7FFFFFFF``).
    For fixtures and tests; ``t, x, y, p`` are equal-length integer arrays, ``t`` in µs."""
    t, x, y, p = (np.asarray(a, dtype=np.int64) for a in (t, x, y, p))
    out = io.BytesIO()
    out.write(b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n")
    overflow = t >> 31
    for ov in np.unique(overflow):
        m = overflow == ov
        n = int(m.sum())
        out.write(struct.pack("<hhiiiiii", 1, 1, 8, 4, int(ov), n, n, n))
        addr = (x[m] << 17) | (y[m] << 2) | ((p[m] & 1) << 1) | 1
        out.write(np.stack([addr, t[m] & 0x7FFFFFFF], axis=1).astype("<u4").tobytes())
    Path(path).write_bytes(out.getvalue())


def _fixture_cifar10_dvs(root: Path, blob: bytes, per_class: int) -> None:
    """``root/extract/<class>/cifar10_<class>_<i>.aedat``: contiguous slices of the recording
    with its own header, converted to ``root/events_np`` by spikingjelly's CIFAR10DVS reader."""
    from spikingjelly.datasets.cifar10_dvs import CIFAR10DVS

    header, body = split_aedat2(blob)
    n, k = len(body) // 8, len(CIFAR10_DVS_CLASSES) * per_class
    bounds = np.linspace(0, n, k + 1).astype(int)
    for c, name in enumerate(CIFAR10_DVS_CLASSES):
        (root / "extract" / name).mkdir(parents=True)
        for i in range(per_class):
            a, b = bounds[c * per_class + i], bounds[c * per_class + i + 1]
            (root / "extract" / name / f"cifar10_{name}_{i}.aedat").write_bytes(header + body[8 * a:8 * b])
    (root / "events_np").mkdir()
    CIFAR10DVS.create_raw_from_extracted(root / "extract", root / "events_np")


def _fixture_gesture(root: Path, blob: bytes, per_class: int) -> None:
    """``root/extract/DvsGesture``: ``per_class`` train trials and one test trial, each the
    recording's events (read by spikingjelly's CIFAR10-DVS reader) cut into 11 labelled windows,
    written as AEDAT 3.1 + ``_labels.csv``; converted by spikingjelly's DVS128Gesture."""
    from spikingjelly.datasets.cifar10_dvs import _load_origin_data
    from spikingjelly.datasets.dvs128_gesture import DVS128Gesture

    src = root / "extract" / "DvsGesture"
    src.mkdir(parents=True)
    tmp = root / "fixture.aedat"
    tmp.write_bytes(blob)
    ev = _load_origin_data(tmp)
    tmp.unlink()
    t = ev["t"].astype(np.int64)
    trials = [f"user{u:02d}_fixture" for u in range(1, per_class + 2)]
    for u, name in enumerate(trials):
        shift = u * (int(t[-1]) + 1)  # each trial its own time range, as separate recordings
        write_aedat31(src / f"{name}.aedat", t + shift, ev["x"], ev["y"], ev["p"])
        edges = np.linspace(t[0], t[-1] + 1, 12).astype(np.int64) + shift
        rows = [f"{g + 1},{edges[g]},{edges[g + 1]}" for g in range(11)]
        csv = "class,startTime_usec,endTime_usec\n" + "".join(r + "\n" for r in rows)
        (src / f"{name}_labels.csv").write_text(csv)
    (src / "trials_to_train.txt").write_text("".join(f"{n}.aedat\n" for n in trials[:-1]))
    (src / "trials_to_test.txt").write_text(f"{trials[-1]}.aedat\n")
    (root / "events_np").mkdir()
    DVS128Gesture.create_raw_from_extracted(root / "extract", root / "events_np")


def make_fixture_dataset(root: str | Path, dataset: str = "cifar10_dvs", *,
                         aedat: str | Path | bytes, per_class: int = 10) -> Path:
    """Lay out a small spikingjelly root for ``dataset`` at ``root`` (which must not exist) from
    the real DVS128 AEDAT 2.0 recording ``aedat`` (bytes, the ``.aedat`` file, or
    ``events-fixtures.tar``), so that spikingjelly's own reader and frame integrator process it.

    ``cifar10_dvs``: 10 classes × ``per_class`` recordings, contiguous slices of the recording
    (19,182 events / (10 · per_class) each). ``dvs128_gesture``: ``per_class`` train trials and one
    test trial of the whole recording, each cut into 11 gestures. Returns ``root``.

    Raises:
        FileExistsError: ``root`` exists.
        DataNotFoundError: ``aedat`` holds no AEDAT 2.0 recording.
        ValueError: an unknown dataset, or ``per_class`` < 1.
    """
    if dataset not in KNOWN or per_class < 1:
        raise ValueError(f"no fixture for dataset {dataset!r} with per_class={per_class}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=False)
    blob = aedat if isinstance(aedat, bytes) else read_fixture_aedat(aedat)
    build = _fixture_cifar10_dvs if dataset == "cifar10_dvs" else _fixture_gesture
    build(root, blob, per_class)
    return root


def fixture_root(source: EventSource, per_class: int = 10) -> Path:
    """The fixture root of ``source`` under the cache (``$REPLICATE_CACHE``), made once: built
    in a temporary folder and renamed into place, so a killed build leaves nothing half-made."""
    blob = read_fixture_aedat(source.fixture)
    key = hashlib.sha256(blob + f"{FIXTURE_FORMAT}\0{source.dataset}\0{per_class}".encode()).hexdigest()
    final = cache_root() / f"{source.dataset}-fixture-{key[:16]}"
    if final.is_dir():
        return final
    tmp = final.with_name(f"{final.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    make_fixture_dataset(tmp, source.dataset, aedat=blob, per_class=per_class)
    try:
        tmp.rename(final)
    except OSError:  # another process finished first: use its copy
        shutil.rmtree(tmp, ignore_errors=True)
    return final


# ----------------------------------------------------------------------------- splits
def per_class_split(labels: torch.Tensor, train_ratio: float = 0.9) -> tuple[torch.Tensor, torch.Tensor]:
    """CML's split (``split_to_train_test_set(0.9, ..., random_split=False)``): per class, the
    first ``ceil(n · train_ratio)`` items in dataset order train, the rest test. Returns index
    tensors ``[N_train]``, ``[N_test]``, class by class."""
    train, test = [], []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        k = math.ceil(len(idx) * train_ratio)
        train.append(idx[:k])
        test.append(idx[k:])
    return torch.cat(train), torch.cat(test)


def random_split_indices(n: int, seed: int = 42) -> tuple[torch.Tensor, torch.Tensor]:
    """The ICML/NeurIPS split: ``torch.utils.data.random_split`` of ``n`` items into
    ``n - n // 10`` and ``n // 10`` (9,000 / 1,000 for CIFAR10-DVS) with a generator seeded
    ``seed``. Returns index tensors in the order ``random_split`` gives them."""
    parts = torch.utils.data.random_split(range(n), [n - n // 10, n // 10],
                                          generator=torch.Generator().manual_seed(seed))
    train, test = (torch.tensor(list(p.indices), dtype=torch.int64) for p in parts)
    return train, test


# ----------------------------------------------------------------------------- transforms
class Resize:
    """``[T, C, H, W]`` frames → ``[T, C, S, S]`` (torchvision ``Resize``: bilinear, antialiased,
    as ``trans()`` of the ICML code); a no-op at size ``S`` already."""

    def __init__(self, size: int):
        self.size = int(size)
        self.op = T.Resize((self.size, self.size))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x if tuple(x.shape[-2:]) == (self.size, self.size) else self.op(x)


class DVSNDA:
    """The ``dvs_nda`` train transform on ``[T, C, H, W]`` frames (shape kept after the resize):
    resize, horizontal flip with probability ``hflip``, then one of {roll by ``±roll`` px on both
    axes, rotate by up to ``±degrees`` (nearest, zero fill), one ``cutout``×``cutout`` hole},
    uniformly; the same for all frames. Draws from torch's global generator."""

    def __init__(self, size: int = 48, hflip: float = 0.5, roll: int = 5, degrees: float = 30,
                 cutout: int = 16):
        self.resize, self.hflip, self.roll = Resize(size), float(hflip), int(roll)
        self.rotate, self.cutout = T.RandomRotation(degrees), Cutout(cutout)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = self.resize(x)
        if float(torch.rand(())) < self.hflip:
            x = torch.flip(x, dims=(-1,))
        op = int(torch.randint(3, ()))
        if op == 0:
            dy, dx = torch.randint(-self.roll, self.roll + 1, (2,)).tolist()
            return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
        return self.rotate(x) if op == 1 else self.cutout(x)


class CMLDVSAugment:
    """The ``cml_dvs`` train transform on ``[T, C, H, W]`` frames (shape kept after the resize):
    resize, ``RandomHorizontalFlip(hflip)``, then one op of CML's ``SNNAugmentWide`` drawn as it
    draws them (op index, then magnitude bin of 31, then sign; torch's global generator)."""

    OPS = ("Identity", "ShearX", "TranslateX", "TranslateY", "Rotate", "Cutout")
    BINS = {"ShearX": torch.linspace(-0.3, 0.3, 31), "TranslateX": torch.linspace(-5.0, 5.0, 31),
            "TranslateY": torch.linspace(-5.0, 5.0, 31), "Rotate": torch.linspace(-30.0, 30.0, 31),
            "Cutout": torch.linspace(1.0, 30.0, 31)}

    def __init__(self, size: int = 128, hflip: float = 0.5):
        self.resize, self.flip = Resize(size), T.RandomHorizontalFlip(hflip)
        self.erase = T.RandomErasing(p=1, scale=(0.001, 0.11), ratio=(1, 1))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flip(self.resize(x))
        name = self.OPS[int(torch.randint(len(self.OPS), (1,)))]
        if name == "Identity":
            return x
        bins = self.BINS[name]
        mag = float(bins[torch.randint(len(bins), (1,))])
        if torch.randint(2, (1,)):
            mag = -mag
        nearest = InterpolationMode.NEAREST
        if name == "Cutout":
            return self.erase(x)
        if name == "Rotate":
            return TF.rotate(x, mag, interpolation=nearest)
        shear = [math.degrees(mag), 0.0] if name == "ShearX" else [0.0, 0.0]
        shift = {"TranslateX": [int(mag), 0], "TranslateY": [0, int(mag)]}.get(name, [0, 0])
        return TF.affine(x, angle=0.0, translate=shift, scale=1.0, shear=shear, interpolation=nearest)


def frame_transforms(recipe: str, size: int, hflip: float = 0.5):
    """``(train, eval)`` per-sample transforms of ``recipe`` at frame size ``size``.

    Raises:
        ValueError: an unknown recipe.
    """
    if recipe not in RECIPES:
        raise ValueError(f"recipe {recipe!r} is not an event-frame recipe {sorted(RECIPES)}")
    train = DVSNDA(size, hflip) if recipe == "dvs_nda" else CMLDVSAugment(size, hflip)
    return train, Resize(size)


# ----------------------------------------------------------------------------- datasets
class FrameSet(Dataset):
    """Items ``(x [T, 2, S, S] float32, y int)`` of a spikingjelly frame dataset at ``indices``,
    transformed per sample."""

    def __init__(self, base, indices: torch.Tensor, transform):
        self.base, self.indices, self.transform = base, indices, transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        frames, y = self.base[int(self.indices[i])]
        return self.transform(torch.from_numpy(np.asarray(frames, dtype=np.float32))), int(y)


def frames_dataset(source: EventSource, frames: int, train: bool | None = None):
    """spikingjelly's dataset of ``source`` as frames (``data_type='frame', split_by='number',
    frames_number=frames``); integrates and writes them into the root on first use.

    Raises:
        DataNotFoundError: spikingjelly cannot get the archives (not downloadable, or offline).
        DamagedFileError: an unfinished spikingjelly conversion in the root.
    """
    from spikingjelly.datasets.cifar10_dvs import CIFAR10DVS
    from spikingjelly.datasets.dvs128_gesture import DVS128Gesture

    kw = dict(data_type="frame", frames_number=int(frames), split_by="number")
    if source.layout == "fetch":
        source.root.mkdir(parents=True, exist_ok=True)
    try:
        if source.dataset == "cifar10_dvs":
            return CIFAR10DVS(str(source.root), **kw)
        return DVS128Gesture(str(source.root), train=bool(train), **kw)
    except RuntimeError as e:  # spikingjelly's unfinished-conversion markers
        raise DamagedFileError(source.root, " ".join(str(e).split())) from None
    except (NotImplementedError, URLError) as e:  # not downloadable, or no network
        raise _missing(source.dataset, f"spikingjelly could not prepare {source.root}: "
                                       f"{type(e).__name__}: {' '.join(str(e).split())[:200]}",
                       source.root.parent) from None


def check_recordings(dataset: str, classes: list[str], counts: dict[str, int], strict: bool,
                     where: Path) -> None:
    """Class folders and recordings per split (``{"all" | "train" | "test": [per class]}``)
    against :data:`KNOWN`; with ``strict=False`` (profile smoke) only that every class has one.

    Raises:
        DataShapeError: one line naming the root, the split, the class and the counts.
    """
    known = KNOWN[dataset]
    if list(classes) != sorted(known["classes"]) and list(classes) != list(known["classes"]):
        raise DataShapeError(f"{where}: class folders {list(classes)}, expected {list(known['classes'])}")
    for split, per in counts.items():
        empty = [c for c, n in zip(classes, per) if n == 0]
        if empty:
            raise DataShapeError(f"{where}: {split} split has no recording of class {empty[0]!r}")
        if not strict:
            continue
        if known["per_class"] is not None and set(per) != {known["per_class"]}:
            c, n = next((c, n) for c, n in zip(classes, per) if n != known["per_class"])
            want = known["per_class"]
            raise DataShapeError(f"{where}: class {c!r} has {n} recordings, expected {want} "
                                 f"({dataset}: {len(classes)} classes x {want})")
        if known["split"] is not None and sum(per) != known["split"][split]:
            raise DataShapeError(f"{where}: {split} split has {sum(per)} recordings, expected "
                                 f"{known['split'][split]}")


def _labels(ds) -> torch.Tensor:
    return torch.tensor(ds.targets, dtype=torch.int64)


def _splits(cfg, source: EventSource, frames: int, strict: bool) -> tuple:
    """``(train base, train indices, test base, test indices, split name, classes)``."""
    split = "official" if source.dataset == "dvs128_gesture" else RECIPES[cfg.recipe]["split"]
    k = len(KNOWN[source.dataset]["classes"])
    if source.dataset == "dvs128_gesture":
        tr, te = frames_dataset(source, frames, True), frames_dataset(source, frames, False)
        ytr, yte = _labels(tr), _labels(te)
        check_recordings(source.dataset, tr.classes,
                         {"train": ytr.bincount(minlength=k).tolist(),
                          "test": yte.bincount(minlength=k).tolist()}, strict, source.root)
        return tr, torch.arange(len(ytr)), te, torch.arange(len(yte)), split, tr.classes
    ds = frames_dataset(source, frames)
    y = _labels(ds)
    check_recordings(source.dataset, ds.classes, {"all": y.bincount(minlength=k).tolist()},
                     strict, source.root)
    tr_idx, te_idx = random_split_indices(len(y)) if split == "random_seed42" else per_class_split(y)
    return ds, tr_idx, ds, te_idx, split, ds.classes


def _subset(split_idx: torch.Tensor, labels: torch.Tensor, size: int | None, seed: int) -> torch.Tensor:
    """A class-balanced subset (by data seed) of the split, as indices into the base dataset."""
    return split_idx[balanced_indices(labels[split_idx], size, seed)]


def _check_cfg(cfg, source: EventSource) -> tuple[int, int]:
    """``(frame size, frames per recording)``: ``img_size`` else the recipe's size, ``T`` else the
    recipe's frame count; refuses what cannot work before anything is integrated.

    Raises:
        ValueError: an unknown recipe, or in_chans other than 2.
        DataNotFoundError: the fixture for a profile other than smoke.
    """
    if cfg.recipe not in RECIPES:
        raise ValueError(f"dataset {cfg.dataset!r} needs an event-frame recipe {sorted(RECIPES)}, "
                         f"got recipe {cfg.recipe!r}")
    if cfg.in_chans != 2:
        raise ValueError(f"dataset {cfg.dataset!r} gives 2-channel (polarity) frames; set in_chans=2, "
                         f"got {cfg.in_chans}")
    if source.layout == "fixture" and cfg.profile != "smoke":
        raise _missing(cfg.dataset, f"only the smoke fixture {source.fixture} is there; profile "
                                    f"{cfg.profile!r} needs the real dataset", source.fixture.parent)
    recipe = RECIPES[cfg.recipe]
    return int(cfg.img_size or recipe["size"]), int(cfg.T or recipe["frames"])


def build_events(cfg, source: EventSource) -> RunData:
    """The run data of an event dataset: ``(x [T, 2, S, S] float32 counts, y)`` items, the train
    set augmented per sample by the recipe, curve and final subsets of the test split
    (class-balanced by ``data_seed``) resized only. ``T`` is the config's, or the recipe's frame
    count when it has none (an ANN teacher; the engine is to give it the frame mean).

    Raises:
        ValueError: see :func:`_check_cfg`; a subset larger than a class can give.
        DataShapeError: the recordings differ from :data:`KNOWN` (not at profile smoke).
        DataNotFoundError, DamagedFileError: see :func:`frames_dataset`.
    """
    size, frames = _check_cfg(cfg, source)
    if source.layout == "fixture":
        source = EventSource(source.dataset, fixture_root(source), "fixture", source.fixture)
    strict = cfg.profile != "smoke"
    tr_base, tr_split, te_base, te_split, split, classes = _splits(cfg, source, frames, strict)
    source.listing_sha256 = _listing_sha256(source.root)
    ytr, yte = _labels(tr_base), _labels(te_base)
    tr = _subset(tr_split, ytr, cfg.train_subset, cfg.data_seed)
    cu = _subset(te_split, yte, cfg.curve_test_subset, cfg.data_seed)
    fi = _subset(te_split, yte, cfg.final_test_subset, cfg.data_seed)
    train_tf, eval_tf = frame_transforms(cfg.recipe, size, cfg.hflip)
    prov = {"source": source.describe(), "recipe": cfg.recipe, "split": split,
            "frames": {"T": frames, "split_by": "number", "size": [size, size]},
            "class_folders": list(classes), "shape_checked": strict,
            "split_sizes": {"train": len(tr_split), "test": len(te_split)},
            "train_size": len(tr), "train_index_hash": index_hash(tr),
            "curve_test_size": len(cu), "curve_test_index_hash": index_hash(cu),
            "final_test_size": len(fi), "final_test_index_hash": index_hash(fi)}
    return RunData(FrameSet(tr_base, tr, train_tf), FrameSet(te_base, cu, eval_tf),
                   FrameSet(te_base, fi, eval_tf), len(KNOWN[source.dataset]["classes"]), prov)


for _name in KNOWN:
    register_dataset(_name, resolve=lambda root, _n=_name: resolve_events(_n, root),
                     build=build_events, num_classes=len(KNOWN[_name]["classes"]))
