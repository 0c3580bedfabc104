"""Dimension and curvature indicators: sharpness dimension (Tuci,
Korkmaz, Simsekli, Birdal) [V], PH0 dimension of trajectories (Birdal et al. 2021;
Dupuis et al. 2023) [V], and the Hessian baselines (trace, top eigenvalue) for
Hessians known only through a matvec: the one Lanczos (`lanczos`, `slq`) and
the one Hutchinson estimator (`hutchinson`) of gapkit. The torch backend wraps
its Hessian-vector products as float64 numpy matvecs and calls these.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.sparse.csgraph
import scipy.spatial.distance

from gapkit.theory._validate import ArgumentError, check_array, check_int, check_positive

__all__ = [
    "lyapunov_exponents",
    "sharpness_dimension",
    "sharpness_dimension_from_hessians",
    "lanczos",
    "slq",
    "hutchinson",
    "eigs_from_slq",
    "esd_plot",
    "mst_total_length",
    "ph_dimension",
]


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _rademacher(rng, d):
    return rng.choice(np.array([-1.0, 1.0]), size=d)


# ------------------------------------------------------------------ sharpness dimension
def lyapunov_exponents(minibatch_hessian_eigs, eta: float) -> np.ndarray:
    """lambda_k = E_B ln sigma_k(I - eta Hess R_B(w)), sigma_1 >= ... >= sigma_d [V].

    minibatch_hessian_eigs: (M, d) eigenvalues alpha_i of M sampled minibatch
    Hessians (symmetric, so sigma = |1 - eta alpha_i|), or (d,) for one.
    The singular values are sorted within each minibatch before averaging.
    A singular value of exactly 0 gives -inf (a contracting direction).
    """
    a = check_array("minibatch_hessian_eigs", minibatch_hessian_eigs)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] < 1:
        raise ArgumentError(f"minibatch_hessian_eigs must have shape (M, d) or (d,) (got {a.shape})")
    eta = check_positive("eta", eta)
    s = np.sort(np.abs(1.0 - eta * a), axis=1)[:, ::-1]
    with np.errstate(divide="ignore"):
        return np.mean(np.log(s), axis=0)


def sharpness_dimension(lyap) -> float:
    """Sharpness dimension (Tuci, Korkmaz, Simsekli & Birdal; Lyapunov/Kaplan-Yorke form) [V]:
        j* = max{ i : sum_{k<=i} lambda_k >= 0 },
        dim_S = j* + (sum_{i<=j*} lambda_i) / |lambda_{j*+1}|   for 1 <= j* < d,
        dim_S = d if j* = d,  0 if lambda_1 < 0.
    lyap: (d,) exponents sorted in decreasing order (`lyapunov_exponents`).
    """
    lam = np.asarray(lyap, dtype=np.float64)
    if lam.ndim != 1 or lam.size == 0 or np.any(np.isnan(lam)) or np.any(lam == np.inf):
        raise ArgumentError("lyap must be a non-empty 1-D array without nan or +inf")
    if np.any(np.diff(lam) > 0):
        raise ArgumentError("lyap must be sorted in decreasing order")
    d = lam.size
    if lam[0] < 0:
        return 0.0
    cs = np.cumsum(lam)
    j = int(np.nonzero(cs >= 0)[0].max()) + 1  # 1-based j*
    if j == d:
        return float(d)
    return float(j + cs[j - 1] / abs(lam[j]))


def sharpness_dimension_from_hessians(minibatch_hessians, eta: float) -> dict:
    """Sharpness dimension from exact minibatch Hessians (M, d, d) of the
    regularised risk near convergence (small models). Returns "dim",
    "lyapunov" (d,), "eigs" (M, d)."""
    H = check_array("minibatch_hessians", minibatch_hessians)
    if H.ndim == 2:
        H = H[None]
    if H.ndim != 3 or H.shape[1] != H.shape[2]:
        raise ArgumentError(f"minibatch_hessians must have shape (M, d, d) (got {H.shape})")
    eigs = np.linalg.eigvalsh(0.5 * (H + np.swapaxes(H, 1, 2)))
    lyap = lyapunov_exponents(eigs, eta)
    return {"dim": sharpness_dimension(lyap), "lyapunov": lyap, "eigs": eigs}


# ------------------------------------------------------------------ Lanczos / SLQ
def _is_numpy(v) -> bool:
    return isinstance(v, np.ndarray)


def _norm(v) -> float:
    return float(np.linalg.norm(v)) if _is_numpy(v) else float((v * v).sum()) ** 0.5


def lanczos(matvec: Callable, v0, m: int, *, vectors: int = 0):
    """m steps of Lanczos with full reorthogonalisation on a symmetric operator.

    Returns the tridiagonal's Ritz values (k,) ascending and the squared first
    components of its eigenvectors (k,), k <= m (fewer on an invariant
    subspace). These are the nodes and weights of the Gauss quadrature of
    v0' f(A) v0 / ||v0||^2. With vectors = j > 0 a third item holds the Ritz
    vectors of the j largest Ritz values, (j, d), largest first (unit norm;
    eigenvectors once the Ritz values have converged).

    v0 may be a numpy array (matvec: numpy -> numpy, float64) or an array of
    another library with the same operators (a torch tensor; matvec: tensor ->
    tensor): the vectors and the basis Q then stay where v0 lives (its device
    and dtype) and only the scalars alpha_j, beta_j leave it, so a Hessian on
    a GPU is never copied to the host. Q (k x d) is what full
    reorthogonalisation needs and nothing more is stored.
    """
    vectors = check_int("vectors", vectors, 0)
    if _is_numpy(v0) or not hasattr(v0, "new_zeros"):
        v = check_array("v0", v0, ndim=1)
        new_q = np.zeros
    else:
        v = v0.reshape(-1)
        if not bool((v == v).all()) or not bool((v.abs() < float("inf")).all()):
            raise ArgumentError("v0 must be finite")
        new_q = lambda shape: v.new_zeros(shape)  # noqa: E731 - Q on v0's device and dtype
    d = v.shape[0]
    m = check_int("m", m, 1, d)
    nv = _norm(v)
    if nv == 0:
        raise ArgumentError("v0 must be nonzero")
    Q = new_q((m, d))
    alpha = np.zeros(m)
    beta = np.zeros(m)
    q = v / nv
    k = m
    for j in range(m):
        Q[j] = q
        w = matvec(q)
        w = np.asarray(w, dtype=np.float64).reshape(d) if _is_numpy(v) else w.reshape(d).to(v.dtype)
        alpha[j] = float((q * w).sum())
        # Full reorthogonalisation (twice) keeps the Ritz values free of ghost copies.
        for _ in range(2):
            w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        b = _norm(w)
        if j == m - 1:
            break
        if b <= 1e-12 * max(1.0, abs(alpha[j])):
            k = j + 1
            break
        beta[j] = b
        q = w / b
    T = np.diag(alpha[:k]) + np.diag(beta[: k - 1], 1) + np.diag(beta[: k - 1], -1)
    theta, U = np.linalg.eigh(T)
    if not vectors:
        return theta, U[0] ** 2
    top = np.ascontiguousarray(U[:, ::-1][:, : min(vectors, k)].T)  # (j, k) largest Ritz values first
    if _is_numpy(v):
        vecs = top @ Q[:k]
    else:
        vecs = Q.new_tensor(top) @ Q[:k]
    return theta, U[0] ** 2, vecs


def slq(matvec: Callable, d: int, *, m: int = 30, probes: int = 10, seed=0,
        draw: Callable[[], object] | None = None) -> dict:
    """Stochastic Lanczos quadrature (Ubaru, Chen, Saad 2017; PyHessian's
    spectral density) for a symmetric d x d operator given by `matvec`.

    draw: a callable () -> (d,) Rademacher probe for a caller with its own
    stream (a torch tensor on the device keeps the whole run there, see
    `lanczos`); default: Rademacher probes from `seed`.

    Rademacher probes v_l; each gives Gauss nodes theta_lk and weights tau_lk;
    tr f(A) ~ (d / probes) sum_l sum_k tau_lk f(theta_lk).
    Returns "nodes" (probes, m), "weights" (probes, m) (zero-padded when a probe
    hit an invariant subspace), "trace" (the estimate of tr A), "trace_se"
    (its standard error across probes), "top" (largest Ritz value: a lower bound
    on lambda_max, exact when m >= number of distinct eigenvalues), and
    "density(grid, width)" a callable Gaussian-smoothed spectral density.
    """
    d = check_int("d", d, 1)
    m = check_int("m", m, 1)
    m = min(m, d)
    probes = check_int("probes", probes, 1)
    rng = _rng(seed) if draw is None else None
    nodes = np.zeros((probes, m))
    weights = np.zeros((probes, m))
    if draw is None:
        def draw():
            return _rademacher(rng, d)
    for p in range(probes):
        th, w = lanczos(matvec, draw(), m)
        nodes[p, : th.size] = th
        weights[p, : th.size] = w
    per_probe = d * np.sum(weights * nodes, axis=1)
    se = float(per_probe.std(ddof=1) / math.sqrt(probes)) if probes > 1 else float("nan")

    def density(grid, width):
        g = np.asarray(grid, dtype=np.float64)[:, None, None]
        k = np.exp(-0.5 * ((g - nodes[None]) / width) ** 2) / (width * math.sqrt(2 * math.pi))
        return np.sum(k * weights[None], axis=(1, 2)) / probes

    return {
        "nodes": nodes,
        "weights": weights,
        "trace": float(per_probe.mean()),
        "trace_se": se,
        "top": float(nodes[weights > 0].max()),
        "density": density,
    }


def hutchinson(matvec: Callable[[np.ndarray], np.ndarray], d: int, *, probes: int = 10, seed=0,
               draw: Callable[[], np.ndarray] | None = None) -> dict:
    """Hutchinson's trace estimator (PyHessian's `trace`): tr A = E_v[v' A v] for
    probes with E v v' = I, estimated by the mean of v_l' A v_l over `probes`
    Rademacher probes v_l, for a symmetric d x d operator given by `matvec`.

    draw: a callable () -> (d,) probe, for a caller with its own random stream
    (the torch backend draws with its torch Generator; a torch probe keeps
    the products on its device and only v'Av comes back); default: Rademacher
    probes from `seed` (an int or a Generator), the same draws as `slq`'s.
    Returns "trace", "se" (standard error across probes; nan for one probe),
    "samples" and "values" (probes,) the v_l' A v_l.
    """
    d = check_int("d", d, 1)
    probes = check_int("probes", probes, 1)
    if draw is None:
        rng = _rng(seed)

        def draw():
            return _rademacher(rng, d)

    vals = np.empty(probes)
    for p in range(probes):
        v = draw()
        if _is_numpy(v) or not hasattr(v, "new_zeros"):
            v = np.asarray(v, dtype=np.float64).reshape(d)
            vals[p] = v @ np.asarray(matvec(v), dtype=np.float64).reshape(d)
        else:  # a torch probe: v'Av on its device, one scalar comes back
            vals[p] = float((v.reshape(d) * matvec(v).reshape(d)).sum())
    se = float(vals.std(ddof=1) / math.sqrt(probes)) if probes > 1 else float("nan")
    return {"trace": float(vals.mean()), "se": se, "samples": probes, "values": vals}


def eigs_from_slq(nodes, weights, d: int) -> np.ndarray:
    """A full sorted spectrum (d values, ascending) read off an SLQ run, for the
    sharpness dimension of models too large for eigvalsh (approximation).

    The probes' Gauss nodes (`slq`'s "nodes", "weights"; each probe's weights
    sum to 1) pool into one discrete distribution; eigenvalue k (k = 1..d) is
    its quantile at (k - 1/2) / d. Stated approximation: the result is a
    smoothed spectrum; it is exact when each probe's quadrature resolves the
    spectrum and probes -> inf, and its extremes are the Ritz values Lanczos
    converges first. Feed one call per sampled minibatch Hessian to
    `lyapunov_exponents`.
    """
    nd = check_array("nodes", nodes, ndim=2)
    w = check_array("weights", weights, shape=nd.shape)
    d = check_int("d", d, 1)
    if np.any(w < 0):
        raise ArgumentError("weights must be >= 0")
    x = nd.ravel()
    p = w.ravel() / max(w.sum(), np.finfo(float).tiny)
    order = np.argsort(x, kind="stable")
    x, cdf = x[order], np.cumsum(p[order])
    q = (np.arange(d) + 0.5) / d
    idx = np.minimum(np.searchsorted(cdf, q, side="left"), x.size - 1)
    return x[idx]


def esd_plot(slq_result: dict, path=None, *, width: float | None = None, points: int = 400, log: bool = True):
    """Spectral density (ESD) plot of an `slq` result (PyHessian's density
    plot): the Gaussian-smoothed density rho(x) = (1/probes) sum_l sum_k tau_lk
    N(x; theta_lk, width^2) of the operator's eigenvalues (density per unit
    eigenvalue; it integrates to 1), on `points` grid values spanning the
    Ritz values +- 3 widths. Default width: 1% of the Ritz-value range.
    log: log-scale density axis (the bulk near 0 dwarfs the outliers).
    Returns the matplotlib Figure; with `path` it is also saved there.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    nodes = check_array("nodes", slq_result["nodes"], ndim=2)
    w = check_array("weights", slq_result["weights"], shape=nodes.shape)
    x = nodes[w > 0]
    span = float(x.max() - x.min()) if x.size else 0.0
    width = check_positive("width", width if width is not None else max(0.01 * span, 1e-12))
    points = check_int("points", points, 2)
    grid = np.linspace(x.min() - 3 * width, x.max() + 3 * width, points)
    dens = slq_result["density"](grid, width)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(grid, dens)
    if log:
        ax.set_yscale("log")
        ax.set_ylim(max(float(dens.max()) * 1e-8, 1e-300), float(dens.max()) * 2)
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density")
    ax.set_title(f"Hessian spectral density (SLQ, {nodes.shape[0]} probes, width {width:.2g})")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig


# ------------------------------------------------------------------ PH0 dimension
def mst_total_length(points, metric: str = "euclidean", *, alpha: float = 1.0) -> float:
    """E_alpha = sum over minimum-spanning-tree edges e of |e|^alpha: the
    alpha-weighted PH0 total persistence of a point cloud (m, D) (Birdal et
    al. 2021: the 0-dimensional persistence intervals of the Vietoris-Rips
    filtration are the MST edge lengths); alpha = 1 the plain tree length.
    metric "euclidean" or "cityblock" (L1). Duplicate points contribute
    zero-length edges."""
    alpha = check_positive("alpha", alpha)
    x = check_array("points", points, ndim=2)
    if metric not in ("euclidean", "cityblock"):
        raise ArgumentError(f"metric must be 'euclidean' or 'cityblock' (got {metric!r})")
    # csgraph reads a 0 distance as "no edge"; exact duplicates add zero-length
    # edges to the tree, so they are dropped first.
    x = np.unique(x, axis=0)
    if x.shape[0] < 2:
        return 0.0
    dist = scipy.spatial.distance.squareform(scipy.spatial.distance.pdist(x, metric=metric))
    edges = scipy.sparse.csgraph.minimum_spanning_tree(dist).data
    return float(np.sum(edges if alpha == 1.0 else edges ** alpha))


def ph_dimension(points, *, sizes=None, reps: int = 5, metric: str = "euclidean", seed=0, alpha: float = 1.0) -> dict:
    """PH0 dimension of a point cloud (trajectory iterates, or per-example loss
    vectors with metric="cityblock") [V] (Birdal et al. 2021, "Intrinsic
    dimension, persistent homology and generalization in neural networks":
    dim_PH^alpha = alpha / (1 - a), a the slope of log E_alpha against log m):
        E_alpha(m) = sum of |e|^alpha over the MST edges of m points drawn
                     without replacement (`mst_total_length`),
        fit log E_alpha = a log m + c (least squares over the size grid),
        dim_PH = alpha / (1 - a)   (alpha = 1: 1 / (1 - a)).
    E(m) is averaged over `reps` independent draws per size. Default sizes:
    10 log-spaced values from N/10 (at least 10) to N.
    Returns "dim", "slope" a, "sizes", "E" (mean per size), "dim_se" (delta-
    method standard error from the least-squares slope's standard error).
    Finite-sample bias: see the catalogue's `indicators.ph_dim.*` rows.
    """
    x = check_array("points", points, ndim=2)
    alpha = check_positive("alpha", alpha)
    N = x.shape[0]
    if N < 10:
        raise ArgumentError(f"points must hold at least 10 points (got {N})")
    reps = check_int("reps", reps, 1)
    from gapkit.sims.engine._memory import ph_dimension_bytes, require_memory

    require_memory(ph_dimension_bytes(N, x.shape[1]), f"{N} points x {x.shape[1]} dims (an N^2 distance matrix)",
                   "points")
    if sizes is None:
        sizes = np.unique(np.geomspace(max(10, N // 10), N, 10).astype(int))
    if np.ndim(sizes) != 1:
        raise ArgumentError(f"sizes must be a list of subset sizes (got {sizes!r})", param="sizes")
    sizes = np.asarray([check_int("sizes", s, 2, N) for s in sizes])
    if np.unique(sizes).size < 2:
        raise ArgumentError("sizes must hold at least 2 distinct values")
    rng = _rng(seed)
    E = np.zeros(sizes.size)
    for i, m in enumerate(sizes):
        r = 1 if m == N else reps
        E[i] = np.mean([mst_total_length(x[rng.choice(N, size=m, replace=False)], metric, alpha=alpha)
                        for _ in range(r)])
    if np.any(E <= 0):
        return {"dim": 0.0, "slope": float("nan"), "sizes": sizes, "E": E, "dim_se": float("nan")}
    lx, ly = np.log(sizes), np.log(E)
    A = np.vstack([lx, np.ones_like(lx)]).T
    coef, res, *_ = np.linalg.lstsq(A, ly, rcond=None)
    a = float(coef[0])
    resid = ly - A @ coef
    dof = max(sizes.size - 2, 1)
    se_a = math.sqrt(float(resid @ resid) / dof / float(np.sum((lx - lx.mean()) ** 2)))
    dim = alpha / (1.0 - a) if a < 1 else math.inf
    return {"dim": dim, "slope": a, "sizes": sizes, "E": E,
            "dim_se": alpha * se_a / (1.0 - a) ** 2 if a < 1 else math.inf}
