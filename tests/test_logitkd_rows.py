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
    assert "S1" in str(get_row("logitkd-c100-r18-full").claim.source)


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


def test_ablation_arms_and_self_teacher_variant_on_cifar10():
    twkl = config_for("logitkd-c10-r18-twce-twkl", "cpu")
    twsd = config_for("logitkd-c10-r18-twce-twsd", "cpu")
    ens = config_for("logitkd-c10-r18-full-ensemble", "cpu")
    assert (twkl.twkl_alpha, twkl.twsd_beta, twkl.needs_teacher) == (0.2, 0.0, True)
    assert (twsd.twkl_alpha, twsd.twsd_beta, twsd.needs_teacher) == (0.0, 0.5, False)
    assert twsd.teacher_row is None and twkl.teacher_row == "logitkd-c10-teacher"
    assert ens.self_teacher == "ensemble" and config_for("logitkd-c10-r18-full", "cpu").self_teacher == "correct_only"
    # only the arm's own fields differ from the full method's recipe
    full = config_for("logitkd-c10-r18-full", "cpu").scientific()
    diff = {k for k, v in ens.scientific().items() if full.get(k) != v}
    assert diff == {"row", "self_teacher"}
    assert get_row("logitkd-c10-r18-twce-twkl").seeds["cpu"] == (0, 1, 2)


def test_imagenet_rows_use_a_hub_teacher_without_a_weights_file(tmp_path):
    from replicate.train import build_model
    from replicate.train.engine import check_teacher
    cfg = config_for("logitkd-in1k-pr34-full", "paper", out_dir=str(tmp_path))
    assert get_row("logitkd-in1k-pr34-full").claim.value == 71.04
    assert (cfg.T, cfg.lif_decay, cfg.lif_v_reset, cfg.lif_detach_reset) == (4, 0.2, None, False)
    assert (cfg.kd_temperature, cfg.lr, cfg.weight_decay, cfg.batch_size) == (1.0, 0.2, 2e-5, 512)
    t = config_for("logitkd-in1k-teacher", "paper")
    assert (t.model, t.pretrained) == ("resnet34", True)
    assert check_teacher(cfg) is None  # hub weights: nothing to find on disk
    # a user-given raw state_dict path is checked, with the fix in the message
    with pytest.raises(FileNotFoundError, match="teacher_checkpoint"):
        check_teacher(cfg.replace(teacher_checkpoint=str(tmp_path / "r34.pt")))
    model = build_model(cfg, 1000)
    assert sum(p.numel() for p in model.parameters()) == 21_806_184
    assert "paper" in get_row("logitkd-in1k-pr34-full").unavailable


def test_dvs_rows_have_two_input_channels_and_a_resnet19_twin_teacher():
    from replicate.train import build_model
    s = config_for("logitkd-dvs-r19-full", "paper")
    t = config_for("logitkd-dvs-teacher", "paper")
    assert (s.T, s.in_chans, s.batch_size, get_row(s.row).claim.value) == (10, 2, 32, 86.40)
    assert config_for("logitkd-dvs-r19-full-t4", "paper").T == 4
    assert get_row("logitkd-dvs-r19-full-t4").claim.value == 83.50
    student, teacher = build_model(s, 10), build_model(t, 10)
    assert student.conv0[0].in_channels == teacher.conv1.in_channels == 2
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(student) == n(teacher)  # the ANN twin has the spiking model's parameters
    x = torch.randn(2, 2, 48, 48)
    assert teacher(x).shape == (2, 10) and student.eval()(x).shape == (10, 2, 10)
