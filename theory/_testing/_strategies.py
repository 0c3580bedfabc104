"""Hypothesis strategies of gapkit.testing: universes, loss tables, potentials, algorithms, SymbolicModels.

All cases are small (m <= 5 thetas, k <= 4 data points, n <= 4 by default) so exact
enumeration over the C(n+k-1, k-1) training multisets stays cheap.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from gapkit.theory._universe import Universe, boltzmann
from gapkit.theory._validate import check_choice

from ._cases import erm_algorithm, random_algorithm, random_potential, random_sgd_pieces

__all__ = ["universes", "loss_tables", "potentials", "algorithms", "sgd_cases", "symbolic_models"]

_loss_vals = st.floats(min_value=0.0, max_value=10.0, allow_nan=False, allow_infinity=False)
_pos = st.floats(min_value=0.05, max_value=1.0, allow_nan=False, allow_infinity=False)


@st.composite
def loss_tables(draw, *, max_m: int = 5, max_k: int = 4):
    """(m, k) tables of per-example losses in [0, 10]."""
    m = draw(st.integers(1, max_m))
    k = draw(st.integers(1, max_k))
    return np.array(draw(st.lists(_loss_vals, min_size=m * k, max_size=m * k))).reshape(m, k)


@st.composite
def universes(draw, *, shift: bool | None = None, max_m: int = 5, max_k: int = 4, max_n: int = 4):
    """(universe, n, seed): a small random finite universe (unit theta weights; with distribution shift
    r_e != r_l when shift is True, drawn when None), a training size n and a seed for random pieces."""
    loss = draw(loss_tables(max_m=max_m, max_k=max_k))
    k = loss.shape[1]
    r = np.array(draw(st.lists(_pos, min_size=k, max_size=k)))
    do_shift = draw(st.booleans()) if shift is None else shift
    r_e = None
    if do_shift:
        re = np.array(draw(st.lists(_pos, min_size=k, max_size=k)))
        r_e = re / re.sum()
    u = Universe(loss=loss, r_l=r / r.sum(), r_e=r_e)
    return u, draw(st.integers(1, max_n)), draw(st.integers(0, 2**32 - 1))


@st.composite
def potentials(draw, **kw):
    """(universe, n, g): a universe without shift and a potential g(counts) of moderate size
    (`random_potential`, eps in {0, 0.1, 1, 5} scaling its data dependence)."""
    u, n, seed = draw(universes(shift=False, **kw))
    eps = draw(st.sampled_from([0.0, 0.1, 1.0, 5.0]))
    return u, n, random_potential(np.random.default_rng(seed), u, eps=eps)


@st.composite
def sgd_cases(draw, **kw):
    """(universe, n, v, a, T): random Eq 18 pieces v(counts), a(counts) and a temperature T."""
    u, n, seed = draw(universes(shift=False, **kw))
    v, a = random_sgd_pieces(np.random.default_rng(seed), u)
    return u, n, v, a, draw(st.sampled_from([0.05, 0.5, 2.0]))


@st.composite
def algorithms(draw, kind: str = "any", **kw):
    """(universe, n, algorithm): kind "any" (a fixed random density per training set, some entries 0,
    or ERM), "boltzmann" (rho = exp(-g)/Z, Eq 8, random g) or "sgd" (g = (2/T) v + a, Eq 18)."""
    check_choice("kind", kind, ("any", "boltzmann", "sgd"))
    if kind == "sgd":
        u, n, v, a, T = draw(sgd_cases(**kw))
        return u, n, boltzmann(u, lambda c: (2.0 / T) * v(c) + a(c))
    if kind == "boltzmann":
        u, n, g = draw(potentials(**kw))
        return u, n, boltzmann(u, g)
    u, n, seed = draw(universes(**kw))
    return u, n, (erm_algorithm(u) if draw(st.booleans()) else random_algorithm(seed, u))


# the grammar of `symbolic_models`: terms >= 0 in one parameter t and one data point x
_TERMS = ("(t - x)**2", "(t - x)**4", "t**2 * x**2", "log(1 + exp(t * x))", "(t**2 - x)**2", "x**2 * (t - 1)**2")


@st.composite
def symbolic_models(draw, *, max_terms: int = 3):
    """A 1-D `gapkit.theory.SymbolicModel` whose loss is a sum of 1 to max_terms terms of a small grammar
    (c * term, c in {1/4, 1/2, 1, 2}; terms: (t - x)^2, (t - x)^4, t^2 x^2, log(1 + e^{t x}), (t^2 - x)^2,
    x^2 (t - 1)^2), each >= 0, so the model's losses fill a valid universe."""
    import sympy as sp

    from gapkit.theory._symbolic import SymbolicModel

    t, x = sp.symbols("t x", real=True)
    idx = draw(st.lists(st.integers(0, len(_TERMS) - 1), min_size=1, max_size=max_terms, unique=True))
    coef = [draw(st.sampled_from([sp.Rational(1, 4), sp.Rational(1, 2), 1, 2])) for _ in idx]
    loss = sum(c * sp.sympify(_TERMS[i], locals={"t": t, "x": x}) for c, i in zip(coef, idx))
    return SymbolicModel(loss, [t], [x], name=str(loss))
