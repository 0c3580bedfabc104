"""`simulate`: one ensemble of K data sets x M chains, run to the steady state.

Paper Section 2.3 (Eqs 15-17), Appendix B (time rescaling), Appendix E (draws).

Steady-state value of a chain: the time average of its train loss U_l and
test loss over the post-burn-in updates. Default burn-in by the time-rescaling
rule: the slowest mean mode relaxes like exp(-r t) with r = lam dt (c + alpha)
per update (c the smallest curvature of the population loss; r = lam (c + alpha)
/ (1 - mu), at most -log(mu)/2, for momentum), so

    burnin = ceil(BURN_E / r),  BURN_E = 10  (exp(-10) = 4.5e-5 of the initial offset left),

and steps = burnin + max(2 burnin, 200) (an averaging window twice the burn-in).
With no curvature (c + alpha = 0) the burn-in is capped at BURN_CAP updates and
the output says so. With the cosine schedule the averaging window is the last
5% of the run (the state the schedule ends in).

Theory exposed next to each run (`theory` key): for the quadratic models the
exact data-averaged steady state of the run's own discrete chain
(`gapkit.theory._quadratic.quadratic1d_steady`, scheme "sgd" or "em") and the
SDE's limit dt -> 0 (scheme "sde"); for momentum the exact variance
(`gapkit.theory._momentum.momentum_var_1d`); for linreg and the quadratic
model the exact stationary law conditional on the first data sets
(`exact_stationary`; in `theory.conditional` for linreg with d <= 8, next to
the simulation's values on the same data sets).

The returned dict also carries ``_problem`` (the `_problems.Problem`: data
sets and kernel inputs), which is not JSON; the CLI and the sweep store drop it.
"""
from __future__ import annotations

import math
import time

import numpy as np

from . import _kernels, _problems, _rng
from gapkit.theory._validate import check_int, check_nonneg, check_positive
from ._data import SCHEMES
from gapkit.sims.stats._estimators import ensemble_summary, gap_control_variate

__all__ = ["simulate", "default_burnin", "exact_stationary", "ALGOS", "MODELS", "BURN_E", "BURN_CAP"]

ALGOS = tuple(_kernels.ALGOS)
MODELS = _problems.MODELS
BURN_E = 10.0
BURN_CAP = 100_000
_MAX_CELLS = 400_000_000  # floats held in traces / outputs


def _finite(name, v):
    x = float(v)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite (got {v!r})")
    return x


def default_burnin(*, lr, curvature, alpha=0.0, momentum=0.0, dt=1.0) -> tuple[int, str]:
    """Burn-in (updates) by the time-rescaling rule (module docstring) and the rule in words."""
    kappa = curvature + alpha
    if kappa <= 0:
        return BURN_CAP, f"no curvature (c + alpha = 0): burn-in capped at {BURN_CAP} updates"
    r = lr * dt * kappa
    if momentum > 0:
        r = min(r / (1.0 - momentum), -0.5 * math.log(momentum))
    r = min(r, 1.0)
    b = int(min(math.ceil(BURN_E / r), BURN_CAP))
    return b, f"ceil({BURN_E:g} / (lam dt (c + alpha) [/(1 - mu)])) = {b} updates (c = {curvature:.4g})"


def simulate(*, model: str, algo: str, n: int, lr: float, batch: int = 1,
             alpha: float = 0.0, beta: float = 0.0, momentum: float = 0.0,
             cosine: bool = False, dt: float = 1.0, dim: int = 1,
             data_mean: float = 0.0, data_std: float = 1.0, noise_std: float = 0.5,
             datasets: int = 100, chains: int = 2, steps: int | None = None,
             burnin: int | None = None, seed: int = 0, record_every: int = 0,
             pool: int | None = None, scheme: str = "iid", **model_kwargs) -> dict:
    """Simulate K = `datasets` training sets x M = `chains` chains of `algo` on `model`.

    algo: "langevin" (Euler-Maruyama of Eq 17, step dt), "sgd" (Eq 15),
    "momentum" (Eq 16, PyTorch form, mu = `momentum`); cosine=True applies
    lam_t = lr cos(pi t / (2 t_f)) (sgd, momentum). T = lr / batch.
    Returns the summary (JSON-ready scalars, see module docstring) and numpy
    arrays under "arrays" (train/test (K, M), diverged (K, M), theta_final
    (K, M, d), traces when record_every > 0).
    """
    t0 = time.perf_counter()
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS} (got {model!r})")
    if algo not in ALGOS:
        raise ValueError(f"algo must be one of {ALGOS} (got {algo!r})")
    n = check_int("n", n, 1)
    lr = check_positive("lr", lr)
    batch = check_int("batch", batch, 1)
    alpha = check_nonneg("alpha", alpha)
    beta = _finite("beta", beta)
    momentum = check_nonneg("momentum", momentum)
    if momentum >= 1:
        raise ValueError(f"momentum must be in [0, 1) (got {momentum})")
    if momentum > 0 and algo != "momentum":
        raise ValueError(f"momentum applies to algo='momentum' only (got algo={algo!r}, momentum={momentum})")
    dt = check_positive("dt", dt)
    if dt != 1.0 and algo != "langevin":
        raise ValueError(f"dt applies to algo='langevin' only (got algo={algo!r}, dt={dt})")
    if cosine and algo == "langevin":
        raise ValueError("cosine applies to algo='sgd' or 'momentum' only")
    dim = check_int("dim", dim, 1)
    if model == "quadratic1d" and dim != 1:
        raise ValueError(f"dim must be 1 for model 'quadratic1d' (got dim={dim}); use model 'quadratic'")
    data_mean = _finite("data_mean", data_mean)
    data_std = check_nonneg("data_std", data_std)
    noise_std = check_nonneg("noise_std", noise_std)
    K = check_int("datasets", datasets, 1)
    M = check_int("chains", chains, 1)
    seed = check_int("seed", seed, 0)
    record_every = check_int("record_every", record_every, 0)
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES} (got {scheme!r})")
    if pool is not None:
        pool = check_int("pool", pool, n + 1)
    bad_kw = sorted(set(model_kwargs) - set(_problems.MODEL_KWARGS[model]))
    if bad_kw:
        raise ValueError(f"unknown option(s) {bad_kw} for model {model!r} (allowed: {list(_problems.MODEL_KWARGS[model])})")
    if "h" in model_kwargs:
        check_positive("h", model_kwargs["h"])
    if "test_size" in model_kwargs:
        check_int("test_size", model_kwargs["test_size"], 1)
    if "input_dim" in model_kwargs:
        check_int("input_dim", model_kwargs["input_dim"], 1)
    if model_kwargs.get("features", "relu") not in ("relu", "cos"):
        raise ValueError(f"features must be 'relu' or 'cos' (got {model_kwargs['features']!r})")
    if n >= 2**20:
        raise ValueError(f"n must be < 2^20 (got {n}): minibatch indices use 32-bit multiply-shift")
    if (pool if pool is not None else n) * K * max(dim, model_kwargs.get("input_dim", 1)) > _MAX_CELLS:
        raise ValueError("datasets x n x dim is too large for memory (> 4e8 numbers)")

    prob = _problems.build_problem(model, n=n, dim=dim, data_mean=data_mean, data_std=data_std,
                                    noise_std=noise_std, datasets=K, seed=seed, pool=pool, scheme=scheme,
                                    beta=beta, **model_kwargs)
    d = prob.d
    rule = "user-given"
    if burnin is None:
        burnin, rule = default_burnin(lr=lr, curvature=prob.curvature, alpha=alpha, momentum=momentum, dt=dt)
        if cosine and steps is not None:
            burnin = steps - max(1, steps // 20)
            rule = "cosine schedule: average over the last 5% of the run"
        elif steps is not None and burnin >= steps // 2:
            burnin = steps // 2
            rule += f"; capped at steps / 2 = {burnin} (steps given)"
    if steps is None:
        steps = burnin + max(2 * burnin, 200)
        if cosine:
            steps = 2 * steps
            burnin = steps - max(1, steps // 20)
            rule = "cosine schedule: average over the last 5% of the run"
    steps = check_int("steps", steps, 1)
    burnin = check_int("burnin", burnin, 0)
    if burnin >= steps:
        raise ValueError(f"burnin must be < steps (got burnin={burnin}, steps={steps})")
    nrec = steps // record_every if record_every else 0
    if K * M * max(nrec, 1) * (d + 2) > _MAX_CELLS:
        raise ValueError("datasets x chains x records x dim is too large for memory (> 4e8 numbers)")

    if cosine:
        sched = lr * np.cos(np.pi * np.arange(steps) / (2.0 * steps))
    else:
        sched = np.full(steps, lr)
    train = np.empty((K, M))
    test = np.empty((K, M))
    div = np.zeros((K, M), dtype=np.bool_)
    theta = np.empty((K, M, d))
    tr_train = np.full((K, M, nrec), np.nan)
    tr_test = np.full((K, M, nrec), np.nan)
    tr_theta = np.full((K, M, nrec, d), np.nan)
    a = prob.arrays
    code = _kernels.ALGOS[algo]
    s64 = np.uint64(_rng.seed64(seed))
    stride = 1
    rec = max(record_every, 1)
    if prob.kind == "quad" and d == 1:
        _kernels.quad1d(prob.X[:, :, 0].copy(), a["xbar"][:, 0].copy(), a["trs"], a["L"][:, 0, 0].copy(),
                        a["tcen"][:, 0].copy(), a["tconst"], prob.tidx, prob.h, code, sched, batch, alpha, beta,
                        momentum, dt, burnin, rec, s64, M, train, test, div, theta, tr_train, tr_test, tr_theta)
    elif prob.kind == "quad":
        _kernels.quad(prob.X, a["xbar"], a["trs"], a["L"], a["tcen"], a["tconst"], prob.tidx, prob.h, code, sched,
                      batch, alpha, beta, momentum, dt, burnin, rec, s64, M, train, test, div, theta, tr_train,
                      tr_test, tr_theta)
    else:
        # evaluate the losses about as often as their cost allows: eval ~ p^2 (least squares) or
        # (n + n_test) p (logistic) against one update ~ B p (sgd) or n p (langevin)
        step_cost = (n if algo == "langevin" else batch) * d
        eval_cost = 2 * d * d if prob.kind == "lsq" else (n + a["Xt"].shape[1]) * d
        stride = max(1, min(eval_cost // max(step_cost, 1), max(1, (steps - burnin) // 50)))
        _kernels.glm(prob.X, prob.y, prob.kind == "logit", a["A"], a["c"], a["q"], a["At"], a["ct"], a["qt"],
                     a["Xt"], a["yt"], prob.tidx, code, sched, batch, alpha, beta, momentum, dt, burnin, stride,
                     rec, s64, M, train, test, div, theta, tr_train, tr_test, tr_theta)
    summ = ensemble_summary(train, test, diverged=div)
    T = lr / batch
    out = {
        "model": model, "algo": algo, "cosine": bool(cosine), "n": n, "dim": d, "lr": lr, "batch": batch, "T": T,
        "alpha": alpha, "beta": beta, "momentum": momentum, "dt": dt, "data_mean": data_mean,
        "data_std": data_std, "noise_std": noise_std, "pool": pool, "scheme": scheme if pool else None,
        "model_kwargs": dict(model_kwargs), "datasets": K, "chains": M, "steps": steps, "burnin": burnin,
        "burnin_rule": rule, "loss_stride": stride, "record_every": record_every, "seed": seed, "test_loss_source": prob.test_source,
        **summ,
    }
    out.update(_gap_estimate(prob, train, test, div, n=n, data_mean=data_mean, data_std=data_std, pool=pool,
                             plain=summ))
    out["theory"] = _theory(prob, out)
    cond = out["theory"].get("conditional")
    if cond is not None:
        k = cond["datasets"]
        sub = ensemble_summary(train[:k], test[:k], diverged=div[:k])
        cond["sim_same_datasets"] = {key: sub[key] for key in ("gap", "gap_ci95", "train_loss", "test_loss")}
    out["wall_seconds"] = time.perf_counter() - t0
    arrays = {"train": train, "test": test, "diverged": div, "theta_final": theta}
    if record_every:
        arrays.update(trace_train=tr_train, trace_test=tr_test, trace_theta=tr_theta)
    out["arrays"] = arrays
    out["_problem"] = prob
    return out


CV_MIN_DATASETS = 40  # cross-fitting (10 folds) needs a few data sets per fold


def _gap_estimate(prob, train, test, div, *, n, data_mean, data_std, pool, plain) -> dict:
    """The headline gap: a control-variate estimate where the expectations of
    correlated per-data-set statistics are known exactly, else the plain mean.

    Quadratic models with Gaussian data (no finite pool): the training set's
    scatter tr S (E = d s^2 (n - 1) / n) and |xbar - m|^2 (E = d s^2 / n)
    explain most of the data-set-to-data-set spread of the gap (the train loss
    is (h/2)(|theta - xbar|^2 + tr S)). The estimator is cross-fitted, so it
    stays unbiased (gapkit.sims.stats._estimators.control_variate_mean); the plain
    estimate is kept as gap_plain.
    """
    K = train.shape[0]
    base = {"gap_estimator": "mean over data sets"}
    if prob.kind != "quad" or pool is not None or K < CV_MIN_DATASETS:
        return base
    a = prob.arrays
    d = prob.d
    xb = np.asarray(a["xbar"], dtype=np.float64).reshape(K, -1)
    cv = np.column_stack([np.asarray(a["trs"], dtype=np.float64).reshape(K), ((xb - data_mean) ** 2).sum(axis=1)])
    s2 = float(data_std) ** 2
    cv_mean = np.array([d * s2 * (n - 1) / n, d * s2 / n])
    r = gap_control_variate(train, test, cv, cv_mean, diverged=div)
    return {
        "gap": r["gap"], "gap_ci95": r["gap_ci95"],
        "gap_plain": plain["gap"], "gap_plain_ci95": plain["gap_ci95"],
        "gap_estimator": "control variates tr S and |xbar - m|^2 (known means), cross-fitted",
        "gap_cv_variance_ratio": r["variance_ratio"],
    }


def _theory(prob, r) -> dict:
    """What theory says about this run, where it is known (module docstring)."""
    th: dict = {}
    if r["pool"] is not None or r["cosine"]:
        th["note"] = "no closed form for pool draws or the cosine schedule"
        return th
    if prob.kind == "quad" and r["data_std"] > 0:
        from gapkit.theory._quadratic import quadratic1d_steady

        d = prob.d
        kw = dict(h=prob.h, alpha=r["alpha"], beta=r["beta"], lam=r["lr"], B=r["batch"])
        n, m, s = r["n"], r["data_mean"], r["data_std"]
        try:
            sde = quadratic1d_steady(n, m, s, scheme="sde", **kw)
            th["sde_limit"] = {k: d * sde[k] for k in ("gap", "train_loss", "test_loss", "var")}
            if r["algo"] in ("sgd", "langevin"):
                own = quadratic1d_steady(n, m, s, scheme="sgd" if r["algo"] == "sgd" else "em", dt=r["dt"], **kw)
                th.update({k: d * own[k] for k in ("gap", "train_loss", "test_loss", "var")})
                th["source"] = ("exact data-averaged stationary law of this discrete chain "
                                "(gapkit.theory._quadratic.quadratic1d_steady); per coordinate x dim")
            else:
                from gapkit.theory._momentum import momentum_var_1d

                D = prob.h**2 * (n - 1) * s * s / n  # E_D of h^2 S^2; Var(theta) is linear in D
                mv = momentum_var_1d(prob.h, D, lam=r["lr"], B=r["batch"], alpha=r["alpha"], beta=r["beta"],
                                     mu=r["momentum"])
                th.update(gap=d * sde["gap"], var=d * mv["var_theta"])
                th["source"] = ("momentum: gap at the stationary mean (ridge solution, same for every scheme), "
                                "E_D Var(theta) from gapkit.theory._momentum.momentum_var_1d")
        except ValueError as exc:
            th["note"] = f"no stationary law: {exc}"
    elif prob.model == "linreg" and r["algo"] != "langevin" and prob.d <= _COND_MAX_D:
        try:
            th["conditional"] = _linreg_conditional(prob, r)
        except ValueError as exc:
            th["note"] = f"no stationary law: {exc}"
    return th


_COND_MAX_D = 8
_COND_DATASETS = 16


def _linreg_conditional(prob, r) -> dict:
    """Exact steady-state train/test loss of the discrete chain given each of the
    first data sets (mean m, covariance Sigma from `linreg_sgd_stationary`):
    <U_l> = U_l(m) + (1/2) Tr(A Sigma), <U_e> = U_e(m) + (1/2) Tr(A_e Sigma)."""
    k = min(_COND_DATASETS, prob.X.shape[0])
    mu, cov = exact_stationary({**r, "_problem": prob}, k)
    a = prob.arrays
    tr, te = [], []
    for i in range(k):
        m, S = mu[i], cov[i]
        A, c, q = a["A"][i], a["c"][i], a["q"][i]
        j = prob.tidx[i]
        At, ct, qt = a["At"][j], a["ct"][j], a["qt"][j]
        tr.append(0.5 * (m @ A @ m - 2 * c @ m + q) + 0.5 * np.sum(A * S))
        te.append(0.5 * (m @ At @ m - 2 * ct @ m + qt) + 0.5 * np.sum(At * S))
    tr, te = np.array(tr), np.array(te)
    return {"datasets": k, "train_loss": float(tr.mean()), "test_loss": float(te.mean()),
            "gap": float((te - tr).mean()),
            "source": f"exact law of the discrete chain given each of the first {k} data sets "
                      "(gapkit.theory._lyapunov.linreg_sgd_stationary); compare with sim_same_datasets"}


def exact_stationary(result: dict, datasets: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact stationary (mean (k, d), cov (k, d, d)) of the run's own discrete
    chain for its first `datasets` data sets (quadratic: plain/momentum SGD and
    Euler-Maruyama; linreg: plain/momentum SGD), from `gapkit.theory._lyapunov`."""
    from gapkit.theory import _lyapunov as L

    prob = result["_problem"]
    k = prob.X.shape[0] if datasets is None else min(int(datasets), prob.X.shape[0])
    r = result
    means, covs = [], []
    for i in range(k):
        if prob.kind == "quad":
            H = prob.h * np.eye(prob.d)
            xb, Sx = prob.arrays["xbar"][i], prob.arrays["Sx"][i]
            if r["algo"] == "langevin":
                mu_, cv = L.quadratic_em_stationary(H, xb, Sx, lam=r["lr"], T=r["T"], alpha=r["alpha"],
                                                    beta=r["beta"], dt=r["dt"])
            else:
                mu_, cv = L.quadratic_sgd_stationary(H, xb, Sx, lam=r["lr"], B=r["batch"], alpha=r["alpha"],
                                                     beta=r["beta"], mu=r["momentum"])
        elif prob.model == "linreg" and r["algo"] != "langevin":
            mu_, cv = L.linreg_sgd_stationary(prob.X[i], prob.y[i], lam=r["lr"], B=r["batch"], alpha=r["alpha"],
                                              beta=r["beta"], mu=r["momentum"])
        else:
            raise ValueError(f"no exact stationary law for model {prob.model!r} with algo {r['algo']!r}")
        means.append(mu_)
        covs.append(cv)
    return np.array(means), np.array(covs)
