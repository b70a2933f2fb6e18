"""A paper's claim as a check (issue 27): the paper's words and where it says them, the threshold it is tested
against (the paper's, cited, or ours, labelled with the reason), and the test that decides it on a run, judged
against the run's noise and, where the run measured one, the metric's curve.

**Noise, stated.** A claim resting on a difference ``a - b`` (two models, two columns) needs it *resolved*:

- with two or more seeds, paired by seed (or by judge, where one trained model is judged several times): every seed's difference ``a_s - b_s`` has the same sign, and their mean
  is more than twice its standard error ``sd(a_s - b_s) / sqrt(n)``;
- with one seed, the caller gives the measurement's own standard error (a coherence's binomial error over its
  test items, or the spread of an evaluation's judges), and the difference must be more than twice it. One seed
  without an error estimate is refused: a single number cannot be judged against a noise nobody measured.

A difference within its noise leaves a strict claim ("A above B") **undecided**: this run cannot tell, and the
number of seeds that would (at the measured spread) is printed. A non-strict claim ("A at least as high as B")
is met by a difference within noise, as equality meets it, and is marked so.

Verdicts combine that with the curve test of :mod:`mmvae_lib.reporting.verdicts`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mmvae_lib.reporting.verdicts import Verdict, decide

Z = 2.0                          # a difference is resolved beyond Z standard errors (about 95 %)


@dataclass(frozen=True)
class Difference:
    """``a - b`` as measured: the mean over seeds, its standard error, and what that error is."""

    mean: float
    error: float
    seeds: int
    agree: bool                  # every seed's difference has the mean's sign (always true for one seed)
    noise: str                   # "seed-paired over n seeds" or the one-seed measurement error's description
    spread: float = math.nan     # sd of the per-seed differences (two or more seeds)

    @property
    def resolved(self) -> bool:
        return self.agree and abs(self.mean) > Z * self.error

    @property
    def sign(self) -> int:
        """+1 or -1 when resolved, 0 within noise."""
        return (1 if self.mean > 0 else -1) if self.resolved else 0

    def seeds_to_resolve(self) -> int | None:
        """Seeds that would resolve a difference of this mean at this seed spread (None: not estimable)."""
        if not math.isfinite(self.spread) or self.mean == 0:
            return None
        return max(self.seeds + 1, math.ceil((Z * self.spread / abs(self.mean)) ** 2))

    def text(self, unit: str = "") -> str:
        return f"{self.mean:+.3g}{unit} ± {self.error:.2g} ({self.noise})"


def difference(a: Sequence[float], b: Sequence[float], *, error: float | None = None,
               error_kind: str = "measurement error", over: str = "seeds") -> Difference:
    """``a - b`` paired by seed (``a[i]`` and ``b[i]`` from seed ``i``; ``over`` names what is paired when it is not
    training seeds, e.g. "judges on one trained model"). One seed needs ``error``, the standard error of the one
    difference (``error_kind`` says what it is)."""
    a, b = [float(v) for v in a], [float(v) for v in b]
    if not a or not b:
        raise ValueError(f"a difference needs at least one value on each side, got {len(a)} and {len(b)}")
    if len(a) != len(b):
        return _unpaired(a, b, error, error_kind)
    d = [x - y for x, y in zip(a, b)]
    n = len(d)
    mean = sum(d) / n
    if n == 1:
        if error is None:
            raise ValueError("one seed: give the measurement's standard error (error=...), a difference cannot be "
                             "judged against a noise nobody measured")
        return Difference(mean, float(error), 1, True, f"one seed; {error_kind}")
    sd = math.sqrt(sum((v - mean) ** 2 for v in d) / (n - 1))
    agree = all(v > 0 for v in d) or all(v < 0 for v in d)
    return Difference(mean, sd / math.sqrt(n), n, agree, f"paired over {n} {over}", sd)


def _unpaired(a: list[float], b: list[float], error: float | None, error_kind: str) -> Difference:
    """``mean(a) - mean(b)`` when the two sides have different numbers of seeds (e.g. two JNF seeds against one
    baseline seed): each side's error is its seed spread / sqrt(n), or for a one-seed side the measurement's
    error (``error``), added in quadrature."""
    def side(values):
        n = len(values)
        if n == 1:
            if error is None:
                raise ValueError("one seed on one side: give the measurement's standard error (error=...)")
            return error
        mean = sum(values) / n
        return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)

    mean = sum(a) / len(a) - sum(b) / len(b)
    return Difference(mean, math.hypot(side(a), side(b)), min(len(a), len(b)), True,
                      f"unpaired, {len(a)} against {len(b)} seeds; a one-seed side: {error_kind}")


def proportion_error(p_a: float, p_b: float | None, n: int) -> float:
    """The standard error of the difference of two proportions (in the units of ``p``: fractions or %), each
    measured on ``n`` independent test items: the binomial error of a coherence. ``p_b`` None: ``p_a`` against a fixed
    level, whose error is ``p_a``'s alone."""
    scale = 100.0 if max(abs(p_a), abs(p_b or 0.0)) > 1 else 1.0
    variance = sum(p / scale * (1 - p / scale) for p in (p_a, p_b) if p is not None)
    return scale * math.sqrt(variance / n)


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, as a notebook checks it."""

    text: str                    # the check, in a line (the manifest's key)
    source: str                  # where the paper says it, e.g. "MMVAE paper, §4.2, Table 2"
    words: str                   # the paper's words, quoted
    threshold: str = ""          # "" (a plain comparison), "paper: ..." or "ours: ..., because ..."

    def __post_init__(self):
        if self.threshold and not self.threshold.startswith(("paper:", "ours:")):
            raise ValueError(f"{self.text!r}: a threshold is the paper's ('paper: ...', cited) or ours "
                             f"('ours: ..., because ...'), got {self.threshold!r}")


@dataclass(frozen=True)
class Check:
    """A claim checked on a run: met or not, the verdict, and the numbers behind it."""

    claim: Claim
    verdict: Verdict
    ours: str
    paper: str | None = None

    @property
    def met(self) -> bool:
        return self.verdict.met


def judge(claim: Claim, met: bool, differences: Sequence[Difference] = (), *, strict: bool = True,
          steps: Sequence[float] = (), values: Sequence[float] = (), helps: int = 1, ours: str = "",
          paper: str | None = None) -> Check:
    """The verdict on ``claim``, met (``met``) at the end of training. ``differences``: those the claim rests on,
    each positive when it helps the claim, required resolved (``strict``: "above"), or only not resolved against
    the claim (not ``strict``: "at least as high"); a strict claim with one within noise is undecided, unless
    another is resolved against it. ``steps, values, helps``: the claim's metric along
    training (:func:`mmvae_lib.reporting.verdicts.decide`)."""
    within = [d for d in differences if not d.resolved]
    against = [d for d in differences if d.sign < 0]      # resolved against the claim: no other can rescue it
    if strict and within and not against:
        needed = [n for n in (d.seeds_to_resolve() for d in within) if n is not None]
        more = f"; about {max(needed)} paired runs would resolve it at this spread" if needed else ""
        verdict = Verdict("undecided", bool(met), None, helps,
                          f"a difference it rests on is within its noise ({within[0].text()}){more}")
    else:
        verdict = decide(met, steps, values, helps=helps)
        reason = verdict.reason + "".join(f"; difference {d.text()}" for d in differences)
        if within and met:
            reason += "; equal within noise, which 'at least' allows"
        verdict = Verdict(verdict.verdict, verdict.met, verdict.slope, helps, reason)
    return Check(claim, verdict, ours, paper)


def record(profile: str, notebook: str, checks: Sequence[Check]) -> None:
    """Record each check in the run's manifest (:func:`mmvae_lib.paper.claim`)."""
    from mmvae_lib import paper

    for check in checks:
        paper.claim(profile, notebook, check.claim.text, check.met, ours=check.ours, paper=check.paper,
                    verdict=check.verdict, source=check.claim.source, threshold=check.claim.threshold or None)


def show(checks: Sequence[Check]) -> str:
    """The checks as a reader sees them in a notebook: verdict, claim, the paper's words and the numbers."""
    lines = []
    for c in checks:
        lines.append(f"{c.verdict.verdict.upper()}: {c.claim.text}")
        lines.append(f"    the paper ({c.claim.source}): \"{c.claim.words}\"")
        if c.claim.threshold:
            lines.append(f"    threshold, {c.claim.threshold}")
        lines.append(f"    ours: {c.ours}" + (f"; the paper's: {c.paper}" if c.paper else ""))
        lines.append(f"    why: {c.verdict.reason}")
    return "\n".join(lines)


def judge_count(claim: Claim, differences: Sequence[Difference], need: int, *, ours: str = "",
                paper: str | None = None) -> Check:
    """The verdict on a claim that at least ``need`` of ``differences`` are positive (e.g. "higher likelihoods" over
    a table's entries): met when that many are resolved positive, undecided when entries within noise could still
    make it, failed otherwise. No curve: such tables are measured once, at the end."""
    above = sum(d.sign > 0 for d in differences)
    within = sum(d.sign == 0 for d in differences)
    counts = f"{above} of {len(differences)} above beyond noise, {within} within noise (needs {need})"
    if above >= need:
        verdict = Verdict("holds", True, None, 1, f"the end value: {counts}")
    elif above + within >= need:
        verdict = Verdict("undecided", False, None, 1, f"entries within their noise could still meet it: {counts}")
    else:
        verdict = Verdict("fails", False, None, 1, f"the end value: {counts}")
    return Check(claim, verdict, ours, paper)


def as_table(checks: Sequence[Check]) -> "pd.DataFrame":  # noqa: F821  (pandas imported lazily)
    """The checks as a table (one row each) for ``outputs/<profile>/tables``."""
    import pandas as pd

    return pd.DataFrame([{"claim": c.claim.text, "verdict": c.verdict.verdict, "ours": c.ours, "paper": c.paper,
                          "reason": c.verdict.reason, "source": c.claim.source, "threshold": c.claim.threshold}
                         for c in checks])


def coherence_difference(values: dict, a: tuple, b: tuple | float, n_items: int, *, offset: float = 0.0) -> Difference:
    """``a - (b + offset)`` between two cells of a coherence table ``{(model, column): [% per seed]}`` (or one cell
    and a fixed level ``b``): paired by seed, or with one seed the binomial error over the ``n_items`` scored
    items."""
    va = values[a]
    level = not isinstance(b, tuple)
    vb = [float(b) + offset] * len(va) if level else [v + offset for v in values[b]]
    mean_a, mean_b = sum(va) / len(va), sum(vb) / len(vb) - offset
    return difference(va, vb, error=proportion_error(mean_a, None if level else mean_b, n_items),
                      error_kind=f"binomial error over {n_items:,} items")


def model_above(claim: Claim, values: dict, better: Sequence[str], others: Sequence[str], columns: Sequence[str], *,
                n_items: int, paper: str | None = None, steps: Sequence[float] = (),
                values_along: Sequence[float] = ()) -> Check:
    """A claim that a model (the best of ``better`` by mean, per column: "JNF-DCCA or JNF-CL") is more coherent than
    each of ``others`` in every one of ``columns`` of a coherence table ``{(model, column): [% per seed]}``."""
    def mean(key):
        return sum(values[key]) / len(values[key])

    differences, parts = [], []
    for column in columns:
        top = max(better, key=lambda m: mean((m, column)))
        rival = max(others, key=lambda m: mean((m, column)))
        differences += [coherence_difference(values, (top, column), (other, column), n_items) for other in others]
        parts.append(f"{column}: {top} {mean((top, column)):.1f} vs {rival} {mean((rival, column)):.1f} %")
    return judge(claim, all(d.mean > 0 for d in differences), differences, steps=steps, values=values_along,
                 ours="; ".join(parts), paper=paper)
