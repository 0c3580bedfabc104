"""Scoring generalization indicators against the measured gap (the
generalization-measure benchmarks: Jiang et al. 2019/2020, PGDL; Dupuis, Tan).

- `kendall_tau`: Kendall's tau of indicator vs gap: tau-a by default (Jiang et al.
  2019, Eq 3: ties count in the denominator), tau-b on request;
  `kendall_test` adds a two-sided permutation p-value.
- `granulated_tau`: for each hyperparameter axis, tau over runs where only that
  axis varies (every other axis held at one combination of values), averaged over
  those combinations; then the mean over axes (Jiang et al. 2019, "granulated
  Kendall's coefficient").
- `cmi_score`: PGDL's conditional mutual information, as its scoring program
  defines it: all ordered pairs of runs (i, j) (i = j included), V_gap = [gap_i > gap_j],
  V_ind = [ind_i > ind_j]; for each pair of hyperparameters (h1, h2) the pairs are
  binned by (h1_i, h1_j, h2_i, h2_j), the values of BOTH runs; score = min over
  (h1, h2) of mean_cells I(V_ind; V_gap | cell) / mean_cells H(V_gap | cell).
- `cmi_shared_score`: gapkit's earlier variant, conditioning only on pairs of runs
  that share the values of the conditioning set (not comparable with PGDL numbers).
- `bound_tightness`: a bound reported as a bound: fraction of runs where
  bound >= gap, and the looseness factor median(bound / gap) over runs with gap > 0.

Choices the sources leave open are in the function docstrings.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from gapkit.theory._validate import ArgumentError, check_array
import scipy.stats

__all__ = ["kendall_tau", "kendall_test", "granulated_tau", "cmi_score", "cmi_shared_score", "bound_tightness",
           "score_table"]

TAU_VARIANTS = ("a", "b")
PERMUTATIONS = 999
PERMUTATION_MAX_RUNS = 200


def _pair(ind, gap):
    x = check_array("indicator", ind, ndim=1, allow_nan=True, allow_inf=True)
    y = check_array("gap", gap, ndim=1, allow_nan=True, allow_inf=True)
    if x.shape != y.shape:
        raise ArgumentError(f"indicator and gap must be 1-D of the same length (got {x.shape} and {y.shape})")
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def kendall_tau(ind, gap, *, variant: str = "a") -> float:
    """Kendall's tau between indicator and gap over the finite pairs of runs.

    variant "a" (default; Jiang et al. 2019 Eq 3, the generalization-measure
    benchmarks' score): tau_a = (n_c - n_d) / (N (N - 1) / 2), ties in either
    variable count in the denominator; "b": tau_b = (n_c - n_d) /
    sqrt((n_0 - n_x)(n_0 - n_y)) (scipy's default), n_x, n_y the tied pairs.
    tau_a = tau_b sqrt((n_0 - n_x)(n_0 - n_y)) / n_0. nan when fewer than 2 runs
    or either side is constant.
    """
    x, y = _pair(ind, gap)
    if variant not in TAU_VARIANTS:
        raise ArgumentError(f"variant must be one of {', '.join(TAU_VARIANTS)} (got {variant!r})", param="variant")
    if x.size < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    tb = float(scipy.stats.kendalltau(x, y).statistic)
    return tb if variant == "b" else tb * _tau_a_factor(x, y)


def _tau_a_factor(x, y) -> float:
    """tau_a / tau_b = sqrt((n_0 - n_x)(n_0 - n_y)) / n_0 (fixed by the tie structure)."""
    n0 = x.size * (x.size - 1) / 2

    def tied(v):
        _, c = np.unique(v, return_counts=True)
        return float(np.sum(c * (c - 1) / 2))

    return math.sqrt((n0 - tied(x)) * (n0 - tied(y))) / n0


def kendall_test(ind, gap, *, variant: str = "a", permutations: int = PERMUTATIONS, seed: int = 0) -> dict:
    """Kendall's tau (`kendall_tau`) with a two-sided permutation p-value.

    Null: indicator and gap independent (runs exchangeable). The indicator is
    permuted `permutations` times (stream from `seed`); permutations keep both
    tie structures, so tau_a and tau_b have the same p-value,
        p = (1 + #{|tau_perm| >= |tau_obs|}) / (1 + permutations),
    exact in level (never below the true p-value); above 200 runs scipy's
    tie-corrected normal approximation instead. Returns tau, p_value, p_method,
    variant, permutations, runs.
    """
    from gapkit.theory._validate import check_int

    permutations = check_int("permutations", permutations, 1)
    tau = kendall_tau(ind, gap, variant=variant)
    x, y = _pair(ind, gap)
    out = {"tau": tau, "p_value": math.nan, "p_method": "", "variant": variant, "permutations": permutations,
           "runs": int(x.size)}
    if not math.isfinite(tau):
        return out
    if x.size > PERMUTATION_MAX_RUNS:  # O(permutations N^2): scipy's tie-corrected normal approximation
        out.update(p_value=float(scipy.stats.kendalltau(x, y).pvalue), p_method="normal approximation (N > 200)",
                   permutations=0)
        return out
    sx, sy = np.sign(x[:, None] - x[None, :]), np.sign(y[:, None] - y[None, :])
    obs = abs(float(np.sum(sx * sy)))
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    hits, done, batch = 0, 0, max(1, 2_000_000 // (x.size * x.size))
    while done < permutations:
        b = min(batch, permutations - done)
        perm = np.argsort(rng.random((b, x.size)), axis=1)
        stat = np.abs(np.einsum("bij,ij->b", sx[perm[:, :, None], perm[:, None, :]], sy))
        hits += int(np.count_nonzero(stat >= obs - 0.5))  # integer sums: >= up to rounding
        done += b
    out.update(p_value=(1 + hits) / (1 + permutations), p_method=f"permutation ({permutations} permutations)")
    return out


def _hp_keys(hp: dict, axes: Sequence[str]):
    cols = [np.asarray(hp[a]) for a in axes]
    m = len(cols[0]) if cols else 0
    return [tuple(c[i] for c in cols) for i in range(m)]


def _check_hp(hp: dict, n: int) -> dict:
    if not isinstance(hp, dict):
        raise ArgumentError("hyper must be a dict {axis name: values per run}")
    for k, v in hp.items():
        if len(v) != n:
            raise ArgumentError(f"hyper[{k!r}] must have one value per run ({n}, got {len(v)})")
    return hp


def granulated_tau(ind, gap, hyper: dict, *, variant: str = "a") -> dict:
    """Granulated Kendall tau (Jiang et al. 2019).

    hyper: {axis: values per run} for the hyperparameter axes (leave out the
    seed and derived columns such as T = lr / batch). For axis a, runs are
    grouped by the values of all other axes; tau is computed in every group with
    at least 2 distinct values of a (seeds within a group add runs, not groups);
    psi_a = mean of those taus (tau-a by default, `kendall_tau`). Returns {"granulated": mean_a psi_a, "per_axis":
    {a: psi_a}} (nan when no axis has a usable group).
    """
    x = np.asarray(ind, dtype=np.float64)
    y = np.asarray(gap, dtype=np.float64)
    hyper = _check_hp(hyper, x.size)
    per = {}
    for a in hyper:
        others = [b for b in hyper if b != a]
        keys = _hp_keys(hyper, others) if others else [()] * x.size
        groups: dict = {}
        for i, k in enumerate(keys):
            groups.setdefault(k, []).append(i)
        taus = []
        for idx in groups.values():
            idx = np.asarray(idx)
            if np.unique(np.asarray(hyper[a])[idx]).size < 2:
                continue
            t = kendall_tau(x[idx], y[idx], variant=variant)
            if math.isfinite(t):
                taus.append(t)
        per[a] = float(np.mean(taus)) if taus else float("nan")
    vals = [v for v in per.values() if math.isfinite(v)]
    return {"granulated": float(np.mean(vals)) if vals else float("nan"), "per_axis": per}


def _mi_and_h(vg, vi):
    """I(V_ind; V_gap) and H(V_gap) in nats from the empirical joint of the pairs."""
    m = vg.size
    h = 0.0
    mi = 0.0
    for g in np.unique(vg):
        pg = np.mean(vg == g)
        h -= pg * math.log(pg)
        for s in np.unique(vi):
            pj = np.count_nonzero((vg == g) & (vi == s)) / m
            if pj > 0:
                mi += pj * math.log(pj / (pg * np.mean(vi == s)))
    return max(mi, 0.0), h


def cmi_shared_score(ind, gap, hyper: dict, *, order: int | None = None) -> dict:
    """Conditional-mutual-information score on pairs of runs that SHARE the
    conditioning values (gapkit's earlier reading of Jiang et al. 2020; not
    PGDL's definition, `cmi_score`, so not comparable with published numbers).

    For each conditioning set S of `order` hyperparameter axes (default
    min(2, number of axes - 1), so at least one axis still varies inside a group;
    S = {} when there is one axis), runs are grouped by their values on S; inside
    a group all ordered pairs (i, j), i != j, with gap_i != gap_j give
    V_gap = sign(gap_i - gap_j) and V_ind = sign(ind_i - ind_j) (ties of the
    indicator are a third value, 0). Per S:
        E[MI] / E[H] = sum_U w_U I(V_ind; V_gap | U) / sum_U w_U H(V_gap | U),
    w_U the group's share of pairs. The score is the minimum over S; 1 for an
    indicator that orders every pair like the gap, ~0 for an unrelated one.
    Returns {"cmi": score, "per_condition": {"a,b": value}}.

    The plug-in MI is biased upwards in small groups (a group of 2 runs has
    I = H whatever the indicator), so conditioning sets whose groups hold a
    few runs each overstate the score; `gapkit score` leaves the seed out of
    the axes for that reason.
    """
    x = np.asarray(ind, dtype=np.float64)
    y = np.asarray(gap, dtype=np.float64)
    hyper = _check_hp(hyper, x.size)
    axes = list(hyper)
    if order is None:
        order = min(2, max(len(axes) - 1, 0))
    if order < 0 or order > len(axes):
        raise ArgumentError(f"order must be in [0, {len(axes)}] (got {order})")
    ok = np.isfinite(x) & np.isfinite(y)
    per = {}
    for S in itertools.combinations(axes, order):
        keys = _hp_keys(hyper, S) if S else [()] * x.size
        groups: dict = {}
        for i, k in enumerate(keys):
            if ok[i]:
                groups.setdefault(k, []).append(i)
        tot_pairs = 0
        mi_sum = 0.0
        h_sum = 0.0
        for idx in groups.values():
            idx = np.asarray(idx)
            if idx.size < 2:
                continue
            i, j = np.nonzero(~np.eye(idx.size, dtype=bool))
            vg = np.sign(y[idx[i]] - y[idx[j]])
            vi = np.sign(x[idx[i]] - x[idx[j]])
            keep = vg != 0
            if not np.any(keep):
                continue
            mi, h = _mi_and_h(vg[keep], vi[keep])
            w = int(keep.sum())
            tot_pairs += w
            mi_sum += w * mi
            h_sum += w * h
        per[",".join(S)] = mi_sum / h_sum if h_sum > 0 else float("nan")
    vals = [v for v in per.values() if math.isfinite(v)]
    return {"cmi": float(min(vals)) if vals else float("nan"), "per_condition": per}


def cmi_score(ind, gap, hyper: dict) -> dict:
    """PGDL conditional mutual information, as the PGDL competition's scoring
    program defines it (Jiang et al. 2020, "Fantastic generalization measures" Sec. 6).

    Over all N^2 ordered pairs of runs (i, j), the pair (i, i) included:
    V_gap = [gap_i > gap_j], V_ind = [ind_i > ind_j] (ties count as "not
    greater"). For each pair of hyperparameter axes (h1, h2), the pairs are
    binned by the four values (h1_i, h1_j, h2_i, h2_j) (the values of both runs,
    not only shared ones); in every non-empty cell the plug-in I(V_ind; V_gap)
    and H(V_gap) of its 2x2 table; per (h1, h2):
        mean_cells I / mean_cells H   (cells unweighted, as PGDL does);
    the score is the minimum over (h1, h2). One axis: the cells of that axis
    alone. PGDL's grids have every cell filled; on a grid with empty cells
    gapkit averages over the filled ones (PGDL's program would give nan).
    Returns {"cmi": score, "per_condition": {"h1,h2": value}} (nan where H = 0
    in every cell: nothing to explain). Because (i, i) pairs and ties count as
    "not greater" on both sides, the score is not symmetric in the indicator's
    sign: ind = -gap scores below 1 (ind = gap scores 1), as in PGDL.
    """
    x = np.asarray(ind, dtype=np.float64)
    y = np.asarray(gap, dtype=np.float64)
    hyper = _check_hp(hyper, x.size)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    codes = {a: np.unique(np.asarray(v)[ok], return_inverse=True)[1] for a, v in hyper.items()}
    axes = list(codes)
    vg = (y[:, None] > y[None, :]).ravel()
    vi = (x[:, None] > x[None, :]).ravel()
    per = {}
    for S in itertools.combinations(axes, 2) if len(axes) >= 2 else [tuple(axes)]:
        cell = np.zeros(x.size * x.size, dtype=np.int64)
        for a in S:
            c = codes[a]
            k = int(c.max()) + 1 if c.size else 1
            cell = cell * k * k + (c[:, None] * k + c[None, :]).ravel()
        _, cell = np.unique(cell, return_inverse=True)
        table = np.zeros((int(cell.max()) + 1 if cell.size else 0, 2, 2))
        np.add.at(table, (cell, vg.astype(int), vi.astype(int)), 1.0)
        mi, h = _table_mi_h(table)
        per[",".join(S)] = float(mi.mean() / h.mean()) if table.size and h.mean() > 0 else float("nan")
    vals = [v for v in per.values() if math.isfinite(v)]
    return {"cmi": float(min(vals)) if vals else float("nan"), "per_condition": per}


def _table_mi_h(table):
    """Per cell of (cells, 2 gap signs, 2 indicator signs) counts: plug-in I(V_ind; V_gap) and
    H(V_gap) in nats."""
    p = table / table.sum(axis=(1, 2), keepdims=True)
    pg, pi = p.sum(axis=2, keepdims=True), p.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        mi = np.where(p > 0, p * np.log(p / (pg * pi)), 0.0).sum(axis=(1, 2))
        h = -np.where(pg > 0, pg * np.log(pg), 0.0).sum(axis=(1, 2))
    return np.maximum(mi, 0.0), h


def bound_tightness(bound, gap) -> dict:
    """A bound reported as a bound: "holds" = fraction of runs with bound >= gap,
    "looseness" = median of bound / gap over runs with gap > 0 (>= 1 when the
    bound holds; inf when the bound is infinite), "runs" = runs with a finite
    gap and a non-nan bound."""
    # An infinite bound (e.g. seed 002's with a singular C_t) holds and is
    # infinitely loose: keep it; drop only nan bounds and non-finite gaps.
    b = np.asarray(bound, dtype=np.float64)
    g = np.asarray(gap, dtype=np.float64)
    if b.ndim != 1 or b.shape != g.shape:
        raise ArgumentError(f"bound and gap must be 1-D of the same length (got {b.shape} and {g.shape})")
    ok = ~np.isnan(b) & np.isfinite(g)
    b, g = b[ok], g[ok]
    if b.size == 0:
        return {"holds": float("nan"), "looseness": float("nan"), "runs": 0}
    pos = g > 0
    loose = float(np.median(b[pos] / g[pos])) if np.any(pos) else float("nan")
    return {"holds": float(np.mean(b >= g)), "looseness": loose, "runs": int(b.size)}


def score_table(df, *, gap: str = "gap", indicators: Sequence[str], bounds: Sequence[str] = (),
                axes: Sequence[str], baseline: str | None = "T") -> dict:
    """Score every indicator (and bound) column of a tidy runs table.

    df: pandas DataFrame, one row per run. indicators / bounds: column names.
    axes: hyperparameter axes for granulated tau and CMI. baseline: the column
    of the temperature T = lr / B (computed from lr and batch when absent).
    Returns {"indicators": [rows sorted by |tau|, baseline excluded],
    "baseline": row or None, "bounds": [rows with holds / looseness]}; a row
    has name, column, kendall_tau (tau-a), kendall_p (its permutation p-value,
    `kendall_test`), kendall_tau_b, granulated_tau, granulated_per_axis, cmi
    (PGDL's), cmi_shared (`cmi_shared_score`), runs.
    """
    y = df[gap].to_numpy(dtype=np.float64)
    hyper = {a: df[a].to_numpy() for a in axes}

    def row(col, name):
        x = df[col].to_numpy(dtype=np.float64)
        gr = granulated_tau(x, y, hyper) if hyper else {"granulated": float("nan"), "per_axis": {}}
        cm = cmi_score(x, y, hyper) if hyper else {"cmi": float("nan"), "per_condition": {}}
        cm_shared = cmi_shared_score(x, y, hyper)["cmi"] if hyper else float("nan")
        kt = kendall_test(x, y)
        return {
            "name": name,
            "column": col,
            "kendall_tau": kt["tau"],
            "kendall_p": kt["p_value"],
            "kendall_tau_b": kendall_tau(x, y, variant="b"),
            "granulated_tau": gr["granulated"],
            "granulated_per_axis": gr["per_axis"],
            "cmi": cm["cmi"],
            "cmi_shared": cm_shared,
            "runs": int(np.count_nonzero(np.isfinite(x) & np.isfinite(y))),
        }

    base = None
    if baseline is not None:
        if baseline in df.columns:
            base = row(baseline, baseline)
        elif "lr" in df.columns and "batch" in df.columns:
            df = df.assign(**{baseline: df["lr"].to_numpy(float) / df["batch"].to_numpy(float)})
            base = row(baseline, baseline)
    inds = []
    for col in indicators:
        name = col[4:] if col.startswith("ind_") else col
        inds.append(row(col, name))
    inds.sort(key=lambda r: -abs(r["kendall_tau"]) if math.isfinite(r["kendall_tau"]) else math.inf)
    # An indicator predicts something beyond the temperature only if it ranks
    # runs better than T itself (seed 001's confound).
    bt = abs(base["kendall_tau"]) if base is not None and math.isfinite(base["kendall_tau"]) else 0.0
    for r in inds:
        r["beats_baseline"] = bool(math.isfinite(r["kendall_tau"]) and abs(r["kendall_tau"]) > bt)
    bds = []
    for col in bounds:
        r = row(col, col.split("bound_", 1)[1] if "bound_" in col else col)
        r.update(bound_tightness(df[col].to_numpy(dtype=np.float64), y))
        bds.append(r)
    return {"indicators": inds, "baseline": base, "bounds": bds}
