"""Approximations of the gap as numeric evaluators on a theta grid
(paper Section 2.2.2, Eqs 10-14; Section 2.3, Eqs 22-24; Appendix C, Eqs 50-53).

Inputs are arrays on the m points of a theta grid with quadrature weights w
(integral f dtheta = sum_i w_i f_i): gbar, sigma_g^2 = Var_{x_l} g,
sigma_gu = Cov_{x_l}(g, U_l), Ubar, sigma_u^2 = Var_{x_l} U_l, sigma_l, and for
SGD the v/a pieces. They may come from the exact engine
(`potential_statistics`), a closed form, or a simulation.

Conventions every result records (`Approx.gauge`, `Approx.details`):
- gauge of g: 'logrho' (g = -log rho, Z = 1, the default and the one that makes
  the paper's "ignore the stochasticity of Z" exact) or 'anchor' (line
  integrals from a theta_0 shared by all data sets). sigma_g^2 and sigma_gu,
  hence every approximation here, change with the gauge. Measured on random
  universes (tests/test_approx.py): with g = g0 + eps h(theta, x_l), the errors
  of Eqs 10, 12, 13, 52 against the exact engine are one order in eps beyond
  the quantity itself in the logrho gauge, but of the same order in the anchor
  gauge (sigma_gu there misses Cov(<delta g>, <U_l>), the data dependence of
  log Z), so the relative error does not vanish as sigma_g -> 0.
- which rhobar a <<.>> uses: the one passed in ('given', e.g. the exact one) or
  the log-normal one of Eq 10 ('eq10').

Normalizability (the rule for "undefined (Zbar = inf)"). On a 1-D grid that
samples the real line (``tails=True``) an exponent e(theta) (-gbar + sigma_g^2/2
for Eq 10, -gbar for rho(theta|mu)) defines a normalizable density only if it
falls off at both ends. The rule: e must be strictly decreasing outward over
the outer 10% of the grid (at least 3 points) at each end; otherwise the
approximation is reported undefined ("Zbar = inf"), never as a number read off
the grid's edge. If it does decrease there but the outermost cell still carries
more than EDGE_MASS of the normalized mass, the grid is too narrow and the
result is undefined too ("grid too narrow"). The same rule is applied to the
log of every integrand of a <<.>> average: Zbar can be finite while
<<sigma_l exp(sigma_g^2/2)>> (Eqs 11, 14, 23), whose integrand grows like
exp(-gbar + sigma_g^2), diverges; that is reported as "undefined (integral
diverges)"; for a signed integrand (Eqs 13, 22, 52, 53) the outer 10% of
the grid may carry at most OUTER_MASS of integral |integrand|. The rules need
the grid to reach beyond the point where sigma_g^2/2 overtakes gbar; on a
finite theta set (``tails=False``) the integral is a finite sum and always
defined. The tail rules are for 1-D grids; `approximations` treats a 2-D grid
as a finite set (no Zbar = inf detection there).

Floating point: exp(sigma_g^2) is never formed. Integrals of positive
integrands are computed as exp(log-sum-exp of logs), log(e^s - 1) as
s + log1p(-e^-s), so sigma_g^2 = 800 gives finite numbers.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.special import logsumexp

from ._validate import ArgumentError, check_array, check_int, check_positive

__all__ = [
    "Approx",
    "EDGE_MASS",
    "OUTER_MASS",
    "normalizable",
    "eq10_lognormal_rhobar",
    "eq11_gap_bound",
    "eq12_cov",
    "eq13_gap",
    "eq14_test_loss_bound",
    "eq22_sgd_gap",
    "eq23_sgd_test_loss_bound",
    "eq24_sgd_gap_bound",
    "eq50_delta_cov",
    "eq51_cov",
    "eq52_gap",
    "eq53_sgd_gap",
    "approximations",
]

#: Largest normalized mass the outermost grid cell may carry (see module doc).
EDGE_MASS = 1e-8
#: Largest share of integral |f| the outer 10% of a grid may carry for a signed f.
OUTER_MASS = 1e-6
_GAUGES = ("logrho", "anchor", "given")


@dataclasses.dataclass(frozen=True)
class Approx:
    """One approximation's result.

    value: the number (None when undefined); defined: False with a reason when
    the approximation does not exist (Zbar = inf, overflow); gauge: the gauge
    of g the inputs were computed in; details: limits, validity conditions,
    the rhobar used, arrays.
    """

    equation: str
    value: float | None
    defined: bool
    reason: str
    gauge: str
    details: dict = dataclasses.field(default_factory=dict)


# ------------------------------------------------------------------ helpers
def _gauge(gauge: str) -> str:
    if gauge not in _GAUGES:
        raise ArgumentError(f"gauge must be one of {_GAUGES} (got {gauge!r})")
    return gauge


def _arrays(weights, **arrays):
    w = check_array("weights", weights, ndim=1, positive=True)
    out = []
    for name, a in arrays.items():
        if a is None:
            out.append(None)
            continue
        out.append(check_array(name, a, shape=w.shape))
    return w, out


def _log_expm1(s: np.ndarray) -> np.ndarray:
    """log(e^s - 1) for s >= 0 without overflow (-inf at s = 0)."""
    s = np.asarray(s, dtype=np.float64)
    out = np.full(s.shape, -np.inf)
    big = s > 1.0
    small = (s > 0) & ~big
    out[big] = s[big] + np.log1p(-np.exp(-s[big]))
    out[small] = np.log(np.expm1(s[small]))
    return out


def _safe_log(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, -np.inf)
    pos = x > 0
    out[pos] = np.log(x[pos])
    return out


def _tail_reason(e: np.ndarray, logw: np.ndarray, what: str) -> str:
    """The tail rule on a log-integrand e (entries may be -inf, i.e. zero):
    '' when it falls off toward both edges and the edge cells carry <= EDGE_MASS."""
    m = e.size
    if m < 3:
        return ""
    j = min(m, max(3, int(math.ceil(0.1 * m))))
    with np.errstate(invalid="ignore"):
        # -inf (an exact zero) toward the edge counts as falling off
        left_ok = bool(np.all((np.diff(e[:j]) > 0) | (e[:j - 1] == -np.inf)))
        right_ok = bool(np.all((np.diff(e[-j:]) < 0) | (e[-j + 1:] == -np.inf)))
    if not (left_ok and right_ok):
        side = " and ".join(s for s, ok in (("left", left_ok), ("right", right_ok)) if not ok)
        return f"{what}: the exponent does not decrease toward the {side} grid edge"
    lt = logw + e
    tot = logsumexp(lt)
    edge = max(lt[0], lt[-1]) - tot
    if edge > math.log(EDGE_MASS):
        return f"undefined: grid too narrow (edge cell mass {math.exp(edge):.3g} > {EDGE_MASS:g})"
    return ""


def _integral_pos(logw, logf, *, tails: bool) -> tuple[float | None, str]:
    """integral of a positive integrand given in logs, exp(logsumexp(log w + log f)),
    or (None, reason) when on a 1-D grid the integrand does not fall off at the
    edges (the integral over the real line diverges or the grid is too narrow)."""
    if np.all(logf == -np.inf):
        return 0.0, ""
    if tails:
        why = _tail_reason(logf, logw, "undefined (integral diverges)")
        if why:
            return None, why
    with np.errstate(over="ignore"):
        return float(np.exp(logsumexp(logw + logf))), ""


def _signed_reason(w, integrand, tails: bool) -> str:
    """Tail rule for a signed integrand (whose |.| may dip to 0 where it changes
    sign, so monotonicity is no test): the outer 10% of the grid at each end
    may carry at most OUTER_MASS of integral |integrand|."""
    if not tails:
        return ""
    a = np.abs(np.asarray(integrand, dtype=np.float64)) * w
    m = a.size
    tot = float(a.sum())
    if m < 3 or tot == 0.0:
        return ""
    if not np.isfinite(tot):
        return "undefined (integral diverges): the integrand overflows"
    j = min(m, max(3, int(math.ceil(0.1 * m))))
    outer = max(float(a[:j].sum()), float(a[-j:].sum())) / tot
    if outer > OUTER_MASS:
        return (f"undefined (integral diverges or grid too narrow): the outer 10% of the grid carries "
                f"{outer:.3g} of integral |integrand| (> {OUTER_MASS:g})")
    return ""


def normalizable(exponent, weights, *, tails: bool = True) -> tuple[bool, str, np.ndarray | None]:
    """Apply the normalizability rule (module doc) to a density exp(exponent).

    Returns (ok, reason, log_density normalized with the weights or None)."""
    e = np.asarray(exponent, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if np.any(np.isnan(e)) or np.any(e == np.inf):
        return False, "exponent is nan or +inf", None
    logw = np.log(w)
    logZ = logsumexp(logw + e)
    if not np.isfinite(logZ):
        return False, "Zbar = 0 or inf on the grid", None
    if tails:
        why = _tail_reason(e, logw, "undefined (Zbar = inf)")
        if why:
            return False, why, None
    return True, "", e - logZ


def _rhobar_from(rhobar, gbar, sigma_g2, w, tails, gauge):
    """The rhobar for <<.>>: the given one, else Eq 10's log-normal one."""
    if rhobar is not None:
        r = check_array("rhobar", rhobar, shape=w.shape, nonneg=True)
        return _safe_log(r), "given", ""
    if gbar is None or sigma_g2 is None:
        raise ArgumentError("give rhobar, or gbar and sigma_g2 for Eq 10's rhobar", param="rhobar")
    res = eq10_lognormal_rhobar(gbar, sigma_g2, w, gauge=gauge, tails=tails)
    if not res.defined:
        return None, "eq10", res.reason
    return res.details["log_rhobar"], "eq10", ""


def _undefined(eq, reason, gauge, **details):
    return Approx(equation=eq, value=None, defined=False, reason=reason, gauge=gauge, details=details)


# ------------------------------------------------------------------ Eqs 10-14
def eq10_lognormal_rhobar(gbar, sigma_g2, weights, *, gauge: str = "logrho", tails: bool = True) -> Approx:
    """Eq 10 (log-normal): rhobar(theta) ~ exp(-gbar + sigma_g^2/2) / Zbar,
    Zbar = integral exp(-gbar + sigma_g^2/2) dtheta,
    sigma_rho^2(theta) ~ rhobar^2 (exp(sigma_g^2) - 1).

    value = log Zbar; details: rhobar, log_rhobar, log_sigma_rho2
    (= 2 log rhobar + log expm1(sigma_g^2), never overflows) and sigma_rho. Undefined when Zbar = inf (rule
    in the module doc).
    """
    gauge = _gauge(gauge)
    w, (gbar, s2) = _arrays(weights, gbar=gbar, sigma_g2=sigma_g2)
    if np.any(s2 < 0):
        raise ArgumentError("sigma_g2 must have entries >= 0")
    e = -gbar + 0.5 * s2
    ok, reason, logd = normalizable(e, w, tails=tails)
    if not ok:
        return _undefined("eq10", reason, gauge)
    log_sigma_rho2 = 2 * logd + _log_expm1(s2)
    with np.errstate(over="ignore", under="ignore"):
        sigma_rho = np.exp(0.5 * log_sigma_rho2)
    logZ = float(logsumexp(np.log(w) + e))
    return Approx("eq10", logZ, True, "", gauge, dict(rhobar=np.exp(logd), log_rhobar=logd, sigma_rho=sigma_rho,
                                                      log_sigma_rho2=log_sigma_rho2, log_Zbar=logZ))


def eq11_gap_bound(sigma_l, sigma_g2, weights, n: int, *, gbar=None, rhobar=None, gauge: str = "logrho",
                   tails: bool = True) -> Approx:
    """Eq 11: <Delta>bar <= n^{-1/2} <<sigma_l sqrt(exp(sigma_g^2) - 1)>>,
    with limits n^{-1/2} <<sigma_l exp(sigma_g^2/2)>> (sigma_g^2 >> 1) and
    n^{-1/2} <<sigma_l sigma_g>> (sigma_g^2 << 1).

    Eq 7 with Eq 10's sigma_rho; <<.>> uses Eq 10's rhobar (needs gbar) unless
    rhobar is given.
    """
    gauge = _gauge(gauge)
    n = check_int("n", n, lo=1)
    w, (sl, s2) = _arrays(weights, sigma_l=sigma_l, sigma_g2=sigma_g2)
    logr, src, why = _rhobar_from(rhobar, gbar, s2, w, tails, gauge)
    if logr is None:
        return _undefined("eq11", why, gauge, rhobar_source=src)
    logw, base = np.log(w), logr + _safe_log(sl)
    rn = 1.0 / math.sqrt(n)
    val, why = _integral_pos(logw, base + 0.5 * _log_expm1(s2), tails=tails)
    large, why_l = _integral_pos(logw, base + 0.5 * s2, tails=tails)
    small, why_s = _integral_pos(logw, base + 0.5 * _safe_log(s2), tails=tails)
    details = dict(limit_large=None if large is None else rn * large, limit_small=None if small is None else rn * small,
                   limit_large_reason=why_l, limit_small_reason=why_s, rhobar_source=src)
    if val is None:
        return _undefined("eq11", why, gauge, **details)
    return _finite("eq11", rn * val, gauge, details)


def _finite(eq, val, gauge, details):
    if not np.isfinite(val):
        return _undefined(eq, "overflow: the value exceeds the float64 range", gauge, **details)
    return Approx(eq, float(val), True, "", gauge, details)


def _exponent(Ubar, sigma_gu, sigma_u):
    """E = sigma_gu/Ubar + sigma_u^4/(8 Ubar^4) (Eq 12's exponent); 0 where Ubar = 0
    (there sigma_u = sigma_gu = 0 and the Ubar (1 - e^-E) factor vanishes)."""
    pos = Ubar > 0
    E = np.zeros_like(Ubar)
    E[pos] = sigma_gu[pos] / Ubar[pos] + sigma_u[pos] ** 4 / (8.0 * Ubar[pos] ** 4)
    return E, pos


def eq12_cov(rhobar, Ubar, sigma_gu, sigma_u, *, gauge: str = "logrho") -> Approx:
    """Eq 12: Cov_{x_l}(rho, U_l) ~ -rhobar Ubar (1 - exp(-sigma_gu/Ubar - sigma_u^4/(8 Ubar^4))).

    Validity (footnote 1): the delta-method variance of log U_l,
    (sigma_u^2/Ubar^2)(1 - sigma_u^2/(4 Ubar^2)), is >= 0 only if
    sigma_u^2/Ubar^2 <= 4; details['valid'] is a boolean array.
    value = None (the result is the array details['cov']).
    """
    gauge = _gauge(gauge)
    Ubar = check_array("Ubar", Ubar, ndim=1, nonneg=True)
    _, (rb, sgu, su) = _arrays(np.ones_like(Ubar), rhobar=rhobar, sigma_gu=sigma_gu, sigma_u=sigma_u)
    E, pos = _exponent(Ubar, sgu, su)
    with np.errstate(over="ignore"):
        cov = rb * Ubar * np.expm1(-E)
    valid = np.ones(Ubar.shape, dtype=bool)
    valid[pos] = su[pos] ** 2 <= 4.0 * Ubar[pos] ** 2
    if not np.all(np.isfinite(cov)):
        return _undefined("eq12", "overflow: exp(-E) with E << 0", gauge, valid=valid)
    return Approx("eq12", None, True, "", gauge, dict(cov=cov, exponent=E, valid=valid))


def eq13_gap(Ubar, sigma_gu, sigma_u, weights, *, rhobar=None, gbar=None, sigma_g2=None, gauge: str = "logrho",
             tails: bool = True) -> Approx:
    """Eq 13 (log-normal gap):
    <Delta>bar ~ << Ubar (1 - exp(-sigma_gu/Ubar - sigma_u^4/(8 Ubar^4))) >>,
    limits <<Ubar>> (exponent >> 1, interpolation regime) and
    <<sigma_gu>> + (1/8) <<sigma_u^4 / Ubar^3>> (exponent << 1).

    details: limit_large, limit_small, exponent_mean (<<E>>), exponent range,
    validity of footnote 1 (violation_mass = rhobar mass where
    sigma_u^2/Ubar^2 > 4), rhobar_source.

    Note (derived, see tests): the sigma_u^4 term does not vanish when g stops
    depending on the data, so at fixed loss noise Eq 13 does not tend to the
    exact gap (0) as sigma_g -> 0; Eq 52 does.
    """
    gauge = _gauge(gauge)
    w, (Ub, sgu, su) = _arrays(weights, Ubar=Ubar, sigma_gu=sigma_gu, sigma_u=sigma_u)
    if np.any(Ub < 0):
        raise ArgumentError("Ubar must have entries >= 0")
    logr, src, why = _rhobar_from(rhobar, gbar, sigma_g2, w, tails, gauge)
    if logr is None:
        return _undefined("eq13", why, gauge, rhobar_source=src)
    r = np.exp(logr)
    E, pos = _exponent(Ub, sgu, su)
    with np.errstate(over="ignore", invalid="ignore"):
        integrand = -Ub * np.expm1(-E)
    why = _signed_reason(w, r * integrand, tails)
    if why:
        return _undefined("eq13", why, gauge, rhobar_source=src)
    val = float(np.dot(w, r * integrand))
    ratio4 = np.zeros_like(Ub)
    ratio4[pos] = su[pos] ** 4 / Ub[pos] ** 3
    bad = np.zeros(Ub.shape, dtype=bool)
    bad[pos] = su[pos] ** 2 > 4.0 * Ub[pos] ** 2
    details = dict(
        limit_large=float(np.dot(w, r * Ub)),
        limit_small=float(np.dot(w, r * sgu)) + 0.125 * float(np.dot(w, r * ratio4)),
        exponent_mean=float(np.dot(w, r * E)),
        exponent_min=float(E[r > 0].min()) if np.any(r > 0) else 0.0,
        exponent_max=float(E[r > 0].max()) if np.any(r > 0) else 0.0,
        violation_mass=float(np.dot(w, r * bad)),
        valid=bool(not np.any(bad & (r > 0))),
        rhobar_source=src,
    )
    return _finite("eq13", val, gauge, details)


def eq14_test_loss_bound(sigma_l, sigma_g2, weights, n: int, *, gbar=None, rhobar=None, Ubar=None,
                         gauge: str = "logrho", tails: bool = True) -> Approx:
    """Eq 14: test loss <<Ubar>> <= n^{-1/2} <<sigma_l exp(sigma_g^2/2)>>
    (interpolation regime and sigma_g^2 >> 1).

    The extracted left side reads <U_l>bar; the text calls it test performance
    and it follows from Eq 13's limit <Delta>bar ~ <<Ubar>> and Eq 11, so it is
    the test loss (a typo in the paper). details['lhs_test_loss'] = <<Ubar>>
    under the same rhobar when Ubar is given.
    """
    gauge = _gauge(gauge)
    n = check_int("n", n, lo=1)
    w, (sl, s2, Ub) = _arrays(weights, sigma_l=sigma_l, sigma_g2=sigma_g2, Ubar=Ubar)
    logr, src, why = _rhobar_from(rhobar, gbar, s2, w, tails, gauge)
    if logr is None:
        return _undefined("eq14", why, gauge, rhobar_source=src)
    val, why = _integral_pos(np.log(w), logr + _safe_log(sl) + 0.5 * s2, tails=tails)
    details = dict(rhobar_source=src)
    if Ub is not None:
        details["lhs_test_loss"] = float(np.dot(w, np.exp(logr) * Ub))
    if val is None:
        return _undefined("eq14", why, gauge, **details)
    return _finite("eq14", val / math.sqrt(n), gauge, details)


# ------------------------------------------------------------------ SGD forms
def eq22_sgd_gap(Ubar, sigma_vu, sigma_au, sigma_u, T: float, weights, *, rhobar, gauge: str = "logrho",
                 tails: bool = True) -> Approx:
    """Eq 22 (SGD form of Eq 13, sigma_gu = (2/T) sigma_vu + sigma_au):
    <Delta>bar ~ (2/T) <<sigma_vu>> + <<sigma_au>> + (1/8) <<sigma_u^4/Ubar^3>>  (exponent << 1),
    ~ <<Ubar>> (exponent >> 1).

    value = the small-exponent form; details: limit_large, full (Eq 13 with the
    SGD sigma_gu), regime (<<E>>).
    """
    gauge = _gauge(gauge)
    T = check_positive("T", T)
    w, (Ub, svu, sau, su) = _arrays(weights, Ubar=Ubar, sigma_vu=sigma_vu, sigma_au=sigma_au, sigma_u=sigma_u)
    sgu = (2.0 / T) * svu + sau
    full = eq13_gap(Ub, sgu, su, w, rhobar=rhobar, gauge=gauge, tails=tails)
    if not full.defined:
        return _undefined("eq22", full.reason, gauge)
    r = np.asarray(rhobar, dtype=np.float64)
    _, pos = _exponent(Ub, sgu, su)
    ratio4 = np.zeros_like(Ub)
    ratio4[pos] = su[pos] ** 4 / Ub[pos] ** 3
    val = (2.0 / T) * float(np.dot(w, r * svu)) + float(np.dot(w, r * sau)) + 0.125 * float(np.dot(w, r * ratio4))
    details = dict(limit_large=full.details["limit_large"], full=full.value,
                   exponent_mean=full.details["exponent_mean"], rhobar_source="given")
    return Approx("eq22", val, True, "", gauge, details)


def _sgd_sigma_g2(T, sv2, sa2, sva):
    paper = (4.0 / T**2) * sv2 + sa2
    cross = paper + (4.0 / T) * sva
    return paper, np.maximum(cross, 0.0)


def eq23_sgd_test_loss_bound(sigma_l, sigma_v2, sigma_a2, sigma_va, T: float, weights, n: int, *, vbar=None,
                             abar=None, rhobar=None, gauge: str = "logrho", tails: bool = True) -> Approx:
    """Eq 23: test loss <<Ubar>> <= n^{-1/2} <<sigma_l exp((2/T^2) sigma_v^2 + sigma_a^2/2)>>
    (Eq 14 with sigma_g^2 = (4/T^2) sigma_v^2 + sigma_a^2; the left side is the
    test loss, the same typo as Eq 14).

    Var(2v/T + a) also has the cross term (4/T) sigma_va, which the paper drops.
    value = the paper's form (its rhobar: Eq 10 = Eq 25 with the same sigma_g^2,
    from gbar = (2/T) vbar + abar, unless rhobar is given);
    details['with_cross'] = the same with the cross term kept (then Eq 25's
    coefficient of sigma_va is 2/T, as Eq 26's derivative implies).
    """
    gauge = _gauge(gauge)
    T = check_positive("T", T)
    w, (sl, sv2, sa2, sva, vb, ab) = _arrays(weights, sigma_l=sigma_l, sigma_v2=sigma_v2, sigma_a2=sigma_a2,
                                             sigma_va=sigma_va, vbar=vbar, abar=abar)
    gbar = None if vb is None or ab is None else (2.0 / T) * vb + ab
    paper, cross = _sgd_sigma_g2(T, sv2, sa2, sva)
    a = eq14_test_loss_bound(sl, paper, w, n, gbar=gbar, rhobar=rhobar, gauge=gauge, tails=tails)
    b = eq14_test_loss_bound(sl, cross, w, n, gbar=gbar, rhobar=rhobar, gauge=gauge, tails=tails)
    details = dict(with_cross=b.value, with_cross_defined=b.defined, with_cross_reason=b.reason,
                   rhobar_source=a.details.get("rhobar_source"))
    return Approx("eq23", a.value, a.defined, a.reason, gauge, details)


def eq24_sgd_gap_bound(sigma_l, sigma_v2, sigma_a2, sigma_va, T: float, weights, n: int, *, vbar=None, abar=None,
                       rhobar=None, gauge: str = "logrho", tails: bool = True) -> Approx:
    """Eq 24 (sigma_g^2 << 1):
    <Delta>bar <= (2/T) n^{-1/2} << sigma_l sigma_v sqrt(1 + (T^2/4) sigma_a^2/sigma_v^2) >>
               = n^{-1/2} << sigma_l sqrt((4/T^2) sigma_v^2 + sigma_a^2) >>.
    value = the paper's form; details['with_cross'] adds (4/T) sigma_va under
    the square root. <<.>> uses Eq 10/25's rhobar unless rhobar is given.
    """
    gauge = _gauge(gauge)
    T = check_positive("T", T)
    n = check_int("n", n, lo=1)
    w, (sl, sv2, sa2, sva, vb, ab) = _arrays(weights, sigma_l=sigma_l, sigma_v2=sigma_v2, sigma_a2=sigma_a2,
                                             sigma_va=sigma_va, vbar=vbar, abar=abar)
    gbar = None if vb is None or ab is None else (2.0 / T) * vb + ab
    paper, cross = _sgd_sigma_g2(T, sv2, sa2, sva)
    out = {}
    for key, s2 in (("paper", paper), ("with_cross", cross)):
        logr, src, why = _rhobar_from(rhobar, gbar, s2, w, tails, gauge)
        if logr is None:
            out[key] = (None, why)
            continue
        val, why = _integral_pos(np.log(w), logr + _safe_log(sl) + 0.5 * _safe_log(s2), tails=tails)
        out[key] = (None if val is None else val / math.sqrt(n), why)
    val, why = out["paper"]
    details = dict(with_cross=out["with_cross"][0], with_cross_reason=out["with_cross"][1],
                   rhobar_source="given" if rhobar is not None else "eq10")
    if val is None:
        return _undefined("eq24", why, gauge, **details)
    return _finite("eq24", val, gauge, details)


# ------------------------------------------------------------------ Appendix C
def eq50_delta_cov(Sigma, df, dh, d2f, d2h, *, form: str = "paper"):
    """Eq 50, second-order delta method for Cov_x(f, h), x with mean mu and
    covariance Sigma, derivatives at mu (arrays may carry leading batch axes:
    Sigma (..., d, d), df/dh (..., d), d2f/d2h (..., d, d)).

    form='paper':    (1/2) (Tr(Sigma [df dh' + dh df']) - (1/2) Tr(Sigma d2f) Tr(Sigma d2h))
    form='gaussian': df' Sigma dh + (1/2) Tr(Sigma d2f Sigma d2h)

    The paper's form is what the delta method gives for E[fh] - E[f]E[h] when
    each expectation is expanded separately to second order. For Gaussian x
    and quadratic f, h the exact covariance is the 'gaussian' form (Isserlis:
    Cov(x'Ax, x'Bx) = 2 Tr(A Sigma B Sigma)), so that is the consistent
    second-order answer. For Eq 51 (f = exp(-g)/Z, h = U_l) both forms coincide.
    """
    if form not in ("paper", "gaussian"):
        raise ArgumentError(f"form must be 'paper' or 'gaussian' (got {form!r})")
    S = np.asarray(Sigma, dtype=np.float64)
    a = np.asarray(df, dtype=np.float64)
    b = np.asarray(dh, dtype=np.float64)
    A = np.asarray(d2f, dtype=np.float64)
    B = np.asarray(d2h, dtype=np.float64)
    d = S.shape[-1]
    if (S.shape[-2:] != (d, d) or a.shape[-1] != d or b.shape[-1] != d
            or A.shape[-2:] != (d, d) or B.shape[-2:] != (d, d)):
        raise ArgumentError("Sigma must be (..., d, d), df and dh (..., d), d2f and d2h (..., d, d) with the same d")
    first = np.einsum("...i,...ij,...j->...", a, S, b)
    if form == "paper":
        second = -0.25 * np.einsum("...ij,...ji->...", S, A) * np.einsum("...ij,...ji->...", S, B)
    else:
        second = 0.5 * np.einsum("...ij,...jk,...kl,...li->...", S, A, S, B)
    return first + second


def _rho_mu(gbar, w, tails):
    ok, reason, logd = normalizable(-gbar, w, tails=tails)
    return (np.exp(logd) if ok else None), reason


def eq51_cov(gbar, sigma_gu, weights, *, gauge: str = "logrho", tails: bool = True) -> Approx:
    """Eq 51: Cov_D(rho, U_l) ~ -rho(theta|mu) sigma_gu(theta), from Eq 50 with
    x = (g, U_l), f = exp(-g)/Z, h = U_l (Z held fixed, as the paper does), at
    the mean mu = (gbar, Ubar): rho(theta|mu) = exp(-gbar)/Z, Z = integral exp(-gbar).
    Both Eq 50 forms give this (d2h = 0). value = None; details['cov'], ['rho_mu'].
    """
    gauge = _gauge(gauge)
    w, (gb, sgu) = _arrays(weights, gbar=gbar, sigma_gu=sigma_gu)
    rmu, why = _rho_mu(gb, w, tails)
    if rmu is None:
        return _undefined("eq51", why, gauge)
    return Approx("eq51", None, True, "", gauge, dict(cov=-rmu * sgu, rho_mu=rmu))


def eq52_gap(gbar, sigma_gu, weights, *, gauge: str = "logrho", tails: bool = True) -> Approx:
    """Eq 52: <Delta>bar ~ integral rho(theta|mu) sigma_gu(theta) dtheta (Eq 51 in Eq 6)."""
    gauge = _gauge(gauge)
    w, (gb, sgu) = _arrays(weights, gbar=gbar, sigma_gu=sigma_gu)
    rmu, why = _rho_mu(gb, w, tails)
    if rmu is None:
        return _undefined("eq52", why, gauge)
    why = _signed_reason(w, rmu * sgu, tails)
    if why:
        return _undefined("eq52", why, gauge)
    return Approx("eq52", float(np.dot(w, rmu * sgu)), True, "", gauge, dict(rho_mu=rmu))


def eq53_sgd_gap(vbar, abar, sigma_vu, sigma_au, T: float, weights, *, gauge: str = "logrho",
                 tails: bool = True) -> Approx:
    """Eq 53: <Delta>bar ~ (2/T) <sigma_vu>_{rho(theta|mu)} + <sigma_au>_{rho(theta|mu)},
    rho(theta|mu) = exp(-(2/T) vbar - abar)/Z."""
    gauge = _gauge(gauge)
    T = check_positive("T", T)
    w, (vb, ab, svu, sau) = _arrays(weights, vbar=vbar, abar=abar, sigma_vu=sigma_vu, sigma_au=sigma_au)
    rmu, why = _rho_mu((2.0 / T) * vb + ab, w, tails)
    if rmu is None:
        return _undefined("eq53", why, gauge)
    why = _signed_reason(w, rmu * ((2.0 / T) * svu + sau), tails)
    if why:
        return _undefined("eq53", why, gauge)
    val = (2.0 / T) * float(np.dot(w, rmu * svu)) + float(np.dot(w, rmu * sau))
    return Approx("eq53", val, True, "", gauge, dict(rho_mu=rmu))


# ------------------------------------------------------------------ all at once
def approximations(stats, *, tails: bool | None = None) -> dict[str, Approx]:
    """Evaluate every approximation on the exact grid inputs of one gauge
    (a `PotentialStats` from `potential_statistics`, or anything with the same
    attributes). Eq 13/22 use the exact rhobar (their <<.>> is the paper's
    exact average); Eqs 11, 14, 23, 24 use Eq 10's rhobar (their derivation
    substitutes Eq 10). Keys: eq10 ... eq53 (SGD keys only when stats has v/a).
    """
    if tails is None:
        tails = stats.theta is not None and np.ndim(stats.theta) == 1
    w, gauge, n = stats.weights, stats.gauge, stats.n
    out = {
        "eq10": eq10_lognormal_rhobar(stats.gbar, stats.sigma_g2, w, gauge=gauge, tails=tails),
        "eq11": eq11_gap_bound(stats.sigma_l, stats.sigma_g2, w, n, gbar=stats.gbar, gauge=gauge, tails=tails),
        "eq12": eq12_cov(stats.rhobar, stats.Ubar, stats.sigma_gu, stats.sigma_u, gauge=gauge),
        "eq13": eq13_gap(stats.Ubar, stats.sigma_gu, stats.sigma_u, w, rhobar=stats.rhobar, gauge=gauge, tails=tails),
        "eq14": eq14_test_loss_bound(stats.sigma_l, stats.sigma_g2, w, n, gbar=stats.gbar, Ubar=stats.Ubar,
                                     gauge=gauge, tails=tails),
        "eq51": eq51_cov(stats.gbar, stats.sigma_gu, w, gauge=gauge, tails=tails),
        "eq52": eq52_gap(stats.gbar, stats.sigma_gu, w, gauge=gauge, tails=tails),
    }
    if getattr(stats, "T", None) is not None:
        T = stats.T
        out["eq22"] = eq22_sgd_gap(stats.Ubar, stats.sigma_vu, stats.sigma_au, stats.sigma_u, T, w,
                                   rhobar=stats.rhobar, gauge=gauge, tails=tails)
        sgd = dict(vbar=stats.vbar, abar=stats.abar, gauge=gauge, tails=tails)
        out["eq23"] = eq23_sgd_test_loss_bound(stats.sigma_l, stats.sigma_v2, stats.sigma_a2, stats.sigma_va, T, w,
                                               n, **sgd)
        out["eq24"] = eq24_sgd_gap_bound(stats.sigma_l, stats.sigma_v2, stats.sigma_a2, stats.sigma_va, T, w, n,
                                         **sgd)
        out["eq53"] = eq53_sgd_gap(stats.vbar, stats.abar, stats.sigma_vu, stats.sigma_au, T, w, gauge=gauge,
                                   tails=tails)
    return out
