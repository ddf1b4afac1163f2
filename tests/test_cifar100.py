"""CIFAR-100 (fine labels) on the only real CIFAR-100 pixels here: the 20 lossless test images of
``cifar-lossless-samples.tar`` (shared data). The ImageFolder and tar paths read a tree made from
them, the torchvision path reads ``cifar-100-python/`` pickles written from them in the official
format; the strict shape check refuses them outside the ``smoke`` profile, and a smoke run trains
on them end to end."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from replicate import data
from replicate.config import Config
from replicate.data import balanced_indices
from replicate.data.sources import (CIFAR100_CLASSES, DataNotFoundError, DataShapeError,
                                    lossless_sample_tree, load, resolve)

SAMPLES = Path(os.environ.get("REPLICATE_DATA", "/work/shared/data")) / "cifar-lossless-samples.tar"
#: The official fine -> coarse map (``coarse_labels`` of the CIFAR-100 pickles), for the pickles.
FINE_TO_COARSE = (4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11, 6, 11, 5, 10, 7,
                  6, 13, 15, 3, 15, 0, 11, 1, 10, 12, 14, 16, 9, 11, 5, 5, 19, 8, 8, 15, 13, 14, 17,
                  18, 10, 16, 4, 17, 4, 2, 0, 17, 4, 18, 17, 10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2,
                  10, 0, 1, 16, 12, 9, 13, 15, 13, 16, 19, 2, 4, 6, 19, 5, 5, 8, 19, 18, 1, 2, 15,
                  6, 0, 17, 8, 14, 13)


@pytest.fixture(scope="module")
def pngs() -> list[tuple[str, int, str, np.ndarray]]:
    """``(file name, label from the file name, class name from labels.csv, RGB array)`` of the
    20 CIFAR-100 PNGs, in sample order, read straight from the tar."""
    if not SAMPLES.is_file():
        pytest.fail(f"{SAMPLES} not found: set REPLICATE_DATA to the shared data folder (see README)")
    with tarfile.open(SAMPLES) as tf:
        rows = list(csv.DictReader(io.TextIOWrapper(
            tf.extractfile("cifar-lossless-samples/labels.csv"), "utf-8")))
        out = []
        for r in (r for r in rows if r["dataset"] == "cifar100"):
            name = Path(r["file"]).name
            with Image.open(tf.extractfile(f"cifar-lossless-samples/{r['file']}")) as im:
                out.append((name, int(name[:-4].split("_")[-1]), r["class_name"], np.asarray(im)))
    assert len(out) == 20 and all(a.shape == (32, 32, 3) and a.dtype == np.uint8 for *_, a in out)
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A data_root holding ``cifar100/{train,test}/<class>/*.png`` (the same 20 images twice)."""
    return lossless_sample_tree(SAMPLES, tmp_path_factory.mktemp("c100") / "data")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("REPLICATE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("REPLICATE_DOWNLOAD", raising=False)
    return tmp_path / "cache"


def _expected(pngs) -> tuple[torch.Tensor, torch.Tensor]:
    """The PNGs in the loaders' order (label, then file name)."""
    items = sorted(pngs, key=lambda p: (p[1], p[0]))
    return (torch.from_numpy(np.stack([a for *_, a in items])),
            torch.tensor([label for _, label, _, _ in items]))


def test_fine_label_names_agree_with_labels_csv(pngs, tree):
    assert len(CIFAR100_CLASSES) == 100 == len(set(CIFAR100_CLASSES))
    assert list(CIFAR100_CLASSES) == sorted(CIFAR100_CLASSES)  # the official meta's order
    assert CIFAR100_CLASSES[0] == "apple" and CIFAR100_CLASSES[99] == "worm"
    for name, label, cls, _ in pngs:
        assert CIFAR100_CLASSES[label] == cls, name
    for split in ("train", "test"):
        assert {d.name for d in (tree / "cifar100" / split).iterdir()} == {c for *_, c, _ in pngs}


def test_imagefolder_tree_gives_the_file_names_labels(pngs, tree):
    src = resolve("cifar100", str(tree))
    assert src.kind == "imagefolder" and src.dataset == "cifar100"
    x, y = _expected(pngs)
    for split in load(src, strict=False):
        assert torch.equal(split.y, y)  # fine labels by class name, not by folder position
        assert torch.equal(split.x, x)


def test_tar_of_the_tree_is_found_by_name(pngs, tree, tmp_path):
    root = tmp_path / "tars"
    root.mkdir()
    with tarfile.open(root / "cifar100-lossless.tar", "w") as tf:
        tf.add(tree / "cifar100", arcname="cifar100")
    src = resolve("cifar100", str(root))
    assert src.kind == "tar" and src.path.name == "cifar100-lossless.tar"
    train, _ = load(src, strict=False)
    assert torch.equal(train.x, _expected(pngs)[0]) and torch.equal(train.y, _expected(pngs)[1])
    (root / "cifar100-other.tar").write_bytes((root / "cifar100-lossless.tar").read_bytes())
    with pytest.raises(DataNotFoundError, match="several tars") as e:
        resolve("cifar100", str(root))
    assert "\n" not in str(e.value)


class _Py2Pickler(pickle._Pickler):
    """Writes ``bytes`` as Python 2 ``str`` (as the official pickles hold their keys, names and
    pixel buffers): loaded with ``encoding='bytes'`` they are ``b'data'``, with ``'latin1'``
    (torchvision) ``'data'``."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj: bytes) -> None:
        n = len(obj)
        head = pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)
        self.write(head + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def _write_pickle(path: Path, obj: dict) -> str:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    path.write_bytes(buf.getvalue())
    return hashlib.md5(buf.getvalue()).hexdigest()


def _official_pickles(root: Path, pngs, names=CIFAR100_CLASSES) -> dict[str, str]:
    """``root/cifar-100-python/{train,test,meta}`` from the PNGs; returns each file's md5."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    batch = {b"data": np.stack([a.transpose(2, 0, 1).reshape(3072) for *_, a in pngs]),  # R, G, B planes
             b"fine_labels": [label for _, label, _, _ in pngs],
             b"coarse_labels": [FINE_TO_COARSE[label] for _, label, _, _ in pngs],
             b"filenames": [name.encode() for name, *_ in pngs]}
    md5 = {split: _write_pickle(folder / split, {**batch, b"batch_label": f"{split} batch".encode()})
           for split in ("train", "test")}
    md5["meta"] = _write_pickle(folder / "meta", {b"fine_label_names": [n.encode() for n in names],
                                                  b"coarse_label_names": [b"c%d" % i for i in range(20)]})
    return md5


@pytest.fixture
def official(tmp_path, pngs, monkeypatch):
    """Pickles in the official format, with torchvision's md5 table pointed at them."""
    from torchvision.datasets import CIFAR100

    def write(names=CIFAR100_CLASSES) -> Path:
        md5 = _official_pickles(tmp_path / "tv", pngs, names)
        monkeypatch.setattr(CIFAR100, "train_list", [["train", md5["train"]]])
        monkeypatch.setattr(CIFAR100, "test_list", [["test", md5["test"]]])
        monkeypatch.setattr(CIFAR100, "meta", {**CIFAR100.meta, "md5": md5["meta"]})
        return tmp_path / "tv"
    return write


def test_torchvision_path_reads_official_pickles_like_the_pngs(official, pngs):
    root = official()
    with open(root / "cifar-100-python" / "train", "rb") as fh:
        raw = pickle.load(fh, encoding="bytes")
    assert raw[b"data"].dtype == np.uint8 and raw[b"data"].shape == (20, 3072)
    src = resolve("cifar100", str(root))
    assert src.kind == "torchvision" and src.describe()["sha256"] == "torchvision-cifar-100-python"
    for split in load(src, strict=False):
        assert split.y.tolist() == [label for _, label, _, _ in pngs]  # fine labels, file order
        assert torch.equal(split.x, torch.from_numpy(np.stack([a for *_, a in pngs])))


def test_torchvision_copy_with_other_class_names_is_refused(official):
    root = official(names=tuple(reversed(CIFAR100_CLASSES)))
    with pytest.raises(DataShapeError, match="class 0 is 'worm', expected 'apple'") as e:
        load(resolve("cifar100", str(root)), strict=False)
    assert "\n" not in str(e.value)


def test_missing_cifar100_is_one_line_naming_how_to_get_it(tmp_path):
    (tmp_path / "cifar10").mkdir()  # CIFAR-10 things are not CIFAR-100
    with tarfile.open(tmp_path / "cifar10-jpeg.tar", "w"):
        pass
    with pytest.raises(DataNotFoundError) as e:
        data.resolve("cifar100", str(tmp_path))
    msg = str(e.value)
    assert "\n" not in msg
    for part in ("cifar100 not found", "REPLICATE_DATA", "cifar100*.tar", "cifar-100-python",
                 "CIFAR100", "REPLICATE_DOWNLOAD=1"):
        assert part in msg
    (tmp_path / "cifar-100-python").mkdir()  # torchvision's folder without its files
    with pytest.raises(DataNotFoundError, match="torchvision: Dataset not found") as e:
        load(resolve("cifar100", str(tmp_path)))
    assert "\n" not in str(e.value) and "REPLICATE_DOWNLOAD=1" in str(e.value)


def _cfg(profile: str, tree: Path, out: Path, **kw) -> Config:
    """An ad-hoc CIFAR-100 run: the logit-KD smoke recipe with the CIFAR-100 statistics."""
    from replicate.experiments.logitkd import NEURON, PAPER_RECIPE, SMOKE_RUN
    fields = {**PAPER_RECIPE, **NEURON, **SMOKE_RUN, "dataset": "cifar100",
              "recipe": "logitkd_cifar100", "model": "spiking_resnet18_cifar", "batch_size": 10,
              **kw}
    return Config(row="adhoc-c100", profile=profile, data_root=str(tree), out_dir=str(out),
                  progress=False, **fields)


def test_strict_shape_check_refuses_the_samples_outside_smoke(tree, tmp_path):
    with pytest.raises(DataShapeError, match="expected 500") as e:
        data.build(_cfg("cpu", tree, tmp_path))
    assert "\n" not in str(e.value)
    assert data.build(_cfg("smoke", tree, tmp_path)).provenance["shape_checked"] is False
    with pytest.raises(DataShapeError, match="expected 500"):  # its cache is checked again
        data.build(_cfg("cpu", tree, tmp_path))


def test_balanced_subsets_of_the_samples(pngs):
    labels = torch.tensor([label for _, label, _, _ in pngs])  # 18 classes, 2 of them twice
    assert len(balanced_indices(labels, None, 0)) == len(balanced_indices(labels, 320, 0)) == 20
    assert labels[balanced_indices(labels, 18, 0)].unique().numel() == 18  # one per class present
    with pytest.raises(ValueError, match="needs 2 items of class 0, only 1 exist"):
        balanced_indices(labels, 19, 0)


def test_smoke_run_trains_on_the_20_images_end_to_end(tree, tmp_path):
    from replicate.results import checkpoint_dir, record_path
    from replicate.train import run

    cfg = _cfg("smoke", tree, tmp_path / "out", width=4, T=2, epochs=1)
    rec = run(cfg)
    path = record_path(cfg.out_dir, cfg.row, "smoke", cfg.seed, cfg.hash)
    on_disk = json.loads(path.read_text())
    assert on_disk["config_hash"] == rec["config_hash"] == cfg.hash
    assert on_disk["data"]["shape_checked"] is False and on_disk["data"]["source"]["kind"] == "imagefolder"
    assert on_disk["data"]["train_size"] == on_disk["metrics"]["final_test_size"] == 20
    assert 0 <= on_disk["metrics"]["top1"] <= 100 and len(on_disk["metrics"]["prefix_top1"]) == 2
    from replicate.train import checkpoint
    from replicate.train.engine import build_model
    model = build_model(cfg, 100).eval()
    model.load_state_dict(checkpoint.load(checkpoint_dir(cfg.out_dir, cfg.hash) / "model.pt",
                                          weights_only=True))
    with torch.no_grad():
        logits = model(data.build(cfg).final[0][0][None])
    assert logits.shape == (2, 1, 100)  # [T, B, K]: the logits of 100 classes
