"""Three verdicts for a paper's claim checked on a run that may be too short to decide it (issue 27):

- **holds**: the claim is met at the end of training, and its metric is not moving away from it;
- **fails**: the claim is not met, and its metric's curve has stopped moving towards it;
- **undecided**: the metric's curve is still moving in the direction that could change the verdict, or the
  difference the claim rests on is within its noise (:mod:`mmvae_lib.reporting.claims`: more seeds decide it).

A claim's *metric* is the number whose sign or size decides it, measured along training (e.g. a coherence, or the
difference of two models' coherences), and ``helps`` says which way helps the claim (+1: a rising metric, -1: a
falling one).

The test of "still moving", stated: the least-squares slope of the metric against training steps over the last
third of the readings (at least three), with its 95 % confidence interval from the t distribution with n − 2
degrees of freedom (scipy's ``linregress`` standard error). The curve is **flat** when the interval includes zero;
otherwise it moves in the direction of the slope's sign. A verdict without a curve (too few readings, or none
measured) is the end value's, marked as such.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

VERDICTS = ("holds", "fails", "undecided")
LEVEL = 0.95                  # the slope's confidence level
TAIL = 1 / 3                  # the part of the curve whose slope is tested
MIN_POINTS = 3                # fewer readings in the tail: no test (a line through two points has no error)
ROUND_OFF = 1e-9              # a change over the tail below this fraction of the values is none (a constant curve)


@dataclass(frozen=True)
class Slope:
    """The metric's least-squares slope per step over the tail of its curve, its confidence interval, and the
    readings it was fitted on (from step ``start``, ``points`` of them)."""

    per_step: float
    low: float
    high: float
    start: float
    points: int

    @property
    def flat(self) -> bool:
        return self.low <= 0.0 <= self.high


def tail_slope(steps: Sequence[float], values: Sequence[float], *, tail: float = TAIL,
               level: float = LEVEL) -> Slope | None:
    """The slope of ``values`` against ``steps`` over the last ``tail`` of the readings (at least
    :data:`MIN_POINTS`), or ``None`` with fewer readings than that."""
    from scipy import stats

    if len(steps) != len(values):
        raise ValueError(f"steps and values need the same length, got {len(steps)} and {len(values)}")
    n = max(MIN_POINTS, math.ceil(len(values) * tail))
    if len(values) < n:
        return None
    x, y = [float(s) for s in steps[-n:]], [float(v) for v in values[-n:]]
    if len(set(x)) < 2:
        raise ValueError("the curve's steps must not all be equal")
    fit = stats.linregress(x, y)
    if abs(fit.slope * (x[-1] - x[0])) <= ROUND_OFF * max(1.0, max(abs(v) for v in y)):
        return Slope(0.0, min(0.0, -abs(fit.slope)), abs(fit.slope), x[0], n)     # a constant curve, up to round-off
    half = stats.t.ppf(0.5 + level / 2, n - 2) * fit.stderr
    return Slope(float(fit.slope), float(fit.slope - half), float(fit.slope + half), x[0], n)


@dataclass(frozen=True)
class Verdict:
    verdict: str                  # one of VERDICTS
    met: bool                     # whether the claim is met at the end of training
    slope: Slope | None           # the metric's tail slope (None: no curve to test)
    helps: int                    # +1: a rising metric helps the claim; -1: a falling one
    reason: str = ""              # why this verdict, in words (e.g. "the curve is flat", "within noise")

    def record(self) -> dict:
        """What the manifest stores."""
        return {"verdict": self.verdict, "met": self.met, "helps": self.helps, "reason": self.reason,
                "slope": None if self.slope is None else asdict(self.slope)}


def decide(met: bool, steps: Sequence[float] = (), values: Sequence[float] = (), *, helps: int = 1) -> Verdict:
    """The verdict of a claim met (or not) at the end of training whose metric read ``values`` at ``steps``
    (module docstring). Without a testable curve, the end value's: holds or fails."""
    if helps not in (1, -1):
        raise ValueError(f"helps is +1 (a rising metric helps the claim) or -1 (a falling one), got {helps!r}")
    slope = tail_slope(steps, values) if len(values) else None
    if slope is None:
        return Verdict("holds" if met else "fails", bool(met), None, helps, "the end value (no curve to test)")
    if slope.flat:
        return Verdict("holds" if met else "fails", bool(met), slope, helps, "the curve's last third is flat")
    towards_claim = (slope.per_step > 0) == (helps > 0)
    direction = "towards the claim" if towards_claim else "away from the claim"
    if met:
        return Verdict("holds" if towards_claim else "undecided", True, slope, helps,
                       f"the curve is still moving {direction}")
    return Verdict("undecided" if towards_claim else "fails", False, slope, helps,
                   f"the curve is still moving {direction}")
