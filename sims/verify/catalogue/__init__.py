"""The check catalogue of `gapkit verify`: one module per family of checks.

Each module registers its providers with `gapkit.sims.verify._registry.register_check`
when imported. `load_catalogue` imports every module in `_MODULES`, then takes
from each registered backend (`gapkit.sims._backends`) its warm-up and its
checks (the torch backend's arrive with its ``gapkit.plugins`` entry point); a
plugin that failed to load shows as a SKIP row ``plugin.<name>.load``.
"""
from __future__ import annotations

import importlib

# Order = order of rows in the report: exact identities first, then closed
# forms, simulators, approximations, the temperature predictions.
_MODULES = (
    "exact",        # eq02..eq09, eq21 on random universes (theory engine)
    "symbolic",     # sympy derivations: eq25/eq26/eq27, eq41, curl-free, eq55
    "closedform",   # quadratic closed forms vs Lyapunov vs simulation
    "simulators",   # simulators against their own exact discrete law
    "fokker",       # Fokker-Planck solver vs Boltzmann vs simulation
    "collapse",     # T collapse of plain SGD; momentum's departure
    "approx",       # eq10..eq14, eq22..eq24, eq50..eq53 against exact gap
    "theta_grid",   # closed form vs simulation-on-a-grid vs approximations, one table
    "theta_grid2d", # the same table in 2-D
    "temperature",  # eq01 fit, eq26 T_opt, eq27, predictions A/B/C
    "fpr",          # false-claim rates of the finding tests over 20 seeds (--full)
    "indicators",   # related papers' indicators on known cases
)

_loaded = False


def load_catalogue() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in _MODULES:  # every module is gapkit's own: a failing import is a bug, and shows
        importlib.import_module(f"{__name__}.{name}")
    from gapkit.sims._backends import backends, plugin_errors
    from gapkit.sims.verify._registry import register_plugin_failure, register_warmup

    for b in backends():
        if b.warmup is not None:
            register_warmup(modules=b.warmup_modules, start=b.warmup_start)(b.warmup)
        if b.register_checks is not None:
            b.register_checks()
    for name, message in plugin_errors().items():
        register_plugin_failure(name, message)
