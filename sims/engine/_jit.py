"""The one jit decorator every Numba kernel in gapkit uses.

Fixing the options in one place keeps kernels consistent: on-disk caching (so
the second run of a command does not recompile), numpy's error model (division
by zero gives inf/nan as in numpy, which the wrappers then detect), and no
fastmath (IEEE semantics: results must not depend on how a loop vectorises).
"""
from __future__ import annotations

import numba

__all__ = ["jit", "pjit"]

_OPTIONS = dict(cache=True, error_model="numpy", fastmath=False)


def jit(fn=None, **overrides):
    """Serial kernel: ``@jit`` or ``@jit(inline="always")``."""
    opts = {**_OPTIONS, **overrides}
    if fn is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(fn)


def pjit(fn=None, **overrides):
    """Parallel kernel (uses ``numba.prange``). Results must not depend on the
    thread count: every parallel iteration owns its random stream and its
    accumulators."""
    opts = {**_OPTIONS, "parallel": True, **overrides}
    if fn is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(fn)
