import torch
import pytest

from replicate import data
from replicate.data import DataNotFoundError, balanced_indices, index_hash
from replicate.experiments import config_for


def test_missing_dataset_is_one_line_naming_both_ways(tmp_path, monkeypatch):
    monkeypatch.delenv("REPLICATE_DOWNLOAD", raising=False)
    with pytest.raises(DataNotFoundError) as e:
        data.resolve("cifar10", str(tmp_path))
    msg = str(e.value)
    assert "\n" not in msg and "REPLICATE_DATA" in msg and "REPLICATE_DOWNLOAD" in msg


def test_tar_source_decodes_real_cifar10(data_root):
    src = data.resolve("cifar10", data_root)
    assert src.kind == "tar" and len(src.key) == 64
    train, test = data.load(src)
    listed = data.sources.expected_sha256(src.path)  # the records name the tar's own sha256
    assert listed is not None and src.describe()["sha256"] == listed[1]
    assert train.x.shape == (50000, 32, 32, 3) and train.x.dtype == torch.uint8
    assert test.x.shape == (10000, 32, 32, 3)
    assert torch.equal(train.y.bincount(), torch.full((10,), 5000))
    assert torch.equal(test.y.bincount(), torch.full((10,), 1000))


def test_balanced_subset_depends_only_on_data_seed():
    labels = torch.arange(10).repeat_interleave(100)
    a = balanced_indices(labels, 250, data_seed=0)
    assert torch.equal(a, balanced_indices(labels, 250, data_seed=0))
    assert not torch.equal(a, balanced_indices(labels, 250, data_seed=1))
    counts = labels[a].bincount()
    assert counts.tolist() == [25] * 10
    assert index_hash(a) != index_hash(balanced_indices(labels, 250, data_seed=1))
    assert len(balanced_indices(labels, None, 0)) == 1000


def test_subset_identical_across_rows_and_run_seeds(data_root):
    a = data.build(config_for("bkdsnn-c10-2-384-baseline", "smoke", 0, data_root=data_root))
    b = data.build(config_for("bkdsnn-c10-2-384-mixed", "smoke", 5, data_root=data_root))
    assert a.provenance["train_index_hash"] == b.provenance["train_index_hash"]
    assert a.provenance["source"]["sha256"] == b.provenance["source"]["sha256"]
    x, y = a.train[0]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and 0 <= y < 10
    assert a.probe(100).shape == (100, 3, 32, 32) and len(a.curve) == 100


def test_cifar_randaugment_inc1_posterizes_to_zero_bits_without_error():
    """BKDSNN/CML's CIFAR RandAugment ``rand-m9-n1-mstd0.4-inc1`` can draw 0 bits (magnitude 10),
    which Pillow 13 refuses; the CIFAR recipe routes posterize through our Pillow-12 behaviour."""
    from PIL import Image
    from replicate.data.transforms import posterize, train_transform
    tf = train_transform("bkdsnn_cifar", hflip=0.5, randaugment="rand-m9-n1-mstd0.4-inc1",
                         random_erasing=0.25)
    ra = next(t for t in tf.transforms if hasattr(t, "ops"))
    post = [op for op in ra.ops if op.name.startswith("Posterize")]
    assert post and all(op.aug_fn is posterize for op in post)
    img = Image.new("RGB", (32, 32), (200, 100, 50))
    assert post[0].aug_fn(img, 0).getpixel((0, 0)) == (0, 0, 0)
    for _ in range(50):
        assert tf(img).shape == (3, 32, 32)
