"""Assertion helpers of gapkit.testing: identities, inequalities, simulated vs theory values.

Each returns a `Check` (what was compared, the tolerance and where it comes from) and raises
AssertionError with that record when the check fails.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from gapkit.theory._validate import ArgumentError, check_finite, check_nonneg, check_positive

__all__ = ["Check", "assert_identity", "assert_inequality", "assert_within_se", "holds"]

#: Default relative tolerance of an identity: ~1e3-1e4 times double rounding for sums of up to a few
#: thousand terms (the exact engine's sums).
RTOL = 1e-12


class Check(NamedTuple):
    """One comparison: lhs `relation` rhs within `tol` (absolute), `tolerance_source` says why that tol."""

    lhs: float
    rhs: float
    relation: str
    tol: float
    tolerance_source: str
    passed: bool


def _raise_unless(c: Check) -> Check:
    if not c.passed:
        raise AssertionError(f"{c.lhs!r} {c.relation} {c.rhs!r} fails by more than {c.tol:.3g} "
                             f"({c.tolerance_source})")
    return c


def _identity_check(lhs, rhs, terms, rtol) -> Check:
    scale = max([abs(float(lhs)), abs(float(rhs))] + [abs(float(t)) for t in terms])
    tol = rtol * scale + 1e-300
    ok = math.isfinite(float(lhs)) and math.isfinite(float(rhs)) and abs(float(lhs) - float(rhs)) <= tol
    return Check(float(lhs), float(rhs), "==", tol, f"rtol {rtol:g} x largest term {scale:.3g}", ok)


def _inequality_check(lhs, rhs, scale, rtol) -> Check:
    tol = rtol * abs(float(scale)) + 1e-300
    ok = math.isfinite(float(lhs)) and math.isfinite(float(rhs)) and float(lhs) <= float(rhs) + tol
    return Check(float(lhs), float(rhs), "<=", tol, f"rtol {rtol:g} x scale {abs(float(scale)):.3g} (rounding)", ok)


def assert_identity(lhs, rhs=None, *terms, rtol: float = RTOL) -> Check:
    """lhs == rhs to rtol relative to the largest of |lhs|, |rhs| and |terms| (the terms summed to make
    either side: an identity whose sides are both ~0 is judged against the terms, not against 0).
    lhs may be a `gapkit.theory.Identity` with relation "==" (then its scale is used)."""
    rtol = check_positive("rtol", rtol)
    if rhs is None and hasattr(lhs, "relation"):
        if lhs.relation != "==":
            raise ArgumentError(f"assert_identity needs an '==' Identity (got {lhs.relation!r})", param="lhs")
        return _raise_unless(_identity_check(lhs.lhs, lhs.rhs, (lhs.scale,), rtol))
    return _raise_unless(_identity_check(lhs, rhs, terms, rtol))


def assert_inequality(lhs, rhs=None, scale=None, *, rtol: float = RTOL) -> Check:
    """lhs <= rhs up to rtol x scale (rounding; scale default max(|lhs|, |rhs|)). lhs may be a
    `gapkit.theory.Identity` with relation "<=" (its scale is used)."""
    rtol = check_nonneg("rtol", rtol)
    if rhs is None and hasattr(lhs, "relation"):
        if lhs.relation != "<=":
            raise ArgumentError(f"assert_inequality needs a '<=' Identity (got {lhs.relation!r})", param="lhs")
        return _raise_unless(_inequality_check(lhs.lhs, lhs.rhs, lhs.scale, rtol))
    scale = max(abs(float(lhs)), abs(float(rhs))) if scale is None else scale
    return _raise_unless(_inequality_check(lhs, rhs, scale, rtol))


def assert_within_se(value, se, truth, *, k: float = 4.0, source: str) -> Check:
    """|value - truth| <= k se: a simulated `value` with standard error `se` (source: how se was estimated,
    recorded with the verdict) against a known theory value. With a correct se and k = 4 a true value fails
    with probability ~6e-5 (normal approximation). Not a test of equality: passing says only that the
    difference is below k se."""
    se = check_nonneg("se", se)
    k = check_positive("k", k)
    if not isinstance(source, str) or not source.strip():
        raise ArgumentError("source must say where the standard error comes from", param="source")
    value, truth = check_finite("value", value), check_finite("truth", truth)
    tol = k * se
    return _raise_unless(Check(value, truth, "~=", tol, f"{k:g} standard errors; se: {source}",
                               abs(value - truth) <= tol))


def holds(result, rtol: float = RTOL) -> bool:
    """Whether a claim's result holds: a bool as it is; an `Identity` (or `Check`) by its relation."""
    if isinstance(result, Check):
        return result.passed
    if hasattr(result, "relation"):
        if result.relation == "==":
            return _identity_check(result.lhs, result.rhs, (result.scale,), rtol).passed
        return _inequality_check(result.lhs, result.rhs, result.scale, rtol).passed
    return bool(result)
