"""Theta-grid estimators (sims/_grid.py) where rho(theta | x_l) is known exactly.

Model: l = (1/2)(theta - x)^2, x ~ N(m, s^2), n points; rho(theta | x_l) = N(xbar, v)
(1-D), and per axis independently in 2-D. Exact: gap (Eq 6) = s^2 / n per axis;
rhobar = N(m, tau^2 + v), tau^2 = s^2 / n; sigma_rho^2 = E rho^2 - rhobar^2 with
E rho^2 = N(theta; m, tau^2 + v/2) / (2 sqrt(pi v)); with g = -log rho (Z = 1),
sigma_g^2 = (2 tau^4 + 4 (theta - m)^2 tau^2) / (4 v^2), sigma_gu = v sigma_g^2;
anchored at theta_0: sigma_g^2 = (theta - theta_0)^2 tau^2 / v^2;
sigma_l^2 = (2 s^4 + 4 (theta - m)^2 s^2) / 4; sigma_u^2 = Var(U_l).
Tolerances: 4 standard errors (the functions' own ci95 / 1.96 x 4).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from gapkit.sims.stats._grid import grid_density_stats, grid_effective_stats, grid_gap_eq06, histogram_per_dataset

N, S, M_, V = 5, 1.0, 0.3, 0.2
TAU2 = S**2 / N
K4 = 4.0 / 1.959963984540054  # ci95 -> 4 standard errors


def _norm(x, mean, var):
    return np.exp(-((x - mean) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var)


def _ensemble(rng, K, M, d=1):
    x = rng.normal(M_, S, (K, N, d))
    xb = x.mean(1)
    th = xb[:, None, :] + np.sqrt(V) * rng.standard_normal((K, M, d))
    return x, xb, th


def test_eq06_gap_1d_matches_exact_within_ci():
    rng = np.random.default_rng(3)
    K, M = 4000, 200
    x, xb, th = _ensemble(rng, K, M)
    edges = np.linspace(M_ - 4, M_ + 4, 81)
    c = 0.5 * (edges[1:] + edges[:-1])
    U = 0.5 * (c[None, :] - xb) ** 2 + 0.5 * x[..., 0].var(1)[:, None]  # U_l on the grid per data set
    r = grid_gap_eq06(th[..., 0], edges, U)
    assert r["outside"] < 1e-4
    assert abs(r["gap"] - S**2 / N) < K4 * r["gap_ci95"], r
    assert r["cov"].shape == (80,) and np.all(r["cov"][38:42] < 0)  # Cov(rho, U_l) < 0 at the centre
    # a wrong loss (the population loss, which does not covary with rho) gives gap 0: detected
    Ubar = 0.5 * ((c - M_) ** 2 + S**2)
    r0 = grid_gap_eq06(th[..., 0], edges, np.broadcast_to(Ubar, U.shape))
    assert r0["gap"] == pytest.approx(0.0, abs=1e-12)


def test_eq06_gap_2d_matches_exact_within_ci():
    rng = np.random.default_rng(4)
    K, M = 1500, 200
    x, xb, th = _ensemble(rng, K, M, d=2)
    e = np.linspace(M_ - 3.5, M_ + 3.5, 36)
    c = 0.5 * (e[1:] + e[:-1])
    X, Y = np.meshgrid(c, c, indexing="ij")
    s2 = x.var(1)  # (K, 2)
    U = 0.5 * ((X - xb[:, 0, None, None]) ** 2 + (Y - xb[:, 1, None, None]) ** 2) + 0.5 * s2.sum(1)[:, None, None]
    r = grid_gap_eq06(th, [e, e], U)
    assert r["cov"].shape == (35, 35)
    assert r["outside"] < 1e-3
    # exact gap 2 s^2 / n; the cell-size error (h = 0.2) is O(h^2 / 12) relative, well inside the CI
    assert abs(r["gap"] - 2 * S**2 / N) < K4 * r["gap_ci95"], r["gap"]


def test_rhobar_and_sigma_rho():
    rng = np.random.default_rng(5)
    K, M = 3000, 100
    _, _, th = _ensemble(rng, K, M)
    edges = np.linspace(M_ - 3, M_ + 3, 31)
    c = 0.5 * (edges[1:] + edges[:-1])
    h = edges[1] - edges[0]
    r = grid_density_stats(th[..., 0], edges)
    exact = _norm(c, M_, TAU2 + V)
    # cell average vs centre value: |error| <= h^2 max|rho''| / 24
    bias = h**2 / 24 * np.max(np.abs(exact)) / (TAU2 + V)
    assert np.all(np.abs(r["rhobar"] - exact) < K4 * r["rhobar_ci95"] + bias)
    # exact variance over data sets of the cell-averaged density (Gauss-Hermite over xbar ~ N(m, tau^2))
    z, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    xb = M_ + np.sqrt(TAU2) * z
    cdf = special.ndtr((edges[None, :] - xb[:, None]) / np.sqrt(V))
    cell = np.diff(cdf, axis=1) / h  # (nodes, cells)
    mean_c = w @ cell
    sr2 = w @ (cell - mean_c) ** 2
    # where the cells see enough draws for the spread to estimate its own error (rhobar > 1% of its peak)
    core = mean_c > 0.01 * mean_c.max()
    assert np.all((np.abs(r["sigma_rho2"] - sr2) < K4 * r["sigma_rho2_ci95"])[core])
    assert np.all((np.abs(mean_c - r["rhobar"]) < K4 * r["rhobar_ci95"])[core])
    # without removing the multinomial noise of the counts the estimate is biased up: detected
    raw = grid_density_stats(th[..., 0], edges, debias=False)
    assert np.any((raw["sigma_rho2"] - sr2 > K4 * raw["sigma_rho2_ci95"])[core])


def test_effective_stats_both_gauges():
    rng = np.random.default_rng(6)
    K = 3000
    x, _, _ = _ensemble(rng, K, 2)
    x = x[..., 0]
    c = np.linspace(M_ - 4, M_ + 4, 81)
    h = c[1] - c[0]

    def g_as_given(P, xx):  # -log rho up to the data-independent constant log sqrt(2 pi v)
        return (P - xx.mean()) ** 2 / (2 * V)

    def loss(P, xx):
        return 0.5 * (P[:, None] - xx[None, :]) ** 2

    sg2 = (2 * TAU2**2 + 4 * (c - M_) ** 2 * TAU2) / (4 * V**2)
    r = grid_effective_stats(c, x, g=g_as_given, loss=loss, gauge="logrho", volume=h)
    assert r["gauge"] == "logrho" and r["K"] == K
    assert np.all(np.abs(r["sigma_g2"] - sg2) < K4 * r["sigma_g2_ci95"])
    assert np.all(np.abs(r["sigma_gu"] - V * sg2) < K4 * r["sigma_gu_ci95"])
    sl2 = (2 * S**4 + 4 * (c - M_) ** 2 * S**2) / 4
    assert np.all(np.abs(r["sigma_l2"] - sl2) < K4 * r["sigma_l2_ci95"])
    # normalized gauge: gbar = E[-log rho] = (tau^2 + (theta - m)^2) / (2 v) + log sqrt(2 pi v)
    gbar = (TAU2 + (c - M_) ** 2) / (2 * V) + 0.5 * np.log(2 * np.pi * V)
    assert np.all(np.abs(r["gbar"] - gbar) < K4 * r["gbar_ci95"] + 1e-6)
    # sigma_u^2 = Var U_l, U_l = (1/2)(theta - xbar)^2 + (1/2) S^2, independent parts (Gaussian data)
    su2 = 0.25 * (2 * TAU2**2 + 4 * (c - M_) ** 2 * TAU2) + 0.25 * 2 * (N - 1) * S**4 / N**2
    assert np.all(np.abs(r["sigma_u2"] - su2) < K4 * r["sigma_u2_ci95"])
    # the anchor gauge (line integral from theta_0) gives a different sigma_g^2: the gauge matters
    ra = grid_effective_stats(c, x, g=g_as_given, loss=loss, gauge="anchor", anchor=M_ + 1.0)
    sga = (c - (M_ + 1.0)) ** 2 * TAU2 / V**2
    assert np.all(np.abs(ra["sigma_g2"] - sga) < K4 * ra["sigma_g2_ci95"] + 1e-9)
    assert np.max(np.abs(ra["sigma_g2"] - r["sigma_g2"])) > 10 * np.max(r["sigma_g2_ci95"])
    # a wrong model of sigma_g^2 (tau^2 off by 20%) is rejected
    assert np.any(np.abs(r["sigma_g2"] - 1.2**2 * sg2) > K4 * r["sigma_g2_ci95"])


def test_histogram_edge_cases_and_errors():
    th = np.array([[0.0, 1.0, 2.0, np.nan], [0.5, 0.5, 5.0, 1.0]])
    h = histogram_per_dataset(th, np.array([0.0, 1.0, 2.0]))
    assert h["counts"].tolist() == [[1, 2], [2, 1]]  # the right edge belongs to the last cell
    assert h["m"].tolist() == [3, 4] and h["outside"].tolist() == [0.0, 0.25]
    with pytest.raises(ValueError, match="edges"):
        histogram_per_dataset(th, np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="samples"):
        histogram_per_dataset(np.zeros((2, 3, 3)), [np.arange(3.0)] * 3)
    with pytest.raises(ValueError, match="train_loss_grid"):
        grid_gap_eq06(th, np.array([0.0, 1.0, 2.0]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="gauge"):
        grid_effective_stats(np.zeros(3), np.zeros((3, 4)), g=None, loss=None, gauge="zz")
    with pytest.raises(ValueError, match="volume"):
        grid_effective_stats(np.zeros(3), np.zeros((3, 4)), g=None, loss=None)
