"""Closed forms of the 1-D quadratic model (paper Eqs 15, 17, 18; Section 2.3).

Model: l(theta, x) = (h/2)(theta - x)^2, train points x_1..x_n i.i.d. N(m, s^2).
With xbar the train mean and S^2 = (1/n) sum (x_j - xbar)^2:
    U_l(theta) = (h/2) [(theta - xbar)^2 + S^2],   Ubar(theta) = (h/2) [(theta - m)^2 + s^2],
    D = h^2 S^2 (Eq 17, constant in theta),  xbar ~ N(m, s^2/n) independent of S^2,  n S^2 / s^2 ~ chi^2_{n-1}.

Given a data set, every scheme below has stationary
    mean mu = c xbar,  c = h / (h + alpha),
    variance V = T (h^2 S^2 + beta^2) / ((h + alpha) * den),  T = lam / B,
    den = 2                           (a) Langevin SDE of Eq 17,
    den = 2 - lam (h + alpha)         (b) plain SGD of Eq 15, B draws with replacement (exact:
                                          theta' = (1 - lam (h + alpha)) theta + lam h xbar_B + sqrt(lam T) beta w,
                                          Var(xbar_B) = S^2 / B, so V (1 - r^2) = lam T (h^2 S^2 + beta^2)),
    den = 2 - lam dt (h + alpha)      (c) Euler-Maruyama of Eq 17 with step dt (in update units).
(b) and (c) need 0 < lam (h + alpha) < 2 (resp. lam dt (h + alpha) < 2).
The law is Gaussian for (a) and (c) (linear drift, Gaussian noise); for (b) the
minibatch noise is not Gaussian, so only these first two moments are exact.

Then <U_l> = (h/2)[(mu - xbar)^2 + V + S^2] and <Ubar> = (h/2)[(mu - m)^2 + V + s^2], and
averaging over data sets (E xbar^2 = m^2 + s^2/n, E S^2 = (n-1) s^2 / n):
    train = (h/2) [(1-c)^2 (m^2 + s^2/n) + E V + (n-1) s^2/n]
    test  = (h/2) [(1-c)^2 m^2 + c^2 s^2/n + E V + s^2]
    gap   = h c s^2 / n = h^2 s^2 / (n (h + alpha)),
    E V   = T (h^2 (n-1) s^2/n + beta^2) / ((h + alpha) den).

Why the gap does not depend on T here: the thermal spread V of theta enters
the train loss and the test loss through the same curvature h (the Hessian of
l is h for every data point, so U_l and Ubar have the same Hessian) and
therefore adds (h/2) V to both; it cancels in the gap data set by data set.
The gap is the difference of the two losses at the mean mu alone, which does
not involve T, lam or B (the stationary mean of every scheme is the ridge
solution c xbar). Test loss rises linearly with T (E V > 0 grows like T), so
on this model the best T is 0: no finite optimal temperature, and prediction A
(gap falls with T) fails. The paper's mechanism needs the parameter spread to
weigh train and test curvature differently (Cov_D(rho, U_l) moving with T).
"""
from __future__ import annotations

import functools
import math

import sympy as sp

from ._lyapunov import _finite, _int, _nonneg, _pos
from ._validate import ArgumentError

__all__ = ["quadratic1d_steady", "quadratic1d_symbolic", "quadratic1d_data_nodes", "quadratic1d_eq07_bound", "SCHEMES"]

SCHEMES = ("sde", "sgd", "em")


def quadratic1d_steady(n, m, s, *, h=1.0, alpha=0.0, beta=0.0, lam, B=1, scheme="sde", dt=1.0):
    """Data-averaged steady state of the 1-D quadratic model (exact; formulas in the module docstring).

    Returns a dict with: gap, train_loss, test_loss, var (E_D of the stationary
    Var(theta | D)), mean (E_D of the stationary mean), mean_var (Var_D of the
    stationary mean), var_rhobar (variance of rhobar = var + mean_var), T,
    the per-data-set standard deviations gap_sd, train_sd, test_sd (for
    standard errors of ensemble averages: sd / sqrt(K)), and `stability`, the
    condition the scheme needs. scheme: "sde" (Eq 17), "sgd" (Eq 15, B with
    replacement), "em" (Euler-Maruyama of Eq 17, step dt in update units).
    Raises ValueError naming lam when the discrete chain is unstable.
    """
    n = _int("n", n)
    m = _finite("m", m)
    s = _nonneg("s", s)
    h = _pos("h", h)
    alpha = _nonneg("alpha", alpha)
    beta = _finite("beta", beta)
    lam = _pos("lam", lam)
    B = _int("B", B)
    dt = _pos("dt", dt)
    if scheme not in SCHEMES:
        raise ArgumentError(f"scheme must be one of {SCHEMES} (got {scheme!r})")
    k = h + alpha
    T = lam / B
    if scheme == "sde":
        den, stab = 2.0, "none (the SDE is stable for any lam > 0)"
    elif scheme == "sgd":
        den, stab = 2.0 - lam * k, f"0 < lam (h + alpha) < 2, i.e. lam < {2.0 / k:.6g}"
    else:
        den, stab = 2.0 - lam * dt * k, f"0 < lam dt (h + alpha) < 2, i.e. lam dt < {2.0 / k:.6g}"
    if den <= 0:
        what = "lam" if scheme == "sgd" else "lam * dt"
        raise ArgumentError(f"{what} is outside the stability range {stab} (got lam={lam}, dt={dt}, h+alpha={k})",
                            param="lam")
    c = h / k
    s2, sn = s * s, s * s / n
    ES2 = (n - 1) * s2 / n
    f = T / (k * den)  # V = f (h^2 S^2 + beta^2)
    EV = f * (h * h * ES2 + beta**2)
    train = 0.5 * h * ((1 - c) ** 2 * (m * m + sn) + EV + ES2)
    test = 0.5 * h * ((1 - c) ** 2 * m * m + c * c * sn + EV + s2)
    gap = h * c * sn
    # per-data-set spreads: u = xbar ~ N(m, sn), S^2 with Var = 2 (n-1) s^4 / n^2, independent;
    # Var(a u^2 + b u) = 2 a^2 sn^2 + (2 a m + b)^2 sn.
    varS2 = 2.0 * (n - 1) * s2 * s2 / (n * n)
    q = lambda a, b: 2 * a * a * sn * sn + (2 * a * m + b) ** 2 * sn  # noqa: E731
    gap_var = 0.25 * h * h * (q(2 * c - 1, -2 * c * m) + varS2)
    train_var = 0.25 * h * h * (q((1 - c) ** 2, 0.0) + (1 + f * h * h) ** 2 * varS2)
    test_var = 0.25 * h * h * (q(c * c, -2 * c * m) + (f * h * h) ** 2 * varS2)
    return {
        "model": "quadratic1d", "scheme": scheme, "n": n, "m": m, "s": s, "h": h, "alpha": alpha, "beta": beta,
        "lam": lam, "B": B, "dt": dt, "T": T,
        "gap": gap, "train_loss": train, "test_loss": test,
        "var": EV, "mean": c * m, "mean_var": c * c * sn, "var_rhobar": EV + c * c * sn,
        "gap_sd": math.sqrt(gap_var), "train_sd": math.sqrt(train_var), "test_sd": math.sqrt(test_var),
        "stability": stab, "stable": True,
    }


@functools.lru_cache(maxsize=1)
def quadratic1d_symbolic():
    """Sympy derivation of the closed forms above (cached; ~0.3 s).

    Derives, from the update rules rather than from the formulas above:
    - var_sgd: the stationary variance V of plain SGD, solving
      V = (1 - lam k)^2 V + lam^2 h^2 S^2 / B + lam T beta^2 (T = lam/B, k = h + alpha);
    - var_sde: the Fokker-Planck (Eq 47) stationary variance, from the zero-current
      Gaussian: -k (theta - mu) rho - (T/2)(h^2 S^2 + beta^2) rho' = 0;
    - var_em: as var_sgd with lam -> lam dt and noise lam T dt (h^2 S^2 + beta^2);
    - train, test, gap: data averages, taking E over xbar and S^2 by their moments;
    - dgap_dT: d gap / d T (simplifies to 0).
    Returns a dict of sympy expressions in symbols n, m, s, h, alpha, beta, lam, B, dt.
    """
    n, s, h, lam, B, dt = sp.symbols("n s h lam B dt", positive=True)
    m, alpha, beta = sp.symbols("m alpha beta", real=True)
    V, u, S2, th = sp.symbols("V u S2 theta", real=True)
    k = h + alpha
    T = lam / B
    var_sgd = sp.solve(sp.Eq(V, (1 - lam * k) ** 2 * V + lam**2 * h**2 * S2 / B + lam * T * beta**2), V)[0]
    mu = h * u / k
    # zero current of the Gaussian ansatz exp(-(theta - mu)^2 / (2 V)): J / rho is linear in theta
    J = -k * (th - mu) - sp.Rational(1, 2) * T * (h**2 * S2 + beta**2) * (-(th - mu) / V)
    var_sde = sp.solve(sp.Eq(sp.diff(J, th), 0), V)[0]
    var_em = sp.solve(sp.Eq(V, (1 - lam * dt * k) ** 2 * V + lam * T * dt * (h**2 * S2 + beta**2)), V)[0]

    def E(expr):
        p = sp.Poly(sp.expand(expr), u, S2)
        mom_u = {0: 1, 1: m, 2: m**2 + s**2 / n}
        out = 0
        for (i, j), coef in p.terms():
            out += coef * mom_u[i] * ((n - 1) * s**2 / n) ** j
        return sp.cancel(out)

    out = {}
    for name, Vx in (("sde", var_sde), ("sgd", var_sgd), ("em", var_em)):
        train = E(h / 2 * ((mu - u) ** 2 + Vx + S2))
        test = E(h / 2 * ((mu - m) ** 2 + Vx + s**2))
        out[name] = {
            "var_given_data": sp.factor(Vx),
            "var": E(Vx),
            "train": train,
            "test": test,
            "gap": sp.factor(sp.cancel(test - train)),
            "dgap_dT": sp.cancel(sp.diff(test - train, lam) * B),
            "dtest_dT": sp.factor(sp.cancel(sp.diff(test, lam) * B)),
        }
    out["symbols"] = {"n": n, "m": m, "s": s, "h": h, "alpha": alpha, "beta": beta, "lam": lam, "B": B, "dt": dt,
                      "S2": S2}
    return out


def quadratic1d_data_nodes(n: int, m: float, s: float, q: int = 64):
    """Gauss nodes and weights for expectations over data sets of the 1-D
    quadratic model: xbar ~ N(m, s^2/n) (Hermite) independent of
    S^2 ~ (s^2/n) chi^2_{n-1} (generalized Laguerre). Returns flat arrays
    (xbar, S2, w) with sum(w) = 1; exact for polynomials of degree < 2q."""
    from scipy import special
    import numpy as np

    n = _int("n", n, 1)
    q = _int("q", q, 2)
    z, wz = special.roots_hermitenorm(q)
    wz = wz / wz.sum()
    xb = float(m) + float(s) / math.sqrt(n) * z
    if n >= 2:
        y, wy = special.roots_genlaguerre(q, 0.5 * (n - 1) - 1.0)
        wy = wy / wy.sum()
        S2 = (float(s) ** 2 / n) * 2.0 * y  # chi^2_{n-1} = 2 Gamma((n - 1)/2)
    else:
        S2, wy = np.zeros(1), np.ones(1)
    XB, SS = np.meshgrid(xb, S2, indexing="ij")
    return XB.ravel(), SS.ravel(), np.outer(wz, wy).ravel()


def quadratic1d_eq07_bound(n, m, s, *, h=1.0, alpha=0.0, beta=0.0, lam, B=1, scheme="em", dt=1.0,
                           rtol: float = 1e-7) -> dict:
    """Right side of Eq 7 on the 1-D quadratic model, with its quadrature error:

        |<Delta>bar| <= n^{-1/2} int sigma_rho(theta) sigma_l(theta) dtheta,
        sigma_rho^2 = Var_{x_l} rho(theta | x_l) = E rho^2 - rhobar^2,
        sigma_l^2 = Var_{x~N(m,s^2)} l(theta, x) = (h^2/4)(2 s^4 + 4 (theta - m)^2 s^2).

    rho(theta | x_l) = N(c xbar, V) is the exact stationary law of the SDE
    (scheme "sde") and of its Euler-Maruyama chain (scheme "em"), V = f (h^2 S^2 + beta^2);
    for plain SGD the law is not Gaussian, so the scheme is refused. The
    average over xbar ~ N(m, s^2/n) is done analytically (A = c^2 s^2 / n):

        rhobar(theta) = E_S2 N(theta; c m, V + A),
        E rho^2(theta) = E_S2 N(theta; c m, V/2 + A) / (2 sqrt(pi V)),

    leaving 1-D integrals over S^2 = (s^2/n) 2 t^2, t^2 ~ Gamma((n - 1)/2): the
    substitution y = t^2 turns the chi^2 density into 2 t^{n-2} e^{-t^2} / Gamma((n-1)/2),
    so the 1/sqrt(V) ~ 1/t singularity of E rho^2 at beta = 0 becomes t^{n-3}:
    bounded for n >= 3, and for n <= 2 (or n = 1, where V = 0) the integral
    diverges: E rho^2 = inf at every theta and the bound is inf. Both integrals
    and the theta integral are adaptive (scipy quad, QUADPACK) to relative
    tolerance `rtol`. Returns bound, the exact gap it bounds, quad_err (the
    outer quadrature's error estimate plus the inner ones propagated through the
    square root) and `diverges`.
    """
    import numpy as np

    if scheme not in ("sde", "em"):
        raise ArgumentError(f"scheme must be 'sde' or 'em' for an exact Gaussian law (got {scheme!r})")
    rtol = _pos("rtol", rtol)
    ref = quadratic1d_steady(n, m, s, h=h, alpha=alpha, beta=beta, lam=lam, B=B, scheme=scheme, dt=dt)
    n, m, s, h, alpha, beta = ref["n"], ref["m"], ref["s"], ref["h"], ref["alpha"], ref["beta"]
    k = h + alpha
    den = 2.0 if scheme == "sde" else 2.0 - lam * dt * k
    f = (lam / B) / (k * den)
    c = h / k
    out = {"gap": ref["gap"], "scheme": scheme}
    if s == 0:  # every data set is the same: sigma_rho = 0 (and sigma_l = 0)
        return {**out, "bound": 0.0, "quad_err": 0.0, "diverges": False}
    if beta == 0 and n <= 2:
        return {**out, "bound": math.inf, "quad_err": 0.0, "diverges": True}
    moments = _eq07_moments(n, s, h, beta, f, c * c * s * s / n, rtol)
    sd = math.sqrt(c * c * s * s / n + ref["var"])
    err = []

    def integrand(theta):
        m1, m2, e = moments(theta - c * m)
        var = m2 - m1 * m1
        sig_l = 0.5 * h * math.sqrt(2 * s**4 + 4 * (theta - m) ** 2 * s**2)
        err.append(e / (2.0 * math.sqrt(var)) * sig_l if var > 0 else 0.0)
        return math.sqrt(max(var, 0.0)) * sig_l

    total, abserr = 0.0, 0.0
    for lo, hi in ((-np.inf, c * m - 3 * sd), (c * m - 3 * sd, c * m + 3 * sd), (c * m + 3 * sd, np.inf)):
        val, e = _quad(integrand, lo, hi, rtol)
        total, abserr = total + val, abserr + e
    bound = total / math.sqrt(n)
    inner = max(err) * 6 * sd / math.sqrt(n) if err else 0.0  # sup of the propagated inner error x a width
    return {**out, "bound": bound, "quad_err": abserr / math.sqrt(n) + inner, "diverges": False}


def _quad(fn, lo, hi, rtol):
    """scipy quad to relative tolerance rtol: (value, error estimate)."""
    from scipy.integrate import quad

    val, err = quad(fn, lo, hi, epsabs=0.0, epsrel=rtol, limit=400)
    return val, err


def _eq07_moments(n, s, h, beta, f, A, rtol):
    """theta - c m -> (rhobar, E rho^2, error estimate of E rho^2 - rhobar^2) over
    data sets (docstring of `quadratic1d_eq07_bound`)."""
    if n == 1:  # S^2 = 0: V = f beta^2 for every data set, only xbar varies
        V = f * beta * beta

        def fixed(u):
            return _normal(u, V + A), _normal(u, 0.5 * V + A) / (2.0 * math.sqrt(math.pi * V)), 0.0
        return fixed
    a = 0.5 * (n - 1)
    lognorm = math.log(2.0) - math.lgamma(a)
    scale = 2.0 * s * s / n  # S^2 = scale t^2

    def weight(t):
        return math.exp(lognorm + (n - 2) * math.log(t) - t * t) if t > 0 else (1.0 if n == 2 else 0.0)

    def m2_integrand(t, u):
        # t^{n-2} / sqrt(V) with V = f (h^2 scale t^2 + beta^2): finite at t = 0 for n >= 3 or beta > 0
        V = f * (h * h * scale * t * t + beta * beta)
        tt = math.exp(lognorm - t * t) * (t ** (n - 2) if n > 2 else 1.0)
        return tt * _normal(u, 0.5 * V + A) / (2.0 * math.sqrt(math.pi * V))

    def moments(u):
        m1, e1 = _quad(lambda t: weight(t) * _normal(u, f * (h * h * scale * t * t + beta * beta) + A), 0, math.inf,
                       rtol)
        m2, e2 = _quad(lambda t: m2_integrand(t, u), 0, math.inf, rtol)
        return m1, m2, e2 + 2 * m1 * e1
    return moments


def _normal(u, var):
    """N(u; 0, var) density."""
    return math.exp(-0.5 * u * u / var) / math.sqrt(2.0 * math.pi * var)
