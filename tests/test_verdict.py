"""The verdict rules and the smallest detectable effect, on hand-made measurements: every branch."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from replicate.stats import paired_ci, t_interval
from replicate.verdict import (ABSOLUTE_TOLERANCE, VERDICTS, Measurement, min_detectable_effect,
                               rules_markdown, verdict)


def _m(values, profile="paper") -> Measurement:
    return Measurement.of(t_interval(values), profile)


# --- min_detectable_effect -------------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 3, 5, 10])
def test_a_paired_t_test_detects_the_min_detectable_effect_with_the_stated_power(n):
    """Monte Carlo, independent of the noncentral t: n normal differences with mean = MDE and
    sd 1 are rejected by the two-sided t-test at 5 % in 80 % of the draws."""
    d = min_detectable_effect(n, 1.0)
    x = np.random.default_rng(n).normal(d, 1.0, size=(100_000, n))
    t = x.mean(1) / (x.std(1, ddof=1) / math.sqrt(n))
    assert (np.abs(t) > stats.t.ppf(0.975, n - 1)).mean() == pytest.approx(0.8, abs=0.006)


def test_min_detectable_effect_scales_with_the_spread_and_shrinks_with_n():
    assert min_detectable_effect(3, 2.0) == pytest.approx(2 * min_detectable_effect(3, 1.0), rel=1e-8)
    mdes = [min_detectable_effect(n, 1.0) for n in (2, 3, 5, 10, 30)]
    assert mdes == sorted(mdes, reverse=True)
    assert min_detectable_effect(10, 1.0) == pytest.approx(0.996, abs=0.002)  # G*Power: d ≈ 0.99
    # a stricter test or more power needs a larger effect
    assert min_detectable_effect(5, 1.0, alpha=0.01) > min_detectable_effect(5, 1.0)
    assert min_detectable_effect(5, 1.0, power=0.9) > min_detectable_effect(5, 1.0)
    # close to the textbook (t_{1-α/2} + t_{power}) sd / √n for large n
    approx = (stats.t.ppf(0.975, 29) + stats.t.ppf(0.8, 29)) / math.sqrt(30)
    assert min_detectable_effect(30, 1.0) == pytest.approx(approx, rel=0.02)


def test_min_detectable_effect_edge_cases():
    assert min_detectable_effect(1, 1.0) == math.inf and min_detectable_effect(0, 1.0) == math.inf
    assert min_detectable_effect(3, float("nan")) == math.inf
    assert min_detectable_effect(3, 0.0) == 0.0
    with pytest.raises(ValueError, match="alpha"):
        min_detectable_effect(3, 1.0, alpha=0.9, power=0.8)
    with pytest.raises(ValueError, match="negative"):
        min_detectable_effect(3, -1.0)


# --- verdict: every branch ---------------------------------------------------------------------

def test_a_reason_for_not_checkable_overrides_any_record():
    v = verdict("top1", 72.45, _m([72.4, 72.5]), True, checkable="no ImageNet copy here")
    assert v == ("not checkable here", "no ImageNet copy here")
    assert verdict("delta", 1.0, None, False, checkable="no weights").verdict == "not checkable here"


def test_nothing_measured_is_not_run_yet():
    assert verdict("top1", 95.0, None, False).verdict == "not run yet"
    assert verdict("delta", 0.4, Measurement(math.nan, 0, "cpu"), False).verdict == "not run yet"


def test_an_absolute_claim_is_reproduced_only_at_its_own_profile_within_the_tolerance():
    v = verdict("top1", 95.90, _m([95.5, 95.7, 95.6]), True)  # |95.6 − 95.9| = 0.3 ≤ 0.5
    assert v.verdict == "reproduced" and "0.30" in v.reason
    assert verdict("top1", 95.90, _m([96.39]), True).verdict == "reproduced"  # n = 1: the 0.5 floor
    assert verdict("top1", 95.90, _m([96.41]), True).verdict == "not reproduced"
    # the CI half-width widens the tolerance when it is above 0.5
    wide = _m([93.0, 95.0, 97.0])  # mean 95, half-width 4.97
    assert wide.half_width > ABSOLUTE_TOLERANCE
    assert verdict("top1", 97.0, wide, True).verdict == "reproduced"
    narrow = _m([94.0, 94.1, 94.2])
    v = verdict("top1", 95.9, narrow, True)
    assert v.verdict == "not reproduced" and "-1.80" in v.reason.replace("−", "-")


def test_an_absolute_claim_measured_at_another_profile_is_not_checkable_at_this_scale():
    v = verdict("top1", 95.90, _m([95.9, 95.9, 95.9], "cpu"), False)
    assert v.verdict == "not checkable at this scale" and "`cpu`" in v.reason


def test_a_delta_whose_ci_excludes_zero_on_the_paper_side_is_direction_reproduced():
    up = _m([1.4, 1.6, 1.5], "gpu")
    v = verdict("delta", 0.36, up, False)
    assert v.verdict == "direction reproduced" and "`gpu`" in v.reason and "n = 3" in v.reason
    assert verdict("delta", -0.5, _m([-2.0, -2.2, -1.9]), True).verdict == "direction reproduced"


def test_a_delta_whose_ci_excludes_zero_on_the_other_side_is_not_reproduced():
    v = verdict("delta", 0.36, _m([-1.4, -1.6, -1.5], "cpu"), False)
    assert v.verdict == "not reproduced" and "against" in v.reason
    assert verdict("delta", 0.0, _m([1.4, 1.6, 1.5]), False).verdict == "not reproduced"


def test_a_delta_whose_ci_contains_zero_is_inconclusive_when_the_test_is_too_small():
    noisy = _m([2.0, -1.5, 0.5], "cpu")  # sd ≈ 1.76: detectable ≈ 5.7 > 0.36
    assert noisy.half_width > abs(noisy.mean)
    v = verdict("delta", 0.36, noisy, False)
    assert v.verdict == "inconclusive at this scale"
    assert f"{min_detectable_effect(3, noisy.sd):.2f}" in v.reason


def test_a_delta_whose_ci_contains_zero_although_the_test_could_see_the_paper_effect_is_not_reproduced():
    """Evidence against the claim: at this n and spread the paper's |Δ| would have shown."""
    tight = _m([0.1, -0.1, 0.05, -0.05, 0.0], "cpu")  # sd ≈ 0.08: detectable ≈ 0.13 ≤ 2.0
    assert tight.mean - tight.half_width < 0 < tight.mean + tight.half_width
    v = verdict("delta", 2.0, tight, False)
    assert v.verdict == "not reproduced" and "contains 0" in v.reason


def test_one_paired_seed_is_inconclusive():
    v = verdict("delta", 0.36, _m([1.5], "gpu"), False)
    assert v.verdict == "inconclusive at this scale" and "no interval" in v.reason


def test_measurement_of_a_paired_interval_on_hand_made_records():
    df = pd.DataFrame({"row": ["a"] * 3 + ["b"] * 3, "profile": "cpu", "seed": [0, 1, 2] * 2,
                       "current": True, "top1": [50.0, 51.0, 53.0, 49.0, 50.0, 51.0]})
    m = Measurement.of(paired_ci(df, "a", "b", "cpu"), "cpu")
    assert (m.n, m.mean, m.profile) == (3, pytest.approx(4 / 3), "cpu")
    assert m.sd == pytest.approx(np.std([1, 1, 2], ddof=1))
    assert m.text(signed=True).startswith("+1.33 ± ") and m.text().endswith("(cpu, n=3)")
    assert Measurement(80.0, 1, "gpu").text() == "80.00 (gpu, n=1)"


def test_the_stated_rules_name_every_verdict():
    text = rules_markdown()
    assert all(f"**{v}**" in text for v in VERDICTS)
    assert f"{ABSOLUTE_TOLERANCE:g} points" in text and "80%" in text
