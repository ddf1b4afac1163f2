"""ImageNet-1k: the ImageFolder source, its known shape (strict except at smoke), both recipes'
transforms and streaming through DataLoader workers, on the real ``imagenet-sample.tar``
(1 image per class, only val/, 23 grayscale images, varied sizes)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from replicate.safeio import DamagedFileError
import torch
from PIL import Image
from torch.utils.data import DataLoader

from replicate import data
from replicate.config import Config
from replicate.data import DataNotFoundError, DataShapeError
from replicate.data import imagenet as inet

MEAN = torch.tensor(inet.IMAGENET_MEAN).view(3, 1, 1)
STD = torch.tensor(inet.IMAGENET_STD).view(3, 1, 1)


def _classes_tsv(root: Path) -> list[dict]:
    lines = (root / "imagenet-sample" / "classes.tsv").read_text().splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:]]


def _cfg(root, profile="smoke", **kw) -> Config:
    return Config(**{"dataset": "imagenet", "recipe": "imagenet_rrc224", "profile": profile,
                     "data_root": str(root), **kw})


def test_resolves_1000_classes_in_sorted_wnid_order(sample_root):
    src = data.resolve("imagenet", str(sample_root))
    assert src.root == (sample_root / "imagenet-sample").resolve() and not src.has_train
    train, val = inet.splits(src, "smoke")
    assert train is val and len(val.files) == 1000 and (val.counts == 1).all()
    rows = _classes_tsv(sample_root)
    assert [r["wnid"] for r in rows] == list(inet.wnids()) == sorted(inet.wnids())
    assert inet.wnids()[0] == "n01440764" and inet.wnids()[999] == "n15075141"
    # label i is the i-th sorted wnid: the file of class i sits in folder wnids()[i]
    for i in (0, 1, 500, 999):
        assert val.targets[i] == i and val.files[i].decode().split("/")[1] == inet.wnids()[i]
    assert data.registry.get("imagenet").num_classes == 1000


@pytest.mark.parametrize("recipe", sorted(inet.RECIPES))
def test_grayscale_and_small_images_come_out_rgb_224(sample_root, recipe):
    rows = _classes_tsv(sample_root)
    gray = [r for r in rows if r["mode"] == "L"][:3]
    small = min(rows, key=lambda r: min(int(r["stored_w"]), int(r["stored_h"])))  # 56 px side
    assert len(gray) == 3 and min(int(small["stored_w"]), int(small["stored_h"])) < 224
    extra = {"randaugment": "rand-m9-mstd0.5-inc1", "random_erasing": 0.25} \
        if recipe == "cml_imagenet" else {}
    tf_train = inet.train_transform(recipe, hflip=0.5, **extra)
    tf_eval = inet.eval_transform(recipe)
    for r in gray + [small]:
        path = sample_root / "imagenet-sample" / "val" / r["wnid"] / r["file"]
        img = inet.rgb_loader(str(path))
        assert img.mode == "RGB"
        for tf in (tf_train, tf_eval):
            x = tf(img)
            assert x.shape == (3, 224, 224) and x.dtype == torch.float32 and torch.isfinite(x).all()
        if r["mode"] == "L":  # grey in, grey out: the channels agree once un-normalised
            rgb = tf_eval(img) * STD + MEAN
            assert torch.allclose(rgb[0], rgb[1], atol=1e-5) and torch.allclose(rgb[1], rgb[2], atol=1e-5)


def _pattern(w: int, h: int) -> Image.Image:
    """Red before and blue after the central square; inside it, a white first half and a black
    second half (top/bottom for a wide image, left/right for a tall one)."""
    s = min(w, h)
    y0, x0 = (h - s) // 2, (w - s) // 2
    a = np.zeros((h, w, 3), np.uint8)
    a[...] = (255, 0, 0)
    a[y0 + s:, x0 + s:] = (0, 0, 255)  # the band after the square (rows or columns)
    sq = np.zeros((s, s, 3), np.uint8)
    if w >= h:
        sq[: s // 2] = 255
    else:
        sq[:, : s // 2] = 255
    a[y0:y0 + s, x0:x0 + s] = sq
    return Image.fromarray(a)


@pytest.mark.parametrize("size", [(320, 200), (200, 320)])
def test_cml_crop_keeps_exactly_the_central_square(size):
    """scale [1, 1] and ratio [1, 1] (CML imagenet.yml + train.py defaults): the train crop is
    exactly the central min(W, H) square: no red or blue pixel survives and the white/black
    halves land where the central square had them. The eval transform (crop_pct 1.0) resizes the
    shorter side to 224 before its centre crop, so its outermost 2 px blend the bands (as in timm)."""
    img = _pattern(*size)
    tall = size[0] < size[1]
    for tf, edge in ((inet.train_transform("cml_imagenet", hflip=0.0), 0),
                     (inet.eval_transform("cml_imagenet"), 2)):
        x = (tf(img) * STD + MEAN).clamp(0, 1)
        assert x.shape == (3, 224, 224)
        inner = x[:, edge:224 - edge, edge:224 - edge]
        assert (inner.max(0).values - inner.min(0).values).max() < 1e-4  # grey: no red or blue
        halves = inner.transpose(1, 2) if tall else inner  # split along the rows of `halves`
        n = halves.shape[1]
        assert halves[:, : n // 2 - 12].min() > 0.99 and halves[:, n // 2 + 12:].max() < 0.01


def test_randaugment_posterize_to_zero_bits_is_black_not_an_error():
    """``inc1`` PosterizeIncreasing keeps 0 bits at magnitude 10 (m9 + mstd0.5 reaches it ~2 % of
    the time); Pillow 13 refuses bits=0, Pillow < 13 (the original env) returned black."""
    tf = inet.train_transform("cml_imagenet", randaugment="rand-m10-mstd0-inc1")
    ops = [op for t in tf.transforms for op in getattr(t, "ops", ()) if op.name == "PosterizeIncreasing"]
    assert len(ops) == 1 and ops[0].aug_fn is inet.posterize
    ops[0].prob = 1.0
    out = ops[0](Image.new("RGB", (40, 30), (200, 100, 50)))
    assert out.size == (40, 30) and np.asarray(out).max() == 0
    assert np.asarray(inet.posterize(Image.new("RGB", (2, 2), (200, 100, 50)), 2)).tolist()[0][0] == [192, 64, 0]


def test_missing_imagenet_is_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("REPLICATE_DATA", raising=False)
    for root, words in ((None, "neither data_root nor REPLICATE_DATA"), (tmp_path, str(tmp_path))):
        with pytest.raises(DataNotFoundError) as e:
            data.resolve("imagenet", None if root is None else str(root))
        msg = str(e.value)
        assert "\n" not in msg and words in msg and "REPLICATE_DATA" in msg and "data_root" in msg
    (tmp_path / "imagenet-full.tar").write_bytes(b"")
    with pytest.raises(DataNotFoundError, match=r"found imagenet-full.tar there.*tar -xf"):
        data.resolve("imagenet", str(tmp_path))
    (tmp_path / "imagenet-sample.tar").write_bytes(b"")  # the shared sample is extracted, if it can be
    with pytest.raises(DamagedFileError, match=r"imagenet-sample.tar: cannot be extracted"):
        data.resolve("imagenet", str(tmp_path))


@pytest.mark.parametrize("profile", ["cpu", "paper"])
def test_strict_profiles_refuse_the_sample_in_one_line(sample_root, tmp_path, profile):
    with pytest.raises(DataShapeError, match=f"no train/ split.*profile '{profile}'") as e:
        data.build(_cfg(sample_root, profile))
    assert "\n" not in str(e.value)
    # a train/ beside it does not help: val holds 1 image per class, not 50
    tree = tmp_path / "imagenet"
    tree.mkdir()
    for split in ("train", "val"):
        (tree / split).symlink_to(sample_root / "imagenet-sample" / "val")
    with pytest.raises(DataShapeError, match=r"class 'n01440764' has 1 images, expected 50.*999 more") as e:
        data.build(_cfg(tmp_path, profile))
    assert "\n" not in str(e.value)


def test_class_folders_must_be_the_1000_wnids_and_non_empty(sample_root, tmp_path):
    val = tmp_path / "imagenet" / "val"
    val.mkdir(parents=True)
    for w in inet.wnids()[:-1]:
        (val / w).symlink_to(sample_root / "imagenet-sample" / "val" / w)
    with pytest.raises(DataShapeError, match=r"class 'n15075141' is missing \(1 of 1000"):
        data.build(_cfg(tmp_path))
    (val / "n15075141").mkdir()
    with pytest.raises(DataShapeError, match=r"class 'n15075141' has no images"):
        data.build(_cfg(tmp_path))
    (val / "n99999999").mkdir()
    with pytest.raises(DataShapeError, match=r"'n99999999' is not an ILSVRC-2012 wnid"):
        data.build(_cfg(tmp_path))


def test_an_undecodable_image_names_its_file(tmp_path):
    from replicate.safeio import DamagedFileError
    bad = tmp_path / "n01440764_1.JPEG"
    bad.write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(DamagedFileError, match="n01440764_1.JPEG: cannot be decoded"):
        inet.rgb_loader(str(bad))


def test_recipe_fields_it_lacks_are_refused(sample_root):
    with pytest.raises(ValueError, match="recipe 'imagenet_rrc224' has no randaugment"):
        data.build(_cfg(sample_root, randaugment="rand-m9-mstd0.5-inc1"))
    with pytest.raises(ValueError, match="recipe 'cml_imagenet' has no cutout"):
        data.build(_cfg(sample_root, recipe="cml_imagenet", cutout=16))
    with pytest.raises(ValueError, match="not an ImageNet recipe"):
        data.build(_cfg(sample_root, recipe="bkdsnn_cifar"))


def test_smoke_build_streams_through_dataloader_workers(sample_root):
    cfg = _cfg(sample_root, recipe="cml_imagenet", randaugment="rand-m9-mstd0.5-inc1",
               random_erasing=0.25, train_subset=40, curve_test_subset=20, final_test_subset=30)
    rd = data.build(cfg)
    assert (len(rd.train), len(rd.curve), len(rd.final), rd.num_classes) == (40, 20, 30, 1000)
    prov = rd.provenance
    assert prov["shape_checked"] is False and prov["source"]["train_split"] == "val"
    assert prov["source"]["kind"] == "imagefolder" and len(prov["source"]["sha256"]) == 64
    assert data.build(cfg).provenance == prov  # subsets and fingerprints are deterministic
    x, y = next(iter(DataLoader(rd.train, batch_size=8, shuffle=True, num_workers=2)))
    assert x.shape == (8, 3, 224, 224) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert rd.probe(2).shape == (2, 3, 224, 224)


def test_smoke_training_run_writes_a_record(sample_root, tmp_path):
    from replicate.results import record_path
    from replicate.train import run
    cfg = _cfg(sample_root, row="adhoc-imagenet", model="spiking_preact_resnet34_imagenet",
               width=4, T=2, lif_decay=0.2, lif_decay_input=False, lif_v_reset=None,
               lif_detach_reset=False, surrogate="sigmoid", surrogate_alpha=4.0, img_size=64,
               train_subset=32, batch_size=16, curve_test_subset=16, final_test_subset=24,
               epochs=1, optimizer="sgd", lr=0.1, warmup_frac=0.0, min_lr=0.0, num_workers=2,
               out_dir=str(tmp_path), progress=False)
    rec = run(cfg)
    assert record_path(tmp_path, cfg.row, "smoke", 0, cfg.hash).is_file()
    assert rec["metrics"]["final_test_size"] == 24 and len(rec["metrics"]["prefix_top1"]) == 2
    assert rec["data"]["shape_checked"] is False and rec["data"]["train_size"] == 32
