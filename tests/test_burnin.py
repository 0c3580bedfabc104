"""Default burn-in by the discrete chain's contraction (sims.stats.contraction_rate):
near the stability edge the mean shrinks by |1 - lam kappa| per update, not exp(-lam kappa)."""
import math

import numpy as np
import pytest

from gapkit.sims.engine._simulate import BURN_CAP, BURN_E, default_burnin, simulate
from gapkit.sims.stats import contraction_rate
from gapkit.sims.sweep._spec import burnin_request, build_runs, make_spec, steps_for
from test_store import FAKE


def _left_after(r, mu, updates):
    """|offset left| / |initial offset| of the slowest mean mode after `updates` updates:
    the largest entry of the theta row of the companion matrix power [[1 + mu - r, -mu], [1, 0]]^updates."""
    A = np.array([[1.0 + mu - r, -mu], [1.0, 0.0]])
    return np.abs(np.linalg.matrix_power(A, updates)[0]).max()


@pytest.mark.parametrize("r, mu", [(1.94, 0.0), (1.995, 0.0), (0.5, 0.0), (0.01, 0.0), (0.05, 0.9), (3.7, 0.9), (3.799, 0.9),
                                   (0.3, 0.5)])
def test_rate_is_the_companion_spectral_radius(r, mu):
    rho = np.abs(np.linalg.eigvals(np.array([[1.0 + mu - r, -mu], [1.0, 0.0]]))).max()
    assert contraction_rate(r, momentum=mu) == pytest.approx(-math.log(rho), rel=1e-9)


@pytest.mark.parametrize("lr, mu", [(1.94, 0.0), (1.995, 0.0), (1.5, 0.0), (3.799, 0.9)])
def test_default_burnin_leaves_exp_minus_burn_e_near_the_edge(lr, mu):
    """The old rule (exp(-r) per update, r capped at 1) gave 10 updates at lam (h + alpha) = 1.94,
    which leaves 0.94^10 = 54% of the offset; the rule now leaves <= exp(-10) (up to the
    transient factor of momentum's non-normal companion matrix, < 1 + mu + 1/(1 - mu))."""
    b, rule = default_burnin(lr=lr, curvature=1.0, momentum=mu)
    bound = math.exp(-BURN_E) * (1.0 if mu == 0 else 2.0 / (1.0 - mu))
    assert _left_after(lr, mu, b) <= bound, rule
    old = 10 if mu == 0 else math.ceil(BURN_E / min(lr / (1 - mu), -0.5 * math.log(mu), 1.0))
    assert _left_after(lr, mu, old) > 10 * math.exp(-BURN_E)  # the old rule's count fails this


def test_far_from_the_edge_the_rescaled_rule_is_kept():
    assert default_burnin(lr=0.01, curvature=1.0)[0] == 1000  # ceil(10 / 0.01), as before
    spec = make_spec("quadratic1d", preset="smoke", backend=FAKE, T_grid=[0.01], batch_grid=[1])
    assert steps_for(0.01, spec)[1] == 1000


def test_simulate_records_a_shortened_burnin():
    r = simulate(model="quadratic1d", algo="sgd", n=4, lr=1e-6, datasets=2, chains=1, steps=400, seed=0)
    c = r.config
    assert c["burnin"] == 200 and c["burnin_requested"] == math.ceil(BURN_E / 1e-6) and c["burnin_shortened"]
    assert default_burnin(lr=1e-6, curvature=1.0)[0] == BURN_CAP
    r = simulate(model="quadratic1d", algo="sgd", n=4, lr=1.94, datasets=2, chains=1, seed=0)
    c = r.config
    assert c["burnin"] == c["burnin_requested"] == 162 and not c["burnin_shortened"]
    r = simulate(model="quadratic1d", algo="sgd", n=4, lr=0.1, datasets=2, chains=1, steps=300, burnin=10, seed=0)
    assert r.config["burnin_requested"] is None and not r.config["burnin_shortened"]  # user-given


def test_sweep_burnin_near_the_edge_and_capped():
    edge = make_spec("quadratic1d", preset="smoke", backend=FAKE, T_grid=[1.94], batch_grid=[1])
    (cfg,) = build_runs(edge)
    assert cfg["burnin"] == burnin_request(1.94, edge) == 162 and "burnin_requested" not in cfg
    mom = make_spec("quadratic1d", preset="smoke", backend=FAKE, T_grid=[0.37], batch_grid=[1], momentum=0.9)
    b = build_runs(mom)[0]["burnin"]
    assert _left_after(0.37, 0.9, b) <= 20 * math.exp(-mom.burn_time)
    tiny = make_spec("quadratic1d", preset="smoke", backend=FAKE, T_grid=[1e-6], batch_grid=[1], max_steps=100)
    (cfg,) = build_runs(tiny)
    assert cfg["capped"] and cfg["burnin"] == 33 and cfg["burnin_requested"] == burnin_request(1e-6, tiny) > 33
