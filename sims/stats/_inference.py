"""Inference for findings: t intervals, per-T intervals, paired differences,
paired trends, interior-optimum tests and TOST equivalence (one home for all
of them; the Numba sweeps and the torch findings call these).

The unit of replication is the data draw (a draw of the training set, with its
chains or networks averaged first; `gapkit.sims.stats._estimators`). In a
paired design (common random numbers, `gapkit.sims.sweep._spec.run_seed`)
draw k of replicate r is the same data set, with the same chain streams, at
every grid point, so a unit's values across the grid are one series and
trends, optima and collapse are judged on within-unit differences. With fresh
draws the grid points are independent samples and the same functions use
Welch's unpaired forms (``paired=False``).

Every result is a dict that carries ``method``: how its interval was made
(t quantile, degrees of freedom, paired or not, the level).

Levels: intervals are two-sided at ``level`` (0.95: each one-sided claim read
off them, "the slope is below 0", has error rate <= 0.025); the optimum test
is one-sided at ``alpha`` per candidate with a Bonferroni factor for picking
the best interior point; TOST declares equivalence at ``alpha`` (a (1 - 2
alpha) interval inside +-margin).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["ALPHA", "t_quantile", "mean_interval", "combine_runs", "paired_difference", "paired_trend",
           "interior_optimum", "tost"]

ALPHA = 0.05  # the stated level of every claim a finding makes (its false-claim rate is at most this)


def t_quantile(df, level: float = 0.95) -> float:
    """Two-sided `level` quantile of Student's t on `df` degrees of freedom
    (t_3 = 3.182 at 95%); the normal one for df = inf, nan for df < 1."""
    from scipy.special import stdtrit

    df = float(df)
    if not df >= 1:
        return math.nan
    q = 0.5 + level / 2
    if math.isinf(df):
        from scipy.special import ndtri

        return float(ndtri(q))
    return float(stdtrit(df, q))


def _one_sided_p(t, df) -> float:
    """P(T_df > t): the one-sided p-value of a t statistic."""
    from scipy.special import stdtr

    if not (np.isfinite(t) and df >= 1):
        return math.nan
    return float(stdtr(df, -t))


def mean_interval(x, level: float = 0.95) -> dict:
    """Mean of independent draws `x` (non-finite left out) with its t interval:
    mean, se (sd / sqrt(n)), df = n - 1, half (t_df x se), n, method."""
    x = np.asarray(x, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    n = int(x.size)
    out = {"mean": float(x.mean()) if n else math.nan, "se": math.nan, "df": n - 1, "half": math.nan, "n": n,
           "level": level, "method": f"t interval over {n} draws (df {n - 1}, {level:.0%})"}
    if n >= 2:
        se = float(x.std(ddof=1) / math.sqrt(n))
        out.update(se=se, half=t_quantile(n - 1, level) * se)
    return out


def combine_runs(means, ci95, dfs, level: float = 0.95) -> dict:
    """One grid point from R runs, each with its own mean, 95% half-width and
    degrees of freedom (K - 1 for K draws): the mean of the run means and a
    standard error that is the larger of the between-run spread, sd / sqrt(R)
    on R - 1 df, and the runs' own errors, sqrt(sum se_r^2) / R on sum df_r
    (the per-run floor: two runs that happen to agree do not make a tiny
    error). One run: its own interval. Returns mean, se, df, half, runs, method.
    """
    m = np.asarray(means, dtype=np.float64).ravel()
    c = np.asarray(ci95, dtype=np.float64).ravel()
    d = np.asarray(dfs, dtype=np.float64).ravel()
    ok = np.isfinite(m)
    m, c, d = m[ok], c[ok], d[ok]
    R = int(m.size)
    out = {"mean": float(m.mean()) if R else math.nan, "se": math.nan, "df": math.nan, "half": math.nan, "runs": R,
           "level": level, "method": "no run"}
    if R == 0:
        return out
    own_ok = np.isfinite(c) & np.isfinite(d) & (d >= 1)
    own_se = math.nan
    own_df = math.nan
    if own_ok.all():
        s = c / np.array([t_quantile(k, 0.95) for k in d])
        own_se = float(math.sqrt(np.sum(s**2)) / R)
        own_df = float(d.sum())
    between_se = float(m.std(ddof=1) / math.sqrt(R)) if R >= 2 else math.nan
    if np.isfinite(between_se) and not (np.isfinite(own_se) and own_se >= between_se):
        se, df, how = between_se, R - 1, f"between-run spread of {R} runs (df {R - 1})"
        if np.isfinite(own_se):
            how += f", above the runs' own errors ({own_se:.3g})"
    elif np.isfinite(own_se):
        se, df = own_se, own_df
        how = (f"runs' own errors (df {own_df:g})" + (f", above the between-run spread of {R} runs "
                                                       f"({between_se:.3g})" if R >= 2 else ", one run"))
    else:
        return out | {"method": "no error available (one run without its own interval)"}
    out.update(se=se, df=df, half=t_quantile(df, level) * se, method=f"t interval ({level:.0%}) from the {how}")
    return out


def _pairs(a, b, paired: bool):
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if paired:
        ok = np.isfinite(a) & np.isfinite(b)
        return a[ok], b[ok]
    return a[np.isfinite(a)], b[np.isfinite(b)]


def paired_difference(a, b, *, paired: bool = True, level: float = 0.95) -> dict:
    """Mean of a - b with its t interval.

    paired: a[u] and b[u] are the same unit (draw) at two grid points; the
    interval is the t interval of the unit differences (df = units - 1).
    Not paired: independent samples; Welch's interval (Satterthwaite df).
    Returns diff, se, df, lo, hi (two-sided `level`), t, p_greater (one-sided
    p-value of diff > 0), p_less, n, method."""
    a, b = _pairs(a, b, paired)
    out = {"diff": math.nan, "se": math.nan, "df": math.nan, "lo": math.nan, "hi": math.nan, "t": math.nan,
           "p_greater": math.nan, "p_less": math.nan, "n": int(min(a.size, b.size)), "level": level,
           "paired": paired}
    if paired:
        mi = mean_interval(a - b, level)
        diff, se, df = mi["mean"], mi["se"], mi["df"]
        out["method"] = f"paired t interval over {a.size} draws (df {a.size - 1}, {level:.0%})"
    else:
        if a.size < 2 or b.size < 2:
            return out | {"method": "Welch interval: needs 2 draws on each side"}
        va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
        diff, se = float(a.mean() - b.mean()), float(math.sqrt(va + vb))
        df = float((va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))) if va + vb > 0 else math.inf
        out["method"] = f"Welch t interval, unpaired ({a.size} and {b.size} draws, df {df:.1f}, {level:.0%})"
    out.update(diff=diff, se=se, df=df)
    if np.isfinite(se) and se > 0:
        h = t_quantile(df, level) * se
        t = diff / se
        out.update(lo=diff - h, hi=diff + h, t=t, p_greater=_one_sided_p(t, df), p_less=_one_sided_p(-t, df))
    elif se == 0:
        out.update(lo=diff, hi=diff, t=math.copysign(math.inf, diff) if diff else 0.0,
                   p_greater=0.0 if diff > 0 else 1.0, p_less=0.0 if diff < 0 else 1.0)
    return out


def paired_trend(x, Y, *, paired: bool = True, level: float = 0.95) -> dict:
    """Slope of y on x across a grid, with its t interval.

    x: (G,) grid (log T, say); Y: (U, G) values of U units at each grid point
    (nan: missing). Paired: each unit's own OLS slope on x (units complete on
    the grid), then the t interval of those U slopes (df U - 1): the data-set
    noise shared along a unit's series cancels. Not paired: the weighted least
    squares slope of the per-point means (weights 1 / se^2 from each point's
    t interval; df the smallest point's). Returns slope, se, df, lo, hi, n,
    method."""
    x = np.asarray(x, dtype=np.float64).ravel()
    Y = np.asarray(Y, dtype=np.float64)
    out = {"slope": math.nan, "se": math.nan, "df": math.nan, "lo": math.nan, "hi": math.nan, "n": 0,
           "level": level, "paired": paired, "method": "too few grid points or units for a trend"}
    if x.size < 3 or np.ptp(x) == 0:
        return out
    xc = x - x.mean()
    if paired:
        Yc = Y[np.all(np.isfinite(Y), axis=1)]
        if Yc.shape[0] < 2:
            return out
        slopes = Yc @ xc / float(xc @ xc)
        mi = mean_interval(slopes, level)
        out.update(slope=mi["mean"], se=mi["se"], df=mi["df"], n=mi["n"],
                   method=f"paired: t interval of {mi['n']} per-draw OLS slopes (df {mi['df']}, {level:.0%})")
    else:
        pts = [mean_interval(Y[:, g], level) for g in range(x.size)]
        m = np.array([p["mean"] for p in pts])
        se = np.array([p["se"] for p in pts])
        if not (np.all(np.isfinite(se)) and np.all(se > 0)):
            return out
        w = 1.0 / se**2
        xw = x - np.sum(w * x) / w.sum()
        slope = float(np.sum(w * xw * m) / np.sum(w * xw**2))
        df = float(min(p["df"] for p in pts))
        out.update(slope=slope, se=float(1.0 / math.sqrt(np.sum(w * xw**2))), df=df,
                   n=int(sum(p["n"] for p in pts)),
                   method=f"unpaired: weighted LS slope of {x.size} per-point means (df {df:g}, {level:.0%})")
    if np.isfinite(out["se"]):
        h = t_quantile(out["df"], level) * out["se"]
        out.update(lo=out["slope"] - h, hi=out["slope"] + h)
    return out


def interior_optimum(Y, *, sense: str = "min", paired: bool = True, alpha: float = ALPHA) -> dict:
    """Is some interior grid point significantly better than BOTH edges?

    Y: (U, G) unit values along an ordered grid (G >= 3). For each interior
    point j, two one-sided t tests (paired unless not `paired`): edge 0 worse
    than j and edge G-1 worse than j, each at alpha / (G - 2) (Bonferroni over
    the candidates, so picking the best point keeps the level). The claim holds
    when some j passes both (an intersection-union test per j): if no interior
    point is truly better than both edges, it is made with probability <= alpha.
    sense "min" (a loss) or "max" (an accuracy). Returns holds (bool), best (the
    index of the best mean), best_interior (the passing j, or the interior j
    with the smallest larger p-value), p_low, p_high (its one-sided p-values),
    alpha_each, edge_test (the paired test of the far edge against the best
    edge when the best mean is on an edge), method."""
    Y = np.asarray(Y, dtype=np.float64)
    G = Y.shape[1]
    sign = 1.0 if sense == "min" else -1.0
    means = np.array([np.nanmean(Y[:, g]) if np.isfinite(Y[:, g]).any() else np.nan for g in range(G)])
    out = {"sense": sense, "means": means, "holds": False, "best": None, "best_interior": None,
           "p_low": math.nan, "p_high": math.nan, "alpha": alpha, "alpha_each": math.nan, "edge_test": None,
           "method": "needs at least 3 grid points"}
    if G < 3 or not np.isfinite(means).all():
        return out
    a_each = alpha / (G - 2)
    best = int(np.argmin(sign * means))
    out.update(best=best, alpha_each=a_each)
    cand = []
    for j in range(1, G - 1):  # worse = higher loss (min) or lower accuracy (max)
        lo = paired_difference(sign * Y[:, 0], sign * Y[:, j], paired=paired)["p_greater"]
        hi = paired_difference(sign * Y[:, -1], sign * Y[:, j], paired=paired)["p_greater"]
        cand.append((max(lo, hi) if np.isfinite(lo) and np.isfinite(hi) else math.inf, j, lo, hi))
    pmax, j, plo, phi = min(cand)
    out.update(best_interior=j, p_low=plo, p_high=phi, holds=bool(pmax < a_each))
    if best in (0, G - 1):
        far = G - 1 if best == 0 else 0
        out["edge_test"] = paired_difference(sign * Y[:, far], sign * Y[:, best], paired=paired)
    kind = "paired" if paired else "unpaired (Welch)"
    out["method"] = (f"{kind} one-sided t tests of both edges against each interior point at alpha/(G-2) = "
                     f"{a_each:.3g} (Bonferroni over {G - 2} candidates; level {alpha:g})")
    return out


def tost(a, b, margin: float, *, paired: bool = True, alpha: float = ALPHA) -> dict:
    """Two one-sided tests: is |mean(a - b)| < margin?

    Equivalent (at level alpha) when the (1 - 2 alpha) t interval of the
    difference (paired unless not `paired`) lies inside (-margin, margin);
    different when the two-sided (1 - alpha) interval excludes 0 and lies
    outside the margin on one side (the difference exceeds the margin
    significantly); otherwise undecided. Returns verdict ("equivalent",
    "different", "undecided"), diff, lo, hi (the (1 - 2 alpha) interval),
    margin, p (the larger one-sided p-value), method."""
    d90 = paired_difference(a, b, paired=paired, level=1 - 2 * alpha)
    d95 = paired_difference(a, b, paired=paired, level=1 - alpha)
    out = {"diff": d90["diff"], "lo": d90["lo"], "hi": d90["hi"], "se": d90["se"], "df": d90["df"],
           "margin": float(margin), "alpha": alpha, "n": d90["n"],
           "method": f"TOST at level {alpha:g}: the {1 - 2 * alpha:.0%} interval ({d90['method']}) inside "
                     f"+-margin {margin:.3g}"}
    if not (np.isfinite(d90["se"]) and margin > 0):
        return out | {"verdict": "undecided", "p": math.nan}
    if d90["se"] > 0:
        p = max(_one_sided_p((d90["diff"] + margin) / d90["se"], d90["df"]),
                _one_sided_p((margin - d90["diff"]) / d90["se"], d90["df"]))
    else:
        p = 0.0 if abs(d90["diff"]) < margin else 1.0
    if -margin < d90["lo"] and d90["hi"] < margin:
        verdict = "equivalent"
    elif d95["lo"] > margin or d95["hi"] < -margin:
        verdict = "different"
    else:
        verdict = "undecided"
    return out | {"verdict": verdict, "p": p}
