"""Argument types for the command line and argument checks for public functions.

Every check raises with a message that names the parameter and the allowed
range, e.g. ``lr must be > 0 (got -1.0)``. The CLI turns these into one-line
errors with exit status 2 (see `_cli.py`).
"""
from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "check_positive",
    "check_nonneg",
    "check_int",
    "check_prob",
    "check_finite_array",
    "positive_float",
    "nonneg_float",
    "finite_float",
    "int_at_least",
    "unit_interval",
    "float_list",
    "int_list",
    "prefix_list",
]


# ---------------------------------------------------------------- library checks
def check_positive(name: str, value, *, allow_inf: bool = False) -> float:
    v = _as_float(name, value)
    if not (v > 0) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be > 0{'' if allow_inf else ' and finite'} (got {value!r})")
    return v


def check_nonneg(name: str, value) -> float:
    v = _as_float(name, value)
    if not (v >= 0) or math.isinf(v):
        raise ValueError(f"{name} must be >= 0 and finite (got {value!r})")
    return v


def check_int(name: str, value, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer (got {value!r})")
    if isinstance(value, (float, np.floating)):
        if not float(value).is_integer():
            raise ValueError(f"{name} must be an integer (got {value!r})")
        value = int(value)
    if not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer (got {value!r})")
    v = int(value)
    if lo is not None and v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}{_hi(hi)} (got {v})")
    if hi is not None and v > hi:
        raise ValueError(f"{name} must be an integer in [{lo if lo is not None else '-inf'}, {hi}] (got {v})")
    return v


def _hi(hi):
    return "" if hi is None else f" and <= {hi}"


def check_prob(name: str, p, *, atol: float = 1e-12) -> np.ndarray:
    """A probability vector: finite, >= 0, sums to 1 within atol (scaled by its length)."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of probabilities (got shape {p.shape})")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"{name} must have finite entries >= 0")
    s = float(p.sum())
    if abs(s - 1.0) > atol * max(1, p.size):
        raise ValueError(f"{name} must sum to 1 (got sum {s!r})")
    return p


def check_finite_array(name: str, a, *, ndim: int | None = None, shape: tuple | None = None) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D (got shape {a.shape})")
    if shape is not None:
        want = tuple(shape)
        if len(want) != a.ndim or any(w is not None and w != s for w, s in zip(want, a.shape)):
            raise ValueError(f"{name} must have shape {want} (got {a.shape})")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (found nan or inf)")
    return a


def _as_float(name, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number (got {value!r})") from None
    if math.isnan(v):
        raise ValueError(f"{name} must be a number (got nan)")
    return v


# ---------------------------------------------------------------- argparse types
def _argtype(check):
    def make(name: str, *a, **k):
        def conv(s: str):
            try:
                return check(name, _parse_num(name, s), *a, **k)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None

        conv.__name__ = name
        return conv

    return make


def _parse_num(name: str, s: str):
    s = s.strip()
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        raise ValueError(f"{name} must be a number (got {s!r})") from None


positive_float = _argtype(check_positive)
nonneg_float = _argtype(check_nonneg)


def finite_float(name: str):
    def conv(s: str):
        try:
            v = _as_float(name, _parse_num(name, s))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if math.isinf(v):
            raise argparse.ArgumentTypeError(f"{name} must be finite (got {s!r})")
        return v

    return conv


def int_at_least(name: str, lo: int, hi: int | None = None):
    def conv(s: str):
        try:
            return check_int(name, _parse_num(name, s), lo, hi)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return conv


def unit_interval(name: str, *, closed_right: bool = False):
    def conv(s: str):
        try:
            v = _as_float(name, _parse_num(name, s))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        ok = 0 <= v <= 1 if closed_right else 0 <= v < 1
        if not ok:
            rng = "[0, 1]" if closed_right else "[0, 1)"
            raise argparse.ArgumentTypeError(f"{name} must be in {rng} (got {s})")
        return v

    return conv


def _list(name: str, item, s: str) -> list:
    parts = [p for p in s.replace(" ", "").split(",")]
    if not parts or any(p == "" for p in parts):
        raise argparse.ArgumentTypeError(f"{name} must be a non-empty comma-separated list (got {s!r})")
    return [item(p) for p in parts]


def float_list(name: str, *, positive: bool = True):
    conv_item = positive_float(name) if positive else finite_float(name)
    return lambda s: _list(name, conv_item, s)


def int_list(name: str, lo: int = 1):
    conv_item = int_at_least(name, lo)
    return lambda s: _list(name, conv_item, s)


def prefix_list(name: str):
    def conv(s: str) -> list[str]:
        parts = [p.strip() for p in s.split(",")]
        if not parts or any(not p for p in parts):
            raise argparse.ArgumentTypeError(f"{name} must be a non-empty comma-separated list of check-id prefixes (got {s!r})")
        return parts

    return conv


def first_bad(values: Sequence, pred) -> int | None:
    for i, v in enumerate(values):
        if not pred(v):
            return i
    return None
