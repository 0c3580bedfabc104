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
from ._report import findings_by_variant, write_findings, write_report
from ._spec import SweepSpec, build_runs
from ._store import ResultsStore, config_key, jsonable

__all__ = ["execute_run", "run_sweep", "TRACE_KEYS"]

# Per-run arrays a backend returns that the record keeps under result["traces"]
# (the figures' Fig 7 and Fig 8 read them; runs.csv leaves them out): (K, M, S)
# per-epoch train/test loss and accuracy, and Fig 7's (K M, 20) late-epoch
# test loss and per-example test-loss std sigma_l.
TRACE_KEYS = ("trace_train", "trace_test", "trace_train_acc", "trace_test_acc", "fig7_test_loss", "fig7_sigma_l")


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
    traces = {k: np.asarray(v, dtype=np.float64).tolist() for k, v in arrays.items() if k in TRACE_KEYS}
    if traces:
        res["traces"] = traces  # per-member per-epoch records for the figures (not in runs.csv)
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
    backend = get_backend(spec.backend)
    if todo and backend.preflight is not None:
        backend.preflight(spec)  # a missing package or device is a one-line error before any work
    own = executor is None
    if own:
        executor = make_executor(scheduler=scheduler, workers=workers, n_items=len(todo))
    bar = _Progress(len(runs), reused, progress)
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
    summary = findings_by_variant(store, keys)
    findings_path = write_findings(store, summary)
    summary.update(runs_total=len(runs), runs_reused=reused, runs_computed=computed, out=str(Path(out)),
                   table=str(store.table_path), executor=getattr(executor, "name", type(executor).__name__),
                   wall_seconds=_time.perf_counter() - t0)
    summary["findings_file"] = str(findings_path)
    if figures:
        rep = write_report(store, Path(out), keys=keys, findings=summary)
        summary.update(figures=rep["figures"], report=rep["markdown"], report_html=rep["html"], regime=rep["regime"])
    return summary
