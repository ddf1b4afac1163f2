import pytest

from replicate.config import Config, coerce_parameters
from replicate.experiments import config_for, get_row, overrides_of, rows
from replicate.experiments.bkdsnn import MAIN_JOB, SIZES


def test_wrong_type_is_a_clear_error():
    with pytest.raises(TypeError, match="'seed' must be int, got str"):
        Config(seed="3")
    with pytest.raises(TypeError, match="'epochs' must be int"):
        Config(epochs=True)  # bools are not ints here
    with pytest.raises(TypeError, match="unknown parameter 'epoch'"):
        coerce_parameters({"epoch": 3})
    Config(lr=1)  # an int where a float is expected is fine


def test_bad_values():
    with pytest.raises(ValueError, match="profile 'laptop'"):
        Config(profile="laptop")
    with pytest.raises(ValueError, match="needs teacher_row"):
        Config(distill="mixed")


def test_unknown_row_names_the_registered_ones():
    with pytest.raises(KeyError, match="unknown row 'bkdsnn-c10-4-384-mixd'; did you mean bkdsnn-c10-4-384-mixed"):
        config_for("bkdsnn-c10-4-384-mixd", "cpu")


def test_hash_ignores_runtime_fields_but_not_science():
    a = config_for("bkdsnn-c10-2-384-baseline", "cpu", 0)
    assert a.hash == config_for("bkdsnn-c10-2-384-baseline", "cpu", 0, data_root="/x",
                                out_dir="/y", num_threads=1).hash
    assert a.hash != config_for("bkdsnn-c10-2-384-baseline", "cpu", 1).hash
    b = config_for("bkdsnn-c10-2-384-baseline", "cpu", 0, epochs=a.epochs + 1)
    assert b.hash != a.hash and overrides_of(b) == {"epochs": a.epochs + 1}
    assert overrides_of(a) == {}


def test_student_hash_covers_teacher_hash(monkeypatch):
    s = config_for("bkdsnn-c10-2-384-mixed", "cpu", 0)
    t = config_for("bkdsnn-c10-teacher", "cpu")
    assert s.teacher_hash == t.hash
    import replicate.experiments as ex
    row = ex._REGISTRY["bkdsnn-c10-teacher"]
    changed = dict(row.recipes)
    changed["cpu"] = {**row.recipes["cpu"], "epochs": row.recipes["cpu"]["epochs"] + 1}
    monkeypatch.setitem(ex._REGISTRY, "bkdsnn-c10-teacher",
                        ex.Row(**{**row.__dict__, "recipes": changed}))
    assert config_for("bkdsnn-c10-2-384-mixed", "cpu", 0).hash != s.hash


def test_table_rows_registered_with_claims():
    ids = {r.id for r in rows("bkdsnn")}
    for size in SIZES:
        for arm in ("baseline", "mixed"):
            assert f"bkdsnn-c10-{size}-{arm}" in ids
    assert set(MAIN_JOB) <= ids
    assert get_row("bkdsnn-c10-2-384-mixed").claim.value == 95.90
    assert get_row("bkdsnn-c10-2-384-baseline").claim.value == 95.54
    # the cpu student is the paper's class with only dim/depth/heads changed
    p = config_for("bkdsnn-c10-2-384-mixed", "paper").to_dict()
    c = config_for("bkdsnn-c10-2-384-mixed", "cpu").to_dict()
    assert p["model"] == c["model"]
    for k in ("T", "lif_tau", "lif_v_threshold", "lif_v_reset", "surrogate_alpha", "bkd_mask_ratio",
              "bkd_alpha", "kd_temperature", "kd_weight", "lr", "weight_decay"):
        assert p[k] == c[k], k
    # RandAugment: the configs' "-inc1" at paper; the committed cpu/gpu records ran without it
    assert (p["randaugment"], c["randaugment"]) == ("rand-m9-n1-mstd0.4-inc1", "rand-m9-n1-mstd0.4")


def test_soft_reset_survives_timm_create_model():
    """timm drops None kwargs: the config must still deliver a soft reset (v_reset None)."""
    from replicate.neurons import LIF
    from replicate.train import build_model
    cfg = config_for("bkdsnn-c10-2-384-baseline", "smoke", 0, lif_v_reset=None)
    lifs = [m for m in build_model(cfg, 10).modules() if isinstance(m, LIF)]
    assert lifs and all(m.v_reset is None for m in lifs)
    hard = [m for m in build_model(config_for("bkdsnn-c10-2-384-baseline", "smoke", 0), 10).modules()
            if isinstance(m, LIF)]
    assert all(m.v_reset == 0.0 for m in hard)


@pytest.mark.parametrize("field, value, needle", [
    ("train_subset", -5, "train_subset must be in [1, ∞), got -5"),
    ("train_subset", 10_000_000, "larger than the cifar10 train split (50000 images)"),
    ("curve_test_subset", 100_000, "larger than the cifar10 test split (10000 images)"),
    ("hflip", 2.0, "hflip must be in [0, 1], got 2.0"),
    ("label_smoothing", 5.0, "label_smoothing must be in [0, 1), got 5.0"),
    ("T", 0, "T must be in [1, ∞), got 0"),
    ("lr", -0.1, "lr must be in (0, ∞), got -0.1"),
    ("kd_temperature", -1.0, "kd_temperature must be in (0, ∞)"),
    ("model", "nosuch", "model 'nosuch' is not a timm or replicate model"),
    ("device", "gpu", "device 'gpu' is not cpu, cuda, cuda:N or mps"),
    ("out_dir", "", "out_dir is empty"),
])
def test_every_range_is_checked_by_the_config_before_any_compute(field, value, needle):
    """The bad inputs of the reliability issue, each refused in one line by the config itself."""
    with pytest.raises(ValueError) as e:
        config_for("bkdsnn-c10-2-384-mixed", "cpu", 0, **{field: value})
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_seed_and_profile_are_chosen_not_overridden():
    with pytest.raises(ValueError, match="seed must be in"):
        config_for("bkdsnn-c10-2-384-mixed", "cpu", -1)
    with pytest.raises(TypeError, match="profile cannot be overridden"):
        config_for("bkdsnn-c10-2-384-mixed", "cpu", 0, profile="gpu")
    every = [config_for(r.id, p, s) for r in rows() for p in r.recipes for s in r.seeds[p]]
    assert len(every) > 100  # every registered recipe is inside the ranges
