"""gapkit.sims.verify: the check catalogue of `gapkit verify` (one job).

The check registry and its verdict rules (`_registry`), the report writer
(`_report`) and the catalogue itself (`catalogue/`, one module per family of
checks). Backends add their checks through `gapkit.sims._backends`.
"""
from gapkit.theory._lazy import lazy_exports

# module -> the public names it holds (imported on first use; PEP 562)
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "._registry": ("CheckContext", "CheckResult", "register_check", "registered_checks", "run_checks"),
})
