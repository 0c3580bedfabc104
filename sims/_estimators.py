"""Data-averaged estimators on ensemble summaries (backend-neutral numpy).

An ensemble is K independent training sets x M chains (or networks) each. The
paper's averages are over data sets, so intervals come from the spread across
data sets: chains of one data set are averaged first (they share the data and
are not independent draws of the data average).
"""
from __future__ import annotations

import numpy as np

__all__ = ["ensemble_summary", "mean_ci95"]

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def mean_ci95(per_dataset: np.ndarray) -> tuple[float, float]:
    """Mean over data sets and the half-width of its 95% normal interval
    (1.96 x sample standard deviation / sqrt(K)); ci95 is nan when K < 2."""
    x = np.asarray(per_dataset, dtype=np.float64)
    x = x[np.isfinite(x)]
    k = x.size
    if k == 0:
        return float("nan"), float("nan")
    m = float(x.mean())
    if k < 2:
        return m, float("nan")
    return m, float(Z95 * x.std(ddof=1) / np.sqrt(k))


def ensemble_summary(train: np.ndarray, test: np.ndarray, *, diverged: np.ndarray | None = None) -> dict:
    """Data-averaged train loss, test loss and gap with 95% half-widths.

    train, test: (K, M) steady-state values per (data set, chain).
    diverged: (K, M) bool; diverged chains are left out of every average and
    counted. A data set whose chains all diverged is left out.
    """
    train = np.asarray(train, dtype=np.float64)
    test = np.asarray(test, dtype=np.float64)
    if train.ndim != 2 or train.shape != test.shape:
        raise ValueError(f"train and test must both have shape (datasets, chains) (got {train.shape} and {test.shape})")
    bad = ~(np.isfinite(train) & np.isfinite(test))
    if diverged is not None:
        bad |= np.asarray(diverged, dtype=bool)
    ok = ~bad
    cnt = ok.sum(axis=1)
    keep = cnt > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        tr = np.where(ok, train, 0.0).sum(axis=1)[keep] / cnt[keep]
        te = np.where(ok, test, 0.0).sum(axis=1)[keep] / cnt[keep]
    gap, gap_ci = mean_ci95(te - tr)
    trm, tr_ci = mean_ci95(tr)
    tem, te_ci = mean_ci95(te)
    return {
        "gap": gap,
        "gap_ci95": gap_ci,
        "train_loss": trm,
        "train_loss_ci95": tr_ci,
        "test_loss": tem,
        "test_loss_ci95": te_ci,
        "datasets_used": int(keep.sum()),
        "diverged": int(bad.sum()),
    }
