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
    yield LogRegModel(2), 3, "pm1"


def _labels(rng, n, kind):
    """None (quadratic), real labels (least squares) or +-1 labels (logistic)."""
    if kind is None:
        return None
    y = rng.standard_normal(n)
    return np.where(y > 0, 1.0, -1.0) if kind == "pm1" else y


@pytest.mark.parametrize("model,n,has_y", list(_cases()), ids=lambda c: getattr(c, "name", str(c)))
def test_lambdified_equals_numpy_and_sympy(model, n, has_y):
    rng = np.random.default_rng(11)
    sym = model.symbolic(n)
    for _ in range(3):
        theta = rng.standard_normal(model.dim)
        X = rng.standard_normal((n, model.dim))
        y = _labels(rng, n, has_y)
        for q in QUANTITIES:
            expr, f = sym[q]
            got = f(theta, X, y)
            ref = getattr(model, q)(theta, X, y)
            assert _close(got, ref), (model.name, q)
    # literal sympy substitution at one point == the lambdified evaluator
    theta = rng.standard_normal(model.dim)
    X = rng.standard_normal((n, model.dim))
    y = _labels(rng, n, has_y)
    subs = {sp.Symbol(f"theta{i}", real=True): theta[i] for i in range(model.dim)}
    subs.update({sp.Symbol(f"x{j}_{i}", real=True): X[j, i] for j in range(n) for i in range(model.dim)})
    if has_y:
        subs.update({sp.Symbol(f"y{j}", real=True): y[j] for j in range(n)})
    # each float as its exact binary value to 30 digits; xreplace (one pass over the tree) rather than subs
    # (which re-simplifies at every node: 10x slower on linreg(2)'s expanded D, n = 5)
    exact = {s: sp.Float(v, 30) for s, v in subs.items()}
    for q in QUANTITIES:
        expr, f = sym[q]
        val = np.array(sp.N(sp.sympify(expr).xreplace(exact), 30), dtype=float)
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


# ---------------------------------------------------------------- the numeric home of the toy losses
# gapkit.sims.engine._losses holds the one numeric definition of each toy model's per-example loss,
# gradient and Hessian (used by the Numba kernels, the indicators adapter and the torch cross-check).
# It is held against the sympy expressions above on random points: with n = 1 symbolic point U,
# grad U and hess U are the per-example loss, gradient and Hessian; with n > 1, the per-example
# gradients must also give the sympy D (Eq 17).
def _home(name, h=1.7):
    from gapkit.sims.engine import _losses as L

    if name == "quadratic":
        return (QuadraticModel(h * np.eye(2)), None, lambda w, X, y: L.quadratic_losses(w, X, h),
                lambda w, X, y: L.quadratic_grads(w, X, h),
                lambda w, X, y: np.broadcast_to(L.quadratic_hessian(X.shape[1], h), (X.shape[0], 2, 2)))
    logistic = name == "logreg"
    model = LogRegModel(3) if logistic else LinRegModel(3)
    return (model, "pm1" if logistic else "y", lambda w, X, y: L.glm_losses(w, X, y, logistic),
            lambda w, X, y: L.glm_grads(w, X, y, logistic),
            lambda w, X, y: L.glm_curvatures(w, X, y, logistic)[:, None, None] * np.einsum("ni,nj->nij", X, X))


_SYMBOLIC: dict = {}


def _symbolic(model, n):
    """model.symbolic(n), derived once per model and n for this module (the correct and the
    wrong-loss tests compare against the same sympy expressions; logreg's take the longest)."""
    key = (type(model).__name__, model.dim, n, np.asarray(getattr(model, "H", 0.0)).tobytes())
    if key not in _SYMBOLIC:
        _SYMBOLIC[key] = model.symbolic(n)
    return _SYMBOLIC[key]


def _home_mismatch(model, labels, loss, grad, hess, *, points=4, seed=21):
    """Largest relative deviation of (loss, gradient, Hessian, D from the gradients) from sympy."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    # n = 2 is the smallest data set with a nonzero D; n = 4 took 6.6 s of sympy for logreg(3) (issue 15)
    for n in (1, 2):
        sym = _symbolic(model, n)
        for _ in range(points):
            w = 1.5 * rng.standard_normal(model.dim)
            X = rng.standard_normal((n, model.dim))
            y = _labels(rng, n, labels)
            G = grad(w, X, y)
            got = {"U": np.mean(loss(w, X, y)), "grad_U": G.mean(axis=0), "hess_U": np.mean(hess(w, X, y), axis=0),
                   "D": G.T @ G / n - np.outer(G.mean(axis=0), G.mean(axis=0))}
            for q, v in got.items():
                ref = np.asarray(sym[q][1](w, X, y), dtype=float)
                worst = max(worst, float(np.abs(np.asarray(v) - ref).max()) / max(1.0, float(np.abs(ref).max())))
    return worst


@pytest.mark.parametrize("name", ["quadratic", "linreg", "logreg"])
def test_engine_losses_match_sympy(name):
    model, labels, loss, grad, hess = _home(name)
    assert _home_mismatch(model, labels, loss, grad, hess) < 1e-12


@pytest.mark.parametrize("name,which,wrong", [
    ("quadratic", "loss", lambda f: lambda w, X, y: 2.0 * f(w, X, y)),  # h instead of h/2
    ("quadratic", "grad", lambda f: lambda w, X, y: -f(w, X, y)),  # h (x - theta)
    ("linreg", "loss", lambda f: lambda w, X, y: f(w, X, -y)),  # (1/2)(w'x + y)^2
    ("linreg", "grad", lambda f: lambda w, X, y: f(w, X, 0.0 * y)),  # the label left out
    ("logreg", "loss", lambda f: lambda w, X, y: f(w, X, -y)),  # softplus(+y a)
    ("logreg", "grad", lambda f: lambda w, X, y: f(w, X, y) * 2.0),  # -2 y sigmoid(-y a) x
    ("logreg", "hess", lambda f: lambda w, X, y: f(w, X, y) * 4.0),  # sigmoid(a) instead of sigmoid(a) sigmoid(-a)
])
def test_a_wrong_toy_loss_fails_the_sympy_check(name, which, wrong):
    model, labels, loss, grad, hess = _home(name)
    fns = {"loss": loss, "grad": grad, "hess": hess}
    fns[which] = wrong(fns[which])
    assert _home_mismatch(model, labels, fns["loss"], fns["grad"], fns["hess"]) > 1e-3


def test_scalar_pieces_and_kernel_losses_are_the_home_functions():
    """The Numba scalars (one sigmoid, softplus) are overflow-free, and the kernels' loss
    evaluators (sufficient-statistics and logistic forms) equal the array functions."""
    from gapkit.sims.engine import _kernels as Kn
    from gapkit.sims.engine import _losses as L

    for a in (-800.0, -30.0, -1.0, 0.0, 0.5, 30.0, 800.0):
        s = L.sigmoid(a)
        assert np.isfinite(s) and s == pytest.approx(1.0 / (1.0 + np.exp(-np.clip(a, -700, 700))), rel=1e-15, abs=1e-300)
        assert L.softplus(a) == pytest.approx(np.logaddexp(0.0, a), rel=1e-15)
        assert L.sigmoid(a) + L.sigmoid(-a) == pytest.approx(1.0, rel=1e-15)
    rng = np.random.default_rng(5)
    X, Xt = rng.standard_normal((2, 9, 3)), rng.standard_normal((1, 40, 3))
    y, yt = np.where(rng.random((2, 9)) < 0.5, -1.0, 1.0), np.where(rng.random((1, 40)) < 0.5, -1.0, 1.0)
    w = rng.standard_normal(3)
    tr, te = Kn._logit_losses(w, 1, 0, X, y, Xt, yt)
    assert tr == pytest.approx(np.mean(L.glm_losses(w, X[1], y[1], True)), rel=1e-13)
    assert te == pytest.approx(np.mean(L.glm_losses(w, Xt[0], yt[0], True)), rel=1e-13)
    A, c, q = L.lsq_suff_stats(X, y)
    At, ct, qt = L.lsq_suff_stats(Xt, yt)
    tr, te = Kn._lsq_losses(w, 1, 0, A, c, q, At, ct, qt)
    assert tr == pytest.approx(np.mean(L.glm_losses(w, X[1], y[1], False)), rel=1e-12)
    assert te == pytest.approx(L.lsq_suff_loss(w, At[0], ct[0], qt[0]), rel=1e-12)
    assert te == pytest.approx(np.mean(L.glm_losses(w, Xt[0], yt[0], False)), rel=1e-12)
    # E over w (mean w, covariance S) of (1/2)(w'x - y)^2 = (1/2)((w'x - y)^2 + x'Sx), per example
    R = rng.standard_normal((3, 3))
    S = R @ R.T
    per_example = 0.5 * ((X[1] @ w - y[1]) ** 2 + np.einsum("ni,ij,nj->n", X[1], S, X[1]))
    assert L.lsq_expected_loss(w, S, A[1], c[1], q[1]) == pytest.approx(per_example.mean(), rel=1e-12)
    assert L.lsq_expected_loss(w, 1.1 * S, A[1], c[1], q[1]) != pytest.approx(per_example.mean(), rel=1e-6)
