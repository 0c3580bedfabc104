"""Exact engine (theory/_universe.py): Eqs 2-7, 9, 21 on random finite universes.

Equalities: |lhs - rhs| <= RTOL * (largest term involved); the gap itself may
be exactly 0, so the tolerance is never relative to the gap alone. RTOL = 1e-12
leaves a factor ~1e3-1e4 above double rounding for sums of <= a few thousand terms.
Inequalities are checked as inequalities, with the same rounding allowance.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multinomial

from cases import (
    erm_algorithm,
    grid_universe,
    loss_potential,
    potential_cases,
    random_algorithm,
    random_potential,
    random_sgd_pieces,
    random_universe,
    tight_universe,
    universe_cases,
)
from gapkit.testing import assert_identity, assert_inequality
from gapkit.theory._universe import (
    Universe,
    boltzmann,
    data_averages,
    effective_potential_gap,
    exact_identities,
    gap_by_sequences,
    potential_statistics,
    sgd_potential_gap,
    training_sets,
)

RTOL = 1e-12


def _assert_identity(idn, rtol=RTOL):
    assert idn.relation == "=="
    assert_identity(idn, rtol=rtol)


def _assert_bound(idn, rtol=RTOL):
    assert idn.relation == "<="
    assert_inequality(idn, rtol=rtol)


# ------------------------------------------------------------ enumeration
def test_multisets_match_scipy_multinomial():
    rng = np.random.default_rng(1)
    u = random_universe(rng, m=2, k=4)
    sets = training_sets(u, 5)
    assert sets.counts.shape == (math.comb(5 + 3, 3), 4)
    assert np.all(sets.counts.sum(axis=1) == 5)
    assert len({tuple(c) for c in sets.counts}) == sets.counts.shape[0]
    ref = multinomial(5, u.r_l).pmf(sets.counts)
    np.testing.assert_allclose(sets.p, ref, rtol=1e-12, atol=1e-300)
    assert abs(sets.p.sum() - 1.0) < 1e-14


def test_multiset_gap_equals_brute_force_sequences():
    rng = np.random.default_rng(2)
    for _ in range(3):
        u = random_universe(rng, m=4, k=3)
        alg = random_algorithm(7, u)
        ids = exact_identities(u, alg, 4)
        ref = gap_by_sequences(u, alg, 4)
        assert abs(ids["eq06"].lhs - ref) <= RTOL * ids["eq06"].scale


def test_wrong_weights_detected_by_brute_force():
    """A multiset enumeration with uniform weights (forgetting the multinomial
    coefficient) is caught by the k^n reference."""
    rng = np.random.default_rng(3)
    u = random_universe(rng, m=3, k=3)
    alg = random_algorithm(1, u)
    avg = data_averages(u, alg, 3)
    wrong_p = np.exp((avg.sets.counts * np.log(u.r_l)).sum(axis=1))
    wrong_p /= wrong_p.sum()
    wrong_gap = float(wrong_p @ (avg.rho @ (u.weights * u.Ubar_e)) - wrong_p @ avg.angle(avg.U_l))
    ref = gap_by_sequences(u, alg, 3)
    assert abs(wrong_gap - ref) > 1e3 * RTOL * max(abs(ref), 1e-3)


def test_multiset_limit_names_n_and_k():
    u = random_universe(np.random.default_rng(0), m=2, k=10)
    with pytest.raises(ValueError, match=r"n=40 and k=10"):
        training_sets(u, 40)


# ------------------------------------------------------------ Eqs 2-7, any algorithm
@settings(max_examples=40, deadline=None)
@given(universe_cases())
def test_identities_any_algorithm(case):
    u, n, seed = case
    ids = exact_identities(u, random_algorithm(seed, u), n)
    for key in ("eq02", "eq03", "eq04", "eq05"):
        _assert_identity(ids[key])
    if u.shift:
        assert "eq06" not in ids and "eq07" not in ids
    else:
        _assert_identity(ids["eq06"])
        _assert_bound(ids["eq07"])


@settings(max_examples=25, deadline=None)
@given(universe_cases(shift=False))
def test_identities_boltzmann_and_erm(case):
    u, n, seed = case
    rng = np.random.default_rng(seed)
    for alg in (boltzmann(u, random_potential(rng, u)), erm_algorithm(u)):
        ids = exact_identities(u, alg, n)
        for key in ("eq02", "eq03", "eq04", "eq05", "eq06"):
            _assert_identity(ids[key])
        _assert_bound(ids["eq07"])


def test_identities_on_grid_with_densities():
    rng = np.random.default_rng(4)
    u = grid_universe(rng)
    ids = exact_identities(u, boltzmann(u, loss_potential(u, 0.3)), 4)
    for key in ("eq02", "eq03", "eq04", "eq05", "eq06"):
        _assert_identity(ids[key])
    _assert_bound(ids["eq07"])
    assert ids["eq06"].lhs > 0


def test_eq4_joint_and_shortcut_agree():
    rng = np.random.default_rng(5)
    u = random_universe(rng, m=3, k=3, shift=True)
    alg = random_algorithm(2, u)
    a = exact_identities(u, alg, 3, n_e=2, joint_test=True)["eq04"]
    b = exact_identities(u, alg, 3, joint_test=False)["eq04"]
    assert abs(a.lhs - b.lhs) <= RTOL * a.scale
    _assert_identity(a)


def test_eq7_tight_case():
    u, alg, n = tight_universe()
    ids = exact_identities(u, alg, n)
    assert ids["eq07"].lhs > 0
    assert abs(ids["eq07"].lhs - ids["eq07"].rhs) <= RTOL * ids["eq07"].scale


def test_dropping_covariance_term_is_detected():
    """A wrong Eq 3 (train loss = <<Ubar_l>>, no covariance) fails the tolerance."""
    rng = np.random.default_rng(6)
    u = random_universe(rng, m=4, k=3)
    alg = boltzmann(u, loss_potential(u, 0.2))
    avg = data_averages(u, alg, 3)
    ids = exact_identities(u, alg, 3, avg=avg)
    wrong_rhs = avg.double(u.Ubar_l)
    assert abs(ids["eq03"].lhs - wrong_rhs) > 1e6 * RTOL * ids["eq03"].scale


# ------------------------------------------------------------ Eq 9, Eq 21
@settings(max_examples=40, deadline=None)
@given(potential_cases())
def test_eq9_positive_effective_potential_gap(case):
    u, n, g = case
    _assert_bound(effective_potential_gap(u, g, n))


def test_eq9_gauge_invariant():
    """Adding a data-dependent constant c(x_l) to g changes neither rho nor the
    effective-potential gap <<gbar>> - <g>bar."""
    rng = np.random.default_rng(7)
    u = random_universe(rng, m=4, k=3)
    g = random_potential(rng, u)

    def g2(c):
        return g(c) + 5.0 * np.sin(c @ np.arange(1.0, 4.0))

    a, b = effective_potential_gap(u, g, 3), effective_potential_gap(u, g2, 3)
    assert abs((a.rhs - a.lhs) - (b.rhs - b.lhs)) <= 1e-11 * max(a.scale, b.scale)
    assert abs(a.lhs - b.lhs) > 1e-3


@settings(max_examples=25, deadline=None)
@given(universe_cases(shift=False), st.sampled_from([0.05, 0.5, 2.0]))
def test_eq21_sgd_form(case, T):
    u, n, seed = case
    v, a = random_sgd_pieces(np.random.default_rng(seed), u)
    _assert_bound(sgd_potential_gap(u, v, a, T, n))


def test_eq9_loss_gap_can_be_negative_when_g_unrelated_to_loss():
    """A found example: g unrelated to the loss, Eq 9 holds but <Delta>bar < 0."""
    rng = np.random.default_rng(11)
    found = None
    for _ in range(20):
        u = random_universe(rng, m=4, k=3)
        g = random_potential(rng, u)
        alg = boltzmann(u, g)
        ids = exact_identities(u, alg, 3)
        if ids["eq06"].lhs < -1e-6:
            found = (u, g, ids)
            break
    assert found is not None, "no negative loss gap in 20 random universes"
    u, g, ids = found
    _assert_bound(effective_potential_gap(u, g, 3))
    assert ids["eq06"].lhs < 0


def test_eq9_implies_nonnegative_loss_gap_when_g_is_loss_over_T():
    rng = np.random.default_rng(12)
    for i in range(8):
        u = random_universe(rng, m=int(rng.integers(2, 6)), k=int(rng.integers(2, 5)))
        T = float(rng.choice([0.02, 0.3, 3.0]))
        ids = exact_identities(u, boltzmann(u, loss_potential(u, T)), int(rng.integers(1, 5)))
        assert ids["eq06"].lhs >= -RTOL * ids["eq06"].scale


# ------------------------------------------------------------ potential statistics
def test_potential_statistics_consistency():
    rng = np.random.default_rng(13)
    u = grid_universe(rng, m=31)
    g = loss_potential(u, 0.5)
    s1 = potential_statistics(u, 3, g=g, gauge="logrho")
    s2 = potential_statistics(u, 3, g=g, gauge="anchor", anchor=15)
    ids = exact_identities(u, boltzmann(u, g), 3)
    assert abs(s1.gap - ids["eq06"].lhs) <= RTOL * ids["eq06"].scale
    assert s1.gap == s2.gap
    # sigma_u^2 = sigma_l^2 / n (i.i.d. train points)
    np.testing.assert_allclose(s1.sigma_u ** 2, s1.sigma_l ** 2 / 3, rtol=1e-10, atol=1e-14)
    # anchor gauge: g(theta_0) = 0 on every data set
    assert s2.sigma_g2[15] == pytest.approx(0.0, abs=1e-20) and abs(s2.gbar[15]) < 1e-12
    # logrho gauge: integral exp(-g) = 1 for each data set, so E_D integral exp(-g) = 1
    assert abs(u.integral(s1.rhobar) - 1.0) < 1e-12
    # the gauges differ by a data-dependent constant: sigma_g2 differs, gbar differs by a constant
    d = s1.gbar - s2.gbar
    assert np.ptp(d) < 1e-9 and np.max(np.abs(s1.sigma_g2 - s2.sigma_g2)) > 1e-6


def test_sgd_statistics_add_up():
    rng = np.random.default_rng(14)
    u = random_universe(rng, m=5, k=3)
    v, a = random_sgd_pieces(rng, u)
    T = 0.7
    for gauge in ("logrho", "anchor"):
        s = potential_statistics(u, 3, v=v, a=a, T=T, gauge=gauge)
        np.testing.assert_allclose((2 / T) * s.sigma_vu + s.sigma_au, s.sigma_gu, rtol=1e-9, atol=1e-12)
        full = (4 / T**2) * s.sigma_v2 + s.sigma_a2 + (4 / T) * s.sigma_va
        np.testing.assert_allclose(full, s.sigma_g2, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(loss=np.ones((2, 2)), r_l=np.array([0.5, 0.6])), "r_l"),
        (dict(loss=-np.ones((2, 2)), r_l=np.array([0.5, 0.5])), "loss"),
        (dict(loss=np.array([[1.0, np.inf]]), r_l=np.array([0.5, 0.5])), "loss"),
        (dict(loss=np.ones((2, 3)), r_l=np.array([0.5, 0.5])), "r_l"),
        (dict(loss=np.ones((2, 2)), r_l=np.array([0.5, 0.5]), weights=np.ones(3)), "weights"),
        (dict(loss=np.ones((2, 2)), r_l=np.array([0.5, 0.5]), r_e=np.array([1.0, 0.1])), "r_e"),
    ],
)
def test_bad_universe(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Universe(**kwargs)


def test_bad_arguments():
    u = random_universe(np.random.default_rng(0), m=3, k=2)
    alg = random_algorithm(0, u)
    with pytest.raises(ValueError, match="n must"):
        exact_identities(u, alg, 0)
    with pytest.raises(ValueError, match="T must"):
        sgd_potential_gap(u, lambda c: np.zeros(3), lambda c: np.zeros(3), -1.0, 2)
    with pytest.raises(ValueError, match="algorithm must"):
        exact_identities(u, lambda c: np.ones(3), 2)  # not normalized
    with pytest.raises(ValueError, match="algorithm must"):
        exact_identities(u, lambda c: np.ones(4) / 4, 2)  # wrong shape
    with pytest.raises(ValueError, match="gauge"):
        potential_statistics(u, 2, g=lambda c: np.zeros(3), gauge="other")
