"""`gapkit --help` starts at once (issue 15): building the command line and
importing the packages load none of the heavy libraries, and every public name
of the lazily re-exporting packages still resolves to its defining object.
Structural checks, not timings (the help time is measured by `remeasure_15.sh`).
"""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

HEAVY = ("numba", "sympy", "scipy.stats", "matplotlib", "torch")
PACKAGES = (
    "gapkit.theory", "gapkit.sims", "gapkit.sims.stats", "gapkit.sims.engine",
    "gapkit.sims.sweep", "gapkit.sims.indicators", "gapkit.sims.verify",
)


def _heavy_loaded(setup: str) -> list[str]:
    """The heavy modules loaded after `setup` and a full parser build (all
    subcommands' --help), in a fresh interpreter."""
    code = (
        "import sys\n" + setup + "\n"
        "from gapkit.sims.cli._main import build_parser\nbuild_parser()\n"
        + "".join(f"import {p}\n" for p in PACKAGES)
        + f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.split()


def test_help_and_package_imports_load_no_heavy_library():
    assert _heavy_loaded("") == []


def test_the_probe_sees_a_heavy_import():
    """The check can fail: a module that imports numba at top level shows."""
    assert "numba" in _heavy_loaded("import gapkit.sims.engine._kernels")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_to_its_definition(package):
    mod = importlib.import_module(package)
    assert mod.__all__ and set(mod.__all__) <= set(dir(mod))
    for name in mod.__all__:
        value = getattr(mod, name)
        home = getattr(value, "__module__", None)
        if home is not None and home.startswith("gapkit."):
            assert getattr(importlib.import_module(home), getattr(value, "__name__", name), value) is value
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        mod.not_a_name
