"""gapkit.sims.verify: the check catalogue of `gapkit verify` (one job).

The check registry and its verdict rules (`_registry`), the report writer
(`_report`) and the catalogue itself (`catalogue/`, one module per family of
checks). Backends add their checks through `gapkit.sims._backends`.
"""
from ._registry import CheckContext as CheckContext
from ._registry import CheckResult as CheckResult
from ._registry import register_check as register_check
from ._registry import registered_checks as registered_checks
from ._registry import run_checks as run_checks
