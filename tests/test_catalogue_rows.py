"""Catalogue rows that used to be unable to fail as what they claim (issue 10): each one is shown
to FAIL on a wrong answer here; tests/test_catalogue_all.py shows the 20%-wrong-theory FAIL too."""
from __future__ import annotations

import numpy as np
import pytest

from gapkit.sims.verify._registry import FAIL, PASS, CheckContext


def test_collapse_test_loss_fails_at_unequal_T(monkeypatch):
    """The old row compared gaps, which on the 1-D quadratic model depend on neither T nor lam, so it
    passed at unequal T as well. The test loss rises with T: runs at T = 0.05 and 0.06 fail."""
    from gapkit.sims.verify.catalogue import collapse

    monkeypatch.setattr(collapse, "PAIRS", ((0.05, 1), (0.48, 8)))  # T = 0.05 and 0.06
    rows = {r.id: r for r in collapse.sgd_collapse(CheckContext(seed=0, quick=True))}
    assert rows["collapse.test_loss.quadratic1d"].verdict == FAIL


def test_eq26_paper_form_is_judged():
    from gapkit.sims.verify.catalogue.symbolic import paper_form_residual
    from gapkit.theory._derivations import eq26_symbolic

    d = eq26_symbolic()
    ctx = CheckContext(seed=0, quick=True)
    for paper, want in ((d["paper"], PASS), (1.2 * d["paper"], FAIL), (d["paper"] + d["symbols"]["T"], FAIL)):
        r = ctx.compare("eq26.paper_form.symbolic", equation="Eq 26", model="symbolic", theory=0.0,
                        measured=paper_form_residual(d["dtest_dT"], paper), tolerance=0.0, tolerance_source="exact")
        assert r.verdict == want


@pytest.mark.parametrize("wrong, want", [(None, PASS), (0.2, FAIL), (-0.2, FAIL)])
def test_rfridge_mean_kernel_detects_a_20_percent_error(wrong, want):
    """Every entry's tolerance is < 10% of the entry (it was up to 73%), so a 20% error fails."""
    from gapkit.sims.verify.catalogue.indicators import rfridge_mean_kernel_row

    r = rfridge_mean_kernel_row(CheckContext(seed=0, quick=True, wrong_theory=wrong))
    assert r.extra["max_tol_over_entry"] < 0.1 and r.verdict == want


def test_linreg_langevin_against_its_exact_law():
    """Euler-Maruyama Langevin on linreg vs linreg_em_stationary (exact_stationary and simulate's
    theory column); the law 20% off fails."""
    from gapkit.sims.engine._simulate import exact_stationary, simulate

    res = simulate(model="linreg", algo="langevin", n=30, dim=3, noise_std=0.5, lr=0.1, batch=4, alpha=0.01,
                   beta=0.1, dt=0.5, datasets=2, chains=3000, seed=1)
    assert "linreg_em_stationary" in res.theory["conditional"]["source"]
    mu, cov = exact_stationary(res)
    th = res.arrays["theta_final"]
    v = th.var(axis=1, ddof=1)
    se = v * np.sqrt(2.0 / th.shape[1])  # Gaussian law: sd of a sample variance
    exact = np.stack([np.diag(c) for c in cov])
    assert np.all(np.abs(v - exact) < 4 * se)
    assert np.all(np.abs(v - 1.2 * exact) > 4 * se)


def test_sutskever_and_pytorch_momentum_are_one_chain_at_constant_lam():
    """v_S = -lam v_P: identical theta paths and stationary Var(theta) at constant lam; under a
    schedule the paths differ (so the identity row compares two different computations)."""
    from gapkit.sims.verify.catalogue.collapse import momentum_paths, sutskever_var_theta
    from gapkit.theory._momentum import momentum_var_1d

    rng = np.random.default_rng(2)
    noise = rng.standard_normal(500)
    P, S = momentum_paths(np.full(500, 0.2), mu=0.9, k=1.1, x=0.5, noise=noise)
    assert np.max(np.abs(P - S)) < 1e-10 * np.max(np.abs(P))
    lams = 0.2 * np.cos(np.pi * np.arange(500) / 1000)
    Pc, Sc = momentum_paths(lams, mu=0.9, k=1.1, x=0.5, noise=noise)
    assert np.max(np.abs(Pc - Sc)) > 1e-3 * np.max(np.abs(Pc))
    want = momentum_var_1d(1.0, 1.0, lam=0.2, B=2, alpha=0.1, beta=0.3, mu=0.9)["var_theta"]
    assert sutskever_var_theta(1.1, 1.09, lam=0.2, B=2, mu=0.9) == pytest.approx(want, rel=1e-10)
    assert abs(sutskever_var_theta(1.1, 1.09, lam=0.2, B=2, mu=0.8) / want - 1) > 0.2
