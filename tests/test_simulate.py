"""The Numba simulators (sims/engine: _simulate, _kernels, _data, _problems, _losses).

Statistical checks: fixed seeds, agreement within K_AGREE = 3 standard errors
computed from the run itself (issue 3's criterion), and each kind of check is
shown once to FAIL on a wrong answer (by more than 4 standard errors).
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from gapkit.sims.engine import _data as _data
from gapkit.sims.verify._registry import CheckContext, select_checks
from gapkit.sims.engine._simulate import exact_stationary, simulate
from gapkit.sims.verify.catalogue import simulators as S


# Issue 3's acceptance criterion: simulation within 3 standard errors of the
# exact law / closed form (fixed seeds, so deterministic; a fresh seed would
# fail a single comparison with probability 0.27%). Detection of a wrong
# answer is asserted at more than 4 standard errors.
K_AGREE = 3.0

Q = dict(model="quadratic1d", n=20, data_mean=1.0, data_std=1.0, alpha=0.1, beta=0.3, datasets=3, seed=3)


def _z(res):
    mu, cov = exact_stationary(res)
    m, v, sm, sv = S.chain_moments(res)
    return np.abs(m - mu[:, 0]) / sm, np.abs(v - cov[:, 0, 0]) / sv


@pytest.mark.parametrize("algo,kw", [("sgd", dict(lr=0.3, batch=3)),
                                     ("langevin", dict(lr=0.4, batch=2, dt=0.5)),
                                     ("momentum", dict(lr=0.05, batch=2, momentum=0.5))])
def test_chain_matches_its_exact_law(algo, kw):
    res = simulate(algo=algo, chains=8000, **Q, **kw)
    zm, zv = _z(res)
    assert res.summary.diverged == 0
    assert zm.max() < K_AGREE and zv.max() < K_AGREE, (zm, zv)


@pytest.mark.parametrize("algo,kw", [("langevin", dict(dt=1.0)), ("sgd", {}), ("momentum", dict(momentum=0.3))])
def test_quadratic_ddim_matches_its_exact_law(algo, kw):
    # d = 2: Langevin noise uses the Cholesky factor of h^2 Sx + beta^2 I (full Sx); SGD's
    # minibatch shares indices across coordinates (correlated noise, exact law from Lyapunov)
    res = simulate(algo=algo, dim=2, chains=8000, lr=0.3, batch=2, h=1.5, **{**Q, "model": "quadratic"}, **kw)
    mu, cov = exact_stationary(res)
    th = res.arrays["theta_final"]
    M = th.shape[1]
    for k in range(th.shape[0]):
        c = np.cov(th[k].T)
        se = np.sqrt((c**2 + np.outer(np.diag(c), np.diag(c))) / M)  # Gaussian SE of each covariance entry
        assert np.all(np.abs(c - cov[k]) < K_AGREE * se)
        assert np.all(np.abs(th[k].mean(0) - mu[k]) < K_AGREE * np.sqrt(np.diag(c) / M))


def test_linreg_conditional_theory():
    r = simulate(model="linreg", algo="sgd", n=30, dim=3, lr=0.1, batch=4, alpha=0.01, beta=0.1, datasets=32,
                 chains=50, seed=0)
    c = r.theory["conditional"]
    sim = c["sim_same_datasets"]
    assert c["datasets"] == 16
    for k in ("train_loss", "test_loss", "gap"):  # exact given the data: agreement far inside the data spread
        assert abs(sim[k] - c[k]) < 0.25 * sim["gap_ci95"]


def test_wrong_noise_scale_is_detected():
    # a simulator whose minibatch noise is sqrt(3/2) too large (B = 2 draws where the law assumes
    # B = 3) is caught by the same check
    bad = simulate(algo="sgd", chains=8000, lr=0.3, batch=2, **Q)
    bad.config["batch"] = 3
    zm, zv = _z(bad)
    assert zv.max() > 4


def test_gap_matches_closed_form():
    from gapkit.theory._quadratic import quadratic1d_steady

    r = simulate(model="quadratic1d", algo="sgd", n=20, data_mean=0.5, lr=0.2, batch=4, alpha=0.1, beta=0.3,
                 datasets=20000, chains=1, seed=1)
    th = quadratic1d_steady(20, 0.5, 1.0, alpha=0.1, beta=0.3, lam=0.2, B=4, scheme="sgd")
    s = r.summary
    se = s.gap_ci95 / 1.96
    assert abs(s.gap - th["gap"]) < K_AGREE * se
    assert abs(s.gap - 1.2 * th["gap"]) > 4 * se  # a 20% wrong value is detected
    assert r.theory["gap"] == pytest.approx(th["gap"], rel=1e-12)
    for k in ("train_loss", "test_loss"):
        assert abs(getattr(s, k) - th[k]) < K_AGREE * getattr(s, k + "_ci95") / 1.96


def test_em_first_order():
    ctx = CheckContext(seed=0, quick=True)
    dts = (0.4, 0.2, 0.1)
    ser = S.em_variance_series(ctx, dts, chains=8000)
    err = [v - sde for v, _, sde, _, _ in ser]
    slope, se = S.fit_slope(dts, np.abs(err), [s for _, s, _, _, _ in ser])
    assert all(e > 0 for e in err)
    assert abs(slope - 1.0) < 0.1 + 4 * se  # order 1 (exact law's slope on this grid: ~1.07)
    assert abs(slope - 2.0) > 4 * se  # not second order


@pytest.mark.parametrize("prefix", ["sim.", "collapse.", "momentum."])
def test_catalogue_rows_pass_and_fail_on_wrong_theory(prefix):
    from test_catalogue_all import judged_twice

    ok, bad, _ = judged_twice(select_checks([prefix]), prefixes=[prefix])  # one run, judged right and wrong
    assert ok and all(r.verdict in ("PASS", "INFO") for r in ok), [(r.id, r.verdict, r.note) for r in ok]
    judged = [r for r in bad if r.verdict != "INFO"]
    assert judged and all(r.verdict == "FAIL" for r in judged)


@pytest.mark.parametrize("model", ["quadratic", "linreg", "logreg", "rfridge"])
@pytest.mark.parametrize("algo", ["sgd", "langevin", "momentum"])
def test_every_model_and_algo_runs(model, algo):
    r = simulate(model=model, algo=algo, n=12, dim=3, lr=0.05, batch=3, alpha=0.1, beta=0.1, datasets=6, chains=2,
                 steps=300, seed=0, record_every=100, momentum=0.5 if algo == "momentum" else 0.0)
    a = r.arrays
    assert a["train"].shape == (6, 2) and a["theta_final"].shape == (6, 2, 3)
    assert a["trace_theta"].shape == (6, 2, 3, 3) and np.all(np.isfinite(a["trace_train"]))
    assert r.summary.diverged == 0 and np.isfinite(r.summary.gap) and r.config["T"] == pytest.approx(0.05 / 3)


def test_linreg_population_loss_closed_form():
    # at w = 0 the population loss is (1/2)(w*' Sigma w* + noise^2): check the kernel's test loss
    r = simulate(model="linreg", algo="sgd", n=20, dim=4, data_mean=0.3, lr=1e-12, batch=2, datasets=2, chains=1,
                 steps=2, burnin=1, seed=4)
    w = _data.teacher(4, 4)
    Sig = np.eye(4) + 0.09 * np.ones((4, 4))
    assert r.arrays["test"][0, 0] == pytest.approx(0.5 * (w @ Sig @ w + 0.25), rel=1e-9)


def test_cosine_schedule_and_pool():
    r = simulate(model="quadratic1d", algo="sgd", cosine=True, n=10, lr=0.2, datasets=50, chains=2, seed=0)
    c = r.config
    assert "cosine" in c["burnin_rule"] and c["steps"] - c["burnin"] == max(1, c["steps"] // 20)
    for scheme in ("split", "iid"):
        r = simulate(model="linreg", algo="sgd", n=10, dim=2, lr=0.05, datasets=4, chains=1, pool=30,
                     scheme=scheme, steps=200, seed=0)
        assert "pool of 30" in r.config["test_loss_source"] and np.isfinite(r.summary.gap)


def test_pool_schemes():
    tr, te = _data.pool_indices(0, 200, 30, 10, "split")
    assert tr.shape == (200, 10) and te.shape == (200, 20)
    for a, b in zip(tr, te):
        assert sorted(np.r_[a, b]) == list(range(30))  # split: a partition of the pool
    tr, te = _data.pool_indices(0, 200, 30, 10, "iid")
    assert all(len(set(a)) == 10 and len(set(b)) == 20 for a, b in zip(tr, te))
    overlap = np.mean([len(set(a) & set(b)) for a, b in zip(tr, te)])
    assert abs(overlap - 10 * 20 / 30) < 1.0  # independent draws overlap ~ n n_e / N


def test_divergence_is_counted_not_raised():
    r = simulate(model="quadratic1d", algo="sgd", n=10, lr=2.5, datasets=5, chains=3, steps=400, seed=0)
    assert r.summary.diverged == 15 and r.arrays["diverged"].all()
    assert "no stationary law" in r.theory["note"]
    r = simulate(model="quadratic1d", algo="sgd", n=10, lr=0.1, datasets=5, chains=3, seed=0)
    assert r.summary.diverged == 0


@pytest.mark.parametrize("kw,match", [
    (dict(batch=0), "batch"), (dict(lr=0.0), "lr"), (dict(lr=float("inf")), "lr"), (dict(n=0), "n"),
    (dict(dim=2), "dim"), (dict(data_mean=float("nan")), "data_mean"), (dict(data_std=-1.0), "data_std"),
    (dict(model="nope"), "model"), (dict(algo="adam"), "algo"), (dict(momentum=1.0, algo="momentum"), "momentum"),
    (dict(momentum=0.5), "momentum"), (dict(dt=0.5), "dt"), (dict(steps=10, burnin=10), "burnin"),
    (dict(pool=5, n=10), "pool"), (dict(scheme="x"), "scheme"), (dict(h=-1.0), "h"), (dict(foo=1), "foo"),
    (dict(datasets=0), "datasets"), (dict(chains=0), "chains"),
])
def test_bad_arguments(kw, match):
    base = dict(model="quadratic1d", algo="sgd", n=10, lr=0.1, datasets=2, chains=1)
    with pytest.raises(ValueError, match=match):
        simulate(**{**base, **kw})


_THREADS_SCRIPT = """
import sys, hashlib
from gapkit.sims.engine._simulate import simulate
h = hashlib.sha256()
for model, algo in [("quadratic1d", "sgd"), ("quadratic1d", "langevin"), ("quadratic", "momentum"),
                    ("linreg", "langevin"), ("logreg", "sgd")]:
    r = simulate(model=model, algo=algo, n=16, dim=2 if model != "quadratic1d" else 1, lr=0.05, batch=3,
                 alpha=0.1, beta=0.2, datasets=37, chains=3, steps=150, seed=11,
                 momentum=0.5 if algo == "momentum" else 0.0)
    for k in ("train", "test", "theta_final"):
        h.update(r.arrays[k].tobytes())
print(h.hexdigest())
"""


def test_thread_count_independence():
    out = []
    for nt in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": nt}
        p = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT], env=env, capture_output=True, text=True,
                           timeout=300)
        assert p.returncode == 0, p.stderr[-2000:]
        out.append(p.stdout.strip())
    assert len(out[0]) == 64 and out[0] == out[1]


# ---------------------------------------------------------------- kernel == slow reference
def _ref_quad1d(res, algo):
    """Eq 15 / 16 / 17 written out in plain Python on the same keyed streams (no Numba loops), with
    the gradient of the toy loss's one numeric definition (`_losses.quadratic_grads`)."""
    from gapkit.sims.engine import _rng as _rng
    from gapkit.sims.engine._losses import quadratic_grads

    prob = res.problem
    X = prob.X[:, :, 0]
    a = prob.arrays
    K, n = X.shape
    c = res.config
    M, B, lam, al, be, mu, dt = c["chains"], c["batch"], c["lr"], c["alpha"], c["beta"], c["momentum"], c["dt"]
    h = prob.h
    seed = np.uint64(_rng.seed64(c["seed"]))
    out = np.empty((K, M))
    for k in range(K):
        for m in range(M):
            s = _rng.stream(seed, np.uint64(_rng.TAG_CHAIN), k, m)
            th = v = 0.0
            for _ in range(c["steps"]):
                if algo == "langevin":
                    z, *s = _rng.std_normal(*map(np.uint64, s))
                    sd = np.sqrt(h * h * a["trs"][k] + be * be) * np.sqrt(dt / B)
                    th = th * (1.0 - lam * dt * (h + al)) + lam * (dt * h * a["xbar"][k, 0] + sd * z)
                    continue
                xs = 0.0
                for _b in range(0, B - 1, 2):
                    i, j, *s = _rng.index_pair(n, *map(np.uint64, s))
                    xs += X[k, i] + X[k, j]
                if B % 2 == 1:
                    i, j, *s = _rng.index_pair(n, *map(np.uint64, s))
                    xs += X[k, i]
                z, *s = _rng.std_normal(*map(np.uint64, s))
                bn = be / np.sqrt(B) * z
                # the mean minibatch gradient from the toy loss's one definition, h (theta - xbar_b)
                g = float(quadratic_grads([th], np.array([[xs / B]]), h)[0, 0])
                if algo == "sgd":
                    th = th - lam * (g + al * th + bn)
                else:
                    v = mu * v + (g + bn) + al * th
                    th = th - lam * v
            out[k, m] = th
    return out


@pytest.mark.parametrize("algo,kw", [("sgd", dict(batch=3)), ("momentum", dict(batch=2, momentum=0.7)),
                                     ("langevin", dict(batch=2, dt=0.5))])
def test_kernel_equals_python_reference(algo, kw):
    res = simulate(model="quadratic1d", algo=algo, n=7, lr=0.1, alpha=0.2, beta=0.4, datasets=2, chains=2, steps=25,
                   burnin=5, seed=8, **kw)
    ref = _ref_quad1d(res, algo)
    # same streams, same update: equal up to rounding (LLVM may fuse multiply-adds)
    np.testing.assert_allclose(res.arrays["theta_final"][:, :, 0], ref, rtol=1e-12, atol=1e-14)
    # and a wrong reference (noise scale 10% off) is not equal
    res.config["beta"] *= 1.1
    assert not np.allclose(_ref_quad1d(res, algo), ref, rtol=1e-6, atol=0)


def _ref_glm(res, grads):
    """Eq 15 / 16 / 17 on a GLM in plain Python on the kernel's keyed streams, per-example
    gradients from `grads(w, X, y)` (the one home: `_losses.glm_grads`)."""
    from gapkit.sims.engine import _rng as _rng

    prob, c = res.problem, res.config
    K, n, p = prob.X.shape
    M, B, lam, al, be, mu, dt = c["chains"], c["batch"], c["lr"], c["alpha"], c["beta"], c["momentum"], c["dt"]
    seed = np.uint64(_rng.seed64(c["seed"]))
    out = np.empty((K, c["chains"], p))

    def normal(s):
        z, *s = _rng.std_normal(*map(np.uint64, s))
        return z, s

    for k in range(K):
        X, y = prob.X[k], prob.y[k]
        for m in range(M):
            s = _rng.stream(seed, np.uint64(_rng.TAG_CHAIN), k, m)
            w, v = np.zeros(p), np.zeros(p)
            for _ in range(c["steps"]):
                if c["algo"] == "langevin":
                    G = grads(w, X, y)
                    z = np.empty(n)
                    for j in range(n):
                        z[j], s = normal(s)
                    zi = np.empty(p)
                    for i in range(p):
                        zi[i], s = normal(s)
                    gb = G.sum(axis=0) / n
                    noise = (z @ G - z.sum() * gb) / np.sqrt(n) + be * zi
                    w = w - lam * dt * (gb + al * w) + lam * np.sqrt(dt / B) * noise
                    continue
                rows = []
                for b in range(0, B, 2):
                    i, j, *s = _rng.index_pair(n, *map(np.uint64, s))
                    rows += [i] if b + 1 >= B else [i, j]
                g = grads(w, X[rows], y[rows]).sum(axis=0) / B
                for i in range(p):
                    if be != 0.0:
                        zb, s = normal(s)
                        g[i] += be / np.sqrt(B) * zb
                if c["algo"] == "sgd":
                    w = w - lam * (g + al * w)
                else:
                    v = mu * v + g + al * w
                    w = w - lam * v
            out[k, m] = w
    return out


@pytest.mark.parametrize("model", ["linreg", "logreg"])
@pytest.mark.parametrize("algo,kw", [("sgd", dict(batch=3)), ("momentum", dict(batch=2, momentum=0.6)),
                                     ("langevin", dict(batch=2, dt=0.5))])
def test_glm_kernel_equals_python_reference(model, algo, kw):
    """The GLM kernel's updates use the per-example gradients of the one numeric home."""
    from gapkit.sims.engine._losses import glm_grads

    logistic = model == "logreg"
    res = simulate(model=model, algo=algo, n=6, dim=3, lr=0.2, alpha=0.1, beta=0.3, datasets=2, chains=2, steps=20,
                   burnin=5, seed=4, test_size=8, **kw) if logistic else \
        simulate(model=model, algo=algo, n=6, dim=3, lr=0.2, alpha=0.1, beta=0.3, datasets=2, chains=2, steps=20,
                 burnin=5, seed=4, **kw)
    ref = _ref_glm(res, lambda w, X, y: glm_grads(w, X, y, logistic))
    np.testing.assert_allclose(res.arrays["theta_final"], ref, rtol=1e-10, atol=1e-12)
    # a wrong per-example gradient (least squares without its label; logistic with the label's sign
    # flipped) is not equal
    wrong = (lambda w, X, y: glm_grads(w, X, -y, True)) if logistic else (lambda w, X, y: (X @ w)[:, None] * X)
    assert not np.allclose(_ref_glm(res, wrong), ref, rtol=1e-4, atol=0)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(N=st.integers(2, 40), frac=st.floats(0.01, 0.99), K=st.integers(1, 5), seed=st.integers(0, 2**40))
def test_pool_draws_property(N, frac, K, seed):
    n = min(N - 1, max(1, int(frac * N)))
    tr, te = _data.pool_indices(seed, K, N, n, "split")
    for a, b in zip(tr, te):
        assert sorted(np.r_[a, b]) == list(range(N))
    tr, te = _data.pool_indices(seed, K, N, n, "iid")
    for a, b in zip(tr, te):
        assert len(set(a)) == n and len(set(b)) == N - n and a.min() >= 0 and b.max() < N


def test_problem_seed_fixes_the_distribution_and_seed_the_data_sets():
    """A sweep shares one data distribution (teacher w*) across its grid points
    via problem_seed, while each run still draws its own data sets."""
    kw = dict(model="linreg", algo="sgd", n=20, dim=3, lr=0.05, batch=2, datasets=8, steps=50)
    a = simulate(seed=1, problem_seed=7, **kw).problem
    b = simulate(seed=2, problem_seed=7, **kw).problem
    c = simulate(seed=2, **kw).problem
    assert np.array_equal(a.teacher, b.teacher)
    assert not np.array_equal(a.X, b.X)
    assert not np.array_equal(b.teacher, c.teacher)
    # without problem_seed, the run seed decides both (unchanged default)
    assert np.array_equal(c.teacher, simulate(seed=2, problem_seed=2, **kw).problem.teacher)


def test_control_variate_gap_is_unbiased_and_tighter():
    """The headline gap of the quadratic models uses control variates with
    known means (tr S, |xbar - m|^2). It must agree with the exact
    data-averaged gap within 4 of its own standard errors, and be tighter than
    the plain mean over data sets (which is kept as gap_plain)."""
    r = simulate(model="quadratic1d", algo="sgd", n=20, data_mean=0.3, data_std=1.2, alpha=0.1, beta=0.2,
                 lr=0.1, batch=4, datasets=4000, chains=2, seed=5)
    s, x = r.summary, r.summary.extras
    assert x["gap_estimator"].startswith("control variates")
    se = s.gap_ci95 / 1.96
    assert abs(s.gap - r.theory["gap"]) <= K_AGREE * se
    assert s.gap_ci95 < 0.5 * x["gap_plain_ci95"]
    assert abs(x["gap_plain"] - r.theory["gap"]) <= K_AGREE * x["gap_plain_ci95"] / 1.96
    # a wrong theory value 20% off is far outside the control-variate interval
    assert abs(s.gap - 1.2 * r.theory["gap"]) > 4 * se


def _lane_case(kind):
    """Kernel inputs where some chains diverge (large lr on some data sets): (kernel, chains, args)."""
    from gapkit.sims._settings import BIG
    from gapkit.sims.engine import _data, _kernels, _rng

    K, M, n, steps = 9, 5, 12, 60
    rng = np.random.default_rng(3)
    lams = np.full(steps, 0.9)
    meas = _kernels.Measure(20, 1, 7, np.uint64(_rng.seed64(5)), M)
    if kind == "quad1d":
        X = 3.0 * rng.standard_normal((K, n))
        data = _kernels.QuadData(X, X.mean(1), X.var(1), np.logspace(0, 0.98 * np.log10(BIG), K),  # |growth| 1.475/step
                                 np.zeros(1), np.ones(1), np.zeros(K, np.int64), 1.0)
        upd = _kernels.Update(0, lams * 2.5, 1, 0.1, 0.3, 0.0, 1.0)
        nrec, d, kern = 0, 1, _kernels._quad1d_langevin_lanes
    else:
        X = _data.gaussian_inputs(7, K, n, 3, 0.0, 1.0) * np.linspace(0.5, 3.0, K)[:, None, None]
        y = X.sum(axis=2)
        A = np.einsum("kni,knj->kij", X, X) / n
        c, q = np.einsum("kni,kn->ki", X, y) / n, (y * y).mean(1)
        data = _kernels.GlmData(X, y, False, A, c, q, A, c, q, X, y, np.arange(K))
        upd = _kernels.Update(2 if kind == "momentum" else 1, lams, 3, 0.1, 0.3, 0.5, 1.0)
        nrec, d, kern = 8, 3, _kernels._glm_chains
    out = _kernels.Outputs(np.empty((K, M)), np.empty((K, M)), np.zeros((K, M), np.bool_), np.empty((K, M, d)),
                           np.full((K, M, nrec), np.nan), np.full((K, M, nrec), np.nan),
                           np.full((K, M, nrec, d), np.nan))
    return kern, K * M, (data, upd, meas, out)


@pytest.mark.parametrize("kind", ["quad1d"])
def test_lanes_in_lockstep_equal_chains_run_alone(kind):
    """The lane kernels advance up to LANES chains together; each chain's outputs are the bits it gets when
    run alone (a block of one chain: one lane), diverged chains and the padded last group included."""
    kern, n, args = _lane_case(kind)
    kern(0, n, *args)  # one block: groups of LANES lanes, the last one padded
    together = [np.array(a, copy=True) for a in args[3]]
    for ch in range(n):
        kern(ch, ch + 1, *args)
    div = args[3].div
    assert 0 < div.sum() < div.size  # some chains diverge, not all
    for a, b in zip(together, args[3]):
        np.testing.assert_array_equal(a, b)


def test_compile_fixed_gives_the_signature_a_run_uses():
    """The warm-up compiles the fixed-p GLM kernel without running it (`_kernels.compile_fixed`); a run that
    takes that kernel then compiles nothing more (else the warm-up would compile a signature no run uses)."""
    from gapkit.sims.engine import _kernels

    _kernels.compile_fixed(3, logistic=False, noisy=True)
    kern = _kernels._glm_minibatch_fixed(False, True)
    before = set(kern.overloads)
    assert len(before) >= 1
    simulate(model="linreg", algo="sgd", n=6, dim=3, lr=0.01, batch=2, beta=0.1, datasets=1, chains=2,
             steps=_kernels.FIXED_MIN_WORK // 2, burnin=1, seed=0)
    assert _kernels.glm_kernel(3, _kernels.ALGOS["sgd"], _kernels.FIXED_MIN_WORK) == "fixed"
    assert set(kern.overloads) == before


def test_quad1d_lane_kernel_equals_general_loop():
    """`quad1d` gives Langevin without records to the lane kernel; the general loop (`_quad1d_chains`, which
    the same run takes with records) gives each chain the same bits, diverged chains included."""
    from gapkit.sims.engine import _kernels

    _, n, (data, upd, meas, out) = _lane_case("quad1d")
    _kernels._quad1d_langevin_lanes(0, n, data, upd, meas, out)
    lanes = [np.array(a, copy=True) for a in out[:4]]
    K, M = out.train.shape
    rec = _kernels.Outputs(*(np.empty_like(a) for a in out[:4]), np.empty((K, M, 3)), np.empty((K, M, 3)),
                           np.empty((K, M, 3, 1)))
    _kernels._quad1d_chains(0, n, data, upd, meas._replace(rec=7), rec)
    assert 0 < lanes[2].sum() < lanes[2].size  # some chains diverge, not all
    for a, b in zip(lanes, rec[:4]):
        np.testing.assert_array_equal(a, b)


def _glm_case(p, algo, logistic, beta, B, rec, stride, lr, seed=5):
    """GLM kernel inputs on random data (K = 3 data sets, M = 4 chains, 60 steps; lr 3 diverges)."""
    from gapkit.sims.engine import _kernels, _rng

    rng = np.random.default_rng(seed + 7 * p + B)
    K, M, n, steps = 3, 4, 13, 60
    X = rng.standard_normal((K, n, p))
    y = np.sign(rng.standard_normal((K, n))) if logistic else X.sum(2) + rng.standard_normal((K, n))
    Xt = rng.standard_normal((2, 9, p))
    yt = np.sign(rng.standard_normal((2, 9))) if logistic else Xt.sum(2)
    A, At = np.einsum("kni,knj->kij", X, X) / n, np.einsum("kni,knj->kij", Xt, Xt) / 9
    c, ct = np.einsum("kni,kn->ki", X, y) / n, np.einsum("kni,kn->ki", Xt, yt) / 9
    lams = lr * np.cos(np.pi * np.arange(steps) / (2 * steps)) if stride > 1 else np.full(steps, lr)
    data = _kernels.GlmData(X, y, logistic, A, c, (y * y).mean(1), At, ct, (yt * yt).mean(1), Xt, yt,
                            np.array([0, 1, 0]))
    upd = _kernels.Update(algo, lams, B, 0.1, beta, 0.6 if algo == 2 else 0.0, 1.0)
    meas = _kernels.Measure(20, stride, max(rec, 1), np.uint64(_rng.seed64(seed)), M)
    nrec = steps // rec if rec else 0

    def out():
        return _kernels.Outputs(np.empty((K, M)), np.empty((K, M)), np.zeros((K, M), np.bool_),
                                np.empty((K, M, p)), np.full((K, M, nrec), -1.0), np.full((K, M, nrec), -1.0),
                                np.full((K, M, nrec, p), -1.0))

    return data, upd, meas, out


@pytest.mark.parametrize("p", [3, 10])
def test_fixed_p_glm_kernel_gives_the_generic_kernels_bits(p):
    """`_glm_minibatch_fixed` (p known at compile time, SLP-vectorised) must give exactly the bits of
    `_glm_chains` -- outputs, records, divergence -- so which one `glm` picks never shows in a result:
    sgd and momentum, least squares and logistic, with and without beta noise, odd and even batches,
    records, a loss stride with a cosine schedule, diverging chains (lr 3)."""
    import itertools

    from gapkit.sims.engine import _kernels
    from gapkit.sims.engine._jit import run_blocks, specialised

    zero = (0.0,) * p
    diverged = 0
    for algo, logistic, beta, B, rec, stride, lr in itertools.product((1, 2), (False, True), (0.0, 0.3), (1, 8),
                                                                      (0, 7), (1, 3), (0.05, 3.0)):
        data, upd, meas, mk = _glm_case(p, algo, logistic, beta, B, rec, stride, lr)
        n = data.X.shape[0] * meas.M
        ref, got = mk(), mk()
        run_blocks(_kernels._glm_chains, n, data, upd, meas, ref)
        kernel = _kernels._glm_minibatch_fixed(logistic, beta != 0.0)
        run_blocks(specialised(kernel, 0, n, data, upd, meas, got, zero), n, data, upd, meas, got, zero)
        for f, a, b in zip(ref._fields, ref, got):
            assert np.array_equal(a, b, equal_nan=True), (f, algo, logistic, beta, B, rec, stride, lr)
        diverged += int(ref.div.sum())
    assert 0 < diverged  # the divergence path is exercised


def test_fixed_p_glm_kernel_resumes_after_a_large_sum_that_is_no_divergence():
    """The fixed-p kernel tests the sum of |theta_i| against BIG in its step loop and leaves the loop for
    the exact per-coordinate test; where no coordinate passes BIG (the sum can, p of them just under
    it) the chain goes on, as in the generic kernel. Chains that grow 1.5x per step (alpha = -0.5,
    lr = 1, tiny inputs) pass through such steps before they diverge; both kernels give the same bits."""
    from gapkit.sims._settings import BIG
    from gapkit.sims.engine import _kernels, _rng
    from gapkit.sims.engine._jit import run_blocks, specialised

    rng = np.random.default_rng(11)
    K, M, n, p, steps = 3, 4, 13, 3, 400
    X = 1e-3 * rng.standard_normal((K, n, p))
    y = rng.standard_normal((K, n))
    z3, z2, z1 = np.zeros((1, 1, 1)), np.zeros((1, 1)), np.zeros(1)
    data = _kernels.GlmData(X, y, False, np.zeros((K, p, p)), np.zeros((K, p)), np.zeros(K), z3, z2, z1,
                            np.zeros((1, 1, p)), z2, np.zeros(K, np.int64))
    upd = _kernels.Update(1, np.full(steps, 1.0), 2, -0.5, 0.0, 0.0, 1.0)

    def run(kernel, rec, *extra):
        nrec = steps if rec else 0
        out = _kernels.Outputs(np.empty((K, M)), np.empty((K, M)), np.zeros((K, M), np.bool_), np.empty((K, M, p)),
                               np.full((K, M, nrec), -1.0), np.full((K, M, nrec), -1.0), np.full((K, M, nrec, p), 0.0))
        meas = _kernels.Measure(steps, 1, 1, np.uint64(_rng.seed64(3)), M)  # burnin = steps: nothing measured
        if extra:  # the fixed-p kernel, compiled as `glm` compiles it
            kernel = specialised(kernel, 0, K * M, data, upd, meas, out, *extra)
        run_blocks(kernel, K * M, data, upd, meas, out, *extra)
        return out

    path = run(_kernels._glm_chains, True).tr_theta  # theta after each step, until the chain stops
    passes = ((np.abs(path).sum(-1) > BIG) & (np.abs(path).max(-1) <= BIG)).any(axis=-1)
    assert passes.sum() >= K * M // 2  # most chains pass such a step
    ref = run(_kernels._glm_chains, False)
    assert ref.div.all()  # and diverge later
    got = run(_kernels._glm_minibatch_fixed(False, False), False, (0.0,) * p)
    for f, a, b in zip(ref._fields, ref, got):
        assert np.array_equal(a, b, equal_nan=True), f


def test_glm_picks_the_fixed_p_kernel_only_where_it_applies():
    """`glm` runs the fixed-p kernel for the minibatch algorithms at p <= FIXED_P_MAX on runs of at least
    FIXED_MIN_WORK chain-steps (the bench's W2: p = 10, 256 x 16 chains x 2,000 steps), else the generic."""
    from gapkit.sims.engine import _kernels
    from gapkit.sims.engine._bench import WORKLOADS

    w = WORKLOADS["W2"]
    big = w["K"] * w["M"] * w["steps"]
    assert _kernels.glm_kernel(w["d"], _kernels.ALGOS["sgd"], big) == "fixed"
    assert _kernels.glm_kernel(w["d"], _kernels.ALGOS["momentum"], big) == "fixed"
    assert _kernels.glm_kernel(w["d"], _kernels.ALGOS["langevin"], big) == "generic"
    assert _kernels.glm_kernel(_kernels.FIXED_P_MAX + 1, _kernels.ALGOS["sgd"], big) == "generic"
    assert _kernels.glm_kernel(w["d"], _kernels.ALGOS["sgd"], _kernels.FIXED_MIN_WORK - 1) == "generic"
