"""Random finite universes, algorithms and potentials (gapkit.testing's factories).

Each factory takes a ``numpy.random.Generator`` or an integer seed (never global seeding).
"""
from __future__ import annotations

import numpy as np

from gapkit.theory._universe import Universe

__all__ = ["random_universe", "random_algorithm", "erm_algorithm", "random_potential", "loss_potential",
           "random_sgd_pieces"]


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
