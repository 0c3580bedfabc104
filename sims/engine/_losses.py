"""Per-example loss and gradient of each toy model: the one numeric definition.

The toy models of `_problems` (paper Section 2.3; Appendix E's draws):

    quadratic       l(theta, x) = (h/2)|theta - x|^2,              dl = h (theta - x),  d2l = h I
    least squares   l(w, x, y) = phi(a, y) = (1/2)(a - y)^2,        a = w'x  (linreg, rfridge features)
    logistic        l(w, x, y) = phi(a, y) = softplus(-y a),        y = +-1  (logreg)

with dl/dw = phi'(a, y) x and d2l/dw2 = phi''(a, y) x x' for the two
generalised linear models (phi' = a - y or -y sigmoid(-y a); phi'' = 1 or
sigmoid(a) sigmoid(-a)). The scalar pieces (`sigmoid`, `softplus`,
`glm_phi`, `glm_dphi`, `glm_d2phi`) are Numba-jitted: the kernels call them
per example inside their loops, and the array functions below apply them to
every example of a data set (numpy matrix products for a = X w). The
indicators adapter (`gapkit.sims.indicators._toy_models`), the exact
conditional theory of `simulate` and the torch cross-backend check use these
array functions; tests/test_models.py holds them against the sympy
expressions of `gapkit.theory._models` (the ground truth).

The least-squares loss also has a sufficient-statistics form,
(1/2)(w'Aw - 2 c'w + q) with A = X'X/n, c = X'y/n, q = y'y/n (`lsq_suff_loss`;
the kernels' `_qform` is its loop form), and its expectation when w has mean m
and covariance S adds (1/2) Tr(A S) (`lsq_expected_loss`).
"""
from __future__ import annotations

import math

import numpy as np

from ._jit import jit

__all__ = ["sigmoid", "softplus", "glm_phi", "glm_dphi", "glm_d2phi", "quadratic_losses", "quadratic_grads",
           "quadratic_hessian", "glm_losses", "glm_grads", "glm_curvatures", "lsq_suff_stats", "lsq_suff_loss",
           "lsq_expected_loss"]


# ---------------------------------------------------------------- scalars (Numba; the kernels inline them)
@jit
def sigmoid(a):
    """1 / (1 + exp(-a)), with exp of a non-positive number only (no overflow)."""
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


@jit
def softplus(a):
    """log(1 + exp(a)) without overflow."""
    if a > 0:
        return a + math.log1p(math.exp(-a))
    return math.log1p(math.exp(a))


@jit
def glm_phi(a, y, logistic):
    """Per-example loss as a function of the margin a = w'x: (1/2)(a - y)^2 or softplus(-y a)."""
    if logistic:
        return softplus(-y * a)
    r = a - y
    return 0.5 * (r * r)


@jit(inline="always")  # inlined where it is called, so a constant `logistic` removes the branch
def glm_dphi(a, y, logistic):
    """d phi / d a: a - y (least squares) or -y sigmoid(-y a) (logistic, y = +-1)."""
    if logistic:
        return -y * sigmoid(-y * a)
    return a - y


@jit
def glm_d2phi(a, y, logistic):
    """d^2 phi / d a^2: 1 (least squares) or sigmoid(a) sigmoid(-a) (logistic; y^2 = 1)."""
    if logistic:
        return sigmoid(a) * sigmoid(-a)
    return 1.0


@jit
def _glm_map(a, y, logistic, order):
    """phi (order 0), phi' (1) or phi'' (2) of every example, elementwise."""
    out = np.empty(a.shape[0])
    for j in range(a.shape[0]):
        if order == 0:
            out[j] = glm_phi(a[j], y[j], logistic)
        elif order == 1:
            out[j] = glm_dphi(a[j], y[j], logistic)
        else:
            out[j] = glm_d2phi(a[j], y[j], logistic)
    return out


# ---------------------------------------------------------------- arrays (one data set: X (n, d), y (n,))
def _f64(v):
    return np.ascontiguousarray(v, dtype=np.float64)


def quadratic_losses(theta, X, h):
    """(n,) per-example losses (h/2)|theta - x_j|^2."""
    theta, X = _f64(theta), _f64(X)
    return 0.5 * h * np.sum((theta[None] - X) ** 2, axis=1)


def quadratic_grads(theta, X, h):
    """(n, d) per-example gradients h (theta - x_j)."""
    theta, X = _f64(theta), _f64(X)
    return h * (theta[None] - X)


def quadratic_hessian(d, h):
    """The (d, d) Hessian h I of every example."""
    return h * np.eye(d)


def glm_losses(w, X, y, logistic):
    """(n,) per-example losses phi(w'x_j, y_j)."""
    X = _f64(X)
    return _glm_map(X @ _f64(w), _f64(y), bool(logistic), 0)


def glm_grads(w, X, y, logistic):
    """(n, d) per-example gradients phi'(w'x_j, y_j) x_j."""
    X = _f64(X)
    return _glm_map(X @ _f64(w), _f64(y), bool(logistic), 1)[:, None] * X


def glm_curvatures(w, X, y, logistic):
    """(n,) phi''(w'x_j, y_j): per-example Hessian = phi'' x_j x_j'."""
    X = _f64(X)
    return _glm_map(X @ _f64(w), _f64(y), bool(logistic), 2)


def lsq_suff_stats(X, y):
    """Least-squares sufficient statistics A = X'X/n, c = X'y/n, q = y'y/n of one data set (X (n, p))
    or of each of K (X (K, n, p), y (K, n))."""
    X, y = _f64(X), _f64(y)
    one = X.ndim == 2
    if one:
        X, y = X[None], y[None]
    n = X.shape[1]
    A = np.einsum("knp,knq->kpq", X, X) / n
    c = np.einsum("knp,kn->kp", X, y) / n
    q = np.einsum("kn,kn->k", y, y) / n
    return (A[0], c[0], q[0]) if one else (A, c, q)


def lsq_suff_loss(w, A, c, q):
    """(1/2)(w'Aw - 2 c'w + q): the least-squares loss of the data set with statistics (A, c, q)."""
    return 0.5 * (float(w @ A @ w) - 2 * float(c @ w) + float(q))


def lsq_expected_loss(m, S, A, c, q):
    """E over w ~ (mean m, covariance S) of the least-squares loss: lsq_suff_loss(m) + (1/2) Tr(A S)."""
    return lsq_suff_loss(m, A, c, q) + 0.5 * float(np.sum(A * S))
