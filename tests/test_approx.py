"""Approximations (theory/_approx.py): order of accuracy against the exact
engine, gauges, limits, undefined (Zbar = inf) cases, overflow, Eq 50.

Order tests follow the diffrax habit: fit log|error| against log(eps), where
eps scales the data dependence of g (and of the loss), and compare the slope
with what the expansion implies. Slope tolerances: the fits use eps in
[1.25e-3, 1e-2], where the next-order term changes the local slope by < 0.3
(measured); the asserted bounds leave that margin.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from gapkit.theory._approx import (
    approximations,
    eq10_lognormal_rhobar,
    eq11_gap_bound,
    eq12_cov,
    eq13_gap,
    eq14_test_loss_bound,
    eq22_sgd_gap,
    eq23_sgd_test_loss_bound,
    eq24_sgd_gap_bound,
    eq50_delta_cov,
    eq51_cov,
    eq52_gap,
    eq53_sgd_gap,
    normalizable,
)
from gapkit.theory._universe import Universe, boltzmann, exact_identities, potential_statistics

EPS = np.array([0.01, 0.005, 0.0025, 0.00125])


def _slope(eps, err):
    return float(np.polyfit(np.log(eps), np.log(np.abs(err)), 1)[0])


def _model(seed=5, m=6, k=3):
    rng = np.random.default_rng(seed)
    return dict(l0=1 + rng.random(m), l1=rng.random((m, k)), r=np.array([0.3, 0.45, 0.25]),
                g0=rng.normal(size=m), A=rng.normal(size=(m, k)), B=rng.normal(size=(m, k)))


def _errors(p, eps_l, eps_g, gauge, n=3):
    """Exact gap and errors of Eqs 10-13, 52 on a finite universe where the
    loss's data dependence is eps_l and g's is eps_g."""
    u = Universe(loss=p["l0"][:, None] + eps_l * p["l1"], r_l=p["r"])

    def g(c):
        f = c / c.sum()
        return p["g0"] + eps_g * (p["A"] @ f + (p["B"] @ f) ** 2)

    s = potential_statistics(u, n, g=g, gauge=gauge)
    res = approximations(s, tails=False)
    e7 = exact_identities(u, boltzmann(u, g), n)["eq07"].rhs
    return dict(
        gap=s.gap,
        eq10=np.abs(res["eq10"].details["rhobar"] - s.rhobar).sum(),
        eq11=res["eq11"].value - e7,
        eq12=np.abs(res["eq12"].details["cov"] - s.cov_rho_u).sum(),
        eq13=res["eq13"].value - s.gap,
        eq52=res["eq52"].value - s.gap,
        eq13_floor=float(np.dot(s.rhobar, -s.Ubar * np.expm1(-s.sigma_u ** 4 / (8 * s.Ubar ** 4)))),
    )


def _table(eps_l_scaled, gauge):
    p = _model()
    rows = [_errors(p, e if eps_l_scaled else 1.0, e, gauge) for e in EPS]
    return {key: np.array([r[key] for r in rows]) for key in rows[0]}


# ------------------------------------------------------------ orders
def test_order_logrho_gauge_both_small():
    """Loss and g data dependence both O(eps): gap = O(eps^2); the log-normal
    and delta-method expansions drop third-order cumulants, so their errors
    are O(eps^3) (Eq 7's bound is O(eps^2) too, Eq 11's error O(eps^3))."""
    t = _table(True, "logrho")
    assert abs(_slope(EPS, t["gap"]) - 2.0) < 0.1
    for key in ("eq10", "eq11", "eq12", "eq13", "eq52"):
        assert _slope(EPS, t[key]) > 2.7, key


def test_order_anchor_gauge_does_not_converge_relative_to_gap():
    """In the anchor gauge sigma_gu misses Cov(<delta g>_0, <U_l>_0) (the
    data-dependent log Z), so the error of Eqs 13 and 52 is of the gap's own
    order: the relative error tends to a nonzero constant."""
    t = _table(True, "anchor")
    for key in ("eq13", "eq52"):
        assert _slope(EPS, t[key]) < 2.5, key
        rel = np.abs(t[key] / t["gap"])
        assert rel[-1] > 1e-3 and rel[-1] > 0.5 * rel[0], key
    lr = _table(True, "logrho")
    assert np.abs(lr["eq52"] / lr["gap"])[-1] < 1e-2 * np.abs(t["eq52"] / t["gap"])[-1]


def test_order_g_small_loss_noise_fixed():
    """g's data dependence O(eps), loss noise fixed: gap = O(eps), Eq 52's error
    O(eps^2) (logrho gauge). Eq 13 does NOT converge: its sigma_u^4/(8 Ubar^4)
    term survives when g is data independent, leaving the floor
    <<Ubar (1 - exp(-sigma_u^4 / (8 Ubar^4)))>>."""
    t = _table(False, "logrho")
    assert abs(_slope(EPS, t["gap"]) - 1.0) < 0.1
    assert _slope(EPS, t["eq52"]) > 1.8
    assert abs(_slope(EPS, t["eq13"])) < 0.3
    np.testing.assert_allclose(t["eq13"][-1], t["eq13_floor"][-1], rtol=0.05)


def test_order_check_detects_a_wrong_approximation():
    """The same slope test fails for a deliberately wrong Eq 52 (factor 1.1)."""
    p = _model()
    errs = []
    for e in EPS:
        u = Universe(loss=p["l0"][:, None] + e * p["l1"], r_l=p["r"])

        def g(c, e=e):
            f = c / c.sum()
            return p["g0"] + e * (p["A"] @ f + (p["B"] @ f) ** 2)

        s = potential_statistics(u, 3, g=g)
        errs.append(1.1 * eq52_gap(s.gbar, s.sigma_gu, s.weights, tails=False).value - s.gap)
    assert _slope(EPS, np.array(errs)) < 2.2


# ------------------------------------------------------------ SGD forms are consistent
def test_sgd_forms_match_general_forms():
    rng = np.random.default_rng(3)
    m, k = 5, 3
    u = Universe(loss=1 + rng.random((m, k)), r_l=np.array([0.2, 0.5, 0.3]))
    V, A = rng.normal(size=(m, k)), 0.3 * rng.normal(size=(m, k))
    T = 0.8

    def v(c):
        return V @ (c / c.sum())

    def a(c):
        return (A @ (c / c.sum())) ** 2

    for gauge in ("logrho", "anchor"):
        s = potential_statistics(u, 3, v=v, a=a, T=T, gauge=gauge)
        res = approximations(s, tails=False)
        w = s.weights
        e13 = eq13_gap(s.Ubar, s.sigma_gu, s.sigma_u, w, rhobar=s.rhobar, gauge=gauge, tails=False)
        assert res["eq22"].details["full"] == pytest.approx(e13.value, rel=1e-12)
        assert res["eq53"].value == pytest.approx(eq52_gap(s.gbar, s.sigma_gu, w, tails=False).value, rel=1e-9)
        # Eq 24 with the cross term is Eq 11's small-sigma_g limit with the exact sigma_g^2
        e11 = eq11_gap_bound(s.sigma_l, s.sigma_g2, w, 3, gbar=s.gbar, tails=False)
        assert res["eq24"].details["with_cross"] == pytest.approx(e11.details["limit_small"], rel=1e-9)
        e14 = eq14_test_loss_bound(s.sigma_l, s.sigma_g2, w, 3, gbar=s.gbar, tails=False)
        assert res["eq23"].details["with_cross"] == pytest.approx(e14.value, rel=1e-9)
        assert res["eq23"].gauge == gauge and res["eq13"].gauge == gauge
        # the paper's dropped cross term matters here
        assert abs(res["eq24"].value - res["eq24"].details["with_cross"]) > 1e-6


# ------------------------------------------------------------ limits and validity
def test_eq11_and_eq13_limits():
    th = np.linspace(-6, 6, 241)
    w = np.full(th.size, th[1] - th[0])
    sl = np.ones_like(th)
    for s2, key in ((np.full(th.size, 30.0), "limit_large"), (np.full(th.size, 1e-6), "limit_small")):
        r = eq11_gap_bound(sl, s2, w, 4, gbar=th**2)
        assert r.defined and r.value == pytest.approx(r.details[key], rel=1e-5)
    Ub = 1 + th**2
    big = eq13_gap(Ub, 50 * Ub, 0 * Ub, w, gbar=th**2, sigma_g2=0 * th)
    assert big.value == pytest.approx(big.details["limit_large"], rel=1e-12)
    small = eq13_gap(Ub, 1e-7 * Ub, 1e-3 * Ub, w, gbar=th**2, sigma_g2=0 * th)
    assert small.value == pytest.approx(small.details["limit_small"], rel=1e-6)
    assert big.details["rhobar_source"] == "eq10"


def test_eq12_eq13_validity_condition():
    Ub = np.array([1.0, 1.0, 1.0])
    su = np.array([0.5, 2.0, 2.5])  # sigma_u^2/Ubar^2 = 0.25, 4, 6.25
    r = eq12_cov(np.full(3, 1 / 3), Ub, np.zeros(3), su)
    assert r.details["valid"].tolist() == [True, True, False]
    e = eq13_gap(Ub, np.zeros(3), su, np.ones(3), rhobar=np.full(3, 1 / 3), tails=False)
    assert not e.details["valid"] and e.details["violation_mass"] == pytest.approx(1 / 3)


# ------------------------------------------------------------ undefined / overflow
def _grid(width=6.0, m=241):
    th = np.linspace(-width, width, m)
    w = np.full(m, th[1] - th[0])
    w[[0, -1]] *= 0.5
    return th, w


def test_non_normalizable_is_undefined_not_a_number():
    th, w = _grid()
    bad = eq10_lognormal_rhobar(th**2, 0.1 * th**4, w)  # exponent grows like theta^4
    assert not bad.defined and bad.value is None and "Zbar = inf" in bad.reason
    for r in (eq11_gap_bound(np.ones_like(th), 0.1 * th**4, w, 3, gbar=th**2),
              eq14_test_loss_bound(np.ones_like(th), 0.1 * th**4, w, 3, gbar=th**2)):
        assert not r.defined and r.value is None
    good = eq10_lognormal_rhobar(th**2, 0.1 * th**2, w)
    assert good.defined and abs(np.dot(w, good.details["rhobar"]) - 1) < 1e-12
    narrow = eq10_lognormal_rhobar(0.01 * th**2, 0 * th, w)
    assert not narrow.defined and "too narrow" in narrow.reason
    flat = eq52_gap(np.zeros_like(th), np.ones_like(th), w)
    assert not flat.defined
    # Zbar finite (exponent -theta^2/2) but <<sigma_l exp(sigma_g^2/2)>> diverges (exponent +theta^2)
    s2 = 3.0 * th**2
    assert eq10_lognormal_rhobar(2 * th**2, s2, w).defined
    div = eq14_test_loss_bound(np.ones_like(th), s2, w, 3, gbar=2 * th**2)
    assert not div.defined and div.value is None and "integral diverges" in div.reason
    assert not eq11_gap_bound(np.ones_like(th), s2, w, 3, gbar=2 * th**2).defined
    ok, _, _ = normalizable(np.zeros(4), np.ones(4), tails=False)
    assert ok  # a finite theta set: the sum is the integral


def test_quadratic_model_eq10_undefined_in_both_gauges():
    """1-D quadratic model with D = empirical variance: sigma_g^2 ~ theta^4."""
    from gapkit.sims.verify.catalogue.approx import quadratic1d_stats

    for gauge in ("logrho", "anchor"):
        s = quadratic1d_stats(T=0.5, n=4, gauge=gauge)
        res = approximations(s)
        for key in ("eq10", "eq11", "eq14", "eq23"):
            assert not res[key].defined and res[key].value is None, (key, gauge)
        for key in ("eq13", "eq52", "eq53"):
            assert res[key].defined and np.isfinite(res[key].value), (key, gauge)


def test_langevin1d_threshold_detected():
    """D = 0 model: Eq 10 exists iff T > T* = 2 Var(x)/(n beta^2 (1+alpha)) (derived)."""
    from gapkit.sims.verify.catalogue.approx import LANGEVIN_BETA, langevin1d_threshold, quadratic1d_stats

    for n in (2, 8):
        t = langevin1d_threshold(n)
        for gauge in ("logrho", "anchor"):
            lo = quadratic1d_stats(0.6 * t, n, gauge, beta=LANGEVIN_BETA, noise="none")
            hi = quadratic1d_stats(1.8 * t, n, gauge, beta=LANGEVIN_BETA, noise="none")
            assert not approximations(lo)["eq10"].defined
            assert approximations(hi)["eq10"].defined


def test_large_sigma_g2_stays_finite():
    th, w = _grid()
    s2 = np.full(th.size, 800.0)
    r10 = eq10_lognormal_rhobar(th**2, s2, w)
    assert r10.defined and np.all(np.isfinite(r10.details["sigma_rho"]))
    r11 = eq11_gap_bound(np.ones_like(th), s2, w, 4, gbar=th**2)
    r14 = eq14_test_loss_bound(np.ones_like(th), s2, w, 4, gbar=th**2)
    for r in (r11, r14):
        assert r.defined and np.isfinite(r.value)
        assert math.log(r.value) == pytest.approx(400 - 0.5 * math.log(4), rel=1e-12)


# ------------------------------------------------------------ Eq 50
# exact Cov of two quadratic forms of a Gaussian (Gauss-Hermite, exact for degree <= 11)
from gapkit.sims.verify.catalogue.approx import _gauss_cov_quadratic  # noqa: E402


def test_eq50_gaussian_form_exact_paper_form_not():
    rng = np.random.default_rng(0)
    M = rng.normal(size=(2, 2))
    S = M @ M.T + 0.5 * np.eye(2)
    a, b = rng.normal(size=2), rng.normal(size=2)
    A = rng.normal(size=(2, 2)); A = A + A.T
    B = rng.normal(size=(2, 2)); B = B + B.T
    exact = _gauss_cov_quadratic(S, a, A, b, B)
    gauss = eq50_delta_cov(S, a, b, A, B, form="gaussian")
    paper = eq50_delta_cov(S, a, b, A, B, form="paper")
    assert gauss == pytest.approx(exact, rel=1e-10)
    assert abs(paper - exact) > 1e-3 * abs(exact)
    # with a linear h (d2h = 0) the two forms coincide, as in Eq 51
    assert eq50_delta_cov(S, a, b, A, 0 * B, form="paper") == pytest.approx(
        eq50_delta_cov(S, a, b, A, 0 * B, form="gaussian"), rel=1e-14)


def test_eq51_is_eq50_at_the_mean():
    """Eq 51 = Eq 50 with x = (g, U_l), f = exp(-g)/Z, h = U_l, both forms."""
    gbar = np.array([0.3, 1.0, 2.0])
    sgu = np.array([0.2, -0.1, 0.05])
    w = np.ones(3)
    r51 = eq51_cov(gbar, sgu, w, tails=False)
    rmu = r51.details["rho_mu"]
    for form in ("paper", "gaussian"):
        S = np.array([[[1.0, s], [s, 1.0]] for s in sgu])
        df = np.stack([-rmu, 0 * rmu], axis=1)
        dh = np.tile([0.0, 1.0], (3, 1))
        d2f = np.array([[[r, 0.0], [0.0, 0.0]] for r in rmu])
        cov = eq50_delta_cov(S, df, dh, d2f, np.zeros((3, 2, 2)), form=form)
        np.testing.assert_allclose(cov, r51.details["cov"], rtol=1e-14)


# ------------------------------------------------------------ bad input
def test_bad_input():
    w = np.ones(3)
    with pytest.raises(ValueError, match="T must"):
        eq22_sgd_gap(w, w, w, w, 0.0, w, rhobar=w / 3)
    with pytest.raises(ValueError, match="T must"):
        eq53_sgd_gap(w, w, w, w, -1.0, w)
    with pytest.raises(ValueError, match="n must"):
        eq11_gap_bound(w, w, w, 0, gbar=w)
    with pytest.raises(ValueError, match="sigma_gu"):
        eq52_gap(w, np.ones(4), w)
    with pytest.raises(ValueError, match="sigma_g2"):
        eq10_lognormal_rhobar(w, -w, w)
    with pytest.raises(ValueError, match="weights"):
        eq52_gap(w, w, -w)
    with pytest.raises(ValueError, match="gauge"):
        eq52_gap(w, w, w, gauge="zero")
    with pytest.raises(ValueError, match="form"):
        eq50_delta_cov(np.eye(2), w[:2], w[:2], np.eye(2), np.eye(2), form="third")
    with pytest.raises(ValueError, match="sigma_l"):
        eq24_sgd_gap_bound(np.array([1.0, np.nan, 1.0]), w, w, w, 1.0, w, 2, rhobar=w / 3)
    with pytest.raises(ValueError, match="n must"):
        eq23_sgd_test_loss_bound(w, w, w, w, 1.0, w, 0, rhobar=w / 3)
    from gapkit.sims.verify.catalogue.approx import quadratic1d_stats

    with pytest.raises(ValueError, match="alpha must"):
        quadratic1d_stats(T=0.5, n=2, alpha=-0.1)
    with pytest.raises(ValueError, match="beta must"):
        quadratic1d_stats(T=0.5, n=2, beta=0.0)
    with pytest.raises(ValueError, match="T must"):
        quadratic1d_stats(T=0.0, n=2)
    with pytest.raises(ValueError, match="n must"):
        quadratic1d_stats(T=0.5, n=0)
