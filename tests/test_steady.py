"""Steady-state summaries and equilibration diagnostics (sims/_steady.py).

References with known answers: the paper's epoch formula by hand; planted
spikes; AR(1) chains (tau = (1 + phi) / (1 - phi)); SGD on a quadratic, where
Yaida's FDR1 holds exactly at stationarity; an Ornstein-Uhlenbeck process
sampled with its exact transition law, where Eqs 34-37 hold exactly.
Statistical tolerances are 4 standard errors from the run itself (two-sided
false-failure rate ~6e-5 per comparison) with fixed seeds.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm, solve_continuous_lyapunov
from scipy.signal import lfilter

from gapkit.sims.stats._steady import (
    effective_sample_size,
    equilibration,
    fdr1,
    integrated_autocorr_time,
    moment_residuals,
    paper_epochs,
    rescaled_steps,
    spike_cut_end,
    steady_summary,
    steady_value,
)


# ------------------------------------------------------------------ run length
def test_paper_epochs_formula():
    assert paper_epochs(2e-4) == 300
    assert paper_epochs(1e-4) == 375  # 300 (1 + (2 - 1) / 4)
    assert paper_epochs(4e-5) == 600  # 300 (1 + (5 - 1) / 4)
    assert paper_epochs(1e-6) == 1200  # capped at 4x
    assert paper_epochs(1e-2) == 300  # floored at 1x
    for T in np.geomspace(1e-6, 1e-2, 13):
        f = max(1.0, min(4.0, 1 + (2e-4 / T - 1) / 4))
        assert paper_epochs(T) == int(np.ceil(300 * f - 1e-9))


def test_paper_epochs_exact_where_floats_round_off():
    """The rule is exact in real arithmetic: with T = lr / B from decimal lr and
    integer B, N(T) equals the ceiling computed in exact fractions (80 x 1.75 =
    140 at T = 0.3/12, where the float factor gives 140.00000000000003), and
    the sweep spec's `epochs_for` is the same function."""
    from fractions import Fraction

    from gapkit.sims.sweep._spec import epochs_for

    assert paper_epochs(0.3 / 12, reference_epochs=80, reference_T=0.1) == 140
    n_bad = 0
    for lr in ("0.05", "0.1", "0.15", "0.2", "0.3", "0.4", "0.6", "0.8", "1.2"):
        for B in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64):
            for ref, T_ref in ((80, "0.1"), (300, "2e-4"), (4, "0.01"), (3, "0.05")):
                T = Fraction(lr) / B
                f = max(Fraction(1), min(Fraction(4), 1 + (Fraction(T_ref) / T - 1) / 4))
                exact = -((-ref * f.numerator) // f.denominator)  # ceil in integers
                got = paper_epochs(float(lr) / B, reference_epochs=ref, reference_T=float(T_ref))
                n_bad += got != exact
    assert n_bad == 0
    # a naive float ceil (the old sweep copy) is wrong on some of these grid points
    naive = int(np.ceil(80 * max(1.0, min(4.0, 1.0 + (0.1 / (0.3 / 12) - 1.0) / 4.0))))
    assert naive == 141

    class _Spec:
        ref_epochs, T_ref = 80, 0.1

    assert epochs_for(0.3 / 12, _Spec()) == 140
    for T in np.geomspace(1e-4, 1.0, 17):
        assert epochs_for(float(T), _Spec()) == paper_epochs(float(T), reference_epochs=80, reference_T=0.1)


def test_rescaled_steps_keeps_lam_times_updates():
    # T1 B1 n1 = T2 B2 n2, i.e. lam1 n1 = lam2 n2
    assert rescaled_steps(0.01, 0.01, 1000) == 1000
    assert rescaled_steps(0.005, 0.01, 1000) == 2000
    assert rescaled_steps(0.01, 0.01, 1000, B=4, reference_B=1) == 250
    n = rescaled_steps(0.02 / 8, 0.1 / 8, 3000, B=8, reference_B=8)  # lam 0.02 vs 0.1
    assert n == 15000 and 0.02 * n == pytest.approx(0.1 * 3000)
    assert rescaled_steps(1e-6, 1e-2, 100, max_factor=4) == 400
    assert rescaled_steps(1.0, 1e-2, 100, min_factor=1) == 100
    with pytest.raises(ValueError, match="T must be > 0"):
        rescaled_steps(0.0, 1.0, 10)
    with pytest.raises(ValueError, match="B must be an integer >= 1"):
        rescaled_steps(1.0, 1.0, 10, B=0)
    with pytest.raises(ValueError, match="max_factor"):
        rescaled_steps(1.0, 1.0, 10, min_factor=2, max_factor=1)


# ------------------------------------------------------------------ spike cut
def test_spike_cut_deterministic_ramp():
    x = np.ones(300)
    x[270:] = 1 + 0.1 * np.arange(1, 31)
    assert spike_cut_end(x) == 270  # the last end at which no spike is seen
    s = steady_summary(x)
    assert s["cut"] and s["end"] == 270 and s["value"] == 1.0 and s["n_used"] == 50
    assert steady_summary(x, spike_cut=False)["value"] > 1.0
    # a decreasing tail is not a spike; a run shorter than the long window is never cut
    assert spike_cut_end(np.linspace(2, 1, 100)) == 100
    assert spike_cut_end(np.arange(10.0)) == 10


def test_spike_cut_noisy_planted_spike_and_vectorized():
    rng = np.random.default_rng(11)
    K, M, S, start = 4, 5, 300, 280
    x = 1.0 + 0.02 * rng.standard_normal((K, M, S))
    x[..., start:] += 0.05 * np.expm1(np.arange(S - start) / 4.0)
    ends = spike_cut_end(x)
    # the spike's first records are below the noise (0.05 expm1(k/4) < 0.12 for k <= 5), so the cut
    # may keep up to ~5 of them; walking back through noise may overshoot its start by a few records
    assert np.all(ends <= start + 6) and np.all(ends >= start - 30)
    s = steady_summary(x)
    assert np.all(s["cut"])
    # the cut median is the baseline within the noise (sd 0.02 / sqrt(50) x 1.25 for a median)
    assert np.all(np.abs(s["value"] - 1.0) < 4 * 1.2533 * 0.02 / np.sqrt(50))
    naive = steady_summary(x, spike_cut=False)["value"]
    assert np.mean(naive) - np.mean(s["value"]) > 0.008  # the uncut median is inflated by the spike
    for k in range(K):
        for m in range(M):
            one = steady_summary(x[k, m])
            assert one["end"] == s["end"][k, m] and one["value"] == s["value"][k, m]


def _spike_end_reference(x, short=7, long=25):
    """Slow reference: walk back one end at a time."""
    def spike(e):
        return e >= long and np.mean(x[e - short:e]) > np.mean(x[e - long:e])

    e = len(x)
    if not spike(e):
        return e
    while e > long and spike(e):
        e -= 1
    return e


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), S=st.integers(1, 120), ramp=st.floats(0.0, 0.5))
def test_spike_cut_matches_slow_reference(seed, S, ramp):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(S) + ramp * np.maximum(np.arange(S) - 0.8 * S, 0)
    assert spike_cut_end(x) == _spike_end_reference(x)


def test_steady_summary_short_runs_and_nonfinite_rule():
    x = np.array([3.0, 1.0, 2.0, 4.0, 5.0])
    s = steady_summary(x, window=50)  # shorter than the window: all it has
    assert s["value"] == 3.0 and s["n_used"] == 5 and not s["cut"] and not s["diverged"]
    # a non-finite record inside the window: nan and diverged; outside it: ignored
    y = np.array([3.0, np.nan, 2.0, 4.0, 5.0])
    assert np.isnan(steady_summary(y, window=50)["value"]) and steady_summary(y, window=50)["diverged"]
    s3 = steady_summary(y, window=3)
    assert s3["value"] == 4.0 and not s3["diverged"]
    assert steady_value(y, window=3) == 4.0
    with pytest.raises(ValueError, match="window"):
        steady_summary(x, window=0)
    with pytest.raises(ValueError, match="long"):
        spike_cut_end(np.ones(30), short=7, long=7)


def test_steady_summary_given_ends_apply_to_every_metric():
    """The run's end (e.g. the train loss's spike cut) applied to another metric:
    its window is the `window` records before that end."""
    x = np.arange(100.0)[None].repeat(2, 0)
    s = steady_summary(x, window=10, ends=np.array([100, 60]))
    assert s["value"].tolist() == [np.median(x[0, 90:]), np.median(x[1, 50:60])]
    assert s["cut"].tolist() == [False, True] and s["n_used"].tolist() == [10, 10]
    with pytest.raises(ValueError, match="ends"):
        steady_summary(x, window=10, ends=np.array([0, 101]))


# ------------------------------------------------------------------ autocorrelation
def _ar1(rng, phi, n_chains, S):
    e = rng.standard_normal((n_chains, S))
    x = lfilter([1.0], [1.0, -phi], e, axis=-1)
    return x[:, 1000:]  # the start at 0 relaxes in ~1/(1-phi) steps


@pytest.mark.parametrize("phi", [0.5, 0.9, 0.97])
def test_autocorr_time_ar1(phi):
    rng = np.random.default_rng(int(phi * 100))
    x = _ar1(rng, phi, 8, 60000)
    act = integrated_autocorr_time(x)
    tau = (1 + phi) / (1 - phi)
    assert act.reliable
    assert abs(act.tau - tau) < 4 * act.stderr, (act, tau)
    assert act.stderr < 0.06 * tau
    assert effective_sample_size(x) == pytest.approx(x.size / act.tau)
    per = integrated_autocorr_time(x, per_chain=True)
    assert per.shape == (8,) and np.all(np.abs(per - tau) < 0.3 * tau)


def test_autocorr_time_detects_wrong_process():
    rng = np.random.default_rng(5)
    act = integrated_autocorr_time(_ar1(rng, 0.9, 8, 60000))
    assert abs(act.tau - (1 + 0.8) / (1 - 0.8)) > 10 * act.stderr  # phi = 0.8's tau is rejected


def test_autocorr_time_white_noise_and_constant():
    rng = np.random.default_rng(2)
    act = integrated_autocorr_time(rng.standard_normal((4, 20000)))
    assert abs(act.tau - 1) < 4 * act.stderr
    assert integrated_autocorr_time(np.ones(100)).tau == pytest.approx(1.0)
    with pytest.raises(ValueError, match="finite"):
        integrated_autocorr_time(np.array([1.0, np.nan, 2.0, 3.0]))


def test_equilibration_flags():
    rng = np.random.default_rng(3)
    x = _ar1(rng, 0.9, 20, 6000)
    ok = equilibration(x)
    assert ok["equilibrated"] and not ok["reasons"] and abs(ok["geweke_z_pooled"]) < 4
    # a shared relaxation from a distant start is caught
    drift = x + 3.0 * np.exp(-np.arange(x.shape[-1]) / 1000.0)
    bad = equilibration(drift)
    assert not bad["equilibrated"] and "drift" in bad["reasons"][0]
    # discarding the relaxation restores it
    assert equilibration(drift, discard=4000)["equilibrated"]
    # too short: few effective samples
    short = equilibration(x[0, :200], min_ess=100)
    assert not short["equilibrated"] and any("effective" in r for r in short["reasons"])
    # a (K, M, S) trace works the same way
    assert equilibration(x.reshape(4, 5, -1))["equilibrated"]
    with pytest.raises(ValueError, match="first and last"):
        equilibration(x, first=0.6, last=0.6)


# ------------------------------------------------------------------ Yaida FDR1
def _sgd_quadratic(rng, *, lr, momentum=0.0, dampening=0.0, chains=1024, steps=5000, theta0=0.0, alpha=0.1,
                   minibatch_lhs=False):
    """Minibatch-of-1 SGD on f = mean_i (1/2)(theta - x_i)^2 + (alpha/2) theta^2 (fixed data).
    The data are centred so the minimum is at theta = 0, where <theta . grad f> is
    not swamped by theta* . (theta - theta*) noise (the relation holds either way).
    minibatch_lhs: record theta . grad f_B (as the torch backend does) instead of theta . grad f."""
    x = rng.normal(0.0, 1.0, 20)
    x -= x.mean()
    th = np.full(chains, theta0)
    v = np.zeros(chains)
    L, R = np.empty((chains, steps)), np.empty((chains, steps))
    for t in range(steps):
        i = rng.integers(0, x.size, chains)
        gB = th - x[i] + alpha * th
        L[:, t] = th * gB if minibatch_lhs else th * (th - x.mean() + alpha * th)
        if momentum:
            v = momentum * v + (1 - dampening) * gB
            R[:, t] = v * v
            th = th - lr * v
        else:
            R[:, t] = gB * gB
            th = th - lr * gB
    return L, R


def test_fdr1_plain_sgd_exact_at_stationarity():
    rng = np.random.default_rng(8)
    L, R = _sgd_quadratic(rng, lr=0.3)
    r = fdr1(L[:, 1000:], R[:, 1000:], lr=0.3)
    assert abs(r["ratio"] - 1) < 4 * r["ratio_stderr"] and r["ratio_stderr"] < 0.0025
    assert r["steady"]
    # a wrong learning rate in the relation is detected
    assert not fdr1(L[:, 1000:], R[:, 1000:], lr=0.36)["steady"]
    # a transient (far start, early window) is not steady
    L2, R2 = _sgd_quadratic(np.random.default_rng(9), lr=0.01, theta0=20.0, steps=400, chains=64)
    assert not fdr1(L2, R2, lr=0.01)["steady"]


def test_fdr1_momentum_variant():
    rng = np.random.default_rng(10)
    mu, nu, lr = 0.9, 0.1, 0.03
    L, R = _sgd_quadratic(rng, lr=lr, momentum=mu, dampening=nu, steps=6000)
    r = fdr1(L[:, 2000:], R[:, 2000:], lr=lr, momentum=mu, dampening=nu)
    assert abs(r["ratio"] - 1) < 4 * r["ratio_stderr"] and r["ratio_stderr"] < 0.0025 and r["steady"]
    # ignoring momentum's factor (1 + mu) / (1 - nu) fails
    wrong = fdr1(L[:, 2000:], R[:, 2000:], lr=lr)
    assert not wrong["steady"] and wrong["ratio"] > 1.5
    with pytest.raises(ValueError, match="momentum"):
        fdr1(L, R, lr=lr, momentum=1.0)
    with pytest.raises(ValueError, match="same shape"):
        fdr1(L, R[:, 1:], lr=lr)


# ------------------------------------------------------------------ moment equations
def _ou_2d(rng, *, chains=10, steps=4000, dt=0.5):
    """Exact samples of dtheta = -(grad U + alpha theta) dt + sqrt(T (D + beta^2 I)) dW (lam = 1)
    with U = (1/2)(theta - xbar)' H (theta - xbar), constant D."""
    H = np.array([[2.0, 0.6], [0.6, 1.0]])
    D = np.array([[0.3, 0.1], [0.1, 1.2]])
    alpha, beta, T = 0.05, 0.2, 0.4
    xbar = np.array([0.3, -0.2])
    A = H + alpha * np.eye(2)
    mu = np.linalg.solve(A, H @ xbar)
    S = solve_continuous_lyapunov(A, T * (D + beta**2 * np.eye(2)))
    E = expm(-A * dt)
    Lq = np.linalg.cholesky(S - E @ S @ E.T)
    th = mu + rng.standard_normal((chains, 2)) @ np.linalg.cholesky(S).T
    out = np.empty((chains, steps, 2))
    for t in range(steps):
        out[:, t] = th
        th = mu + (th - mu) @ E.T + rng.standard_normal((chains, 2)) @ Lq.T
    return out, dict(H=H, D=D, alpha=alpha, beta=beta, T=T, xbar=xbar)


def test_moment_residuals_zero_at_stationarity_and_wrong_T_detected():
    rng = np.random.default_rng(12)
    th, p = _ou_2d(rng)
    H, xbar = p["H"], p["xbar"]
    gU = (th - xbar) @ H.T
    xe = np.array([-0.4, 0.5])  # a test-set centre: U_e = (1/2)(theta - xe)' H (theta - xe)
    gE = (th - xe) @ H.T
    kw = dict(alpha=p["alpha"], beta=p["beta"], hess_U=H, grad_Ue=gE, hess_Ue=H)
    r = moment_residuals(th, gU, p["D"], T=p["T"], **kw)
    assert set(r) >= {"eq34", "eq35", "eq36", "eq37"}
    assert r["max_abs_z"] < 4.5  # 7 residuals, ~N(0,1) each: false failure ~5e-5
    wrong = moment_residuals(th, gU, p["D"], T=1.1 * p["T"], **kw)
    assert wrong["max_abs_z"] > 10
    # a single chain (S, d) works too
    one = moment_residuals(th[0], gU[0], p["D"], T=p["T"], alpha=p["alpha"], beta=p["beta"])
    assert one["eq35"]["residual"].shape == (3,)
    with pytest.raises(ValueError, match="hess_Ue"):
        moment_residuals(th, gU, p["D"], T=p["T"], grad_Ue=gE)
    with pytest.raises(ValueError, match="D must have shape"):
        moment_residuals(th, gU, np.eye(3), T=p["T"])


# ------------------------------------------------------------------ the equilibration verdict
def _skewed_traces(rng, n, K, M, S, rho, kind):
    """n stationary (K, M, S) traces of a skewed loss: exp(g) (log-normal) or
    g1^2 + g2^2 (chi-square, 2 dof) of Gaussian AR(1) chains g with lag-1
    correlation rho and unit variance (started from their stationary law), times
    a level that differs between data sets."""
    def ar1():
        e = rng.standard_normal((n, K, M, S))
        e[..., 0] /= np.sqrt(1 - rho**2)  # x_0 ~ N(0, 1): stationary from the start
        return lfilter([np.sqrt(1 - rho**2)], [1.0, -rho], e, axis=-1)

    g = ar1()
    loss = np.exp(g) if kind == "exp" else g**2 + ar1() ** 2
    return rng.uniform(0.5, 2.0, (n, K, 1, 1)) * loss


# the sweeps' shapes: torch (K draws x 1 seed, the 50-epoch window), Numba smoke and quick
# (16 or 64 data sets x 2 chains, 67 records after the burn-in)
VERDICT_CASES = [(K, M, S, rho, kind) for K, M, S in ((4, 1, 50), (16, 2, 67), (64, 2, 67))
                 for rho in (0.0, 0.5, 0.8) for kind in ("exp", "chi2")]


@pytest.mark.parametrize("K,M,S,rho,kind", VERDICT_CASES)
def test_verdict_false_alarm_rate_on_skewed_stationary_traces(K, M, S, rho, kind):
    """At stationarity the drift test flags a run with probability
    P(|t_{K-1}| >= 4) (`drift_false_alarm`); the count over n trials stays below
    the binomial quantile that the bound exceeds with probability 1e-4. Next to
    it the pooled Geweke z of `equilibration` on the same traces alarms far more
    often (its per-chain errors are biased on a skewed loss), which is why it
    does not vote. The verdict as a whole adds ESS >= 100: a run it rejects
    with |z| < 4 has fewer effective samples (a precision rule, stated)."""
    from scipy import stats

    from gapkit.sims.stats._equilibration import drift_false_alarm, steady_verdict

    n = 300
    rng = np.random.default_rng([K, M, S, int(10 * rho), kind == "exp"])
    X = _skewed_traces(rng, n, K, M, S, rho, kind)
    v = [steady_verdict(x) for x in X]
    z = np.array([r["drift_z"] for r in v])
    bound = drift_false_alarm(K)
    limit = stats.binom.ppf(1 - 1e-4, n, bound)
    assert np.sum(np.abs(z) >= 4) <= limit, (np.mean(np.abs(z) >= 4), bound)
    rejected_flat = [r for r in v if r["steady"] is False and abs(r["drift_z"]) < 4]
    assert all(r["eq_ess"] < 100 for r in rejected_flat)
    if K * M * S / ((1 + rho) / (1 - rho)) >= 400:  # ESS ~ 4x the floor: the verdict is the drift test
        assert sum(r["steady"] is False for r in v) <= limit
    geweke = np.mean([abs(r["eq_geweke_z_pooled"]) >= 4 for r in v])
    if K * M >= 32 and rho <= 0.5:
        assert geweke > 0.1 > 10 * bound  # the biased pooled test alarms in > 10% of stationary runs


@pytest.mark.parametrize("K,M,S", [(4, 1, 50), (16, 2, 67)])
def test_verdict_flags_a_real_drift(K, M, S):
    """Power: a loss still relaxing through the judged segment (a linear fall of
    4 of its standard deviations over the segment, on top of the skewed
    stationary AR(1) fluctuation) is flagged in nearly every run."""
    from gapkit.sims.stats._equilibration import steady_verdict

    rng = np.random.default_rng(17 + K)
    X = _skewed_traces(rng, 200, K, M, S, 0.5, "exp")
    sd = np.exp(0.5) * np.sqrt(np.e - 1)  # sd of exp(N(0, 1))
    drifting = X + 4 * sd * np.linspace(1, 0, S)
    flagged = np.mean([steady_verdict(x)["steady"] is False for x in drifting])
    assert flagged >= 0.95, flagged


def test_verdict_discard_and_unknown():
    """The measuring segment: Numba runs drop their burn-in, torch runs judge the
    last 50 epochs (never the record before training); a trace too short to
    judge is not steady (False): never averaged in as steady; no trace at all is
    unknown (None), or False when the run was capped."""
    from gapkit.sims.stats._equilibration import run_verdict, verdict_discard

    assert verdict_discard(100, {"steps": 20000, "burnin": 6666, "record_every": 200}) == 33
    assert verdict_discard(40, {"steps": 20000, "burnin": 6666, "record_every": 200}) == 0  # post-burn-in trace
    assert verdict_discard(81, {"epochs": 80}) == 31 and verdict_discard(5, {"epochs": 4}) == 1
    assert verdict_discard(81, {"epochs": 80, "steps": 640}) == 31  # a torch run's updates do not matter
    assert verdict_discard(50, {}) == 0
    short = np.ones((4, 1, 5))
    v = run_verdict(short, {"epochs": 4})
    assert v["steady"] is False and "too few records" in v["eq_reasons"]
    assert run_verdict(short, {"epochs": 4, "capped": True})["steady"] is False
    assert run_verdict(None, {})["steady"] is None
    rng = np.random.default_rng(4)
    flat = np.concatenate([np.full((16, 2, 33), 9.0), 1 + 0.1 * rng.standard_normal((16, 2, 67))], axis=-1)
    cfg = {"steps": 20000, "burnin": 6666, "record_every": 200}
    judged = run_verdict(flat, cfg)
    assert judged["steady"] is True and judged["eq_n_records"] == 67  # the burn-in (the 9s) is not judged
    assert run_verdict(flat, {})["eq_n_records"] == 100


@pytest.mark.parametrize("minibatch_lhs", [False, True])
def test_fdr1_stderr_matches_the_spread_across_independent_chains(minibatch_lhs):
    """The FDR1 series telescopes ((|theta_a|^2 - |theta_b|^2) / (2 lr), exactly when the left side
    uses grad f_B), so an autocorrelation window on it overstated the SE. Check the reported SE
    against the spread of the ratio over G = 32 independent groups of 8 chains:
    (G - 1) s^2 / SE^2 ~ chi^2_31 when the SE is right, so s / SE lies in [0.61, 1.39] with
    probability 0.999; the old window SE fails this with grad f_B."""
    rng = np.random.default_rng(11)
    L, R = _sgd_quadratic(rng, lr=0.3, chains=256, steps=2500, minibatch_lhs=minibatch_lhs)
    groups = [fdr1(L[g::32, 500:], R[g::32, 500:], lr=0.3) for g in range(32)]
    spread = np.std([g["ratio"] for g in groups], ddof=1)
    se = math.sqrt(np.mean([g["ratio_stderr"] ** 2 for g in groups]))
    assert 0.61 < spread / se < 1.39, (spread, se)
    if minibatch_lhs:  # the old SE: Sokal's window on the pooled linearized series of each group
        old = []
        for g in range(32):
            a, b = L[g::32, 1500:], 0.15 * R[g::32, 1500:]
            lin = a - a.mean() / b.mean() * b
            old.append(np.sqrt(lin.var() * integrated_autocorr_time(lin).tau / lin.size) / b.mean())
        assert math.sqrt(np.mean(np.square(old))) > 3 * spread  # 12x here
    one = fdr1(L[:1, 500:], R[:1, 500:], lr=0.3)
    assert math.isnan(one["ratio_stderr"]) and "one chain" in one["ratio_stderr_source"]
