"""The sweep runner: one run on its backend (`execute_run`), the whole grid into
the results store (`run_sweep`). The spec, presets and run list are in `_spec`;
findings from the stored records in `_findings`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import signal
import sys
import threading
import time as _time
from pathlib import Path

import numpy as np

from gapkit.sims._backends import Backend, get_backend
from gapkit.theory._validate import ArgumentError
from ._report import findings_by_variant, write_findings, write_report
from ._spec import SweepSpec, build_runs
from ._store import ResultsStore, config_key, jsonable

__all__ = ["execute_run", "run_sweep", "TRACE_KEYS"]

# Per-run arrays a backend returns that the record keeps under result["traces"]
# (the figures' Fig 7 and Fig 8 read them; runs.csv leaves them out): (K, M, S)
# per-epoch train/test loss and accuracy, and Fig 7's (K M, 20) late-epoch
# test loss and per-example test-loss std sigma_l.
TRACE_KEYS = ("trace_train", "trace_test", "trace_train_acc", "trace_test_acc", "fig7_test_loss", "fig7_sigma_l")
# The record keeps the traces of the first TRACE_DRAWS data draws only (the
# figures draw one member; the run's own diagnostics saw every draw): a toy
# sweep with 8192 draws would otherwise write ~1.6 M numbers per trace per run.
TRACE_DRAWS = 16


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
    equilibration diagnostics and verdict (``steady``, ``drift_z``, ``capped``),
    the per-draw values ``per_draw`` (`per_draw_values`; kept out of runs.csv)
    and, when the config asks, the indicator columns (`_indicator_columns`).
    """
    from gapkit.sims.stats._estimators import per_draw_values

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
    if "train" in arrays and "test" in arrays:  # per-draw values: the unit of the paired finding tests
        res["per_draw"] = per_draw_values(arrays["train"], arrays["test"], diverged=arrays.get("diverged"),
                                          test_acc=arrays.get("test_acc"))
    if res.get("stable") is False:  # some data set's chain has no stationary law (engine._stability)
        res["steady"] = False
        res["eq_reasons"] = "; ".join(r for r in (res.get("eq_reasons"), res.get("stability")) if r)
    traces = {k: np.asarray(v, dtype=np.float64)[:TRACE_DRAWS].tolist() for k, v in arrays.items()
              if k in TRACE_KEYS}
    if traces:
        res["traces"] = traces  # per-member per-epoch records of the first draws, for the figures (not in runs.csv)
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


def _memory_guard(spec: SweepSpec, parallel: int, executor) -> None:
    """Refuse a sweep whose `parallel` largest runs would not fit in memory
    (`gapkit.sims.engine._memory`), before any run starts."""
    from gapkit.sims.engine._memory import require_memory
    from ._spec import run_memory

    try:
        require_memory(run_memory(spec) * parallel,
                       f"{parallel} run(s) at once of datasets={spec.datasets} x chains={spec.chains}, n={spec.n}, "
                       f"dim={spec.dim}", "datasets")
    except BaseException:
        if executor is not None:
            executor.close()
        raise


def run_sweep(spec: SweepSpec, out, *, executor=None, scheduler: str | None = None, workers: int | None = None,
              progress: bool = True, table_every: int = 20, figures: bool = True) -> dict:
    """Run (or resume) a sweep into the store at `out`; returns the summary.

    Finished runs found in the store are reused, the rest computed by
    `executor` (default: `make_executor(scheduler=..., workers=...)`) and
    stored one by one as they finish; runs.csv is rebuilt every
    `table_every` new records and at the end.
    """
    if not isinstance(spec, SweepSpec):
        raise ArgumentError(f"spec must be a SweepSpec (make_spec builds one; got {type(spec).__name__})",
                            param="spec")
    spec.validate()
    t0 = _time.perf_counter()
    store = ResultsStore.open(out)
    settings = _settings_record(spec)
    with store.lock(), _sigterm_interrupts():
        store.check_settings(settings)
        store.write_settings(settings)
        return _sweep_locked(spec, store, out, t0, executor=executor, scheduler=scheduler, workers=workers,
                             progress=progress, table_every=table_every, figures=figures)


@contextlib.contextmanager
def _sigterm_interrupts():
    """SIGTERM during the sweep acts as Ctrl-C (KeyboardInterrupt: the pool is
    stopped, finished runs are kept); only in the main thread, restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _sweep_locked(spec, store, out, t0, *, executor, scheduler, workers, progress, table_every, figures) -> dict:
    """`run_sweep` with the folder's lock held and its settings written."""
    from ._executor import make_executor

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
    if todo and getattr(executor, "name", "") != "dask":  # runs in flight at once share this machine's memory
        _memory_guard(spec, min(len(todo), int(getattr(executor, "workers", 1))), executor if own else None)
    bar = _Progress(len(runs), reused, progress,
                    what=f"computing {len(todo)} on {spec.backend} ({getattr(executor, 'name', type(executor).__name__)})")
    computed = 0
    try:
        for j, got in executor.imap_unordered(functools.partial(execute_run, backend=backend),
                                                 [runs[i] for i in todo]):
            try:
                store.put(runs[todo[j]], got["result"], got.get("meta"))
            except OSError as exc:  # a full disk, a folder gone read-only: what is stored stays
                raise ArgumentError(f"out {store.root} cannot be written ({exc.strerror or exc}); the "
                                    f"{reused + computed} finished runs are kept", param="out") from None
            computed += 1
            bar.step()
            if table_every and computed % table_every == 0:
                store.write_table(keys)
    except BaseException:
        if own:
            executor.terminate()  # Ctrl-C, SIGTERM, an error: no worker outlives the sweep
        raise
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
