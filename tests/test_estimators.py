"""Data-averaged estimators (sims/_estimators.py).

Known answer: on the 1-D quadratic model l = (1/2)(theta - x)^2, x ~ N(m, s^2),
with rho(theta | x_l) = N(xbar, v), the data-averaged gap is exactly s^2 / n
(test loss (1/2)((theta - m)^2 + s^2), train loss (1/2)((theta - xbar)^2 + S^2)).
Control variate: U_l(theta* = m, x_l) = (1/2) mean_i (x_i - m)^2, expectation s^2 / 2.
"""
from __future__ import annotations

import numpy as np
import pytest

from gapkit.sims.stats._estimators import (
    control_variate_mean,
    ensemble_summary,
    gap_control_variate,
    mean_ci95,
    per_dataset_mean,
    per_dataset_means,
)

N, S, MEAN, V = 5, 1.0, 0.3, 0.2


def _ensemble(rng, K, M):
    x = rng.normal(MEAN, S, (K, N))
    xb, s2 = x.mean(1), x.var(1)
    th = xb[:, None] + np.sqrt(V) * rng.standard_normal((K, M))
    train = 0.5 * (th - xb[:, None]) ** 2 + 0.5 * s2[:, None]
    test = 0.5 * ((th - MEAN) ** 2 + S**2)
    cv = 0.5 * ((x - MEAN) ** 2).mean(1)  # E = s^2 / 2
    cv2 = 0.5 * (xb - MEAN) ** 2  # E = s^2 / (2 n)
    return train, test, cv, cv2


def test_ensemble_summary_known_gap_and_divergence():
    rng = np.random.default_rng(0)
    train, test, *_ = _ensemble(rng, 20000, 2)
    div = np.zeros_like(train, dtype=bool)
    div[:5, :] = True  # five data sets lose both chains
    div[5:10, 0] = True
    test[5:10, 0] = np.inf
    r = ensemble_summary(train, test, diverged=div)
    assert r["datasets_used"] == 19995 and r["diverged"] == 15
    assert abs(r["gap"] - S**2 / N) < 2.04 * r["gap_ci95"]  # 4 SE (ci95 = 1.96 SE)
    tr, te, keep, bad = per_dataset_means(train, test, diverged=div)
    assert tr.shape == (19995,) and keep.sum() == 19995 and bad.sum() == 15
    with pytest.raises(ValueError, match="diverged must have shape"):
        per_dataset_means(train, test, diverged=div[:3])


def test_per_dataset_mean_leaves_out_bad_members():
    """The one per-draw mean: the mean over each data set's surviving members
    (non-finite or diverged left out), nan for a data set with none left."""
    x = np.array([[1.0, 3.0, 5.0], [2.0, np.nan, 4.0], [7.0, 8.0, 9.0], [np.inf, 1.0, 1.0]])
    div = np.zeros((4, 3), bool)
    div[2] = True
    div[3, 1] = True
    got = per_dataset_mean(x, diverged=div)
    assert got[:2].tolist() == [3.0, 3.0] and np.isnan(got[2]) and got[3] == 1.0
    assert per_dataset_mean(x)[2] == 8.0 and per_dataset_mean(x)[3] == 1.0
    tr, te, keep, bad = per_dataset_means(x, x + 1, diverged=div)
    assert keep.tolist() == [True, True, False, True] and tr.tolist() == [3.0, 3.0, 1.0]
    assert te.tolist() == [4.0, 4.0, 2.0] and bad.sum() == 6
    # a member bad in test only is dropped from train too (one set of members per data set)
    te2 = x.copy()
    te2[0, 0] = np.nan
    assert per_dataset_means(x, te2)[0][0] == 4.0
    with pytest.raises(ValueError, match="values must have shape"):
        per_dataset_mean(np.ones(3))


def test_mean_ci95_basics():
    m, ci = mean_ci95(np.array([1.0, 3.0, np.nan]))
    # a 95% t interval on K = 2 values: t_1 quantile 12.706 x the standard error sqrt(2) / sqrt(2)
    assert m == 2.0 and ci == pytest.approx(12.706204736174694 * np.sqrt(2) / np.sqrt(2))
    assert np.isnan(mean_ci95(np.array([1.0]))[1])


def test_control_variate_unbiased_and_reduces_variance():
    """Replicated experiments: the cross-fitted estimator is unbiased (4 SE of the
    replicate mean) and its spread is clearly smaller than the plain estimator's."""
    rng = np.random.default_rng(1)
    R, K, M = 400, 30, 20
    est, est2, plain, ratios = [], [], [], []
    for _ in range(R):
        train, test, cv, cv2 = _ensemble(rng, K, M)
        g = gap_control_variate(train, test, cv, 0.5 * S**2)
        g2 = gap_control_variate(train, test, np.c_[cv, cv2], [0.5 * S**2, 0.5 * S**2 / N])
        est.append(g["gap"])
        est2.append(g2["gap"])
        plain.append(g["gap_plain"])
        ratios.append(g["variance_ratio"])
    est, est2, plain = np.array(est), np.array(est2), np.array(plain)
    truth = S**2 / N
    for e in (est, est2, plain):
        assert abs(e.mean() - truth) < 4 * e.std(ddof=1) / np.sqrt(R)
    vr = est.var(ddof=1) / plain.var(ddof=1)
    vr2 = est2.var(ddof=1) / plain.var(ddof=1)
    # population R^2 of the per-data-set gap: 0.35 with U_l(m) alone (ideal ratio 0.65; cross-fitting
    # on 27 data sets costs a little), 0.98 with (xbar - m)^2 added (ideal ratio 0.02)
    assert vr < 0.8, vr
    assert vr2 < 0.1, vr2
    assert abs(np.median(ratios) - vr) < 0.15  # the per-run report says the same


def test_control_variate_wrong_mean_is_biased():
    """A wrong known mean for the control variate biases the estimate: detected."""
    rng = np.random.default_rng(2)
    train, test, cv, _ = _ensemble(rng, 20000, 4)
    good = gap_control_variate(train, test, cv, 0.5 * S**2)
    bad = gap_control_variate(train, test, cv, 0.6 * S**2)
    truth = S**2 / N
    assert abs(good["gap"] - truth) < 2.04 * good["gap_ci95"]
    assert abs(bad["gap"] - truth) > 2.04 * bad["gap_ci95"]


def test_control_variate_exact_when_perfectly_correlated():
    rng = np.random.default_rng(3)
    c = rng.standard_normal(50)
    y = 2.0 + 3.0 * c  # E[y] = 2 exactly; y - b (c - 0) = 2 with b = 3
    r = control_variate_mean(y, c, 0.0)
    assert r["mean"] == pytest.approx(2.0, abs=1e-12) and r["ci95"] < 1e-12
    assert np.allclose(r["b"], [3.0])
    # two control variates
    c2 = rng.standard_normal((50, 2))
    r2 = control_variate_mean(1.0 + c2 @ np.array([0.5, -2.0]), c2, [0.0, 0.0])
    assert r2["mean"] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.ones((3, 2)), np.ones(3), 0.0), "y must be 1-D"),
        ((np.ones(10), np.ones(9), 0.0), "c must have shape"),
        ((np.ones(3), np.ones(3), 0.0), "at least"),
        ((np.r_[np.ones(9), np.nan], np.ones(10), 0.0), "finite"),
    ],
)
def test_control_variate_bad_args(args, match):
    with pytest.raises(ValueError, match=match):
        control_variate_mean(*args)
    with pytest.raises(ValueError, match="folds"):
        control_variate_mean(np.arange(10.0), np.arange(10.0), 0.0, folds=1)
