"""Temperature sweeps (Section 3 of the paper) on the toy models or the torch backend.

A sweep runs a grid of (lr, B) points, T = lr / B, for one algorithm variant
(plain SGD, cosine, momentum, momentum + cosine, or Langevin), with `seeds`
independent runs per point, each run an ensemble of `datasets` data sets x
`chains` chains. Every finished run goes to the results store
(`gapkit.sims._store`); the sweep then fits Eq 1 to the gap and reports the
predictions A, B, C (`gapkit.sims._fit`) and draws the figure panels
(`gapkit.sims._sweepfig`).

Run length: equal rescaled time (Appendix B). Continuous time t' = lam t
(updates x lr) leaves only T and alpha in the diffusion limit, so runs with
equal T x updates x B = lr x updates are comparable. Each Numba run therefore
gets ``steps = ceil(tau (burn_time + time) / lr)`` updates of which the first
``burnin = ceil(tau burn_time / lr)`` are discarded: the same rescaled burn-in and
measuring time at every grid point. tau = 1 / (c + alpha) is the model's
slowest relaxation time in rescaled units (c the smallest curvature of its
population loss, `relax_time`), so burn_time = 10 leaves exp(-10) of the
initial offset. A point whose steps would exceed
``max_steps`` is run with max_steps and marked ``capped`` (it may not be at
steady state). The torch backend uses the paper's epoch rule (Appendix E),
N = ref_epochs max(1, min(4, 1 + (T_ref / T - 1) / 4)).

Seeds: each run's seed comes from the root seed and the sha256 of its full
configuration, so no seed depends on the worker, the executor or the order of
the runs, and the runs are independent: the trend tests of `_fit` treat runs
as independent draws. (Common random numbers across the grid would make the
per-run errors correlated in T and those intervals wrong.)
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import math
import sys
import time as _time
from pathlib import Path

import numpy as np

from ._store import ResultsStore, config_key, jsonable, record_column

__all__ = ["MODELS", "ALGOS", "BACKENDS", "PRESETS", "MODEL_DEFAULTS", "SweepSpec", "make_spec", "build_runs",
           "run_seed", "relax_time", "execute_run", "run_sweep", "sweep_findings", "steps_for", "epochs_for"]

MODELS = ("quadratic1d", "quadratic", "linreg", "logreg", "rfridge")
ALGOS = ("sgd", "langevin", "momentum")
BACKENDS = ("numba", "torch")

# Model settings of the toy problems, scaled so the per-example curvature is
# ~1 and one T grid suits all. linreg/rfridge: over-parameterized (dim > n)
# with a ridge alpha, where the gap falls with T (train loss rises faster than
# test loss: the thermal spread lives in the span of the n inputs, where the
# train Hessian exceeds the population one); logreg: 8 points in 4-D with
# large inputs, separable or nearly so.
MODEL_DEFAULTS = {
    "quadratic1d": dict(n=8, dim=1, alpha=0.0),
    "quadratic": dict(n=8, dim=4, alpha=0.0),
    "linreg": dict(n=8, dim=16, alpha=0.3, data_std=0.25, noise_std=0.5),
    "logreg": dict(n=8, dim=4, alpha=1e-2, data_std=1.0),
    "rfridge": dict(n=8, dim=32, alpha=0.1, data_std=1.0, noise_std=0.5),
}
_MAX_RELAX = 100.0  # cap on tau (no curvature, no ridge: the null space never moves anyway)

# Presets: grids, replicates and run length (rescaled time, see the module
# docstring). Explicit command-line values override them.
PRESETS = {
    "smoke": dict(T_grid=[0.01, 0.03, 0.1, 0.3], batch_grid=[1, 4], seeds=1, datasets=16, chains=2,
                  burn_time=10.0, time=20.0, max_steps=20_000, ref_epochs=3, T_ref=0.05),
    "quick": dict(T_grid=[0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4], batch_grid=[1, 2], seeds=1, datasets=64,
                  chains=2, burn_time=20.0, time=40.0, max_steps=50_000, ref_epochs=10, T_ref=0.05),
    "paper": dict(T_grid=[0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4], batch_grid=[1, 2, 4], seeds=2,
                  datasets=100, chains=2, burn_time=50.0, time=200.0, max_steps=400_000, ref_epochs=300,
                  T_ref=2e-4),
}



@dataclasses.dataclass
class SweepSpec:
    """Everything that defines a sweep (what `sweep.json` stores)."""

    model: str
    algo: str = "sgd"
    cosine: bool = False
    backend: str = "numba"
    T_grid: list | None = None
    lr_grid: list | None = None
    batch_grid: list = dataclasses.field(default_factory=lambda: [1])
    seeds: int = 1
    datasets: int = 16
    chains: int = 2
    root_seed: int = 0
    burn_time: float = 10.0
    time: float = 20.0
    max_steps: int = 20_000
    ref_epochs: int = 300
    T_ref: float = 2e-4
    n: int = 8
    dim: int = 1
    alpha: float = 0.0
    beta: float = 0.0
    momentum: float = 0.0
    data_mean: float = 0.0
    data_std: float = 1.0
    noise_std: float = 0.5
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    indicators: bool = False
    preset: str | None = None

    def validate(self) -> "SweepSpec":
        from ._args import check_int, check_nonneg, check_positive

        if self.backend not in BACKENDS and ":" not in self.backend:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)} (got {self.backend!r})")
        if self.backend == "numba" and self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)} (got {self.model!r})")
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {', '.join(ALGOS)} (got {self.algo!r})")
        if (self.T_grid is None) == (self.lr_grid is None):
            raise ValueError("give exactly one of T_grid and lr_grid")
        grid_name = "T_grid" if self.T_grid is not None else "lr_grid"
        grid = self.T_grid if self.T_grid is not None else self.lr_grid
        if len(grid) == 0:
            raise ValueError(f"{grid_name} must be a non-empty list of numbers > 0 (got an empty list)")
        if len(self.batch_grid) == 0:
            raise ValueError("batch_grid must be a non-empty list of integers >= 1 (got an empty list)")
        for v in grid:
            check_positive(grid_name.replace("_grid", ""), v)
        self.batch_grid = [check_int("B", b, 1) for b in self.batch_grid]
        for name in ("seeds", "datasets", "chains", "max_steps", "ref_epochs", "n", "dim"):
            check_int(name, getattr(self, name), 1)
        check_int("root_seed", self.root_seed, 0)
        for name in ("burn_time", "alpha", "beta", "momentum", "data_std", "noise_std"):
            check_nonneg(name, getattr(self, name))
        check_positive("time", self.time)
        check_positive("T_ref", self.T_ref)
        if not self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1) (got {self.momentum})")
        return self

    def points(self) -> list[tuple[float, int, float]]:
        """Grid points (T, B, lr), in grid order."""
        out = []
        for B in self.batch_grid:
            if self.T_grid is not None:
                out += [(float(T), int(B), float(T) * B) for T in self.T_grid]
            else:
                out += [(float(lr) / B, int(B), float(lr)) for lr in self.lr_grid]
        return out


def make_spec(model: str, *, preset: str | None = "smoke", **overrides) -> SweepSpec:
    """A validated `SweepSpec`: model defaults, then the preset, then `overrides`
    (keys left at None are ignored). A lr grid given without a T grid replaces
    the preset's T grid."""
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)} (got {preset!r})")
    base = dict(MODEL_DEFAULTS.get(model, {}))
    base.update(PRESETS.get(preset, {}) if preset else {})
    over = {k: v for k, v in overrides.items() if v is not None}
    if "lr_grid" in over and "T_grid" not in over:
        base.pop("T_grid", None)
    base.update(over)
    if base.get("algo") == "momentum" and "momentum" not in over:
        base["momentum"] = 0.9
    fields = {f.name for f in dataclasses.fields(SweepSpec)}
    unknown = sorted(set(base) - fields)
    if unknown:
        raise ValueError(f"unknown sweep setting(s): {', '.join(unknown)}")
    return SweepSpec(model=model, preset=preset, **{k: v for k, v in base.items() if k != "model"}).validate()


def relax_time(spec: SweepSpec) -> float:
    """tau = 1 / (c + alpha), c the smallest curvature of the model's
    population loss (quadratic: h; linreg: data_std^2 (1 - sqrt(dim/n))^2
    when n > dim, else 0; logreg: data_std^2 / 4 at the origin; rfridge: 0),
    capped at 100."""
    m = spec.model
    if m in ("quadratic1d", "quadratic"):
        c = float(spec.model_kwargs.get("h", 1.0))
    elif m == "linreg":
        c = spec.data_std**2 * (1 - math.sqrt(spec.dim / spec.n)) ** 2 if spec.n > spec.dim else 0.0
    elif m == "logreg":
        c = 0.25 * spec.data_std**2
    else:
        c = 0.0
    k = c + spec.alpha
    return min(1.0 / k, _MAX_RELAX) if k > 0 else _MAX_RELAX


def steps_for(lr: float, spec: SweepSpec) -> tuple[int, int, bool]:
    """(steps, burnin, capped) of the equal-rescaled-time rule (module docstring)."""
    tau = relax_time(spec) if spec.backend != "torch" else 1.0
    burnin = math.ceil(tau * spec.burn_time / lr)
    steps = math.ceil(tau * (spec.burn_time + spec.time) / lr)
    capped = steps > spec.max_steps
    if capped:
        steps = spec.max_steps
        burnin = min(burnin, steps // 3)
    return int(steps), int(burnin), bool(capped)


def epochs_for(T: float, spec: SweepSpec) -> int:
    """Appendix E: N = ref_epochs max(1, min(4, 1 + (T_ref / T - 1) / 4))."""
    return int(math.ceil(spec.ref_epochs * max(1.0, min(4.0, 1.0 + (spec.T_ref / T - 1.0) / 4.0))))


def run_seed(root_seed: int, config: dict) -> int:
    """63-bit seed of a run: SeedSequence(root_seed) spawned on the sha256 of
    the run's full configuration (without "seed" itself; module docstring)."""
    base = {k: v for k, v in config.items() if k not in ("seed", "root_seed")}
    h = int(config_key(base)[:15], 16)
    ss = np.random.SeedSequence(entropy=int(root_seed), spawn_key=(h,))
    return int(ss.generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> np.uint64(1))


def build_runs(spec: SweepSpec) -> list[dict]:
    """One full configuration per run (grid point x replicate), seed included."""
    runs = []
    for T, B, lr in spec.points():
        for r in range(spec.seeds):
            cfg = {"backend": spec.backend, "model": spec.model, "algo": spec.algo, "cosine": bool(spec.cosine),
                   "T": T, "batch": B, "lr": lr, "replicate": r, "root_seed": int(spec.root_seed)}
            if spec.backend == "torch":
                cfg.update(epochs=epochs_for(T, spec))
            else:
                steps, burnin, capped = steps_for(lr, spec)
                cfg.update(steps=steps, burnin=burnin, capped=capped, record_every=max(1, steps // 100),
                           datasets=spec.datasets, chains=spec.chains, n=spec.n, dim=spec.dim)
            cfg.update(alpha=float(spec.alpha), beta=float(spec.beta), momentum=float(spec.momentum),
                       data_mean=float(spec.data_mean), data_std=float(spec.data_std),
                       noise_std=float(spec.noise_std), indicators=bool(spec.indicators))
            if spec.model_kwargs:
                cfg["model_kwargs"] = dict(sorted(spec.model_kwargs.items()))
            if spec.backend != "torch":
                # one data distribution (teacher, pool, test set) for the whole sweep;
                # the data sets themselves come from each run's own seed
                cfg["problem_seed"] = int(spec.root_seed)
            cfg["seed"] = run_seed(spec.root_seed, cfg)
            runs.append(cfg)
    return runs


# ---------------------------------------------------------------- one run
def _resolve_backend(backend: str):
    if backend == "numba":
        try:
            mod = importlib.import_module("gapkit.sims._simulate")
        except ModuleNotFoundError:
            raise ValueError("backend numba needs gapkit.sims._simulate, which is not available") from None
        fn = getattr(mod, "simulate", None)
        if fn is None:
            raise ValueError("backend numba needs gapkit.sims._simulate.simulate, which is not available")
        return fn, "kwargs"
    if backend == "torch":
        if importlib.util.find_spec("torch") is None:
            raise ValueError("backend torch needs torch (pip install 'gapkit[gpu]')")
        fn = getattr(importlib.import_module("gapkit.gpu._plugin"), "sweep_point", None)
        if fn is None:
            raise ValueError("backend torch needs gapkit.gpu._plugin.sweep_point, which is not available")
        return fn, "config"
    modname, _, attr = backend.partition(":")  # "module:function" (tests, extensions)
    return getattr(importlib.import_module(modname), attr), "kwargs"


_SIM_KEYS = ("model", "algo", "n", "lr", "batch", "alpha", "beta", "momentum", "cosine", "dim", "datasets",
             "chains", "steps", "burnin", "seed", "record_every", "data_mean", "data_std", "noise_std")


def _drift(trace: np.ndarray) -> dict:
    """Equilibration check on a (K, M, S) train-loss trace: the mean of the
    last quarter minus that of the quarter before, per data set (chains
    averaged); z = mean / standard error across the K data sets. |z| < 4 is
    read as steady (false alarm ~6e-5 per point when the trace is flat)."""
    t = np.asarray(trace, dtype=np.float64)
    S = t.shape[-1]
    if t.ndim != 3 or S < 8:
        return {}
    q = S // 4
    d = t[..., S - q:].mean(axis=-1) - t[..., S - 2 * q:S - q].mean(axis=-1)
    d = d.mean(axis=1)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return {}
    se = float(d.std(ddof=1) / math.sqrt(d.size))
    z = float(d.mean() / se) if se > 0 else (0.0 if d.mean() == 0 else math.inf)
    return {"drift": float(d.mean()), "drift_se": se, "drift_z": z}


def _diagnostics(trace, config: dict) -> dict:
    """Equilibration diagnostics of a run's (K, M, S) train-loss trace.

    Uses `gapkit.sims._steady.equilibration` (pooled Geweke drift test and
    effective sample size over the K x M chains) on the measuring window; the
    burn-in records are dropped when the trace covers the whole run. Falls
    back to `_drift` when that module or enough records are missing."""
    t = np.asarray(trace, dtype=np.float64)
    every = int(config.get("record_every") or 1)
    steps, burnin = config.get("steps"), config.get("burnin")
    discard = 0
    if steps and burnin and t.shape[-1] >= steps // every - 1:
        discard = int(burnin // every)
    out = _drift(t[..., discard:])
    try:
        from ._steady import equilibration

        eq = equilibration(t, discard=discard)
    except (ImportError, ValueError):
        return out
    out.update({f"eq_{k}": v for k, v in eq.items() if np.ndim(v) == 0 and not isinstance(v, (list, dict))})
    out["eq_reasons"] = "; ".join(eq.get("reasons", []))
    return out


def _scalars(res: dict) -> dict:
    out = {}
    for k, v in res.items():
        # "arrays" and private objects ("_problem") stay out of the record
        if k == "arrays" or k.startswith("_") or isinstance(v, np.ndarray) and v.ndim > 0:
            continue
        out[k] = v
    return out


def execute_run(config: dict) -> dict:
    """Run one configuration on its backend; returns {"result", "meta"}.

    Module-level so process pools and Dask can pickle it. ``result`` holds the
    backend's scalars (timings moved to ``meta``), the equilibration
    diagnostics (``steady``, ``drift_z``, ``capped``) and, when the config asks
    and `gapkit.sims._indicators.toy_indicators` exists, its ``ind_*`` values.
    """
    fn, style = _resolve_backend(config["backend"])
    t0 = _time.perf_counter()
    if style == "config":
        raw = fn(dict(config))
    else:
        kw = {k: config[k] for k in _SIM_KEYS if k in config}
        kw.update(config.get("model_kwargs", {}))
        if "problem_seed" in config:
            kw["problem_seed"] = config["problem_seed"]
        raw = fn(**kw)
    wall = _time.perf_counter() - t0
    arrays = raw.get("arrays") or {}
    res = _scalars(raw)
    meta = {"wall_seconds": wall}
    for k in list(res):
        if "seconds" in k:
            meta[k] = res.pop(k)
    diag = _diagnostics(arrays["trace_train"], config) if "trace_train" in arrays else {}
    res.update(diag)
    steady = None
    for k in ("steady", "equilibrated", "at_steady_state"):
        if isinstance(raw.get(k), (bool, np.bool_)):
            steady = bool(raw[k])
    if steady is None and "drift_z" in diag:
        # the verdict uses the data-set-level drift test (`_drift`), which is
        # unbiased whatever the loss's skew; the pooled per-chain Geweke z of
        # `_steady.equilibration` is recorded (eq_*) but on short windows of a
        # skewed loss its per-chain standard errors bias the pooled z (seen
        # as |z| ~ 3-9 on the quadratic model at its exact steady state).
        steady = bool(abs(diag["drift_z"]) < 4.0)
        ess = diag.get("eq_ess")
        if isinstance(ess, float) and math.isfinite(ess) and ess < 100:
            steady = False
    if config.get("capped"):
        steady = False if steady is None else steady
    res["steady"] = steady
    res["capped"] = bool(config.get("capped", False))
    if config.get("indicators"):
        res.update(_indicators(raw, config))
    return {"result": jsonable(res), "meta": jsonable(meta)}


def _indicators(raw: dict, config: dict) -> dict:
    try:
        mod = importlib.import_module("gapkit.sims._indicators")
    except ModuleNotFoundError:
        return {"ind_status": "unavailable"}
    fn = getattr(mod, "toy_indicators", None)
    if fn is None:
        return {"ind_status": "unavailable"}
    params = inspect.signature(fn).parameters
    kw = {k: v for k, v in (("result", raw), ("config", config), ("arrays", raw.get("arrays")),
                             ("seed", config.get("seed"))) if k in params}
    got = fn(**kw) if kw else fn(raw)
    # indicator columns are ind_*, bound columns bound_* (gapkit score reads both)
    out = {k if k.startswith(("ind_", "bound_")) else f"ind_{k}": v for k, v in dict(got).items()
           if np.ndim(v) == 0}
    out.update(_paper_bounds(config))
    out["ind_status"] = "ok"
    return out


def _paper_bounds(config: dict) -> dict:
    """The paper's own gap bound where gapkit can evaluate it exactly for the
    run's configuration: Eq 7 on the 1-D quadratic model with Langevin
    (Euler-Maruyama, Gaussian stationary law; theory._quadratic.quadratic1d_eq07_bound).
    Eqs 11, 23, 24 are undefined on that model (Zbar = inf, see the eq11 checks)
    and have no grid on the d-dim models, so they are not attached."""
    if config.get("model") != "quadratic1d" or config.get("algo") != "langevin" or config.get("cosine"):
        return {}
    from gapkit.theory._quadratic import quadratic1d_eq07_bound

    kw = config.get("model_kwargs", {})
    r = quadratic1d_eq07_bound(config["n"], config.get("data_mean", 0.0), config.get("data_std", 1.0),
                               h=float(kw.get("h", 1.0)), alpha=config.get("alpha", 0.0), beta=config.get("beta", 0.0),
                               lam=config["lr"], B=config["batch"], scheme="em", dt=float(config.get("dt", 1.0)))
    return {"bound_eq07": r["bound"]}


# ---------------------------------------------------------------- the sweep
class _Progress:
    def __init__(self, total: int, done: int, enabled: bool):
        self.total, self.done, self.enabled = total, done, enabled
        self.tty = enabled and sys.stderr.isatty()
        self._last = -1
        self.show()

    def show(self):
        if not self.enabled or self.total == 0:
            return
        frac = self.done / self.total
        if self.tty:
            bar = "#" * int(30 * frac)
            sys.stderr.write(f"\rsweep [{bar:<30}] {self.done}/{self.total} runs")
            sys.stderr.flush()
        elif int(10 * frac) != self._last:  # a line per 10% when stderr is a file
            self._last = int(10 * frac)
            sys.stderr.write(f"sweep: {self.done}/{self.total} runs\n")

    def step(self):
        self.done += 1
        self.show()

    def close(self):
        if self.enabled and self.tty:
            sys.stderr.write("\n")


def run_sweep(spec: SweepSpec, out, *, executor=None, scheduler: str | None = None, workers: int | None = None,
              progress: bool = True, table_every: int = 20, figures: bool = True) -> dict:
    """Run (or resume) a sweep into the store at `out`; returns the summary.

    Finished runs found in the store are reused, the rest computed by
    `executor` (default: `make_executor(scheduler=..., workers=...)`) and
    stored one by one as they finish; runs.csv is rebuilt every
    `table_every` new records and at the end.
    """
    from ._executor import make_executor

    spec.validate()
    t0 = _time.perf_counter()
    store = ResultsStore.open(out)
    store.write_settings({"spec": dataclasses.asdict(spec), "format": "gapkit-sweep/1"})
    runs = build_runs(spec)
    keys = [config_key(c) for c in runs]
    todo = [i for i, k in enumerate(keys) if not store.has(k)]
    reused = len(runs) - len(todo)
    if todo:
        _resolve_backend(spec.backend)  # a missing backend is a one-line error before any work
    own = executor is None
    if own:
        executor = make_executor(scheduler=scheduler, workers=workers, n_items=len(todo))
    bar = _Progress(len(runs), reused, progress)
    computed = 0
    try:
        for j, got in executor.imap_unordered(execute_run, [runs[i] for i in todo]):
            store.put(runs[todo[j]], got["result"], got.get("meta"))
            computed += 1
            bar.step()
            if table_every and computed % table_every == 0:
                store.write_table(keys)
    finally:
        bar.close()
        if own:
            executor.close()
    store.write_table(keys)
    summary = sweep_findings(store, keys)
    summary.update(runs_total=len(runs), runs_reused=reused, runs_computed=computed, out=str(Path(out)),
                   table=str(store.table_path), executor=getattr(executor, "name", type(executor).__name__),
                   wall_seconds=_time.perf_counter() - t0)
    if figures:
        from ._sweepfig import sweep_figure

        summary["figures"] = [str(p) for p in sweep_figure(store, keys, summary, Path(out))]
    return summary


_col = record_column


def sweep_findings(store: ResultsStore, keys) -> dict:
    """Eq 1 fit, findings A/B/C and counts from the stored records."""
    from ._fit import findings

    recs = list(store.records(keys))
    steady = np.array([r["result"].get("steady") is not False for r in recs], dtype=bool)
    T = _col(recs, "T")
    # With fewer than 3 temperatures at steady state (a smoke run, say) the
    # findings use every run and say so, rather than report nothing.
    use_all = np.unique(T[steady & np.isfinite(T)]).size < 3
    f = findings(T, _col(recs, "gap"), _col(recs, "train_loss"), _col(recs, "test_loss"),
                 test_ci95=_col(recs, "test_loss_ci95"), gap_ci95=_col(recs, "gap_ci95"),
                 steady=None if use_all else steady)
    f["not_steady"] = int((~steady).sum())
    f["includes_not_steady"] = bool(use_all and (~steady).any())
    f["T_opt"] = f["B"]["T_opt"]
    return jsonable(f)
