"""gapkit: a numerical theory toolkit for "Studying Generalization Through Data
Averaging" (Gomez-Uribe).

Sub-packages: `gapkit.theory` (closed forms, exact laws, derivations),
`gapkit.sims` (Numba simulators, estimators, sweeps, the check catalogue, the
command line) and the torch backend (the gpu sub-package; needs the gpu extra).
``python -m gapkit`` is the ``gapkit`` command. This folder is the top-level
package (pyproject maps ``gapkit`` here); importing it loads nothing else.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gapkit")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
