"""T collapse of plain SGD and momentum's departure from it (Section 2.3, Appendix A.1, B).

Rows (1-D quadratic, the same K data sets in every run: common random numbers):
- collapse.gap.quadratic1d        plain SGD at equal T = lam / B and equal rescaled time (updates x lam)
                                  with different (lam, B): the same gap (PASS/FAIL, theory 0 difference)
- collapse.variance.quadratic1d   the two runs' E_D Var(theta) differ by the O(lam) amount of the exact
                                  discrete law, T (D + beta^2) / (k (2 - lam k)) (PASS/FAIL)
- momentum.exact_law.quadratic1d.B{1,8}  momentum SGD (mu = 0.9) vs its exact discrete law (PASS/FAIL)
- momentum.noncollapse.quadratic1d relative departure from collapse of momentum at equal T (INFO)

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


@register_check(ids=["collapse.gap.quadratic1d", "collapse.variance.quadratic1d"], quick=True)
def sgd_collapse(ctx):
    K, M = _sizes(ctx)
    (l1, b1), (l2, b2) = PAIRS
    # same key: the same K data sets for both runs (their chains differ through lam, B)
    r1 = _run(ctx, l1, b1, K=K, M=M, key="collapse")
    r2 = _run(ctx, l2, b2, K=K, M=M, key="collapse")
    g1 = np.nanmean(r1.arrays["test"] - r1.arrays["train"], axis=1)
    g2 = np.nanmean(r2.arrays["test"] - r2.arrays["train"], axis=1)
    dg, dg_se = _mean_se(g2 - g1)
    v1, v2 = var_per_dataset(r1), var_per_dataset(r2)
    e1, e2 = exact_var(r1), exact_var(r2)
    dv, dv_se = _mean_se((v2 - e2) - (v1 - e1))  # paired residual: chain noise only
    th_dv = float(np.mean(e2 - e1))
    src = f"4 x standard error of the paired per-data-set difference (K={K} data sets x M={M}); false-FAIL ~6e-5"
    info = {"lam_B": [[l1, b1], [l2, b2]], "T": T0, "steps": [r1.config["steps"], r2.config["steps"]],
            "rescaled_time": [r1.config["steps"] * l1, r2.config["steps"] * l2]}
    return [
        ctx.compare("collapse.gap.quadratic1d", equation="15", model="quadratic1d", theory=0.0, measured=dg,
                    ci95=1.96 * dg_se, tolerance=K_SE * dg_se, tolerance_source=src,
                    note=f"gap(lam={l2}, B={b2}) - gap(lam={l1}, B={b1}) at equal T and rescaled time (exact: 0)",
                    extra={**info, "gap": [r1.summary.gap, r2.summary.gap]}),
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
