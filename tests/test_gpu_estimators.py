"""Estimators on networks (gapkit.gpu._estimators, _summary) against slow
autograd references on a tiny net, float64."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.func import functional_call  # noqa: E402

from gapkit.gpu._device import torch_generator, torch_threads  # noqa: E402
from gapkit.gpu._estimators import (  # noqa: E402
    flat_params,
    grad_noise_stats,
    hessian_top_eigs,
    hessian_trace,
    member_params,
    per_example_grads,
    per_example_losses,
)
from gapkit.gpu._models import build_model, init_params  # noqa: E402
from gapkit.gpu._summary import paper_epochs, steady_value, summarize_ensemble  # noqa: E402
from gapkit.gpu._train import per_example_loss  # noqa: E402
from gapkit.sims.stats._estimators import ensemble_summary  # noqa: E402

pytestmark = pytest.mark.torch
EXACT = 1e-10  # float64, same quantity by two routes


@pytest.fixture(autouse=True)
def _one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def tiny():
    model = build_model("mlp", (1, 5), 3, hidden=[4]).double()
    params = init_params(model, torch_generator(0), dtype=torch.float64)
    g = torch_generator(1)
    x = torch.randn(12, 1, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (12,), generator=g)
    theta, unflat = flat_params(params)

    def U(th):
        return per_example_loss(functional_call(model, unflat(th), (x,)), y, "ce").mean()

    H = torch.autograd.functional.hessian(U, theta)
    rows = []
    for i in range(len(y)):
        t = theta.clone().requires_grad_(True)
        li = per_example_loss(functional_call(model, unflat(t), (x[i:i + 1],)), y[i:i + 1], "ce")[0]
        rows.append(torch.autograd.grad(li, t)[0])
    return dict(model=model, params=params, x=x, y=y, H=H, G=torch.stack(rows))


def test_per_example_losses_mean_std_accuracy(tiny):
    r = per_example_losses(tiny["model"], tiny["params"], tiny["x"], tiny["y"])
    out = tiny["model"].double()
    with torch.no_grad():
        logits = functional_call(out, tiny["params"], (tiny["x"],))
    ref = torch.stack([-torch.log_softmax(logits[i], -1)[tiny["y"][i]] for i in range(len(tiny["y"]))])
    assert r["mean"] == pytest.approx(float(ref.mean()), rel=EXACT)
    assert r["std"] == pytest.approx(float(ref.std(correction=0)), rel=EXACT)
    assert r["accuracy"] == pytest.approx(float((logits.argmax(-1) == tiny["y"]).double().mean()))


def test_per_example_grads_match_autograd_loop(tiny):
    G = per_example_grads(tiny["model"], tiny["params"], tiny["x"], tiny["y"])
    torch.testing.assert_close(G, tiny["G"], rtol=EXACT, atol=1e-13)


def test_grad_noise_stats_against_explicit_D(tiny):
    G = tiny["G"]
    n = G.shape[0]
    gbar = G.mean(0)
    D = G.T @ G / n - torch.outer(gbar, gbar)  # Eq 17's D, built as a P x P matrix
    s = grad_noise_stats(G, k=3)
    assert s["tr_D"] == pytest.approx(float(torch.trace(D)), rel=EXACT)
    np.testing.assert_allclose(s["top_eigs"], torch.linalg.eigvalsh(D).flip(0)[:3].numpy(), rtol=1e-9, atol=1e-13)
    assert s["yin_ratio"] == pytest.approx(float((G**2).sum() / (G.sum(0) ** 2).sum()), rel=EXACT)
    assert s["top_eigs"][0] != pytest.approx(float(torch.linalg.eigvalsh(G.T @ G / n)[-1]), rel=1e-3)  # uncentred differs


def test_hutchinson_trace_within_its_error(tiny):
    exact = float(torch.trace(tiny["H"]))
    r = hessian_trace(tiny["model"], tiny["params"], tiny["x"], tiny["y"], samples=400, generator=torch_generator(3))
    # 4 standard errors of the estimator's own spread: false-FAIL rate ~6e-5
    assert abs(r["trace"] - exact) <= 4 * r["se"]
    assert abs(r["trace"] - 1.5 * exact) > 4 * r["se"]  # a wrong trace is detected


def test_lanczos_top_eigs_exact_when_iters_reach_P(tiny):
    ev = torch.linalg.eigvalsh(tiny["H"]).flip(0)[:3].numpy()
    got = hessian_top_eigs(tiny["model"], tiny["params"], tiny["x"], tiny["y"], k=3, iters=200, generator=torch_generator(4))
    np.testing.assert_allclose(got, ev, rtol=1e-8, atol=1e-10)
    few = hessian_top_eigs(tiny["model"], tiny["params"], tiny["x"], tiny["y"], k=1, iters=15, generator=torch_generator(4))
    assert few[0] == pytest.approx(ev[0], rel=1e-4)  # the top one converges first


def test_trace_and_lanczos_are_the_numpy_ones_at_the_same_probes(tiny):
    """The torch estimators run gapkit's one Hutchinson and one Lanczos: at the
    probes their generator draws, they equal a PyHessian-style loop on the
    explicit Hessian (Hutchinson, mean of v'Hv) and the numpy Lanczos on the
    explicit matrix from the same start (1e-10)."""
    from gapkit.gpu import _estimators as gest
    from gapkit.sims.indicators import _dimensions

    assert gest.hutchinson is _dimensions.hutchinson and gest.lanczos is _dimensions.lanczos
    H = tiny["H"]
    P = H.shape[0]
    r = hessian_trace(tiny["model"], tiny["params"], tiny["x"], tiny["y"], samples=50, generator=torch_generator(3))
    g = torch_generator(3)
    vhv = []
    for _ in range(50):
        v = (torch.randint(0, 2, (P,), generator=g) * 2 - 1).double()
        vhv.append(float(v @ H @ v))
    assert r["trace"] == pytest.approx(np.mean(vhv), rel=1e-10)
    assert r["se"] == pytest.approx(np.std(vhv, ddof=1) / np.sqrt(50), rel=1e-8)
    assert r["trace"] != pytest.approx(np.mean(vhv[1:]), rel=1e-6)  # other probes give another value
    got = hessian_top_eigs(tiny["model"], tiny["params"], tiny["x"], tiny["y"], k=2, iters=8, generator=torch_generator(4))
    v0 = torch.randn(P, generator=torch_generator(4), dtype=torch.float64).numpy()
    Hn = H.numpy()
    th, _ = _dimensions.lanczos(lambda v: Hn @ v, v0, 8)
    np.testing.assert_allclose(got, th[::-1][:2], rtol=1e-10)


def test_estimator_argument_checks(tiny):
    with pytest.raises(ValueError, match="samples"):
        hessian_trace(tiny["model"], tiny["params"], tiny["x"], tiny["y"], samples=1, generator=torch_generator(0))
    with pytest.raises(ValueError, match="k must"):
        hessian_top_eigs(tiny["model"], tiny["params"], tiny["x"], tiny["y"], k=0, generator=torch_generator(0))


def test_member_params_slices():
    P = {"w": torch.arange(6.0).reshape(3, 2)}
    assert torch.equal(member_params(P, 1)["w"], torch.tensor([2.0, 3.0]))


# ---------------------------------------------------------------- summaries
def test_paper_epochs():
    assert paper_epochs(2e-4) == 300
    assert paper_epochs(1e-4) == 375          # 300 (1 + (2 - 1)/4)
    assert paper_epochs(1e-9) == 1200         # capped at 4x
    assert paper_epochs(1.0) == 300           # at least the reference
    assert paper_epochs(1e-4, reference_epochs=40) == 50
    with pytest.raises(ValueError, match="T"):
        paper_epochs(0.0)


def test_steady_value_median_and_spike_cut():
    flat = np.r_[np.linspace(3, 1, 30), np.full(60, 1.0) + 0.01 * np.sin(np.arange(60))]
    assert steady_value(flat, window=50) == pytest.approx(np.median(flat[-50:]))
    spiked = np.r_[flat, np.full(5, 9.0)]
    assert steady_value(spiked, window=50) < 1.1                   # the late spike is cut
    assert steady_value(spiked, window=50, spike_cut=False) == pytest.approx(np.median(spiked[-50:]))
    assert np.isnan(steady_value(np.r_[flat, np.nan], window=50))  # a diverged run


def _fake_rec(K, M, S, seed=0):
    rng = np.random.default_rng(seed)
    E = K * M
    base = rng.uniform(0.5, 1.0, (E, 1))
    rec = {
        "train_loss": base + 0.01 * rng.standard_normal((E, S + 1)),
        "test_loss": base + 0.3 + 0.01 * rng.standard_normal((E, S + 1)),
        "train_acc": np.full((E, S + 1), 0.9), "test_acc": np.full((E, S + 1), 0.7),
        "test_loss_std": np.full((E, S + 1), 0.2), "dist_init": np.ones((E, S + 1)),
        "fdr1_lhs": np.ones((E, S)), "fdr1_rhs": np.ones((E, S)), "diverged": np.zeros(E, bool),
    }
    return rec


def test_summarize_ensemble_uses_steady_values_and_ensemble_summary():
    K, M, S = 4, 2, 60
    rec = _fake_rec(K, M, S)
    res, _ = summarize_ensemble(rec, K, M, window=50, cut_spikes=False)
    tr = np.median(rec["train_loss"][:, -50:], axis=1).reshape(K, M)
    te = np.median(rec["test_loss"][:, -50:], axis=1).reshape(K, M)
    ref = ensemble_summary(tr, te)
    for k in ("gap", "gap_ci95", "train_loss", "test_loss", "datasets_used"):
        assert getattr(res, k) == pytest.approx(ref[k], rel=1e-12)
    ex = res.extras
    assert ex["acc_gap"] == pytest.approx(0.2) and ex["test_acc"] == pytest.approx(0.7)
    assert ex["sigma_l"] == pytest.approx(0.2) and ex["fdr1"] == pytest.approx(1.0)
    assert ex["equilibrated"] is True  # flat traces pass the verdict
    rec["diverged"][0] = True
    assert summarize_ensemble(rec, K, M, window=50)[0].diverged == 1
    rec["diverged"][0] = False
    rec["test_loss"][3, -10] = np.nan  # a non-finite record inside the window: that member diverged
    bad, per_run = summarize_ensemble(rec, K, M, window=50)
    assert bad.diverged == 1 and per_run["diverged"][1, 1] and np.isnan(per_run["test"][1, 1])


def test_spike_cut_truncates_every_metric_alike():
    """A late train-loss spike ends the run for all metrics; a rising accuracy
    alone cuts nothing."""
    K, M, S = 1, 2, 80
    rec = _fake_rec(K, M, S, seed=1)
    rec["train_acc"] = np.tile(np.linspace(0.1, 0.9, S + 1), (2, 1))  # still rising at the end
    rec["train_loss"][1, -6:] += 5.0                                    # member 1: a late spike
    _, per_run = summarize_ensemble(rec, K, M, window=20)
    acc = per_run["train_acc"][0]
    assert acc[0] == pytest.approx(np.median(rec["train_acc"][0, -20:]))   # no cut from the accuracy
    assert acc[1] < acc[0]                                                  # member 1 cut before its spike
    assert per_run["train"][0, 1] < 1.5


# ---------------------------------------------------------------- curvature features (issue 14)
def _exact_block(tiny, names):
    """The exact Hessian block (autograd.functional.hessian) of the parameters in `names`."""
    model, params = tiny["model"], tiny["params"]
    sel = [k for k in params if k in names]
    shapes = [params[k].shape for k in sel]
    sizes = [params[k].numel() for k in sel]

    def U(th):
        p = dict(params)
        p.update({k: t.reshape(s) for k, t, s in zip(sel, torch.split(th, sizes), shapes)})
        return per_example_loss(functional_call(model, p, (tiny["x"],)), tiny["y"], "ce").mean()

    return torch.autograd.functional.hessian(U, torch.cat([params[k].reshape(-1) for k in sel]))


def test_exact_diagonal_and_layer_traces_against_autograd_hessian(tiny):
    from gapkit.gpu._estimators import hessian_diag, layer_traces

    H = tiny["H"]
    d = hessian_diag(tiny["model"], tiny["params"], tiny["x"], tiny["y"], batch_size=5, block=7)
    flat = torch.cat([d[k].reshape(-1) for k in tiny["params"]])
    torch.testing.assert_close(flat, torch.diagonal(H), rtol=1e-10, atol=1e-13)
    tr = layer_traces(d)
    assert tr["total"] == pytest.approx(float(torch.trace(H)), rel=1e-10)
    for name in tiny["params"]:
        assert tr[name] == pytest.approx(float(torch.trace(_exact_block(tiny, [name]))), rel=1e-10, abs=1e-13)
    assert tr["total"] != pytest.approx(1.2 * float(torch.trace(H)), rel=0.1)  # a 20% wrong trace is not this


def test_ggn_diag_exact_and_differs_from_hessian(tiny):
    from gapkit.gpu._estimators import flat_params as fp, ggn_diag

    model, params, x, y = tiny["model"], tiny["params"], tiny["x"], tiny["y"]
    theta, unflat = fp(params)
    J = torch.autograd.functional.jacobian(lambda th: functional_call(model, unflat(th), (x,)), theta)  # (n, C, P)
    p = torch.softmax(functional_call(model, params, (x,)), -1)
    ref = torch.zeros_like(theta)
    for i in range(x.shape[0]):
        Ho = torch.diag(p[i]) - torch.outer(p[i], p[i])
        ref += torch.diagonal(J[i].T @ Ho @ J[i]) / x.shape[0]
    g = ggn_diag(model, params, x, y, batch_size=5)
    got = torch.cat([g[k].reshape(-1) for k in params])
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-13)
    # A ReLU net is linear in each single parameter (relu'' = 0), so the diagonals
    # agree while the full matrices do not (the cross-layer terms of H).
    torch.testing.assert_close(got, torch.diagonal(tiny["H"]), rtol=1e-9, atol=1e-12)
    Gfull = sum(J[i].T @ (torch.diag(p[i]) - torch.outer(p[i], p[i])) @ J[i] for i in range(x.shape[0])) / x.shape[0]
    assert float((Gfull - tiny["H"]).abs().max()) > 1e-4
    assert not torch.allclose(got, 1.2 * ref, rtol=0.1)  # a 20% wrong diagonal is caught


def test_ggn_equals_hessian_for_a_linear_model():
    """For a model linear in its parameters the GGN is the Hessian (exact reference)."""
    from gapkit.gpu._estimators import ggn_diag, hessian_diag

    model = build_model("mlp", (4,), 3, hidden=[]).double()
    params = init_params(model, torch_generator(2), dtype=torch.float64)
    g = torch_generator(3)
    x = torch.randn(9, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (9,), generator=g)
    a, b = ggn_diag(model, params, x, y), hessian_diag(model, params, x, y)
    for k in params:
        torch.testing.assert_close(a[k], b[k], rtol=1e-10, atol=1e-13)


def test_subset_batches_and_eigenvectors_against_exact_block(tiny):
    names = [k for k in tiny["params"]][-2:]  # the last layer's weight and bias
    Hb = _exact_block(tiny, names)
    ev, U = torch.linalg.eigh(Hb)
    vals, vecs = hessian_top_eigs(tiny["model"], tiny["params"], tiny["x"], tiny["y"], k=2, iters=200,
                                  generator=torch_generator(4), names=names, batch_size=5, vectors=True)
    np.testing.assert_allclose(vals, ev.flip(0)[:2].numpy(), rtol=1e-8, atol=1e-10)
    assert set(vecs) == set(names)
    v = torch.cat([vecs[k].reshape(2, -1) for k in names], dim=1)
    for j in range(2):
        torch.testing.assert_close(Hb @ v[j], vals[j] * v[j], rtol=1e-7, atol=1e-9)  # H v = lambda v
    full = hessian_trace(tiny["model"], tiny["params"], tiny["x"], tiny["y"], samples=200,
                         generator=torch_generator(5), names=names, batch_size=4)
    assert abs(full["trace"] - float(torch.trace(Hb))) <= 4 * full["se"]


def test_partial_params_dict_and_unknown_names_are_refused(tiny):
    from gapkit.gpu._estimators import hessian_diag

    part = dict(list(tiny["params"].items())[1:])
    with pytest.raises(ValueError, match="params must hold exactly"):
        hessian_trace(tiny["model"], part, tiny["x"], tiny["y"], generator=torch_generator(0))
    with pytest.raises(ValueError, match="params must hold exactly"):
        per_example_grads(tiny["model"], part, tiny["x"], tiny["y"])
    with pytest.raises(ValueError, match="names must"):
        hessian_diag(tiny["model"], tiny["params"], tiny["x"], tiny["y"], names=["nope"])


def test_esd_and_plot(tiny, tmp_path):
    from gapkit.gpu._estimators import hessian_esd
    from gapkit.sims.indicators._dimensions import esd_plot

    r = hessian_esd(tiny["model"], tiny["params"], tiny["x"], tiny["y"], m=200, probes=2, generator=torch_generator(6))
    assert r["top"] == pytest.approx(float(torch.linalg.eigvalsh(tiny["H"])[-1]), rel=1e-8)
    fig = esd_plot(r, tmp_path / "esd.png")
    assert (tmp_path / "esd.png").stat().st_size > 0 and fig.axes[0].get_xlabel() == "eigenvalue"


def test_esd_quadrature_moments_are_exact(tiny):
    """The ESD (stochastic Lanczos quadrature, Ubaru, Chen & Saad; PyHessian's
    density) against the exact Hessian: with m = P Lanczos steps each probe's
    Gauss nodes are eigenvalues of H and its quadrature reproduces the probe's
    moments v'H^j v / |v|^2 (j = 0..3, 1e-8) at the probes `generator` draws;
    the smoothed density integrates to 1; a 10% wrong second moment is caught."""
    from gapkit.gpu._estimators import hessian_esd

    H = tiny["H"]
    P = H.shape[0]
    r = hessian_esd(tiny["model"], tiny["params"], tiny["x"], tiny["y"], m=P, probes=3, generator=torch_generator(7))
    ev = torch.linalg.eigvalsh(H).numpy()
    g = torch_generator(7)
    for p in range(3):
        v = (torch.randint(0, 2, (P,), generator=g) * 2 - 1).double()
        w, th = r["weights"][p], r["nodes"][p]
        keep = w > 0
        assert np.min(np.abs(th[keep][:, None] - ev[None]), axis=1).max() < 1e-8 * max(1.0, np.abs(ev).max())
        Hj = torch.eye(P, dtype=torch.float64)
        for j in range(4):
            want = float(v @ Hj @ v) / P
            assert float(np.sum(w * th ** j)) == pytest.approx(want, rel=1e-8, abs=1e-12)
            Hj = Hj @ H
        assert float(np.sum(w * th ** 2)) != pytest.approx(1.1 * float(v @ H @ H @ v) / P, rel=0.02)
    width = 0.01 * (ev.max() - ev.min())
    grid = np.linspace(ev.min() - 10 * width, ev.max() + 10 * width, 20001)
    assert np.trapezoid(r["density"](grid, width), grid) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"))])
def test_lanczos_hutchinson_and_slq_stay_torch_on_the_parameters_device(tiny, device, monkeypatch):
    """The torch-native Lanczos (issue 14: no Hessian-vector product copied to the
    host in float64): every vector the Hessian operator receives is a torch tensor
    on the parameters' device in their dtype (float32 here), and the Ritz vectors
    come back there too; the float32 eigenvalues still match the exact float64
    ones to float32 accuracy."""
    from gapkit.gpu import _estimators as gest

    seen = []
    real = gest._hvp

    def spy(f, theta):
        hv = real(f, theta)

        def wrapped(v):
            seen.append((type(v), v.dtype, v.device.type))
            return hv(v)
        return wrapped

    monkeypatch.setattr(gest, "_hvp", spy)
    p32 = {k: v.to(device=device, dtype=torch.float32) for k, v in tiny["params"].items()}
    model = tiny["model"].to(device)
    try:
        x, y = tiny["x"].float(), tiny["y"]  # CPU rows: each block moves to the parameters' device
        vals, vecs = gest.hessian_top_eigs(model, p32, x, y, k=2, iters=60, generator=torch_generator(4), vectors=True,
                                           batch_size=5)
        gest.hessian_trace(model, p32, x, y, samples=3, generator=torch_generator(5))
        gest.hessian_esd(model, p32, x, y, m=10, probes=2, generator=torch_generator(6))
        assert seen and all(s == (torch.Tensor, torch.float32, device) for s in seen), set(seen)
        assert all(v.dtype == torch.float32 and v.device.type == device for v in vecs.values())
        ev = torch.linalg.eigvalsh(tiny["H"]).flip(0)[:2].numpy()
        np.testing.assert_allclose(vals, ev, rtol=1e-4, atol=1e-5)
    finally:
        tiny["model"].to("cpu")
