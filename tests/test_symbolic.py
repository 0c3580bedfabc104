"""SymbolicModel (theory/_symbolic.py): sympy expressions == lambdified evaluators == built-in models;
its universe through the exact engine; its Fokker-Planck steady state against the Boltzmann form.

Tolerances: identities to 1e-12 of the largest term (the exact engine's rounding allowance, as in
test_universe); evaluators to 1e-12 relative (a few roundings of O(1) inputs); Fokker-Planck vs
exp(-g): central differences are second order, so the L1 distance of the two densities on the
400-cell grid is O(h^2) ~ 1e-4 (measured 2e-5); a 20% wrong T moves it to ~1e-1.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from gapkit.testing import assert_identity, assert_inequality
from gapkit.theory import ArgumentError, LinRegModel, LogRegModel, QuadraticModel, exact_identities
from gapkit.theory import boltzmann, effective_potential_gap, sgd_generator_terms, sgd_potential_gap
from gapkit.theory._symbolic import SymbolicModel, linreg_model, logreg_model, quadratic_model

QUANTITIES = ("U", "grad_U", "hess_U", "D", "div_D")
t, x = sp.symbols("t x", real=True)
# a loss no built-in model has: a double well whose gradient noise depends on theta, l >= 0
DOUBLE_WELL = (t**2 - 1) ** 2 / 4 + (x * t + 1) ** 2 / 4


def _close(a, b, rtol=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.abs(a - b).max()) <= rtol * max(1.0, float(np.abs(b).max()))


def _pairs():
    yield quadratic_model(1.3, d=2), QuadraticModel(1.3 * np.eye(2)), None
    yield linreg_model(2), LinRegModel(2), "y"
    yield logreg_model(2), LogRegModel(2), "pm1"


@pytest.mark.parametrize("sym,builtin,labels", list(_pairs()), ids=["quadratic", "linreg", "logreg"])
def test_symbolic_model_equals_builtin_and_its_own_sympy(sym, builtin, labels):
    """numeric methods == the built-in model's hand-written ones == the lambdified sympy(n) expressions."""
    rng = np.random.default_rng(3)
    n = 3
    # sympy's logistic D is slow to build: its symbolic(n) path (_derive) is the one tested on the others
    exprs = None if labels == "pm1" else sym.symbolic(n)
    for _ in range(3):
        theta, X = rng.standard_normal(2), rng.standard_normal((n, 2))
        y = None if labels is None else (rng.standard_normal(n) if labels == "y" else np.sign(rng.standard_normal(n)))
        for q in QUANTITIES:
            mine = getattr(sym, q)(theta, X, y)
            assert _close(mine, getattr(builtin, q)(theta, X, y)), q
            assert exprs is None or _close(exprs[q][1](theta, X, y), mine), q
        assert _close(sym.loss(theta, X, y), builtin.loss(theta, X, y))


def test_a_wrong_model_is_told_apart():
    """The comparison can fail: h off by 20% differs far beyond the 1e-12 tolerance."""
    rng = np.random.default_rng(4)
    theta, X = rng.standard_normal(1), rng.standard_normal((4, 1))
    assert not _close(quadratic_model(1.2).D(theta, X), QuadraticModel(1.0).D(theta, X))


def test_bad_inputs_name_the_parameter():
    with pytest.raises(ArgumentError) as e:
        SymbolicModel(t * x * sp.Symbol("c"), [t], [x])
    assert e.value.param == "loss"
    with pytest.raises(ArgumentError) as e:
        SymbolicModel(t * x, [t], [t])
    assert e.value.param == "params"
    with pytest.raises(ArgumentError) as e:
        SymbolicModel(DOUBLE_WELL, [t], [x]).D([0.0], np.zeros((3, 2)))
    assert e.value.param == "X"


X3 = np.array([-0.8, 0.3, 1.1])


@pytest.fixture(scope="module")
def well():
    return SymbolicModel(DOUBLE_WELL, [t], [x], name="double well")


@pytest.fixture(scope="module")
def well_potentials(well):
    """Closed-form (v, a) of Eqs 19-20 on the data set X3 with alpha = 0, beta = 0.5."""
    return well.potentials_1d(X3, beta=0.5)


def test_closed_form_potentials_and_zero_current(well, well_potentials):
    """1-D: sympy's v (Eq 19) equals the numeric integral; J / rho of Eq 47 simplifies to 0 (Eq 49)."""
    X = X3
    v, a = well_potentials
    assert v is not None
    for th in (-1.3, 0.4, 2.0):
        assert abs(float(v.subs(t, th)) - well.v([th], X, beta=0.5)) <= 1e-9 * max(1.0, abs(float(v.subs(t, th))))
        assert abs(float(a.subs(t, th)) - well.a([th], X, beta=0.5)) <= 1e-12
    assert well.zero_current(X, alpha=0.1, beta=0.5) == 0


def test_curl_report_finds_the_path_dependence():
    """d = 2: linear regression's Eq 19 integrand is not curl-free on generic data; the isotropic quadratic's is."""
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((6, 2)), rng.standard_normal(6)
    pts = rng.standard_normal((4, 2))
    bad = linreg_model(2).curl_report(pts, X, y, alpha=0.1, beta=0.3)
    good = quadratic_model(1.0, d=2).curl_report(pts, X, alpha=0.1, beta=0.3)
    assert not bad["curl_free_v"] and bad["max_v"] > 1e-3
    assert good["curl_free_v"] and good["curl_free_a"]


def test_universe_runs_the_exact_engine(well):
    """Eqs 2-7, 9, 21 on the universe of a loss the toolkit has never seen (SGD-form Boltzmann algorithm)."""
    u = well.universe([-1.0, 0.2, 1.4], np.linspace(-2.5, 2.5, 41), r_l=[0.3, 0.3, 0.4])
    v, a = well.sgd_pieces(u, alpha=0.05, beta=0.4)
    T, n = 0.5, 3
    alg = boltzmann(u, lambda c: (2 / T) * v(c) + a(c))
    ids = exact_identities(u, alg, n)
    for key in ("eq02", "eq03", "eq04", "eq05", "eq06"):
        assert_identity(ids[key])
    assert_inequality(ids["eq07"])
    assert_inequality(effective_potential_gap(u, lambda c: (2 / T) * v(c) + a(c), n))
    assert_inequality(sgd_potential_gap(u, v, a, T, n))


def test_ito_moment_equations_take_the_model():
    """Eqs 34-37 (`sgd_generator_terms`) accept a SymbolicModel; the generator form equals the paper's."""
    terms = sgd_generator_terms(quadratic_model(1.0), 2)
    assert sp.simplify(terms["gen36"] - terms["eq36"]) == 0


def test_fokker_planck_matches_the_boltzmann_form(well, well_potentials):
    """1-D zero flux: the Eq 47 steady state is exp(-(2/T) v - a) / Z (Eq 18); a 20% wrong T is far off."""
    T, beta = 0.4, 0.5
    fp = well.fokker_planck(X3, T=T, beta=beta, bounds=[(-3.0, 3.0)], n_cells=400)
    c = fp.centers[0]
    h = fp.h[0]
    vv, aa = (sp.lambdify(t, e, "numpy")(c) + 0 * c for e in well_potentials)

    def l1(TT):
        g = (2 / TT) * vv + aa
        rho = np.exp(-(g - g.min()))
        return float(np.abs(rho / (rho.sum() * h) - fp.rho).sum() * h)

    assert l1(T) < 1e-3
    assert l1(1.2 * T) > 2e-2
