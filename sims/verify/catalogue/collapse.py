"""T collapse of plain SGD and momentum's departure from it (Section 2.3, Appendix A.1, B).

Rows (1-D quadratic, the same K data sets in every run: common random numbers):
- collapse.test_loss.quadratic1d  plain SGD at equal T = lam / B and equal rescaled time (updates x lam)
                                  with different (lam, B): the test loss, which rises with T, differs only
                                  by the O(lam) amount of the exact discrete law at the nominal T
                                  (PASS/FAIL; runs at a T 20% off fail). (The gap of this model depends on
                                  neither T nor lam, so a collapse check on it could not fail.)
- collapse.variance.quadratic1d   the two runs' E_D Var(theta) differ by the O(lam) amount of the exact
                                  discrete law, T (D + beta^2) / (k (2 - lam k)) (PASS/FAIL)
- momentum.exact_law.quadratic1d.B{1,8}  momentum SGD (mu = 0.9) vs its exact discrete law (PASS/FAIL)
- momentum.noncollapse.quadratic1d relative departure from collapse of momentum at equal T (INFO)
- momentum.sutskever_pytorch.quadratic1d  at constant lam the Sutskever form (Eq 45) is the PyTorch
                                  chain (Eq 16) under v_S = -lam v_P: the same theta path from the same
                                  draws, and Sutskever's own discrete Lyapunov Var(theta) equals
                                  `momentum_var_1d` (PASS/FAIL, rounding)
- momentum.sutskever_cosine.quadratic1d   the two forms' paths under the cosine schedule (INFO: they
                                  differ only where lam changes, the only place Eq 44 vs 46 can matter)

Var(theta) of a chain is read from its time-averaged train loss:
<U_l> = (h/2)(<(theta - xbar)^2> + S^2) and <(theta - xbar)^2> = V + (mu - xbar)^2 with the
stationary mean mu = h xbar / (h + alpha), so V = 2 <U_l> / h - S^2 - (alpha xbar / (h + alpha))^2.
Differences are formed per data set, so data-set sampling noise cancels and
the standard errors (spread across data sets of the paired differences) hold
only chain noise. Tolerances: 4 standard errors (false-FAIL rate ~6e-5).
"""
from __future__ import annotations

import math

import numpy as np

from gapkit.sims._settings import K_SE
from gapkit.sims.verify._registry import register_check

H, ALPHA, BETA, N = 1.0, 0.1, 0.3, 20
T0 = 0.05
PAIRS = ((0.05, 1), (0.4, 8))  # (lam, B) at equal T = 0.05


# Rescaled time (lam x updates, Appendix B) of plain SGD's runs: burn-in of 10
# relaxation times 1/(h + alpha), then 20 more to average over. Every (lam, B)
# pair gets the same rescaled times, so "equal rescaled time" holds exactly
# (up to rounding the update counts up).
BURN_TIME, MEASURE_TIME = 10.0 / (H + ALPHA), 20.0 / (H + ALPHA)


def _run(ctx, lam, B, *, mu=0.0, K, M, key):
    from gapkit.sims.engine._simulate import simulate

    algo = "momentum" if mu > 0 else "sgd"
    steps = {}
    if mu == 0.0:
        burnin = math.ceil(BURN_TIME / lam)
        steps = dict(burnin=burnin, steps=burnin + math.ceil(MEASURE_TIME / lam))
    return simulate(model="quadratic1d", algo=algo, n=N, data_mean=0.5, data_std=1.0, lr=lam, batch=B, alpha=ALPHA,
                    beta=BETA, momentum=mu, datasets=K, chains=M, seed=ctx.seed_for(key), h=H, **steps)


def var_per_dataset(res):
    """E over chains of the stationary Var(theta) per data set, from the train loss (module docstring)."""
    a = res.problem.arrays
    xb = a["xbar"][:, 0]
    tr = np.nanmean(res.arrays["train"], axis=1)
    return 2.0 * tr / H - a["trs"] - (ALPHA * xb / (H + ALPHA)) ** 2


def exact_var(res, *, mu=0.0):
    """Exact stationary Var(theta) of the run's discrete chain, per data set (theory/_lyapunov, _momentum)."""
    from gapkit.theory._momentum import momentum_var_1d

    D = H * H * res.problem.arrays["trs"]
    if mu == 0.0:
        # momentum_var_1d at mu = 0 is plain SGD's law T Dt / (k (2 - lam k)) (Eq 15)
        return np.array([momentum_var_1d(H, d, lam=res.config["lr"], B=res.config["batch"], alpha=ALPHA, beta=BETA, mu=0.0)
                         ["var_theta"] for d in D])
    return np.array([momentum_var_1d(H, d, lam=res.config["lr"], B=res.config["batch"], alpha=ALPHA, beta=BETA, mu=mu)
                     ["var_theta"] for d in D])


def _mean_se(x):
    x = np.asarray(x)
    x = x[np.isfinite(x)]
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def _sizes(ctx):
    return (2000, 4) if ctx.quick else (20000, 8)


def nominal_test_loss(res, lam):
    """Exact E over chains of the test loss per data set of plain SGD at (lam, B = lam / T0), the
    nominal T0 (not the run's own T): (h/2)[(c xbar - m)^2 + V + s^2], c = h / k, k = h + alpha,
    V = T0 (h^2 S^2 + beta^2) / (k (2 - lam k)) (`gapkit.theory._quadratic`, scheme "sgd")."""
    a = res.problem.arrays
    xb, S2 = a["xbar"][:, 0], a["trs"]
    k = H + ALPHA
    m, s = res.config["data_mean"], res.config["data_std"]
    V = T0 * (H * H * S2 + BETA**2) / (k * (2.0 - lam * k))
    return 0.5 * H * ((H * xb / k - m) ** 2 + V + s * s)


@register_check(ids=["collapse.test_loss.quadratic1d", "collapse.variance.quadratic1d"], quick=True)
def sgd_collapse(ctx):
    K, M = _sizes(ctx)
    (l1, b1), (l2, b2) = PAIRS
    # same key: the same K data sets for both runs (their chains differ through lam, B)
    r1 = _run(ctx, l1, b1, K=K, M=M, key="collapse")
    r2 = _run(ctx, l2, b2, K=K, M=M, key="collapse")
    t1, t2 = np.nanmean(r1.arrays["test"], axis=1), np.nanmean(r2.arrays["test"], axis=1)
    n1, n2 = nominal_test_loss(r1, l1), nominal_test_loss(r2, l2)
    dt, dt_se = _mean_se((t2 - n2) - (t1 - n1))  # paired residual: chain noise only
    th_dt = float(np.mean(n2 - n1))
    v1, v2 = var_per_dataset(r1), var_per_dataset(r2)
    e1, e2 = exact_var(r1), exact_var(r2)
    dv, dv_se = _mean_se((v2 - e2) - (v1 - e1))  # paired residual: chain noise only
    th_dv = float(np.mean(e2 - e1))
    src = f"4 x standard error of the paired per-data-set difference (K={K} data sets x M={M}); false-FAIL ~6e-5"
    info = {"lam_B": [[l1, b1], [l2, b2]], "T": T0, "steps": [r1.config["steps"], r2.config["steps"]],
            "rescaled_time": [r1.config["steps"] * l1, r2.config["steps"] * l2]}
    return [
        ctx.compare("collapse.test_loss.quadratic1d", equation="15", model="quadratic1d", theory=th_dt,
                    measured=th_dt + dt, ci95=1.96 * dt_se, tolerance=K_SE * dt_se, tolerance_source=src,
                    note=f"test loss(lam={l2}, B={b2}) - test loss(lam={l1}, B={b1}) at equal T and rescaled time "
                         f"vs the exact discrete law's O(lam) difference at T = {T0} (the gap itself does not "
                         "depend on T here)",
                    extra={**info, "test_loss": [float(np.mean(t1)), float(np.mean(t2))],
                           "test_loss_exact": [float(np.mean(n1)), float(np.mean(n2))]}),
        ctx.compare("collapse.variance.quadratic1d", equation="15", model="quadratic1d", theory=th_dv,
                    measured=th_dv + dv, ci95=1.96 * dv_se, tolerance=K_SE * dv_se, tolerance_source=src,
                    note="E_D Var(theta): difference between the two (lam, B) at equal T vs the exact discrete "
                         "law's O(lam) difference",
                    extra={**info, "var": [float(np.mean(v1)), float(np.mean(v2))],
                           "var_exact": [float(np.mean(e1)), float(np.mean(e2))]}),
    ]


MU = 0.9
MPAIRS = ((0.01, 1), (0.08, 8))  # equal T = 0.01


@register_check(ids=["momentum.exact_law.quadratic1d", "momentum.noncollapse.quadratic1d"], quick=True)
def momentum_law(ctx):
    K, M = _sizes(ctx)
    rs = [_run(ctx, lam, B, mu=MU, K=K, M=M, key="momentum") for lam, B in MPAIRS]
    rows = []
    vs, es = [], []
    for (lam, B), r in zip(MPAIRS, rs):
        v, e = var_per_dataset(r), exact_var(r, mu=MU)
        vs.append(v)
        es.append(e)
        d, se = _mean_se(v - e)
        th = float(np.mean(e))
        rows.append(ctx.compare(
            f"momentum.exact_law.quadratic1d.B{B}", equation="16", model="quadratic1d", theory=th, measured=th + d,
            ci95=1.96 * se, tolerance=K_SE * se,
            tolerance_source=f"4 x standard error of the per-data-set residual (K={K} x M={M}); false-FAIL ~6e-5",
            note=f"momentum mu={MU}, lam={lam}, B={B}: E_D Var(theta) vs the exact discrete law "
                 "(gapkit.theory.momentum_var_1d)",
            extra={"steps": r.config["steps"], "burnin": r.config["burnin"]}))
    rel_sim = float(np.mean(vs[1]) / np.mean(vs[0]) - 1)
    rel_th = float(np.mean(es[1]) / np.mean(es[0]) - 1)
    rows.append(ctx.info(
        "momentum.noncollapse.quadratic1d", equation="16", model="quadratic1d", theory=rel_th, measured=rel_sim,
        note=f"relative change of E_D Var(theta) between (lam, B) = {MPAIRS[0]} and {MPAIRS[1]} at equal T, "
             f"mu={MU} (0 = collapse onto T); theory = exact discrete law",
        extra={"gap": [rs[0].summary.gap, rs[1].summary.gap], "gap_ci95": [rs[0].summary.gap_ci95, rs[1].summary.gap_ci95]}))
    return rows


def momentum_paths(lams, *, mu, k, x, noise):
    """theta paths of PyTorch (Eq 16: v' = mu v + g, theta' = theta - lam v') and Sutskever (Eq 45:
    v' = mu v - lam g, theta' = theta + v') momentum on l = (k/2)(theta - x)^2 from theta = 0,
    v = 0, with the same gradient noise draws: g_t = k (theta_t - x) + noise_t."""
    tp = ts = vp = vs = 0.0
    P, S = np.empty(len(lams)), np.empty(len(lams))
    for t, (lam, z) in enumerate(zip(lams, noise)):
        vp = mu * vp + k * (tp - x) + z
        tp = tp - lam * vp
        vs = mu * vs - lam * (k * (ts - x) + z)
        ts = ts + vs
        P[t], S[t] = tp, ts
    return P, S


def sutskever_var_theta(k, Dt, *, lam, B, mu):
    """Stationary Var(theta) of the Sutskever chain from its own discrete Lyapunov equation:
    state (theta, v), v' = mu v - lam (k theta + xi), theta' = theta + v', Var(xi) = Dt / B."""
    from scipy.linalg import solve_discrete_lyapunov

    A = np.array([[1.0 - lam * k, mu], [-lam * k, mu]])
    b = np.array([-lam, -lam])
    return float(solve_discrete_lyapunov(A, np.outer(b, b) * Dt / B)[0, 0])


SUTS_CASES = ((0.05, 1, 0.9), (0.4, 8, 0.9), (0.3, 2, 0.5), (1.0, 4, 0.0))  # (lam, B, mu)


@register_check(ids=["momentum.sutskever_pytorch.quadratic1d", "momentum.sutskever_cosine.quadratic1d"],
                quick=True)
def sutskever_vs_pytorch(ctx):
    from gapkit.theory._momentum import momentum_var_1d

    k, Dt = H + ALPHA, H * H + BETA**2
    th = [momentum_var_1d(H, H * H, lam=lam, B=B, alpha=ALPHA, beta=BETA, mu=mu)["var_theta"]
          for lam, B, mu in SUTS_CASES]
    su = [sutskever_var_theta(k, Dt, lam=lam, B=B, mu=mu) for lam, B, mu in SUTS_CASES]
    rng = ctx.rng("momentum.sutskever")
    steps = 2000
    noise = rng.standard_normal(steps)
    P, S = momentum_paths(np.full(steps, 0.1), mu=MU, k=k, x=0.5, noise=noise)
    Pc, Sc = momentum_paths(0.1 * np.cos(np.pi * np.arange(steps) / (2 * steps)), mu=MU, k=k, x=0.5, noise=noise)
    scale = float(np.max(np.abs(P)))
    return [
        ctx.compare_max("momentum.sutskever_pytorch.quadratic1d", equation="16, 45", model="quadratic1d",
                        theory=np.r_[th, P], measured=np.r_[su, S],
                        tolerance=np.r_[1e-10 * np.abs(th), np.full(steps, 1e-10 * scale)],
                        tolerance_source="exact identity (v_S = -lam v_P at constant lam); rounding (1e-10 relative)",
                        note=f"Sutskever's own Lyapunov Var(theta) vs momentum_var_1d at (lam, B, mu) in {SUTS_CASES}, "
                             f"and the theta path of both forms from the same draws (lam = 0.1, mu = {MU}, "
                             f"{steps} updates): at constant lam they are one chain"),
        ctx.info("momentum.sutskever_cosine.quadratic1d", equation="16, 45", model="quadratic1d", theory=0.0,
                 measured=float(np.max(np.abs(Sc - Pc)) / scale),
                 note="max |theta_S - theta_P| / max |theta_P| under lam_t = 0.1 cos(pi t / (2 t_f)), same draws: "
                      "the forms differ only through the schedule"),
    ]
