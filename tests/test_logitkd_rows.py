"""ICML 2025 rows through the shared engine (smoke), and the logit-KD CIFAR recipe."""
import pytest
import torch

from replicate.data.transforms import Cutout, normalize_uint8, train_transform
from replicate.experiments import config_for, get_row, rows
from replicate.train import run


def test_rows_registered_with_their_recipe():
    ids = {r.id for r in rows("logitkd")}
    assert {"logitkd-c10-r18-twce", "logitkd-c10-r18-standard-kd", "logitkd-c10-r18-full"} <= ids
    full = config_for("logitkd-c10-r18-full", "paper")
    assert (full.T, full.lif_decay, full.lif_decay_input, full.lif_detach_reset) == (6, 0.5, False, False)
    assert (full.kd_temperature, full.twkl_alpha, full.twsd_beta) == (3.0, 0.2, 0.5)
    assert (full.optimizer, full.lr, full.batch_size, full.warmup_frac) == ("sgd", 0.1, 128, 0.0)
    assert config_for("logitkd-c10-r18-twce", "paper").needs_teacher is False
    assert get_row("logitkd-c100-r18-full").claim.value == 79.80
    assert "S1" in get_row("logitkd-c100-r18-full").claim.source


def test_cutout_zeroes_one_clipped_square_before_normalisation():
    torch.manual_seed(0)
    out = Cutout(16)(torch.ones(3, 32, 32))
    zero = (out == 0).all(0)
    ys, xs = torch.nonzero(zero, as_tuple=True)
    assert zero.sum() > 0 and (ys.max() - ys.min() + 1) <= 16 and (xs.max() - xs.min() + 1) <= 16
    assert zero.sum() == (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)  # one rectangle
    tf = train_transform("logitkd_cifar", hflip=0.5, randaugment=None, random_erasing=0.0,
                         crop_padding=4, autoaugment=True, cutout=16)
    from PIL import Image
    x = tf(Image.new("RGB", (32, 32), (128, 128, 128)))
    assert x.shape == (3, 32, 32)
    # the two recipes normalise with different std (spec-logitkd §1.5)
    img = torch.full((1, 32, 32, 3), 200, dtype=torch.uint8)
    assert not torch.allclose(normalize_uint8(img, "logitkd_cifar"), normalize_uint8(img))


@pytest.mark.slow
def test_full_method_smoke_through_the_engine(tmp_path, data_root):
    kw = dict(data_root=data_root, out_dir=str(tmp_path), progress=False)
    run(config_for("logitkd-c10-teacher", "smoke", **kw))
    rec = run(config_for("logitkd-c10-r18-full", "smoke", **kw))
    c = rec["curves"][-1]
    assert {"train_twce", "train_twkl", "train_twsd"} <= set(c) and "train_ce" not in c
    assert c["train_twkl"] > 0 and c["train_twsd"] > 0
    assert len(rec["metrics"]["prefix_top1"]) == rec["config"]["T"] == 2
    assert rec["overrides"] == {}
