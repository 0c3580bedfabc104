"""The sweep runner: one run on its backend (`execute_run`), the whole grid into
the results store (`run_sweep`). The spec, presets and run list are in `_spec`;
findings from the stored records in `_findings`.
"""
from __future__ import annotations

import dataclasses
import functools
import sys
import time as _time
from pathlib import Path

import numpy as np

from gapkit.sims._backends import Backend, get_backend
from ._findings import sweep_findings
from ._spec import SweepSpec, build_runs
from ._store import ResultsStore, config_key, jsonable

__all__ = ["execute_run", "run_sweep"]


# ---------------------------------------------------------------- one run
def _diagnostics(trace, config: dict) -> dict:
    """Equilibration diagnostics and verdict of a run's (K, M, S) train-loss
    trace (None: the backend recorded none): drift, drift_se, drift_z, eq_*
    and steady, from the one verdict of every backend,
    `gapkit.sims.stats._equilibration.run_verdict` (its docstring has the rule
    and its false-alarm rate)."""
    from gapkit.sims.stats import _equilibration

    return _equilibration.run_verdict(trace, config)


def execute_run(config: dict, backend: Backend | None = None) -> dict:
    """Run one configuration on its backend; returns {"result", "meta"}.

    Module-level so process pools and Dask can pickle it; `run_sweep` passes
    the `Backend` along (default: the registered one that config["backend"]
    names), so worker processes need no registry of their own. ``result`` is
    the run's `RunResult.record()` (its timings moved to ``meta``) with the
    equilibration diagnostics and verdict (``steady``, ``drift_z``, ``capped``)
    and, when the config asks, the indicator columns (`_indicator_columns`).
    """
    backend = backend if backend is not None else get_backend(config["backend"])
    t0 = _time.perf_counter()
    result = backend.run_point(dict(config))
    meta = {"wall_seconds": _time.perf_counter() - t0}
    res = result.record()
    for k in result.timings:
        meta[k] = res.pop(k)
    arrays = result.arrays
    res.update(_diagnostics(arrays.get("trace_train"), config))  # drift, eq_*, steady: one verdict
    res["capped"] = bool(config.get("capped", False))
    if config.get("indicators"):
        res.update(_indicator_columns(backend, result, config))
    return {"result": jsonable(res), "meta": jsonable(meta)}


def _indicator_columns(backend: Backend, result, config: dict) -> dict:
    """The backend's indicator hook on the run (a backend whose run_point
    computes its indicators has none), as runs.csv columns: indicator columns
    are ind_*, bound columns bound_* (`gapkit score` reads both)."""
    got = backend.indicators(result, config) if backend.indicators is not None else {}
    out = {k if k.startswith(("ind_", "bound_")) else f"ind_{k}": v for k, v in dict(got).items()
           if np.ndim(v) == 0}
    out["ind_status"] = "ok"
    return out


# ---------------------------------------------------------------- the sweep
class _Progress:
    """Runs done out of the grid on stderr, with the elapsed time and an ETA
    (from the runs computed so far): a tqdm bar on a terminal, a line per 10%
    when stderr is a file. A line first says what is about to run, so a slow
    first run (a network training for minutes) does not look like a hang."""

    def __init__(self, total: int, done: int, enabled: bool, what: str = ""):
        from tqdm import tqdm

        self.total, self.done, self.enabled = total, done, enabled and total > 0
        self.tty = self.enabled and sys.stderr.isatty()
        self._last, self._t0 = -1, _time.perf_counter()
        self._first = done
        if self.enabled:
            sys.stderr.write(f"sweep: {total} runs, {done} already in the store; {what}\n")
            sys.stderr.flush()
        self.bar = tqdm(total=total, initial=done, unit="run", desc="sweep", file=sys.stderr,
                        dynamic_ncols=True, disable=not self.tty)

    def step(self):
        self.done += 1
        self.bar.update(1)
        frac = self.done / self.total
        if self.enabled and not self.tty and int(10 * frac) != self._last:
            self._last = int(10 * frac)
            el = _time.perf_counter() - self._t0
            eta = el / (self.done - self._first) * (self.total - self.done)
            sys.stderr.write(f"sweep: {self.done}/{self.total} runs, {el:.0f} s elapsed, ETA {eta:.0f} s\n")
            sys.stderr.flush()

    def close(self):
        self.bar.close()


# SweepSpec fields only the toy models' run-length rule and data use (`build_runs`
# passes them to backends whose run length is "steps"; an epochs backend has its own)
_TOY_ONLY = ("datasets", "chains", "n", "dim", "data_mean", "data_std", "noise_std", "time", "burn_time", "max_steps")


def _settings_record(spec: SweepSpec) -> dict:
    """What sweep.json stores: the spec, without the fields this backend does
    not use (listed under "not_used"), so the file shows what ran."""
    d = dataclasses.asdict(spec)
    if get_backend(spec.backend).run_length == "steps":
        return {"spec": d, "format": "gapkit-sweep/1"}
    unused = [k for k in _TOY_ONLY if k in d]
    return {"spec": {k: v for k, v in d.items() if k not in unused}, "not_used": unused, "format": "gapkit-sweep/1"}


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
    store.write_settings(_settings_record(spec))
    runs = build_runs(spec)
    keys = [config_key(c) for c in runs]
    todo = [i for i, k in enumerate(keys) if not store.has(k)]
    reused = len(runs) - len(todo)
    backend = get_backend(spec.backend)
    if todo and backend.preflight is not None:
        backend.preflight(spec)  # a missing package or device is a one-line error before any work
    own = executor is None
    if own:
        executor = make_executor(scheduler=scheduler, workers=workers, n_items=len(todo))
    bar = _Progress(len(runs), reused, progress,
                    what=f"computing {len(todo)} on {spec.backend} ({getattr(executor, 'name', type(executor).__name__)})")
    computed = 0
    try:
        for j, got in executor.imap_unordered(functools.partial(execute_run, backend=backend),
                                                 [runs[i] for i in todo]):
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
