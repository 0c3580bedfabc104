"""Eq 1 fit and the paper's predictions A, B, C on a temperature sweep.

Eq 1 (Section 3, empirical law):  <Delta>bar(T) = (a/T + b) exp(-T/c),  a, b, c > 0.

The predictions (Section 3):
  A. the gap falls with T and follows Eq 1;
  B. the test loss has a finite positive optimal temperature T_opt (Eq 26);
  C. the train loss rises with T (Eq 27).

and collapse onto T (Appendix B: runs at equal T and equal rescaled time with
different (lr, B) have the same gap).

Every finding is a dict with ``holds`` in {True, False, "inconclusive",
"not judged"}, the numbers behind it and ``method``: how its intervals were
made (`gapkit.sims.stats._inference`). The input is one record per run with
its per-draw values (`findings`); the unit of replication is the data draw,
paired across the grid under common random numbers. Only runs at steady
state are judged: a temperature with a run that is not steady is left out and
counted, and with fewer than 3 temperatures left a finding is "not judged".
Every claim is made at level ALPHA = 0.05 or below (its false-claim rate on
a model where it is false is measured by `gapkit verify --full`, rows
``fpr.*``). Nothing here warns or raises on a bad fit: a fit that does not
determine its parameters is reported with ``status="degenerate"`` and a
reason (tests run with warnings as errors).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["eq1", "fit_eq1", "finding_A", "finding_B", "finding_C", "finding_collapse", "findings", "per_T_means",
           "unit_grid", "COLLAPSE_MARGIN"]

from gapkit.sims._settings import Z95 as Z95  # noqa: E402 - two-sided 95% normal quantile
from ._inference import ALPHA, combine_runs, interior_optimum, paired_trend, t_quantile, tost  # noqa: E402
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
                         "the fit does not pin down a fall with T")
        return out
    out["status"] = "ok"
    if undetermined:
        out["reason"] = f"{', '.join(undetermined)} not determined (box edge or relative standard error > 100%)"
    return out


# ------------------------------------------------------------------ per-T values
def _group_T(T):
    # T = lr/B carries rounding noise: group on 12 significant digits
    return np.array([float(f"{t:.12g}") for t in np.asarray(T, dtype=np.float64)])


def per_T_means(T, y, ci95=None, dfs=None) -> dict:
    """Mean of the run values `y` per distinct T with a standard error from
    `gapkit.sims.stats._inference.combine_runs`: the larger of the
    between-run spread and the runs' own errors (ci95 on dfs degrees of
    freedom; dfs None: normal quantile), so 2 runs never give an error alone.
    Returns T, mean, se, df, count, method (one string per T)."""
    Tg = _group_T(T)
    y = np.asarray(y, dtype=np.float64)
    c = np.full(y.shape, np.nan) if ci95 is None else np.asarray(ci95, dtype=np.float64)
    d = np.full(y.shape, np.inf) if dfs is None else np.asarray(dfs, dtype=np.float64)
    Ts = np.unique(Tg[np.isfinite(y)])
    rows = [combine_runs(y[m], c[m], d[m]) for m in ((Tg == t) & np.isfinite(y) for t in Ts)]
    return {"T": Ts, "mean": np.array([r["mean"] for r in rows]), "se": np.array([r["se"] for r in rows]),
            "df": np.array([r["df"] for r in rows], dtype=float), "count": np.array([r["runs"] for r in rows]),
            "method": [r["method"] for r in rows]}


def unit_grid(runs, key: str, Ts) -> np.ndarray:
    """(units, G) per-draw values of `key` at the temperatures `Ts`.

    runs: `findings` records. A unit is (replicate, draw k); its value at T is
    the mean over the batch sizes run at T (the same unit at every (T, B)
    under common random numbers). Missing or non-finite: nan."""
    reps = sorted({int(r.get("replicate", 0)) for r in runs})
    K = max((len(r["draws"].get(key, ())) for r in runs), default=0)
    Y = np.full((len(reps) * K, len(Ts)), np.nan)
    if K == 0:
        return Y
    Tg = _group_T([r["T"] for r in runs])
    for g, t in enumerate(Ts):
        for i, rep in enumerate(reps):
            vals = [np.asarray(r["draws"][key], dtype=np.float64) for r, tr in zip(runs, Tg)
                    if tr == t and int(r.get("replicate", 0)) == rep and key in r["draws"]]
            vals = [np.pad(v, (0, K - v.size), constant_values=np.nan) for v in vals]
            if vals:
                with np.errstate(invalid="ignore"):
                    Y[i * K:(i + 1) * K, g] = np.mean(vals, axis=0)
    return Y


# ------------------------------------------------------------------ findings
def _trend_word(tr: dict) -> str:
    return "rises" if tr["lo"] > 0 else ("falls" if tr["hi"] < 0 else "undecided")


def finding_A(Ts, gap_units, *, fit: dict, paired: bool = True, r2_min: float = 0.5, flat_rel: float = 0.10,
              alpha: float = ALPHA) -> dict:
    """Prediction A, two claims.

    "The gap falls with T": the trend of the per-draw gap on log T
    (`paired_trend`, 95% interval: one-sided error <= 0.025) lies below 0.
    "Eq 1's shape holds": the Eq 1 fit `fit` is "ok", a is determined and
    significantly positive (a / se(a) above the one-sided 1 - alpha t quantile
    on n_T - 3 df) and R^2 >= r2_min; a fit with a undetermined (pinned at the
    box edge, a -> 0) is the form b exp(-T/c) and is reported as that.
    holds True when both claims hold; False when the gap rises, or is flat:
    the whole change the interval allows across the grid, max(|lo|, |hi|) x
    range(log T), within `flat_rel` of the mean gap; "inconclusive" otherwise.
    """
    x = np.log(np.asarray(Ts, dtype=np.float64))
    Y = np.asarray(gap_units, dtype=np.float64)
    tr = paired_trend(x, Y, paired=paired)
    out = {"prediction": "A: the gap falls with T and follows Eq 1", "trend_x": "log T", "slope": tr["slope"],
           "slope_lo": tr["lo"], "slope_hi": tr["hi"], "slope_ci95": tr["hi"] - tr["slope"], "n": tr["n"],
           "method": tr["method"], "fit_status": fit.get("status"), "r2": fit.get("r2"), "r2_min": r2_min}
    mean_gap = float(np.nanmean(Y)) if np.isfinite(Y).any() else math.nan
    max_change = max(abs(tr["lo"]), abs(tr["hi"])) * float(np.ptp(x)) if np.isfinite(tr["lo"]) else math.nan
    out["max_change_over_grid"] = max_change
    trend = _trend_word(tr) if np.isfinite(tr["slope"]) else "no trend"
    out["gap_falls"] = trend == "falls"
    a, a_se = fit.get("a", math.nan), fit.get("a_se", math.nan)
    q1 = t_quantile(max(fit.get("n_T", 0) - 3, 1), 1 - 2 * alpha)
    pinned = "a" in (fit.get("undetermined") or [])
    out["eq1_form"] = "b exp(-T/c) (a pinned at 0)" if fit.get("status") == "ok" and pinned else (
        "(a/T + b) exp(-T/c)" if fit.get("status") == "ok" else "none (degenerate fit)")
    out["a_z"] = a / a_se if np.isfinite(a) and np.isfinite(a_se) and a_se > 0 else math.nan
    shape_ok = (fit.get("status") == "ok" and not pinned and np.isfinite(out["a_z"]) and out["a_z"] > q1
                and np.isfinite(fit.get("r2", math.nan)) and fit["r2"] >= r2_min)
    out["eq1_holds"] = bool(shape_ok)
    if fit.get("status") != "ok":
        shape = f"Eq 1's shape not shown (fit {fit.get('status')}: {fit.get('reason')})"
    elif pinned:
        shape = "Eq 1's shape not shown: a is pinned at 0, the fit is b exp(-T/c)"
    elif not shape_ok:
        shape = (f"Eq 1's shape not shown (a/se(a) = {out['a_z']:.2f}, needs > {q1:.2f}; "
                 f"R^2 = {fit.get('r2', math.nan):.3f}, needs >= {r2_min})")
    else:
        shape = f"Eq 1's shape holds (a/se(a) = {out['a_z']:.2f} > {q1:.2f}, R^2 = {fit['r2']:.3f})"
    if trend == "no trend":
        out.update(holds="inconclusive", reason="too few draws or temperatures for a trend")
    elif trend == "falls":
        out.update(holds=True if shape_ok else "inconclusive", reason=f"the gap falls with T; {shape}")
    elif trend == "rises":
        out.update(holds=False, reason="the gap rises with T")
    elif np.isfinite(mean_gap) and max_change <= flat_rel * abs(mean_gap):
        out.update(holds=False, reason=f"the gap is flat in T (change over the grid <= {flat_rel:.0%} of the mean gap)")
    else:
        out.update(holds="inconclusive", reason="no trend shown: the slope's 95% interval contains 0")
    return out


def _optimum_words(opt: dict, what: str) -> str:
    if opt["holds"]:
        return (f"interior {what} optimum at grid point {opt['best_interior']}, both edges significantly worse "
                f"(p = {opt['p_low']:.2g}, {opt['p_high']:.2g} < {opt['alpha_each']:.2g} each)")
    return f"no interior {what} optimum significantly better than both edges"


def finding_B(Ts, test_units, acc_units=None, *, paired: bool = True, alpha: float = ALPHA) -> dict:
    """Prediction B (Eq 26): the test loss has a finite positive optimal T.

    holds True only when an interior grid point is significantly below BOTH
    edges in test loss (`interior_optimum`: paired one-sided t tests,
    Bonferroni over the interior points, level alpha) and, where accuracy
    exists (`acc_units`), significantly above both in test accuracy too.
    Otherwise "no finite optimum found on this grid": False when the lowest
    mean test loss is at the low edge and the high edge is significantly
    higher (the best T is at or below the grid's smallest, as the quadratic
    and linear models' exact T = 0), "inconclusive" else. T_opt: the vertex
    of a parabola in log T through the interior minimum and its neighbours
    (grid value where the parabola opens down), nan unless B holds;
    T_opt_grid: the grid argmin of the mean test loss.
    """
    Ts = np.asarray(Ts, dtype=np.float64)
    Y = np.asarray(test_units, dtype=np.float64)
    opt = interior_optimum(Y, sense="min", paired=paired, alpha=alpha)
    m = opt["means"]
    out = {"prediction": "B: the test loss has a finite positive optimal T", "T": Ts, "test_mean": m,
           "T_opt": math.nan, "T_opt_grid": math.nan, "at_grid_edge": None, "method": opt["method"],
           "p_low_edge": opt["p_low"], "p_high_edge": opt["p_high"], "loss_optimum": bool(opt["holds"])}
    if Ts.size < 3 or opt["best"] is None:
        out.update(holds="inconclusive", reason="no finite optimum found on this grid (needs 3 temperatures with "
                                                "finite values)")
        return out
    i = opt["best"]
    out["T_opt_grid"] = float(Ts[i])
    out["at_grid_edge"] = "low" if i == 0 else ("high" if i == Ts.size - 1 else "no")
    words = [_optimum_words(opt, "test-loss")]
    holds = opt["holds"]
    if acc_units is not None and np.isfinite(acc_units).any():
        acc = interior_optimum(np.asarray(acc_units, dtype=np.float64), sense="max", paired=paired, alpha=alpha)
        out.update(acc_optimum=bool(acc["holds"]), T_opt_grid_acc=float(Ts[acc["best"]]) if acc["best"] is not None
                   else math.nan)
        words.append(_optimum_words(acc, "test-accuracy"))
        holds = holds and acc["holds"]
    if holds:
        j = opt["best_interior"]
        c2, c1, _ = np.linalg.solve(np.vander(np.log(Ts[j - 1:j + 2]), 3), m[j - 1:j + 2])
        out["T_opt"] = float(math.exp(-c1 / (2 * c2))) if c2 > 0 else float(Ts[j])
        out.update(holds=True, reason="; ".join(words))
        return out
    edge = opt["edge_test"]
    if i == 0 and edge is not None and edge["p_greater"] < alpha:
        out.update(holds=False, reason="no finite optimum found on this grid: the test loss is lowest at the low "
                                       f"edge and the high edge is significantly higher ({'; '.join(words)})")
    else:
        out.update(holds="inconclusive", reason=f"no finite optimum found on this grid ({'; '.join(words)})")
    return out


def finding_C(Ts, train_units, *, paired: bool = True) -> dict:
    """Prediction C (Eq 27): the train loss rises with T.

    The trend of the per-draw train loss on log T (`paired_trend`, 95%
    interval). holds True when it lies above 0, False below 0,
    "inconclusive" otherwise."""
    tr = paired_trend(np.log(np.asarray(Ts, dtype=np.float64)), train_units, paired=paired)
    out = {"prediction": "C: the train loss rises with T", "trend_x": "log T", "slope": tr["slope"],
           "slope_lo": tr["lo"], "slope_hi": tr["hi"], "slope_ci95": tr["hi"] - tr["slope"], "n": tr["n"],
           "method": tr["method"]}
    word = _trend_word(tr) if np.isfinite(tr["slope"]) else "no trend"
    if word == "no trend":
        out.update(holds="inconclusive", reason="too few draws or temperatures for a trend")
    elif word == "rises":
        out.update(holds=True, reason="the train loss rises with T")
    elif word == "falls":
        out.update(holds=False, reason="the train loss falls with T")
    else:
        out.update(holds="inconclusive", reason="no trend shown: the slope's 95% interval contains 0")
    return out


COLLAPSE_MARGIN = 0.10  # equivalence margin of the collapse test: 10% of the reference gap


def _same_rescaled_time(a: dict, b: dict) -> bool:
    """Equal rescaled time lam_eff x updates and burn-in, up to the rounding of
    whole updates, or of whole epochs for runs measured in epochs (one rounding
    unit lam_eff x time_quantum of the coarser run, time_quantum = updates per
    epoch, 1 by default; 1% without lam_eff), and neither run capped."""
    if a.get("capped") or b.get("capped"):
        return False
    lams = [r.get("lam_eff") for r in (a, b)]
    units = [lam * float(r.get("time_quantum") or 1.0) for lam, r in zip(lams, (a, b))] if None not in lams else None
    for key in ("rescaled_time", "rescaled_burnin"):
        x, y = a.get(key), b.get(key)
        if x is None or y is None:
            continue
        tol = max(units) if units is not None else 1e-2 * max(abs(x), abs(y))
        if not (np.isfinite(x) and np.isfinite(y)) or abs(x - y) > tol * (1 + 1e-9):
            return False
    return True


def finding_collapse(runs, Ts, *, paired: bool = True, margin_rel: float = COLLAPSE_MARGIN,
                     alpha: float = ALPHA) -> dict:
    """Collapse onto T (Appendix B): at equal T and equal rescaled time, runs
    with different (lr, B) have the same data-averaged gap.

    For every judged T with two or more batch sizes, each B against the
    smallest: TOST (`gapkit.sims.stats._inference.tost`, level alpha) on the
    per-draw gap difference, paired by draw, with margin `margin_rel` x
    |mean gap at the smallest B|. holds True when every pair is equivalent
    (an intersection-union test: level alpha for the whole claim), False when
    some pair differs by more than the margin significantly, "inconclusive"
    otherwise; pairs with unequal rescaled time are not compared (counted)."""
    Tg = _group_T([r["T"] for r in runs])
    pairs, skipped = [], 0
    for t in Ts:
        here = [r for r, tr in zip(runs, Tg) if tr == t]
        Bs = sorted({int(r["batch"]) for r in here})
        for B in Bs[1:]:
            ref = [r for r in here if int(r["batch"]) == Bs[0]]
            oth = [r for r in here if int(r["batch"]) == B]
            if not all(_same_rescaled_time(a, b) for a in ref for b in oth):
                skipped += 1
                continue
            ga, gb = unit_grid(ref, "gap", [t])[:, 0], unit_grid(oth, "gap", [t])[:, 0]
            margin = margin_rel * abs(float(np.nanmean(ga))) if np.isfinite(ga).any() else math.nan
            res = tost(gb, ga, margin, paired=paired, alpha=alpha)
            pairs.append({"T": float(t), "B_ref": Bs[0], "B": B, **{k: res[k] for k in
                          ("verdict", "diff", "lo", "hi", "margin", "p", "n")}})
    out = {"prediction": f"collapse: the gap at equal T does not depend on (lr, B) (TOST, margin "
                         f"{margin_rel:.0%} of the gap)", "pairs": pairs, "pairs_unequal_time": skipped,
           "method": (f"TOST at level {alpha:g} on the {'paired' if paired else 'unpaired (Welch)'} per-draw gap "
                      f"difference, {1 - 2 * alpha:.0%} t interval inside +-{margin_rel:.0%} of |gap at the smallest "
                      f"B|; every pair must be equivalent")}
    verdicts = [p["verdict"] for p in pairs]
    n_eq = verdicts.count("equivalent")
    counts = f"{n_eq}/{len(pairs)} pairs equivalent" + (f", {skipped} not compared (unequal rescaled time)"
                                                        if skipped else "")
    if not pairs:
        out.update(holds="not judged", reason="no pair of batch sizes at equal T and equal rescaled time" +
                   (f" ({skipped} pairs with unequal rescaled time)" if skipped else ""))
    elif n_eq == len(pairs):
        out.update(holds=True, reason=f"every pair equivalent within the margin ({counts})")
    elif "different" in verdicts:
        out.update(holds=False, reason=f"some pair differs by more than the margin ({counts})")
    else:
        out.update(holds="inconclusive", reason=f"equivalence not shown ({counts})")
    return out


def _not_judged(why: str) -> dict:
    return {name: {"prediction": p, "holds": "not judged", "reason": why} for name, p in (
        ("A", "A: the gap falls with T and follows Eq 1"), ("B", "B: the test loss has a finite positive optimal T"),
        ("C", "C: the train loss rises with T"), ("collapse", "collapse: the gap at equal T does not depend on (lr, B)"))}


def _other_eq1_fits(col) -> dict:
    """Eq 1 fitted to the per-T test loss and accuracy gap (the paper fits both,
    Figs 1-3), as ``eq1_fit_<name>``, where every steady run records the value;
    weights from `per_T_means` as for the gap. Descriptive: no finding rests on them."""
    out = {}
    for key in ("test_loss", "acc_gap"):
        y, ci = col(key), col(f"{key}_ci95")
        if y.size == 0 or not np.isfinite(y).all():
            continue
        pm = per_T_means(col("T"), y, ci if np.isfinite(ci).all() else None, col("datasets") - 1)
        sig = pm["se"] if np.all(np.isfinite(pm["se"])) and np.all(pm["se"] > 0) else None
        f = fit_eq1(pm["T"], pm["mean"], sig)
        f["sigma_method"] = pm["method"][0] if pm["method"] else ""
        out[f"eq1_fit_{key}"] = f
    return out


def findings(runs, *, pairing: str = "paired", margin_rel: float = COLLAPSE_MARGIN, alpha: float = ALPHA) -> dict:
    """Eq 1 fit and findings A, B, C and collapse from one record per run.

    runs: dicts with T, batch, replicate, steady (True only if judged at steady
    state), gap and gap_ci95 (the run's headline gap), datasets (K), capped,
    rescaled_time and rescaled_burnin (lam_eff x updates, optional), lam_eff and
    ``draws``: per-draw values {"train", "test", "gap"[, "test_acc"]} (K,)
    each, draw k the same data set at every grid point when pairing is
    "paired" (common random numbers), independent when "fresh".

    A temperature is judged only when all its runs are steady; with fewer than
    3 such temperatures A, B, C and collapse are "not judged" (with counts).
    The Eq 1 fit uses the per-T headline gaps and `per_T_means`' intervals.
    """
    paired = pairing == "paired"
    T = _group_T([r["T"] for r in runs])
    steady = np.array([r.get("steady") is True for r in runs], dtype=bool)
    bad_T = set(T[~steady].tolist())
    Ts = np.array(sorted(set(T[steady & np.isfinite(T) & (T > 0)].tolist()) - bad_T))
    keep = [r for r, t in zip(runs, T) if t in set(Ts.tolist())]
    counts = {"runs_used": len(keep), "runs_left_out_not_steady": int((~steady).sum()),
              "temperatures_judged": int(Ts.size), "temperatures_left_out": len(bad_T), "pairing": pairing}
    col = lambda k: np.array([r.get(k, math.nan) for r in keep], dtype=float)  # noqa: E731
    pm = per_T_means(col("T"), col("gap"), col("gap_ci95"), col("datasets") - 1)
    sig = pm["se"] if np.all(np.isfinite(pm["se"])) and np.all(pm["se"] > 0) else None
    fit = fit_eq1(pm["T"], pm["mean"], sig)
    fit["sigma_method"] = pm["method"][0] if pm["method"] else ""
    fits = {"eq1_fit": fit, **_other_eq1_fits(col)}
    has_draws = bool(keep) and all(len(r.get("draws", {}).get("gap", ())) >= 2 for r in keep)
    if Ts.size < 3 or not has_draws:
        why = (f"{Ts.size} temperature(s) with every run at steady state (needs 3); "
               f"{counts['runs_left_out_not_steady']} of {len(runs)} runs not steady" if Ts.size < 3 else
               "the records carry no per-draw values (rerun the sweep with this gapkit)")
        return {**fits, **_not_judged(why), **counts}
    grid = {k: unit_grid(keep, k, Ts) for k in ("gap", "train", "test", "test_acc")}
    acc = grid["test_acc"] if np.isfinite(grid["test_acc"]).any() else None
    return {
        **fits,
        "A": finding_A(Ts, grid["gap"], fit=fit, paired=paired, alpha=alpha),
        "B": finding_B(Ts, grid["test"], acc, paired=paired, alpha=alpha),
        "C": finding_C(Ts, grid["train"], paired=paired),
        "collapse": finding_collapse(keep, Ts, paired=paired, margin_rel=margin_rel, alpha=alpha),
        **counts,
    }
