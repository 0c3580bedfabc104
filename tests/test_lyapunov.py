"""Exact stationary laws of the discrete chains (theory/_lyapunov.py, theory/_momentum.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from gapkit.theory._lyapunov import (linreg_gap_vs_T, linreg_sgd_stationary, linreg_steady_state_exists,
                                     quadratic_em_stationary, quadratic_sde_stationary, quadratic_sgd_stationary)
from gapkit.theory._momentum import momentum_symbolic, momentum_var_1d


def _spd(rng, d, lo=0.3):
    A = rng.standard_normal((d, d))
    return A @ A.T / d + lo * np.eye(d)


def test_quadratic_sgd_fixed_point_ddim():
    rng = np.random.default_rng(0)
    d = 4
    H, Sx = _spd(rng, d), _spd(rng, d, 0.1)
    xbar = rng.standard_normal(d)
    lam, B, alpha, beta = 0.3, 3, 0.05, 0.2
    m, C = quadratic_sgd_stationary(H, xbar, Sx, lam=lam, B=B, alpha=alpha, beta=beta)
    K = H + alpha * np.eye(d)
    A = np.eye(d) - lam * K
    Q = lam * (lam / B) * (H @ Sx @ H + beta**2 * np.eye(d))
    assert np.allclose(A @ C @ A.T + Q, C, rtol=0, atol=1e-14 * np.abs(C).max())
    assert np.allclose(A @ m + lam * H @ xbar, m, atol=1e-14)
    assert np.all(np.linalg.eigvalsh(C) > 0)


def test_quadratic_1d_matches_closed_form_and_momentum():
    h, S2, lam, B, a, b = 1.4, 0.6, 0.5, 4, 0.1, 0.3
    k = h + a
    T = lam / B
    _, C = quadratic_sgd_stationary([[h]], [0.2], [[S2]], lam=lam, B=B, alpha=a, beta=b)
    assert C[0, 0] == pytest.approx(T * (h * h * S2 + b * b) / (k * (2 - lam * k)), rel=1e-13)
    for mu in (0.5, 0.9):
        r = momentum_var_1d(h, h * h * S2, lam=lam, B=B, alpha=a, beta=b, mu=mu)
        m, P = quadratic_sgd_stationary([[h]], [0.2], [[S2]], lam=lam, B=B, alpha=a, beta=b, mu=mu, full=True)
        assert P[0, 0] == pytest.approx(r["var_theta"], rel=1e-12)
        assert P[0, 1] == pytest.approx(r["cov_theta_v"], rel=1e-12)
        assert P[1, 1] == pytest.approx(r["var_v"], rel=1e-12)
        assert P[0, 1] < 0  # Eq 41's sign, corrected
        assert m[1] == 0.0
    # a wrong (paper-sign) formula would not match: flip the cross term's sign
    assert abs(-r["cov_theta_v"] - P[0, 1]) > 1e-3


def test_momentum_symbolic_formula_and_order():
    r = momentum_symbolic()
    assert r["residual"] == 0
    S = r["symbols"]
    assert (r["lam0"] - S["T"] * S["Dt"] / (2 * S["k"] * (1 - S["mu"]))).simplify() == 0
    assert (r["first_order_rel"] - S["k"] / (2 * (1 + S["mu"]))).simplify() == 0
    assert (r["plain"] - S["T"] * S["Dt"] / (S["k"] * (2 - S["lam"] * S["k"]))).simplify() == 0


def test_em_converges_to_sde_first_order():
    """Convergence order of EM's stationary covariance in dt: fitted log-log slope ~ 1."""
    rng = np.random.default_rng(1)
    H, Sx, xbar = _spd(rng, 3), _spd(rng, 3, 0.2), rng.standard_normal(3)
    _, Csde = quadratic_sde_stationary(H, xbar, Sx, T=0.05, alpha=0.1, beta=0.2)
    dts = np.array([0.2, 0.1, 0.05, 0.025, 0.0125])
    errs = [np.abs(quadratic_em_stationary(H, xbar, Sx, lam=0.5, T=0.05, alpha=0.1, beta=0.2, dt=dt)[1] - Csde).max()
            for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    assert 0.95 < slope < 1.05


def test_linreg_against_numpy_simulation():
    """Exact moments vs a direct simulation of Eq 15 (batches with replacement); 4 standard errors."""
    rng = np.random.default_rng(2)
    n, d, B, lam, alpha, beta = 6, 2, 2, 0.15, 0.05, 0.2
    X = rng.standard_normal((n, d))
    y = X @ np.array([0.5, -1.0]) + 0.3 * rng.standard_normal(n)
    m, C = linreg_sgd_stationary(X, y, lam=lam, B=B, alpha=alpha, beta=beta)
    M, steps = 4000, 300
    th = np.tile(m, (M, 1))
    T = lam / B
    for _ in range(steps):
        idx = rng.integers(0, n, (M, B))
        Xb, yb = X[idx], y[idx]
        r = np.einsum("mbd,md->mb", Xb, th) - yb
        g = np.einsum("mbd,mb->md", Xb, r) / B
        th = th - lam * g - lam * alpha * th + math.sqrt(lam * T) * beta * rng.standard_normal((M, d))
    emp_m = th.mean(axis=0)
    emp_C = np.cov(th.T)
    se_m = np.sqrt(np.diag(C) / M)
    assert np.all(np.abs(emp_m - m) < 4 * se_m)
    se_C = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C**2) / M)
    assert np.all(np.abs(emp_C - C) < 4 * se_C)
    # the additive-noise (Eq 17-like) covariance without the multiplicative term is detectably different
    import scipy.linalg

    G = X * (X @ m - y)[:, None]
    Dm = G.T @ G / n - np.outer(G.mean(0), G.mean(0))
    A = np.eye(d) - lam * (X.T @ X / n + alpha * np.eye(d))
    C_add = scipy.linalg.solve_discrete_lyapunov(A, lam * T * (Dm + beta**2 * np.eye(d)))
    assert np.abs(C_add - C).max() > 0.02 * np.abs(C).max()


def test_linreg_momentum_matches_quadratic_when_hessian_fixed():
    """All x_i equal up to sign => A_i = A for every i: no multiplicative noise; compare with the Lyapunov route."""
    x = np.array([1.2, -0.4])
    X = np.array([x, -x, x])
    y = np.array([0.3, -0.1, 0.5])
    lam, B, a, b, mu = 0.2, 2, 0.3, 0.4, 0.6
    m, C = linreg_sgd_stationary(X, y, lam=lam, B=B, alpha=a, beta=b, mu=mu)
    assert np.all(np.isfinite(C)) and np.all(np.linalg.eigvalsh(C) > 0)
    m0, C0 = linreg_sgd_stationary(X, y, lam=lam, B=B, alpha=a, beta=b, mu=0.0)
    assert not np.allclose(C, C0)


def test_overparameterized_needs_alpha_and_beta():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((3, 6)), rng.standard_normal(3)
    with pytest.raises(ValueError, match="alpha"):
        linreg_sgd_stationary(X, y, lam=0.1, B=1, alpha=0.0, beta=0.5)
    info = linreg_steady_state_exists(X, lam=0.1, B=1, alpha=0.0, beta=0.5)
    assert info["null_dim"] == 3 and info["var_null"] == math.inf and not info["normalizable"]
    info = linreg_steady_state_exists(X, lam=0.1, B=1, alpha=0.2, beta=0.0)
    assert info["var_null"] == 0.0 and not info["normalizable"]
    info = linreg_steady_state_exists(X, lam=0.1, B=2, alpha=0.2, beta=0.5)
    assert info["normalizable"] and info["var_null"] == pytest.approx(0.05 * 0.25 / (0.2 * (2 - 0.02)), rel=1e-14)
    _, C = linreg_sgd_stationary(X, y, lam=0.1, B=2, alpha=0.2, beta=0.0)
    N = np.linalg.svd(X)[2][3:].T
    assert np.abs(N.T @ C @ N).max() < 1e-14  # singular law: no density on the null space


def test_unstable_chains_raise_naming_lam():
    with pytest.raises(ValueError, match="lam"):
        quadratic_sgd_stationary([[1.0]], [0.0], [[1.0]], lam=2.0, B=1)
    with pytest.raises(ValueError, match="lam"):
        quadratic_sgd_stationary([[1.0]], [0.0], [[1.0]], lam=3.9, B=1, mu=0.9)
    quadratic_sgd_stationary([[1.0]], [0.0], [[1.0]], lam=3.7, B=1, mu=0.9)  # stable: lam h < 2 (1 + mu)
    with pytest.raises(ValueError, match="lam"):
        quadratic_em_stationary([[1.0]], [0.0], [[1.0]], lam=1.0, T=0.1, dt=2.5)
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((5, 2)), rng.standard_normal(5)
    lmax = 2.0 / np.linalg.eigvalsh(X.T @ X / 5).max()
    with pytest.raises(ValueError, match="lam"):
        linreg_sgd_stationary(X, y, lam=1.01 * lmax, B=1)


@pytest.mark.parametrize("bad", [
    lambda: quadratic_sgd_stationary([[1.0, 0.5], [0.0, 1.0]], [0, 0], np.eye(2), lam=0.1, B=1),
    lambda: quadratic_sgd_stationary(np.eye(2), [0, 0, 0], np.eye(2), lam=0.1, B=1),
    lambda: quadratic_sgd_stationary(np.eye(2), [0, 0], np.eye(2), lam=0.1, B=1, mu=1.0),
    lambda: quadratic_sgd_stationary(np.eye(2), [0, 0], np.eye(2), lam=0.1, B=0),
    lambda: linreg_sgd_stationary(np.ones((3, 2)), np.ones(4), lam=0.1, B=1),
    lambda: linreg_sgd_stationary(np.ones((60, 50)), np.ones(60), lam=0.1, B=1, alpha=0.1),
    lambda: linreg_sgd_stationary(np.full((3, 2), np.nan), np.ones(3), lam=0.1, B=1),
    lambda: quadratic_sde_stationary(np.eye(2), [0, 0], np.eye(2), T=0.0),
])
def test_bad_inputs(bad):
    with pytest.raises(ValueError):
        bad()


def test_linreg_gap_vs_T_deterministic_and_shapes():
    r1 = linreg_gap_vs_T(8, 3, T=[0.01, 0.05], alpha=0.01, datasets=20, seed=5)
    r2 = linreg_gap_vs_T(8, 3, T=[0.01, 0.05], alpha=0.01, datasets=20, seed=5)
    assert r1["gap"].shape == (2,) and np.array_equal(r1["gap"], r2["gap"])
    assert np.all(r1["test_loss"][1] > r1["test_loss"][0])
    assert np.allclose(r1["gap"], r1["test_loss"] - r1["train_loss"], rtol=1e-12)


def test_linreg_em_equals_sgd_at_dt1_and_matches_simulation():
    from gapkit.theory._lyapunov import linreg_em_stationary

    rng = np.random.default_rng(6)
    n, d, B, lam, alpha, beta = 6, 2, 3, 0.2, 0.05, 0.2
    X = rng.standard_normal((n, d))
    y = X @ np.array([0.5, -1.0]) + 0.3 * rng.standard_normal(n)
    T = lam / B
    m1, C1 = linreg_sgd_stationary(X, y, lam=lam, B=B, alpha=alpha, beta=beta)
    m2, C2 = linreg_em_stationary(X, y, lam=lam, T=T, alpha=alpha, beta=beta, dt=1.0)
    assert np.allclose(m1, m2, rtol=1e-13) and np.allclose(C1, C2, rtol=1e-12)
    # EM at dt = 0.5 against a direct simulation with D^{1/2} z sampled as G_c' z / sqrt(n); 4 standard errors
    dt = 0.5
    m, C = linreg_em_stationary(X, y, lam=lam, T=T, alpha=alpha, beta=beta, dt=dt)
    M, steps = 4000, 400
    th = np.tile(m, (M, 1))
    for _ in range(steps):
        R = th @ X.T - y  # (M, n) residuals
        G = R[:, :, None] * X[None, :, :]  # per-example gradients (M, n, d)
        Gc = G - G.mean(axis=1, keepdims=True)
        z = rng.standard_normal((M, n))
        noise = np.einsum("mnd,mn->md", Gc, z) / math.sqrt(n) + beta * rng.standard_normal((M, d))
        th = th - lam * dt * (G.mean(axis=1) + alpha * th) + math.sqrt(lam * T * dt) * noise
    se_C = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C**2) / M)
    assert np.all(np.abs(np.cov(th.T) - C) < 4 * se_C)
    assert np.all(np.abs(th.mean(axis=0) - m) < 4 * np.sqrt(np.diag(C) / M))


# ---------------------------------------------------------------- the one Lyapunov solver
def _rot(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def _closed_form_mp(U, h, Q, eta, dps=40):
    """Eigenbasis closed form of H L + L H - eta H L H = Q (H = U diag(h) U'),
    evaluated in 40-digit arithmetic from the float64 U, h, Q."""
    import mpmath

    with mpmath.workdps(dps):
        Um, Qm = mpmath.matrix(U.tolist()), mpmath.matrix(Q.tolist())
        Qt = Um.T * Qm * Um
        d = len(h)
        M = mpmath.matrix(d, d)
        for i in range(d):
            for j in range(d):
                hi, hj = mpmath.mpf(h[i]), mpmath.mpf(h[j])
                M[i, j] = Qt[i, j] / (hi + hj - eta * hi * hj)
        L = Um * M * Um.T
        return np.array([[float(L[i, j]) for j in range(d)] for i in range(d)])


def test_lyapunov_discrete_accurate_where_the_A_form_cancels():
    """eta h down to 1e-7: 1 - (1 - eta h_i)(1 - eta h_j) loses ~7 digits in the
    A form (scipy's solve_discrete_lyapunov: 4e-11 relative error here); the
    H-form solve stays within 1e-13 of a 40-digit reference, and so does the
    quadratic model's covariance, which uses it."""
    import mpmath

    from gapkit.theory._lyapunov import lyapunov_discrete

    rng = np.random.default_rng(1)
    d, eta = 8, 1e-4
    U = _rot(rng, d)
    H = U @ np.diag(np.exp(rng.uniform(np.log(1e-3), np.log(10.0), d))) @ U.T
    H = 0.5 * (H + H.T)
    Sx = _spd(rng, d, 0.1)
    Q = eta * (H @ Sx @ H)  # T Dn of quadratic_sgd_stationary at lam = eta, B = 1, beta = 0
    with mpmath.workdps(40):  # the reference: the same float64 H, its eigenbasis in 40 digits
        E, V = mpmath.eigsy(mpmath.matrix(H.tolist()))
        Vn = np.array([[float(V[i, j]) for j in range(d)] for i in range(d)])
        hn = [float(E[i]) for i in range(d)]
    ref = _closed_form_mp(Vn, hn, Q, eta)
    scale = np.abs(ref).max()
    assert np.abs(lyapunov_discrete(H, Q, eta) - ref).max() / scale < 1e-13
    _, cov = quadratic_sgd_stationary(H, np.zeros(d), Sx, lam=eta, B=1)
    assert np.abs(cov - ref).max() / scale < 1e-13


def test_lyapunov_solver_branches_solve_the_equation():
    """vec solve (d <= 60), eigenbasis (d > 60, H symmetric) and scipy
    (d > 60, H not symmetric) all satisfy H L + L H' - eta H L H' = Q; a
    non-symmetric H tells H' from H."""
    from gapkit.theory._lyapunov import MAX_VEC_DIM, lyapunov_continuous, lyapunov_discrete

    rng = np.random.default_rng(2)
    for d in (6, MAX_VEC_DIM + 4):
        G = rng.standard_normal((d, d))
        Q = G @ G.T / d
        S = _spd(rng, d, 0.5)
        N = S + (1.0 / d) * np.triu(rng.standard_normal((d, d)), 1)  # not symmetric, still stable
        for H in (S, N):
            eta = 0.5 / np.abs(np.linalg.eigvals(H)).max()
            for L, e in ((lyapunov_discrete(H, Q, eta), eta), (lyapunov_continuous(H, Q), 0.0)):
                res = H @ L + L @ H.T - e * H @ L @ H.T - Q
                assert np.abs(res).max() < 1e-11 * np.abs(Q).max(), (d, e)
                assert np.allclose(L, L.T)
        wrong = N @ L + L @ N - Q  # the untransposed equation is not what was solved
        assert np.abs(wrong).max() > 1e-3
