"""CIFAR10-DVS and DVS128 Gesture: spikingjelly's readers on real and written recordings, frame
integration, the papers' splits and augmentations, and a smoke run on the AEDAT 2.0 fixture."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from replicate import data
from replicate.config import Config
from replicate.data import DataNotFoundError, DataShapeError
from replicate.data import neuromorphic as nm

N_EVENTS = 19_182  # the DVS128 AEDAT 2.0 recording of events-fixtures.tar (its MANIFEST.tsv)


@pytest.fixture(scope="module")
def fixture_tar(data_root) -> Path:
    tar = Path(data_root) / "events-fixtures.tar"
    if not tar.is_file():
        pytest.fail(f"{tar} is missing (see the data folder's README.md)")
    return tar


@pytest.fixture(scope="module")
def aedat2(tmp_path_factory, fixture_tar) -> Path:
    path = tmp_path_factory.mktemp("aedat") / "alex_walking_again.aedat"
    path.write_bytes(nm.read_fixture_aedat(fixture_tar))
    return path


@pytest.fixture(scope="module")
def c10dvs_root(tmp_path_factory, aedat2) -> Path:
    """A spikingjelly CIFAR10DVS root: 10 classes x 10 slices of the real recording."""
    return nm.make_fixture_dataset(tmp_path_factory.mktemp("c10dvs") / "cifar10_dvs", aedat=aedat2)


def test_aedat2_recording_through_spikingjellys_cifar10_dvs_reader(aedat2):
    from spikingjelly.datasets.cifar10_dvs import _load_origin_data

    ev = _load_origin_data(aedat2)
    t, x, y, p = (ev[k].astype(np.int64) for k in ("t", "x", "y", "p"))
    assert len(t) == len(x) == len(y) == len(p) == N_EVENTS
    assert x.min() >= 0 and x.max() < 128 and y.min() >= 0 and y.max() < 128
    assert set(np.unique(p).tolist()) == {0, 1}
    assert (np.diff(t) >= 0).all() and t[-1] - t[0] == pytest.approx(6.887e6, abs=1e3)  # µs
    # spikingjelly's convention over the jAER address (x=(a>>1)&0x7F, y=(a>>8)&0x7F, p=a&1):
    # x' = 127 - y, y' = 127 - x, p' = 1 - p
    _, body = nm.split_aedat2(aedat2.read_bytes())
    a = np.frombuffer(body, dtype=">u4")[0::2].astype(np.int64)
    assert np.array_equal(x, 127 - ((a >> 8) & 0x7F)) and np.array_equal(y, 127 - ((a >> 1) & 0x7F))
    assert np.array_equal(p, 1 - (a & 1)) and np.array_equal(t, np.frombuffer(body, ">u4")[1::2])


def test_frames_integrate_the_events_of_each_bin(c10dvs_root):
    """split_by='number': bin j holds events [j·N//T, (j+1)·N//T), the last the remainder."""
    T = 7
    ds = nm.frames_dataset(nm.EventSource("cifar10_dvs", c10dvs_root, "events_np"), T)
    assert len(ds) == 100 and ds.classes == list(nm.CIFAR10_DVS_CLASSES)
    for i in (0, 37, 99):
        frames, label = ds[i]
        ev = np.load(c10dvs_root / "events_np" / ds.classes[label] / Path(ds.samples[i][0]).name)
        n, p = len(ev["t"]), ev["p"]
        assert frames.shape == (T, 2, 128, 128)
        edges = [j * (n // T) for j in range(T)] + [n]
        for j in range(T):
            assert frames[j].sum() == edges[j + 1] - edges[j]
            for c in (0, 1):
                assert frames[j, c].sum() == (p[edges[j]:edges[j + 1]] == c).sum()
    total = sum(np.load(f)["t"].size for f in (c10dvs_root / "events_np").rglob("*.npz"))
    assert total == N_EVENTS  # the slices partition the recording


def test_dvs128_gesture_aedat31_reader_gives_back_what_was_written(tmp_path):
    from spikingjelly.datasets.dvs128_gesture import DVS128Gesture
    from spikingjelly.datasets.utils import load_aedat_v3

    t = np.array([10, 20, 30, 1000, 1010, 2**31 + 5], dtype=np.int64)  # last: timestamp overflow
    x, y, p = np.array([0, 127, 5, 64, 3, 9]), np.array([0, 1, 127, 64, 8, 100]), np.array([1, 0, 1, 0, 0, 1])
    src = tmp_path / "extract" / "DvsGesture"
    src.mkdir(parents=True)
    nm.write_aedat31(src / "user01_test.aedat", t, x, y, p)
    ev = load_aedat_v3(src / "user01_test.aedat")
    for k, v in zip("txyp", (t, x, y, p)):
        assert np.array_equal(ev[k].astype(np.int64), v), k
    (src / "user01_test_labels.csv").write_text("class,startTime_usec,endTime_usec\n3,0,999\n11,1000,2000\n")
    (src / "trials_to_train.txt").write_text("user01_test.aedat\n")
    (src / "trials_to_test.txt").write_text("")
    (tmp_path / "events_np").mkdir()
    DVS128Gesture.create_raw_from_extracted(tmp_path / "extract", tmp_path / "events_np")
    g2, g10 = (np.load(tmp_path / "events_np" / "train" / d / "user01_test_0.npz") for d in ("2", "10"))
    assert g2["t"].tolist() == [10, 20, 30] and g2["x"].tolist() == [0, 127, 5]
    assert g2["p"].tolist() == [1, 0, 1]
    assert g10["t"].tolist() == [1000, 1010] and g10["y"].tolist() == [64, 8]


def test_dvs_nda_keeps_shape_is_seeded_and_treats_the_clip_as_one():
    x = torch.poisson(torch.full((10, 2, 128, 128), 0.3))
    train, ev = nm.frame_transforms("dvs_nda", 48)
    outs = []
    for seed in range(12):
        torch.manual_seed(seed)
        outs.append(train(x))
        torch.manual_seed(seed)
        assert torch.equal(outs[-1], train(x))
    assert all(o.shape == (10, 2, 48, 48) and o.dtype == torch.float32 for o in outs)
    assert len({o.sum().item() for o in outs}) > 3  # roll keeps the counts, rotate and cutout do not
    assert torch.equal(ev(x), ev(x)) and ev(x).shape == (10, 2, 48, 48)
    same = x[:1].expand(10, -1, -1, -1).clone()  # identical frames stay identical: one draw per clip
    torch.manual_seed(3)
    o = train(same)
    assert all(torch.equal(o[0], o[t]) for t in range(10))
    with pytest.raises(ValueError, match="not an event-frame recipe"):
        nm.frame_transforms("bkdsnn_cifar", 48)


def test_cml_dvs_augment_keeps_shape_and_is_seeded():
    x = torch.poisson(torch.full((4, 2, 128, 128), 0.3))
    train, ev = nm.frame_transforms("cml_dvs", 128)
    for seed in range(8):
        torch.manual_seed(seed)
        a = train(x)
        torch.manual_seed(seed)
        assert torch.equal(a, train(x)) and a.shape == (4, 2, 128, 128)
    assert ev(x) is x  # native 128x128: evaluation leaves the frames alone


def test_cml_split_is_first_90_percent_per_class_as_spikingjelly_splits():
    from spikingjelly.datasets.utils import split_to_train_test_set

    g = torch.Generator().manual_seed(0)
    labels = torch.randint(10, (997,), generator=g)
    tr, te = nm.per_class_split(labels)
    ref_tr, ref_te = split_to_train_test_set(0.9, [(None, int(v)) for v in labels], 10)
    assert tr.tolist() == ref_tr.indices and te.tolist() == ref_te.indices
    assert set(tr.tolist()).isdisjoint(te.tolist()) and len(tr) + len(te) == 997
    full = torch.arange(10).repeat_interleave(1000)
    tr, te = nm.per_class_split(full)
    assert full[tr].bincount().tolist() == [900] * 10 and full[te].bincount().tolist() == [100] * 10
    assert torch.equal(tr[:900], torch.arange(900)) and torch.equal(te[:100], torch.arange(900, 1000))
    assert torch.equal(tr, nm.per_class_split(full)[0])


def test_seed42_random_split_is_the_papers_and_deterministic():
    tr, te = nm.random_split_indices(10_000)
    assert (len(tr), len(te)) == (9000, 1000)
    assert set(tr.tolist()).isdisjoint(te.tolist()) and len(set(tr.tolist()) | set(te.tolist())) == 10_000
    ref = torch.utils.data.random_split(range(10_000), [9000, 1000],
                                        generator=torch.Generator().manual_seed(42))
    assert tr.tolist() == list(ref[0].indices) and te.tolist() == list(ref[1].indices)
    assert torch.equal(te, nm.random_split_indices(10_000)[1])


@pytest.mark.parametrize("dataset", ["cifar10_dvs", "dvs128_gesture"])
def test_missing_dataset_is_one_line_naming_how_to_get_it(tmp_path, monkeypatch, dataset):
    monkeypatch.delenv("REPLICATE_DOWNLOAD", raising=False)
    with pytest.raises(DataNotFoundError) as e:
        data.resolve(dataset, str(tmp_path))
    msg = str(e.value)
    assert "\n" not in msg and "spikingjelly" in msg and "download/" in msg and dataset in msg
    monkeypatch.delenv("REPLICATE_DATA", raising=False)
    with pytest.raises(DataNotFoundError, match="REPLICATE_DATA"):
        data.resolve(dataset, None)


def _cfg(**kw) -> Config:
    base = dict(row="adhoc-dvs", profile="smoke", dataset="cifar10_dvs", recipe="dvs_nda", T=4,
                in_chans=2, progress=False)
    return Config(**{**base, **kw})


def test_smoke_build_from_the_fixture_tar_and_strict_elsewhere(tmp_path, monkeypatch, fixture_tar,
                                                               c10dvs_root):
    monkeypatch.setenv("REPLICATE_CACHE", str(tmp_path / "cache"))
    src = data.resolve("cifar10_dvs", str(fixture_tar.parent))
    assert src.layout == "fixture"
    d = data.build(_cfg(data_root=str(fixture_tar.parent)))
    x, y = d.train[0]
    assert x.shape == (4, 2, 48, 48) and x.dtype == torch.float32 and 0 <= y < 10 and d.num_classes == 10
    assert d.provenance["shape_checked"] is False and d.provenance["split"] == "random_seed42"
    assert (len(d.train), len(d.final)) == (90, 10) and d.provenance["source"]["listing_sha256"]
    with pytest.raises(DataNotFoundError, match="smoke fixture"):
        data.build(_cfg(profile="cpu", data_root=str(fixture_tar.parent)))
    # a real-layout root of the wrong size: refused in one line outside smoke
    with pytest.raises(DataShapeError, match="has 10 recordings, expected 1000") as e:
        data.build(_cfg(profile="cpu", data_root=str(c10dvs_root.parent), recipe="cml_dvs", img_size=32))
    assert "\n" not in str(e.value)
    d = data.build(_cfg(data_root=str(c10dvs_root.parent), recipe="cml_dvs", img_size=32))
    assert d.provenance["split"] == "per_class_9_1" and (len(d.train), len(d.final)) == (90, 10)
    assert d.train[0][0].shape == (4, 2, 32, 32)
    d = data.build(_cfg(data_root=str(c10dvs_root.parent), T=None))  # an ANN teacher: the loader's 10
    assert d.train[0][0].shape == (10, 2, 48, 48) and d.provenance["frames"]["T"] == 10
    with pytest.raises(ValueError, match="in_chans=2"):
        data.build(_cfg(data_root=str(c10dvs_root.parent), in_chans=None))


def test_dvs128_gesture_fixture_builds_with_its_official_split(tmp_path, monkeypatch, aedat2):
    root = nm.make_fixture_dataset(tmp_path / "dvs128_gesture", "dvs128_gesture", aedat=aedat2, per_class=2)
    d = data.build(_cfg(dataset="dvs128_gesture", recipe="cml_dvs", img_size=32, data_root=str(root.parent)))
    assert d.num_classes == 11 and d.provenance["split"] == "official"
    assert (len(d.train), len(d.final)) == (22, 11) and d.train[0][0].shape == (4, 2, 32, 32)
    with pytest.raises(DataShapeError, match="train split has 22 recordings, expected 1176"):
        data.build(_cfg(dataset="dvs128_gesture", recipe="cml_dvs", profile="cpu",
                        data_root=str(root.parent)))


def test_smoke_training_on_frames_of_the_aedat2_recording(tmp_path, c10dvs_root):
    """End to end through the engine: a spiking ResNet-19 (2 input channels) on dvs_nda frames."""
    from replicate.train import run

    cfg = _cfg(model="spiking_resnet19_cifar", width=4, T=3, img_size=48, lif_decay=0.5,
               lif_decay_input=False, lif_v_reset=0.0, lif_detach_reset=False, batch_size=30,
               epochs=1, optimizer="sgd", lr=0.1, warmup_frac=0.0, min_lr=0.0,
               data_root=str(c10dvs_root.parent), out_dir=str(tmp_path / "out"))
    rec = run(cfg)
    assert rec["data"]["shape_checked"] is False and rec["data"]["frames"]["T"] == 3
    assert rec["metrics"]["final_test_size"] == 10 and len(rec["metrics"]["prefix_top1"]) == 3
    assert 0.0 <= rec["metrics"]["top1"] <= 100.0
