"""Plugin registry: how the torch backend adds commands and checks without
gapkit.sims importing gapkit.gpu at module level.

A plugin is a module object (or any object) exposing optional hooks:
``register_commands(add_command)`` and ``register_checks()``. Plugins are found
through the ``gapkit.plugins`` entry-point group (installed packages), falling
back to the built-in torch plugin, whose module imports no torch at import time.
"""
from __future__ import annotations

import importlib
from importlib import metadata

__all__ = ["load_plugins"]

_BUILTIN = ("gapkit.gpu._plugin",)
_cache: list | None = None


def load_plugins() -> list:
    global _cache
    if _cache is not None:
        return _cache
    found = {}
    try:
        eps = metadata.entry_points(group="gapkit.plugins")
    except Exception:  # pragma: no cover - broken metadata should not break the CLI
        eps = []
    for ep in eps:
        try:
            obj = ep.load()
        except ImportError:
            continue
        mod = importlib.import_module(obj.__module__) if callable(obj) else obj
        found[mod.__name__] = mod
    for name in _BUILTIN:
        if name not in found:
            try:
                found[name] = importlib.import_module(name)
            except ImportError:
                pass
    _cache = list(found.values())
    return _cache
