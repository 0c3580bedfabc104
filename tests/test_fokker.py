"""Fokker-Planck steady-state solver (sims/_fokker.py) against closed forms.

Exact references: the Boltzmann density exp(-g), g = (2/T) v + a (Eqs 18-20)
where J = 0, and the Gaussian stationary law of the linear diffusion (a
continuous Lyapunov solve) where the curl-free condition fails. The solver is
second order in the cell width; the convergence tests fit that order.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import solve_continuous_lyapunov

from gapkit.theory._fokker import boltzmann_density, cell_average, sgd_fokker_planck, solve_fokker_planck

# 1-D quadratic: l = (h/2)(theta - x)^2, so grad U_l = h (theta - xbar), D = h^2 S^2 (constant)
H1, XBAR, D1, T1, ALPHA1, BETA1 = 1.3, 0.4, 0.6, 0.5, 0.1, 0.3
MU1 = H1 * XBAR / (H1 + ALPHA1)
VAR1 = T1 * (D1 + BETA1**2) / (2 * (H1 + ALPHA1))


def _quad1d(n_cells, width=7.0):
    s = np.sqrt(VAR1)
    return sgd_fokker_planck(
        lambda x: H1 * (x[:, 0] - XBAR), lambda x: np.full(x.shape[0], D1),
        T=T1, alpha=ALPHA1, beta=BETA1, bounds=[(MU1 - width * s, MU1 + width * s)], n_cells=n_cells,
    )


def _boltzmann_quad1d(sol):
    x = sol.centers[0]
    # g = (2/T) v, v = (h + alpha)(theta - mu)^2 / (2 (D + beta^2)); a = log(D + beta^2) is constant
    g = (2 / T1) * (H1 + ALPHA1) * (x - MU1) ** 2 / (2 * (D1 + BETA1**2))
    return boltzmann_density(g, sol.cell_volume)


def test_quadratic1d_matches_boltzmann_second_order():
    ns = np.array([40, 80, 160, 320])
    errs = []
    for n in ns:
        sol = _quad1d(int(n))
        errs.append(np.max(np.abs(sol.rho - _boltzmann_quad1d(sol))))
        assert np.max(np.abs(sol.J)) < 1e-12  # 1-D with zero-flux walls: J = 0 exactly
        assert abs(sol.rho.sum() * sol.cell_volume - 1) < 1e-12
    order = -np.polyfit(np.log(ns), np.log(errs), 1)[0]
    assert 1.9 < order < 2.1, (order, errs)
    assert errs[-1] < 2e-4 * _boltzmann_quad1d(_quad1d(320)).max()


@settings(max_examples=15, deadline=None)
@given(h=st.floats(0.2, 5.0), T=st.floats(0.01, 3.0), alpha=st.floats(0.0, 1.0), beta=st.floats(0.0, 2.0),
       D=st.floats(0.05, 4.0), xbar=st.floats(-3.0, 3.0), lam=st.floats(0.01, 2.0))
def test_quadratic1d_any_parameters_within_richardson_tolerance(h, T, alpha, beta, D, xbar, lam):
    mu = h * xbar / (h + alpha)
    var = T * (D + beta**2) / (2 * (h + alpha))
    s = np.sqrt(var)
    sols = [sgd_fokker_planck(lambda x: h * (x[:, 0] - xbar), lambda x: np.full(x.shape[0], D), T=T, lam=lam,
                              alpha=alpha, beta=beta, bounds=[(mu - 7 * s, mu + 7 * s)], n_cells=n) for n in (60, 180)]
    rich = np.max(np.abs(sols[1].rho[1::3] - sols[0].rho)) / 8
    x = sols[1].centers[0]
    exact = boltzmann_density((x - mu) ** 2 / (2 * var), sols[1].cell_volume)
    assert np.max(np.abs(sols[1].rho - exact)) < 1.5 * rich


def test_wrong_temperature_is_detected():
    sol = _quad1d(320)
    x = sol.centers[0]
    g_wrong = (2 / (1.05 * T1)) * (H1 + ALPHA1) * (x - MU1) ** 2 / (2 * (D1 + BETA1**2))
    err_right = np.max(np.abs(sol.rho - _boltzmann_quad1d(sol)))
    err_wrong = np.max(np.abs(sol.rho - boltzmann_density(g_wrong, sol.cell_volume)))
    assert err_wrong > 20 * err_right


def _dw_pieces(rng):
    """Double well: l = (1/4)(theta^2 - x)^2, per-example gradient (theta^2 - x) theta."""
    x = rng.normal(1.0, 0.7, size=20)
    xbar, s2 = x.mean(), x.var()
    return x, xbar, s2


def test_doublewell_theta_dependent_D_matches_boltzmann_with_a():
    rng = np.random.default_rng(7)
    x, xbar, s2 = _dw_pieces(rng)
    T, alpha, beta = 0.3, 0.05, 0.4

    def grad_U(p):
        th = p[:, 0]
        return th**3 - xbar * th

    def D(p):
        return p[:, 0] ** 2 * s2  # Var_i[(theta^2 - x_i) theta] = theta^2 Var(x)

    errs, ns = [], [100, 200, 400]
    for n in ns:
        sol = sgd_fokker_planck(grad_U, D, T=T, alpha=alpha, beta=beta, bounds=[(-3.0, 3.0)], n_cells=n)
        th = sol.centers[0]
        q = s2 * th**2 + beta**2
        c = alpha - xbar
        v = th**2 / (2 * s2) + (c - beta**2 / s2) / (2 * s2) * np.log(q)  # Eq 19 in closed form
        a = np.log(q)  # Eq 20 in 1-D
        rho_b = boltzmann_density((2 / T) * v + a, sol.cell_volume)
        errs.append(np.max(np.abs(sol.rho - rho_b)))
        # without a (the naive g = (2/T) v) the density is visibly different
        naive = boltzmann_density((2 / T) * v, sol.cell_volume)
    assert np.max(np.abs(sol.rho - naive)) > 100 * errs[-1]
    order = -np.polyfit(np.log(ns), np.log(errs), 1)[0]
    assert 1.8 < order < 2.2, (order, errs)
    # bimodal: two maxima near +-sqrt(xbar - alpha)
    th = sol.centers[0]
    peaks = th[1:-1][(sol.rho[1:-1] > sol.rho[:-2]) & (sol.rho[1:-1] > sol.rho[2:])]
    assert len(peaks) == 2 and abs(abs(peaks[0]) - abs(peaks[1])) < 0.05


def _quad2d(n, commuting):
    if commuting:
        R = np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]])
        H = R @ np.diag([2.0, 0.7]) @ R.T
        Dm = R @ np.diag([0.5, 1.5]) @ R.T  # same eigenvectors: (D + beta^2 I)^{-1}(H + alpha I) symmetric
    else:
        H = np.array([[2.0, 0.6], [0.6, 1.0]])
        Dm = np.array([[0.3, 0.25], [0.25, 1.2]])  # off-diagonal: exercises the cross terms
    alpha, beta, T = 0.05, 0.2, 0.4
    xbar = np.array([0.3, -0.2])
    A = H + alpha * np.eye(2)
    mu = np.linalg.solve(A, H @ xbar)
    Cn = T * (Dm + beta**2 * np.eye(2))
    S = solve_continuous_lyapunov(A, Cn)  # A S + S A' = T (D + beta^2 I): the exact stationary covariance
    L = 6.5 * np.sqrt(np.diag(S))
    sol = sgd_fokker_planck(
        lambda p: (p - xbar) @ H.T, lambda p: np.broadcast_to(Dm, (p.shape[0], 2, 2)),
        T=T, alpha=alpha, beta=beta, bounds=[(mu[0] - L[0], mu[0] + L[0]), (mu[1] - L[1], mu[1] + L[1])],
        n_cells=n,
    )
    d = sol.points() - mu
    Si = np.linalg.inv(S)
    exact = boltzmann_density(0.5 * np.einsum("pi,ij,pj->p", d, Si, d), sol.cell_volume)
    J_exact = (exact[:, None] * (d @ (-A + 0.5 * Cn @ Si).T)).T  # J = f rho - (1/2) C grad rho
    # naive Boltzmann: v from the symmetric part of (D + beta^2 I)^{-1} (H + alpha I)
    K = np.linalg.solve(Dm + beta**2 * np.eye(2), A)
    naive = boltzmann_density((2 / T) * 0.5 * np.einsum("pi,ij,pj->p", d, 0.5 * (K + K.T), d), sol.cell_volume)
    return sol, exact.reshape(sol.rho.shape), J_exact.reshape(sol.J.shape), naive.reshape(sol.rho.shape)


def test_quadratic2d_gradient_case_has_no_current_and_is_boltzmann():
    sol, exact, J_exact, naive = _quad2d(60, commuting=True)
    assert np.max(np.abs(J_exact)) < 1e-12 * np.max(exact)  # the exact law has J = 0 ...
    assert np.max(np.abs(naive - exact)) < 1e-10 * exact.max()  # ... and is the Boltzmann form
    err = np.max(np.abs(sol.rho - exact))
    assert err < 0.02 * exact.max()
    # the solver's current is discretization noise, shrinking with h
    sol2, exact2, _, _ = _quad2d(120, commuting=True)
    j1, j2 = np.max(np.abs(sol.J)), np.max(np.abs(sol2.J))
    assert j2 < j1 / 3
    assert np.max(np.abs(sol2.rho - exact2)) < err / 3


def test_quadratic2d_non_gradient_case_has_circulating_current():
    ns = [30, 60, 120]
    errs, jerrs = [], []
    for n in ns:
        sol, exact, J_exact, naive = _quad2d(n, commuting=False)
        errs.append(np.max(np.abs(sol.rho - exact)))
        jerrs.append(np.max(np.abs(sol.J - J_exact)))
    order = -np.polyfit(np.log(ns), np.log(errs), 1)[0]
    jorder = -np.polyfit(np.log(ns), np.log(jerrs), 1)[0]
    assert 1.8 < order < 2.2 and 1.8 < jorder < 2.2, (errs, jerrs)
    jmax = np.max(sol.current_magnitude())
    assert jmax > 100 * jerrs[-1]  # J != 0, far above the discretization error
    assert np.max(np.abs(naive - exact)) > 20 * errs[-1]  # the naive Boltzmann formula is wrong here
    # circulation: the current's curl at the centre has one sign (d_x J_y - d_y J_x)
    i0, j0 = np.array(sol.rho.shape) // 2
    hx, hy = sol.h
    curl = (sol.J[1, i0 + 1, j0] - sol.J[1, i0 - 1, j0]) / (2 * hx) - (sol.J[0, i0, j0 + 1] - sol.J[0, i0, j0 - 1]) / (2 * hy)
    curl_exact = (J_exact[1, i0 + 1, j0] - J_exact[1, i0 - 1, j0]) / (2 * hx) - (J_exact[0, i0, j0 + 1] - J_exact[0, i0, j0 - 1]) / (2 * hy)
    assert np.sign(curl) == np.sign(curl_exact) != 0
    assert abs(curl - curl_exact) < 0.05 * abs(curl_exact)


def test_cell_average_and_boltzmann_helpers():
    v = np.arange(12.0).reshape(6, 2)
    assert np.allclose(cell_average(v[:, 0], 3), [2.0, 8.0])
    assert np.allclose(cell_average(v, 2), [[1.5], [5.5], [9.5]])
    with pytest.raises(ValueError, match="factor"):
        cell_average(v, 4)
    r = boltzmann_density(np.array([1000.0, 1001.0]), 0.5)  # no underflow
    assert np.isclose(r.sum() * 0.5, 1.0) and np.isclose(r[0] / r[1], np.e)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(bounds=[(1.0, 0.0)], n_cells=10), "bounds"),
        (dict(bounds=[(0.0, 1.0)], n_cells=2), "n_cells"),
        (dict(bounds=[(0.0, 1.0)] * 3, n_cells=5), "bounds"),
        (dict(bounds=[(0.0, 1.0), (0.0, 1.0)], n_cells=(5, 5, 5)), "n_cells"),
    ],
)
def test_bad_box_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve_fokker_planck(lambda p: -p, lambda p: np.ones(p.shape[0]), **kwargs)


def test_bad_coefficients_raise():
    with pytest.raises(ValueError, match="positive definite"):
        solve_fokker_planck(lambda p: -p, lambda p: -np.ones(p.shape[0]), [(-1, 1)], 10)
    with pytest.raises(ValueError, match="drift"):
        solve_fokker_planck(lambda p: np.full(p.shape[0], np.nan), lambda p: np.ones(p.shape[0]), [(-1, 1)], 10)
    with pytest.raises(ValueError, match="symmetric"):
        solve_fokker_planck(lambda p: -p, lambda p: np.broadcast_to(np.array([[1.0, 0.1], [0.0, 1.0]]), (p.shape[0], 2, 2)),
                            [(-1, 1), (-1, 1)], 5)
    with pytest.raises(ValueError, match="T must be > 0"):
        sgd_fokker_planck(lambda p: p, lambda p: np.ones(p.shape[0]), T=0.0, bounds=[(-1, 1)], n_cells=10)
    with pytest.raises(ValueError, match="alpha"):
        sgd_fokker_planck(lambda p: p, lambda p: np.ones(p.shape[0]), T=1.0, alpha=-1, bounds=[(-1, 1)], n_cells=10)


# ------------------------------------------------------------------ catalogue
def test_catalogue_rows_pass_and_fail_under_wrong_theory(tmp_path):
    from gapkit.sims.verify._registry import select_checks

    specs = select_checks(["fokker"])
    ids = {i for s in specs for i in s.ids}
    assert {"fokker.boltzmann.quadratic1d", "fokker.boltzmann.doublewell1d", "fokker.current.quadratic2d",
            "fokker.simulation.quadratic1d"} <= ids
    from test_catalogue_all import judged_twice

    rows, wrong, ctx = judged_twice(specs, prefixes=["fokker"], out=tmp_path)  # one run, judged right and wrong
    judged = [r for r in rows if r.verdict != "INFO"]
    assert len(judged) >= 6 and all(r.verdict == "PASS" for r in judged), [(r.id, r.verdict, r.note) for r in rows]
    assert all(r.tolerance_source for r in judged)
    assert len(ctx.figures) == 2 and all(f.path.exists() and f.caption for f in ctx.figures)
    naive = [r for r in rows if r.id == "fokker.current.quadratic2d_naive"][0]
    assert naive.extra["ratio"] > 3  # the naive Boltzmann formula is off by more than the solver's tolerance
    assert len(wrong) == len(rows)
    assert all(r.verdict == "FAIL" for r in wrong if r.verdict != "INFO"), [(r.id, r.verdict) for r in wrong]
