"""Unstable chains are never reported as results (issue 12): the up-front
stability of `gapkit.sims.engine._stability` (exact mean map, second-moment
map by power iteration), its effect on `simulate`, a sweep and the CLI."""
from __future__ import annotations

import math

import numpy as np
import pytest

from gapkit.sims.engine._simulate import simulate
from gapkit.sims.engine._stability import lsq_second_moment_radius
from gapkit.theory._lyapunov import _linreg_operator

_SMALL = dict(datasets=6, chains=2, steps=400, seed=3)
_N = 8


@pytest.mark.parametrize("n,d,lam,B,alpha,mu", [
    (8, 3, 0.3, 1, 0.1, 0.0), (8, 3, 0.9, 2, 0.0, 0.0), (5, 4, 0.2, 1, 0.1, 0.5), (8, 2, 1.5, 1, 0.1, 0.0),
    (8, 3, 0.5, 1, 0.1, 0.9), (3, 5, 0.2, 2, 0.3, 0.0),
])
def test_second_moment_radius_matches_the_exact_operator(n, d, lam, B, alpha, mu):
    """The power iteration against the eigenvalues of the explicit p^2 x p^2
    second-moment matrix of theory._lyapunov, stable and unstable cases (rtol
    2e-4: POWER_ITERATIONS steps leave ~1e-4 where the top eigenvalues are
    close, as in the d > n case)."""
    rng = np.random.default_rng(n * 100 + d)
    X, y = rng.normal(size=(3, n, d)), rng.normal(size=(3, n))
    A = np.einsum("knp,knq->kpq", X, X) / n
    exact = [np.abs(np.linalg.eigvals(_linreg_operator(X[k], y[k], lam, float(B), alpha, 0.0, mu)[0])).max()
             for k in range(3)]
    got = lsq_second_moment_radius(X, A, lam=lam, B=B, alpha=alpha, mu=mu)
    np.testing.assert_allclose(got, exact, rtol=2e-4)
    # the comparison can fail: a 20% larger step gives another radius
    assert not np.allclose(lsq_second_moment_radius(X, A, lam=1.2 * lam, B=B, alpha=alpha, mu=mu), exact, rtol=1e-3)


# (settings beyond the stability edge, the same just inside it)
_EDGES = {
    "quadratic1d sgd lr": (dict(model="quadratic1d", algo="sgd", lr=2.01), dict(lr=1.99)),
    "quadratic1d sgd lr at the edge": (dict(model="quadratic1d", algo="sgd", lr=2.0), dict(lr=1.9)),
    "quadratic1d langevin dt": (dict(model="quadratic1d", algo="langevin", lr=0.1, dt=21.0), dict(dt=19.0)),
    "quadratic ridge": (dict(model="quadratic", dim=3, algo="sgd", lr=1.0, alpha=1.05), dict(alpha=0.95)),
    "quadratic momentum": (dict(model="quadratic", dim=2, algo="momentum", momentum=0.5, lr=3.05), dict(lr=2.95)),
    "linreg lr": (dict(model="linreg", dim=3, n=8, algo="sgd", lr=5.0), dict(lr=0.02)),
    "linreg langevin": (dict(model="linreg", dim=3, n=8, algo="langevin", lr=0.5, dt=10.0), dict(dt=0.05)),
    "rfridge lr": (dict(model="rfridge", dim=6, n=8, algo="sgd", lr=5.0, alpha=0.1), dict(lr=0.01)),
    "logreg ridge": (dict(model="logreg", dim=2, n=8, algo="sgd", lr=1.0, alpha=2.5), dict(alpha=1.5)),
}


@pytest.mark.parametrize("case", list(_EDGES))
def test_a_chain_beyond_the_stability_edge_is_never_averaged(case):
    """Beyond the edge: every chain counts as diverged, no gap is reported, and
    the reason names the map; just inside it: stable, every chain averaged
    (so the check does not simply flag everything)."""
    bad, fix = _EDGES[case]
    bad = {"n": _N, **bad}
    r = simulate(**_SMALL, **bad)
    s = r.summary
    assert s.extras["stable"] is False and s.extras["unstable_datasets"] == _SMALL["datasets"]
    assert s.diverged == _SMALL["datasets"] * _SMALL["chains"] and s.datasets_used == 0
    assert math.isnan(s.gap) and math.isnan(s.train_loss)
    assert "unstable" in s.extras["stability"] and "radius" in s.extras["stability"]
    ok = simulate(**_SMALL, **{**bad, **fix}).summary
    assert ok.extras["stable"] is True and ok.diverged == 0 and math.isfinite(ok.gap)
    assert ok.extras["stability"] == ""


def test_linreg_without_ridge_below_n_has_no_stationary_law():
    """n < dim, alpha = 0: beta = 0 keeps the chains (reported: no unique law),
    beta != 0 is a random walk on the null space (left out)."""
    kw = dict(model="linreg", algo="sgd", n=3, dim=5, alpha=0.0, lr=0.05, **_SMALL)
    frozen = simulate(beta=0.0, **kw).summary
    assert frozen.extras["stable"] is True and "no unique stationary law" in frozen.extras["stability"]
    walk = simulate(beta=0.3, **kw).summary
    assert walk.extras["stable"] is False and "random walk" in walk.extras["stability"]
    assert walk.diverged == _SMALL["datasets"] * _SMALL["chains"]


def test_unknown_stability_is_said_not_guessed():
    s = simulate(model="logreg", algo="sgd", dim=2, n=8, lr=0.1, alpha=0.0, **_SMALL).summary
    assert s.extras["stable"] is None and "not known" in s.extras["stability"]
    c = simulate(model="quadratic1d", algo="sgd", n=8, lr=0.1, cosine=True, **_SMALL).summary
    assert c.extras["stable"] is None and "cosine" in c.extras["stability"]


def test_the_cli_says_why_a_run_is_not_steady(capsys):
    from gapkit.sims.cli._main import main

    assert main(["simulate", "--lr", "2.01", "--datasets", "4", "--chains", "1"]) == 0
    out, err = capsys.readouterr()
    assert "not steady: unstable" in out and "warning: not steady: unstable" in err
    assert main(["simulate", "--lr", "0.01", "--steps", "20", "--datasets", "4", "--chains", "1"]) == 0
    out, err = capsys.readouterr()
    assert "not steady: burn-in 10 updates" in out and "capped" in err
    assert main(["simulate", "--lr", "0.1", "--datasets", "4", "--chains", "1"]) == 0
    out, err = capsys.readouterr()
    assert "not steady" not in out + err


def test_a_sweep_records_an_all_diverged_point_and_goes_on(tmp_path):
    """The linreg sweep at T = 5 (issue 12): that point is stored with no gap,
    every chain diverged and steady False; the other points are computed."""
    import csv

    from gapkit.sims.sweep._runner import run_sweep
    from gapkit.sims.sweep._spec import make_spec

    spec = make_spec("linreg", T_grid=[0.05, 5.0], batch_grid=[1], datasets=4, chains=1, time=2.0, burn_time=1.0)
    summary = run_sweep(spec, tmp_path, workers=1, progress=False, figures=False)
    assert summary["runs_computed"] == 2
    with open(tmp_path / "runs.csv") as fh:
        rows = {float(r["T"]): r for r in csv.DictReader(fh)}
    assert rows[5.0]["gap"] == "" and rows[5.0]["steady"] == "false" and rows[5.0]["stable"] == "false"
    assert int(rows[5.0]["diverged"]) == 4 and "unstable" in rows[5.0]["eq_reasons"]
    assert rows[0.05]["gap"] != "" and rows[0.05]["stable"] == "true"
    from gapkit.sims.cli._sweep import not_steady_lines

    lines = [ln for ln in not_steady_lines(tmp_path) if "unstable" in ln]
    assert len(lines) == 1 and lines[0].startswith("1 run(s) at T = 5: unstable")
