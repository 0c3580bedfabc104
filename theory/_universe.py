"""Exact data averaging on a finite universe (paper Section 2.2.1, Eqs 2-9, 21).

A *universe* is: k data support points with train/test probabilities r_l, r_e
(equal unless there is distribution shift), m parameter values theta (a finite
set, or the nodes of a 1-D/2-D grid with quadrature weights w so that
``integral f dtheta = sum_i w_i f_i``), and a per-example loss table
``loss[i, j] = l(theta_i, x_j) >= 0``. An *algorithm* is any function from a
training multiset (a count vector c over the k support points, sum n) to a
density rho(theta | x_l) on the m points, normalized as ``sum_i w_i rho_i = 1``.

Training sets of size n are enumerated as multisets (count vectors) with their
multinomial probabilities ``n! / prod_j c_j! * prod_j r_j^c_j``; there are
C(n+k-1, k-1) of them instead of k^n sequences. The paper's averages

    <f> = sum_i w_i rho_i f_i          (a function of the data set)
    fbar = E_D f                         (a function of theta)
    <f>bar = E_D <f>                     (a number)
    rhobar = E_D rho,  <<f>> = sum_i w_i rhobar_i f_i
    Cov_D(f, h) = (f h)bar - fbar hbar   (a function of theta)

are then finite sums, exact up to floating-point rounding.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.special import gammaln, logsumexp, xlogy

from ._validate import ArgumentError, check_array, check_int, check_positive, check_prob

__all__ = [
    "Universe",
    "TrainingSets",
    "Identity",
    "Boltzmann",
    "Averages",
    "PotentialStats",
    "training_sets",
    "boltzmann",
    "data_averages",
    "exact_identities",
    "effective_potential_gap",
    "sgd_potential_gap",
    "potential_statistics",
    "gap_by_sequences",
    "n_multisets",
    "MAX_MULTISETS",
]

#: Largest number of training multisets C(n+k-1, k-1) the engine enumerates.
MAX_MULTISETS = 2_000_000
#: Largest number of (train set, test set, theta) triples summed for the joint
#: test-set average of Eq 4 before falling back to the independence shortcut.
MAX_JOINT = 4_000_000
#: Relative tolerance on sum_i w_i rho_i = 1 for an algorithm's output.
_NORM_RTOL = 1e-9


@dataclasses.dataclass(frozen=True, eq=False)
class Universe:
    """A finite universe: loss table, data probabilities, theta quadrature.

    loss: (m, k) table l(theta_i, x_j), finite and >= 0.
    r_l: (k,) training-data probabilities; r_e: (k,) test-data probabilities
        (default r_l, i.e. no distribution shift).
    weights: (m,) quadrature weights > 0 (default all ones: a finite theta set,
        densities are then probability vectors).
    theta: optional (m,) or (m, d) coordinates of the parameter points.
    x: optional (k,) or (k, dx) coordinates of the data support points.
    """

    loss: np.ndarray
    r_l: np.ndarray
    r_e: np.ndarray | None = None
    weights: np.ndarray | None = None
    theta: np.ndarray | None = None
    x: np.ndarray | None = None

    def __post_init__(self):
        loss = check_array("loss", self.loss, ndim=2, nonneg=True)
        m, k = loss.shape
        if m < 1 or k < 1:
            raise ArgumentError(f"loss must have at least one theta row and one data column (got shape {loss.shape})")
        r_l = check_prob("r_l", self.r_l, size=k)
        r_e = r_l if self.r_e is None else check_prob("r_e", self.r_e, size=k)
        w = np.ones(m) if self.weights is None else check_array("weights", self.weights, shape=(m,), positive=True)
        th = None
        if self.theta is not None:
            th = check_array("theta", self.theta, ndim=(1, 2))
            if th.shape[0] != m:
                raise ArgumentError(f"theta must have {m} rows, one per loss row (got shape {th.shape})")
        xs = None
        if self.x is not None:
            xs = check_array("x", self.x, ndim=(1, 2))
            if xs.shape[0] != k:
                raise ArgumentError(f"x must have {k} rows, one per loss column (got shape {xs.shape})")
        for name, val in (("loss", loss), ("r_l", r_l), ("r_e", r_e), ("weights", w), ("theta", th), ("x", xs)):
            if val is not None:
                val = np.array(val, dtype=np.float64)
                val.setflags(write=False)
            object.__setattr__(self, name, val)

    @property
    def m(self) -> int:
        return self.loss.shape[0]

    @property
    def k(self) -> int:
        return self.loss.shape[1]

    @property
    def shift(self) -> bool:
        """True when r_e differs from r_l (distribution shift)."""
        return not np.array_equal(self.r_l, self.r_e)

    @property
    def Ubar_l(self) -> np.ndarray:
        """Population train loss Ubar_l(theta) = E_{x~r_l} l(theta, x)."""
        return self.loss @ self.r_l

    @property
    def Ubar_e(self) -> np.ndarray:
        """Population test loss Ubar_e(theta) = E_{x~r_e} l(theta, x)."""
        return self.loss @ self.r_e

    @property
    def sigma_l(self) -> np.ndarray:
        """sigma_l(theta): standard deviation over x ~ r_l of l(theta, x) (Eq 7)."""
        d = self.loss - self.Ubar_l[:, None]
        return np.sqrt((d * d) @ self.r_l)

    def integral(self, f) -> float:
        """integral f(theta) dtheta = sum_i w_i f_i."""
        return float(np.dot(self.weights, f))


class TrainingSets(NamedTuple):
    """All training multisets of size n: counts (N, k), probabilities p (N,)."""

    n: int
    counts: np.ndarray
    logp: np.ndarray
    p: np.ndarray


class Identity(NamedTuple):
    """Both sides of an equation. relation is '==' or '<='; scale is the
    magnitude of the largest term involved (what a tolerance is relative to)."""

    lhs: float
    rhs: float
    scale: float
    relation: str


def _compositions(n: int, k: int) -> np.ndarray:
    """All count vectors of length k summing to n (stars and bars)."""
    if k == 1:
        return np.array([[n]], dtype=np.int64)
    rows = []
    for bars in itertools.combinations(range(n + k - 1), k - 1):
        rows.append(bars)
    b = np.array(rows, dtype=np.int64).reshape(-1, k - 1)
    edges = np.concatenate([np.full((b.shape[0], 1), -1), b, np.full((b.shape[0], 1), n + k - 1)], axis=1)
    return np.diff(edges, axis=1) - 1


def n_multisets(n: int, k: int) -> int:
    """C(n+k-1, k-1): the number of multisets of size n over k points."""
    return math.comb(n + k - 1, k - 1)


def training_sets(universe: Universe, n: int, *, side: str = "l", max_sets: int = MAX_MULTISETS) -> TrainingSets:
    """Enumerate the multisets of size n drawn i.i.d. from r_l (side='l') or r_e
    (side='e'), with multinomial probabilities computed in logs:
    log p(c) = log n! - sum_j log c_j! + sum_j c_j log r_j, then normalized by
    log-sum-exp (exact in exact arithmetic, it removes rounding drift).
    """
    n = check_int("n", n, lo=1)
    if side not in ("l", "e"):
        raise ArgumentError(f"side must be 'l' or 'e' (got {side!r})")
    k = universe.k
    count = n_multisets(n, k)
    if count > max_sets:
        raise ArgumentError(
            f"n={n} and k={k} give C(n+k-1, k-1) = {count} multisets, above the limit {max_sets}; lower n or k",
            param="n",
        )
    r = universe.r_l if side == "l" else universe.r_e
    c = _compositions(n, k)
    logp = gammaln(n + 1.0) - gammaln(c + 1.0).sum(axis=1) + xlogy(c, r[None, :]).sum(axis=1)
    logp = logp - logsumexp(logp)
    return TrainingSets(n=n, counts=c, logp=logp, p=np.exp(logp))


class Boltzmann:
    """The Boltzmann algorithm of Eq 8: rho(theta | x_l) = exp(-g(theta, x_l)) / Z,
    Z = integral exp(-g) dtheta (a weighted log-sum-exp on the grid).

    g: callable counts (k,) -> (m,) effective potential (finite).
    """

    def __init__(self, universe: Universe, g: Callable[[np.ndarray], np.ndarray]):
        if not callable(g):
            raise ArgumentError("g must be a callable counts -> (m,) array")
        self.universe = universe
        self.g = g
        self._logw = np.log(universe.weights)

    def potential(self, counts) -> np.ndarray:
        gv = check_array("g(counts)", self.g(np.asarray(counts)), shape=(self.universe.m,))
        return gv

    def log_rho(self, counts) -> np.ndarray:
        gv = self.potential(counts)
        return -gv - logsumexp(self._logw - gv)

    def __call__(self, counts) -> np.ndarray:
        return np.exp(self.log_rho(counts))


def boltzmann(universe: Universe, g: Callable[[np.ndarray], np.ndarray]) -> Boltzmann:
    """The algorithm rho = exp(-g)/Z of Eq 8 for a potential g(theta, counts)."""
    return Boltzmann(universe, g)


class Averages:
    """The paper's averages over all training sets of size n for one algorithm.

    Arrays indexed (N, m) are functions of (training set, theta); ``p`` holds
    the training-set probabilities, ``w`` the theta quadrature weights.
    """

    def __init__(self, universe: Universe, algorithm: Callable[[np.ndarray], np.ndarray], n: int,
                 *, max_sets: int = MAX_MULTISETS):
        if not isinstance(universe, Universe):
            raise ArgumentError(f"universe must be a Universe (got {type(universe).__name__})", param="universe")
        if not callable(algorithm):
            raise ArgumentError("algorithm must be a callable counts -> (m,) density")
        self.universe = universe
        self.sets = training_sets(universe, n, max_sets=max_sets)
        self.n = self.sets.n
        self.p = self.sets.p
        self.w = universe.weights
        m = universe.m
        rho = np.empty((self.sets.counts.shape[0], m))
        for i, c in enumerate(self.sets.counts):
            out = np.asarray(algorithm(c), dtype=np.float64)
            if out.shape != (m,):
                raise ArgumentError(f"algorithm must return a density of shape ({m},) (got {out.shape})")
            rho[i] = out
        if not np.all(np.isfinite(rho)) or np.any(rho < 0):
            raise ArgumentError("algorithm must return a finite, non-negative density of length m")
        norm = rho @ self.w
        if np.any(np.abs(norm - 1.0) > _NORM_RTOL):
            worst = norm[np.argmax(np.abs(norm - 1))]
            raise ArgumentError(f"algorithm must return a density normalized as sum_i w_i rho_i = 1 (worst sum {worst!r})")
        self.rho = rho
        self.algorithm = algorithm
        # U_l(theta, x_l) = (1/n) sum_j c_j l(theta, x_j)
        self.U_l = (self.sets.counts @ universe.loss.T) / self.n

    # --- the averages of Section 2.1 --------------------------------------
    @property
    def rhobar(self) -> np.ndarray:
        """rhobar(theta) = E_D rho(theta | x_l)."""
        return self.p @ self.rho

    def bar(self, F) -> np.ndarray:
        """fbar = E_D f for F of shape (N,) or (N, m)."""
        return self.p @ np.asarray(F, dtype=np.float64)

    def angle(self, F) -> np.ndarray:
        """<f> = integral f rho(theta|x_l) dtheta, one number per training set."""
        return (self.rho * np.asarray(F, dtype=np.float64)) @ self.w

    def total(self, F) -> float:
        """<f>bar = E_D <f>."""
        return float(self.p @ self.angle(F))

    def double(self, f) -> float:
        """<<f>> = integral rhobar(theta) f(theta) dtheta for f of shape (m,)."""
        return float(np.dot(self.w, self.rhobar * np.asarray(f, dtype=np.float64)))

    def cov(self, F, H) -> np.ndarray:
        """Cov_D(f, h)(theta) = (f h)bar - fbar hbar, computed centred (no cancellation)."""
        F = np.asarray(F, dtype=np.float64)
        H = np.asarray(H, dtype=np.float64)
        return self.p @ ((F - self.bar(F)) * (H - self.bar(H)))

    def var(self, F) -> np.ndarray:
        return np.maximum(self.cov(F, F), 0.0)

    def integral(self, f) -> float:
        return float(np.dot(self.w, f))

    def tabulate(self, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Evaluate fn(counts) -> (m,) on every training set: an (N, m) array."""
        return np.stack([np.asarray(fn(c), dtype=np.float64).reshape(-1) for c in self.sets.counts])


def data_averages(universe: Universe, algorithm, n: int, *, max_sets: int = MAX_MULTISETS) -> Averages:
    """Enumerate the training sets of size n and tabulate rho and U_l on them."""
    return Averages(universe, algorithm, n, max_sets=max_sets)


def _eq_identity(lhs, rhs, *terms) -> Identity:
    scale = max([abs(float(lhs)), abs(float(rhs))] + [abs(float(t)) for t in terms])
    return Identity(float(lhs), float(rhs), scale, "==")


def exact_identities(universe: Universe, algorithm, n: int, *, n_e: int | None = None, f=None,
                     joint_test: bool | None = None, avg: Averages | None = None) -> dict[str, Identity]:
    """Both sides of Eqs 2-7 for any algorithm, exactly.

    Eq 2: <f>bar = integral Cov_D(rho, f) dtheta + <<fbar>>   (f: callable counts -> (m,);
          default f = U_l^2, a function of theta and of the data nonlinear in the data)
    Eq 3: <U_l>bar = integral Cov_D(rho, U_l) dtheta + <<Ubar_l>>
    Eq 4: <U_e>bar = <<Ubar_e>> (+ integral Cov_D(rho, U_e), which is 0)
    Eq 5: <Delta>bar = -integral Cov_D(rho, U_l) dtheta + <<Deltabar>>
    Eq 6 (no shift only): <Delta>bar = -integral Cov_{x_l}(rho, U_l) dtheta
    Eq 7 (no shift only): |<Delta>bar| <= n^{-1/2} integral sigma_rho sigma_l dtheta

    Test sets. U_e(theta, x_e) is the mean of n_e i.i.d. losses, so
    E_{x_e} U_e(theta, x_e) = Ubar_e(theta) for every n_e, and x_e is
    independent of x_l: every test-side expectation therefore only needs
    Ubar_e, no enumeration of test sets. To keep Eq 4 a real check rather than
    a restatement, when the joint sum is small (N_l N_e m <= MAX_JOINT, or
    joint_test=True) the left side <U_e>bar and Cov_D(rho, U_e) are computed by
    also enumerating the test multisets of size n_e (default n) and summing over
    (train set, test set) pairs with weight p(x_l) p(x_e); the right side uses
    the population Ubar_e. Otherwise the shortcut is used (then the two sides
    of Eq 4 differ only by the order of summation).

    Returns {"eq02": Identity(lhs, rhs, scale, "=="), ..., "eq07": Identity(..., "<=")}.
    """
    avg = avg if avg is not None else data_averages(universe, algorithm, n)
    n = avg.n
    n_e = n if n_e is None else check_int("n_e", n_e, lo=1)
    w = avg.w
    out: dict[str, Identity] = {}
    rhobar = avg.rhobar

    # Eq 2 with a general f(theta, x_l)
    F = avg.U_l ** 2 if f is None else avg.tabulate(f)
    cov_f = avg.integral(avg.cov(avg.rho, F))
    dbl_f = avg.double(avg.bar(F))
    out["eq02"] = _eq_identity(avg.total(F), cov_f + dbl_f, cov_f, dbl_f, avg.total(np.abs(F)))

    # Eq 3
    UL = avg.U_l
    total_ul = avg.total(UL)
    cov_ul = avg.integral(avg.cov(avg.rho, UL))
    dbl_ul = avg.double(universe.Ubar_l)
    out["eq03"] = _eq_identity(total_ul, cov_ul + dbl_ul, cov_ul, dbl_ul)

    # Eq 4
    N = avg.p.size
    Ne = n_multisets(n_e, universe.k)
    use_joint = (N * Ne * universe.m <= MAX_JOINT) if joint_test is None else bool(joint_test)
    if use_joint:
        tsets = training_sets(universe, n_e, side="e", max_sets=MAX_MULTISETS)
        UE = (tsets.counts @ universe.loss.T) / n_e  # (Ne, m)
        pe = tsets.p
        # sum over (train set l, test set e) pairs of p_l p_e <U_e>: written as
        # one contraction so the independence of x_l and x_e is not assumed.
        total_ue = float(np.einsum("l,e,lm,em,m->", avg.p, pe, avg.rho, UE, w, optimize=False))
        ue_bar = pe @ UE
        cov_ue = np.einsum("l,e,lm,em->m", avg.p, pe, avg.rho - rhobar, UE - ue_bar, optimize=False)
        cov_ue_int = avg.integral(cov_ue)
    else:
        total_ue = float(avg.p @ (avg.rho @ (w * universe.Ubar_e)))
        cov_ue_int = 0.0
    dbl_ue = avg.double(universe.Ubar_e)
    out["eq04"] = _eq_identity(total_ue, cov_ue_int + dbl_ue, dbl_ue)

    # Eq 5 (any shift)
    gap = total_ue - total_ul
    dbl_delta = avg.double(universe.Ubar_e - universe.Ubar_l)
    out["eq05"] = _eq_identity(gap, -cov_ul + dbl_delta, total_ue, total_ul, cov_ul, dbl_delta)

    if not universe.shift:
        out["eq06"] = _eq_identity(gap, -cov_ul, total_ue, total_ul, cov_ul)
        sigma_rho = np.sqrt(avg.var(avg.rho))
        bound = avg.integral(sigma_rho * universe.sigma_l) / math.sqrt(n)
        out["eq07"] = Identity(abs(gap), bound, max(abs(gap), bound, total_ue, total_ul), "<=")
    return out


def effective_potential_gap(universe: Universe, g: Callable[[np.ndarray], np.ndarray], n: int,
                            *, avg: Averages | None = None) -> Identity:
    """Eq 9: for rho = exp(-g)/Z (Eq 8), <g>bar <= <<gbar>>.

    The positive effective-potential gap holds for any g(theta, x_l); it does
    not depend on the data-dependent additive constant of g (both sides move by
    its mean, since integral rhobar = 1).
    """
    if avg is None:
        avg = data_averages(universe, boltzmann(universe, g), n)
    G = avg.tabulate(g)
    lhs = avg.total(G)
    rhs = avg.double(avg.bar(G))
    return Identity(lhs, rhs, max(abs(lhs), abs(rhs), avg.total(np.abs(G))), "<=")


def sgd_potential_gap(universe: Universe, v: Callable, a: Callable, T: float, n: int) -> Identity:
    """Eq 21: for g = (2/T) v + a (Eq 18),
    <v>bar + (T/2) <a>bar <= <<vbar>> + (T/2) <<abar>>.
    """
    T = check_positive("T", T)
    g = _sgd_g(v, a, T)
    avg = data_averages(universe, boltzmann(universe, g), n)
    V, A = avg.tabulate(v), avg.tabulate(a)
    lhs = avg.total(V) + 0.5 * T * avg.total(A)
    rhs = avg.double(avg.bar(V)) + 0.5 * T * avg.double(avg.bar(A))
    scale = max(abs(lhs), abs(rhs), avg.total(np.abs(V)) + 0.5 * T * avg.total(np.abs(A)))
    return Identity(lhs, rhs, scale, "<=")


def _sgd_g(v, a, T):
    def g(c):
        return (2.0 / T) * np.asarray(v(c), dtype=np.float64) + np.asarray(a(c), dtype=np.float64)

    return g


@dataclasses.dataclass(frozen=True)
class PotentialStats:
    """Exact grid inputs of the approximations (Eqs 10-14, 22-24, 51-53) and the
    exact quantities they approximate, for one gauge of g.

    gauge: 'logrho' (g = -log rho, Z = 1) or 'anchor' (g(theta) - g(theta_0)
    with theta_0 = theta[anchor] shared by all data sets: the lower limit of the
    line integrals of Eqs 19-20).
    """

    gauge: str
    anchor: int | None
    n: int
    weights: np.ndarray
    theta: np.ndarray | None
    gbar: np.ndarray
    sigma_g2: np.ndarray
    sigma_gu: np.ndarray
    Ubar: np.ndarray
    sigma_u: np.ndarray
    sigma_l: np.ndarray
    rhobar: np.ndarray
    sigma_rho: np.ndarray
    cov_rho_u: np.ndarray
    gap: float
    test_loss: float
    train_loss: float
    T: float | None = None
    vbar: np.ndarray | None = None
    abar: np.ndarray | None = None
    sigma_v2: np.ndarray | None = None
    sigma_a2: np.ndarray | None = None
    sigma_va: np.ndarray | None = None
    sigma_vu: np.ndarray | None = None
    sigma_au: np.ndarray | None = None


def _default_anchor(universe: Universe) -> int:
    if universe.theta is None:
        return 0
    th = universe.theta.reshape(universe.m, -1)
    return int(np.argmin(np.sum(th * th, axis=1)))


def potential_statistics(universe: Universe, n: int, *, g: Callable | None = None, v: Callable | None = None,
                         a: Callable | None = None, T: float | None = None, gauge: str = "logrho",
                         anchor: int | None = None) -> PotentialStats:
    """Exact gbar, sigma_g^2 = Var_{x_l} g, sigma_gu = Cov_{x_l}(g, U_l), Ubar,
    sigma_u^2 = Var_{x_l} U_l (= sigma_l^2 / n), sigma_l, rhobar, and the exact
    gap <Delta>bar of Eq 5/6, for rho = exp(-g)/Z.

    Give either g(counts) -> (m,), or the SGD pieces v, a and T (g = (2/T) v + a,
    Eq 18); then vbar, abar, sigma_v^2, sigma_a^2, sigma_va, sigma_vu, sigma_au
    are returned too.

    Gauges (PAPER.md, "Gauge of g"): g is fixed by rho only up to an additive
    constant that may depend on the data.
    - 'logrho' (default): g = -log rho, i.e. Z = 1; this makes "ignoring the
      stochasticity of Z" exact. For SGD the data-dependent constant log Z is
      absorbed into v: v = (T/2)(-log rho - a), with a in the anchor gauge.
    - 'anchor': g(theta) - g(theta_0), v(theta) - v(theta_0), a(theta) - a(theta_0)
      with theta_0 = theta[anchor] the same for all data sets (default: the
      point nearest the origin, or index 0 without coordinates).
    """
    if gauge not in ("logrho", "anchor"):
        raise ArgumentError(f"gauge must be 'logrho' or 'anchor' (got {gauge!r})")
    sgd = v is not None or a is not None or T is not None
    if sgd:
        if g is not None or v is None or a is None or T is None:
            raise ArgumentError("give either g, or all three of v, a and T", param="g")
        T = check_positive("T", T)
        g = _sgd_g(v, a, T)
    elif g is None:
        raise ArgumentError("g must be given (or v, a and T)")
    anchor = _default_anchor(universe) if anchor is None else check_int("anchor", anchor, lo=0, hi=universe.m - 1)
    alg = boltzmann(universe, g)
    avg = data_averages(universe, alg, n)
    logrho = avg.tabulate(alg.log_rho)
    if gauge == "logrho":
        G = -logrho
    else:
        G = -logrho + logrho[:, [anchor]]
    UL = avg.U_l
    kw = {}
    if sgd:
        A = avg.tabulate(a)
        A = A - A[:, [anchor]]
        V = 0.5 * T * (G - A)
        kw = dict(
            T=T, vbar=avg.bar(V), abar=avg.bar(A), sigma_v2=avg.var(V), sigma_a2=avg.var(A),
            sigma_va=avg.cov(V, A), sigma_vu=avg.cov(V, UL), sigma_au=avg.cov(A, UL),
        )
    train = avg.total(UL)
    test = float(avg.p @ (avg.rho @ (avg.w * universe.Ubar_e)))
    return PotentialStats(
        gauge=gauge, anchor=anchor if gauge == "anchor" else None, n=avg.n, weights=avg.w,
        theta=universe.theta, gbar=avg.bar(G), sigma_g2=avg.var(G), sigma_gu=avg.cov(G, UL),
        Ubar=universe.Ubar_l, sigma_u=np.sqrt(avg.var(UL)), sigma_l=universe.sigma_l,
        rhobar=avg.rhobar, sigma_rho=np.sqrt(avg.var(avg.rho)), cov_rho_u=avg.cov(avg.rho, UL),
        gap=test - train, test_loss=test, train_loss=train, **kw,
    )


def gap_by_sequences(universe: Universe, algorithm, n: int, *, max_sequences: int = 1_000_000) -> float:
    """<Delta>bar by brute force over all k^n ordered training sequences (a
    reference for tiny cases, independent of the multiset code): each sequence
    has probability prod_i r_l(x_i), its train loss is the mean of its losses,
    and its test loss given theta is Ubar_e(theta)."""
    n = check_int("n", n, lo=1)
    k = universe.k
    if k ** n > max_sequences:
        raise ArgumentError(f"n={n} and k={k} give k^n = {k ** n} sequences, above the limit {max_sequences}",
                            param="n")
    total = 0.0
    for seq in itertools.product(range(k), repeat=n):
        idx = np.array(seq)
        prob = float(np.prod(universe.r_l[idx]))
        if prob == 0.0:
            continue
        counts = np.bincount(idx, minlength=k)
        rho = np.asarray(algorithm(counts), dtype=np.float64)
        train = universe.loss[:, idx].mean(axis=1)
        total += prob * float(np.sum(universe.weights * rho * (universe.Ubar_e - train)))
    return total
