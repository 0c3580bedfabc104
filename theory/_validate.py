"""The one argument-check layer of gapkit (theory/ must not import gapkit.sims,
so it lives here and sims/, gpu/ and the CLI import it).

Every check raises `ArgumentError` (a ``ValueError``) naming the parameter and
the allowed range, e.g. ``T must be > 0 and finite (got -1)``, with the
parameter's name in ``.param``. Public functions of theory/, sims/ and gpu/
call these (or raise `ArgumentError` themselves for rules the checks do not
cover); private helpers trust their inputs. The command line turns an
`ArgumentError`, and only that, into a one-line error with exit status 2: any
other exception is a bug and shows its traceback.
"""
from __future__ import annotations

import math
import re

import numpy as np

__all__ = [
    "ArgumentError",
    "check_finite",
    "check_positive",
    "check_nonneg",
    "check_interval",
    "check_int",
    "check_choice",
    "check_prob",
    "check_array",
    "check_bool",
]

# A message by the convention above starts with the parameter's name: "lr must ...",
# "--lr-grid must ...", "theta_0 has ...".
_LEADING_NAME = re.compile(r"^(-{0,2}[A-Za-z_][\w.\-\[\]]*) (?:must|is|has|needs|applies|gives)\b")


class ArgumentError(ValueError):
    """A bad argument: the message names the parameter and the allowed range.

    ``param`` is the parameter's name: given, or read from the message's
    leading word when the message follows the convention ("lr must be > 0 ...");
    None when neither says it."""

    def __init__(self, message: str, *, param: str | None = None):
        super().__init__(message)
        if param is None:
            m = _LEADING_NAME.match(str(message))
            param = m.group(1) if m else None
        self.param = param

    def __reduce__(self):  # keep .param across process boundaries (process pools, Dask)
        return (self.__class__, (str(self),), {"param": self.param})


def _as_float(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_, str, bytes)) or value is None:  # "0.1" is text, not a number
        raise ArgumentError(f"{name} must be a number (got {value!r})", param=name)
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ArgumentError(f"{name} must be a number (got {value!r})", param=name) from None
    if math.isnan(v):
        raise ArgumentError(f"{name} must be a number (got nan)", param=name)
    return v


def check_finite(name: str, value) -> float:
    """A finite number (not nan, not +-inf)."""
    v = _as_float(name, value)
    if math.isinf(v):
        raise ArgumentError(f"{name} must be finite (got {value!r})", param=name)
    return v


def check_positive(name: str, value) -> float:
    """A finite number > 0."""
    v = _as_float(name, value)
    if not (v > 0) or math.isinf(v):
        raise ArgumentError(f"{name} must be > 0 and finite (got {value!r})", param=name)
    return v


def check_nonneg(name: str, value) -> float:
    """A finite number >= 0."""
    v = _as_float(name, value)
    if not (v >= 0) or math.isinf(v):
        raise ArgumentError(f"{name} must be >= 0 and finite (got {value!r})", param=name)
    return v


def check_interval(name: str, value, lo: float, hi: float, *, closed_left: bool = True,
                   closed_right: bool = True) -> float:
    """A number in the interval from lo to hi, each end closed or open,
    e.g. a momentum mu in [0, 1)."""
    v = _as_float(name, value)
    ok_lo = v >= lo if closed_left else v > lo
    ok_hi = v <= hi if closed_right else v < hi
    if not (ok_lo and ok_hi):
        rng = f"{'[' if closed_left else '('}{lo:g}, {hi:g}{']' if closed_right else ')'}"
        raise ArgumentError(f"{name} must be in {rng} (got {value!r})", param=name)
    return v


def check_int(name: str, value, lo: int | None = None, hi: int | None = None) -> int:
    """An integer (an integral float is accepted) in [lo, hi]."""
    if isinstance(value, (bool, np.bool_)):
        raise ArgumentError(f"{name} must be an integer (got {value!r})", param=name)
    if isinstance(value, (float, np.floating)):
        if not float(value).is_integer():
            raise ArgumentError(f"{name} must be an integer (got {value!r})", param=name)
        value = int(value)
    if not isinstance(value, (int, np.integer)):
        raise ArgumentError(f"{name} must be an integer (got {value!r})", param=name)
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        if hi is None:
            rng = f">= {lo}"
        elif lo is None:
            rng = f"<= {hi}"
        else:
            rng = f"in [{lo}, {hi}]"
        raise ArgumentError(f"{name} must be an integer {rng} (got {v})", param=name)
    return v


def check_bool(name: str, value) -> bool:
    """True or False (numpy bools too); 0/1, "yes" and None are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentError(f"{name} must be True or False (got {value!r})", param=name)
    return bool(value)


def check_choice(name: str, value, choices):
    """One of `choices` (compared with ==)."""
    choices = tuple(choices)
    if value not in choices:
        raise ArgumentError(f"{name} must be one of {choices} (got {value!r})", param=name)
    return value


def check_prob(name: str, p, *, size: int | None = None, atol: float = 1e-12) -> np.ndarray:
    """A probability vector: 1-D, finite, >= 0, sums to 1 within atol * len."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ArgumentError(f"{name} must be a non-empty 1-D array of probabilities (got shape {p.shape})",
                            param=name)
    if size is not None and p.size != size:
        raise ArgumentError(f"{name} must have length {size} (got {p.size})", param=name)
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ArgumentError(f"{name} must have finite entries >= 0", param=name)
    s = float(p.sum())
    if abs(s - 1.0) > atol * max(1, p.size):
        raise ArgumentError(f"{name} must sum to 1 (got sum {s!r})", param=name)
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
    allow_nan: bool = False,
) -> np.ndarray:
    """A float64 array of real numbers with optional rank/shape/sign
    constraints; finite unless allow_inf (then +inf is allowed) or allow_nan
    (nan allowed: the caller drops it). ``shape`` entries may be None. None,
    text, complex and object entries are refused."""
    if a is None:
        raise ArgumentError(f"{name} must be an array of numbers (got None)", param=name)
    try:
        raw = np.asarray(a)
    except (TypeError, ValueError):  # ragged nesting
        raise ArgumentError(f"{name} must be an array of numbers (got a ragged {type(a).__name__})",
                            param=name) from None
    if raw.dtype.kind not in "biuf":
        kind = {"c": "complex numbers", "U": "text", "S": "bytes", "O": "objects"}.get(raw.dtype.kind, str(raw.dtype))
        raise ArgumentError(f"{name} must be an array of real numbers (got {kind})", param=name)
    a = raw.astype(np.float64)
    if ndim is not None:
        dims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in dims:
            raise ArgumentError(f"{name} must be {' or '.join(map(str, dims))}-D (got shape {a.shape})", param=name)
    if shape is not None:
        want = tuple(shape)
        if len(want) != a.ndim or any(w is not None and w != s for w, s in zip(want, a.shape)):
            raise ArgumentError(f"{name} must have shape {want} (got {a.shape})", param=name)
    if (np.any(np.isnan(a)) and not allow_nan) or (not allow_inf and np.any(np.isinf(a))):
        raise ArgumentError(f"{name} must be finite (found nan or inf)", param=name)
    if allow_inf and np.any(a == -np.inf):
        raise ArgumentError(f"{name} must not contain -inf", param=name)
    if positive and np.any(a <= 0):
        raise ArgumentError(f"{name} must have entries > 0 (min {float(a.min())!r})", param=name)
    if nonneg and np.any(a < 0):
        raise ArgumentError(f"{name} must have entries >= 0 (min {float(a.min())!r})", param=name)
    return a
