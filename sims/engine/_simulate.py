"""`simulate`: one ensemble of K data sets x M chains, run to the steady state.

Paper Section 2.3 (Eqs 15-17), Appendix B (time rescaling), Appendix E (draws).

Steady-state value of a chain: the time average of its train loss U_l and
test loss over the post-burn-in updates. Default burn-in: the slowest mean mode
(curvature kappa = c + alpha, c the smallest curvature of the population loss)
shrinks by rho per update, rho = |1 - r| with r = lam dt kappa (momentum: the
spectral radius of its 2x2 companion matrix; `gapkit.sims.stats.contraction_rate`
gives -log rho), so

    burnin = ceil(BURN_E / min(-log rho, r_c, 1)),  BURN_E = 10  (exp(-10) = 4.5e-5 of the offset left),

with r_c = r (momentum: r / (1 - mu), at most -log(mu)/2) the rate of the
time-rescaling rule of Appendix B: the discrete rate decides near the stability
edge (lam kappa = 1.94: rho = 0.94, 162 updates where exp(-r) asked for 10),
the rescaled one keeps equal rescaled burn-in time elsewhere. steps = burnin +
max(2 burnin, 200) (an averaging window twice the burn-in). The burn-in is
capped at BURN_CAP updates (and at steps / 2 when steps is given); where a cap
shortens what the rule asked for, `config["burnin_requested"]` holds the request
(None: no contraction at all, e.g. c + alpha = 0) and `config["burnin_shortened"]`
is True. With the cosine schedule the averaging window is the last
5% of the run (the state the schedule ends in).

Theory exposed next to each run (`RunResult.theory`): for the quadratic models the
exact data-averaged steady state of the run's own discrete chain
(`gapkit.theory._quadratic.quadratic1d_steady`, scheme "sgd" or "em") and the
SDE's limit dt -> 0 (scheme "sde"); for momentum the exact variance
(`gapkit.theory._momentum.momentum_var_1d`); for linreg and the quadratic
model the exact stationary law conditional on the first data sets
(`exact_stationary`; in `theory["conditional"]` for linreg with d <= 8, next to
the simulation's values on the same data sets).

The result is a `gapkit.sims.stats._results.RunResult`: `config` (what was
run), `summary` (a `Summary`: the data-averaged numbers with 95% intervals;
the headline gap is the control-variate one where it applies, see
`_gap_estimate`), `theory`, `arrays` (per-chain numpy arrays), `problem`
(the `_problems.Problem`: data sets and kernel inputs) and `timings`.
"""
from __future__ import annotations

import math
import time

import numpy as np

from . import _kernels, _memory, _problems, _rng, _stability
from gapkit.sims._settings import LIMITS, MAX_SEED
from gapkit.theory._validate import ArgumentError, check_bool, check_choice, check_int, check_interval, check_nonneg
from ._data import SCHEMES
from ._losses import lsq_expected_loss
from gapkit.sims.stats._estimators import ensemble_summary, gap_control_variate
from gapkit.sims.stats._results import RunResult, Summary
from gapkit.sims.stats._steady import contraction_rate

__all__ = ["simulate", "check_simulate_args", "check_model_kwargs", "default_burnin", "exact_stationary", "ALGOS", "MODELS", "BURN_E",
           "BURN_CAP"]

ALGOS = tuple(_kernels.ALGOS)
MODELS = _problems.MODELS
BURN_E = 10.0
BURN_CAP = 100_000
_MAX_CELLS = 400_000_000  # floats held in traces / outputs
_COSINE_RULE = "cosine schedule: average over the last 5% of the run"


def default_burnin(*, lr, curvature, alpha=0.0, momentum=0.0, dt=1.0) -> tuple[int, str]:
    """Burn-in (updates) by the rule of the module docstring, capped at BURN_CAP, and the rule in words."""
    want, rule = _burnin_request(lr=lr, curvature=curvature, alpha=alpha, momentum=momentum, dt=dt)
    if want is None or want > BURN_CAP:
        return BURN_CAP, rule + f"; capped at {BURN_CAP} updates"
    return want, rule


def _burnin_request(*, lr, curvature, alpha, momentum, dt) -> tuple[int | None, str]:
    """(updates the rule asks for, None if the mean never contracts; the rule in words)."""
    kappa = curvature + alpha
    r = lr * dt * kappa
    rate = contraction_rate(r, momentum=momentum) if kappa > 0 else 0.0
    if rate <= 0:
        return None, f"no contraction of the mean (lam dt (c + alpha) = {r:.4g}, mu = {momentum:g})"
    r_c = r if momentum <= 0 else min(r / (1.0 - momentum), -0.5 * math.log(momentum))
    b = int(math.ceil(BURN_E / min(rate, r_c, 1.0)))
    return b, (f"ceil({BURN_E:g} / min(-log rho, lam dt (c + alpha) [/(1 - mu)], 1)) = {b} updates "
               f"(c = {curvature:.4g}, rho = {math.exp(-rate):.4g})")


def simulate(*, model, algo: str, n: int, lr: float, batch: int = 1,
             alpha: float = 0.0, beta: float = 0.0, momentum: float = 0.0,
             cosine: bool = False, dt: float = 1.0, dim: int = 1,
             data_mean: float = 0.0, data_std: float = 1.0, noise_std: float = 0.5,
             datasets: int = 100, chains: int = 2, steps: int | None = None,
             burnin: int | None = None, seed: int = 0, record_every: int = 0,
             pool: int | None = None, scheme: str = "iid", **model_kwargs) -> RunResult:
    """Simulate K = `datasets` training sets x M = `chains` chains of `algo` on `model`.

    model: a built-in name (MODELS) or a `gapkit.theory.SymbolicModel` (the user's loss, compiled
    with Numba by `_symbolic.simulate_model`; options test_size, loss_stride, problem_seed).

    algo: "langevin" (Euler-Maruyama of Eq 17, step dt), "sgd" (Eq 15),
    "momentum" (Eq 16, PyTorch form, mu = `momentum`); cosine=True applies
    lam_t = lr cos(pi t / (2 t_f)) (sgd, momentum). T = lr / batch.
    Returns a `RunResult` (module docstring); its arrays are train/test (K, M),
    diverged (K, M), theta_final (K, M, d), and the traces trace_train,
    trace_test (K, M, S), trace_theta (K, M, S, d) when record_every > 0.
    """
    if not isinstance(model, str):  # a gapkit.theory.SymbolicModel: the user's own loss (`_symbolic`)
        from ._symbolic import simulate_model

        return simulate_model(model, algo=algo, n=n, lr=lr, batch=batch, alpha=alpha, beta=beta, momentum=momentum,
                              cosine=cosine, dt=dt, dim=dim, data_mean=data_mean, data_std=data_std,
                              noise_std=noise_std, datasets=datasets, chains=chains, steps=steps, burnin=burnin,
                              seed=seed, record_every=record_every, pool=pool, scheme=scheme,
                              model_kwargs=model_kwargs)
    t0 = time.perf_counter()
    p = _checked(model=model, algo=algo, n=n, lr=lr, batch=batch, alpha=alpha, beta=beta, momentum=momentum,
                 cosine=cosine, dt=dt, dim=dim, data_mean=data_mean, data_std=data_std, noise_std=noise_std,
                 datasets=datasets, chains=chains, seed=seed, record_every=record_every, pool=pool, scheme=scheme,
                 model_kwargs=model_kwargs)
    prob = _problems.build_problem(model, n=p["n"], dim=p["dim"], data_mean=p["data_mean"], data_std=p["data_std"],
                                   noise_std=p["noise_std"], datasets=p["datasets"], seed=p["seed"], pool=p["pool"],
                                   scheme=scheme, beta=p["beta"], **model_kwargs)
    steps, burnin, rule, asked = _run_length(prob, p, steps, burnin)
    stab = _stability.chain_stability(prob, p)
    arrays, stride = _run_kernel(prob, p, steps, burnin, skip=bool(stab["unstable"].all()))
    _leave_out(arrays, stab["unstable"])
    config = _config(prob, p, steps=steps, burnin=burnin, rule=rule, stride=stride, asked=asked)
    summary = _summary(prob, config, arrays)
    summary.extras.update(_stability_columns(stab))
    theory = _theory(prob, config)
    cond = theory.get("conditional")
    if cond is not None:
        k = cond["datasets"]
        sub = ensemble_summary(arrays["train"][:k], arrays["test"][:k], diverged=arrays["diverged"][:k])
        cond["sim_same_datasets"] = {key: sub[key] for key in ("gap", "gap_ci95", "train_loss", "test_loss")}
    return RunResult(config=config, summary=summary, theory=theory, arrays=arrays, problem=prob,
                     timings={"wall_seconds": time.perf_counter() - t0})


def check_simulate_args(**kwargs) -> None:
    """Validate `simulate` arguments without running anything: what its first
    step would reject (ranges, combinations, model options, the memory of the
    data sets) is an ArgumentError naming the parameter now."""
    import inspect

    try:
        bound = inspect.signature(simulate).bind(**kwargs)
    except TypeError as exc:
        raise ArgumentError(f"simulate arguments: {exc}", param="model_kwargs") from None
    bound.apply_defaults()
    a = dict(bound.arguments)
    model_kwargs = a.pop("model_kwargs", {})
    for k in ("steps", "burnin"):
        a.pop(k)
    _checked(**a, model_kwargs=model_kwargs)


# ---------------------------------------------------------------- steps of `simulate`
def _checked(*, model, algo, n, lr, batch, alpha, beta, momentum, cosine, dt, dim, data_mean, data_std, noise_std,
             datasets, chains, seed, record_every, pool, scheme, model_kwargs) -> dict:
    """The arguments, validated (ArgumentError naming the parameter) and normalised."""
    check_choice("model", model, MODELS)
    check_choice("algo", algo, ALGOS)
    p = dict(model=model, algo=algo, cosine=check_bool("cosine", cosine), n=check_int("n", n, 1), lr=_limit("lr", lr),
             batch=check_int("batch", batch, *LIMITS["batch"]), alpha=_limit("alpha", alpha),
             beta=_limit("beta", beta),
             momentum=check_nonneg("momentum", momentum))
    if p["momentum"] >= 1:
        raise ArgumentError(f"momentum must be in [0, 1) (got {p['momentum']})")
    if p["momentum"] > 0 and algo != "momentum":
        raise ArgumentError(f"momentum applies to algo='momentum' only (got algo={algo!r}, momentum={p['momentum']})")
    p["dt"] = _limit("dt", dt)
    if p["dt"] != 1.0 and algo != "langevin":
        raise ArgumentError(f"dt applies to algo='langevin' only (got algo={algo!r}, dt={p['dt']})")
    if cosine and algo == "langevin":
        raise ArgumentError("cosine applies to algo='sgd' or 'momentum' only")
    p["dim"] = check_int("dim", dim, 1)
    if model == "quadratic1d" and p["dim"] != 1:
        raise ArgumentError(f"dim must be 1 for model 'quadratic1d' (got dim={p['dim']}); use model 'quadratic'")
    p.update(data_mean=_limit("data_mean", data_mean), data_std=_limit("data_std", data_std),
             noise_std=_limit("noise_std", noise_std), datasets=check_int("datasets", datasets, 1),
             chains=check_int("chains", chains, 1), seed=check_int("seed", seed, 0, MAX_SEED),
             record_every=check_int("record_every", record_every, 0))
    p["scheme"] = check_choice("scheme", scheme, SCHEMES)
    p["pool"] = None if pool is None else check_int("pool", pool, p["n"] + 1)
    check_model_kwargs(model, model_kwargs)
    p["model_kwargs"] = dict(model_kwargs)
    _memory_guard(p, 0)
    if p["n"] >= 2**20:
        raise ArgumentError(f"n must be < 2^20 (got {p['n']}): minibatch indices use 32-bit multiply-shift")
    rows = p["pool"] if p["pool"] is not None else p["n"]
    if rows * p["datasets"] * max(p["dim"], model_kwargs.get("input_dim", 1)) > _MAX_CELLS:
        raise ArgumentError("datasets x n x dim is too large for memory (> 4e8 numbers)", param="datasets")
    return p


def _limit(name, value) -> float:
    """A number in the range gapkit can honour for `name` (`gapkit.sims._settings.LIMITS`)."""
    return check_interval(name, value, *LIMITS[name])


def check_model_kwargs(model, kw) -> None:
    """The model options (keywords of `simulate` beyond its own) that `model`
    knows, with values it accepts; ArgumentError naming the option otherwise."""
    bad_kw = sorted(set(kw) - set(_problems.MODEL_KWARGS[model]))
    if bad_kw:
        raise ArgumentError(f"unknown option(s) {bad_kw} for model {model!r} "
                            f"(allowed: {list(_problems.MODEL_KWARGS[model])})", param="model_kwargs")
    if "h" in kw:
        _limit("h", kw["h"])
    if "test_size" in kw:
        check_int("test_size", kw["test_size"], 1)
    if "input_dim" in kw:
        check_int("input_dim", kw["input_dim"], 1)
    if kw.get("features", "relu") not in ("relu", "cos"):
        raise ArgumentError(f"features must be 'relu' or 'cos' (got {kw['features']!r})")


def _run_length(prob, p, steps, burnin) -> tuple[int, int, str, dict]:
    """(steps, burnin, the burn-in rule in words, {burnin_requested, burnin_shortened}): the rule of the
    module docstring unless given."""
    rule = "user-given"
    cosine = p["cosine"]
    asked = {"burnin_requested": None, "burnin_shortened": False}
    if burnin is None:
        burnin, rule = default_burnin(lr=p["lr"], curvature=prob.curvature, alpha=p["alpha"], momentum=p["momentum"],
                                      dt=p["dt"])
        asked["burnin_requested"] = _burnin_request(lr=p["lr"], curvature=prob.curvature, alpha=p["alpha"],
                                                momentum=p["momentum"], dt=p["dt"])[0]
        if cosine and steps is not None:
            burnin = steps - max(1, steps // 20)
            rule = _COSINE_RULE
        elif steps is not None and burnin >= steps // 2:
            burnin = steps // 2
            rule += f"; capped at steps / 2 = {burnin} (steps given)"
        want = asked["burnin_requested"]
        asked["burnin_shortened"] = not cosine and (want is None or burnin < want)
    if steps is None:
        steps = burnin + max(2 * burnin, 200)
        if cosine:
            steps = 2 * steps
            burnin = steps - max(1, steps // 20)
            rule = _COSINE_RULE
    steps = check_int("steps", steps, 1, _MAX_CELLS)  # the learning-rate schedule holds one float per step
    burnin = check_int("burnin", burnin, 0)
    if burnin >= steps:
        raise ArgumentError(f"burnin must be < steps (got burnin={burnin}, steps={steps})")
    _memory_guard(p, steps)
    per_update = p["n"] if p["algo"] == "langevin" else p["batch"]
    _memory.require_work(float(p["datasets"]) * p["chains"] * steps * per_update,
                         f"datasets={p['datasets']} x chains={p['chains']} x steps={steps} x {per_update}", "steps")
    nrec = steps // p["record_every"] if p["record_every"] else 0
    if p["datasets"] * p["chains"] * max(nrec, 1) * (prob.d + 2) > _MAX_CELLS:
        raise ArgumentError("datasets x chains x records x dim is too large for memory (> 4e8 numbers)",
                            param="datasets")
    return steps, burnin, rule, asked


def _memory_guard(p, steps) -> None:
    """Refuse, naming the sizes, a run whose arrays would not fit in memory (`_memory`)."""
    kw = p["model_kwargs"]
    need = _memory.simulate_bytes(kind=_problems.KIND.get(p["model"], "symbolic"), datasets=p["datasets"], chains=p["chains"],
                                  n=p["n"], dim=p["dim"], steps=steps, record_every=p["record_every"],
                                  pool=p["pool"], input_dim=int(kw.get("input_dim", 5 if p["model"] == "rfridge" else 1)),
                                  test_size=int(kw.get("test_size", 4096)), momentum=p["momentum"] > 0)
    what = (f"datasets={p['datasets']} x chains={p['chains']}, n={p['n']}, dim={p['dim']}"
            + (f", pool={p['pool']}" if p["pool"] else "")
            + (f", steps={steps}, record_every={p['record_every']}" if steps else ""))
    _memory.require_memory(need, what, "datasets")


def _loss_stride(prob, p, steps, burnin) -> int:
    """GLMs evaluate the losses about as often as their cost allows: eval ~ p^2 (least squares) or
    (n + n_test) p (logistic) against one update ~ B p (sgd) or n p (langevin)."""
    if prob.kind == "quad":
        return 1
    d = prob.d
    step_cost = (p["n"] if p["algo"] == "langevin" else p["batch"]) * d
    eval_cost = 2 * d * d if prob.kind == "lsq" else (p["n"] + prob.arrays["Xt"].shape[1]) * d
    return max(1, min(eval_cost // max(step_cost, 1), max(1, (steps - burnin) // 50)))


def kernel_inputs(prob, p, steps, burnin, stride):
    """The kernels' output arrays, update rule (with the lr schedule) and
    measurement plan: (Outputs, Update, Measure), shared by every kernel."""
    K, M, d, lr, every = p["datasets"], p["chains"], prob.d, p["lr"], p["record_every"]
    nrec = steps // every if every else 0
    sched = lr * np.cos(np.pi * np.arange(steps) / (2.0 * steps)) if p["cosine"] else np.full(steps, lr)
    out = _kernels.Outputs(train=np.empty((K, M)), test=np.empty((K, M)), div=np.zeros((K, M), dtype=np.bool_),
                           theta=np.empty((K, M, d)), tr_train=np.full((K, M, nrec), np.nan),
                           tr_test=np.full((K, M, nrec), np.nan), tr_theta=np.full((K, M, nrec, d), np.nan))
    upd = _kernels.Update(algo=_kernels.ALGOS[p["algo"]], lams=sched, B=p["batch"], alpha=p["alpha"],
                          beta=p["beta"], mu=p["momentum"], dt=p["dt"])
    meas = _kernels.Measure(burnin=burnin, stride=stride, rec=max(every, 1), seed=np.uint64(_rng.seed64(p["seed"])),
                            M=M)
    return out, upd, meas


def _run_kernel(prob, p, steps, burnin, *, skip: bool = False) -> tuple[dict, int]:
    """Allocate the outputs, run the model's kernel (not when `skip`: no chain
    can be stationary, `_stability`); (arrays, loss stride)."""
    d, every = prob.d, p["record_every"]
    stride = _loss_stride(prob, p, steps, burnin)
    out, upd, meas = kernel_inputs(prob, p, steps, burnin, stride)
    a = prob.arrays
    if skip:
        pass
    elif prob.kind == "quad" and d == 1:
        data = _kernels.QuadData(prob.X[:, :, 0].copy(), a["xbar"][:, 0].copy(), a["trs"], a["L"][:, 0, 0].copy(),
                                 a["tcen"][:, 0].copy(), a["tconst"], prob.tidx, prob.h)
        _kernels.quad1d(data, upd, meas, out)
    elif prob.kind == "quad":
        data = _kernels.QuadData(prob.X, a["xbar"], a["trs"], a["L"], a["tcen"], a["tconst"], prob.tidx, prob.h)
        _kernels.quad(data, upd, meas, out)
    else:
        data = _kernels.GlmData(prob.X, prob.y, prob.kind == "logit", a["A"], a["c"], a["q"], a["At"], a["ct"],
                                a["qt"], a["Xt"], a["yt"], prob.tidx)
        _kernels.glm(data, upd, meas, out)
    arrays = {"train": out.train, "test": out.test, "diverged": out.div, "theta_final": out.theta}
    if every:
        arrays.update(trace_train=out.tr_train, trace_test=out.tr_test, trace_theta=out.tr_theta)
    return arrays, stride


def _leave_out(arrays, unstable) -> None:
    """Chains of the data sets whose chain cannot be stationary (`_stability`)
    count as diverged: their values and traces become nan, never averaged in."""
    if not unstable.any():
        return
    arrays["diverged"][unstable] = True
    for key in ("train", "test", "trace_train", "trace_test", "trace_theta"):
        if key in arrays:
            arrays[key][unstable] = np.nan


def _stability_columns(stab) -> dict:
    """The stability verdict as result columns: stable (True, False: some data
    set's chain grows or is non-stationary, None: not known up front), the
    largest mean-map and second-moment-map radii and the reason in words."""
    stable = None if not stab["known"] else not bool(stab["unstable"].any())
    return {"stable": stable, "unstable_datasets": int(stab["unstable"].sum()),
            "mean_radius": stab["mean_radius"], "second_moment_radius": stab["second_moment_radius"],
            "stability": stab["reason"]}


def _config(prob, p, *, steps, burnin, rule, stride, asked) -> dict:
    """What was run (`RunResult.config`), in the order of the results store's columns."""
    return {
        "model": p["model"], "algo": p["algo"], "cosine": p["cosine"], "n": p["n"], "dim": prob.d, "lr": p["lr"],
        "batch": p["batch"], "T": p["lr"] / p["batch"], "alpha": p["alpha"], "beta": p["beta"],
        "momentum": p["momentum"], "dt": p["dt"], "data_mean": p["data_mean"], "data_std": p["data_std"],
        "noise_std": p["noise_std"], "pool": p["pool"], "scheme": p["scheme"] if p["pool"] else None,
        "model_kwargs": p["model_kwargs"], "datasets": p["datasets"], "chains": p["chains"], "steps": steps,
        "burnin": burnin, "burnin_rule": rule, "burnin_requested": asked["burnin_requested"],
        "burnin_shortened": asked["burnin_shortened"], "loss_stride": stride, "record_every": p["record_every"],
        "seed": p["seed"], "test_loss_source": prob.test_source,
    }


CV_MIN_DATASETS = 40  # cross-fitting (10 folds) needs a few data sets per fold


def _summary(prob, cfg, arrays) -> Summary:
    """The data-averaged numbers (`ensemble_summary`) with the headline gap of `_gap_estimate`."""
    plain = ensemble_summary(arrays["train"], arrays["test"], diverged=arrays["diverged"])
    s = Summary.from_dict(plain)
    est = _gap_estimate(prob, arrays, n=cfg["n"], data_mean=cfg["data_mean"], data_std=cfg["data_std"],
                        pool=cfg["pool"])
    if est is None:
        s.extras["gap_estimator"] = "mean over data sets"
        return s
    s.gap, s.gap_ci95 = est["gap"], est["gap_ci95"]
    s.extras.update(gap_plain=plain["gap"], gap_plain_ci95=plain["gap_ci95"],
                    gap_estimator="control variates tr S and |xbar - m|^2 (known means), cross-fitted",
                    gap_cv_variance_ratio=est["variance_ratio"])
    return s


def _gap_estimate(prob, arrays, *, n, data_mean, data_std, pool) -> dict | None:
    """The headline gap: a control-variate estimate where the expectations of
    correlated per-data-set statistics are known exactly (else None: the plain mean).

    Quadratic models with Gaussian data (no finite pool): the training set's
    scatter tr S (E = d s^2 (n - 1) / n) and |xbar - m|^2 (E = d s^2 / n)
    explain most of the data-set-to-data-set spread of the gap (the train loss
    is (h/2)(|theta - xbar|^2 + tr S)). The estimator is cross-fitted, so it
    stays unbiased (gapkit.sims.stats._estimators.control_variate_mean); the plain
    estimate is kept as gap_plain.
    """
    train = arrays["train"]
    K = train.shape[0]
    usable = int((~arrays["diverged"]).all(axis=1).sum())  # data sets with no diverged chain
    if prob.kind != "quad" or pool is not None or min(K, usable) < CV_MIN_DATASETS:
        return None
    a = prob.arrays
    d = prob.d
    xb = np.asarray(a["xbar"], dtype=np.float64).reshape(K, -1)
    cv = np.column_stack([np.asarray(a["trs"], dtype=np.float64).reshape(K), ((xb - data_mean) ** 2).sum(axis=1)])
    s2 = float(data_std) ** 2
    cv_mean = np.array([d * s2 * (n - 1) / n, d * s2 / n])
    return gap_control_variate(train, arrays["test"], cv, cv_mean, diverged=arrays["diverged"])


def _theory(prob, r) -> dict:
    """What theory says about this run (config `r`), where it is known (module docstring)."""
    th: dict = {}
    if r["pool"] is not None or r["cosine"]:
        th["note"] = "no closed form for pool draws or the cosine schedule"
        return th
    if prob.kind == "quad" and r["data_std"] > 0:
        try:
            _quadratic_theory(prob, r, th)
        except ValueError as exc:
            th["note"] = f"no stationary law: {exc}"
    elif prob.model == "linreg" and prob.d <= _COND_MAX_D:
        try:
            th["conditional"] = _linreg_conditional(prob, r)
        except ValueError as exc:
            th["note"] = f"no stationary law: {exc}"
    return th


def _quadratic_theory(prob, r, th) -> None:
    """Into `th`: the exact data-averaged steady state of the quadratic chain (per coordinate x dim) and
    its SDE limit."""
    from gapkit.theory._quadratic import quadratic1d_steady

    d = prob.d
    kw = dict(h=prob.h, alpha=r["alpha"], beta=r["beta"], lam=r["lr"], B=r["batch"])
    n, m, s = r["n"], r["data_mean"], r["data_std"]
    sde = quadratic1d_steady(n, m, s, scheme="sde", **kw)
    th["sde_limit"] = {k: d * sde[k] for k in ("gap", "train_loss", "test_loss", "var")}
    if r["algo"] in ("sgd", "langevin"):
        own = quadratic1d_steady(n, m, s, scheme="sgd" if r["algo"] == "sgd" else "em", dt=r["dt"], **kw)
        th.update({k: d * own[k] for k in ("gap", "train_loss", "test_loss", "var")})
        th["source"] = ("exact data-averaged stationary law of this discrete chain "
                        "(gapkit.theory._quadratic.quadratic1d_steady); per coordinate x dim")
        return
    from gapkit.theory._momentum import momentum_var_1d

    D = prob.h**2 * (n - 1) * s * s / n  # E_D of h^2 S^2; Var(theta) is linear in D
    mv = momentum_var_1d(prob.h, D, lam=r["lr"], B=r["batch"], alpha=r["alpha"], beta=r["beta"], mu=r["momentum"])
    th.update(gap=d * sde["gap"], var=d * mv["var_theta"])
    th["source"] = ("momentum: gap at the stationary mean (ridge solution, same for every scheme), "
                    "E_D Var(theta) from gapkit.theory._momentum.momentum_var_1d")


_COND_MAX_D = 8
_COND_DATASETS = 16


def _linreg_conditional(prob, r) -> dict:
    """Exact steady-state train/test loss of the discrete chain given each of the
    first data sets (mean m, covariance Sigma from `linreg_sgd_stationary`, or
    `linreg_em_stationary` for Langevin):
    <U_l> = U_l(m) + (1/2) Tr(A Sigma), <U_e> = U_e(m) + (1/2) Tr(A_e Sigma)."""
    k = min(_COND_DATASETS, prob.X.shape[0])
    mu, cov = _stationary_law(prob, r, k)
    a = prob.arrays
    tr, te = [], []
    for i in range(k):
        j = prob.tidx[i]
        tr.append(lsq_expected_loss(mu[i], cov[i], a["A"][i], a["c"][i], a["q"][i]))
        te.append(lsq_expected_loss(mu[i], cov[i], a["At"][j], a["ct"][j], a["qt"][j]))
    tr, te = np.array(tr), np.array(te)
    return {"datasets": k, "train_loss": float(tr.mean()), "test_loss": float(te.mean()),
            "gap": float((te - tr).mean()),
            "source": f"exact law of the discrete chain given each of the first {k} data sets "
                      f"(gapkit.theory._lyapunov.linreg_{'em' if r['algo'] == 'langevin' else 'sgd'}_stationary); "
                      "compare with sim_same_datasets"}


def exact_stationary(result: RunResult, datasets: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact stationary (mean (k, d), cov (k, d, d)) of the run's own discrete
    chain for its first `datasets` data sets (quadratic and linreg: plain/momentum SGD
    and Euler-Maruyama Langevin), from `gapkit.theory._lyapunov`.
    `result` is a `simulate` RunResult (its problem and config)."""
    prob = result.problem
    k = prob.X.shape[0] if datasets is None else min(int(datasets), prob.X.shape[0])
    return _stationary_law(prob, result.config, k)


def _stationary_law(prob, r, k) -> tuple[np.ndarray, np.ndarray]:
    from gapkit.theory import _lyapunov as L

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
        elif prob.model == "linreg" and r["algo"] == "langevin":
            mu_, cv = L.linreg_em_stationary(prob.X[i], prob.y[i], lam=r["lr"], T=r["T"], alpha=r["alpha"],
                                             beta=r["beta"], dt=r["dt"])
        elif prob.model == "linreg":
            mu_, cv = L.linreg_sgd_stationary(prob.X[i], prob.y[i], lam=r["lr"], B=r["batch"], alpha=r["alpha"],
                                              beta=r["beta"], mu=r["momentum"])
        else:
            raise ArgumentError(f"no exact stationary law for model {prob.model!r} with algo {r['algo']!r}",
                                param="model")
        means.append(mu_)
        covs.append(cv)
    return np.array(means), np.array(covs)
