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
    assert (s.T, s.in_chans, s.batch_size, get_row(s.row).claim) == (10, 2, 32, None)
    assert config_for("logitkd-dvs-r19-full-t4", "paper").T == 4
    # S1 labels its DVS numbers ResNet-18: they sit on the ResNet-18 students of the same recipe
    r18 = config_for("logitkd-dvs-r18-full", "paper")
    assert (r18.T, r18.in_chans, r18.model, get_row(r18.row).claim.value) == (10, 2, "spiking_resnet18_cifar", 86.40)
    assert get_row("logitkd-dvs-r18-full-t4").claim.value == 83.50
    assert {k for k, v in r18.scientific().items() if s.scientific().get(k) != v} == {"row", "model"}
    student, teacher = build_model(s, 10), build_model(t, 10)
    assert student.conv0[0].in_channels == teacher.conv1.in_channels == 2
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(student) == n(teacher)  # the ANN twin has the spiking model's parameters
    x = torch.randn(2, 2, 48, 48)
    assert teacher(x).shape == (2, 10) and student.eval()(x).shape == (10, 2, 10)


# spec-logitkd-selfdistill §2.7 (all from S1): main results 9 ("Ours": CIFAR-10 and CIFAR-100 at
# T = 6/4/2, ImageNet T = 4, CIFAR10-DVS T = 10/4), ablation 5 (CIFAR-100, T = 6), full-range 18
# (3 rows x T' = 1..6).
S1_COUNTS = {"main results table": 9, "ablation table": 5, "full-range table": 18}
S1_MAIN = [97.00, 96.97, 96.65, 82.56, 82.47, 81.47, 71.04, 86.40, 83.50]
S1_ABLATION = [79.07, 79.26, 79.56, 79.63, 79.80]
S1_FULL_RANGE = [79.87, 81.72, 82.29, 82.50, 82.55, 82.56, 79.40, 81.58, 82.14, 82.47, 82.39, 82.49,
                 71.08, 76.25, 77.52, 78.25, 78.63, 79.07]


def _s1_claims():
    from replicate.experiments import Source
    out = [(r, c) for r in rows("logitkd") for c in r.claims]
    for r, c in out:  # every claim of the paper is S1's, with a locator
        assert isinstance(c.source, Source) and c.source.document.startswith("S1:") and c.source.locator, r.id
    return out


def test_every_s1_number_is_registered_once_per_table_with_its_locator():
    claims = _s1_claims()
    by_table = {t: [c.value for _, c in claims if c.source.locator.startswith(t)] for t in S1_COUNTS}
    assert {t: len(v) for t, v in by_table.items()} == S1_COUNTS
    assert sum(S1_COUNTS.values()) == len(claims)
    assert sorted(by_table["main results table"]) == sorted(S1_MAIN)
    assert sorted(by_table["ablation table"]) == sorted(S1_ABLATION)
    assert sorted(by_table["full-range table"]) == sorted(S1_FULL_RANGE)


def test_each_s1_claim_sits_on_a_row_of_the_architecture_and_t_it_names():
    import re
    for r, c in _s1_claims():
        loc = c.source.locator
        arch = re.search(r"ResNet-(\d+)", loc)
        if arch:  # main results and full-range name one; the ablation names none, and says so
            assert f"ResNet-{arch.group(1)}" in r.label, (r.id, loc)
        else:
            assert "names no architecture" in c.note, r.id
        t = re.search(r"(?:Training )?T=(\d+)[),]", loc)
        assert t and config_for(r.id, "paper").T == int(t.group(1)), (r.id, loc)
    assert get_row("logitkd-c10-r18-full").claims == ()  # S1's 97.00 is a ResNet-19 number
    assert get_row("logitkd-c10-r19-full").claim.value == 97.00


def test_full_range_claims_carry_their_deployment_budget():
    from replicate.experiments.logitkd import FULL_RANGE, t_prime
    for rid, (arm, t) in {"logitkd-c100-r19-full": ("full", 6), "logitkd-c100-r19-full-t4": ("full", 4),
                          "logitkd-c100-r19-standard-kd": ("standard-kd", 6)}.items():
        row = get_row(rid)
        curve = {t_prime(c): c.value for c in row.claims if t_prime(c)}
        assert curve == dict(enumerate(FULL_RANGE[arm, t], start=1)), rid
        assert config_for(rid, "paper").T == t and row.claim.value == curve[t]  # headline: T' = T
        for c in row.claims:  # budgets beyond the training T cannot come from a prefix
            assert (t_prime(c) or 0) <= t or "T' > T" in row.checkable(c)
    assert t_prime(get_row("logitkd-c100-r19-full").claim) is None  # the main-results cell


def test_model_trained_at_t2_pairs_with_the_t6_model_at_budget_2():
    from replicate.experiments.logitkd import TRAINED_VS_DEPLOYED
    t2, t6 = config_for("logitkd-c10-r18-full-t2", "cpu"), config_for("logitkd-c10-r18-full", "cpu")
    assert (t2.T, t6.T, t2.width) == (2, 6, 8)
    assert {k for k, v in t2.scientific().items() if t6.scientific().get(k) != v} == {"row", "T"}
    assert t2.teacher_hash == t6.teacher_hash and get_row(t2.row).seeds["cpu"] == (0, 1, 2)
    for small, (large, budget) in TRAINED_VS_DEPLOYED.items():
        assert config_for(small, "paper").T == budget < config_for(large, "paper").T, small
        assert get_row(small).paper == get_row(large).paper == "logitkd"
    assert config_for("logitkd-in1k-pr34-full-t2", "paper").T == 2
