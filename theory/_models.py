"""Toy models of the paper's SGD theory (Section 2.3, Eqs 17-20), as small declarative objects.

Each model is a per-example loss l(theta, x) plus what Eq 17 needs from it:
per-example gradients, the train loss U_l, its gradient and Hessian, the
per-example gradient covariance
    D(theta, x_l) = (1/n) sum_j dl_j dl_j' - dU_l dU_l'          (Eq 17)
and its divergence (div D)_i = sum_j d_j D_ij (Eq 20), the integrands of
Eqs 19-20,
    F_v = (D + beta^2 I)^{-1} (dU_l + alpha theta),   F_a = (D + beta^2 I)^{-1} div D,
and whether they are curl-free (dF symmetric): only then are v and a of
Eqs 19-20 path-independent and the zero-current Boltzmann state of Eq 18
exists (Appendix B). In 1-D every field is a gradient and v, a are given in
closed form (a = log(D + beta^2) + const).

Models: `QuadraticModel` l = (1/2)(theta - x)' H (theta - x) (1-D and d-dim),
`LinRegModel` l = (1/2)(w'x - y)^2 (any d, n: under- and over-parameterized),
`LogRegModel` l = log(1 + exp(-y w'x)) (numeric only, log1p/logaddexp-stable).
Numeric methods take (theta, X, y) with X of shape (n, d) (y ignored by the
quadratic). `symbolic(n)` builds the sympy expressions for n symbolic data
points and their lambdified float64 evaluators (cached), which tests hold
against the hand-written numpy methods.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp

from ._lyapunov import _arr, _finite, _int, _nonneg, _pos
from ._validate import ArgumentError

__all__ = ["QuadraticModel", "LinRegModel", "LogRegModel", "curl_asymmetry", "linreg1d_v"]


class _Model:
    """Shared numeric machinery; subclasses give `grads`, `loss`, `hess_l` (per example)."""

    name = "model"
    dim = 1

    def _inputs(self, theta, X, y):
        theta = np.asarray(theta, dtype=np.float64).reshape(-1)
        if theta.shape != (self.dim,):
            raise ArgumentError(f"theta must have {self.dim} entries (got {theta.size})")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1 and self.dim == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != self.dim or X.shape[0] < 1:
            raise ArgumentError(f"X must have shape (n, {self.dim}) with n >= 1 (got {X.shape})")
        if y is not None:
            y = np.asarray(y, dtype=np.float64).reshape(-1)
            if y.shape[0] != X.shape[0]:
                raise ArgumentError(f"y must have length n = {X.shape[0]} (got {y.shape[0]})")
        return theta, X, y

    def U(self, theta, X, y=None):
        """Train loss U_l = (1/n) sum_j l(theta, x_j)."""
        return float(np.mean(self.loss(theta, X, y)))

    def grad_U(self, theta, X, y=None):
        return self.grads(theta, X, y).mean(axis=0)

    def D(self, theta, X, y=None):
        """Eq 17: D = (1/n) sum_j dl_j dl_j' - dU dU' (per-example gradient covariance)."""
        G = self.grads(theta, X, y)
        g = G.mean(axis=0)
        return G.T @ G / G.shape[0] - np.outer(g, g)

    def integrand_v(self, theta, X, y=None, *, alpha=0.0, beta=0.0):
        """Eq 19 integrand (D + beta^2 I)^{-1} (dU_l + alpha theta)."""
        theta = np.asarray(theta, dtype=np.float64).reshape(-1)
        K = self.D(theta, X, y) + beta**2 * np.eye(self.dim)
        return np.linalg.solve(K, self.grad_U(theta, X, y) + alpha * theta)

    def integrand_a(self, theta, X, y=None, *, alpha=0.0, beta=0.0):
        """Eq 20 integrand (D + beta^2 I)^{-1} div D."""
        K = self.D(theta, X, y) + beta**2 * np.eye(self.dim)
        return np.linalg.solve(K, self.div_D(theta, X, y))

    def v(self, theta, X, y=None, *, alpha=0.0, beta=0.0):
        """Eq 19 from theta_0 = 0 (the gauge shared by all data sets). Generic 1-D version:
        scipy.integrate.quad of the integrand (models override with closed forms)."""
        if self.dim != 1:
            raise ArgumentError(f"v has no generic closed form for d = {self.dim} (path dependence): use a 1-D model",
                                param="theta")
        import scipy.integrate

        t = float(np.asarray(theta, dtype=np.float64).reshape(-1)[0])
        f = lambda s: float(self.integrand_v([s], X, y, alpha=alpha, beta=beta)[0])  # noqa: E731
        return float(scipy.integrate.quad(f, 0.0, t, epsabs=1e-13, epsrel=1e-12, limit=200)[0])

    def a(self, theta, X, y=None, *, alpha=0.0, beta=0.0):
        """Eq 20 in 1-D: a = log(D + beta^2) - log(D(0) + beta^2) (exact: the integrand is (log(D + beta^2))')."""
        if self.dim != 1:
            raise ArgumentError(f"a has no generic closed form for d = {self.dim}: use a 1-D model", param="theta")
        d1 = self.D(theta, X, y)[0, 0] + beta**2
        d0 = self.D([0.0], X, y)[0, 0] + beta**2
        if d1 <= 0 or d0 <= 0:
            raise ArgumentError("beta must be != 0 where D = 0 (Eq 20 diverges)")
        return float(np.log(d1) - np.log(d0))

    def g(self, theta, X, y=None, *, T, alpha=0.0, beta=0.0):
        """Eq 18: effective potential g = (2/T) v + a (gauge: v = a = 0 at theta_0 = 0, Z not included)."""
        T = _pos("T", T)
        return (2.0 / T) * self.v(theta, X, y, alpha=alpha, beta=beta) + self.a(theta, X, y, alpha=alpha, beta=beta)


def curl_asymmetry(model, theta, X, y=None, *, alpha=0.0, beta=0.0, which="v", step=1e-5):
    """Relative curl of the Eq 19 (which="v") or Eq 20 ("a") integrand at theta.

    Returns ||J - J'||_F / max(||J||_F, tiny) with J the Jacobian by central
    differences (error ~ step^2). Zero (to ~1e-8) iff the field is locally a
    gradient; a clearly non-zero value means no zero-current Boltzmann state
    (Appendix B, Eq 49 has no solution).
    """
    f = model.integrand_v if which == "v" else model.integrand_a
    theta = np.asarray(theta, dtype=np.float64).reshape(-1)
    d = theta.size
    J = np.empty((d, d))
    for j in range(d):
        e = np.zeros(d)
        e[j] = step * max(1.0, abs(theta[j]))
        J[:, j] = (f(theta + e, X, y, alpha=alpha, beta=beta) - f(theta - e, X, y, alpha=alpha, beta=beta)) / (2 * e[j])
    return float(np.linalg.norm(J - J.T) / max(np.linalg.norm(J), np.finfo(float).tiny))


# ---------------------------------------------------------------- quadratic
class QuadraticModel(_Model):
    """Quadratic / mean estimation l = (1/2)(theta - x)' H (theta - x) (Eq 17 quantities).

    dl_j = H (theta - x_j);  U_l = (1/2)(theta - xbar)' H (theta - xbar) + (1/2) Tr(H Sx);
    D = H Sx H (constant in theta; Sx the (1/n) covariance of the train x);  div D = 0,
    so a = const (take 0). Integrand of Eq 19: F_v = M theta - (D + beta^2 I)^{-1} H xbar with
    M = (D + beta^2 I)^{-1} (H + alpha I); curl-free iff M is symmetric (e.g. H
    proportional to I, or d = 1); then v = (1/2) theta' M theta - theta' (D + beta^2 I)^{-1} H xbar
    (line integral from theta_0 = 0, the gauge shared by all data sets).
    """

    name = "quadratic"

    def __init__(self, H=1.0):
        H = np.atleast_2d(np.asarray(H, dtype=np.float64))
        if H.shape[0] != H.shape[1] or not np.allclose(H, H.T) or not np.all(np.isfinite(H)):
            raise ArgumentError("H must be a finite symmetric square matrix (or a scalar h > 0)")
        if np.linalg.eigvalsh(H).min() <= 0:
            raise ArgumentError("H must be positive definite (h > 0 in 1-D)")
        self.H = H
        self.dim = H.shape[0]

    def loss(self, theta, X, y=None):
        theta, X, _ = self._inputs(theta, X, None)
        R = theta[None, :] - X
        return 0.5 * np.einsum("ni,ij,nj->n", R, self.H, R)

    def grads(self, theta, X, y=None):
        theta, X, _ = self._inputs(theta, X, None)
        return (theta[None, :] - X) @ self.H

    def hess_U(self, theta, X, y=None):
        return self.H.copy()

    def div_D(self, theta, X, y=None):
        return np.zeros(self.dim)

    def curl_matrix(self, X, *, alpha=0.0, beta=0.0):
        """M - M' for M = (D + beta^2 I)^{-1} (H + alpha I): zero iff Eq 19 is path-independent."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64).reshape(len(X), -1))
        Sx = np.cov(X.T, bias=True).reshape(self.dim, self.dim)
        M = np.linalg.solve(self.H @ Sx @ self.H + beta**2 * np.eye(self.dim), self.H + alpha * np.eye(self.dim))
        return M - M.T

    def v(self, theta, X, y=None, *, alpha=0.0, beta=0.0):
        """Eq 19 in closed form (only where curl_matrix = 0; ValueError otherwise)."""
        theta, X, _ = self._inputs(theta, X, None)
        if np.abs(self.curl_matrix(X, alpha=alpha, beta=beta)).max() > 1e-10 * max(1.0, np.abs(self.H).max()):
            raise ArgumentError("the Eq 19 integrand is not curl-free for this H, data, alpha, beta: v does not exist",
                                param="H")
        K = self.D(theta, X) + beta**2 * np.eye(self.dim)
        M = np.linalg.solve(K, self.H + alpha * np.eye(self.dim))
        b = np.linalg.solve(K, self.H @ X.mean(axis=0))
        return float(0.5 * theta @ M @ theta - theta @ b)

    def a(self, theta, X, y=None, *, alpha=0.0, beta=0.0):
        """Eq 20: div D = 0, so a is a constant; 0 in the theta_0 = 0 gauge."""
        return 0.0

    @functools.lru_cache(maxsize=8)  # noqa: B019 - models are few and long-lived
    def symbolic(self, n):
        """Sympy expressions for n symbolic points and lambdified evaluators f(theta, X)."""
        d = self.dim
        th = sp.Matrix(sp.symbols(f"theta0:{d}", real=True))
        xs = [sp.Matrix(sp.symbols(f"x{j}_0:{d}", real=True)) for j in range(n)]
        # exact rationals of the float entries: keeps the sympy algebra free of rounding residue
        H = sp.Matrix(self.H.tolist()).applyfunc(lambda v: sp.Rational(repr(float(v))))
        losses = [sp.Rational(1, 2) * ((th - x).T * H * (th - x))[0, 0] for x in xs]
        return _derive(th, xs, losses, None)


# ---------------------------------------------------------------- linear regression
class LinRegModel(_Model):
    """Linear regression l = (1/2)(w'x - y)^2 (Eq 17 quantities).

    dl_j = x_j r_j with r_j = x_j'w - y_j; hess U = X'X/n; D(w) = Cov_j(x_j r_j),
    quadratic in w, so div D != 0 in general and, for d >= 2, the Eq 19-20
    integrands are generally NOT curl-free (no zero-current Boltzmann state):
    `curl_asymmetry` measures it. With d > n, D and X'X/n are singular, so
    alpha > 0 and beta != 0 are needed (see `linreg_steady_state_exists`).
    (div D)_i = (2/n) sum_j (x_j'x_j) x_ji ... derived in `div_D`.
    """

    name = "linreg"

    def __init__(self, d=1):
        self.dim = _int("d", d)

    def loss(self, theta, X, y=None):
        theta, X, y = self._inputs(theta, X, y)
        return 0.5 * (X @ theta - y) ** 2

    def grads(self, theta, X, y=None):
        theta, X, y = self._inputs(theta, X, y)
        return X * (X @ theta - y)[:, None]

    def hess_U(self, theta, X, y=None):
        theta, X, y = self._inputs(theta, X, y)
        return X.T @ X / X.shape[0]

    def div_D(self, theta, X, y=None):
        """(div D)_i = sum_k d_k D_ik with D = (1/n) sum_j r_j^2 x_j x_j' - g g':
        d_k (r_j^2 x_ji x_jk) summed over k = 2 r_j |x_j|^2 x_ji, and
        sum_k d_k (g_i g_k) = (A g)_i + g_i Tr A with A = X'X/n, g = dU."""
        theta, X, y = self._inputs(theta, X, y)
        n = X.shape[0]
        r = X @ theta - y
        A = X.T @ X / n
        g = X.T @ r / n
        return (2.0 / n) * X.T @ (r * np.einsum("ni,ni->n", X, X)) - A @ g - g * np.trace(A)

    def v(self, theta, X, y=None, *, alpha=0.0, beta=0.0):
        """Eq 19 in closed form for d = 1 (`linreg1d_v`); ValueError for d > 1 (path-dependent in general)."""
        if self.dim != 1:
            raise ArgumentError(f"v is path-dependent for linear regression with d = {self.dim} > 1 (see curl_asymmetry)",
                                param="theta")
        theta, X, y = self._inputs(theta, X, y)
        return float(linreg1d_v(theta[0], X[:, 0], y, alpha=alpha, beta=beta))

    @functools.lru_cache(maxsize=8)  # noqa: B019
    def symbolic(self, n):
        d = self.dim
        th = sp.Matrix(sp.symbols(f"theta0:{d}", real=True))
        xs = [sp.Matrix(sp.symbols(f"x{j}_0:{d}", real=True)) for j in range(n)]
        ys = list(sp.symbols(f"y0:{n}", real=True))
        losses = [sp.Rational(1, 2) * ((th.T * x)[0, 0] - yj) ** 2 for x, yj in zip(xs, ys)]
        return _derive(th, xs, losses, ys)


def linreg1d_v(w, X, y, *, alpha=0.0, beta=0.0):
    """Closed-form Eq 19 for 1-D linear regression (line integral from w_0 = 0).

    D(w) = A w^2 + b w + c with A = Var_j(x_j^2), b = -2 Cov_j(x_j^2, x_j y_j), c = Var_j(x_j y_j);
    dU + alpha w = P w + Q with P = mean(x^2) + alpha, Q = -mean(x y). With K = c + beta^2
    and Delta = 4 A K - b^2 > 0:
        v(w) = (P / (2A)) log((A w^2 + b w + K) / K)
               + (Q - P b / (2A)) (2 / sqrt(Delta)) [atan((2 A w + b)/sqrt(Delta)) - atan(b / sqrt(Delta))];
    when A = 0 (all |x_j| equal, so b = 0): v = P w^2 / (2K) + Q w / K. a(w) = log(D(w) + beta^2) - log(K).
    """
    X = _arr("X", np.asarray(X, dtype=np.float64).reshape(-1), 1)
    y = _arr("y", y, 1)
    alpha = _nonneg("alpha", alpha)
    beta = _finite("beta", beta)
    w = np.asarray(w, dtype=np.float64)
    x2, xy = X**2, X * y
    A = float(np.var(x2))
    b = -2.0 * float(np.mean((x2 - x2.mean()) * (xy - xy.mean())))
    K = float(np.var(xy)) + beta**2
    P = float(np.mean(x2)) + alpha
    Q = -float(np.mean(xy))
    if K <= 0:
        raise ArgumentError("beta must be != 0 when D(0) = 0 (the Eq 19 integrand is singular at w = 0)")
    if A <= 1e-15 * max(1.0, float(np.mean(x2)) ** 2):
        return P * w**2 / (2 * K) + Q * w / K
    delta = 4 * A * K - b * b
    if delta <= 0:
        raise ArgumentError("D(w) + beta^2 has a zero: use beta != 0", param="beta")
    sd = math.sqrt(delta)
    return (P / (2 * A)) * np.log((A * w**2 + b * w + K) / K) + (Q - P * b / (2 * A)) * (2 / sd) * (
        np.arctan((2 * A * w + b) / sd) - math.atan(b / sd)
    )


# ---------------------------------------------------------------- logistic regression
class LogRegModel(_Model):
    """Logistic regression l = log(1 + exp(-y w'x)), y in {-1, +1} (numeric, and `symbolic`).

    With z_j = w'x_j: dl_j = s_j x_j, s_j = -y_j sigmoid(-y_j z_j); ds_j/dz = q_j = sigmoid(z_j) sigmoid(-z_j);
    hess U = (1/n) sum q_j x_j x_j'; D = Cov_j(s_j x_j);
    div D = (2/n) sum_j s_j q_j |x_j|^2 x_j - A g - g Tr A with A = hess U, g = dU.
    """

    name = "logreg"

    def __init__(self, d=1):
        self.dim = _int("d", d)

    @functools.lru_cache(maxsize=8)  # noqa: B019
    def symbolic(self, n):
        """Sympy expressions of l = log(1 + exp(-y w'x)) for n symbolic points and labels (evaluate
        at y = +-1), and their lambdified evaluators."""
        d = self.dim
        th = sp.Matrix(sp.symbols(f"theta0:{d}", real=True))
        xs = [sp.Matrix(sp.symbols(f"x{j}_0:{d}", real=True)) for j in range(n)]
        ys = list(sp.symbols(f"y0:{n}", real=True))
        losses = [sp.log(1 + sp.exp(-yj * (th.T * x)[0, 0])) for x, yj in zip(xs, ys)]
        return _derive(th, xs, losses, ys)

    def _z(self, theta, X, y):
        theta, X, y = self._inputs(theta, X, y)
        if y is None or not np.all(np.abs(y) == 1):
            raise ArgumentError("y must hold labels -1 or +1")
        return theta, X, y, X @ theta

    @staticmethod
    def _sigmoid(z):
        # exp of a non-positive number only: no overflow for any z
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    def loss(self, theta, X, y=None):
        _, _, y, z = self._z(theta, X, y)
        return np.logaddexp(0.0, -y * z)

    def grads(self, theta, X, y=None):
        _, X, y, z = self._z(theta, X, y)
        return X * (-y * self._sigmoid(-y * z))[:, None]

    def hess_U(self, theta, X, y=None):
        _, X, y, z = self._z(theta, X, y)
        q = self._sigmoid(z) * self._sigmoid(-z)
        return (X * q[:, None]).T @ X / X.shape[0]

    def div_D(self, theta, X, y=None):
        _, X, y, z = self._z(theta, X, y)
        n = X.shape[0]
        s = -y * self._sigmoid(-y * z)
        q = self._sigmoid(z) * self._sigmoid(-z)
        A = (X * q[:, None]).T @ X / n
        g = X.T @ s / n
        return (2.0 / n) * X.T @ (s * q * np.einsum("ni,ni->n", X, X)) - A @ g - g * np.trace(A)


# ---------------------------------------------------------------- sympy side
def _derive(th, xs, losses, ys):
    """Eq 17 quantities of a finite symbolic data set, and their lambdified evaluators.

    Returns {name: (sympy expr, f)} with f(theta, X[, y]) -> float64 array, for
    U, grad_U, hess_U, D, div_D.
    """
    n = len(xs)
    d = th.shape[0]
    grads = [sp.Matrix([sp.diff(l, t) for t in th]) for l in losses]
    U = sp.Add(*losses) / n
    gU = sp.Matrix([sp.diff(U, t) for t in th])
    D = sp.zeros(d, d)
    for g in grads:
        D += g * g.T
    # polynomial losses (quadratic, least squares): expanded, so the cancellations in D (the theta terms of a
    # quadratic's D) happen exactly; others (logistic) kept as derived, where expanding products of
    # exponentials only grows the expression (4-5x the derivation time for logreg(3), n = 2) without cancelling
    polynomial = all(sp.sympify(loss).is_polynomial(*th) for loss in losses)
    tidy = sp.expand if polynomial else (lambda e: e)
    D = (D / n - gU * gU.T).applyfunc(tidy)
    divD = sp.Matrix([sum(sp.diff(D[i, j], th[j]) for j in range(d)) for i in range(d)]).applyfunc(tidy)
    hU = sp.hessian(U, list(th))
    args = [list(th), [list(x) for x in xs]] + ([list(ys)] if ys is not None else [])
    out = {}
    for name, e in (("U", U), ("grad_U", gU), ("hess_U", hU), ("D", D), ("div_D", divD)):
        f = sp.lambdify(args, e, modules="numpy")
        out[name] = (e, _wrap(f, ys is not None, name))
    return out


def _wrap(f, with_y, name):
    def g(theta, X, y=None):
        th = np.asarray(theta, dtype=np.float64).reshape(-1).tolist()
        Xl = np.asarray(X, dtype=np.float64).reshape(len(X), -1).tolist()
        val = f(th, Xl, np.asarray(y, dtype=np.float64).tolist()) if with_y else f(th, Xl)
        val = np.asarray(val, dtype=np.float64)
        return val.reshape(-1) if name in ("grad_U", "div_D") else val

    return g
