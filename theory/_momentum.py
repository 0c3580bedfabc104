"""SGD with momentum: diffusion approximations and exact 1-D stationary law (Appendix A.1, Eqs 38-46).

Diffusion approximation (Appendix A, Eqs 28-31): for s_{t+1} = s_t + Delta_s,
f(s) = E[Delta_s | s] and C(s) = Cov(Delta_s | s). Write the minibatch gradient
as g = dU_l + xi with Cov(xi) = (D + beta^2 I)/B = T (D + beta^2 I)/lam (beta noise added to the
gradient, gapkit's convention, see `_lyapunov`).

PyTorch form (Eq 16): v' = mu v + g + alpha theta, theta' = theta - lam v'. Then
    Delta_theta = -lam (mu v + dU + alpha theta) - lam xi,   Delta_v = (mu - 1) v + dU + alpha theta + xi,
    f = [-lam (mu v + dU + alpha theta); (mu - 1) v + dU + alpha theta]     (Eq 40: agrees)
    C = [[lam, -1], [-1, 1/lam]] (x) T (D + beta^2 I)                          (Eq 41: sign of the off-diagonal)
The paper's Eq 41 has +1 off the diagonal. Derived: -1 (theta moves against
the gradient noise xi, v with it), so Cov(Delta_theta, Delta_v) = -T (D + beta^2 I) < 0.
Consequently Eq 42's square root is G = [1; -1/lam] (x) sqrt(lam T) (D + beta^2)^{1/2}
and the dW term of dv in Eqs 43-44 carries a minus sign.

Sutskever form (Eq 45): v' = mu v - lam g - lam alpha theta, theta' = theta + v'. Then
    f = [mu v - lam (dU + alpha theta); (mu - 1) v - lam (dU + alpha theta)],
    C = [[1, 1], [1, 1]] (x) lam T (D + beta^2 I)        (off-diagonal positive, both rows share -lam xi).
With constant lam it is the PyTorch chain under v_Sutskever = -lam v_PyTorch:
theta has the same law in both forms.

Exact stationary law of the discrete PyTorch chain on the 1-D quadratic
l = (h/2)(theta - x)^2 (k = h + alpha, Dt = D + beta^2 with D = h^2 S^2), from the
discrete Lyapunov equation of the (theta, v) chain (derived by sympy in
`momentum_symbolic`):
    Var(theta)     = T Dt (1 + mu) / (k (1 - mu) (2 (1 + mu) - lam k))
    Cov(theta, v)  = -T Dt / ((1 - mu) (2 (1 + mu) - lam k))          (negative)
    Var(v)         = 2 T Dt / (lam (1 - mu) (2 (1 + mu) - lam k)),
stable iff 0 <= mu < 1 and 0 < lam k < 2 (1 + mu). The PAPER.md formula is
confirmed. Order in lam at fixed T and mu:
    Var(theta) = T Dt / (2 k (1 - mu)) * (1 + lam k / (2 (1 + mu)) + O(lam^2)),
so at order lam^0 it depends on T alone (through the effective temperature
T / (1 - mu)); lam and B enter separately from order lam^1 on, as for plain
SGD (relative correction lam k / 2). The quadratic model therefore collapses
onto T at small lam even with momentum: the paper's non-collapse is not a
small-lam property of quadratic losses.
"""
from __future__ import annotations

import functools

import sympy as sp

from ._lyapunov import _finite, _int, _mom, _nonneg, _pos
from ._validate import ArgumentError

__all__ = ["momentum_var_1d", "momentum_symbolic", "momentum_diffusion_symbolic"]


def momentum_var_1d(h, D, *, lam, B, alpha=0.0, beta=0.0, mu=0.9):
    """Exact stationary (Var theta, Cov(theta, v), Var v) of PyTorch momentum SGD on the 1-D quadratic.

    Var(theta) = T Dt (1 + mu) / (k (1 - mu) (2 (1 + mu) - lam k)), k = h + alpha, Dt = D + beta^2,
    T = lam / B (Appendix A.1; derivation in the module docstring). D is the
    per-example gradient variance h^2 S^2 of the data set. ValueError naming lam
    outside the stability range 0 < lam k < 2 (1 + mu).
    """
    h = _pos("h", h)
    D = _nonneg("D", D)
    lam = _pos("lam", lam)
    B = _int("B", B)
    alpha = _nonneg("alpha", alpha)
    beta = _finite("beta", beta)
    mu = _mom(mu)
    k = h + alpha
    den = 2 * (1 + mu) - lam * k
    if den <= 0:
        raise ArgumentError(f"lam must satisfy 0 < lam (h + alpha) < 2 (1 + mu), i.e. lam < {2 * (1 + mu) / k:.6g} (got {lam})")
    T = lam / B
    Dt = D + beta**2
    return {
        "var_theta": T * Dt * (1 + mu) / (k * (1 - mu) * den),
        "cov_theta_v": -T * Dt / ((1 - mu) * den),
        "var_v": 2 * T * Dt / (lam * (1 - mu) * den),
        "var_theta_lam0": T * Dt / (2 * k * (1 - mu)),
        "T": T,
    }


@functools.lru_cache(maxsize=1)
def momentum_symbolic():
    """Sympy: stationary covariance of the discrete 1-D PyTorch momentum chain and its lam expansion.

    Solves P = A P A' + Q for A = [[1 - lam k, -lam mu], [k, mu]],
    Q = (T Dt / lam) [-lam; 1][-lam; 1]' (noise xi with variance Dt / B = T Dt / lam).
    Returns dict: var_theta, cov_theta_v, var_v, paper (PAPER.md's formula),
    residual (var_theta - paper, simplifies to 0), series (Var(theta) to O(lam^2)),
    lam0 (its lam -> 0 limit at fixed T), plain (mu = 0 value).
    """
    lam, k, T, Dt = sp.symbols("lam k T Dt", positive=True)
    mu = sp.symbols("mu", nonnegative=True)
    p11, p12, p22 = sp.symbols("p11 p12 p22")
    A = sp.Matrix([[1 - lam * k, -lam * mu], [k, mu]])
    e = sp.Matrix([-lam, 1])
    Q = (T * Dt / lam) * e * e.T
    P = sp.Matrix([[p11, p12], [p12, p22]])
    R = A * P * A.T + Q - P
    sol = sp.solve([R[0, 0], R[0, 1], R[1, 1]], [p11, p12, p22], dict=True)[0]
    var_theta = sp.factor(sol[p11])
    paper = T * Dt * (1 + mu) / (k * (1 - mu) * (2 * (1 + mu) - lam * k))
    series = sp.series(var_theta, lam, 0, 2).removeO()
    return {
        "var_theta": var_theta,
        "cov_theta_v": sp.factor(sol[p12]),
        "var_v": sp.factor(sol[p22]),
        "paper": paper,
        "residual": sp.simplify(var_theta - paper),
        "series": sp.factor(series),
        "lam0": sp.factor(sp.limit(var_theta, lam, 0)),
        "first_order_rel": sp.factor(sp.cancel(sp.diff(series, lam) / sp.limit(var_theta, lam, 0))),
        "plain": sp.factor(var_theta.subs(mu, 0)),
        "symbols": {"lam": lam, "k": k, "T": T, "Dt": Dt, "mu": mu},
    }


@functools.lru_cache(maxsize=1)
def momentum_diffusion_symbolic():
    """Sympy: drift f and noise covariance C (Eqs 40-41) of the PyTorch and Sutskever forms.

    One scalar coordinate (the d-dim case is C (x) (D + beta^2 I) by linearity):
    the minibatch gradient is gU + xi, E xi = 0, E xi^2 = T Dt / lam. Returns
    {"pytorch": (f, C), "sutskever": (f, C), "eq41_paper": C_paper,
    "offdiag_sign": {"pytorch": -1, "sutskever": +1}}.
    """
    lam, T, Dt = sp.symbols("lam T Dt", positive=True)
    mu, th, v, gU, alpha, xi = sp.symbols("mu theta v gU alpha xi", real=True)
    var_xi = T * Dt / lam

    def moments(d_theta, d_v):
        vec = sp.Matrix([d_theta, d_v])
        f = vec.subs(xi, 0)
        e = sp.Matrix([sp.diff(c, xi) for c in vec])  # Delta is affine in xi
        return sp.simplify(f), sp.simplify(e * e.T * var_xi)

    v_new = mu * v + gU + xi + alpha * th
    pyt = moments(-lam * v_new, v_new - v)
    v_s = mu * v - lam * (gU + xi) - lam * alpha * th
    sut = moments(v_s, v_s - v)
    paper = sp.Matrix([[lam, 1], [1, 1 / lam]]) * T * Dt
    return {
        "pytorch": pyt,
        "sutskever": sut,
        "eq41_paper": paper,
        "offdiag_sign": {"pytorch": int(sp.sign(pyt[1][0, 1])), "sutskever": int(sp.sign(sut[1][0, 1]))},
        "symbols": {"lam": lam, "T": T, "Dt": Dt, "mu": mu},
    }
