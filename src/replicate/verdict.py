"""The scoreboard's verdict rules, as one tested function, and the smallest effect a paired test
can detect.

A claim is judged by :func:`verdict` from the paper's number and one :class:`Measurement` of ours
(a mean with its 95 % Student-t interval over seeds, of top-1 or of a Δ paired by seed). The
rules are the book's (issue 15); :func:`rules_markdown` states them in words for the scoreboard
page, from the same constants.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

#: Every verdict, in the order the scoreboard counts them.
VERDICTS = ("reproduced", "direction reproduced", "not reproduced", "inconclusive at this scale",
            "not checkable at this scale", "not checkable here", "not run yet")
#: The smallest tolerance of an absolute top-1 claim, in percentage points.
ABSOLUTE_TOLERANCE = 0.5
#: The profile a published number is about: the published recipe (README, "Profiles").
CLAIM_PROFILE = "paper"


class Verdict(NamedTuple):
    """One of :data:`VERDICTS` and the reason for it, in words, with the numbers it used."""

    verdict: str
    reason: str


@dataclass(frozen=True)
class Measurement:
    """Our value of a claimed quantity at one profile, over seeds.

    ``mean``, ``half_width`` (of the two-sided 95 % Student-t interval; NaN for n < 2) and ``sd``
    (sample standard deviation, ddof 1; NaN for n < 2) are in the claim's units (percentage points
    for top-1 and for Δ); for a Δ they are of the paired per-seed differences. ``n``: seeds.
    """

    mean: float
    n: int
    profile: str
    half_width: float = math.nan
    sd: float = math.nan

    @classmethod
    def of(cls, interval: dict[str, Any], profile: str) -> "Measurement":
        """From the dict of :func:`replicate.stats.t_interval` or :func:`replicate.stats.paired_ci`."""
        return cls(float(interval["mean"]), int(interval["n"]), profile,
                   float(interval["half_width"]), float(interval["std"]))

    def text(self, signed: bool = False) -> str:
        """``"mean ± half-width (profile, n=k)"`` (no ± for n = 1)."""
        sign = "+" if signed else ""
        pm = f" ± {self.half_width:.2f}" if math.isfinite(self.half_width) else ""
        return f"{self.mean:{sign}.2f}{pm} ({self.profile}, n={self.n})"


def _check_levels(alpha: float, power: float) -> None:
    if not 0 < alpha < 1 or not alpha < power < 1:
        raise ValueError(f"need 0 < alpha < power < 1, got alpha={alpha!r}, power={power!r}")


def min_detectable_effect(n: int, sd: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true mean difference that a two-sided paired t-test on ``n`` seeds detects with
    probability ``power`` at level ``alpha``, when the per-seed differences have standard deviation
    ``sd`` (returned in the units of ``sd``: percentage points for top-1).

    The test rejects "mean difference = 0" when |t| > c, c = t_{1−α/2, n−1}. For a true mean
    difference δ the statistic t = mean / (s/√n) follows the noncentral t distribution with n − 1
    degrees of freedom and noncentrality λ = δ√n / sd, so the power is
    π(δ) = 1 − F_{n−1,λ}(c) + F_{n−1,λ}(−c) (Cohen, *Statistical Power Analysis for the Behavioral
    Sciences*, 1988, ch. 2; ``scipy.stats.nct``). The result is the δ > 0 with π(δ) = ``power``,
    found with ``scipy.optimize.brentq``; it is close to the textbook
    (t_{1−α/2, n−1} + t_{power, n−1}) · sd / √n.

    Returns ``inf`` for n < 2 or a NaN ``sd`` (no test is possible), 0 for ``sd == 0``.

    Raises:
        ValueError: unless 0 < alpha < power < 1, or a negative ``sd``.
    """
    _check_levels(alpha, power)
    if n < 2 or math.isnan(sd):
        return math.inf
    if sd < 0:
        raise ValueError(f"a standard deviation cannot be negative, got {sd!r}")
    if sd == 0:
        return 0.0
    from scipy import optimize, stats

    dof = n - 1
    crit = float(stats.t.ppf(1 - alpha / 2, dof))

    def shortfall(lam: float) -> float:
        lower = float(stats.nct.cdf(-crit, dof, lam))  # < alpha/2; scipy may return NaN for ~0
        return float(stats.nct.sf(crit, dof, lam)) + (0.0 if math.isnan(lower) else lower) - power

    hi = 2 * (crit + float(stats.t.ppf(power, dof)))
    while shortfall(hi) < 0:
        hi *= 2
    lam = optimize.brentq(shortfall, 0.0, hi, xtol=1e-10)
    return lam * sd / math.sqrt(n)


def verdict(claim_kind: str, paper_value: float, measured: Measurement | None,
            claim_profile_matches: bool, *, checkable: bool | str = True,
            tolerance: float = ABSOLUTE_TOLERANCE, alpha: float = 0.05,
            power: float = 0.8) -> Verdict:
    """The verdict on one claim, with its reason (the rules of :func:`rules_markdown`).

    Args:
        claim_kind: ``"delta"`` judges ``paper_value`` as a difference between two arms (points)
            by its direction; any other kind (``"top1"``, ...) as an absolute number.
        paper_value: the published number (for a Δ: the published difference, a − b).
        measured: ours (for a Δ: paired by seed, a − b), or None when nothing was measured.
        claim_profile_matches: whether ``measured`` comes from the claim's own profile (the
            published recipe, :data:`CLAIM_PROFILE`); an absolute claim needs it.
        checkable: ``True``, or the reason the claim cannot be measured here (data, hardware,
            weights; :meth:`replicate.experiments.Row.checkable`). It overrides any measurement.
        tolerance: the smallest accepted |ours − paper| of an absolute claim (points).
        alpha, power: of the paired test behind :func:`min_detectable_effect`; ``alpha`` must be
            1 − the level of ``measured``'s interval (95 %: 0.05).

    Raises:
        ValueError: unless 0 < alpha < power < 1.
    """
    _check_levels(alpha, power)
    if checkable is not True:
        return Verdict("not checkable here", str(checkable or "not measurable here"))
    if measured is None or measured.n < 1:
        return Verdict("not run yet", "no current record measures it")
    if claim_kind == "delta":
        return _delta_verdict(paper_value, measured, alpha, power)
    return _absolute_verdict(paper_value, measured, claim_profile_matches, tolerance)


def _absolute_verdict(paper: float, m: Measurement, own_profile: bool, tolerance: float) -> Verdict:
    if not own_profile:
        return Verdict("not checkable at this scale",
                       f"measured only at profile `{m.profile}`, not at the published recipe "
                       f"(`{CLAIM_PROFILE}`)")
    tol = max(tolerance, m.half_width) if math.isfinite(m.half_width) else tolerance
    gap = m.mean - paper
    if abs(gap) <= tol:
        return Verdict("reproduced", f"|ours − paper| = {abs(gap):.2f} ≤ {tol:.2f} "
                                     f"(max of {tolerance:g} and the CI half-width)")
    return Verdict("not reproduced", f"ours − paper = {gap:+.2f}, beyond ±{tol:.2f} "
                                     f"(max of {tolerance:g} and the CI half-width)")


def _delta_verdict(paper: float, m: Measurement, alpha: float, power: float) -> Verdict:
    at = f"at profile `{m.profile}`, n = {m.n}"
    if m.n < 2 or not math.isfinite(m.half_width):
        return Verdict("inconclusive at this scale", f"one paired seed {at}: no interval")
    lo, hi = m.mean - m.half_width, m.mean + m.half_width
    ci = f"95 % CI [{lo:+.2f}, {hi:+.2f}] {at}"
    if lo > 0 or hi < 0:
        if paper != 0 and (lo > 0) == (paper > 0):
            return Verdict("direction reproduced", f"{ci} excludes 0 with the paper's sign ({paper:+.2f})")
        return Verdict("not reproduced", f"{ci} excludes 0 against the paper's {paper:+.2f}")
    mde = min_detectable_effect(m.n, m.sd, alpha, power)
    detect = f"the smallest effect detectable ({power:.0%} power) is {mde:.2f}"
    if mde > abs(paper):
        return Verdict("inconclusive at this scale", f"{ci} contains 0; {detect} > |paper Δ| = {abs(paper):.2f}")
    return Verdict("not reproduced", f"{ci} contains 0 although {detect} ≤ |paper Δ| = {abs(paper):.2f}: "
                                     f"a paired test this size would likely have seen the paper's effect")


def rules_markdown(tolerance: float = ABSOLUTE_TOLERANCE, power: float = 0.8) -> str:
    """The rules of :func:`verdict` in words, one Markdown bullet per verdict (the scoreboard
    page prints them)."""
    own = f"`{CLAIM_PROFILE}`"
    return "\n".join([
        f"- **not checkable here**: the claim cannot be measured on this machine (no copy of its "
        f"data, its hardware or its weights); the reason is given. This overrides any record.",
        "- **not run yet**: it can be measured here, but no current record does.",
        f"- **reproduced** (absolute claims: a top-1 and the like): measured at the claim's own "
        f"profile, {own} (the published recipe), and |ours − paper| ≤ the larger of {tolerance:g} "
        f"points and the half-width of our 95 % t-interval over seeds.",
        f"- **not checkable at this scale**: an absolute claim measured only at another profile "
        f"(`gpu`, `cpu`: smaller models, subsets, fewer epochs): its number is not comparable.",
        "- **direction reproduced** (Δ claims: one arm minus its reference arm, paired by seed at "
        "one profile, which is named): the paired 95 % t-interval excludes 0 on the paper's side.",
        "- **not reproduced**: an absolute claim at its own profile outside the tolerance; a Δ "
        "whose interval excludes 0 on the other side; or a Δ whose interval contains 0 although "
        f"the paired test at that n and spread would detect the paper's |Δ| with {power:.0%} power "
        "(the smallest detectable effect is ≤ |paper Δ|): evidence against the claim.",
        "- **inconclusive at this scale**: a Δ whose interval contains 0 while the smallest effect "
        f"detectable with {power:.0%} power at that n and spread exceeds |paper Δ| (or one seed: "
        "no interval). A published Δ of 0 can only be inconclusive or not reproduced.",
    ])
