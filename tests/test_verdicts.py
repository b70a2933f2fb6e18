"""mmvae_lib.reporting.verdicts: holds, fails or undecided from a claim's end value and its metric's curve (the
tail slope's 95 % interval: flat when it includes zero), recorded by paper.claim and shown by the report."""
from __future__ import annotations

import numpy as np
import pytest

from mmvae_lib import paper, report
from mmvae_lib.reporting import verdicts

STEPS = list(range(0, 3000, 100))                      # 30 readings: the tail is the last 10


def _curve(slope: float, noise: float = 0.2, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return [40 + slope * s + noise * rng.standard_normal() for s in STEPS]


def test_the_tail_slope_and_its_interval():
    exact = verdicts.tail_slope(STEPS, [2.0 + 0.01 * s for s in STEPS])
    assert exact.per_step == pytest.approx(0.01) and exact.points == 10 and exact.start == 2000
    assert exact.high - exact.low < 1e-9 and not exact.flat
    noisy = verdicts.tail_slope(STEPS, _curve(0.0, noise=2.0))
    assert noisy.flat and noisy.low < 0 < noisy.high
    assert verdicts.tail_slope([1, 2], [3.0, 4.0]) is None          # fewer than three readings: no test
    with pytest.raises(ValueError, match="same length"):
        verdicts.tail_slope([1, 2, 3], [1.0])


@pytest.mark.parametrize("met, slope, helps, expected", [
    (True, 0.0, 1, "holds"), (False, 0.0, 1, "fails"),              # flat: the end value decides
    (False, 0.01, 1, "undecided"), (False, -0.01, 1, "fails"),      # not met: still rising towards it, or away
    (True, -0.01, 1, "undecided"), (True, 0.01, 1, "holds"),        # met: falling away from it, or not
    (False, -0.01, -1, "undecided"), (True, 0.01, -1, "undecided"),  # a falling metric helps (e.g. a distance)
])
def test_the_three_verdicts(met, slope, helps, expected):
    values = _curve(slope, noise=0.0 if slope else 2.0)
    result = verdicts.decide(met, STEPS, values, helps=helps)
    assert result.verdict == expected and result.met == met
    assert result.slope is not None and result.slope.flat == (slope == 0.0)


def test_without_a_curve_the_end_value_decides_and_says_so():
    assert verdicts.decide(True).verdict == "holds" and verdicts.decide(False).slope is None
    assert verdicts.decide(False, [1, 2], [1.0, 9.0]).verdict == "fails"
    with pytest.raises(ValueError, match="helps is"):
        verdicts.decide(True, helps=0)


def test_a_claim_records_its_verdict_and_the_report_and_summary_show_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    rising = verdicts.decide(False, STEPS, _curve(0.01, noise=0.0))
    paper.claim("smoke", "06", "A above B", False, ours="30 vs 40", verdict=rising)
    paper.claim("smoke", "06", "C above D", True)
    stored = paper.load_manifest("smoke")["claims"]["06 A above B"]
    assert stored["verdict"] == "undecided" and stored["holds"] is False and stored["slope"]["points"] == 10
    assert stored["helps"] == 1 and stored["met"] is False
    text = paper.summary("smoke", "06")
    assert "1 of 2 of the papers' claims checked here hold, 1 undecided (this run cannot tell: still moving, or within noise)" in text
    assert "- *undecided*: A above B (ours 30 vs 40)" in text and "- holds: C above D" in text
    found = report.claims(paper.load_manifest("smoke"), {})
    table = report.claims_table(found)
    assert "| *undecided* | A above B |" in table and "| holds | C above D |" in table
    assert "1 of 2 claims hold, 1 undecided (this run cannot tell: still moving, or within noise) on" in report.claims_summary(found, paper.load_manifest("smoke"))
    with pytest.raises(ValueError, match="says otherwise"):
        paper.claim("smoke", "06", "E", True, verdict=rising)


def test_a_constant_curve_is_flat_despite_round_off():
    values = [40.0, 40.00000000000001] * 5
    slope = verdicts.tail_slope(list(range(10)), values)
    assert slope.flat
    assert verdicts.decide(True, list(range(10)), values).verdict == "holds"
