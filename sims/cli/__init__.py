"""gapkit.sims.cli: the `gapkit` command line (one job: argv -> call -> print).

`_main` builds the parser from the built-in commands (`_verify`, `_simulate`,
`_sweep`, `_score`, `_bench`) and from the commands of registered backends;
`_args` holds the argparse types. Light at import: heavy modules load inside
each command's `run`.
"""
from ._main import main as main
