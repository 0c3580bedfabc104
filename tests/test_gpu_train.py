"""Torch backend training (gapkit.gpu._train): Eq 15 / Eq 16 updates against a
hand-written reference, the vmap ensemble against the one-at-a-time loop, and
the device / dtype policy."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gapkit.gpu._device import resolve_device, resolve_dtype, torch_generator, torch_threads  # noqa: E402
from gapkit.gpu._models import build_model, init_params  # noqa: E402
from gapkit.gpu._train import SGDConfig, _batch_indices, member_streams, train_ensemble  # noqa: E402

pytestmark = pytest.mark.torch

RTOL = 1e-12  # float64 identities: same operations, different batching


@pytest.fixture(autouse=True)
def _one_thread():
    with torch_threads(1):
        yield


def _linreg_pool(E=3, n=10, d=3, n_test=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((E * (n + n_test), d))
    y = X @ np.array([1.0, -2.0, 0.5])[:d] + 0.3 * rng.standard_normal(len(X))
    tr = np.arange(E * n).reshape(E, n)
    te = E * n + np.arange(E * n_test).reshape(E, n_test)
    return X, y, tr, te


def _reference_linreg(X, y, tr, te, cfg, seed):
    """Eq 15 / Eq 16 written out by hand for one member of the linear model
    (l = (1/2)(w'x - y)^2), with the same random streams as the backend."""
    st = member_streams(seed)
    model = build_model("linear", (X.shape[1],)).double()
    w = init_params(model, torch_generator(st["init"]), dtype=torch.float64)["fc.weight"].numpy().ravel().copy()
    gb, gn = torch_generator(st["batches"]), torch_generator(st["noise"])
    n, B = len(tr), cfg.batch
    S = math.ceil(n / B) if cfg.replacement else n // B
    tf = S * cfg.epochs
    v = np.zeros_like(w)
    t = 0
    lhs = rhs = 0.0
    for _ in range(cfg.epochs):
        idx = _batch_indices(gb, n, B, cfg.replacement).numpy()
        for s in range(S):
            lam = cfg.lr * math.cos(math.pi * t / (2 * tf)) if cfg.cosine else cfg.lr
            xb, yb = X[tr[idx[s]]], y[tr[idx[s]]]
            g = xb.T @ (xb @ w - yb) / B + cfg.alpha * w
            if cfg.momentum:
                v = cfg.momentum * v + g
                step = v
            else:
                step = g
            lhs += w @ g
            rhs += lam / 2 * (1 + cfg.momentum) * step @ step + (1 - cfg.momentum) * (lam / B) * cfg.beta**2 * w.size / 2
            w = w - lam * step
            if cfg.beta:
                z = torch.randn((1, w.size), generator=gn, dtype=torch.float64).numpy().ravel()
                w = w + math.sqrt(lam * lam / B) * cfg.beta * z
            t += 1
    test = 0.5 * np.mean((X[te] @ w - y[te]) ** 2)
    return w, test, lhs, rhs


@pytest.mark.parametrize("kw", [
    dict(),                                                        # Eq 15, with replacement
    dict(alpha=0.1, beta=0.5),                                     # weight decay + isotropic noise
    dict(replacement=False, cosine=True),                          # shuffled epochs, cosine schedule
    dict(momentum=0.9, alpha=5e-3, cosine=True),                   # Eq 16 + cosine
])
def test_sgd_matches_hand_reference(kw):
    X, y, tr, te = _linreg_pool()
    cfg = SGDConfig(lr=0.05, batch=3, epochs=3, loss="mse", dtype="float64", **kw)
    seeds = [11, 12, 13]
    rec = train_ensemble(build_model("linear", (3,)), X, y, tr, te, cfg, seeds=seeds, keep_params=True)
    for e, s in enumerate(seeds):
        w, test, lhs, rhs = _reference_linreg(X, y, tr[e], te[e], cfg, s)
        np.testing.assert_allclose(rec["params"]["fc.weight"][e].numpy().ravel(), w, rtol=RTOL, atol=1e-14)
        assert rec["test_loss"][e, -1] == pytest.approx(test, rel=RTOL)
        assert rec["fdr1_lhs"][e].sum() == pytest.approx(lhs, rel=1e-10)
        assert rec["fdr1_rhs"][e].sum() == pytest.approx(rhs, rel=1e-10)


def test_wrong_update_is_detected():
    """The reference comparison fails for a different update rule (momentum 0.5 vs 0.9)."""
    X, y, tr, te = _linreg_pool()
    cfg = SGDConfig(lr=0.05, batch=3, epochs=2, loss="mse", dtype="float64", momentum=0.9)
    rec = train_ensemble(build_model("linear", (3,)), X, y, tr, te, cfg, seeds=[1, 2, 3], keep_params=True)
    w, *_ = _reference_linreg(X, y, tr[0], te[0], SGDConfig(lr=0.05, batch=3, epochs=2, loss="mse", momentum=0.5), 1)
    assert not np.allclose(rec["params"]["fc.weight"][0].numpy().ravel(), w, rtol=1e-6)


def _pool_images(n=60, shape=(3, 8, 8), seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n,) + shape), rng.integers(0, 4, n)


@pytest.mark.parametrize("name,kwargs,shape,extra", [
    ("mlp", {"hidden": [6]}, (1, 12), dict(momentum=0.9, cosine=True, beta=0.05, alpha=1e-3)),
    ("cnn", {"width": 4}, (1, 12), dict(augment=True, replacement=False)),
    ("resnet18", {"k": 2, "norm": "group"}, (3, 8, 8), dict(augment=True, momentum=0.9)),
])
def test_vmap_ensemble_equals_loop(name, kwargs, shape, extra):
    """Training members together (torch.func vmap) gives the same numbers as
    training them one at a time with autograd, same seeds, float64."""
    X, y = _pool_images(shape=shape)
    rng = np.random.default_rng(1)
    tr = np.stack([rng.choice(60, 16, replace=False) for _ in range(3)])
    te = np.stack([rng.choice(60, 8, replace=False) for _ in range(3)])
    model = build_model(name, shape, 4, **kwargs)
    cfg = SGDConfig(lr=0.05, batch=4, epochs=2, dtype="float64", **extra)
    a = train_ensemble(model, X, y, tr, te, cfg, seeds=[5, 6, 7])
    b = train_ensemble(model, X, y, tr, te, cfg, seeds=[5, 6, 7], vectorize=False)
    assert a["path"] == "vmap" and b["path"] == "loop"
    for k in ("train_loss", "test_loss", "test_loss_std", "train_acc", "test_acc", "dist_init", "fdr1"):
        np.testing.assert_allclose(a[k], b[k], rtol=1e-10, atol=1e-12, err_msg=k)
    # and a member does not depend on which other members train with it
    c = train_ensemble(model, X, y, tr[1:2], te[1:2], cfg, seeds=[6])
    np.testing.assert_allclose(c["test_loss"][0], a["test_loss"][1], rtol=1e-10)
    assert not np.allclose(a["test_loss"][0], a["test_loss"][1])  # different seeds and draws differ


def test_batchnorm_runs_on_the_sequential_path_only():
    X, y = _pool_images(n=30)
    tr, te = np.arange(16)[None], np.arange(16, 30)[None]
    model = build_model("resnet18", (3, 8, 8), 4, k=2, norm="batch")
    cfg = SGDConfig(lr=0.05, batch=8, epochs=1, dtype="float64")
    with pytest.raises(ValueError, match="vectorize"):
        train_ensemble(model, X, y, tr, te, cfg, seeds=[0])
    rec = train_ensemble(model, X, y, tr, te, cfg, seeds=[0], vectorize=False)
    assert np.all(np.isfinite(rec["test_loss"]))


def test_divergence_is_flagged():
    X, y, tr, te = _linreg_pool()
    cfg = SGDConfig(lr=50.0, batch=3, epochs=30, loss="mse", dtype="float64")
    with np.errstate(all="ignore"):
        rec = train_ensemble(build_model("linear", (3,)), X, y, tr, te, cfg, seeds=[1, 2, 3])
    assert rec["diverged"].all()


def test_float32_default_and_dtype_recorded():
    X, y, tr, te = _linreg_pool()
    cfg = SGDConfig(lr=0.05, batch=3, epochs=1, loss="mse")
    rec = train_ensemble(build_model("linear", (3,)), X, y, tr, te, cfg, seeds=[1, 2, 3], keep_params=True)
    assert rec["dtype"] == "float32" and rec["params"]["fc.weight"].dtype == torch.float32
    cfg = SGDConfig(lr=0.05, batch=3, epochs=1, loss="mse", dtype="bf16")
    rec = train_ensemble(build_model("linear", (3,)), X, y, tr, te, cfg, seeds=[1, 2, 3], keep_params=True)
    assert rec["dtype"] == "bf16" and rec["params"]["fc.weight"].dtype == torch.float32  # bf16 autocast, fp32 master


@pytest.mark.parametrize("bad,match", [
    (dict(lr=-1.0), "lr"), (dict(batch=0), "batch"), (dict(momentum=1.0), "momentum"),
    (dict(alpha=-0.1), "alpha"), (dict(loss="hinge"), "loss"), (dict(dtype="float16"), "dtype"),
])
def test_config_validation(bad, match):
    kw = dict(lr=0.1, batch=2, epochs=1)
    kw.update(bad)
    with pytest.raises(ValueError, match=match):
        SGDConfig(**kw)


def test_device_policy():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="--device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="--device cuda"):
            resolve_device("cuda")
    assert resolve_dtype("float64") == torch.float64 and resolve_dtype("tf32") == torch.float32


def test_no_global_rng_use():
    """Training draws nothing from torch's global stream."""
    X, y, tr, te = _linreg_pool()
    state = torch.random.get_rng_state().clone()
    train_ensemble(build_model("linear", (3,)), X, y, tr, te,
                   SGDConfig(lr=0.05, batch=3, epochs=1, loss="mse", beta=0.1), seeds=[1, 2, 3])
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.gpu
def test_cuda_matches_cpu_float64():
    X, y, tr, te = _linreg_pool()
    cfg = dict(lr=0.05, batch=3, epochs=2, loss="mse", dtype="float64", momentum=0.9)
    a = train_ensemble(build_model("linear", (3,)), X, y, tr, te, SGDConfig(device="cpu", **cfg), seeds=[1, 2, 3])
    b = train_ensemble(build_model("linear", (3,)), X, y, tr, te, SGDConfig(device="cuda", **cfg), seeds=[1, 2, 3])
    np.testing.assert_allclose(a["test_loss"], b["test_loss"], rtol=1e-9)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_fdr1_with_noise_and_momentum_holds_at_stationarity(momentum):
    """<theta.(g + alpha theta)> = (lam/2)(1+mu)<|v|^2> + (1-mu) T beta^2 d / 2 at
    stationarity (the form derived in _train.py): the per-chain ratio of the two
    sides averages to 1 within 4 standard errors over K chains (false-FAIL ~6e-5);
    leaving out the noise term is detected."""
    K, n, d = 64, 10, 3
    rng = np.random.default_rng(5)
    X = rng.standard_normal((K * n, d))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.standard_normal(K * n)
    tr = np.arange(K * n).reshape(K, n)
    cfg = SGDConfig(lr=0.1, batch=2, epochs=120, alpha=0.05, beta=0.8, momentum=momentum, loss="mse", dtype="float64")
    rec = train_ensemble(build_model("linear", (d,)), X, y, tr, tr[:, :2], cfg, seeds=range(K))
    burn = 30
    lhs, rhs = rec["fdr1_lhs"][:, burn:].sum(1), rec["fdr1_rhs"][:, burn:].sum(1)
    ratio = lhs / rhs
    se = ratio.std(ddof=1) / np.sqrt(K)
    assert abs(ratio.mean() - 1) <= 4 * se
    steps = (cfg.epochs - burn) * rec["steps_per_epoch"]
    noise_term = (1 - momentum) * (cfg.lr / cfg.batch) * cfg.beta**2 * d / 2 * steps
    wrong = lhs / (rhs - noise_term)
    assert abs(wrong.mean() - 1) > 4 * wrong.std(ddof=1) / np.sqrt(K)


def test_extension_continues_the_same_chain():
    """A run extended after its planned epochs (a failed steady-state test) is
    the same chain as a run planned that long from the start: same numbers;
    extension stops at max_epochs; a cosine run cannot be extended."""
    X, y = _pool_images(shape=(1, 12))
    rng = np.random.default_rng(2)
    tr = np.stack([rng.choice(60, 16, replace=False) for _ in range(2)])
    te = np.stack([rng.choice(60, 8, replace=False) for _ in range(2)])
    model = build_model("mlp", (1, 12), 4, hidden=[6])
    kw = dict(lr=0.05, batch=4, dtype="float64", momentum=0.9, alpha=1e-3)
    seen = []

    def extend(rec):
        seen.append(rec["train_loss"].shape[1])
        return 2

    a = train_ensemble(model, X, y, tr, te, SGDConfig(epochs=2, **kw), seeds=[3, 4], extend=extend, max_epochs=5)
    b = train_ensemble(model, X, y, tr, te, SGDConfig(epochs=5, **kw), seeds=[3, 4])
    assert seen == [3, 5] and a["epochs"] == 5 and a["extended_epochs"] == 3 and a["steps"] == b["steps"]
    for k in ("train_loss", "test_loss", "test_acc", "fdr1", "dist_init"):
        np.testing.assert_allclose(a[k], b[k], rtol=RTOL, err_msg=k)
    c = train_ensemble(model, X, y, tr, te, SGDConfig(epochs=4, **kw), seeds=[3, 4])
    assert not np.allclose(a["train_loss"][:, -1], c["train_loss"][:, -1])  # one epoch short is another state
    with pytest.raises(ValueError, match="extend"):
        train_ensemble(model, X, y, tr, te, SGDConfig(epochs=2, cosine=True, **kw), seeds=[3, 4], extend=extend)


@pytest.mark.parametrize("loss,hidden", [("ce", [7, 5]), ("mse", [6]), ("ce", [])])
def test_mlp_fast_gradient_equals_autograd(loss, hidden):
    """The vmap path's MLP fast case (`_mlp_fast_path`): its forward is the
    module's, its explicit backpropagation autograd's minibatch gradient of
    sum_e sum_i l_ei / b for every member, float64 to rounding; a model it
    does not cover gets None (generic path)."""
    import torch

    from gapkit.gpu._train import _mlp_fast_path, per_example_loss

    torch.manual_seed(0)  # only the test's own random parameters
    model = build_model("mlp", (1, 12), 4, hidden=hidden).double()
    E, b = 3, 5
    P = {k: torch.randn((E,) + v.shape, dtype=torch.float64) for k, v in model.named_parameters()}
    xb = torch.randn(E, b, 1, 12, dtype=torch.float64)
    yb = torch.randint(0, 4, (E, b)) if loss == "ce" else torch.randn(E, b, dtype=torch.float64)
    forward, grad_fn = _mlp_fast_path(model, loss)
    fast = grad_fn(P, xb, yb)
    outs = forward(P, xb)
    for e in range(E):
        leaves = {k: v[e].clone().requires_grad_(True) for k, v in P.items()}
        out = torch.func.functional_call(model, leaves, (xb[e],))
        np.testing.assert_allclose(outs[e].numpy(), out.detach().numpy(), rtol=1e-12, atol=1e-14)
        L = per_example_loss(out, yb[e], loss).sum() / b
        ref = torch.autograd.grad(L, list(leaves.values()))
        for k, g in zip(leaves, ref):
            np.testing.assert_allclose(fast[k][e].numpy(), g.numpy(), rtol=1e-12, atol=1e-14, err_msg=k)
    assert list(fast) == list(P)
    assert _mlp_fast_path(build_model("mlp", (1, 12), 4, hidden=[6], norm="batch"), loss) is None
    assert _mlp_fast_path(build_model("cnn", (1, 12), 4, width=4), loss) is None
