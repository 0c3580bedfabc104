"""Symbolic re-derivations of Section 2.3.1 (Eqs 25-27) and Appendices A-B (Eqs 32-37, 47-49).

Eq 25 (log-normal rhobar for SGD). With g = (2/T) v + a (Eq 18) and the
log-normal approximation of Eq 10, rhobar ~ exp(-gbar + sigma_g^2 / 2) / Zbar, where
    sigma_g^2 = Var_D((2/T) v + a) = (4/T^2) sigma_v^2 + (4/T) sigma_{v,a} + sigma_a^2,
so the exponent is
    -(2/T) vbar - abar + (2/T^2) sigma_v^2 + (1/2) sigma_a^2 + (2/T) sigma_{v,a}.
DERIVED: the coefficient of sigma_{v,a} is 2/T (the paper's extraction shows 1;
its own Eq 26 derivative, d_beta ln Zbar = << -vbar + beta sigma_v^2 + sigma_{v,a} >>
with beta = 2/T, needs 2/T). `eq25_exponent` returns it; check eq25.coefficient.symbolic.

Eq 26. v and a do not depend on T, so with E(theta; T) the Eq 25 exponent,
d rhobar / dT = rhobar (dE/dT - <<dE/dT>>) and
    d<<Ubar>>/dT = Cov_rhobar(Ubar, dE/dT)
                 = (2/T^2) Cov_rhobar(Ubar, vbar - sigma_{v,a}) - (4/T^3) Cov_rhobar(Ubar, sigma_v^2)   (paper: agrees)
    T_opt = 2 Cov_rhobar(Ubar, sigma_v^2) / Cov_rhobar(Ubar, vbar - sigma_{v,a})                        (paper: agrees)
an implicit relation (the covariances are taken under rhobar at T_opt). With
the extracted coefficient 1, the sigma_{v,a} term would drop out of the
derivative and the paper's "~" form 2 Cov(Ubar, sigma_v^2) / Cov(Ubar, vbar)
would be exact instead.

Eq 27. rho = exp(-(2/T) v - a) / Z with v, a independent of T gives
d rho / dT = (2/T^2)(v - <v>) rho, so for any T-independent f
    d<f>bar/dT = (2/T^2) E_D[Cov_{theta~rho}(v, f)]      (paper: agrees)
checked symbolically on the 1-D quadratic in `eq27_quadratic1d`.

Eqs 32-37: the Ito generator L phi = dphi' f + (1/2) Tr(C d^2 phi) with
f = -lam (dU_l + alpha theta), C = lam T (D + beta^2 I) (`ito_generator`,
`sgd_moment_residuals`). Eqs 47-49: the current J of Eq 47 for the Boltzmann
density vanishes identically when Eq 49 holds (`zero_current_1d`).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp

from ._lyapunov import _finite, _nonneg, _pos

__all__ = [
    "eq25_exponent",
    "eq25_sigma_va_coefficient",
    "eq25_log_rhobar",
    "eq26_symbolic",
    "dtest_dT",
    "t_opt",
    "eq27_quadratic1d",
    "ito_generator",
    "sgd_moment_equations_quadratic1d",
    "sgd_moment_residuals",
    "sgd_generator_terms",
    "zero_current_1d",
]

_T = sp.Symbol("T", positive=True)
_vbar, _abar, _sv2, _sa2, _sva = sp.symbols("vbar abar sigma_v2 sigma_a2 sigma_va", real=True)


@functools.lru_cache(maxsize=1)
def eq25_exponent():
    """Sympy exponent of Eq 25, derived from Eq 10 with g = (2/T) v + a (module docstring).

    Treats v and a as jointly Gaussian across data sets with means vbar, abar,
    variances sigma_v2, sigma_a2 and covariance sigma_va.
    """
    c_v, c_a = 2 / _T, sp.Integer(1)
    gbar = c_v * _vbar + c_a * _abar
    sigma_g2 = c_v**2 * _sv2 + 2 * c_v * c_a * _sva + c_a**2 * _sa2
    return sp.expand(-gbar + sigma_g2 / 2)


def eq25_sigma_va_coefficient():
    """The coefficient of sigma_{v,a} in Eq 25: derived 2/T (sympy expression)."""
    return sp.simplify(eq25_exponent().coeff(_sva))


def eq25_log_rhobar(vbar, abar, sigma_v2, sigma_a2, sigma_va, *, T):
    """Unnormalized log rhobar of Eq 25 (derived coefficient 2/T on sigma_{v,a}), elementwise:
    -(2/T) vbar - abar + (2/T^2) sigma_v^2 + (1/2) sigma_a^2 + (2/T) sigma_{v,a}."""
    T = _pos("T", T)
    return (-(2 / T) * np.asarray(vbar, float) - np.asarray(abar, float) + (2 / T**2) * np.asarray(sigma_v2, float)
            + 0.5 * np.asarray(sigma_a2, float) + (2 / T) * np.asarray(sigma_va, float))


@functools.lru_cache(maxsize=1)
def eq26_symbolic():
    """Sympy: dE/dT of the Eq 25 exponent, the Eq 26 derivative, and T_opt.

    With cUv = Cov(Ubar, vbar), cUs = Cov(Ubar, sigma_v^2), cUva = Cov(Ubar, sigma_va)
    (covariances under rhobar), d<<Ubar>>/dT = Cov(Ubar, dE/dT) is linear in those.
    Returns {"dE_dT", "dtest_dT", "paper", "residual" (0), "t_opt", "t_opt_paper", "t_opt_if_coeff_1"}.
    """
    cUv, cUs, cUva = sp.symbols("cov_ubar_vbar cov_ubar_sigma_v2 cov_ubar_sigma_va", real=True)
    E = eq25_exponent()
    dE = sp.expand(sp.diff(E, _T))
    # Cov(Ubar, .) is linear: map each random field in dE to its covariance with Ubar
    dtest = sp.expand(dE.subs({_vbar: cUv, _sv2: cUs, _sva: cUva, _abar: 0, _sa2: 0}))
    paper = 2 / _T**2 * (cUv - cUva) - 4 / _T**3 * cUs
    sol = sp.solve(sp.Eq(dtest, 0), _T)
    E1 = E - E.coeff(_sva) * _sva + _sva  # the extracted coefficient 1
    d1 = sp.expand(sp.diff(E1, _T).subs({_vbar: cUv, _sv2: cUs, _sva: cUva, _abar: 0, _sa2: 0}))
    return {
        "dE_dT": dE,
        "dtest_dT": dtest,
        "paper": paper,
        "residual": sp.simplify(dtest - paper),
        "t_opt": sol[0] if sol else None,
        "t_opt_paper": 2 * cUs / (cUv - cUva),
        "t_opt_if_coeff_1": (sp.solve(sp.Eq(d1, 0), _T) or [None])[0],
        "symbols": {"T": _T, "cov_ubar_vbar": cUv, "cov_ubar_sigma_v2": cUs, "cov_ubar_sigma_va": cUva},
    }


def dtest_dT(T, cov_ubar_vbar, cov_ubar_sigma_v2, cov_ubar_sigma_va=0.0):
    """Eq 26 derivative: d<<Ubar>>/dT = (2/T^2) Cov(Ubar, vbar - sigma_va) - (4/T^3) Cov(Ubar, sigma_v^2)."""
    T = _pos("T", T)
    return (2 / T**2) * (_finite("cov_ubar_vbar", cov_ubar_vbar) - _finite("cov_ubar_sigma_va", cov_ubar_sigma_va)) \
        - (4 / T**3) * _finite("cov_ubar_sigma_v2", cov_ubar_sigma_v2)


def t_opt(cov_ubar_sigma_v2, cov_ubar_vbar, cov_ubar_sigma_va=0.0):
    """Eq 26: T_opt = 2 Cov_rhobar(Ubar, sigma_v^2) / Cov_rhobar(Ubar, vbar - sigma_{v,a}).

    Returns nan when the ratio is not a positive finite number (no finite
    optimum predicted: numerator and denominator of opposite sign or zero).
    """
    num = 2 * _finite("cov_ubar_sigma_v2", cov_ubar_sigma_v2)
    den = _finite("cov_ubar_vbar", cov_ubar_vbar) - _finite("cov_ubar_sigma_va", cov_ubar_sigma_va)
    if den == 0 or num / den <= 0 or not math.isfinite(num / den):
        return float("nan")
    return num / den


@functools.lru_cache(maxsize=1)
def eq27_quadratic1d():
    """Sympy check of Eq 27 on the 1-D quadratic for one data set.

    l = (h/2)(theta - x)^2, Dt = h^2 S^2 + beta^2, k = h + alpha: v = (k/(2 Dt)) (theta - mu)^2 + const,
    a = const, rho Gaussian with mean mu = h xbar / k and variance V = T Dt / (2k). Computes
    lhs = d<U_l>/dT and rhs = (2/T^2) Cov_rho(v, U_l) with Gaussian moments
    (E e^3 = 0, E e^4 = 3 V^2). Returns (lhs, rhs, simplify(lhs - rhs)) (the last is 0).
    """
    h, Dt, T = sp.symbols("h Dt T", positive=True)
    alpha, xbar, S2, e = sp.symbols("alpha xbar S2 e", real=True)
    k = h + alpha
    mu = h * xbar / k
    V = T * Dt / (2 * k)
    mom = {0: 1, 1: 0, 2: V, 3: 0, 4: 3 * V**2}

    def E(expr):  # Gaussian expectation over e = theta - mu
        p = sp.Poly(sp.expand(expr), e)
        return sum(c * mom[i] for (i,), c in p.terms())

    v = k / (2 * Dt) * e**2
    Ul = h / 2 * ((e + mu - xbar) ** 2 + S2)
    lhs = sp.diff(E(Ul), T)
    rhs = 2 / T**2 * (E(v * Ul) - E(v) * E(Ul))
    return lhs, sp.simplify(rhs), sp.simplify(lhs - rhs)


# ---------------------------------------------------------------- Ito moment equations
def ito_generator(phi, theta, drift, diffusion):
    """Eq 32 (time-independent phi): L phi = dphi' f + (1/2) Tr(C d^2 phi) (sympy).

    theta: list of symbols; drift: list/Matrix f; diffusion: Matrix C.
    """
    th = list(theta)
    grad = sp.Matrix([sp.diff(phi, t) for t in th])
    hess = sp.hessian(phi, th)
    f = sp.Matrix(drift)
    C = sp.Matrix(diffusion)
    return sp.expand((grad.T * f)[0, 0] + sp.Rational(1, 2) * (C * hess).trace())


@functools.lru_cache(maxsize=1)
def sgd_moment_equations_quadratic1d():
    """Eqs 33-37 for the Langevin SDE of Eq 17 on the 1-D quadratic, and their steady state.

    With f = -lam (h (theta - xbar) + alpha theta), C = lam T (h^2 S^2 + beta^2), the generator
    applied to phi = theta, (theta - M)^2, U_l, U_e (test set with mean xe, variance Se2) and
    averaged over a Gaussian with mean M and variance V gives the ODEs
    d<theta>/dt (Eq 34), dV/dt (Eq 35), d<U_l>/dt (Eq 36), d<U_e>/dt (Eq 37).
    Returns the four right-hand sides, the stationary (M, V) solving Eqs 34-35, and
    the Eq 36-37 right-hand sides there (both simplify to 0: a check that the
    Gaussian with that M, V is the steady state).
    """
    lam, T, h = sp.symbols("lam T h", positive=True)
    alpha, beta, xbar, S2, xe, Se2, M, th = sp.symbols("alpha beta xbar S2 xe Se2 M theta", real=True)
    V = sp.Symbol("V", positive=True)
    f = [-lam * (h * (th - xbar) + alpha * th)]
    C = sp.Matrix([[lam * T * (h**2 * S2 + beta**2)]])
    mom = {0: 1, 1: M, 2: M**2 + V, 3: M**3 + 3 * M * V, 4: M**4 + 6 * M**2 * V + 3 * V**2}

    def E(expr):
        p = sp.Poly(sp.expand(expr), th)
        return sp.expand(sum(c * mom[i] for (i,), c in p.terms()))

    Ul = h / 2 * ((th - xbar) ** 2 + S2)
    Ue = h / 2 * ((th - xe) ** 2 + Se2)
    d_mean = E(ito_generator(th, [th], f, C))
    # Eq 35 in 1-D: d Var/dt = E[L theta^2] - 2 M E[L theta]
    d_var = sp.expand(E(ito_generator(th**2, [th], f, C)) - 2 * M * d_mean)
    d_Ul = E(ito_generator(Ul, [th], f, C))
    d_Ue = E(ito_generator(Ue, [th], f, C))
    Ms = sp.solve(sp.Eq(d_mean, 0), M)[0]
    Vs = sp.solve(sp.Eq(d_var.subs(M, Ms), 0), V)[0]
    at = {M: Ms, V: Vs}
    return {
        "d_mean": d_mean, "d_var": d_var, "d_train": d_Ul, "d_test": d_Ue,
        "M_stationary": sp.simplify(Ms), "V_stationary": sp.simplify(Vs),
        "d_train_at_stationary": sp.simplify(d_Ul.subs(at)), "d_test_at_stationary": sp.simplify(d_Ue.subs(at)),
    }


def sgd_moment_residuals(theta, grad_l, hess_l, D, *, T, alpha=0.0, beta=0.0, grad_e=None, hess_e=None):
    """Stationarity residuals of Eqs 34-37 per unit lam (time t' = lam t), from samples.

    theta (M, d) samples of the chain; grad_l (M, d) dU_l at each sample; hess_l (M, d, d);
    D (M, d, d) Eq 17's D at each sample; optional grad_e, hess_e for the test loss (Eq 37).
        r34 = -<dU_l + alpha theta>
        r35 = -(<dU_l (theta - <theta>)'> + <(theta - <theta>) dU_l'> + 2 alpha Sigma) + T <D + beta^2 I>
        r36 = -(<|dU_l|^2> + alpha <theta' dU_l>) + (T/2) <Tr(d^2 U_l (D + beta^2 I))>
        r37 = -(<dU_e' dU_l> + alpha <theta' dU_e>) + (T/2) <Tr(d^2 U_e (D + beta^2 I))>
    All are zero at the SDE's steady state (fluctuation-dissipation relations);
    the discrete chain leaves O(lam) residuals.
    """
    T = _pos("T", T)
    alpha = _nonneg("alpha", alpha)
    beta = _finite("beta", beta)
    th = np.asarray(theta, dtype=np.float64)
    if th.ndim == 1:
        th = th[:, None]
    M, d = th.shape
    gl = np.asarray(grad_l, dtype=np.float64).reshape(M, d)
    hl = np.asarray(hess_l, dtype=np.float64).reshape(M, d, d)
    Dm = np.asarray(D, dtype=np.float64).reshape(M, d, d) + beta**2 * np.eye(d)
    c = th - th.mean(axis=0)
    Sigma = c.T @ c / M
    r34 = -(gl + alpha * th).mean(axis=0)
    X = gl.T @ c / M
    r35 = -(X + X.T + 2 * alpha * Sigma) + T * Dm.mean(axis=0)
    r36 = -(np.mean(np.sum(gl * gl, axis=1)) + alpha * np.mean(np.sum(th * gl, axis=1))) \
        + 0.5 * T * np.mean(np.einsum("mij,mji->m", hl, Dm))
    out = {"r34": r34, "r35": r35, "r36": float(r36)}
    if grad_e is not None and hess_e is not None:
        ge = np.asarray(grad_e, dtype=np.float64).reshape(M, d)
        he = np.asarray(hess_e, dtype=np.float64).reshape(M, d, d)
        out["r37"] = float(-(np.mean(np.sum(ge * gl, axis=1)) + alpha * np.mean(np.sum(th * ge, axis=1)))
                           + 0.5 * T * np.mean(np.einsum("mij,mji->m", he, Dm)))
    return out


# ---------------------------------------------------------------- zero current (Appendix B)
def zero_current_1d(U, D, theta, *, v=None, a=None, simplify=True):
    """Eqs 47-49 in 1-D: J of Eq 47 for rho = exp(-(2/T) v - a), divided by rho (sympy).

    Eq 47 (1-D, per unit lam): J = -[rho (U' + alpha theta) + (T/2) rho D' + (T/2)(D + beta^2) rho'],
    and for the Boltzmann form rho' = -rho ((2/T) v' + a') (Eq 48), so
        J / rho = -[(U' + alpha theta) - (D + beta^2) v' + (T/2)(D' - (D + beta^2) a')].
    v, a default to the Eq 19-20 integrals from 0 (computed with sympy.integrate);
    pass closed forms to check them. Returns (J / rho, v, a); J / rho is 0
    exactly when v, a satisfy Eq 49 (simplify=False skips sympy.simplify, for
    expressions to evaluate numerically). Symbols alpha, beta (real) and T
    (positive) are the ones named so in the expressions.
    """
    alpha, beta = sp.Symbol("alpha", real=True), sp.Symbol("beta", real=True)
    T = sp.Symbol("T", positive=True)
    Dt = D + beta**2
    s = sp.Dummy("s", real=True)
    if v is None:
        v = sp.integrate(((sp.diff(U, theta) + alpha * theta) / Dt).subs(theta, s), (s, 0, theta))
    if a is None:
        a = sp.integrate((sp.diff(D, theta) / Dt).subs(theta, s), (s, 0, theta))
    log_rho = -(2 / T) * v - a
    J_over_rho = -((sp.diff(U, theta) + alpha * theta) + T / 2 * sp.diff(D, theta) + T / 2 * Dt * sp.diff(log_rho, theta))
    return (sp.simplify(J_over_rho) if simplify else J_over_rho), v, a


def sgd_generator_terms(model, n):
    """Integrands of Eqs 34, 36, 37 for a model of `gapkit.theory._models` with n symbolic train points.

    Per unit lam (t' = lam t), for the Langevin SDE of Eq 17 with drift f = -(dU_l + alpha theta)
    and diffusion T (D + beta^2 I):
        Eq 34:  L theta = -(dU_l + alpha theta)
        Eq 36:  L U_l   = -(|dU_l|^2 + alpha theta' dU_l) + (T/2) Tr(d^2 U_l (D + beta^2 I))
        Eq 37:  L U_e   = -(dU_e' dU_l + alpha theta' dU_e) + (T/2) Tr(d^2 U_e (D + beta^2 I))
    (U_e on a second symbolic set of n test points, symbols xe{j}_{i}, ye{j}). Returns a dict of
    sympy expressions: "eq34", "eq36", "eq37" as the paper writes them, and "gen36", "gen37", the
    Ito generator of Eq 32 applied to U_l and U_e directly (equal to eq36, eq37).
    """
    sym = model.symbolic(n)
    U, gU, hU, D = (sym[k][0] for k in ("U", "grad_U", "hess_U", "D"))
    d = model.dim
    th = [sp.Symbol(f"theta{i}", real=True) for i in range(d)]
    rename = {}
    for j in range(n):
        for i in range(d):
            rename[sp.Symbol(f"x{j}_{i}", real=True)] = sp.Symbol(f"xe{j}_{i}", real=True)
        rename[sp.Symbol(f"y{j}", real=True)] = sp.Symbol(f"ye{j}", real=True)
    Ue = sp.sympify(U).xreplace(rename)
    gUe = sp.Matrix(gU).xreplace(rename)
    hUe = sp.Matrix(hU).xreplace(rename)
    alpha, beta = sp.Symbol("alpha", real=True), sp.Symbol("beta", real=True)
    T = sp.Symbol("T", positive=True)
    thv = sp.Matrix(th)
    gU = sp.Matrix(gU)
    Dt = sp.Matrix(D) + beta**2 * sp.eye(d)
    drift = -(gU + alpha * thv)
    eq34 = drift
    eq36 = -((gU.T * gU)[0, 0] + alpha * (thv.T * gU)[0, 0]) + T / 2 * (sp.Matrix(hU) * Dt).trace()
    eq37 = -((gUe.T * gU)[0, 0] + alpha * (thv.T * gUe)[0, 0]) + T / 2 * (hUe * Dt).trace()
    return {
        "eq34": eq34, "eq36": eq36, "eq37": eq37,
        "gen36": ito_generator(U, th, drift, T * Dt),
        "gen37": ito_generator(Ue, th, drift, T * Dt),
    }
