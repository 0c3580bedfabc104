"""Indicators of the related seeds (000, 001, 002) on cases with known answers."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from gapkit.sims.indicators import _toy as ind
from gapkit.sims.verify._registry import select_checks


def _rot(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


# ------------------------------------------------------------------ Fu et al.
def _quadratic_path(rng, lr=0.2, B=2, steps=100):
    h, m, s, n = 1.5, 0.4, 1.0, 20
    x = m + s * rng.standard_normal(n)
    th = np.empty(steps)
    g = np.empty(steps - 1)
    th[0] = 3.0
    for t in range(1, steps):
        g[t - 1] = h * (th[t - 1] - x[rng.integers(0, n, B)]).mean()
        th[t] = th[t - 1] - lr * g[t - 1]
    tr = 0.5 * h * ((th[:, None] - x[None]) ** 2).mean(axis=1)
    po = 0.5 * h * ((th - m) ** 2 + s * s)
    return th, g, tr, po, (h * (th - x.mean()))[:, None], (h * (th - m))[:, None]


def test_gen_first_order_exact_on_quadratic_and_step_forms_agree():
    th, g, tr, po, gs, gm = _quadratic_path(np.random.default_rng(1))
    a = ind.gen_first_order(tr, po, th[:, None], gs, gm)
    b = ind.gen_first_order(tr, po, th[:, None], gs, gm, lr=0.2, step_grads=g[:, None])
    # the exact decomposition telescopes; the first order is exact (gen affine in theta)
    assert a["increments"].sum() == pytest.approx(a["gen"][-1] - a["gen"][0], rel=1e-12, abs=1e-14)
    assert a["max_abs_error"] <= 1e-12 * max(1.0, np.abs(a["gen"]).max())
    np.testing.assert_allclose(a["first_order"], b["first_order"], rtol=1e-10, atol=1e-14)


def _quartic_gd(lr, horizon=2.0, n=30):
    # l = (theta - x)^4 / 4 + (theta - x)^2 / 2, x ~ N(0, 1): gen is NOT affine in theta.
    x = np.random.default_rng(5).standard_normal(n)
    steps = int(round(horizon / lr))
    th = np.empty(steps + 1)
    th[0] = 2.0
    for t in range(steps):
        r = th[t] - x
        th[t + 1] = th[t] - lr * np.mean(r**3 + r)
    r = th[:, None] - x[None]
    tr = np.mean(r**4 / 4 + r**2 / 2, axis=1)
    po = (th**4 + 6 * th**2 + 3) / 4 + (th**2 + 1) / 2
    gs = np.mean(r**3 + r, axis=1)[:, None]
    gm = (th**3 + 3 * th + th)[:, None]
    return ind.gen_first_order(tr, po, th[:, None], gs, gm)


def test_gen_first_order_error_is_order_eta():
    # Over a fixed time horizon the summed second-order remainders are O(eta):
    # halving eta twice divides the error by ~4 (Fu et al.'s O(eta m) claim).
    e1 = _quartic_gd(0.02)["max_abs_error"]
    e2 = _quartic_gd(0.005)["max_abs_error"]
    assert e1 > 0 and 2.5 < e1 / e2 < 6.0


def test_gen_first_order_detects_wrong_population_gradient():
    th, g, tr, po, gs, gm = _quadratic_path(np.random.default_rng(1))
    bad = ind.gen_first_order(tr, po, th[:, None], gs, 1.2 * gm)
    assert bad["max_abs_error"] > 1e-3 and bad["rel_error"] > 1e-3


def test_gamma_and_diversity_known():
    rng = np.random.default_rng(0)
    gs = rng.standard_normal((7, 3))
    out = ind.gamma_trace(2.0 * gs, gs)
    np.testing.assert_allclose(out["gamma"], 2.0, rtol=1e-14)
    assert out["max"] == pytest.approx(2.0)
    g = rng.standard_normal((50, 4))
    D = np.cov(g.T, bias=True)
    assert ind.gradient_diversity(g) == pytest.approx(np.trace(D), rel=1e-12)
    assert ind.gradient_diversity(np.array([[1.0], [-1.0]])) == pytest.approx(1.0)
    np.testing.assert_allclose(ind.gradient_diversity(np.stack([g, 2 * g])), [np.trace(D), 4 * np.trace(D)], rtol=1e-12)


def test_distance_from_init_and_train_longer_preset():
    w = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    d = ind.distance_from_init(w)
    np.testing.assert_allclose(d["distance"], [0, 5, 10])
    cfg = ind.train_longer_preset(0.1, 32, 10, [32, 128, 4096])
    assert cfg[1]["lr"] == pytest.approx(0.2) and cfg[1]["epochs"] == pytest.approx(40)
    assert cfg[0]["ghost_batch"] == 32 and cfg[2]["ghost_batch"] == 128
    assert cfg[2]["T"] == pytest.approx(cfg[2]["lr"] / 4096)
    with pytest.raises(ValueError, match="lr_small"):
        ind.train_longer_preset(-1, 32, 10, [64])


# ------------------------------------------------------------------ Wang & Mao
def test_minibatch_covariance_by_enumeration():
    rng = np.random.default_rng(3)
    n, d, b = 5, 2, 2
    g = rng.standard_normal((n, d))
    # with replacement: all n^b ordered draws equally likely
    means = np.array([g[list(c)].mean(axis=0) for c in itertools.product(range(n), repeat=b)])
    np.testing.assert_allclose(ind.minibatch_covariance(g, b), np.cov(means.T, bias=True), rtol=1e-12, atol=1e-15)
    # without replacement: all b-subsets equally likely (Wang & Mao's factor)
    means = np.array([g[list(c)].mean(axis=0) for c in itertools.combinations(range(n), b)])
    np.testing.assert_allclose(ind.minibatch_covariance(g, b, replacement=False), np.cov(means.T, bias=True),
                               rtol=1e-12, atol=1e-15)


def test_trajectory_bound_1d_closed_form_and_terms():
    g = np.array([[[1.0], [3.0]], [[0.0], [1.0]]])  # (S=2, n=2, d=1)
    tt = ind.trajectory_terms(g, 1)
    np.testing.assert_allclose(tt["trC"], [1.0, 0.25])
    np.testing.assert_allclose(tt["grad_norm2"], [4.0, 0.25])
    b = ind.trajectory_bound(tt["grad_norm2"], tt["trC"], tt["logdetC"], d=1, n=10, R=2.0)
    want = math.sqrt(4.0 / 10 * (math.log(1 + 4.0 / 1.0) + math.log(1 + 0.25 / 0.25)))
    assert b["bound"] == pytest.approx(want, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), d=st.integers(1, 4), n=st.integers(6, 12))
def test_trajectory_terms_nonnegative(seed, d, n):
    # AM-GM: d log((|g|^2 + tr C)/d) >= log det C for C > 0.
    g = np.random.default_rng(seed).standard_normal((3, n, d))
    tt = ind.trajectory_terms(g, 2)
    b = ind.trajectory_bound(tt["grad_norm2"], tt["trC"], tt["logdetC"], d=d, n=n, R=1.0)
    assert np.all(b["terms"] >= -1e-10)


def test_lyapunov_against_scipy_and_1d_closed_form():
    rng = np.random.default_rng(7)
    d, eta, b = 4, 0.15, 3
    U = _rot(rng, d)
    H = U @ np.diag(rng.uniform(0.3, 2.0, d)) @ U.T
    G = rng.standard_normal((d, d))
    D = G @ G.T
    Q = eta / b * D
    L = ind.lyapunov_discrete(H, Q, eta)
    ref = scipy.linalg.solve_discrete_lyapunov(np.eye(d) - eta * H, eta * Q)
    np.testing.assert_allclose(L, ref, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(H @ L + L @ H - eta * H @ L @ H, Q, rtol=1e-10, atol=1e-13)
    Lc = ind.lyapunov_continuous(H, Q)
    np.testing.assert_allclose(H @ Lc + Lc @ H, Q, rtol=1e-10, atol=1e-13)
    h, q = 1.7, 0.3
    assert ind.lyapunov_discrete([[h]], [[q]], eta)[0, 0] == pytest.approx(q / (2 * h - eta * h * h), rel=1e-13)
    assert ind.lyapunov_continuous([[h]], [[q]])[0, 0] == pytest.approx(q / (2 * h), rel=1e-13)
    # a wrong closed form (continuous used for the discrete chain) is told apart
    assert abs(ind.lyapunov_discrete([[h]], [[q]], eta)[0, 0] - q / (2 * h)) > 1e-3
    with pytest.raises(ValueError, match="eta"):
        ind.lyapunov_discrete([[h]], [[q]], 2.0 / h)
    with pytest.raises(ValueError, match="H"):
        ind.lyapunov_continuous([[-1.0]], [[1.0]])


def test_gaussian_kl_known_values():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((3, 3))
    S = A @ A.T + np.eye(3)
    m = rng.standard_normal(3)
    assert ind.gaussian_kl(m, S, m, S) == pytest.approx(0.0, abs=1e-12)
    m0, s0, m1, s1 = 0.3, 0.7, -0.5, 1.9
    want = math.log(s1 / s0) + (s0**2 + (m0 - m1) ** 2) / (2 * s1**2) - 0.5
    assert ind.gaussian_kl([m0], [[s0**2]], [m1], [[s1**2]]) == pytest.approx(want, rel=1e-13)
    with pytest.raises(ValueError, match="S0 must be symmetric positive semi-definite"):
        ind.gaussian_kl([0.0], [[-1.0]], [0.0], [[1.0]])
    with pytest.raises(ValueError, match="S1 must be symmetric positive definite"):
        ind.gaussian_kl([0.0], [[1.0]], [0.0], [[0.0]])


def test_gaussian_kl_singular_S0_is_infinite():
    # N(m0, S0) with rank(S0) < d lives on a subspace of N(m1, S1)-measure zero: KL = +inf
    # (the over-parameterized linreg quick sweep's stationary Gaussian; before, an error).
    x = np.array([1.0, 2.0, -1.0])
    S0 = np.outer(x, x)  # rank 1, positive semi-definite
    assert ind.gaussian_kl(np.zeros(3), S0, np.zeros(3), np.eye(3)) == math.inf
    # the limit it is: KL grows without bound as the missing directions' variance -> 0
    kls = [ind.gaussian_kl(np.zeros(3), S0 + e * np.eye(3), np.zeros(3), np.eye(3)) for e in (1e-2, 1e-4, 1e-6)]
    assert kls[0] < kls[1] < kls[2]
    assert ind.terminal_state_bound([np.zeros(3)], [S0], n=8, R=1.0,
                                    prior_mean=np.zeros(3), prior_cov=np.eye(3))["bound"] == math.inf


def test_terminal_state_bound():
    mu = np.zeros((4, 2))
    cv = np.stack([np.eye(2)] * 4)
    assert ind.terminal_state_bound(mu, cv, n=10, R=1.0)["bound"] == pytest.approx(0.0, abs=1e-7)
    # 1-D, one training set, prior N(0, 1): KL(N(1, 1) || N(0, 1)) = 1/2
    b = ind.terminal_state_bound([[1.0]], [[[1.0]]], n=8, R=2.0, prior_mean=[0.0], prior_cov=[[1.0]])
    assert b["bound"] == pytest.approx(math.sqrt(2 * 4.0 / 8 * 0.5), rel=1e-12)


def test_logdet_lowrank_isotropic():
    ev = np.array([5.0, 3.0] + [1.0] * 8)
    assert ind.logdet_lowrank_isotropic(ev[:2], ev.sum(), 10) == pytest.approx(np.log(ev).sum(), abs=1e-12)
    ev2 = np.array([5.0, 3.0, 2.0, 1.5, 0.5, 0.1])
    approx = ind.logdet_lowrank_isotropic(ev2[:2], ev2.sum(), 6)
    assert approx >= np.log(ev2).sum()  # AM-GM: the stated approximation over-estimates


# ------------------------------------------------------------------ Tuci et al., Birdal et al., Johnson & Zhang
def test_sharpness_dimension_known_spectrum():
    lam = np.array([1.0, 0.5, -1.0, -2.0])
    h = 1.0 + np.exp(lam) * np.array([1, -1, 1, -1])
    U = _rot(np.random.default_rng(0), 4)
    H = U @ np.diag(h) @ U.T
    got = ind.sharpness_dimension_from_hessians(np.stack([H] * 3), 1.0)
    np.testing.assert_allclose(got["lyapunov"], lam, atol=1e-12)
    assert got["dim"] == pytest.approx(3.25, abs=1e-12)
    assert ind.sharpness_dimension([-0.1, -0.2]) == 0.0
    assert ind.sharpness_dimension([0.3, 0.1]) == 2.0
    assert ind.sharpness_dimension([0.5, -1.0]) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="decreasing"):
        ind.sharpness_dimension([0.1, 0.3])


def test_lanczos_exact_and_slq_trace():
    rng = np.random.default_rng(4)
    d = 60
    ev = np.concatenate([rng.uniform(0, 1, d - 2), [3.0, 6.0]])
    U = _rot(rng, d)
    A = U @ np.diag(ev) @ U.T
    th, w = ind.lanczos(lambda v: A @ v, rng.standard_normal(d), d)
    np.testing.assert_allclose(np.sort(th), np.sort(ev), atol=1e-9)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    s = ind.slq(lambda v: A @ v, d, m=30, probes=60, seed=1)
    assert abs(s["trace"] - ev.sum()) <= 4 * s["trace_se"]  # 4 SE: false-FAIL ~6e-5
    assert s["top"] == pytest.approx(6.0, abs=1e-8)
    grid = np.linspace(-1, 7, 801)
    assert np.trapezoid(s["density"](grid, 0.05), grid) == pytest.approx(1.0, abs=1e-3)
    # Gauss quadrature with m nodes is exact for polynomials of degree <= 2m - 1:
    # v' A^3 v from 5 Lanczos steps equals (Av)' A (Av).
    v = rng.standard_normal(d)
    th5, w5 = ind.lanczos(lambda u: A @ u, v, 5)
    assert (v @ v) * np.sum(w5 * th5**3) == pytest.approx((A @ v) @ A @ (A @ v), rel=1e-10)


def test_sharpness_dimension_from_slq_spectrum():
    # Stated approximation (quantiles of the SLQ density); measured on this
    # spectrum: within 5% of d of the exact dimension (3 seeds gave 1-4 of 200).
    rng = np.random.default_rng(0)
    d = 200
    ev = np.sort(np.concatenate([rng.uniform(-0.5, 1, d - 10), rng.uniform(2.5, 4.5, 10)]))
    U = _rot(rng, d)
    A = U @ np.diag(ev) @ U.T
    s = ind.slq(lambda v: A @ v, d, m=60, probes=20, seed=0)
    e = ind.eigs_from_slq(s["nodes"], s["weights"], d)
    exact = ind.sharpness_dimension(ind.lyapunov_exponents(ev, 0.6))
    approx = ind.sharpness_dimension(ind.lyapunov_exponents(e, 0.6))
    assert abs(approx - exact) < 0.05 * d
    # a density that is the spectrum itself (mass 1/d on each eigenvalue) maps back to it
    np.testing.assert_allclose(ind.eigs_from_slq(ev[None], np.full((1, d), 1.0 / d), d), ev)


def test_mst_total_length_known():
    assert ind.mst_total_length(np.array([[0.0], [1.0], [3.0]])) == pytest.approx(3.0)
    sq = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
    assert ind.mst_total_length(sq, "cityblock") == pytest.approx(3.0)
    assert ind.mst_total_length(np.array([[0.0], [0.0], [2.0]])) == pytest.approx(2.0)


@pytest.mark.parametrize("name,truth", [("line", 1.0), ("square", 2.0)])
def test_ph_dimension_line_and_square(name, truth):
    rng = np.random.default_rng(11)
    x = rng.random((400, 1)) * np.array([0.6, 0.8]) if name == "line" else rng.random((400, 2))
    got = ind.ph_dimension(x, reps=3, seed=rng)
    # tolerance: catalogue's reference bias (+0.019 line, -0.044 square at N=400)
    # plus 4 single-cloud standard deviations (0.0054 line, 0.048 square).
    tol = {"line": 0.019 + 4 * 0.0054, "square": 0.044 + 4 * 0.048}[name]
    assert abs(got["dim"] - truth) < tol
    assert abs(got["dim"] - 1.2 * truth) > tol  # a 20% wrong dimension is told apart


def test_ph_dimension_alpha_weighting():
    """Birdal et al.'s alpha-weighted PH0 dimension alpha / (1 - a): edges 1 and 2
    weigh 1 + 2^alpha; a uniform square has dimension 2 for every alpha.
    Tolerance: the measured bias at N = 400 (12 clouds: +0.007, -0.041, -0.064
    for alpha 0.5, 1, 1.5) plus 4 single-cloud standard deviations (0.038)."""
    assert ind.mst_total_length(np.array([[0.0], [1.0], [3.0]]), alpha=2.0) == pytest.approx(5.0)
    x = np.random.default_rng(11).random((400, 2))
    for alpha, bias in ((0.5, 0.007), (1.5, 0.064)):
        got = ind.ph_dimension(x, reps=3, seed=1, alpha=alpha)["dim"]
        tol = bias + 4 * 0.038
        assert abs(got - 2.0) < tol and abs(got - 2.4) > tol
    with pytest.raises(ValueError, match="alpha"):
        ind.ph_dimension(x, alpha=0.0)


def test_ph_dimension_l1_on_loss_vectors():
    # Loss vectors along a 1-parameter curve in R^20: PH dim ~ 1 with the L1 metric too.
    t = np.random.default_rng(2).random(300)
    L = np.stack([np.cos(t * k) for k in range(1, 21)], axis=1)
    assert abs(ind.ph_dimension(L, metric="cityblock", seed=0)["dim"] - 1.0) < 0.1


def test_inconsistency_and_instability():
    rng = np.random.default_rng(0)
    one = rng.standard_normal((1, 1, 20, 5))
    same = np.broadcast_to(one, (2, 3, 20, 5)).copy()
    assert ind.inconsistency(same) == pytest.approx(0.0, abs=1e-14)
    assert ind.instability(same) == pytest.approx(0.0, abs=1e-14)
    p, q = 0.8, 0.3
    kl = lambda a, b: a * math.log(a / b) + (1 - a) * math.log((1 - a) / (1 - b))  # noqa: E731
    probs = np.array([[[[p, 1 - p]], [[q, 1 - q]]]])
    assert ind.inconsistency(probs, logits=False) == pytest.approx(0.5 * (kl(p, q) + kl(q, p)), rel=1e-13)
    # instability: two sets, seed-averaged predictions (p+q)/2 vs q
    two = np.array([[[[p, 1 - p]], [[q, 1 - q]]], [[[q, 1 - q]], [[q, 1 - q]]]])
    fa = (p + q) / 2
    want = 0.5 * (kl(fa, q) + kl(q, fa))
    assert ind.instability(two, logits=False) == pytest.approx(want, rel=1e-13)
    with pytest.raises(ValueError, match="2 seeds"):
        ind.inconsistency(rng.standard_normal((1, 1, 3, 2)))



def _kl_loop(p, q):
    return sum(p[c] * (math.log(p[c]) - math.log(q[c])) for c in range(len(p)) if p[c] > 0)


def _softmax(z):
    e = [math.exp(v - max(z)) for v in z]
    return [v / sum(e) for v in e]


def _pair_kl_brute(probs):
    """Mean over groups, ordered pairs k != k' and inputs of KL(p_gk || p_gk'), one scalar at a time."""
    G, K, N = len(probs), len(probs[0]), len(probs[0][0])
    tot = sum(_kl_loop(probs[g][a][i], probs[g][c][i])
              for g in range(G) for a in range(K) for c in range(K) if a != c for i in range(N))
    return tot / (G * K * (K - 1) * N)


@pytest.mark.parametrize("block", [None, 7])  # 7: many input blocks (the memory cap path)
def test_inconsistency_instability_against_brute_force_loops(block, monkeypatch):
    from gapkit.sims.indicators import _predictions

    if block is not None:
        monkeypatch.setattr(_predictions, "_PAIR_BLOCK", block)
    rng = np.random.default_rng(5)
    J, K, N, C = 3, 4, 9, 5
    logits = 2.0 * rng.standard_normal((J, K, N, C))
    p = [[[_softmax(list(logits[j, k, i])) for i in range(N)] for k in range(K)] for j in range(J)]
    assert ind.inconsistency(logits) == pytest.approx(_pair_kl_brute(p), rel=1e-12)
    fbar = [[[sum(p[j][k][i][c] for k in range(K)) / K for c in range(C)] for i in range(N)] for j in range(J)]
    assert ind.instability(logits) == pytest.approx(_pair_kl_brute([fbar]), rel=1e-12)
    # the diagonal pairs (k = k', KL 0) are not counted: counting them scales by (K - 1) / K
    assert abs(ind.inconsistency(logits) - _pair_kl_brute(p) * (K - 1) / K) > 1e-3


def test_hutchinson_is_v_a_v_at_the_probes_and_matches_slq_one_step():
    rng = np.random.default_rng(8)
    d = 30
    U = _rot(rng, d)
    ev = rng.uniform(0.0, 2.0, d)
    A = U @ np.diag(ev) @ U.T
    h = ind.hutchinson(lambda v: A @ v, d, probes=400, seed=3)
    # the probes are slq's Rademacher draws: replay them
    r = np.random.default_rng(3)
    vs = np.stack([r.choice(np.array([-1.0, 1.0]), size=d) for _ in range(400)])
    np.testing.assert_allclose(h["values"], np.einsum("pi,ij,pj->p", vs, A, vs), rtol=1e-12)
    assert h["se"] == pytest.approx(h["values"].std(ddof=1) / math.sqrt(400), rel=1e-12)
    assert abs(h["trace"] - ev.sum()) <= 4 * h["se"]  # 4 SE: false-FAIL ~6e-5
    assert abs(h["trace"] - 1.1 * ev.sum()) > 4 * h["se"]  # a 10% wrong trace is told apart
    # SLQ with one Lanczos step per probe is Hutchinson at the same probes
    s = ind.slq(lambda v: A @ v, d, m=1, probes=400, seed=3)
    assert s["trace"] == pytest.approx(h["trace"], rel=1e-12)
    # a caller's own probe stream
    it = iter(vs[:5])
    assert ind.hutchinson(lambda v: A @ v, d, probes=5, draw=lambda: next(it))["trace"] == pytest.approx(
        h["values"][:5].mean(), rel=1e-12)
    with pytest.raises(ValueError, match="probes"):
        ind.hutchinson(lambda v: A @ v, d, probes=0)


def test_one_lyapunov_home_shared_by_indicators_and_theory():
    from gapkit import sims, theory
    from gapkit.sims.indicators import _sde_bounds
    from gapkit.theory import _lyapunov

    for name in ("lyapunov_discrete", "lyapunov_continuous"):
        assert getattr(sims, name) is getattr(_lyapunov, name) is getattr(_sde_bounds, name)
        assert getattr(theory, name) is getattr(_lyapunov, name)

# ------------------------------------------------------------------ toy_indicators
def _quadratic_traj(rng, d=3, n=40, lr=0.1, B=4, steps=300, alpha=0.0):
    U = _rot(rng, d)
    H = U @ np.diag(rng.uniform(0.5, 2.0, d)) @ U.T
    x = rng.standard_normal((n, d))
    th = np.empty((steps, d))
    th[0] = 2.0
    for t in range(1, steps):
        xb = x[rng.integers(0, n, B)].mean(axis=0)
        th[t] = th[t - 1] - lr * (H @ (th[t - 1] - xb) + alpha * th[t - 1])
    traj = {
        "trace_theta": th, "lr": lr, "batch": B, "n": n, "alpha": alpha, "seed": 0,
        "per_example_grad": lambda w: (w[None] - x) @ H,
        "pop_grad": lambda w: H @ w,
        "train_loss": lambda w: 0.5 * np.mean(np.einsum("ni,ij,nj->n", w - x, H, w - x)),
        "pop_loss": lambda w: 0.5 * (w @ H @ w + np.trace(H)),
        "hessian": lambda w: H,
        "per_example_loss": lambda w: 0.5 * np.einsum("ni,ij,nj->n", w - x, H, w - x),
    }
    return traj, H, x


def test_toy_indicators_quadratic_known_values():
    traj, H, x = _quadratic_traj(np.random.default_rng(3), alpha=0.05)
    out = ind.toy_indicators({**traj, "R": 2.0})
    assert set(out) == set(ind.TOY_INDICATOR_KEYS)
    Sx = np.cov(x.T, bias=True)
    assert out["ind_grad_diversity"] == pytest.approx(np.trace(H @ Sx @ H), rel=1e-10)
    assert out["ind_T"] == pytest.approx(0.1 / 4)
    assert out["ind_hessian_trace"] == pytest.approx(np.trace(H) + 3 * 0.05, rel=1e-12)
    assert out["ind_hessian_top"] == pytest.approx(np.linalg.eigvalsh(H)[-1] + 0.05, rel=1e-12)
    lyap = np.sort(np.log(np.abs(1 - 0.1 * (np.linalg.eigvalsh(H) + 0.05))))[::-1]
    assert out["ind_sharpness_dim"] == pytest.approx(ind.sharpness_dimension(lyap), abs=1e-12)
    assert out["ind_gen_first_order_error"] == 0.0  # gen is affine in theta here: only rounding
    # the classic baselines and Fu et al.'s gamma / bias-diversity columns, by hand on the
    # records the assembler reads (<= _MAX_STATES evenly spaced; the window = the last half)
    th = traj["trace_theta"]
    assert out["ind_param_norm"] == pytest.approx(np.linalg.norm(th[-1]), rel=1e-12)
    assert out["ind_dist_init"] == pytest.approx(np.linalg.norm(th[-1] - th[0]), rel=1e-12)
    from gapkit.sims.indicators._toy import _MAX_STATES

    idx = np.unique(np.linspace(0, len(th) - 1, min(len(th), _MAX_STATES)).astype(int))
    g = [((w[None] - x) @ H) for w in th[idx]]
    gam = np.array([np.linalg.norm(H @ w) / np.linalg.norm(gi.mean(0)) for w, gi in zip(th[idx], g)])
    assert out["ind_gamma_max"] == pytest.approx(gam.max(), rel=1e-10)
    assert out["ind_gamma_median"] == pytest.approx(np.median(gam), rel=1e-10)
    rho = [np.sum(gi.mean(0) ** 2) / np.mean(np.sum((gi - gi.mean(0)) ** 2, axis=1))
           for i, gi in zip(idx, g) if i >= len(th) // 2]
    assert out["ind_bias_diversity"] == pytest.approx(np.mean(rho), rel=1e-10)
    assert all(np.isfinite(v) for v in out.values())
    assert 0 < out["bound_sde_terminal"] and 0 < out["bound_sde_trajectory"]


def test_toy_indicators_terminal_bound_is_infinite_when_the_noise_misses_directions():
    # Like over-parameterized linear regression (the linreg quick preset, beta = 0): the data, so the
    # minibatch noise, span only an H-invariant subspace, the stationary Gaussian is singular and
    # KL(N(w, Lambda) || prior) = +inf. The terminal bound is then infinite, not dropped.
    rng = np.random.default_rng(4)
    traj, H, x = _quadratic_traj(rng, alpha=0.05)
    U = np.linalg.eigh(H)[1][:, :2]                       # an H-invariant plane
    xs = (rng.standard_normal((40, 3)) @ U) @ U.T          # data in that plane only
    traj = {**traj, "R": 2.0,
            "per_example_grad": lambda w: (w[None] - xs) @ H,
            "per_example_loss": lambda w: 0.5 * np.einsum("ni,ij,nj->n", w - xs, H, w - xs)}
    out = ind.toy_indicators(traj)
    assert out["ind_sde_terminal"] == math.inf and out["bound_sde_terminal"] == math.inf


def test_toy_indicators_from_simulate_result_and_errors():
    rng = np.random.default_rng(0)
    raw = {"lr": 0.1, "batch": 2, "n": 10, "seed": 1,
           "arrays": {"trace_theta": np.cumsum(rng.standard_normal((2, 2, 40, 3)), axis=2)}}
    out = ind.toy_indicators(raw)
    assert out["ind_T"] == pytest.approx(0.05)
    assert {"ind_param_norm", "ind_dist_init", "ind_ph_dim"} <= set(out)
    assert ind.toy_indicators({"lr": 0.1, "batch": 2, "arrays": {}}) == {"ind_T": 0.05}
    with pytest.raises(ValueError, match="trace_theta"):
        ind.toy_indicators({"lr": 0.1, "batch": 1, "n": 3})
    with pytest.raises(ValueError, match="lr"):
        ind.toy_indicators({"trace_theta": np.zeros((3, 1)), "lr": -1, "batch": 1, "n": 3})


def _fd_grad(f, w, eps=1e-6):
    return np.array([(f(w + eps * e) - f(w - eps * e)) / (2 * eps) for e in np.eye(w.size)])


@pytest.mark.parametrize("kind", ["quad", "lsq", "logit"])
def test_problem_callables_are_consistent_derivatives(kind):
    from types import SimpleNamespace

    from gapkit.sims.indicators._toy_models import problem_callables

    rng = np.random.default_rng(4)
    K, n, d = 2, 7, 3
    X = rng.standard_normal((K, n, d))
    y = np.sign(rng.standard_normal((K, n))) if kind == "logit" else rng.standard_normal((K, n))
    Xt = rng.standard_normal((1, 50, d))
    A = rng.standard_normal((d, d))
    arrays = {"At": (A @ A.T)[None], "ct": rng.standard_normal((1, d)), "qt": np.array([3.0]),
              "Xt": Xt, "yt": np.sign(rng.standard_normal((1, 50)))}
    prob = SimpleNamespace(kind=kind, X=X, y=y, h=1.3, arrays=arrays, tidx=np.zeros(K, dtype=int))
    cb = problem_callables(prob, 1, {"data_mean": 0.2, "data_std": 0.9, "pool": None})
    w = rng.standard_normal(d)
    G = cb["per_example_grad"](w)
    for i in range(n):
        np.testing.assert_allclose(G[i], _fd_grad(lambda u: cb["per_example_loss"](u)[i], w), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(G.mean(axis=0), _fd_grad(cb["train_loss"], w), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cb["pop_grad"](w), _fd_grad(cb["pop_loss"], w), rtol=1e-6, atol=1e-8)
    Hfd = np.stack([_fd_grad(lambda u: cb["per_example_grad"](u).mean(axis=0)[j], w) for j in range(d)])
    np.testing.assert_allclose(cb["hessian"](w), Hfd, rtol=1e-5, atol=1e-7)
    if "per_example_hessian" in cb:
        np.testing.assert_allclose(cb["per_example_hessian"](w).mean(axis=0), cb["hessian"](w), rtol=1e-12)


def test_paper_bound_columns_from_identities():
    from gapkit.theory._universe import Identity

    out = ind.paper_bound_columns(identities={"eq07": Identity(0.1, 0.3, 0.3, "<=")})
    assert out == {"bound_eq07": 0.3}
    assert ind.paper_bound_columns() == {}


# ------------------------------------------------------------------ catalogue
def test_catalogue_passes_and_fails_under_wrong_theory():
    from test_catalogue_all import judged_twice

    rows, bad, _ = judged_twice(select_checks(["indicators"]), prefixes=["indicators"])  # one run, judged twice
    assert rows and all(r.verdict in ("PASS", "INFO") for r in rows), [(r.id, r.verdict, r.note) for r in rows]
    judged = [r for r in bad if r.verdict != "INFO"]
    assert len(judged) >= 15 and all(r.verdict == "FAIL" for r in judged)


# ------------------------------------------------------------------ torch versions
@pytest.mark.torch
def test_torch_versions_match_numpy():
    torch = pytest.importorskip("torch")
    from gapkit.gpu import _indicators as gind

    rng = np.random.default_rng(1)
    d = 6
    U = _rot(rng, d)
    ev = np.array([0.2, 0.5, 1.0, 1.5, 2.0, 4.0])
    A = torch.tensor(U @ np.diag(ev) @ U.T)
    w = torch.zeros(d, dtype=torch.float64, requires_grad=True)
    s = gind.hessian_slq(lambda: 0.5 * w @ A @ w, [w], m=d, probes=3, seed=0)
    assert s["top"] == pytest.approx(4.0, abs=1e-9)
    ref = ind.slq(lambda v: A.numpy() @ v, d, m=d, probes=3, seed=0)  # same probes, numpy matvec
    assert s["trace"] == pytest.approx(ref["trace"], rel=1e-10)
    sd = gind.sharpness_dimension_slq([lambda: 0.5 * w @ A @ w] * 2, [w], 0.3, m=d, probes=50, seed=0)
    exact = ind.sharpness_dimension(ind.lyapunov_exponents(ev, 0.3))  # = 0: all |1 - 0.3 h| < 1
    assert sd["dim"] == exact == 0.0
    sd = gind.sharpness_dimension_slq([lambda: 0.5 * w @ A @ w], [w], 0.9, m=d, probes=50, seed=0)
    assert 0.0 <= sd["dim"] <= d
    G = rng.standard_normal((40, 3))
    st_ = gind.gradient_noise_stats(torch.tensor(G), 4, k=3)
    C = ind.minibatch_covariance(G, 4)
    assert st_["logdetC"] == pytest.approx(np.linalg.slogdet(C)[1], rel=1e-10)
    assert st_["trC"] == pytest.approx(np.trace(C), rel=1e-12)
    logits = rng.standard_normal((2, 3, 7, 4))
    assert gind.inconsistency_logits(torch.tensor(logits)) == pytest.approx(ind.inconsistency(logits), rel=1e-12)
    assert gind.instability_logits(torch.tensor(logits)) == pytest.approx(ind.instability(logits), rel=1e-12)
    # one implementation: the torch side passes float64 arrays to the numpy functions
    assert gind.inconsistency is ind.inconsistency and gind.instability is ind.instability
    assert gind.hutchinson is ind.hutchinson and gind.slq is ind.slq
    p = [[[_softmax(list(logits[j, k, i])) for i in range(7)] for k in range(3)] for j in range(2)]
    assert gind.inconsistency_logits(torch.tensor(logits, dtype=torch.float32)) == pytest.approx(
        _pair_kl_brute([[[_softmax(list(np.float32(logits[j, k, i]).astype(float))) for i in range(7)]
                         for k in range(3)] for j in range(2)]), rel=1e-12)
    assert gind.inconsistency_logits(torch.tensor(logits)) == pytest.approx(_pair_kl_brute(p), rel=1e-12)
    h = gind.hessian_hutchinson(lambda: 0.5 * w @ A @ w, [w], probes=7, seed=2)
    assert h["trace"] == pytest.approx(ind.hutchinson(lambda v: A.numpy() @ v, d, probes=7, seed=2)["trace"], rel=1e-12)
    with pytest.raises(ValueError, match="logits"):
        gind.inconsistency_logits(logits)  # not a tensor


def test_wang_mao_R_is_stated_never_estimated_and_E_S_inside_the_root():
    """Wang & Mao's bounds need a sub-Gaussian constant R: bound_* columns only
    with a stated R or a loss bound M (R = M/2, Hoeffding's lemma; dropped once
    a loss exceeds M); the plug-in spread gives ind_* columns only. Over K
    training sets E_S sits inside the square root: sqrt(mean) (Jensen: above the
    mean of the roots)."""
    from gapkit.sims.indicators._toy import _sde_columns, _SdeParts

    traj, H, x = _quadratic_traj(np.random.default_rng(3), alpha=0.05)
    plain = ind.toy_indicators(traj)
    assert "bound_sde_trajectory" not in plain and "bound_sde_terminal" not in plain
    R_plug = float(np.std(traj["per_example_loss"](traj["trace_theta"][-1])))
    stated = ind.toy_indicators({**traj, "R": 2.0})
    for k in ("trajectory", "terminal"):
        assert stated[f"bound_sde_{k}"] == pytest.approx(2.0 / R_plug * plain[f"ind_sde_{k}"], rel=1e-12)
    M = 1e6
    clipped = ind.toy_indicators({**traj, "loss_bound": M})
    assert clipped["bound_sde_trajectory"] == pytest.approx(M / 4.0 * stated["bound_sde_trajectory"], rel=1e-12)
    assert "bound_sde_trajectory" not in ind.toy_indicators({**traj, "loss_bound": 1e-3})  # losses exceed M
    parts = [_SdeParts(traj_sum=1.0, kl=0.5, n=10, R_plugin=1.0, R=3.0, loss_ok=True),
             _SdeParts(traj_sum=9.0, kl=4.5, n=10, R_plugin=1.0, R=3.0, loss_ok=True)]
    cols = _sde_columns(parts)
    assert cols["bound_sde_trajectory"] == pytest.approx(3.0 * np.sqrt(5.0), rel=1e-15)
    assert cols["bound_sde_terminal"] == pytest.approx(3.0 * np.sqrt(2 * 2.5 / 10), rel=1e-15)
    assert cols["bound_sde_trajectory"] != pytest.approx(3.0 * 2.0, rel=0.05)  # the mean of roots is caught
    with pytest.raises(ValueError, match="R"):
        ind.toy_indicators({**traj, "R": -1.0})


def test_bias_diversity_ratio_known_values():
    """rho = |mean g|^2 / tr D: g = (1, 0), (3, 0) -> 4 / 1; along a run per state;
    at a minimum of F_S (mean 0) it is 0; no spread -> inf."""
    assert ind.bias_diversity_ratio(np.array([[1.0, 0.0], [3.0, 0.0]])) == pytest.approx(4.0, rel=1e-15)
    g = np.array([[[1.0, 0.0], [3.0, 0.0]], [[-1.0, 2.0], [1.0, -2.0]]])
    np.testing.assert_allclose(ind.bias_diversity_ratio(g), [4.0, 0.0], atol=1e-15)
    assert ind.bias_diversity_ratio(np.array([[1.0, 1.0], [1.0, 1.0]])) == np.inf
    assert ind.bias_diversity_ratio(np.array([[1.0, 0.0], [3.0, 0.0]])) != pytest.approx(4.8, rel=0.1)
    with pytest.raises(ValueError, match="per_example_grads"):
        ind.bias_diversity_ratio(np.zeros(3))


def test_eos_preset_reaches_a_positive_sharpness_dimension():
    """The `eos` sweep preset's top lr gives linreg (the model defaults) a positive
    sharpness dimension where a stable small lr gives 0: plain SGD with B = 1,
    exact per-example Hessians x x' + alpha."""
    from gapkit.sims.sweep._spec import MODEL_DEFAULTS, make_spec

    spec = make_spec("linreg", preset="eos")
    md = MODEL_DEFAULTS["linreg"]
    rng = np.random.default_rng(0)
    n, d, a = md["n"], md["dim"], md["alpha"]
    X = md["data_std"] * rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) * 0.3 + md["noise_std"] * rng.standard_normal(n)
    XX = np.einsum("ni,nj->nij", X, X)

    def dim_at(lr):
        w = np.zeros(d)
        W = []
        for t in range(400):
            i = rng.integers(n)
            w = w - lr * ((X[i] @ w - y[i]) * X[i] + a * w)
            W.append(w.copy())
        traj = {"trace_theta": np.array(W), "lr": lr, "batch": 1, "n": n, "alpha": a, "seed": 1,
                "per_example_grad": lambda v: (X @ v - y)[:, None] * X, "per_example_hessian": lambda v: XX}
        assert np.all(np.isfinite(traj["trace_theta"]))
        return ind.toy_indicators(traj)["ind_sharpness_dim"]

    assert spec.batch_grid == [1] and max(spec.T_grid) >= 1.8
    assert dim_at(max(spec.T_grid)) > 0.0
    assert dim_at(0.5) == 0.0


def test_tan_partial_correlation_removes_a_shared_hyperparameter():
    """Tan et al.'s check on a sweep whose truth is known: indicator and gap both
    follow log lr (raw correlation ~0.99) with independent noise (partial
    correlation 0) in one case, and noise of correlation 0.5 in the other. The
    95% intervals (Fisher z; a stated 5% miss rate per interval) cover the truth,
    and exclude the raw correlation and a 20% wrong value of 0.5."""
    from gapkit.sims.indicators import fixed_axis_partial, partial_correlation

    rng = np.random.default_rng(4)
    n = 2000  # ~1000 runs per batch size: interval half-width ~0.05 at r = 0.5
    lr = np.exp(rng.uniform(np.log(0.01), np.log(1.0), n))
    batch = rng.choice([8, 32], n)
    e = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], n) * 0.1
    f = rng.standard_normal((n, 2)) * 0.1
    gap0, ind0 = np.log(lr) + f[:, 0], 2 * np.log(lr) + f[:, 1]
    gap1, ind1 = np.log(lr) + e[:, 0], 2 * np.log(lr) + e[:, 1]
    raw = partial_correlation(ind0, gap0)["r"]
    assert raw > 0.95
    hyper = {"lr": lr, "batch": batch}
    r0 = fixed_axis_partial(ind0, gap0, hyper)
    r1 = fixed_axis_partial(ind1, gap1, hyper)
    assert set(r0["groups"]) == {8, 32}
    for g in r0["groups"].values():
        lo, hi = g["ci95"]
        assert lo < 0 < hi and hi < raw
    for g in r1["groups"].values():
        lo, hi = g["ci95"]
        assert lo < 0.5 < hi and not lo < 0.4 < hi and g["p"] < 1e-6
    # Spearman gives the same verdicts on these monotone relations
    assert abs(partial_correlation(ind1, gap1, np.log(lr), method="spearman")["r"] - 0.5) < 0.15
    with pytest.raises(ValueError, match="hyper"):
        fixed_axis_partial(ind0, gap0, {"lr": lr})
    assert math.isnan(partial_correlation([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], [[1.0], [2.0], [3.0]])["r"])
