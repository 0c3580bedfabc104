"""argparse types of the command line, built on the one validation layer
(`gapkit.theory._validate`): each raises with a message that names the
parameter and the allowed range, e.g. ``--lr must be > 0 (got -1.0)``.
"""
from __future__ import annotations

import argparse
import math

from gapkit.theory._validate import _as_float, check_int, check_nonneg, check_positive

__all__ = [
    "positive_float",
    "nonneg_float",
    "finite_float",
    "int_at_least",
    "unit_interval",
    "float_list",
    "int_list",
    "prefix_list",
]


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
