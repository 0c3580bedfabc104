"""Eq 1 fit and the paper's predictions A, B, C on a temperature sweep.

Eq 1 (Section 3, empirical law):  <Delta>bar(T) = (a/T + b) exp(-T/c),  a, b, c > 0.

The predictions (Section 3):
  A. the gap falls with T and follows Eq 1;
  B. the test loss has a finite positive optimal temperature T_opt (Eq 26);
  C. the train loss rises with T (Eq 27).

Every finding is a dict with ``holds`` in {True, False, "inconclusive"} and
the numbers behind it. Nothing here warns or raises on a bad fit: a fit that
does not determine its parameters is reported with ``status="degenerate"``
and a reason (tests run with warnings as errors).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["eq1", "fit_eq1", "finding_A", "finding_B", "finding_C", "findings", "per_T_means", "slope_test"]

from gapkit.sims._settings import Z95 as Z95  # noqa: E402 - two-sided 95% normal quantile
from gapkit.theory._validate import ArgumentError, check_array  # noqa: E402

# Log-parameter box for the fit. Relative to the data scale (ymax, Tmin, Tmax)
# these allow every (a, b, c) that shapes the curve on the grid; a parameter
# that ends on the box edge is undetermined by the data (e.g. c -> infinity
# on a gap without the exponential fall-off), and the fit says so.
_SPAN = 12.0  # e-folds (about 1.6e5x) beyond the data scale each way


def eq1(T, a, b, c):
    """Eq 1: (a/T + b) exp(-T/c)."""
    T = np.asarray(T, dtype=np.float64)
    return (a / T + b) * np.exp(-T / c)


def _model_log(T, la, lb, lc):
    return (np.exp(la) / T + np.exp(lb)) * np.exp(-T / np.exp(lc))


def _initial_guess(T, y, w):
    """Grid over c, weighted non-negative least squares for (a, b) at each c."""
    from scipy.optimize import nnls

    Tmin, Tmax = float(T.min()), float(T.max())
    best = None
    for c in np.geomspace(Tmin / 10.0, Tmax * 1e3, 60):
        e = np.exp(-T / c)
        A = np.column_stack([e / T, e]) * w[:, None]
        coef, rnorm = nnls(A, y * w)
        if best is None or rnorm < best[0]:
            best = (rnorm, coef[0], coef[1], c)
    _, a, b, c = best
    return a, b, c


def fit_eq1(T, gap, sigma=None) -> dict:
    """Least-squares fit of Eq 1, <Delta>bar = (a/T + b) exp(-T/c), a, b, c > 0.

    T, gap: one value per run (or per temperature). sigma: optional standard
    errors of `gap`; when given the fit is weighted and the parameter standard
    errors use them as absolute (``absolute_sigma=True``), otherwise they are
    scaled by the residual variance (scipy's default).

    The fit runs in log-parameters (positivity by construction) with
    `scipy.optimize.curve_fit` inside a box of +-12 e-folds around the data's
    scale; standard errors are mapped back by the delta method,
    se(a) = a se(log a). Returns a dict: status ("ok" | "degenerate"), reason,
    a, b, c, a_se, b_se, c_se, r2 (unweighted, on the points given), n_points,
    n_T, rmse. A fit is degenerate when the data are flat, there are fewer
    than 4 distinct temperatures, the covariance is not finite, or neither a
    nor c is determined (on the box edge or relative standard error > 100%);
    ``undetermined`` lists the parameters the data do not pin down (c alone,
    say, when the exponential factor is inactive, as in the paper's Fig. 1).
    """
    T = check_array("T", T, ndim=1, allow_nan=True, allow_inf=True)
    y = check_array("gap", gap, ndim=1, allow_nan=True, allow_inf=True)
    if T.shape != y.shape:
        raise ArgumentError(f"T and gap must have the same length (got {T.size} and {y.size})")
    s = None if sigma is None else check_array("sigma", sigma, ndim=1, allow_nan=True, allow_inf=True)
    ok = np.isfinite(T) & np.isfinite(y) & (T > 0)
    if s is not None:
        if s.shape != y.shape:
            raise ArgumentError(f"sigma must have the same length as gap (got {s.size} and {y.size})")
        ok &= np.isfinite(s) & (s > 0)
    T, y = T[ok], y[ok]
    s = None if s is None else s[ok]
    out = {"equation": "Eq 1: gap = (a/T + b) exp(-T/c)", "status": "degenerate", "reason": "",
           "a": math.nan, "b": math.nan, "c": math.nan, "a_se": math.nan, "b_se": math.nan,
           "c_se": math.nan, "r2": math.nan, "rmse": math.nan, "n_points": int(T.size),
           "n_T": int(np.unique(T).size), "weighted": s is not None}
    if np.unique(T).size < 4:
        out["reason"] = f"needs at least 4 distinct temperatures (got {np.unique(T).size})"
        return out
    scale = float(np.max(np.abs(y))) if y.size else 0.0
    if not scale > 0 or float(np.ptp(y)) <= 1e-12 * scale:
        out["reason"] = "flat data: the gap does not change with T, so a and c are not determined"
        return out
    if np.max(y) <= 0:
        out["reason"] = "the gap is not positive: Eq 1 with a, b, c > 0 cannot fit it"
        return out

    from scipy.optimize import OptimizeWarning, curve_fit

    w = np.ones_like(y) if s is None else 1.0 / s
    a0, b0, c0 = _initial_guess(T, y, w)
    Tmin, Tmax = float(T.min()), float(T.max())
    ypos = float(np.max(y))
    lo = np.array([math.log(ypos * Tmin) - _SPAN, math.log(ypos) - _SPAN, math.log(Tmin) - _SPAN / 2])
    hi = np.array([math.log(ypos * Tmax) + _SPAN / 2, math.log(ypos) + _SPAN / 2, math.log(Tmax) + _SPAN])
    p0 = np.log(np.maximum([a0, b0, c0], np.exp(lo + 1e-3)))
    p0 = np.clip(p0, lo + 1e-3, hi - 1e-3)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            popt, pcov = curve_fit(_model_log, T, y, p0=p0, sigma=s, absolute_sigma=s is not None,
                                   bounds=(lo, hi), method="trf", x_scale="jac", max_nfev=20000)
    except (RuntimeError, ValueError) as exc:
        out["reason"] = f"curve_fit did not converge ({exc})"
        return out
    la, lb, lc = popt
    a, b, c = math.exp(la), math.exp(lb), math.exp(lc)
    pred = _model_log(T, *popt)
    res = y - pred
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(res**2)) / ss_tot if ss_tot > 0 else math.nan
    se_log = np.sqrt(np.diag(pcov)) if np.all(np.isfinite(pcov)) else np.full(3, math.inf)
    out.update(a=a, b=b, c=c, a_se=a * float(se_log[0]), b_se=b * float(se_log[1]), c_se=c * float(se_log[2]),
               r2=r2, rmse=float(np.sqrt(np.mean(res**2))))
    if not np.all(np.isfinite(se_log)):
        out["reason"] = "the parameter covariance is not finite"
        return out
    # A parameter is undetermined when it ends on the box edge or its relative
    # standard error exceeds 100%. Without a determined a or c nothing in the
    # fit makes the gap fall with T: that is the degenerate case (a flat gap).
    edge = np.isclose(popt, lo, atol=1e-2) | np.isclose(popt, hi, atol=1e-2)
    undetermined = [n for n, e, sl in zip(("a", "b", "c"), edge, se_log) if e or sl > 1.0]
    out["undetermined"] = undetermined
    if "a" in undetermined and "c" in undetermined:
        out["reason"] = ("neither a nor c is determined by the data (box edge or relative standard error > 100%): "
                         "the data show no fall with T")
        return out
    out["status"] = "ok"
    if undetermined:
        out["reason"] = f"{', '.join(undetermined)} not determined (box edge or relative standard error > 100%)"
    return out


# ------------------------------------------------------------------ trends
def _group_T(T):
    # T = lr/B carries rounding noise: group on 12 significant digits
    return np.array([float(f"{t:.12g}") for t in np.asarray(T, dtype=np.float64)])


def per_T_means(T, y, ci95=None) -> dict:
    """Mean of `y` per distinct T with a standard error: the spread across the
    runs at that T when there are at least 2, else the run's own ci95/1.96."""
    Tg = _group_T(T)
    y = np.asarray(y, dtype=np.float64)
    c = None if ci95 is None else np.asarray(ci95, dtype=np.float64)
    Ts = np.unique(Tg[np.isfinite(y)])
    means, ses, counts = [], [], []
    for t in Ts:
        m = (Tg == t) & np.isfinite(y)
        v = y[m]
        means.append(float(v.mean()))
        counts.append(int(v.size))
        if v.size >= 2:
            ses.append(float(v.std(ddof=1) / math.sqrt(v.size)))
        elif c is not None and np.isfinite(c[m]).all():
            ses.append(float(c[m][0] / Z95))
        else:
            ses.append(math.nan)
    return {"T": Ts, "mean": np.array(means), "se": np.array(ses), "count": np.array(counts)}


def slope_test(x, y) -> dict:
    """OLS slope of y on x with its 95% interval (t quantile on n-2 degrees of
    freedom), and Kendall's tau with its p-value."""
    from scipy import stats

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m = np.isfinite(x) & np.isfinite(y)
    x, y = x[m], y[m]
    out = {"n": int(x.size), "slope": math.nan, "slope_ci95": math.nan, "kendall_tau": math.nan,
           "kendall_p": math.nan}
    if x.size < 3 or np.ptp(x) == 0:
        return out
    if np.ptp(y) == 0:
        out.update(slope=0.0, slope_ci95=0.0)
        return out
    lr = stats.linregress(x, y)
    q = float(stats.t.ppf(0.975, x.size - 2))
    tau = stats.kendalltau(x, y)
    out.update(slope=float(lr.slope), slope_ci95=float(q * lr.stderr), intercept=float(lr.intercept),
               kendall_tau=float(tau.statistic), kendall_p=float(tau.pvalue))
    return out


def finding_A(T, gap, *, fit: dict | None = None, r2_min: float = 0.5, flat_rel: float = 0.10) -> dict:
    """Prediction A: the gap falls with T and follows Eq 1.

    Trend: OLS slope of the per-run gap on log T (95% interval) and Kendall's
    tau. holds = True when the slope's interval lies below 0 and the Eq 1 fit
    is "ok" with R^2 >= r2_min; False when the interval lies above 0, or when
    the whole change it allows across the grid, |slope| x range(log T), stays
    within `flat_rel` of the mean gap (a flat gap); "inconclusive" otherwise.
    """
    T = np.asarray(T, dtype=np.float64)
    gap = np.asarray(gap, dtype=np.float64)
    fit = fit if fit is not None else fit_eq1(T, gap)
    st = slope_test(np.log(T), gap)
    out = {"prediction": "A: the gap falls with T and follows Eq 1", "trend_x": "log T", **st,
           "fit_status": fit.get("status"), "r2": fit.get("r2"), "r2_min": r2_min}
    lo, hi = st["slope"] - st["slope_ci95"], st["slope"] + st["slope_ci95"]
    mean_gap = float(np.nanmean(gap)) if gap.size else math.nan
    span = float(np.ptp(np.log(T[np.isfinite(gap)]))) if gap.size else math.nan
    max_change = max(abs(lo), abs(hi)) * span
    out["max_change_over_grid"] = max_change
    if not np.isfinite(st["slope"]):
        out.update(holds="inconclusive", reason="too few runs or temperatures for a trend")
    elif hi < 0:
        if fit.get("status") == "ok" and np.isfinite(fit.get("r2", math.nan)) and fit["r2"] >= r2_min:
            out.update(holds=True, reason="the gap falls with T and Eq 1 fits")
        else:
            out.update(holds="inconclusive", reason=f"the gap falls with T but Eq 1 does not fit (status {fit.get('status')}, R^2 {fit.get('r2')})")
    elif lo > 0:
        out.update(holds=False, reason="the gap rises with T")
    elif np.isfinite(mean_gap) and max_change <= flat_rel * abs(mean_gap):
        out.update(holds=False, reason=f"the gap is flat in T (change over the grid <= {flat_rel:.0%} of the mean gap)")
    else:
        out.update(holds="inconclusive", reason="the slope's 95% interval contains 0")
    return out


def finding_B(T, test, test_ci95=None, *, z: float = Z95) -> dict:
    """Prediction B (Eq 26): the test loss has a finite positive optimal T.

    Per-T mean test loss; T_opt_grid is its argmin. holds = True when the
    minimum is interior and both grid edges are higher than it by more than
    z standard errors of the difference; False when the minimum sits at a grid
    edge and the opposite edge is significantly higher (the curve rises away
    from that edge: the best T is at or beyond it; at the low edge the data
    say "as small as possible", the quadratic and linear models' T = 0);
    "inconclusive" otherwise. T_opt refines T_opt_grid by the vertex of a parabola in log T
    through the minimum and its neighbours (interior minima only).
    """
    pm = per_T_means(T, test, test_ci95)
    Ts, m, se = pm["T"], pm["mean"], pm["se"]
    out = {"prediction": "B: the test loss has a finite positive optimal T", "T": Ts, "test_mean": m,
           "test_se": se, "T_opt": math.nan, "T_opt_grid": math.nan, "at_grid_edge": None}
    if Ts.size < 3:
        out.update(holds="inconclusive", reason="needs at least 3 temperatures")
        return out
    i = int(np.nanargmin(m))
    out["T_opt_grid"] = float(Ts[i])
    se0 = np.where(np.isfinite(se), se, 0.0)

    def higher(j):  # is m[j] significantly above m[i]?
        return (m[j] - m[i]) > z * math.hypot(se0[j], se0[i])

    if 0 < i < Ts.size - 1:
        out["at_grid_edge"] = "no"
        x = np.log(Ts[i - 1:i + 2])
        yv = m[i - 1:i + 2]
        A = np.vander(x, 3)
        c2, c1, _ = np.linalg.solve(A, yv)
        out["T_opt"] = float(math.exp(-c1 / (2 * c2))) if c2 > 0 else float(Ts[i])
        out["edge_excess_low"] = float(m[0] - m[i])
        out["edge_excess_high"] = float(m[-1] - m[i])
        if higher(0) and higher(Ts.size - 1):
            out.update(holds=True, reason="interior minimum, both grid edges significantly higher")
        else:
            out.update(holds="inconclusive", reason="interior minimum, but an edge is not significantly higher")
    else:
        edge = "low" if i == 0 else "high"
        out["at_grid_edge"] = edge
        out["T_opt"] = float(Ts[i])
        far = Ts.size - 1 if i == 0 else 0
        if higher(far):
            out.update(holds=False, reason=f"the test loss is lowest at the {edge} edge of the grid and rises away from it")
        else:
            out.update(holds="inconclusive", reason=f"minimum at the {edge} edge, not significantly below the other edge")
    return out


def finding_C(T, train) -> dict:
    """Prediction C (Eq 27): the train loss rises with T.

    OLS slope of the per-run train loss on log T (95% interval) and Kendall's
    tau. holds = True when the interval lies above 0, False when below 0,
    "inconclusive" otherwise."""
    st = slope_test(np.log(np.asarray(T, dtype=np.float64)), train)
    out = {"prediction": "C: the train loss rises with T", "trend_x": "log T", **st}
    lo, hi = st["slope"] - st["slope_ci95"], st["slope"] + st["slope_ci95"]
    if not np.isfinite(st["slope"]):
        out.update(holds="inconclusive", reason="too few runs or temperatures for a trend")
    elif lo > 0:
        out.update(holds=True, reason="the train loss rises with T")
    elif hi < 0:
        out.update(holds=False, reason="the train loss falls with T")
    else:
        out.update(holds="inconclusive", reason="the slope's 95% interval contains 0")
    return out


def findings(T, gap, train, test, *, test_ci95=None, gap_ci95=None, steady=None) -> dict:
    """Eq 1 fit and findings A, B, C from per-run arrays. Runs marked not at
    steady state (``steady`` False) are left out and counted."""
    T = np.asarray(T, dtype=np.float64)
    keep = np.isfinite(T) & (T > 0)
    if steady is not None:
        keep &= np.asarray(steady, dtype=bool)
    sel = lambda a: None if a is None else np.asarray(a, dtype=np.float64)[keep]  # noqa: E731
    Tk, gk, trk, tek = sel(T), sel(gap), sel(train), sel(test)
    pm = per_T_means(Tk, gk, sel(gap_ci95))
    # fit the per-T means (the paper fits the cloud; the means weigh every T
    # equally whatever its number of runs, and give the fit honest errors)
    sig = pm["se"] if np.all(np.isfinite(pm["se"])) and np.all(pm["se"] > 0) else None
    fit = fit_eq1(pm["T"], pm["mean"], sig)
    return {
        "eq1_fit": fit,
        "A": finding_A(Tk, gk, fit=fit),
        "B": finding_B(Tk, tek, sel(test_ci95)),
        "C": finding_C(Tk, trk),
        "runs_used": int(keep.sum()),
        "runs_left_out_not_steady": int((~keep).sum()),
    }
