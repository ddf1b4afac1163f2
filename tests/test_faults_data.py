"""Fault injection on the data path: damaged caches, dead writers' temporaries, tars cut short,
checksums that do not match. Every case builds a tiny 10-class tar (a few PNGs per class) and
shrinks the known CIFAR-10 shape to it, so the whole file runs in seconds."""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from replicate.data import sources
from replicate.data.sources import CIFAR10_CLASSES, DataShapeError, cache_path, load, resolve
from replicate.safeio import DamagedFileError, temp_path

TRAIN, TEST = 3, 1  # images per class in the tiny tar


@pytest.fixture(autouse=True)
def tiny_shape(monkeypatch):
    monkeypatch.setitem(sources.EXPECTED_SHAPES, "cifar10",
                        {"classes": CIFAR10_CLASSES, "per_class": {"train": TRAIN, "test": TEST},
                         "image": (32, 32, 3)})


def _png(seed: int) -> bytes:
    a = np.random.default_rng(seed).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def _members(skip: dict | None = None, extra: tuple = ()) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of an ImageFolder tree; ``skip`` drops images: {(split, class): n}."""
    out, seed = [], 0
    for split, n in (("train", TRAIN), ("test", TEST)):
        for c in CIFAR10_CLASSES + extra:
            for i in range(n - (skip or {}).get((split, c), 0)):
                seed += 1
                out.append((f"cifar10/{split}/{c}/{i:04d}.png", _png(seed)))
    return out


def _write_tar(path, members) -> str:
    with tarfile.open(path, "w") as tar:
        for name, blob in members:
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A tiny CIFAR-10 tar in ``data/`` and an empty cache folder; returns (data, cache, sha)."""
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    sha = _write_tar(data / "cifar10-jpeg.tar", _members())
    monkeypatch.setenv("REPLICATE_CACHE", str(cache))
    return data, cache, sha


def _load(data, cache):
    src = resolve("cifar10", str(data))
    return src, *load(src, str(cache))


def _same(a, b) -> bool:
    return all(torch.equal(getattr(x, k), getattr(y, k)) for x, y in zip(a, b) for k in ("x", "y"))


def test_clean_build_has_the_known_shape_and_records_the_tar_sha(tiny):
    data, cache, sha = tiny
    src, train, test = _load(data, cache)
    assert train.x.shape == (10 * TRAIN, 32, 32, 3) and test.x.shape == (10 * TEST, 32, 32, 3)
    assert torch.equal(train.y.bincount(), torch.full((10,), TRAIN))
    assert src.describe()["sha256"] == sha and cache_path(src, cache).is_file()
    src2, *again = _load(data, cache)  # from the cache
    assert _same((train, test), again) and src2.describe()["sha256"] == sha


def _garble(f):
    b = bytearray(f.read_bytes())
    mid = len(b) // 2
    b[mid:mid + 1024] = bytes(x ^ 0xFF for x in b[mid:mid + 1024])
    f.write_bytes(bytes(b))


def _truncate(f):
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


@pytest.mark.parametrize("damage", [_garble, _truncate], ids=["garbled", "truncated"])
def test_damaged_cache_is_moved_aside_said_and_rebuilt(tiny, capsys, damage):
    data, cache, sha = tiny
    src, *clean = _load(data, cache)
    f = cache_path(src, cache)
    damage(f)
    damaged_bytes = f.read_bytes()
    capsys.readouterr()
    src2, *rebuilt = _load(data, cache)
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(f) in err and "moved aside" in err and "rebuilding" in err
    aside = list(cache.glob(f"{f.name}.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged_bytes  # kept, never deleted
    assert _same(clean, rebuilt) and src2.describe()["sha256"] == sha
    sources._read_cache(f, src2)  # the rebuilt cache verifies
    capsys.readouterr()
    _load(data, cache)
    assert capsys.readouterr().err == ""  # and is trusted the next time


def test_read_cache_names_the_file_for_every_damage(tiny):
    data, cache, _ = tiny
    src, *_ = _load(data, cache)
    f = cache_path(src, cache)
    for damage in (_garble, _truncate):
        damage(f)
        with pytest.raises(DamagedFileError) as e:
            sources._read_cache(f, src)
        assert str(f) in str(e.value)
        f.unlink()
        load(src, str(cache))


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temps_of_dead_writers_are_removed_live_ones_kept(tiny):
    data, cache, _ = tiny
    src = resolve("cifar10", str(data))
    f = cache_path(src, cache)
    cache.mkdir()
    dead = _dead_pid()
    mine = temp_path(cache / "other.pt")  # this process's (live) temporary of another file
    stale = f.with_name(f".{f.name}.tmp{dead}")
    legacy = f.with_suffix(f".tmp{dead}")  # named by the version before safeio
    live_legacy = f.with_suffix(f".tmp{os.getpid()}")
    for p in (mine, stale, legacy, live_legacy):
        p.write_bytes(b"half a cache")
    load(src, str(cache))
    assert mine.exists() and live_legacy.exists() and not stale.exists() and not legacy.exists()
    assert f.is_file()


def _cut_at_member(path, member_name):
    """Truncate the tar at the header of ``member_name``: that member and all after it are gone."""
    with tarfile.open(path) as tar:
        off = tar.getmember(member_name).offset
    with open(path, "r+b") as fh:
        fh.truncate(off)


@pytest.mark.parametrize("how", ["fewer-members", "cut-at-boundary"])
def test_tar_cut_short_fails_one_line_naming_class_before_any_cache(tmp_path, monkeypatch, how):
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    tar = data / "cifar10-jpeg.tar"
    if how == "fewer-members":
        _write_tar(tar, _members(skip={("train", "truck"): 2}))
    else:  # test split first, so that cutting inside train/truck loses only trucks
        members = _members()
        _write_tar(tar, [m for m in members if "/test/" in m[0]] + [m for m in members if "/train/" in m[0]])
        _cut_at_member(tar, "cifar10/train/truck/0001.png")
    monkeypatch.setenv("REPLICATE_CACHE", str(cache))
    with pytest.raises(DataShapeError) as e:
        _load(data, cache)
    msg = str(e.value)
    assert "\n" not in msg and str(tar) in msg and "train" in msg and "'truck'" in msg
    assert f"has 1 images, expected {TRAIN}" in msg
    assert isinstance(e.value, ValueError)
    assert not cache.exists() or not any(cache.iterdir())  # no cache for a bad source


def test_test_split_and_unknown_class_are_checked(tmp_path):
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    _write_tar(data / "cifar10-jpeg.tar", _members(skip={("test", "cat"): 1}))
    with pytest.raises(DataShapeError, match=r"test split, class 'cat' has 0 images, expected 1"):
        _load(data, cache)
    _write_tar(data / "cifar10-jpeg.tar", _members(extra=("unicorn",)))
    with pytest.raises(DataShapeError, match=r"train split has class 'unicorn'"):
        _load(data, cache)


def test_tar_sha256_is_computed_once_when_the_cache_is_built(tiny, monkeypatch):
    data, cache, sha = tiny
    calls = []
    real = sources._sha256
    monkeypatch.setattr(sources, "_sha256", lambda p: calls.append(p) or real(p))
    for _ in range(3):  # three runs: one build, two cache hits
        src, *_ = _load(data, cache)
        assert src.describe()["sha256"] == sha
    assert len(calls) == 1
    os.utime(data / "cifar10-jpeg.tar", ns=(1, 1))  # a new mtime is a new key: rebuilt, hashed again
    src, *_ = _load(data, cache)
    assert len(calls) == 2 and src.describe()["sha256"] == sha


def test_sha256sums_mismatch_fails_one_line_naming_the_file(tiny):
    data, cache, sha = tiny
    sums = data / "SHA256SUMS"
    sums.write_text(f"{'0' * 64}  cifar10-jpeg.tar\n{sha}  other.tar\n")
    with pytest.raises(DamagedFileError) as e:
        _load(data, cache)
    msg = str(e.value)
    assert "\n" not in msg and str(sums) in msg and "cifar10-jpeg.tar" in msg and sha in msg
    assert not cache.exists() or not any(cache.iterdir())
    sums.write_text(f"{sha} *cifar10-jpeg.tar\n")  # the binary-mode form of sha256sum
    src, *_ = _load(data, cache)
    assert src.describe()["sha256"] == sha


def test_garbled_image_in_the_tar_names_the_member(tmp_path):
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    members = _members()
    members[5] = (members[5][0], b"not an image at all")
    _write_tar(data / "cifar10-jpeg.tar", members)
    with pytest.raises(DamagedFileError, match=members[5][0]):
        _load(data, cache)
