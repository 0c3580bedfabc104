"""Tan et al.'s confound check for generalization indicators ("limitations of
fractal dimension" for the PH dimension; Birdal et al.'s indicator): an
indicator's correlation with the gap across a sweep may only reflect a
hyperparameter that drives both. Their test: the partial correlation of the
indicator with the gap at fixed batch size, controlling for the learning rate.

- `partial_correlation`: Pearson (or Spearman: Pearson on ranks) correlation of
  the residuals of x and y after least squares on [1, controls], with a
  two-sided t-test p-value (n - 2 - k degrees of freedom) and a Fisher-z 95%
  interval (standard error 1 / sqrt(n - 3 - k)).
- `fixed_axis_partial`: that statistic within each group of runs sharing one
  value of the fixed axis (default: batch), controlling for the log of the
  control axes (default: lr).
"""
from __future__ import annotations

import math

import numpy as np
import scipy.stats

from gapkit.sims._settings import Z95
from gapkit.theory._validate import ArgumentError, check_choice

__all__ = ["partial_correlation", "fixed_axis_partial"]


def _residuals(v, C):
    coef, *_ = np.linalg.lstsq(C, v, rcond=None)
    return v - C @ coef


def partial_correlation(x, y, controls=None, *, method: str = "pearson") -> dict:
    """Partial correlation r of x and y given `controls` ((n,) or (n, k); None: the plain correlation).

    method "pearson", or "spearman" (x, y and the controls replaced by their
    ranks). Returns "r", "p" (two-sided, H0: r = 0), "ci95" (Fisher z; a
    normal-theory interval), "n" (finite rows used), "df" = n - 2 - k.
    nan values when df < 1 or a residual is constant.
    """
    method = check_choice("method", method, ("pearson", "spearman"))
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ArgumentError(f"x and y must be 1-D of the same length (got {x.shape} and {y.shape})", param="x")
    C = np.zeros((x.size, 0)) if controls is None else np.asarray(controls, dtype=np.float64).reshape(x.size, -1)
    ok = np.isfinite(x) & np.isfinite(y) & np.all(np.isfinite(C), axis=1)
    x, y, C = x[ok], y[ok], C[ok]
    if method == "spearman":
        x, y = scipy.stats.rankdata(x), scipy.stats.rankdata(y)
        C = np.column_stack([scipy.stats.rankdata(c) for c in C.T]) if C.shape[1] else C
    n, k = x.size, C.shape[1]
    df = n - 2 - k
    nan = {"r": math.nan, "p": math.nan, "ci95": (math.nan, math.nan), "n": n, "df": df}
    if df < 1:
        return nan
    D = np.column_stack([np.ones(n), C])
    rx, ry = _residuals(x, D), _residuals(y, D)
    sx, sy = float(np.sqrt(rx @ rx)), float(np.sqrt(ry @ ry))
    scale = max(float(np.abs(x).max()), float(np.abs(y).max()), 1e-300)
    if sx <= 1e-12 * scale * math.sqrt(n) or sy <= 1e-12 * scale * math.sqrt(n):
        return nan
    r = float(np.clip((rx @ ry) / (sx * sy), -1.0, 1.0))
    t = r * math.sqrt(df / max(1.0 - r * r, 1e-300))
    p = float(2 * scipy.stats.t.sf(abs(t), df))
    if n - 3 - k >= 1 and abs(r) < 1:
        z, se = math.atanh(r), 1.0 / math.sqrt(n - 3 - k)
        ci = (math.tanh(z - Z95 * se), math.tanh(z + Z95 * se))
    else:
        ci = (math.nan, math.nan)
    return {"r": r, "p": p, "ci95": ci, "n": n, "df": df}


def fixed_axis_partial(ind, gap, hyper: dict, *, fixed: str = "batch", control=("lr",), log: bool = True,
                       method: str = "pearson") -> dict:
    """Tan et al.'s check: for each value of hyper[fixed], the partial correlation
    of indicator and gap over the runs with that value, controlling for the
    `control` axes (their logs with log=True: learning rates act
    multiplicatively). Returns "groups" {value: `partial_correlation` dict}
    and "mean_r", the mean of the finite r over groups (nan if none).
    """
    if not isinstance(hyper, dict) or fixed not in hyper:
        raise ArgumentError(f"hyper must hold the fixed axis {fixed!r}", param="hyper")
    control = (control,) if isinstance(control, str) else tuple(control)
    missing = [c for c in control if c not in hyper]
    if missing:
        raise ArgumentError(f"hyper must hold the control axes {missing}", param="hyper")
    fx = np.asarray(hyper[fixed])
    ind = np.asarray(ind, dtype=np.float64)
    gap = np.asarray(gap, dtype=np.float64)
    if fx.shape != ind.shape or gap.shape != ind.shape:
        raise ArgumentError("ind, gap and every hyper column must have one value per run", param="hyper")
    C = np.column_stack([np.asarray(hyper[c], dtype=np.float64) for c in control]) if control else None
    if log and C is not None:
        if np.any(C <= 0):
            raise ArgumentError("control axes must be > 0 with log=True", param="hyper")
        C = np.log(C)
    groups = {}
    for v in np.unique(fx):
        m = fx == v
        groups[v.item() if hasattr(v, "item") else v] = partial_correlation(
            ind[m], gap[m], None if C is None else C[m], method=method)
    rs = [g["r"] for g in groups.values() if math.isfinite(g["r"])]
    return {"groups": groups, "mean_r": float(np.mean(rs)) if rs else math.nan}
