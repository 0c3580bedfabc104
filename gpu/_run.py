"""One sweep point of the torch backend: config dict -> trained ensemble -> `RunResult`.

The result is the typed `gapkit.sims.stats._results.RunResult` of every
backend: its `Summary` has the same core numbers as the Numba ``simulate``
(gap, gap_ci95, train_loss(_ci95), test_loss(_ci95), datasets_used, diverged)
and the network ones in its extras (train_acc, test_acc, acc_gap, sigma_l,
fdr1, dist_init, equilibrated and the verdict's diagnostics); per-run numpy
arrays are in ``arrays``, what ran in ``config``, timings in ``timings``.

Seeds: one root ``seed``; ``SeedSequence(seed).spawn(datasets)`` gives one
stream per data draw; each draw's stream spawns its data-draw seed and its
``seeds`` member seeds. Adding draws or members never changes existing ones.
The pool itself (e.g. the generated MNIST-1D set) depends only on ``pool_seed``,
so every point of a sweep draws from the same pool.
"""
from __future__ import annotations

import functools
import time

import numpy as np

from gapkit.sims.stats._results import RunResult
from gapkit.theory._validate import ArgumentError

__all__ = ["DEFAULTS", "PRESETS", "run_point", "normalize_config"]

DEFAULTS = {
    "dataset": "mnist1d",
    "model": "mlp",
    "model_kwargs": {},
    "lr": 0.05,
    "batch": 32,
    "alpha": 0.0,
    "beta": 0.0,
    "momentum": 0.0,
    "cosine": False,
    "epochs": 20,          # an int, or "paper": N(T) of Appendix E with epochs_ref at T_ref
    "epochs_ref": 300,
    "T_ref": 2e-4,         # the reference temperature of the "paper" epoch rule
    "datasets": 2,
    "seeds": 1,
    "n_train": 1000,
    "n_test": 500,
    "scheme": "split",
    "replacement": True,
    "augment": False,
    "pool": 4000,          # MNIST-1D pool size (generated)
    "pool_seed": 0,
    "data_root": None,     # CIFAR-10 directory
    "device": "cpu",
    "dtype": "float32",
    "seed": 0,
    "window": 50,
    "cut_spikes": True,
    "vectorize": True,
    "progress": False,
    "threads": None,       # CPU intra-op threads while training (None: 1 on CPU, see run_point)
}

# Keys the sweep runner (gapkit.sims.sweep._runner) puts in a run's config that are not
# training settings: checked for consistency (algo, T) or only recorded.
RUNNER_KEYS = ("preset", "backend", "algo", "T", "replicate", "root_seed", "indicators", "capped")
# Toy-model settings the sweep runner may also send; they mean nothing for a
# network and are ignored (listed in the result's "ignored_keys").
TOY_KEYS = ("data_mean", "data_std", "noise_std", "n", "dim", "chains", "steps", "burnin", "record_every", "h")

# The torch backend's presets, one dict: a preset's point settings (the keys of
# DEFAULTS; `run_point(config)` with config["preset"]) and, for the presets a
# sweep can run (`gapkit sweep --backend torch --preset NAME`), its grid and
# replicates under "sweep" (the sweep's epoch rule takes epochs_ref at T_ref,
# the point's alpha and model: `gapkit.gpu._plugin.sweep_preset`). Torch-free.
PRESETS = {
    # seconds-long, used by tests and `gapkit sweep --backend torch --preset smoke`
    "smoke": {"dataset": "mnist1d", "model": "mlp", "model_kwargs": {"hidden": [32]}, "pool": 600,
              "n_train": 200, "n_test": 200, "batch": 20, "epochs": 4, "epochs_ref": 4, "T_ref": 0.01, "window": 3,
              "datasets": 2, "seeds": 1, "threads": 1,
              "sweep": {"lr_grid": [0.05, 0.1, 0.2, 0.4], "batch_grid": [20], "seeds": 1}},
    # mnist1d-cpu for the related papers' indicators (issue 14): 2 seeds per data
    # draw, so that Johnson & Zhang's inconsistency and instability are computed
    # as defined (seed-averaged predictions); 3 replicates x 8 members = the same
    # 288 trainings as mnist1d-cpu's 6 x 4.
    "mnist1d-indicators": {"dataset": "mnist1d", "model": "mlp", "model_kwargs": {"hidden": [64, 64]}, "pool": 4000,
                           "n_train": 256, "n_test": 1000, "alpha": 1e-2, "epochs": "paper", "epochs_ref": 80,
                           "T_ref": 0.1, "window": 50, "datasets": 4, "seeds": 2, "threads": 1,
                           "sweep": {"lr_grid": [0.2, 0.4, 0.8], "batch_grid": [4, 8, 16, 32], "seeds": 3}},
    # the CPU temperature sweep of issue 5 (real run outside CI): 3 lr x 4 B = 12
    # points, 6 temperatures T = lr/B from 6.25e-3 to 0.2 (the gap is flat below
    # ~0.025 and falls to ~0 by 0.2), 6 runs per point = 72 runs, so that >= 48
    # pass the steady-state test with room to spare. Weight decay alpha > 0 so
    # that a steady state exists at all (without it the MLP interpolates and the
    # train loss keeps falling, Section 2.3).
    # Measured (2 cores): with n_train 512 the low-T runs still drift after
    # lam x updates ~ 600; with 256 they relax by ~ 400-500 (alpha = 1e-2; a larger
    # alpha = 3e-2 slows the fitting itself). The epoch rule (T_ref = 0.1, 80
    # epochs, x4 at T <= 6.25e-3) gives lam x updates >= 512 at every grid T;
    # lr <= 0.8 keeps the edge-of-stability spikes rare; the paper's 50-epoch window.
    "mnist1d-cpu": {"dataset": "mnist1d", "model": "mlp", "model_kwargs": {"hidden": [64, 64]}, "pool": 4000,
                    "n_train": 256, "n_test": 1000, "alpha": 1e-2, "epochs": "paper", "epochs_ref": 80, "T_ref": 0.1,
                    "window": 50, "datasets": 4, "seeds": 1, "threads": 1,
                    "sweep": {"lr_grid": [0.2, 0.4, 0.8], "batch_grid": [4, 8, 16, 32], "seeds": 6}},
    # the paper's ResNet protocol shape (needs CIFAR-10 locally and a GPU)
    "cifar10-resnet": {"dataset": "cifar10", "model": "resnet18", "model_kwargs": {"k": 32, "norm": "group"},
                       "n_train": 50000, "n_test": 10000, "momentum": 0.9, "alpha": 5e-4, "cosine": True,
                       "epochs": "paper", "augment": True, "datasets": 1, "seeds": 3},
}


def normalize_config(config: dict) -> dict:
    """Defaults filled in (a preset named by config['preset'] first), keys checked."""
    config = dict(config)
    mk = dict(config.pop("model_kwargs", None) or {})
    # The sweep runner has no torch-specific fields: point settings (dataset,
    # n_train, preset, ...) may ride in model_kwargs and are lifted out here.
    lifted = {k: mk.pop(k) for k in list(mk) if k in DEFAULTS or k == "preset"}
    config = {**lifted, **{k: v for k, v in config.items() if v is not None}}
    cfg = dict(DEFAULTS)
    preset = config.get("preset")
    if preset is not None:
        if preset not in PRESETS:
            raise ArgumentError(f"preset must be one of {tuple(PRESETS)} (got {preset!r})")
        cfg.update({k: v for k, v in PRESETS[preset].items() if k != "sweep"})
        if config.get("model", cfg["model"]) != PRESETS[preset]["model"]:
            cfg["model_kwargs"] = {}  # the preset's model settings belong to its own model
    unknown = set(config) - set(DEFAULTS) - set(RUNNER_KEYS) - set(TOY_KEYS)
    if unknown:
        raise ArgumentError(f"unknown torch sweep-point keys: {sorted(unknown)} (allowed: {sorted(DEFAULTS)})",
                            param="config")
    cfg.update({k: v for k, v in config.items() if k in DEFAULTS})
    if mk:  # explicit model kwargs replace the preset's
        cfg["model_kwargs"] = mk
    cfg["ignored_keys"] = sorted(k for k in config if k in TOY_KEYS)
    algo = config.get("algo")
    if algo is not None and algo not in ("sgd", "momentum"):
        raise ArgumentError(f"algo must be 'sgd' or 'momentum' on the torch backend (got {algo!r})")
    if algo == "momentum" and not float(cfg["momentum"]) > 0:
        raise ArgumentError(f"momentum must be in (0, 1) with algo 'momentum' (got {cfg['momentum']!r})")
    if config.get("T") is not None:
        T = float(cfg["lr"]) / int(cfg["batch"])
        if abs(float(config["T"]) - T) > 1e-9 * T:
            raise ArgumentError(f"T must equal lr / batch = {T!r} (got {config['T']!r})")
    if cfg["scheme"] not in ("split", "sample"):
        raise ArgumentError(f"scheme must be 'split' or 'sample' (got {cfg['scheme']!r})")
    return cfg


@functools.lru_cache(maxsize=4)
def _pool(dataset, pool, pool_seed, data_root):
    from ._data import load_dataset

    return load_dataset(dataset, num_samples=pool, seed=pool_seed, root=data_root)


def _draw_seeds(seed: int, K: int, M: int):
    """(K data seeds, K x M member seeds) of a point: child k of
    SeedSequence(seed) gives draw k's data seed and its M network seeds.
    Draw k's seeds depend on (seed, k) only, not on K, M, lr or B, so points
    that share a seed (a paired sweep: `gapkit.sims.sweep._spec.run_seed`)
    train on the same data draws with the same initialisations."""
    draws = np.random.SeedSequence(int(seed)).spawn(K)
    data_seeds, member_seeds = [], []
    for ss in draws:
        kids = ss.spawn(M + 1)
        ints = [int(k.generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> np.uint64(1)) for k in kids]
        data_seeds.append(ints[0])
        member_seeds.extend(ints[1:])
    return data_seeds, member_seeds


def _indicators(cfg, model, rec, X, y, train_idx, K, M, sgd) -> dict:
    """The ``ind_*`` columns of a point (issue 6; `gapkit.gpu._indicators.network_indicators`)
    at the end of training. Ensemble quantities are evaluated on up to 500 pool
    rows that are in no member's training set."""
    import torch

    from ._device import resolve_device, resolve_dtype, torch_threads
    from ._indicators import network_indicators

    device = resolve_device(sgd.device)
    Xt = torch.as_tensor(np.asarray(X)).to(device=device, dtype=resolve_dtype(sgd.dtype))
    yt = torch.as_tensor(np.asarray(y)).to(device)
    free = np.setdiff1d(np.arange(len(y)), np.unique(train_idx))[:500]
    with torch_threads(sgd.threads):
        return network_indicators(model, rec["params"], rec["params0"], Xt, yt, train_idx, draws=K, seeds=M,
                                  lr=sgd.lr, batch=sgd.batch, alpha=sgd.alpha, loss=sgd.loss, eval_rows=free,
                                  seed=int(cfg["seed"]))


def run_point(config: dict) -> RunResult:
    """Train the configured ensemble (K = datasets draws x M = seeds) and summarize it.

    Returns a `gapkit.sims.stats._results.RunResult`: ``config`` what ran
    (backend, model, data, lr, batch, alpha, ..., epochs, steps, T, device,
    path, n_params); ``summary`` the `Summary` of `gapkit.gpu._summary.summarize_ensemble`
    (gap and losses with intervals; extras: accuracies, acc_gap, sigma_l, fdr1,
    dist_init, the equilibration verdict and its diagnostics); ``arrays`` the
    (K, M) steady values per run, the Fig 7 epochs and the (K, M, epochs + 1)
    train and test traces; ``timings`` wall_seconds (and indicator_seconds).
    With ``config["indicators"]`` true, the summary's extras also hold the
    ``ind_*`` columns of `gapkit.gpu._indicators.network_indicators` (final state)."""
    from gapkit.sims.stats import _steady
    from gapkit.theory._validate import check_int

    from ._data import draw_split
    from ._models import build_model
    from ._summary import summarize_ensemble
    from ._train import SGDConfig, train_ensemble
    from ._user import has_batchnorm

    cfg = normalize_config(config)
    t0 = time.perf_counter()
    # One intra-op thread per point on the CPU unless asked: sweeps run points in
    # parallel processes, and small networks lose ~100x to thread hand-offs on a
    # busy machine (measured on 2 shared cores).
    threads = cfg["threads"] if cfg["threads"] is not None else (1 if str(cfg["device"]) in ("cpu", "auto") else None)
    K = check_int("datasets", cfg["datasets"], 1)
    M = check_int("seeds", cfg["seeds"], 1)
    T = float(cfg["lr"]) / int(cfg["batch"])
    if cfg["epochs"] == "paper":
        epochs = _steady.paper_epochs(T, reference_epochs=int(cfg["epochs_ref"]), reference_T=float(cfg["T_ref"]))
    else:
        epochs = check_int("epochs", cfg["epochs"], 1)
    X, y = _pool(cfg["dataset"], int(cfg["pool"]), int(cfg["pool_seed"]), cfg["data_root"])
    data_seeds, member_seeds = _draw_seeds(cfg["seed"], K, M)
    tr, te = [], []
    for s in data_seeds:
        a, b = draw_split(len(y), int(cfg["n_train"]), int(cfg["n_test"]), scheme=cfg["scheme"], seed=s)
        tr += [a] * M
        te += [b] * M
    ncls = int(y.max()) + 1
    model = build_model(cfg["model"], X.shape[1:], ncls, **dict(cfg["model_kwargs"] or {}))
    sgd = SGDConfig(lr=float(cfg["lr"]), batch=int(cfg["batch"]), epochs=epochs, alpha=float(cfg["alpha"]),
                    beta=float(cfg["beta"]), momentum=float(cfg["momentum"]), cosine=bool(cfg["cosine"]),
                    replacement=bool(cfg["replacement"]), augment=bool(cfg["augment"]), dtype=cfg["dtype"],
                    device=cfg["device"], threads=threads)
    want_ind = bool(config.get("indicators"))
    vectorize = bool(cfg["vectorize"]) and not has_batchnorm(model)  # BatchNorm: the sequential path
    rec = train_ensemble(model, X, y, np.stack(tr), np.stack(te), sgd, seeds=member_seeds,
                         vectorize=vectorize, progress=bool(cfg["progress"]), keep_params=want_ind)
    summary, per_run = summarize_ensemble(rec, K, M, window=int(cfg["window"]), cut_spikes=bool(cfg["cut_spikes"]))
    timings = {}
    if want_ind:
        t1 = time.perf_counter()
        summary.extras.update(_indicators(cfg, model, rec, X, y, np.stack(tr), K, M, sgd))
        timings["indicator_seconds"] = time.perf_counter() - t1
    timings["wall_seconds"] = time.perf_counter() - t0
    return RunResult(config=_ran(cfg, sgd, rec, K, M, epochs, T), summary=summary,
                     arrays=_arrays(per_run, rec, K, M, epochs), timings=timings)


def _ran(cfg: dict, sgd, rec: dict, K: int, M: int, epochs: int, T: float) -> dict:
    """What a point ran: its settings and the training path's metadata."""
    return {
        "backend": "torch",
        "model": cfg["model"],
        "model_kwargs": dict(cfg["model_kwargs"] or {}),
        "dataset": cfg["dataset"],
        "algo": "momentum" if sgd.momentum > 0 else "sgd",
        "lr": sgd.lr, "batch": sgd.batch, "alpha": sgd.alpha, "beta": sgd.beta, "momentum": sgd.momentum,
        "cosine": sgd.cosine, "scheme": cfg["scheme"], "n": int(cfg["n_train"]), "n_test": int(cfg["n_test"]),
        "datasets": K, "chains": M, "epochs": epochs, "steps": int(rec["steps"]), "T": T,
        "dtype": sgd.dtype, "device": rec["device"], "path": rec["path"], "n_params": int(rec["n_params"]),
        "seed": int(cfg["seed"]), "ignored_keys": ",".join(cfg["ignored_keys"]),
    }


def _arrays(per_run: dict, rec: dict, K: int, M: int, epochs: int) -> dict:
    """Per-run arrays: (K, M) steady values, Fig 7's epochs (20 evenly spaced
    epochs from the last 25% of each run) and the (K, M, epochs + 1) traces."""
    last = np.unique(np.linspace(epochs - max(1, epochs // 4) + 1, epochs, 20).round().astype(int))
    return {
        **per_run,
        "fig7_test_loss": rec["test_loss"][:, last],
        "fig7_sigma_l": rec["test_loss_std"][:, last],
        "trace_train": rec["train_loss"].reshape(K, M, -1),
        "trace_test": rec["test_loss"].reshape(K, M, -1),
    }
