"""The sweep runner: one run on its backend (`execute_run`), the whole grid into
the results store (`run_sweep`). The spec, presets and run list are in `_spec`;
findings from the stored records in `_findings`.
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

from ._findings import sweep_findings
from ._spec import SweepSpec, build_runs
from ._store import ResultsStore, config_key, jsonable

__all__ = ["execute_run", "run_sweep"]


# ---------------------------------------------------------------- one run
def _resolve_backend(backend: str):
    if backend == "numba":
        try:
            mod = importlib.import_module("gapkit.sims.engine._simulate")
        except ModuleNotFoundError:
            raise ValueError("backend numba needs gapkit.sims.engine._simulate, which is not available") from None
        fn = getattr(mod, "simulate", None)
        if fn is None:
            raise ValueError("backend numba needs gapkit.sims.engine._simulate.simulate, which is not available")
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

    Uses `gapkit.sims.stats._steady.equilibration` (pooled Geweke drift test and
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
        from gapkit.sims.stats._steady import equilibration

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
    and `gapkit.sims.indicators._toy.toy_indicators` exists, its ``ind_*`` values.
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
        mod = importlib.import_module("gapkit.sims.indicators._toy")
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
        from ._figures import sweep_figure

        summary["figures"] = [str(p) for p in sweep_figure(store, keys, summary, Path(out))]
    return summary
