"""Data-averaged estimators on ensemble summaries (backend-neutral numpy).

An ensemble is K independent training sets x M chains (or networks) each. The
paper's averages are over data sets, so intervals come from the spread across
data sets: chains of one data set are averaged first (they share the data and
are not independent draws of the data average).
"""
from __future__ import annotations

import numpy as np

__all__ = ["ensemble_summary", "mean_ci95", "per_dataset_mean", "per_dataset_means", "per_draw_values",
           "control_variate_mean", "gap_control_variate"]

from gapkit.sims._settings import Z95 as Z95  # noqa: E402 - two-sided 95% normal quantile
from ._inference import t_quantile  # noqa: E402 - 95% intervals on K draws use t_{K-1}
from gapkit.theory._validate import ArgumentError, check_int  # noqa: E402


def mean_ci95(per_dataset: np.ndarray) -> tuple[float, float]:
    """Mean over data sets and the half-width of its 95% t interval
    (t_{K-1} x sample standard deviation / sqrt(K): 3.18 x for K = 4 draws,
    2.00 x for K = 64; `gapkit.sims.stats._inference.t_quantile`); ci95 is
    nan when K < 2."""
    x = np.asarray(per_dataset, dtype=np.float64)
    x = x[np.isfinite(x)]
    k = x.size
    if k == 0:
        return float("nan"), float("nan")
    m = float(x.mean())
    if k < 2:
        return m, float("nan")
    return m, float(t_quantile(k - 1) * x.std(ddof=1) / np.sqrt(k))


def _member_mask(name, values, diverged):
    """(K, M) float values and the mask of members to leave out: non-finite or diverged."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2:
        raise ArgumentError(f"{name} must have shape (datasets, chains) (got {x.shape})", param=name)
    bad = ~np.isfinite(x)
    if diverged is not None:
        dv = np.asarray(diverged, dtype=bool)
        try:
            bad = bad | np.broadcast_to(dv, x.shape)
        except ValueError:
            raise ArgumentError(f"diverged must have shape {x.shape} (got {dv.shape})") from None
    return x, bad


def per_dataset_mean(values, *, diverged=None) -> np.ndarray:
    """The per-data-set (per-draw) mean of one quantity: the mean over the
    chains (networks) of each data set, leaving out non-finite and diverged
    members. The one per-draw mean of gapkit (`per_dataset_means`, the
    torch backend's accuracies and sigma_l).

    values: (K, M); diverged: (K, M) bool or None. Returns (K,) means, nan
    for a data set with no member left (`mean_ci95` drops those)."""
    x, bad = _member_mask("values", values, diverged)
    ok = ~bad
    cnt = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, np.where(ok, x, 0.0).sum(axis=1) / np.maximum(cnt, 1), np.nan)


def per_dataset_means(train, test, *, diverged=None):
    """Chain-averaged train and test values per data set (`per_dataset_mean`
    of each, with the members dropped from both where either is bad).

    train, test: (K, M); diverged: (K, M) bool or None. Non-finite or diverged
    chains are left out; a data set with no chain left is dropped.
    Returns (train_k, test_k, keep, bad): the per-data-set means of the kept
    data sets, the (K,) mask of kept data sets and the (K, M) mask of dropped chains.
    """
    train = np.asarray(train, dtype=np.float64)
    test = np.asarray(test, dtype=np.float64)
    if train.ndim != 2 or train.shape != test.shape:
        raise ArgumentError(f"train and test must both have shape (datasets, chains) (got {train.shape} and {test.shape})")
    _, bad = _member_mask("train", train, diverged)
    bad = bad | ~np.isfinite(test)
    keep = (~bad).sum(axis=1) > 0
    return per_dataset_mean(train, diverged=bad)[keep], per_dataset_mean(test, diverged=bad)[keep], keep, bad


def per_draw_values(train, test, *, diverged=None, test_acc=None) -> dict:
    """Per-draw (per-data-set) values of a run, aligned on the draw index k
    (nan where a draw has no member left), for the paired tests of findings
    (`gapkit.sims.stats._fit.findings`): {"train", "test", "gap"[, "test_acc"]}
    as (K,) lists. train, test, test_acc: (K, M); members dropped from one
    are dropped from all (`per_dataset_means`)."""
    train = np.asarray(train, dtype=np.float64)
    test = np.asarray(test, dtype=np.float64)
    _, _, _, bad = per_dataset_means(train, test, diverged=diverged)
    tr = per_dataset_mean(train, diverged=bad)
    te = per_dataset_mean(test, diverged=bad)
    out = {"train": tr.tolist(), "test": te.tolist(), "gap": (te - tr).tolist()}
    if test_acc is not None and np.isfinite(np.asarray(test_acc, dtype=np.float64)).any():
        out["test_acc"] = per_dataset_mean(test_acc, diverged=bad).tolist()
    return out


def ensemble_summary(train: np.ndarray, test: np.ndarray, *, diverged: np.ndarray | None = None) -> dict:
    """Data-averaged train loss, test loss and gap with 95% half-widths.

    train, test: (K, M) steady-state values per (data set, chain).
    diverged: (K, M) bool; diverged chains are left out of every average and
    counted. A data set whose chains all diverged is left out.
    """
    tr, te, keep, bad = per_dataset_means(train, test, diverged=diverged)
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


def control_variate_mean(y, c, c_mean, *, folds: int = 10) -> dict:
    """Mean of y over data sets with control variates c of known expectation.

    Estimator (cross-fitted, hence exactly unbiased):
        theta_hat = mean_k [ y_k - b_{-f(k)}' (c_k - c_mean) ],
    where the data sets are split into `folds` folds and b_{-f} is the
    least-squares coefficient Cov(c)^{-1} Cov(c, y) fitted on the OTHER folds.
    Because b_{-f(k)} is independent of (y_k, c_k) and E[c_k] = c_mean, every
    term has expectation E[y]: no O(1/K) bias from estimating b in-sample.
    The variance is (1 - R^2) Var(y) / K up to O(1/K^2), R the multiple
    correlation of y with c.

    y: (K,); c: (K,) or (K, p); c_mean: scalar or (p,).
    Returns mean, ci95 (t_{K-1} x sd of the corrected terms / sqrt(K)), plain_mean,
    plain_ci95, variance_ratio (corrected / plain sample variance of the terms;
    < 1 is a reduction), b (coefficient fitted on all data sets, reported only).
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ArgumentError(f"y must be 1-D (one value per data set) (got shape {y.shape})")
    K = y.size
    c = np.asarray(c, dtype=np.float64)
    if c.ndim == 1:
        c = c[:, None]
    if c.ndim != 2 or c.shape[0] != K:
        raise ArgumentError(f"c must have shape ({K},) or ({K}, p) (got {c.shape})")
    p = c.shape[1]
    c_mean = np.broadcast_to(np.asarray(c_mean, dtype=np.float64), (p,))
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(c)) and np.all(np.isfinite(c_mean))):
        raise ArgumentError("y, c and c_mean must be finite", param="y")
    if not isinstance(folds, (int, np.integer)):  # an integral float is not a fold count here
        raise ArgumentError(f"folds must be an integer >= 2 (got {folds!r})", param="folds")
    check_int("folds", folds, 2)
    folds = int(min(folds, K))
    if K < max(4, p + 3):
        raise ArgumentError(f"y must have at least {max(4, p + 3)} data sets for {p} control variate(s) (got {K})")
    fold = np.arange(K) % folds
    dc = c - c_mean
    z = np.empty(K)
    for f in range(folds):
        tr = fold != f
        b = _ls_coef(c[tr], y[tr])
        z[~tr] = y[~tr] - dc[~tr] @ b
    m, ci = mean_ci95(z)
    pm, pci = mean_ci95(y)
    with np.errstate(invalid="ignore", divide="ignore"):
        vr = float(z.var(ddof=1) / y.var(ddof=1))
    return {
        "mean": m,
        "ci95": ci,
        "plain_mean": pm,
        "plain_ci95": pci,
        "variance_ratio": vr,
        "b": _ls_coef(c, y),
        "folds": folds,
    }


def _ls_coef(c, y):
    cc = c - c.mean(axis=0)
    yc = y - y.mean()
    b, *_ = np.linalg.lstsq(cc, yc, rcond=None)
    return b


def gap_control_variate(train, test, cv, cv_mean, *, diverged=None, folds: int = 10) -> dict:
    """Data-averaged gap <Delta>bar = E_D[<U_e> - <U_l>] with a control variate.

    cv: (K,) or (K, p) per-data-set quantities of KNOWN expectation cv_mean that
    correlate with the gap, e.g. the training-set loss at a fixed parameter
    theta*, U_l(theta*, x_l^k), whose expectation over data sets is the
    population loss Ubar(theta*) (a closed form in the toy models), or the test
    loss there when the test loss is a finite test set. See
    `control_variate_mean` for the (cross-fitted, unbiased) estimator.
    Chains are averaged per data set first (`per_dataset_means`); data sets
    dropped for divergence are dropped from cv too.
    Returns gap, gap_ci95, gap_plain, gap_plain_ci95, variance_ratio, b,
    datasets_used, diverged.
    """
    tr, te, keep, bad = per_dataset_means(train, test, diverged=diverged)
    cv = np.asarray(cv, dtype=np.float64)
    if cv.shape[:1] != keep.shape:
        raise ArgumentError(f"cv must have one row per data set ({keep.size}) (got shape {cv.shape})")
    r = control_variate_mean(te - tr, cv[keep], cv_mean, folds=folds)
    return {
        "gap": r["mean"],
        "gap_ci95": r["ci95"],
        "gap_plain": r["plain_mean"],
        "gap_plain_ci95": r["plain_ci95"],
        "variance_ratio": r["variance_ratio"],
        "b": r["b"],
        "datasets_used": int(keep.sum()),
        "diverged": int(bad.sum()),
    }
