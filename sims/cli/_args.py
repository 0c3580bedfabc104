"""argparse types of the command line, built on the one validation layer
(`gapkit.theory._validate`): each turns the layer's `ArgumentError` into
argparse's error, so a bad value ends in one line naming the option and the
allowed range, e.g. ``--lr must be > 0 and finite (got -1.0)``, and exit status 2.
"""
from __future__ import annotations

import argparse

from gapkit.theory._validate import (
    ArgumentError,
    check_finite,
    check_int,
    check_interval,
    check_nonneg,
    check_positive,
)

__all__ = [
    "limited",
    "positive_float",
    "nonneg_float",
    "finite_float",
    "int_at_least",
    "unit_interval",
    "float_list",
    "int_list",
    "prefix_list",
]


def _parse_num(name: str, s: str):
    """The number a command-line word spells: an int when it is one (so an
    integer option sees 3, not 3.0), else a float ("1e-3", "nan", "inf")."""
    s = s.strip()
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        raise ArgumentError(f"{name} must be a number (got {s!r})", param=name) from None


def _argtype(name: str, check, *a, **k):
    def conv(s: str):
        try:
            return check(name, _parse_num(name, s), *a, **k)
        except ArgumentError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    conv.__name__ = name  # argparse names the type in some messages
    return conv


def limited(name: str, key: str):
    """A number in the range gapkit can honour for setting `key`
    (`gapkit.sims._settings.LIMITS`): an integer for integer ranges, else a float."""
    from gapkit.sims._settings import LIMITS

    lo, hi = LIMITS[key]
    if isinstance(lo, int) and isinstance(hi, int):
        return _argtype(name, check_int, lo, hi)
    return _argtype(name, check_interval, lo, hi)


def positive_float(name: str):
    """A finite number > 0."""
    return _argtype(name, check_positive)


def nonneg_float(name: str):
    """A finite number >= 0."""
    return _argtype(name, check_nonneg)


def finite_float(name: str):
    """Any finite number."""
    return _argtype(name, check_finite)


def int_at_least(name: str, lo: int, hi: int | None = None):
    """An integer in [lo, hi] (an integral float such as 1e3 is accepted)."""
    return _argtype(name, check_int, lo, hi)


def unit_interval(name: str, *, closed_right: bool = False):
    """A number in [0, 1) (or [0, 1] with closed_right), e.g. a momentum."""
    return _argtype(name, check_interval, 0.0, 1.0, closed_right=closed_right)


def _list(name: str, item, s: str) -> list:
    parts = [p for p in s.replace(" ", "").split(",")]
    if not parts or any(p == "" for p in parts):
        raise argparse.ArgumentTypeError(f"{name} must be a non-empty comma-separated list (got {s!r})")
    return [item(p) for p in parts]


def float_list(name: str, *, positive: bool = True, key: str | None = None):
    """A comma-separated list of numbers (> 0 when `positive`; in LIMITS[key] when given)."""
    conv_item = limited(name, key) if key else positive_float(name) if positive else finite_float(name)
    return lambda s: _list(name, conv_item, s)


def int_list(name: str, lo: int = 1, *, key: str | None = None):
    """A comma-separated list of integers >= lo (in LIMITS[key] when given)."""
    conv_item = limited(name, key) if key else int_at_least(name, lo)
    return lambda s: _list(name, conv_item, s)


def prefix_list(name: str):
    def conv(s: str) -> list[str]:
        parts = [p.strip() for p in s.split(",")]
        if not parts or any(not p for p in parts):
            raise argparse.ArgumentTypeError(f"{name} must be a non-empty comma-separated list of check-id prefixes (got {s!r})")
        return parts

    return conv
