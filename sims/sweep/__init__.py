"""gapkit.sims.sweep: grid -> store -> findings (one job: temperature sweeps).

The sweep spec, presets and run list with its seeds, the runner
(`_runner`), the atomic results store (`_store`), the executors (serial,
process pool, Dask; `_executor`) and the figure panels (`_figures`). A sweep
runs on any registered backend (`gapkit.sims._backends`).
"""
from gapkit.theory._lazy import lazy_exports

# module -> the public names it holds (imported on first use; PEP 562)
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "._executor": ("DaskExecutor", "ProcessExecutor", "SerialExecutor", "make_executor"),
    "._spec": ("PRESETS", "SweepSpec", "build_runs", "make_spec"),
    "._runner": ("execute_run", "run_sweep"),
    "._store": ("ResultsStore", "config_key"),
})
