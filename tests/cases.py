"""Registry of random finite universes, algorithms and potentials for tests.

Factories take a ``numpy.random.Generator`` (never global seeding); the
hypothesis strategies draw only valid universes (probabilities summing to 1,
finite non-negative losses, n >= 1) and keep them small so exact enumeration
is cheap. Other test files may import from here.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from gapkit.theory._universe import Universe

__all__ = [
    "random_universe",
    "grid_universe",
    "tight_universe",
    "random_algorithm",
    "erm_algorithm",
    "random_potential",
    "loss_potential",
    "random_sgd_pieces",
    "universe_cases",
    "potential_cases",
]


def _probs(rng: np.random.Generator, k: int, *, zero_ok: bool = False) -> np.ndarray:
    p = rng.dirichlet(np.full(k, 0.8))
    if zero_ok and k > 2 and rng.random() < 0.3:
        p[rng.integers(k)] = 0.0
    return p / p.sum()


def random_universe(rng: np.random.Generator, *, m: int | None = None, k: int | None = None,
                    shift: bool = False, loss_scale: float = 1.0) -> Universe:
    """A finite theta set (unit weights) with a random loss table."""
    m = int(rng.integers(1, 6)) if m is None else m
    k = int(rng.integers(1, 5)) if k is None else k
    loss = loss_scale * rng.random((m, k)) ** 2
    r_l = _probs(rng, k, zero_ok=True)
    r_e = _probs(rng, k) if shift else None
    return Universe(loss=loss, r_l=r_l, r_e=r_e)


def grid_universe(rng: np.random.Generator, *, m: int = 41, k: int = 3, width: float = 3.0) -> Universe:
    """A 1-D theta grid with trapezoid weights, l = (1/2)(theta - x)^2 at random x."""
    theta = np.linspace(-width, width, m)
    w = np.full(m, theta[1] - theta[0])
    w[[0, -1]] *= 0.5
    x = np.sort(rng.normal(size=k))
    loss = 0.5 * (theta[:, None] - x[None, :]) ** 2
    return Universe(loss=loss, r_l=_probs(rng, k), weights=w, theta=theta, x=x)


def tight_universe() -> tuple[Universe, object, int]:
    """k = 2, n = 1, ERM on two thetas with opposite losses: Eq 7 holds with equality
    (every function of a two-point data set is affine in one indicator, so
    |Cov| = sigma sigma at each theta, with the same sign at both thetas)."""
    u = Universe(loss=np.array([[0.0, 1.0], [1.0, 0.0]]), r_l=np.array([0.3, 0.7]))
    return u, erm_algorithm(u), 1


def random_algorithm(seed: int, universe: Universe, *, zeros: bool = True):
    """An arbitrary (non-Boltzmann) algorithm: a fixed random density for every
    training multiset, drawn from a stream keyed by the multiset itself; some
    entries are exactly zero."""
    m, w = universe.m, universe.weights

    def alg(counts):
        key = tuple(int(c) for c in counts)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
        q = rng.dirichlet(np.full(m, 0.7))
        if zeros and m > 1:
            q[rng.random(m) < 0.25] = 0.0
            if q.sum() == 0:
                q[rng.integers(m)] = 1.0
        return q / np.dot(w, q)

    return alg


def erm_algorithm(universe: Universe):
    """Empirical risk minimization: uniform on the argmin of U_l (ties split)."""
    loss, w = universe.loss, universe.weights

    def alg(counts):
        u = loss @ counts / counts.sum()
        q = (u <= u.min() + 1e-14).astype(float)
        return q / np.dot(w, q)

    return alg


def random_potential(rng: np.random.Generator, universe: Universe, *, eps: float = 1.0, scale: float = 2.0):
    """g(theta, c) = g0(theta) + eps * h(theta, c), h nonlinear in the counts."""
    m, k = universe.loss.shape
    g0 = scale * rng.normal(size=m)
    A = scale * rng.normal(size=(m, k))
    B = rng.normal(size=(m, k))

    def g(counts):
        f = counts / counts.sum()
        return g0 + eps * (A @ f + (B @ f) ** 2)

    return g


def loss_potential(universe: Universe, T: float):
    """g = U_l / T (the Gibbs algorithm of Seung et al.)."""
    loss = universe.loss

    def g(counts):
        return (loss @ counts) / counts.sum() / T

    return g


def random_sgd_pieces(rng: np.random.Generator, universe: Universe):
    """Random v(theta, c) and a(theta, c) for g = (2/T) v + a (Eq 18)."""
    v = random_potential(rng, universe, scale=1.0)
    a = random_potential(rng, universe, scale=0.5)
    return v, a


# ------------------------------------------------------------ hypothesis strategies
_loss_vals = st.floats(min_value=0.0, max_value=10.0, allow_nan=False, allow_infinity=False)
_pos = st.floats(min_value=0.05, max_value=1.0, allow_nan=False, allow_infinity=False)


@st.composite
def universe_cases(draw, *, shift: bool | None = None, max_m: int = 5, max_k: int = 4, max_n: int = 4):
    """(universe, n, seed): a small random universe, training size and a seed."""
    m = draw(st.integers(1, max_m))
    k = draw(st.integers(1, max_k))
    loss = np.array(draw(st.lists(_loss_vals, min_size=m * k, max_size=m * k))).reshape(m, k)
    r = np.array(draw(st.lists(_pos, min_size=k, max_size=k)))
    do_shift = draw(st.booleans()) if shift is None else shift
    r_e = None
    if do_shift:
        re = np.array(draw(st.lists(_pos, min_size=k, max_size=k)))
        r_e = re / re.sum()
    u = Universe(loss=loss, r_l=r / r.sum(), r_e=r_e)
    n = draw(st.integers(1, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    return u, n, seed


@st.composite
def potential_cases(draw, **kw):
    """(universe, n, g) with a random potential g of moderate size."""
    u, n, seed = draw(universe_cases(shift=False, **kw))
    rng = np.random.default_rng(seed)
    eps = draw(st.sampled_from([0.0, 0.1, 1.0, 5.0]))
    return u, n, random_potential(rng, u, eps=eps)
