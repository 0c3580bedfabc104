"""Closed forms of the 1-D quadratic model (theory/_quadratic.py) and the closedform catalogue rows."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gapkit.theory._quadratic import quadratic1d_steady, quadratic1d_symbolic

pos = st.floats(0.1, 3.0)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 60), m=st.floats(-2, 2), s=pos, h=pos, alpha=st.floats(0, 1), beta=st.floats(0, 1),
       lam_frac=st.floats(0.01, 0.95), B=st.integers(1, 16), dt=st.floats(0.1, 1.0),
       scheme=st.sampled_from(["sde", "sgd", "em"]))
def test_closed_form_equals_sympy(n, m, s, h, alpha, beta, lam_frac, B, dt, scheme):
    lam = lam_frac * 2.0 / (h + alpha)  # inside the stability range of every scheme
    r = quadratic1d_steady(n, m, s, h=h, alpha=alpha, beta=beta, lam=lam, B=B, scheme=scheme, dt=dt)
    sym = quadratic1d_symbolic()
    S = sym["symbols"]
    sub = {S["n"]: n, S["m"]: m, S["s"]: s, S["h"]: h, S["alpha"]: alpha, S["beta"]: beta, S["lam"]: lam,
           S["B"]: B, S["dt"]: dt}
    for key, skey in (("gap", "gap"), ("train_loss", "train"), ("test_loss", "test"), ("var", "var")):
        ref = float(sym[scheme][skey].subs(sub))
        assert r[key] == pytest.approx(ref, rel=1e-12, abs=1e-300), key
    assert r["gap"] == pytest.approx(h * h * s * s / (n * (h + alpha)), rel=1e-13)


def test_symbolic_gap_is_T_independent_and_test_rises():
    sym = quadratic1d_symbolic()
    for scheme in ("sde", "sgd", "em"):
        assert sym[scheme]["dgap_dT"] == 0
    S = sym["symbols"]
    d = sym["sgd"]["dtest_dT"].subs({S["n"]: 10, S["s"]: 1, S["h"]: 1, S["alpha"]: 0, S["beta"]: 0, S["lam"]: 0.5})
    assert float(d) > 0


def test_gap_same_for_every_lam_and_B_test_rises_with_T():
    base = dict(h=1.3, alpha=0.2, beta=0.4)
    gaps, tests = [], []
    for lam, B in [(0.01, 1), (0.1, 1), (0.4, 2), (1.0, 1)]:
        r = quadratic1d_steady(20, 0.5, 1.2, lam=lam, B=B, scheme="sgd", **base)
        gaps.append(r["gap"])
        tests.append((lam / B, r["test_loss"], r["train_loss"]))
    assert np.ptp(gaps) == 0.0
    tests.sort()
    assert all(a[1] < b[1] and a[2] < b[2] for a, b in zip(tests, tests[1:]))


def test_sgd_variance_formula_and_limits():
    n, s, h, a, b, lam, B = 12, 1.1, 1.5, 0.1, 0.3, 0.4, 4
    k = h + a
    ES2 = (n - 1) * s * s / n
    r = quadratic1d_steady(n, 0.0, s, h=h, alpha=a, beta=b, lam=lam, B=B, scheme="sgd")
    assert r["var"] == pytest.approx((lam / B) * (h * h * ES2 + b * b) / (k * (2 - lam * k)), rel=1e-14)
    # equal T, lam -> 0: SGD and EM tend to the SDE
    sde = quadratic1d_steady(n, 0.0, s, h=h, alpha=a, beta=b, lam=1e-7, B=1, scheme="sde")["var"]
    sgd = quadratic1d_steady(n, 0.0, s, h=h, alpha=a, beta=b, lam=1e-7, B=1, scheme="sgd")["var"]
    assert sgd == pytest.approx(sde, rel=1e-6)
    # a wrong formula (without the O(lam) factor) is detected at finite lam
    wrong = (lam / B) * (h * h * ES2 + b * b) / (2 * k)
    assert abs(wrong - r["var"]) > 0.1 * r["var"]


def test_per_dataset_spreads_by_monte_carlo():
    """gap_sd, train_sd, test_sd against the sample sd over K drawn data sets (tolerance 5%: the sd of a
    sample sd over K=40000 heavy-ish tailed values is < 1%, so 5% is > 5 standard errors)."""
    from gapkit.sims.verify.catalogue.closedform import _per_dataset

    n, m, s, h, a, b, lam, B = 6, 0.7, 1.3, 1.2, 0.3, 0.4, 0.5, 2
    r = quadratic1d_steady(n, m, s, h=h, alpha=a, beta=b, lam=lam, B=B, scheme="sgd")
    rng = np.random.default_rng(12)
    X = m + s * rng.standard_normal((40_000, n))
    g, tr, te = _per_dataset("sgd", h, a, b, lam, B, 1.0, m, s, X.mean(axis=1), X.var(axis=1))
    for val, key in ((g, "gap_sd"), (tr, "train_sd"), (te, "test_sd")):
        assert val.std() == pytest.approx(r[key], rel=0.05), key
    se = r["gap_sd"] / math.sqrt(len(g))
    assert abs(g.mean() - r["gap"]) < 4 * se  # 4 standard errors: false-fail ~6e-5


@pytest.mark.parametrize("kwargs,match", [
    (dict(lam=2.0, scheme="sgd"), "lam"),
    (dict(lam=1.0, scheme="em", dt=2.5), "lam"),
    (dict(lam=0.1, scheme="bogus"), "scheme"),
    (dict(lam=-0.1), "lam"),
    (dict(lam=0.1, B=0), "B"),
    (dict(lam=0.1, alpha=-1.0), "alpha"),
    (dict(lam=0.1, h=0.0), "h"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        quadratic1d_steady(10, 0.0, 1.0, **kwargs)
    with pytest.raises(ValueError, match="n"):
        quadratic1d_steady(0, 0.0, 1.0, lam=0.1)
    with pytest.raises(ValueError, match="s"):
        quadratic1d_steady(5, 0.0, -1.0, lam=0.1)


def test_sgd_unstable_message_names_range():
    with pytest.raises(ValueError, match=r"lam \(h \+ alpha\) < 2"):
        quadratic1d_steady(10, 0.0, 1.0, h=1.0, alpha=0.5, lam=1.4, scheme="sgd")


def test_closedform_catalogue_passes_and_fails_under_wrong_theory():
    from gapkit.sims.verify._registry import select_checks
    from test_catalogue_all import judged_twice

    specs = [s for s in select_checks(["closedform"]) if s.module.endswith(".closedform")]
    ok, bad, _ = judged_twice(specs, prefixes=["closedform"])  # one run (shared), judged right and wrong
    for rows, want in ((ok, "PASS"), (bad, "FAIL")):
        judged = [r for r in rows if r.verdict != "INFO"]
        assert len(judged) >= 12
        assert all(r.verdict == want for r in judged), [(r.id, r.verdict, r.note) for r in judged if r.verdict != want]


def test_eq07_bound_exact_on_the_quadratic_model():
    """Eq 7's right side from the Gaussian chain law holds (>= the exact gap),
    matches an independent Monte Carlo over data sets, and refuses SGD (whose
    law is not Gaussian)."""
    import numpy as np

    from gapkit.theory._quadratic import quadratic1d_eq07_bound

    kw = dict(h=1.0, alpha=0.1, beta=0.5, lam=0.2, B=1, scheme="em")
    r = quadratic1d_eq07_bound(8, 0.5, 1.0, **kw)
    assert r["bound"] >= r["gap"] > 0 and r["quad_err"] < 1e-6
    # Monte Carlo: sigma_rho(theta) from 200k simulated data sets, same theta grid
    rng = np.random.default_rng(0)
    x = rng.normal(0.5, 1.0, size=(200_000, 8))
    xb, S2 = x.mean(1), x.var(1)
    k = 1.1
    V = (0.2 / (k * (2 - 0.2 * k))) * (S2 + 0.25)
    theta = np.linspace(-3, 4, 141)
    rho = np.exp(-0.5 * (theta[:, None] - xb / k) ** 2 / V) / np.sqrt(2 * np.pi * V)
    sd = rho.std(axis=1)
    sig_l = 0.5 * np.sqrt(2 + 4 * (theta - 0.5) ** 2)
    mc = np.trapezoid(sd * sig_l, theta) / np.sqrt(8)
    assert abs(mc - r["bound"]) < 0.01 * r["bound"]  # MC error ~0.2% at 200k; grid/trapezoid ~0.1%
    assert abs(mc - 1.2 * r["bound"]) > 0.05 * r["bound"]
    with pytest.raises(ValueError, match="scheme"):
        quadratic1d_eq07_bound(8, 0.5, 1.0, **{**kw, "scheme": "sgd"})


def _eq07_reference(n, m, s, *, h, alpha, lam, dt=1.0):
    """Eq 7's right side at beta = 0 by an independent route: E_S2 over S^2 = (s^2/n) chi^2_{n-1}
    directly, the singular part (S^2)^{(n-1)/2 - 1} / sqrt(S^2) with QUADPACK's algebraic weight
    (QAWS) on [0, L] plus a regular tail, the theta integral by the trapezoid rule on +-15 sd."""
    import numpy as np
    from scipy.integrate import quad

    k = h + alpha
    f = lam / (k * (2 - lam * dt * k))
    c, A, sc = h / k, (h / k) ** 2 * s * s / n, s * s / n
    a = 0.5 * (n - 1)
    logc = -a * np.log(2 * sc) - math.lgamma(a)  # density of S^2 = sc chi^2_{n-1}: e^logc S2^{a-1} e^{-S2/(2 sc)}
    N = lambda u, v: math.exp(-0.5 * u * u / v) / math.sqrt(2 * math.pi * v)  # noqa: E731
    L = 4 * sc

    def moments(u):
        m1 = quad(lambda S2: math.exp(logc - S2 / (2 * sc)) * S2 ** (a - 1) * N(u, f * h * h * S2 + A), 0, np.inf)[0]
        g = lambda S2: math.exp(logc - S2 / (2 * sc)) * N(u, 0.5 * f * h * h * S2 + A) / (2 * np.sqrt(np.pi * f) * h)  # noqa: E731
        m2 = quad(g, 0, L, weight="alg", wvar=(a - 1.5, 0.0))[0]
        m2 += quad(lambda S2: g(S2) * S2 ** (a - 1.5), L, np.inf)[0]
        return m1, m2

    sd = math.sqrt(A + f * h * h * (n - 1) * s * s / n)
    theta = np.linspace(c * m - 15 * sd, c * m + 15 * sd, 151)
    vals = []
    for th in theta:
        m1, m2 = moments(th - c * m)
        vals.append(math.sqrt(max(m2 - m1 * m1, 0.0)) * 0.5 * h * math.sqrt(2 * s**4 + 4 * (th - m) ** 2 * s**2))
    return float(np.trapezoid(vals, theta)) / math.sqrt(n)


def test_eq07_bound_near_singular_small_n():
    """beta = 0, n = 3: the data average of rho^2 has a 1/sqrt(S^2) singularity that Gauss-Laguerre
    nodes missed (the old value 1.1153 was 5.8% low); n = 2: the integral diverges (the old
    code returned a finite 2.08)."""
    from gapkit.theory._quadratic import quadratic1d_eq07_bound

    kw = dict(h=1.0, alpha=0.1, beta=0.0, lam=0.2, B=1, scheme="em")
    r = quadratic1d_eq07_bound(3, 0.5, 1.0, **kw)
    ref = _eq07_reference(3, 0.5, 1.0, h=1.0, alpha=0.1, lam=0.2)
    assert not r["diverges"] and r["quad_err"] < 1e-6 * r["bound"]
    assert abs(r["bound"] - ref) < 1e-4 * ref  # trapezoid on 151 points of a smooth, fast-decaying integrand
    assert abs(1.1152766725079712 - ref) > 0.05 * ref and abs(0.95 * r["bound"] - ref) > 1e-4 * ref
    r2 = quadratic1d_eq07_bound(2, 0.5, 1.0, **kw)
    assert r2["bound"] == math.inf and r2["diverges"]
    near = [quadratic1d_eq07_bound(2, 0.5, 1.0, **{**kw, "beta": b})["bound"] for b in (0.3, 0.03, 0.003)]
    assert near[0] < near[1] < near[2] and near[2] - near[1] > 0.5 * (near[1] - near[0])  # ~ log(1/beta)
