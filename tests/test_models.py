"""Toy models (theory/_models.py): sympy expressions == lambdified evaluators == numpy methods."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from gapkit.theory._models import LinRegModel, LogRegModel, QuadraticModel, curl_asymmetry, linreg1d_v

QUANTITIES = ("U", "grad_U", "hess_U", "D", "div_D")


def _close(a, b, rtol=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(1.0, float(np.abs(b).max()))
    return float(np.abs(a - b).max()) <= rtol * scale


def _cases():
    rng = np.random.default_rng(7)
    yield QuadraticModel(1.7), 4, None
    A = rng.standard_normal((2, 2))
    yield QuadraticModel(A @ A.T + 0.5 * np.eye(2)), 3, None
    yield LinRegModel(1), 4, "y"
    yield LinRegModel(2), 5, "y"  # under-parameterized (n > d)
    yield LinRegModel(3), 2, "y"  # over-parameterized (d > n)


@pytest.mark.parametrize("model,n,has_y", list(_cases()), ids=lambda c: getattr(c, "name", str(c)))
def test_lambdified_equals_numpy_and_sympy(model, n, has_y):
    rng = np.random.default_rng(11)
    sym = model.symbolic(n)
    for _ in range(3):
        theta = rng.standard_normal(model.dim)
        X = rng.standard_normal((n, model.dim))
        y = rng.standard_normal(n) if has_y else None
        for q in QUANTITIES:
            expr, f = sym[q]
            got = f(theta, X, y)
            ref = getattr(model, q)(theta, X, y)
            assert _close(got, ref), (model.name, q)
    # literal sympy substitution at one point == the lambdified evaluator
    theta = rng.standard_normal(model.dim)
    X = rng.standard_normal((n, model.dim))
    y = rng.standard_normal(n) if has_y else None
    subs = {sp.Symbol(f"theta{i}", real=True): theta[i] for i in range(model.dim)}
    subs.update({sp.Symbol(f"x{j}_{i}", real=True): X[j, i] for j in range(n) for i in range(model.dim)})
    if has_y:
        subs.update({sp.Symbol(f"y{j}", real=True): y[j] for j in range(n)})
    for q in QUANTITIES:
        expr, f = sym[q]
        val = np.array(sp.N(sp.sympify(expr).subs(subs), 30), dtype=float)
        assert _close(val.reshape(np.shape(f(theta, X, y))), f(theta, X, y)), q


def test_wrong_D_is_detected():
    """A D without the - dU dU' term (second moment, not covariance) differs from the sympy D."""
    m = LinRegModel(2)
    rng = np.random.default_rng(3)
    theta, X, y = rng.standard_normal(2), rng.standard_normal((5, 2)), rng.standard_normal(5)
    G = m.grads(theta, X, y)
    wrong = G.T @ G / 5
    assert not _close(wrong, m.symbolic(5)["D"][1](theta, X, y))


def test_quadratic_D_is_H_Sx_H_and_constant():
    rng = np.random.default_rng(5)
    H = np.array([[2.0, 0.3], [0.3, 1.0]])
    m = QuadraticModel(H)
    X = rng.standard_normal((6, 2))
    Sx = np.cov(X.T, bias=True)
    for _ in range(2):
        assert _close(m.D(rng.standard_normal(2), X), H @ Sx @ H)


def test_logreg_derivatives_against_finite_differences():
    rng = np.random.default_rng(2)
    m = LogRegModel(3)
    X = rng.standard_normal((7, 3))
    y = np.where(rng.random(7) < 0.5, -1.0, 1.0)
    theta = rng.standard_normal(3)
    eps = 1e-6
    E = np.eye(3) * eps
    g_fd = np.array([(m.U(theta + e, X, y) - m.U(theta - e, X, y)) / (2 * eps) for e in E])
    assert np.allclose(m.grad_U(theta, X, y), g_fd, atol=1e-8)
    H_fd = np.array([(m.grad_U(theta + e, X, y) - m.grad_U(theta - e, X, y)) / (2 * eps) for e in E]).T
    assert np.allclose(m.hess_U(theta, X, y), H_fd, atol=1e-8)
    # div D: sum_j d_j D_ij by central differences of D
    dD = np.array([(m.D(theta + e, X, y) - m.D(theta - e, X, y)) / (2 * eps) for e in E])  # [j, i, k]
    div_fd = np.einsum("jij->i", dD)
    assert np.allclose(m.div_D(theta, X, y), div_fd, atol=1e-8)
    # a perturbed div D (without the g Tr A term) is detected
    assert not np.allclose(m.div_D(theta, X, y) + m.grad_U(theta, X, y) * np.trace(m.hess_U(theta, X, y)), div_fd,
                           atol=1e-6)


def test_logreg_extreme_margins_finite():
    m = LogRegModel(1)
    X = np.array([[1e3], [-1e3]])
    y = np.array([1.0, 1.0])
    for th in (-5.0, 5.0):
        assert np.all(np.isfinite(m.loss([th], X, y)))
        assert np.all(np.isfinite(m.grads([th], X, y)))
        assert np.all(np.isfinite(m.div_D([th], X, y)))
    assert m.loss([5.0], X[:1], y[:1])[0] == pytest.approx(np.log1p(np.exp(-5e3)), abs=1e-300)


def test_curl_free_condition_quadratic():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((10, 2)) * np.array([1.0, 0.3])
    iso = QuadraticModel(1.5 * np.eye(2))
    gen = QuadraticModel(np.array([[2.0, 0.6], [0.6, 0.5]]))
    assert np.abs(iso.curl_matrix(X, alpha=0.1, beta=0.2)).max() < 1e-12
    assert curl_asymmetry(iso, [0.2, 0.1], X, alpha=0.1, beta=0.2) < 1e-7
    assert np.abs(gen.curl_matrix(X, alpha=0.1, beta=0.2)).max() > 1e-3
    assert curl_asymmetry(gen, [0.2, 0.1], X, alpha=0.1, beta=0.2) > 1e-3
    with pytest.raises(ValueError, match="curl"):
        gen.v([0.2, 0.1], X, alpha=0.1, beta=0.2)
    # where v exists its gradient is the Eq 19 integrand
    th = np.array([0.4, -0.3])
    eps = 1e-6
    g = [(iso.v(th + e, X, alpha=0.1, beta=0.2) - iso.v(th - e, X, alpha=0.1, beta=0.2)) / (2 * eps)
         for e in np.eye(2) * eps]
    assert np.allclose(g, iso.integrand_v(th, X, alpha=0.1, beta=0.2), atol=1e-8)


def test_linreg1d_v_and_a_closed_forms():
    rng = np.random.default_rng(8)
    X = rng.standard_normal(6)
    y = 0.7 * X + 0.4 * rng.standard_normal(6)
    m = LinRegModel(1)
    eps = 1e-6
    for w in (-1.5, 0.0, 0.8):
        dv = (linreg1d_v(w + eps, X, y, alpha=0.1, beta=0.3) - linreg1d_v(w - eps, X, y, alpha=0.1, beta=0.3)) / (2 * eps)
        assert dv == pytest.approx(m.integrand_v([w], X[:, None], y, alpha=0.1, beta=0.3)[0], rel=1e-7)
        a = lambda t: np.log(m.D([t], X[:, None], y)[0, 0] + 0.09)  # noqa: E731
        assert (a(w + eps) - a(w - eps)) / (2 * eps) == pytest.approx(
            m.integrand_a([w], X[:, None], y, alpha=0.1, beta=0.3)[0], rel=1e-6)
    assert linreg1d_v(0.0, X, y, alpha=0.1, beta=0.3) == 0.0


@pytest.mark.parametrize("bad", [
    lambda: QuadraticModel(-1.0),
    lambda: QuadraticModel(np.array([[1.0, 2.0], [0.0, 1.0]])),
    lambda: QuadraticModel(1.0).U([0.0, 1.0], np.zeros((3, 1))),
    lambda: LinRegModel(2).U([0.0, 1.0], np.zeros((3, 3)), np.zeros(3)),
    lambda: LinRegModel(2).U([0.0, 1.0], np.zeros((3, 2)), np.zeros(4)),
    lambda: LogRegModel(1).U([0.0], np.zeros((2, 1)), np.array([0.0, 1.0])),
    lambda: LinRegModel(0),
    lambda: linreg1d_v(0.0, np.ones(3), np.ones(3), beta=0.0),
])
def test_bad_inputs_raise(bad):
    with pytest.raises(ValueError):
        bad()


def test_one_dimensional_v_a_g_closed_forms_match_quadrature():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((8, 1))
    y = 0.5 * X[:, 0] + 0.3 * rng.standard_normal(8)
    kw = dict(alpha=0.1, beta=0.3)
    q = QuadraticModel(1.3)
    lr = LinRegModel(1)
    from gapkit.theory._models import _Model

    for th in (-1.2, 0.7):
        # closed forms vs the generic quadrature of the base class
        assert q.v([th], X, **kw) == pytest.approx(_Model.v(q, [th], X, None, **kw), rel=1e-10)
        assert lr.v([th], X, y, **kw) == pytest.approx(_Model.v(lr, [th], X, y, **kw), rel=1e-10)
        assert q.g([th], X, T=0.1, **kw) == pytest.approx(20 * q.v([th], X, **kw), rel=1e-14)
    # logistic 1-D: v' is the Eq 19 integrand, a' the Eq 20 integrand
    lg = LogRegModel(1)
    yl = np.where(X[:, 0] + 0.5 * rng.standard_normal(8) > 0, 1.0, -1.0)
    eps = 1e-5
    for th in (-0.5, 0.9):
        dv = (lg.v([th + eps], X, yl, **kw) - lg.v([th - eps], X, yl, **kw)) / (2 * eps)
        assert dv == pytest.approx(lg.integrand_v([th], X, yl, **kw)[0], rel=1e-6)
        da = (lg.a([th + eps], X, yl, **kw) - lg.a([th - eps], X, yl, **kw)) / (2 * eps)
        assert da == pytest.approx(lg.integrand_a([th], X, yl, **kw)[0], rel=1e-6)
    with pytest.raises(ValueError, match="d = 2"):
        LinRegModel(2).v([0.0, 0.0], np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match="T"):
        q.g([0.1], X, T=0.0)
