"""Lazy re-exports for package ``__init__`` files (PEP 562).

A package lists its public names and the module holding each; a name's module
is imported the first time the name is read, so ``import gapkit.sims`` (which
``gapkit --help`` does) loads neither numba, scipy.stats nor sympy.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence


def lazy_exports(package: str, table: Mapping[str, Sequence[str]]) -> tuple[Callable, Callable, list[str]]:
    """(``__getattr__``, ``__dir__``, ``__all__``) for the package named `package`.

    `table` maps a module (absolute, or relative to `package` with a leading
    dot) to the names it exports; ``"PUBLIC=private"`` re-exports ``private``
    under another name. A name read once is stored on the package, so later
    reads cost a dict lookup.
    """
    where: dict[str, tuple[str, str]] = {}
    for module, names in table.items():
        for entry in names:
            public, _, private = entry.partition("=")
            where[public] = (module, private or public)

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = where[name]
        value = getattr(importlib.import_module(module, package), attr)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__, sorted(where)
