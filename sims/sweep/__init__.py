"""gapkit.sims.sweep: grid -> store -> findings (one job: temperature sweeps).

The sweep spec, presets and run list with its seeds, the runner
(`_runner`), the atomic results store (`_store`), the executors (serial,
process pool, Dask; `_executor`) and the figure panels (`_figures`). A sweep
runs on any registered backend (`gapkit.sims._backends`).
"""
from ._executor import DaskExecutor as DaskExecutor
from ._executor import ProcessExecutor as ProcessExecutor
from ._executor import SerialExecutor as SerialExecutor
from ._executor import make_executor as make_executor
from ._spec import PRESETS as PRESETS
from ._spec import SweepSpec as SweepSpec
from ._spec import build_runs as build_runs
from ._spec import make_spec as make_spec
from ._runner import execute_run as execute_run
from ._runner import run_sweep as run_sweep
from ._store import ResultsStore as ResultsStore
from ._store import config_key as config_key
