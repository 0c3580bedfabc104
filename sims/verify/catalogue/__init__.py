"""The check catalogue of `gapkit verify`: one module per family of checks.

Each module registers its providers with `gapkit.sims.verify._registry.register_check`
when imported. `load_catalogue` imports the modules in `_MODULES` that exist,
then asks the plugins (the torch backend) to register theirs.
"""
from __future__ import annotations

import importlib
import importlib.util

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
    "indicators",   # related papers' indicators on known cases
)

_loaded = False


def load_catalogue() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in _MODULES:
        full = f"{__name__}.{name}"
        if importlib.util.find_spec(full) is not None:
            importlib.import_module(full)
    from gapkit.sims._backends import load_plugins

    for plugin in load_plugins():
        hook = getattr(plugin, "register_checks", None)
        if hook is not None:
            hook()
