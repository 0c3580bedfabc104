"""Network indicators of a torch sweep point (issue 6): `sweep_point` with
``indicators: true`` returns finite ind_* columns; the Hutchinson trace and the
Lanczos top eigenvalue of `network_indicators` agree with the exact Hessian of a
tiny net (and a perturbed value is caught); distances and inconsistency are exact
on constructed cases; the sweep runner stores the columns for `gapkit score`."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gapkit.gpu import _plugin  # noqa: E402
from gapkit.gpu._indicators import NETWORK_INDICATOR_KEYS, network_indicators  # noqa: E402
from gapkit.gpu._models import build_model, init_params  # noqa: E402
from gapkit.gpu._train import per_example_loss  # noqa: E402

pytestmark = pytest.mark.torch

# A point with 2 draws x 2 seeds computes every network indicator but the
# one-seed-per-draw stand-in for instability.
CORE = tuple(k for k in NETWORK_INDICATOR_KEYS if k != "ind_run_disagreement")


def test_sweep_point_with_indicators_returns_finite_columns():
    res = _plugin.sweep_point({"preset": "smoke", "seed": 5, "seeds": 2, "epochs": 2, "indicators": True})
    r = res.summary.extras
    for k in CORE:
        assert k in r and math.isfinite(r[k]), k
    assert set(k for k in r if k.startswith("ind_")) == set(CORE)
    assert r["ind_param_norm"] > 0 and r["ind_dist_init"] > 0 and r["ind_grad_diversity"] > 0
    assert r["indicator_members"] == 4
    # the extra cost stays small next to training (a few seconds on a CPU at most)
    assert res.timings["indicator_seconds"] < 10.0
    plain = _plugin.sweep_point({"preset": "smoke", "seed": 5, "seeds": 2, "epochs": 2})
    assert not any(k.startswith("ind_") for k in plain.record())
    assert plain.summary.gap == res.summary.gap  # indicators are read off the end state, training is untouched


def _tiny(E=2, seed=0):
    """A 2-member ensemble of a [3]-hidden MLP on 12 random points (P = 4*3+3+3*3+3 = 27)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(40, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (40,), generator=g)
    model = build_model("mlp", (4,), 3, hidden=[3]).double()
    ps = [init_params(model, torch.Generator().manual_seed(seed + 10 + e), dtype=torch.float64, device="cpu")
          for e in range(E)]
    P = {k: torch.stack([p[k] for p in ps]) for k in ps[0]}
    train_idx = np.stack([np.arange(12) + 12 * e for e in range(E)])
    return model, X, y, P, train_idx


def _exact_hessian(model, p, x, y, alpha):
    from torch.func import functional_call

    names = list(p)
    shapes = [p[k].shape for k in names]
    sizes = [p[k].numel() for k in names]
    th = torch.cat([p[k].reshape(-1) for k in names])

    def f(t):
        d = {k: v.reshape(s) for k, v, s in zip(names, torch.split(t, sizes), shapes)}
        return per_example_loss(functional_call(model, d, (x,)), y, "ce").mean() + 0.5 * alpha * (t * t).sum()

    return torch.autograd.functional.hessian(f, th)


def test_hessian_trace_and_top_against_exact_hessian():
    """Hutchinson (SLQ with Rademacher probes) within 4 standard errors of the
    exact trace (false-FAIL ~6e-5 for a normal estimate; the mean of 1500
    probes is close to normal); the top Ritz value with as many Lanczos steps as
    parameters is the exact top eigenvalue (to 1e-8). A trace shifted by 20%
    lies outside the same band."""
    model, X, y, P, tr = _tiny(E=1)
    alpha = 0.05
    r = network_indicators(model, P, P, X, y, tr, draws=1, seeds=1, lr=0.1, batch=4, alpha=alpha,
                           hutchinson=1500, lanczos_steps=27, sharpness=False, seed=1)
    H = _exact_hessian(model, {k: v[0] for k, v in P.items()}, X[tr[0]], y[tr[0]], alpha)
    ev = torch.linalg.eigvalsh(H)
    exact_tr, exact_top = float(torch.trace(H)), float(ev[-1])
    se = r["hessian_trace_se"]
    assert abs(r["ind_hessian_trace"] - exact_tr) <= 4 * se
    assert abs(1.2 * r["ind_hessian_trace"] - exact_tr) > 4 * se  # a 20% error is detected
    assert r["ind_hessian_top"] == pytest.approx(exact_top, rel=1e-8, abs=1e-10)
    assert r["ind_dist_init"] == 0.0  # params0 = params
    norm = math.sqrt(sum(float((v ** 2).sum()) for v in P.values()))
    assert r["ind_param_norm"] == pytest.approx(norm, rel=1e-12)


def test_grad_diversity_is_trace_of_per_example_covariance():
    """tr D from a slow loop over examples with autograd (exact to 1e-10)."""
    model, X, y, P, tr = _tiny(E=1)
    r = network_indicators(model, P, P, X, y, tr, draws=1, seeds=1, lr=0.1, batch=4, hutchinson=2, lanczos_steps=4,
                           sharpness=False)
    p = {k: v[0].clone().requires_grad_(True) for k, v in P.items()}
    from torch.func import functional_call

    gs = []
    for i in tr[0]:
        li = per_example_loss(functional_call(model, p, (X[i:i + 1],)), y[i:i + 1], "ce")[0]
        gs.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(li, list(p.values()))]))
    G = torch.stack(gs)
    trD = float(((G - G.mean(0)) ** 2).sum(1).mean())
    assert r["ind_grad_diversity"] == pytest.approx(trD, rel=1e-10)
    assert r["ind_grad_norm2"] == pytest.approx(float((G.mean(0) ** 2).sum()), rel=1e-10)


def test_inconsistency_zero_for_identical_members_and_positive_otherwise():
    model, X, y, P, tr = _tiny(E=2)
    same = {k: torch.stack([v[0], v[0]]) for k, v in P.items()}
    kw = dict(draws=1, seeds=2, lr=0.1, batch=4, hutchinson=2, lanczos_steps=2, sharpness=False,
              eval_rows=np.arange(24, 40))
    r0 = network_indicators(model, same, same, X, y, np.stack([tr[0], tr[0]]), **kw)
    r1 = network_indicators(model, P, P, X, y, tr, **kw)
    assert r0["ind_inconsistency"] == pytest.approx(0.0, abs=1e-15)
    assert r1["ind_inconsistency"] > 1e-6
    assert "ind_instability" not in r1  # one data draw: no instability


@pytest.mark.parametrize("bad, match", [
    (dict(draws=3), "params must stack"), (dict(lr=-1.0), "lr must be > 0"), (dict(alpha=-0.1), "alpha must be >= 0"),
    (dict(batch=0), "batch"), (dict(hutchinson=1), "hutchinson"),
])
def test_network_indicators_rejects_bad_arguments(bad, match):
    model, X, y, P, tr = _tiny(E=2)
    kw = dict(draws=2, seeds=1, lr=0.1, batch=4)
    kw.update(bad)
    with pytest.raises(ValueError, match=match):
        network_indicators(model, P, P, X, y, tr, **kw)


def test_indicator_options_object_and_knobs_agree():
    """IndicatorOptions carries the cost knobs; single knobs by name override it
    (same values, same random streams); a misspelt knob is an error, not ignored."""
    from gapkit.gpu._indicators import IndicatorOptions

    model, X, y, P, tr = _tiny(E=2)
    kw = dict(draws=2, seeds=1, lr=0.1, batch=4, seed=3)
    a = network_indicators(model, P, P, X, y, tr, options=IndicatorOptions(hutchinson=5, lanczos_steps=3,
                                                                          sharpness_batches=2), **kw)
    b = network_indicators(model, P, P, X, y, tr, hutchinson=5, lanczos_steps=3, sharpness_batches=2, **kw)
    c = network_indicators(model, P, P, X, y, tr, options=IndicatorOptions(hutchinson=6, lanczos_steps=3,
                                                                          sharpness_batches=2), **kw)
    assert a == b and a["ind_hessian_trace"] != c["ind_hessian_trace"]
    with pytest.raises(TypeError, match="hutchinsn"):
        network_indicators(model, P, P, X, y, tr, hutchinsn=5, **kw)
    with pytest.raises(ValueError, match="lanczos_steps"):
        IndicatorOptions(lanczos_steps=0)


def test_torch_sweep_indicators_flag_reaches_the_store(tmp_path):
    """`gapkit torch-sweep --indicators`: runs.csv carries the ind_* columns that
    `gapkit score` ranks."""
    import pandas as pd

    from gapkit.sims.cli._main import main

    out = tmp_path / "sw"
    rc = main(["torch-sweep", "--preset", "smoke", "--lr-grid", "0.1,0.2", "--out", str(out), "--indicators",
               "--workers", "1", "--no-figures", "--json"])
    assert rc == 0
    df = pd.read_csv(out / "runs.csv")
    assert len(df) == 2
    for k in ("ind_param_norm", "ind_hessian_trace", "ind_hessian_top", "ind_grad_diversity", "ind_run_disagreement"):
        assert k in df.columns and np.all(np.isfinite(df[k].to_numpy(float))), k


def test_fu_gamma_bias_diversity_and_sde_term_against_an_autograd_loop():
    """Fu et al.'s gamma from held-out rows (unbiased |grad F_mu|^2), the
    bias/diversity ratio and Wang & Mao's final-state summand, from per-example
    gradients built by a slow autograd loop (1e-10); a 20% wrong gamma is caught."""
    from torch.func import functional_call

    from gapkit.sims.indicators import logdet_lowrank_isotropic, minibatch_covariance

    model, X, y, P, tr = _tiny(E=1)
    held = np.arange(20, 40)
    r = network_indicators(model, P, P, X, y, tr, draws=1, seeds=1, lr=0.1, batch=4, hutchinson=2, lanczos_steps=2,
                           sharpness=False, eval_rows=held)
    p = {k: v[0].clone().requires_grad_(True) for k, v in P.items()}

    def grads(rows):
        out = []
        for i in rows:
            li = per_example_loss(functional_call(model, p, (X[i:i + 1],)), y[i:i + 1], "ce")[0]
            out.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(li, list(p.values()))]))
        return torch.stack(out).numpy()

    G, Gh = grads(tr[0]), grads(held)
    g, gh = G.mean(0), Gh.mean(0)
    trD = ((G - g) ** 2).sum(1).mean()
    trDh = ((Gh - gh) ** 2).sum(1).mean()
    gamma = np.sqrt(max(gh @ gh - trDh / (len(held) - 1), 0.0) / (g @ g))
    assert r["ind_gamma"] == pytest.approx(gamma, rel=1e-10)
    assert abs(r["ind_gamma"] - 1.2 * gamma) > 0.1 * gamma
    assert r["ind_bias_diversity"] == pytest.approx((g @ g) / trD, rel=1e-10)
    C = minibatch_covariance(G, 4)
    ev = np.linalg.eigvalsh(C)[::-1]
    Pn = G.shape[1]
    top = ev[:6]  # k = n / 2 of the n = 12 rows
    term = Pn * np.log((g @ g + np.trace(C)) / Pn) - logdet_lowrank_isotropic(top, np.trace(C), Pn)
    assert r["ind_sde_term"] == pytest.approx(term, rel=1e-8)


def test_instability_needs_two_seeds_per_draw():
    """Johnson & Zhang's instability averages each draw's seeds first: with one
    seed per draw the same formula is reported as ind_run_disagreement; with
    2 x 2 it is instability and equals the numpy formula on the ensemble's logits."""
    from torch.func import functional_call, vmap

    from gapkit.sims.indicators import instability

    model, X, y, P, _ = _tiny(E=4)
    tr = np.stack([np.arange(12)] * 2 + [np.arange(12, 24)] * 2)
    kw = dict(lr=0.1, batch=4, hutchinson=2, lanczos_steps=2, sharpness=False, eval_rows=np.arange(24, 40))
    two = network_indicators(model, P, P, X, y, tr, draws=2, seeds=2, **kw)
    with torch.no_grad():
        logits = vmap(lambda q: functional_call(model, q, (X[24:40],)))(P).reshape(2, 2, 16, 3)
    assert two["ind_instability"] == pytest.approx(instability(logits.numpy()), rel=1e-12)
    assert "ind_run_disagreement" not in two and "ind_inconsistency" in two
    P2 = {k: v[[0, 2]] for k, v in P.items()}
    one = network_indicators(model, P2, P2, X, y, tr[[0, 2]], draws=2, seeds=1, **kw)
    assert "ind_instability" not in one and "ind_inconsistency" not in one
    # the same formula on single runs (members 0 and 2: seed 0 of each draw)
    assert one["ind_run_disagreement"] == pytest.approx(instability(logits[:, :1].numpy()), rel=1e-12)
    assert one["ind_run_disagreement"] > two["ind_instability"]  # seed noise inflates it


def test_network_ph_dimensions_on_a_known_curve():
    """Snapshots theta_s = theta_0 + t_s u along a line (a 1-D set): Birdal et
    al.'s Euclidean PH0 dimension is 1, on the raw snapshots and on a random
    projection, and so is the loss-vector (L1) one (a smooth image of the line);
    a 20% wrong value lies outside the tolerance (0.1: 4 x the ~0.02 spread of
    the estimator on 200 points of a segment, plus its bias). A partial
    snapshot dict is refused."""
    from gapkit.gpu._indicators import network_ph_dimensions

    model, X, y, P, _ = _tiny(E=1)
    g = torch.Generator().manual_seed(5)
    t = torch.rand(200, generator=g, dtype=torch.float64)
    snaps = {k: v[0][None] + 0.3 * t.reshape(-1, *[1] * v[0].ndim) * torch.randn(v[0].shape, generator=g,
                                                                                 dtype=torch.float64)
             for k, v in P.items()}
    r = network_ph_dimensions(model, snaps, X[:30], y[:30], seed=1)
    rp = network_ph_dimensions(model, snaps, X[:30], y[:30], project=8, seed=1)
    for v in (r["ph_dim"], rp["ph_dim"], r["ph_dim_loss"]):
        assert abs(v - 1.0) < 0.1 and abs(v - 1.2) > 0.1
    with pytest.raises(ValueError, match="params must hold exactly"):
        network_ph_dimensions(model, dict(list(snaps.items())[1:]), X[:30], y[:30])


def test_ensemble_indicators_use_every_member_beyond_max_members():
    """More members (2 draws x 3 seeds) than max_members: the per-member columns
    average max_members of them, the ensemble ones still use all six."""
    from torch.func import functional_call, vmap

    from gapkit.sims.indicators import inconsistency

    model, X, y, P, _ = _tiny(E=6)
    tr = np.stack([np.arange(12)] * 3 + [np.arange(12, 24)] * 3)
    r = network_indicators(model, P, P, X, y, tr, draws=2, seeds=3, lr=0.1, batch=4, hutchinson=2, lanczos_steps=2,
                           sharpness=False, eval_rows=np.arange(24, 40), max_members=2)
    assert r["indicator_members"] == 2
    with torch.no_grad():
        logits = vmap(lambda q: functional_call(model, q, (X[24:40],)))(P).reshape(2, 3, 16, 3)
    assert r["ind_inconsistency"] == pytest.approx(inconsistency(logits.numpy()), rel=1e-12)
    assert "ind_instability" in r


def test_sharpness_dimension_on_a_network_known_in_both_limits():
    """Tuci et al.'s sharpness dimension of a tiny net from `network_indicators`
    (minibatch Hessians of R_B = L_B + (alpha/2)|theta|^2, spectra from SLQ).
    Known answers without the SLQ spectrum's detail: every per-example Hessian of
    L has spectral norm < 3 (checked here), so with alpha = 5 every minibatch
    Hessian of R_B has its eigenvalues in (2, 8). Then at eta = 0.1 every
    |1 - eta a| < 1, all Lyapunov exponents are negative and dim_S = 0; at
    eta = 1 every |1 - eta a| > 1, all are positive and dim_S = d = 27 (the
    number of parameters). Using T = eta / B in place of eta would give 0 at
    eta = 1, and a sign error 27 at eta = 0.1."""
    model, X, y, P, tr = _tiny(E=1)
    p0 = {k: v[0] for k, v in P.items()}
    norms = [float(torch.linalg.matrix_norm(_exact_hessian(model, p0, X[i:i + 1], y[i:i + 1], 0.0), 2)) for i in tr[0]]
    assert max(norms) < 3.0  # the premise of both limits
    kw = dict(draws=1, seeds=1, batch=4, alpha=5.0, hutchinson=2, lanczos_steps=27, sharpness=True, seed=2)
    assert network_indicators(model, P, P, X, y, tr, lr=0.1, **kw)["ind_sharpness_dim"] == 0.0
    assert network_indicators(model, P, P, X, y, tr, lr=1.0, **kw)["ind_sharpness_dim"] == 27.0


def test_distance_from_init_known_shift():
    """Nagarajan & Kolter's distance from initialization |theta - theta_0| over
    every parameter: theta_0 = theta - 0.1 u with |u| = 1 gives 0.1 (1e-12)."""
    model, X, y, P, tr = _tiny(E=1)
    g = torch.Generator().manual_seed(3)
    u = {k: torch.randn(v.shape, generator=g, dtype=torch.float64) for k, v in P.items()}
    nu = math.sqrt(sum(float((v ** 2).sum()) for v in u.values()))
    P0 = {k: P[k] - 0.1 * u[k] / nu for k in P}
    r = network_indicators(model, P, P0, X, y, tr, draws=1, seeds=1, lr=0.1, batch=4, hutchinson=2, lanczos_steps=2,
                           sharpness=False)
    assert r["ind_dist_init"] == pytest.approx(0.1, rel=1e-12)


def test_torch_sweep_computes_every_network_indicator(tmp_path):
    """The network sweep smoke test of issue 14: `gapkit sweep --backend torch`
    on the smoke preset with 2 seeds per data draw writes every network
    indicator (NETWORK_INDICATOR_KEYS but ind_run_disagreement, the
    one-seed-per-draw stand-in for instability) to runs.csv, finite on every
    run, and `gapkit score` ranks each of them against the gap, after T."""
    import pandas as pd

    from gapkit.sims.cli._main import main

    out = tmp_path / "sw"
    rc = main(["sweep", "--backend", "torch", "--model", "mlp", "--preset", "smoke", "--lr-grid", "0.1,0.2",
               "--set", "seeds=2", "--out", str(out), "--indicators", "--workers", "1", "--no-figures", "--json"])
    assert rc == 0
    df = pd.read_csv(out / "runs.csv")
    assert len(df) == 2
    assert {c for c in df.columns if c.startswith("ind_")} == set(CORE) | {"ind_T", "ind_status"}
    assert (df["ind_status"] == "ok").all()
    for k in CORE:
        assert np.all(np.isfinite(df[k].to_numpy(float))), k
    assert main(["score", str(out), "--out", str(out / "score")]) == 0
    sc = pd.read_csv(out / "score" / "score.csv")
    assert list(sc["name"])[0] == "T"
    assert set(sc["name"]) == {"T"} | {k[4:] for k in CORE}
