"""Theta-grid estimators from an ensemble (paper Section 2: Eqs 2-7, 10-13).

An ensemble is K independent training sets x_l^k and, per data set, M draws
theta ~ rho(theta | x_l^k) (chains at their steady state). On a 1-D or 2-D grid
of cells these functions estimate, as functions of theta,

- rho_k(theta): a HISTOGRAM per data set (counts / (M x cell volume)), then
  rhobar = mean over k and sigma_rho^2 = Var_k rho_k (Eq 7), debiased for the
  multinomial noise of the counts; a histogram rather than a kernel estimate
  because its noise is known exactly (which the debiasing and Eq 6 use) and
  its cells are the quadrature cells of the integrals;
- Cov_{x_l}(rho, U_l)(theta) and the gap of Eq 6,
  <Delta>bar = -integral Cov_{x_l}(rho, U_l) dtheta, with a 95% interval from
  the spread over data sets;
- sigma_g^2, sigma_gu, sigma_u^2, sigma_l^2 by Monte Carlo over data sets for
  models whose effective potential g(theta, x_l) is known, in a stated gauge.

Intervals are 1.96 x the standard error of the mean over data sets of each
quantity's influence term (delta method); data sets are independent, chains
of one data set are not used as independent replicates.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from gapkit.theory._validate import ArgumentError, check_array, check_int
from ._estimators import Z95

__all__ = [
    "GAUGES",
    "histogram_per_dataset",
    "grid_density_stats",
    "grid_gap_eq06",
    "grid_effective_stats",
]

GAUGES = ("logrho", "anchor", "given")  # the names theory/_approx.py uses


def _edges(edges, d):
    if isinstance(edges, np.ndarray) and edges.ndim == 1:
        edges = [edges]
    elif isinstance(edges, (list, tuple)) and len(edges) > 0 and np.isscalar(edges[0]):
        edges = [edges]
    edges = [np.asarray(e, dtype=np.float64) for e in edges]
    if len(edges) != d:
        raise ArgumentError(f"edges must give one array of bin edges per axis ({d}) (got {len(edges)})")
    for e in edges:
        if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
            raise ArgumentError("edges must be finite, strictly increasing 1-D arrays of at least 2 edges")
    return edges


def _samples(samples):
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim == 2:
        s = s[..., None]
    if s.ndim != 3 or s.shape[-1] not in (1, 2):
        raise ArgumentError(f"samples must have shape (K, M) or (K, M, d) with d in (1, 2) (got {np.shape(samples)})")
    if s.shape[0] < 2 or s.shape[1] < 2:
        raise ArgumentError(f"samples must have at least 2 data sets and 2 draws each (got shape {s.shape[:2]})")
    return s


def histogram_per_dataset(samples, edges) -> dict:
    """Per-data-set histogram densities on a grid.

    samples: (K, M) (1-D theta) or (K, M, d), d in (1, 2); non-finite draws
    (diverged chains) are dropped and counted. edges: bin edges (one array per axis).
    Returns rho (K, *cells): counts_k / (M_k x cell volume), M_k the finite
    draws of data set k; volume (*cells); centers (one array per axis);
    outside (K,) fraction of finite draws outside the grid; m (K,) finite draws.
    """
    s = _samples(samples)
    K, M, d = s.shape
    edges = _edges(edges, d)
    ncell = tuple(e.size - 1 for e in edges)
    finite = np.all(np.isfinite(s), axis=-1)
    inside = finite.copy()
    idx = np.zeros((K, M), dtype=np.int64)
    for a, e in enumerate(edges):
        ia = np.searchsorted(e, s[..., a], side="right") - 1
        ia = np.where(s[..., a] == e[-1], e.size - 2, ia)  # right edge belongs to the last cell
        inside &= (ia >= 0) & (ia < e.size - 1)
        idx = idx * ncell[a] + np.clip(ia, 0, e.size - 2)
    P = int(np.prod(ncell))
    flat = np.where(inside, idx + np.arange(K)[:, None] * P, -1)
    counts = np.bincount(flat[inside], minlength=K * P).reshape((K,) + ncell)
    widths = np.meshgrid(*[np.diff(e) for e in edges], indexing="ij")
    vol = np.prod(np.stack(widths), axis=0)
    m = finite.sum(axis=1)
    if np.any(m < 2):
        raise ArgumentError("samples must have at least 2 finite draws in every data set")
    rho = counts / (m.reshape((K,) + (1,) * d) * vol)
    return {
        "rho": rho,
        "counts": counts,
        "m": m,
        "volume": vol,
        "centers": tuple(0.5 * (e[1:] + e[:-1]) for e in edges),
        "outside": 1.0 - inside.sum(axis=1) / m,
    }


def grid_density_stats(samples, edges, *, debias: bool = True) -> dict:
    """rhobar(theta) = E_D rho(theta | x_l) and sigma_rho^2 = Var_{x_l} rho (Eq 7)
    on a grid, from per-data-set histograms.

    A histogram rho_k = c_k / (M_k V) estimates the cell average of rho(.|x_l^k)
    without bias, so rhobar is unbiased for the cell-averaged rhobar. Its
    variance over data sets adds the multinomial noise of the counts,
    E Var(rho_hat | x_l) = p (1 - p) / (M V^2); with debias=True the unbiased
    estimate p_hat (1 - p_hat) / ((M - 1) V^2) is subtracted (the result may
    dip below 0 where sigma_rho is small; it is not clipped).
    sigma_rho2 is the variance of the CELL-AVERAGED density (what a histogram
    can see); it approaches the pointwise sigma_rho^2 as the cells shrink.
    Returns rhobar, rhobar_ci95, sigma_rho2, sigma_rho2_ci95, centers, volume, outside (mean
    fraction of draws off the grid: the integrals miss that mass).
    """
    h = histogram_per_dataset(samples, edges)
    rho, vol, m = h["rho"], h["volume"], h["m"]
    K = rho.shape[0]
    rbar = rho.mean(axis=0)
    # influence terms of the (debiased) variance: its CI is their spread over data sets
    phi = (rho - rbar) ** 2 * (K / (K - 1))
    if debias:
        p = rho * vol
        mm = m.reshape((K,) + (1,) * (rho.ndim - 1)).astype(np.float64)
        phi = phi - p * (1 - p) / (mm - 1) / vol**2
    return {
        "rhobar": rbar,
        "rhobar_ci95": Z95 * rho.std(axis=0, ddof=1) / np.sqrt(K),
        "sigma_rho2": phi.mean(axis=0),
        "sigma_rho2_ci95": Z95 * phi.std(axis=0, ddof=1) / np.sqrt(K),
        "centers": h["centers"],
        "volume": vol,
        "outside": float(h["outside"].mean()),
    }


def grid_gap_eq06(samples, edges, train_loss_grid) -> dict:
    """Eq 6 from simulation: <Delta>bar = -integral Cov_{x_l}(rho, U_l) dtheta.

    samples: (K, M[, d]) draws per data set; edges: grid bin edges;
    train_loss_grid: (K, *cells), U_l(theta_c, x_l^k) at the cell centres.
    Cov is the unbiased sample covariance over data sets of the histogram
    density and U_l, cell by cell; the histogram noise is independent of U_l
    given the data, so it adds no bias. Quadrature: midpoint rule, so the
    integral carries an O(h^2) cell-size error and misses the mass outside the grid.

    The CI: the estimate is -sum_cells V (K/(K-1)) mean_k[(rho_k - rhobar)(U_k - Ubar)];
    its influence term per data set is phi_k = -sum V (rho_k - rhobar)(U_k - Ubar),
    ci95 = 1.96 sd(phi) / sqrt(K).
    Returns gap, gap_ci95, cov (the Cov map, *cells), centers, volume, outside.
    """
    h = histogram_per_dataset(samples, edges)
    rho, vol = h["rho"], h["volume"]
    K = rho.shape[0]
    U = check_array("train_loss_grid", train_loss_grid, shape=rho.shape)
    dr = rho - rho.mean(axis=0)
    du = U - U.mean(axis=0)
    cov = np.sum(dr * du, axis=0) / (K - 1)
    axes = tuple(range(1, rho.ndim))
    phi = -np.sum(vol * dr * du, axis=axes)
    return {
        "gap": float(-np.sum(vol * cov)),
        "gap_ci95": float(Z95 * phi.std(ddof=1) / np.sqrt(K)),
        "cov": cov,
        "centers": h["centers"],
        "volume": vol,
        "outside": float(h["outside"].mean()),
    }


def _var_ci(a):
    """Unbiased variance over axis 0 and the 95% half-width of its delta-method SE."""
    K = a.shape[0]
    da = a - a.mean(axis=0)
    v = np.sum(da**2, axis=0) / (K - 1)
    return v, Z95 * (da**2).std(axis=0, ddof=1) / np.sqrt(K)


def _cov_ci(a, b):
    K = a.shape[0]
    prod = (a - a.mean(axis=0)) * (b - b.mean(axis=0))
    return prod.sum(axis=0) / (K - 1), Z95 * prod.std(axis=0, ddof=1) / np.sqrt(K)


def grid_effective_stats(
    theta_points,
    datasets: Sequence | np.ndarray,
    *,
    g: Callable[[np.ndarray, np.ndarray], np.ndarray],
    loss: Callable[[np.ndarray, np.ndarray], np.ndarray],
    gauge: str = "logrho",
    volume=None,
    anchor=None,
) -> dict:
    """sigma_g^2, sigma_gu, sigma_u^2, sigma_l^2, gbar, Ubar by Monte Carlo over
    data sets (Section 2.2, the inputs of Eqs 10-14 and 51-53):

        sigma_g^2(theta) = Var_{x_l} g(theta, x_l),
        sigma_gu(theta)  = Cov_{x_l}(g(theta, x_l), U_l(theta, x_l)),
        sigma_u^2(theta) = Var_{x_l} U_l(theta, x_l),
        sigma_l^2(theta) = Var_{x ~ r} l(theta, x) (the mean over data sets of
                           the within-set sample variance, ddof=1: unbiased).

    theta_points: (P,) or (P, d) grid points; datasets: K data sets (a (K, ...)
    array or a sequence), each passed whole to the callables;
    g(theta_points, x_l) -> (P,) the effective potential in any gauge;
    loss(theta_points, x_l) -> (P, n) per-example losses (U_l is their mean).

    Gauge (PAPER.md "Gauge of g": sigma_g^2 and sigma_gu change with it, Eqs 9
    and 21 do not). The result is always labelled with the gauge used:
      "logrho" (default, g = -log rho, Z = 1): g_k <- g_k + log Z_k, Z_k = sum exp(-g_k) V over the
          grid (log-sum-exp), i.e. g = -log rho, Z = 1, the convention that makes
          the paper's "ignore the stochasticity in Z" exact; needs `volume` (the
          cell volume(s)) and a grid that holds the mass;
      "anchor": g_k <- g_k - g_k(anchor), the line integrals of Eqs 19-20 from a
          fixed theta_0 = anchor (g(theta_0) = 0 for every data set);
      "given": the callable's own constant.
    Returns each map with a `_ci95` (delta-method, spread over data sets),
    gauge, K.
    """
    if gauge not in GAUGES:
        raise ArgumentError(f"gauge must be one of {GAUGES} (got {gauge!r})")
    pts = check_array("theta_points", theta_points)
    if pts.ndim not in (1, 2) or pts.shape[0] < 1:
        raise ArgumentError(f"theta_points must have shape (P,) or (P, d) (got {pts.shape})")
    P = pts.shape[0]
    K = len(datasets)
    check_int("number of datasets", K, 2)
    if gauge == "logrho":
        if volume is None:
            raise ArgumentError("volume (cell volume, scalar or (P,)) is required for gauge='normalized'",
                                param="volume")
        vol = np.broadcast_to(np.asarray(volume, dtype=np.float64), (P,))
        if np.any(~np.isfinite(vol)) or np.any(vol <= 0):
            raise ArgumentError("volume must be > 0 and finite")
    if gauge == "anchor":
        if anchor is None:
            raise ArgumentError("anchor (theta_0) is required for gauge='anchor'", param="anchor")
        a_pt = np.asarray(anchor, dtype=np.float64).reshape((1,) + pts.shape[1:])
    G = np.empty((K, P))
    Ul = np.empty((K, P))
    sl2 = np.empty((K, P))
    for k in range(K):
        x = datasets[k]
        gk = np.asarray(g(pts, x), dtype=np.float64).reshape(-1)
        if gk.shape != (P,) or not np.all(np.isfinite(gk)):
            raise ArgumentError(f"g must return {P} finite values (data set {k})")
        if gauge == "logrho":
            gmin = gk.min()
            gk = gk - gmin + np.log(np.sum(np.exp(-(gk - gmin)) * vol))
        elif gauge == "anchor":
            gk = gk - float(np.asarray(g(a_pt, x), dtype=np.float64).reshape(-1)[0])
        lk = np.asarray(loss(pts, x), dtype=np.float64)
        if lk.ndim != 2 or lk.shape[0] != P or lk.shape[1] < 2 or not np.all(np.isfinite(lk)):
            raise ArgumentError(f"loss must return finite per-example losses of shape ({P}, n) with n >= 2 (data set {k})")
        G[k] = gk
        Ul[k] = lk.mean(axis=1)
        sl2[k] = lk.var(axis=1, ddof=1)
    sg2, sg2_ci = _var_ci(G)
    sgu, sgu_ci = _cov_ci(G, Ul)
    su2, su2_ci = _var_ci(Ul)
    return {
        "gauge": gauge,
        "K": K,
        "gbar": G.mean(axis=0),
        "gbar_ci95": Z95 * G.std(axis=0, ddof=1) / np.sqrt(K),
        "Ubar": Ul.mean(axis=0),
        "Ubar_ci95": Z95 * Ul.std(axis=0, ddof=1) / np.sqrt(K),
        "sigma_g2": sg2,
        "sigma_g2_ci95": sg2_ci,
        "sigma_gu": sgu,
        "sigma_gu_ci95": sgu_ci,
        "sigma_u2": su2,
        "sigma_u2_ci95": su2_ci,
        "sigma_l2": sl2.mean(axis=0),
        "sigma_l2_ci95": Z95 * sl2.std(axis=0, ddof=1) / np.sqrt(K),
    }
