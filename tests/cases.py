"""Test-specific cases; the general random universes, algorithms, potentials and the
hypothesis strategies live in the installed `gapkit.testing` (re-exported here under the
names the tests use).
"""
from __future__ import annotations

import numpy as np

from gapkit.testing import erm_algorithm as erm_algorithm
from gapkit.testing import loss_potential as loss_potential
from gapkit.testing import potentials as potential_cases
from gapkit.testing import random_algorithm as random_algorithm
from gapkit.testing import random_potential as random_potential
from gapkit.testing import random_sgd_pieces as random_sgd_pieces
from gapkit.testing import random_universe as random_universe
from gapkit.testing import universes as universe_cases
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


def grid_universe(rng: np.random.Generator, *, m: int = 41, k: int = 3, width: float = 3.0) -> Universe:
    """A 1-D theta grid with trapezoid weights, l = (1/2)(theta - x)^2 at random x."""
    theta = np.linspace(-width, width, m)
    w = np.full(m, theta[1] - theta[0])
    w[[0, -1]] *= 0.5
    x = np.sort(rng.normal(size=k))
    loss = 0.5 * (theta[:, None] - x[None, :]) ** 2
    return Universe(loss=loss, r_l=rng.dirichlet(np.full(k, 0.8)), weights=w, theta=theta, x=x)


def tight_universe() -> tuple[Universe, object, int]:
    """k = 2, n = 1, ERM on two thetas with opposite losses: Eq 7 holds with equality
    (every function of a two-point data set is affine in one indicator, so
    |Cov| = sigma sigma at each theta, with the same sign at both thetas)."""
    u = Universe(loss=np.array([[0.0, 1.0], [1.0, 0.0]]), r_l=np.array([0.3, 0.7]))
    return u, erm_algorithm(u), 1
