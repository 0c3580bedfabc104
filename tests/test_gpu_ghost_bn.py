"""Ghost batch norm (Hoffer, Hubara & Soudry 2017): gapkit.gpu._models.GhostBatchNorm1d/2d
and use_ghost_batch_norm, against plain BatchNorm and a direct numpy computation."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.torch

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from gapkit.gpu._models import GhostBatchNorm1d, GhostBatchNorm2d, build_model, use_ghost_batch_norm  # noqa: E402
from gapkit.theory._validate import ArgumentError  # noqa: E402


def _numpy_bn(x, w, b, eps, axes):
    """BatchNorm of one chunk by hand: (x - mean) / sqrt(biased var + eps) * w + b over `axes`."""
    m = x.mean(axis=axes, keepdims=True)
    v = x.var(axis=axes, keepdims=True)  # biased, as BatchNorm normalises
    shape = [1] * x.ndim
    shape[1] = -1
    return (x - m) / np.sqrt(v + eps) * w.reshape(shape) + b.reshape(shape)


def _affine(bn, rng):
    with torch.no_grad():
        bn.weight.copy_(torch.as_tensor(rng.uniform(0.5, 2.0, bn.num_features)))
        bn.bias.copy_(torch.as_tensor(rng.normal(size=bn.num_features)))


@pytest.mark.parametrize("kind,shape", [("1d", (12, 3)), ("2d", (12, 3, 4, 5))])
def test_ghost_batch_equal_to_batch_is_plain_batch_norm(kind, shape):
    rng = np.random.default_rng(0)
    plain = (nn.BatchNorm1d if kind == "1d" else nn.BatchNorm2d)(3).double()
    ghost = (GhostBatchNorm1d if kind == "1d" else GhostBatchNorm2d)(3, ghost_batch=shape[0]).double()
    _affine(plain, rng)
    ghost.load_state_dict(plain.state_dict())
    x = torch.as_tensor(rng.normal(2.0, 3.0, shape))
    assert torch.equal(ghost(x), plain(x))
    assert torch.equal(ghost.running_mean, plain.running_mean) and torch.equal(ghost.running_var, plain.running_var)
    ghost.eval(), plain.eval()
    assert torch.equal(ghost(x), plain(x))


@pytest.mark.parametrize("kind,shape,g", [("1d", (10, 3), 4), ("2d", (10, 3, 4, 5), 3), ("2d", (8, 2, 3, 3), 2)])
def test_smaller_ghost_batches_use_per_chunk_statistics(kind, shape, g):
    rng = np.random.default_rng(1)
    ghost = (GhostBatchNorm1d if kind == "1d" else GhostBatchNorm2d)(shape[1], ghost_batch=g).double()
    _affine(ghost, rng)
    # chunks with different means and scales, so whole-batch and per-chunk statistics differ
    x = rng.normal(size=shape) * (1 + np.arange(shape[0])).reshape(-1, *[1] * (len(shape) - 1))
    x += np.arange(shape[0]).reshape(-1, *[1] * (len(shape) - 1))
    w, b = ghost.weight.detach().numpy(), ghost.bias.detach().numpy()
    axes = (0,) if kind == "1d" else (0, 2, 3)
    want = np.concatenate([_numpy_bn(x[i:i + g], w, b, ghost.eps, axes) for i in range(0, shape[0], g)])
    got = ghost(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    whole = _numpy_bn(x, w, b, ghost.eps, axes)
    assert np.abs(got - whole).max() > 1e-2  # the check would see whole-batch statistics
    # running statistics: one momentum update per chunk, with the unbiased chunk variance
    rm, rv, mom = np.zeros(shape[1]), np.ones(shape[1]), ghost.momentum
    for i in range(0, shape[0], g):
        c = x[i:i + g]
        rm = (1 - mom) * rm + mom * c.mean(axis=axes)
        rv = (1 - mom) * rv + mom * c.var(axis=axes, ddof=1)
    np.testing.assert_allclose(ghost.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(ghost.running_var.numpy(), rv, rtol=1e-12)


def test_use_ghost_batch_norm_swaps_every_batch_norm_and_keeps_its_state():
    model = build_model("resnet18", (3, 8, 8), 4, k=4, norm="batch").double()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    use_ghost_batch_norm(model, 2)
    ghosts = [m for m in model.modules() if isinstance(m, GhostBatchNorm2d)]
    assert len(ghosts) == n_bn > 0 and all(m.ghost_batch == 2 for m in ghosts)
    after = model.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(after[k], before[k]) for k in before)
    with pytest.raises(ArgumentError, match="ghost_batch") as e:
        use_ghost_batch_norm(build_model("mlp", (1, 8), 3, hidden=[4]), 2)
    assert e.value.param == "ghost_batch"
    for bad in (0, -1, 1.5):
        with pytest.raises(ArgumentError, match="ghost_batch"):
            GhostBatchNorm1d(3, ghost_batch=bad)


def test_run_point_ghost_batch_option():
    from gapkit.gpu._run import normalize_config, run_point

    cfg = {"dataset": "digits", "model": "resnet18", "model_kwargs": {"k": 2, "norm": "batch"}, "n_train": 64,
           "n_test": 32, "datasets": 1, "seeds": 1, "epochs": 2, "batch": 16, "lr": 0.05, "seed": 5, "window": 1,
           "dtype": "float64"}
    plain = run_point(cfg)
    same = run_point({**cfg, "ghost_batch": 16})  # one chunk per batch: plain BatchNorm
    ghost = run_point({**cfg, "ghost_batch": 4})
    assert plain.config["ghost_batch"] == 0 and ghost.config["ghost_batch"] == 4
    assert np.array_equal(plain.arrays["trace_train"], same.arrays["trace_train"])
    assert not np.allclose(plain.arrays["trace_train"][..., 1:], ghost.arrays["trace_train"][..., 1:])
    for bad in (-1, 2.5, "x"):
        with pytest.raises(ArgumentError, match="ghost_batch"):
            normalize_config({"ghost_batch": bad})
    with pytest.raises(ArgumentError, match="ghost_batch"):
        run_point({**cfg, "model": "mlp", "model_kwargs": {"hidden": [4]}, "ghost_batch": 4})


# ---- the train-longer recipe in sweeps (SweepSpec.train_longer, preset mnist1d-train-longer)

def test_train_longer_sweep_runs_follow_the_recipe():
    import math

    from gapkit.gpu._plugin import torch_sweep_spec
    from gapkit.sims.sweep._spec import build_runs

    spec = torch_sweep_spec("mnist1d-train-longer", lr_grid=[0.05, 0.1], batch_grid=[8, 32, 128])
    tl, n = spec.train_longer, spec.model_kwargs.get("n_train", 1024)
    runs = build_runs(spec)
    assert len(runs) == 2 * 3 * spec.seeds
    B_S, E_S, g = tl["batch_small"], tl["epochs_small"], tl["ghost_batch"]
    for r in runs:
        B = r["batch"]
        lr_s = r["lr"] / math.sqrt(B / B_S)  # the small-batch rate this run was scaled from
        assert min(abs(lr_s - 0.05), abs(lr_s - 0.1)) < 1e-12
        assert r["T"] == pytest.approx(r["lr"] / B, rel=1e-15)
        assert r["epochs"] == math.ceil(E_S * B / B_S) and r["ghost_batch"] == min(g, B)
    # regime adaptation: the same number of updates (epochs x n / B) at every batch
    ups = {r["epochs"] * n / r["batch"] for r in runs if r["batch"] >= B_S}
    assert len(ups) == 1
    # paired seeds: replicate r shares its seed across the grid
    by_rep = {}
    for r in runs:
        by_rep.setdefault(r["replicate"], set()).add(r["seed"])
    assert all(len(s) == 1 for s in by_rep.values())


def test_train_longer_settings_are_validated():
    from gapkit.gpu._plugin import torch_sweep_spec
    from gapkit.sims.sweep._spec import make_spec

    for bad in ({"batch_small": 16}, {"batch_small": 16, "epochs_small": 5, "x": 1}, "no",
                {"batch_small": 0, "epochs_small": 5}, {"batch_small": 16, "epochs_small": -1}):
        with pytest.raises(ArgumentError):
            torch_sweep_spec("mnist1d-train-longer", train_longer=bad)
    with pytest.raises(ArgumentError, match="train_longer"):
        make_spec("quadratic1d", preset="smoke", train_longer={"batch_small": 1, "epochs_small": 1})
    with pytest.raises(ArgumentError, match="train_longer"):
        torch_sweep_spec("mnist1d-train-longer", T_grid=[0.01])


def test_a_train_longer_run_config_runs_on_the_torch_backend():
    from gapkit.gpu._plugin import torch_sweep_spec
    from gapkit.gpu._run import run_point
    from gapkit.sims.sweep._spec import build_runs

    spec = torch_sweep_spec("mnist1d-train-longer", batch_grid=[32], seeds=1)
    cfg = build_runs(spec)[0]
    cfg["model_kwargs"] = {**cfg["model_kwargs"], "dataset": "digits", "n_train": 128, "n_test": 64, "window": 1}
    cfg["epochs"] = 2  # a short run: only that the sweep's configuration trains with ghost batch norm
    res = run_point(cfg)
    assert res.config["ghost_batch"] == 16 and res.config["batch"] == 32 and res.config["path"] == "loop"
    assert np.isfinite(res.arrays["trace_train"]).all()
