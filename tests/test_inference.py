"""The tests behind findings (`gapkit.sims.stats._inference`): t quantiles, paired
differences and trends, the interior-optimum test and TOST, each with its
false-claim rate measured on synthetic data whose truth is known, and a wrong
answer shown to fail."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gapkit.sims.stats._estimators import mean_ci95
from gapkit.sims.stats._inference import (combine_runs, interior_optimum, mean_interval, paired_difference,
                                          paired_trend, t_quantile, tost)

REPS = 400  # synthetic replications per rate; a rate <= 0.05 is refused above 0.05 + 3 binomial sd = 0.083
RATE_MAX = 0.05 + 3 * np.sqrt(0.05 * 0.95 / REPS)


def test_t_quantiles_for_small_counts():
    assert t_quantile(3) == pytest.approx(3.182446, abs=1e-6)
    assert t_quantile(np.inf) == pytest.approx(1.959964, abs=1e-6)
    assert np.isnan(t_quantile(0))
    # 4 torch draws: the 95% half-width is t_3 sd / 2, not 1.96 sd / 2 (the old normal interval)
    x = np.array([0.1, 0.3, 0.2, 0.6])
    m, ci = mean_ci95(x)
    assert ci == pytest.approx(3.182446 * x.std(ddof=1) / 2, rel=1e-6)
    assert mean_interval(x)["half"] == pytest.approx(ci) and "df 3" in mean_interval(x)["method"]


def test_combine_runs_between_spread_and_floor():
    spread = combine_runs([1.0, 2.0, 3.0], [1e-3] * 3, [63] * 3)
    assert spread["se"] == pytest.approx(np.std([1, 2, 3], ddof=1) / np.sqrt(3)) and spread["df"] == 2
    assert "between-run" in spread["method"]
    one = combine_runs([1.0], [0.2], [3])
    assert one["se"] == pytest.approx(0.2 / 3.182446, rel=1e-6) and one["df"] == 3


def test_paired_difference_cancels_shared_noise_and_welch_does_not():
    rng = np.random.default_rng(0)
    base = rng.standard_normal(64)  # the data-set noise both grid points share
    a, b = base + 0.05 + 0.01 * rng.standard_normal(64), base + 0.01 * rng.standard_normal(64)
    p = paired_difference(a, b)
    assert p["lo"] > 0 and p["p_greater"] < 1e-6 and "paired" in p["method"]
    w = paired_difference(a, b, paired=False)
    assert w["lo"] < 0 < w["hi"] and "Welch" in w["method"]
    ref = stats.ttest_rel(a, b)
    assert p["t"] == pytest.approx(ref.statistic) and p["p_greater"] == pytest.approx(ref.pvalue / 2)


def _rate(claim, reps=REPS, seed=0):
    rng = np.random.default_rng(seed)
    return np.mean([claim(rng) for _ in range(reps)])


@pytest.mark.parametrize("paired", [True, False])
def test_trend_false_claim_rate_and_power(paired):
    x = np.log(np.geomspace(0.005, 0.4, 7))
    noise = lambda rng: rng.standard_normal((32, 1)) + 0.1 * rng.standard_normal((32, 7))  # noqa: E731
    null = _rate(lambda rng: paired_trend(x, noise(rng), paired=paired)["hi"] < 0)  # flat truth: "falls" is false
    assert null <= RATE_MAX / 2 + 0.01  # one side of a 95% interval: nominal 0.025
    # a wrong answer fails: a falling truth is found
    drop = _rate(lambda rng: paired_trend(x, noise(rng) - 0.05 * x, paired=True)["hi"] < 0, reps=50)
    assert drop > 0.9


@pytest.mark.parametrize("curve", ["rising", "flat"])
def test_interior_optimum_false_claim_rate(curve):
    # no interior point better than both edges (best T at the low edge, or no optimum): claimed <= alpha
    T = np.geomspace(0.005, 0.4, 7)
    truth = 0.2 + (0.02 * np.log(T / T[0]) if curve == "rising" else 0 * T)
    null = _rate(lambda rng: interior_optimum(truth + rng.standard_normal((32, 1))
                                              + 0.02 * rng.standard_normal((32, 7)))["holds"])
    assert null <= RATE_MAX


def test_interior_optimum_finds_a_true_minimum_for_loss_and_accuracy():
    rng = np.random.default_rng(1)
    x = np.log(np.geomspace(0.005, 0.4, 7))
    truth = 0.2 + 0.01 * (x - x[3]) ** 2
    Y = truth + rng.standard_normal((32, 1)) + 0.01 * rng.standard_normal((32, 7))
    got = interior_optimum(Y)
    assert got["holds"] and got["best"] == 3 and "Bonferroni" in got["method"]
    assert interior_optimum(-Y, sense="max")["holds"]
    assert not interior_optimum(Y[:, :4])["holds"]  # grid cut at the minimum: it is an edge


def test_tost_equivalence_and_its_level():
    margin = 0.1
    shared = lambda rng: rng.standard_normal(64)  # noqa: E731
    def draws(rng, d):
        s = shared(rng)
        return s + d + 0.1 * rng.standard_normal(64), s + 0.1 * rng.standard_normal(64)
    same = _rate(lambda rng: tost(*draws(rng, 0.0), margin)["verdict"] == "equivalent", reps=100)
    assert same > 0.9
    # at the margin the claim "equivalent" is false: made at most alpha of the time
    edge = _rate(lambda rng: tost(*draws(rng, margin), margin)["verdict"] == "equivalent")
    assert edge <= RATE_MAX
    # 20% beyond the margin: "different", never "equivalent"
    out = [tost(*draws(np.random.default_rng(s), 2.0 * margin), margin)["verdict"] for s in range(20)]
    assert "equivalent" not in out and out.count("different") >= 15
