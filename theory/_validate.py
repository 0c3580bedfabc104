"""Small argument checks for gapkit.theory (which must not import gapkit.sims).

Every check raises ``ValueError`` naming the parameter and the allowed range,
e.g. ``T must be > 0 and finite (got -1)``. Public functions of theory/ call
these; private helpers trust their inputs.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "check_positive",
    "check_nonneg",
    "check_int",
    "check_prob",
    "check_array",
]


def _as_float(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number (got {value!r})")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number (got {value!r})") from None
    if math.isnan(v):
        raise ValueError(f"{name} must be a number (got nan)")
    return v


def check_positive(name: str, value) -> float:
    """A finite number > 0."""
    v = _as_float(name, value)
    if not (v > 0) or math.isinf(v):
        raise ValueError(f"{name} must be > 0 and finite (got {value!r})")
    return v


def check_nonneg(name: str, value) -> float:
    """A finite number >= 0."""
    v = _as_float(name, value)
    if not (v >= 0) or math.isinf(v):
        raise ValueError(f"{name} must be >= 0 and finite (got {value!r})")
    return v


def check_int(name: str, value, lo: int | None = None, hi: int | None = None) -> int:
    """An integer (an integral float is accepted) in [lo, hi]."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer (got {value!r})")
    if isinstance(value, (float, np.floating)):
        if not float(value).is_integer():
            raise ValueError(f"{name} must be an integer (got {value!r})")
        value = int(value)
    if not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer (got {value!r})")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        if hi is None:
            rng = f">= {lo}"
        elif lo is None:
            rng = f"<= {hi}"
        else:
            rng = f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be an integer {rng} (got {v})")
    return v


def check_prob(name: str, p, *, size: int | None = None, atol: float = 1e-12) -> np.ndarray:
    """A probability vector: 1-D, finite, >= 0, sums to 1 within atol * len."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of probabilities (got shape {p.shape})")
    if size is not None and p.size != size:
        raise ValueError(f"{name} must have length {size} (got {p.size})")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"{name} must have finite entries >= 0")
    s = float(p.sum())
    if abs(s - 1.0) > atol * max(1, p.size):
        raise ValueError(f"{name} must sum to 1 (got sum {s!r})")
    return p


def check_array(
    name: str,
    a,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple | None = None,
    nonneg: bool = False,
    positive: bool = False,
    allow_inf: bool = False,
) -> np.ndarray:
    """A float64 array with optional rank/shape/sign constraints; finite unless
    allow_inf (then +inf is allowed, nan never). ``shape`` entries may be None."""
    a = np.asarray(a, dtype=np.float64)
    if ndim is not None:
        dims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in dims:
            raise ValueError(f"{name} must be {' or '.join(map(str, dims))}-D (got shape {a.shape})")
    if shape is not None:
        want = tuple(shape)
        if len(want) != a.ndim or any(w is not None and w != s for w, s in zip(want, a.shape)):
            raise ValueError(f"{name} must have shape {want} (got {a.shape})")
    if np.any(np.isnan(a)) or (not allow_inf and not np.all(np.isfinite(a))):
        raise ValueError(f"{name} must be finite (found nan or inf)")
    if allow_inf and np.any(a == -np.inf):
        raise ValueError(f"{name} must not contain -inf")
    if positive and np.any(a <= 0):
        raise ValueError(f"{name} must have entries > 0 (min {float(a.min())!r})")
    if nonneg and np.any(a < 0):
        raise ValueError(f"{name} must have entries >= 0 (min {float(a.min())!r})")
    return a
