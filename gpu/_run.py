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
import math
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
    "spike_cut_min_batch": 1,  # the late-spike cut only for B >= this (the paper: 1000)
    "vectorize": True,
    "progress": False,
    "threads": None,       # CPU intra-op threads while training (None: 1 on CPU, see run_point)
    "extend": False,       # run a run that fails the steady-state test longer (up to max_epoch_factor x epochs)
    "max_epoch_factor": 2.0,
    "ghost_batch": 0,      # ghost batch norm over chunks of this many examples (Hoffer et al.; 0: off; needs BatchNorm)
    "label_noise": 0.0,    # fraction of training labels flipped, per data draw (Fu et al.; gpu._data.noisy_training_pool)
    "hessian": False,      # top Hessian eigenvalue of each member's train loss at the end (Lanczos)
}

# Keys the sweep runner (gapkit.sims.sweep._runner) puts in a run's config that are not
# training settings: checked for consistency (algo, T) or only recorded.
RUNNER_KEYS = ("preset", "backend", "algo", "T", "T_eff", "replicate", "root_seed", "indicators", "capped")
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
    # Train longer, generalize better (Hoffer, Hubara & Soudry 2017): the small-batch
    # recipe (lr 0.1 at B_S = 16, 20 epochs) carried to B = 64, 256 with lr x sqrt(B / 16),
    # epochs x B / 16 (the same number of updates) and ghost batch norm over 16
    # examples (an MLP with BatchNorm1d: the sequential path).
    "mnist1d-train-longer": {"dataset": "mnist1d", "model": "mlp", "model_kwargs": {"hidden": [64, 64], "norm": "batch"},
                             "pool": 4000, "n_train": 1024, "n_test": 1000, "epochs_ref": 20, "T_ref": 0.1 / 16,
                             "window": 5, "datasets": 2, "seeds": 1, "threads": 1,
                             "sweep": {"lr_grid": [0.1], "batch_grid": [16, 64, 256], "seeds": 2,
                                       "train_longer": {"batch_small": 16, "epochs_small": 20, "ghost_batch": 16}}},
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
    # The paper's regime on 2 CPU cores (issue 11): sklearn's 8x8 digits (1797
    # images), MLP 64-128-10, cross-entropy, alpha = 2e-4, n_train = 1000, the
    # other 797 as the test set. alpha = 5e-4 (the first version) held train
    # loss at its weight-decay floor 0.0126 against test loss 0.088 (ratio 0.14,
    # not the paper's "train loss far below test loss"); pilots (T_eff = 0.01,
    # B = 64, sgd, K = 2, same rescaled time 4000): alpha = 2e-4 train 0.0055 /
    # test 0.091 (ratio 0.060, test acc 97.3%); 1e-4: 0.0027 / 0.103 (0.026,
    # 97.0%, extended); n_train = 500 at 5e-4: 0.0093 / 0.149 (0.063, 95.5%).
    # Run length: rescaled time 15000 = 3 / alpha (weight decay relaxes in 1 / alpha;
    # the first version's 4000 was 0.8 / alpha at 2e-4), or 200 epochs where that is
    # longer at some B of the same T (`rescaled_time`: equal time per T also at the
    # hot end). Cost at 15000 with the MLP fast path: 981 CPU s for the 30 runs.
    # First pilot (alpha = 5e-4, 2 shared cores): T_eff = 0.03 reaches
    # train loss 0.014, train acc 100%, test loss 0.093, test acc 97.4%; T_eff =
    # 0.1 does not learn (10% accuracy); T_eff = 3e-3 and 0.012 (B = 64, 16):
    # train acc 100%, test acc 97.5%, train loss 0.013 (weight decay's floor).
    # Grid: T_eff = lr_eff / B (lr_eff = lr / (1 - mu)) a factor 2.5 apart from
    # 4e-3 to 0.15 at B = 16 and 64 (a factor 4), for plain SGD, momentum 0.9
    # (lr = lr_eff (1 - mu)) and momentum + cosine ("variants"); every run the
    # same rescaled time lr_eff x updates at each T (see "Run length" above; at
    # least 200 epochs, four 50-epoch windows); a run that fails the steady-state test
    # runs on, up to 2x its epochs. K = 4 data splits x 1 initialisation per run.
    # Cost, measured at alpha = 5e-4: the 30 runs took 954 CPU s (1.7 ms per update, 26 ms per
    # epoch's evaluation), ~8 min on 2 idle cores (the 6-point factor-2 grid
    # from 3e-3 was estimated at ~14.5 min).
    "paper-digits": {"dataset": "digits", "model": "mlp", "model_kwargs": {"hidden": [128]},
                     "n_train": 1000, "n_test": 797, "alpha": 2e-4, "epochs": 200, "epochs_ref": 200, "T_ref": 0.02,
                     "window": 50, "datasets": 4, "seeds": 1, "threads": 1, "extend": True, "max_epoch_factor": 2.0,
                     "hessian": True,
                     "sweep": {"T_grid": [4e-3, 1e-2, 2.5e-2, 6e-2, 0.15], "batch_grid": [16, 64],
                               "seeds": 1, "time": 15000.0, "burn_time": 0.0, "min_epochs": 200, "n": 1000,
                               "epoch_rule": "rescaled",
                               "variants": [{"algo": "sgd"}, {"algo": "momentum", "momentum": 0.9},
                                            {"algo": "momentum", "momentum": 0.9, "cosine": True}]}},
    # The paper's ResNet protocol (Section 3, Appendix E; needs CIFAR-10 in its
    # python-pickle format at a local path, `--set data_root=DIR`, and a GPU):
    # PreActResNet-18 k = 32 (2,796,202 parameters) with BatchNorm (so the
    # sequential path), the merged 60k pool split 50k / 10k per draw,
    # augmentation (crop + flip) on train AND test, alpha = 5e-4, learning rates
    # 0.0075-0.1 and batch sizes 80-2000 (T = initial lr / B from 3.75e-6 to
    # 1.25e-3), epochs N(T) = 300 max(1, min(4, 1 + (2e-4 / T - 1) / 4)),
    # steady value the median of the last 50 epochs, the late-spike cut only for
    # B >= 1000; variants momentum 0.9 + cosine (Fig 1) and plain SGD, T = lr / B
    # of the initial lr as in the paper (no effective-unit rescaling).
    "cifar10-resnet": {"dataset": "cifar10", "model": "resnet18", "model_kwargs": {"k": 32, "norm": "batch"},
                       "n_train": 50000, "n_test": 10000, "momentum": 0.9, "alpha": 5e-4, "cosine": True,
                       "epochs": "paper", "epochs_ref": 300, "T_ref": 2e-4, "augment": True, "window": 50,
                       "cut_spikes": True, "spike_cut_min_batch": 1000, "vectorize": False, "device": "auto",
                       "threads": None, "datasets": 2, "seeds": 1,
                       "sweep": {"lr_grid": [0.0075, 0.015, 0.03, 0.06, 0.1], "batch_grid": [80, 200, 500, 1000, 2000],
                                 "seeds": 1, "effective_units": False,
                                 "variants": [{"algo": "momentum", "momentum": 0.9, "cosine": True},
                                              {"algo": "sgd"}]}},
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
    if config.get("T_eff") is not None:
        T_eff = float(cfg["lr"]) / ((1.0 - float(cfg["momentum"])) * int(cfg["batch"]))
        if abs(float(config["T_eff"]) - T_eff) > 1e-9 * T_eff:
            raise ArgumentError(f"T_eff must equal lr / ((1 - momentum) batch) = {T_eff!r} (got {config['T_eff']!r})")
    if cfg["scheme"] not in ("split", "sample"):
        raise ArgumentError(f"scheme must be 'split' or 'sample' (got {cfg['scheme']!r})")
    from gapkit.theory._validate import check_int, check_interval

    cfg["ghost_batch"] = check_int("ghost_batch", cfg["ghost_batch"], 0)
    cfg["label_noise"] = check_interval("label_noise", cfg["label_noise"], 0.0, 1.0, closed_right=False)
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


def _indicators(cfg, model, rec, X, y, train_idx, K, M, sgd, origin) -> dict:
    """The ``ind_*`` columns of a point (issue 6; `gapkit.gpu._indicators.network_indicators`)
    at the end of training. Ensemble quantities are evaluated on up to 500 pool
    rows that are in no member's training set (origin: the pool row each row of
    X copies, `gapkit.gpu._data.noisy_training_pool`)."""
    import torch

    from ._device import resolve_device, resolve_dtype, torch_threads
    from ._indicators import network_indicators

    device = resolve_device(sgd.device)
    Xt = torch.as_tensor(np.asarray(X)).to(device=device, dtype=resolve_dtype(sgd.dtype))
    yt = torch.as_tensor(np.asarray(y)).to(device)
    free = np.setdiff1d(np.arange(len(origin)), origin[np.unique(train_idx)])
    free = free[free == origin[free]][:500]  # original pool rows with their true labels
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

    from ._data import draw_split, noisy_training_pool
    from ._models import build_model
    from ._summary import summarize_ensemble
    from ._train import SGDConfig, train_ensemble
    from ._user import has_batchnorm

    cfg = normalize_config(config)
    t0, c0 = time.perf_counter(), time.process_time()
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
    X, y, sets, origin = noisy_training_pool(X, y, np.stack(tr[::M]), cfg["label_noise"], seed=int(cfg["seed"]),
                                             n_classes=ncls)
    tr = list(np.repeat(sets, M, axis=0))
    model = build_model(cfg["model"], X.shape[1:], ncls, **dict(cfg["model_kwargs"] or {}))
    if cfg["ghost_batch"]:
        from ._models import use_ghost_batch_norm

        use_ghost_batch_norm(model, cfg["ghost_batch"])
    sgd = SGDConfig(lr=float(cfg["lr"]), batch=int(cfg["batch"]), epochs=epochs, alpha=float(cfg["alpha"]),
                    beta=float(cfg["beta"]), momentum=float(cfg["momentum"]), cosine=bool(cfg["cosine"]),
                    replacement=bool(cfg["replacement"]), augment=bool(cfg["augment"]), dtype=cfg["dtype"],
                    device=cfg["device"], threads=threads)
    want_ind = bool(config.get("indicators"))
    extend, max_epochs = _extension(cfg, sgd, K, M, epochs)
    rec = train_ensemble(model, X, y, np.stack(tr), np.stack(te), sgd, seeds=member_seeds,
                         vectorize=bool(cfg["vectorize"]) and not has_batchnorm(model),  # BatchNorm: the sequential path
                         progress=bool(cfg["progress"]),
                         keep_params=want_ind or bool(cfg["hessian"]), extend=extend, max_epochs=max_epochs)
    epochs = int(rec["epochs"])
    cut = bool(cfg["cut_spikes"]) and sgd.batch >= int(cfg["spike_cut_min_batch"])
    summary, per_run = summarize_ensemble(rec, K, M, window=int(cfg["window"]), cut_spikes=cut)
    summary.extras.update(_effective(sgd), epochs_planned=int(sgd.epochs), extended_epochs=int(rec["extended_epochs"]))
    timings = {}
    if cfg["hessian"]:
        t1 = time.perf_counter()
        summary.extras.update(_hessian_edge(cfg, model, rec, X, y, np.stack(tr), sgd, per_run["diverged"].ravel()))
        timings["hessian_seconds"] = time.perf_counter() - t1
    if want_ind:
        t1 = time.perf_counter()
        summary.extras.update(_indicators(cfg, model, rec, X, y, np.stack(tr), K, M, sgd, origin))
        timings["indicator_seconds"] = time.perf_counter() - t1
    timings["wall_seconds"] = time.perf_counter() - t0
    timings["cpu_seconds"] = time.process_time() - c0  # this process's CPU time: what a shared machine does not inflate
    return RunResult(config=_ran(cfg, sgd, rec, K, M, epochs, T), summary=summary,
                     arrays=_arrays(per_run, rec, K, M, epochs), timings=timings)


def _effective(sgd) -> dict:
    """lr_eff = lr / (1 - mu) and T_eff = lr_eff / B: the step and temperature
    of the SDE that momentum SGD approximates (Eq 16; plain SGD: lr and T), the
    x axis on which variants at equal T_eff should collapse."""
    lr_eff = float(sgd.lr) / (1.0 - float(sgd.momentum))
    return {"lr_eff": lr_eff, "T_eff": lr_eff / int(sgd.batch)}


def _extension(cfg: dict, sgd, K: int, M: int, epochs: int):
    """(extend, max_epochs) for `train_ensemble`: with cfg["extend"] (and a
    constant learning rate), a run whose train-loss trace fails the one
    steady-state verdict (`gapkit.sims.stats._equilibration.run_verdict`, the
    call the sweep runner makes) trains on by half its planned length at a
    time, up to max_epoch_factor x epochs; a run still failing then is
    reported as not steady. (None, None) when extension is off."""
    if not cfg["extend"] or sgd.cosine:
        return None, None
    from gapkit.sims.stats._equilibration import run_verdict
    from gapkit.theory._validate import check_interval

    factor = check_interval("max_epoch_factor", float(cfg["max_epoch_factor"]), 1.0, 100.0)
    step = max(1, epochs // 2)

    def extend(rec: dict) -> int:
        trace = np.asarray(rec["train_loss"], dtype=np.float64).reshape(K, M, -1)
        return 0 if run_verdict(trace, {"epochs": trace.shape[-1] - 1})["steady"] else step

    return extend, int(math.ceil(factor * epochs))


def _hessian_edge(cfg, model, rec, X, y, train_idx, sgd, diverged) -> dict:
    """Top eigenvalue of each member's regularized train-loss Hessian at the end
    of training (Lanczos, 20 steps, `gapkit.gpu._estimators.hessian_top_eigs`,
    plus alpha) against the stability edge 2 (1 + mu) / lr of the update (Eq
    16; 2 / lr for plain SGD): hess_top (median over surviving members),
    stability_edge, and edge_ratio = hess_top / stability_edge (> 1: the
    quadratic approximation of the minimum is unstable, a breakdown the edge
    explains)."""
    import torch

    from ._device import resolve_dtype, torch_threads
    from ._estimators import hessian_top_eigs, member_params

    P = rec["params"]
    Xt = torch.as_tensor(np.asarray(X)).to(dtype=resolve_dtype(sgd.dtype))
    yt = torch.as_tensor(np.asarray(y))
    tops = np.full(len(train_idx), np.nan)
    gen = torch.Generator().manual_seed(int(cfg["seed"]) % (2**63))
    with torch_threads(sgd.threads):
        for e, rows in enumerate(train_idx):
            if diverged[e]:
                continue
            p = {k: v.detach().cpu() for k, v in member_params(P, e).items()}
            rows = torch.as_tensor(rows)
            tops[e] = float(hessian_top_eigs(model.cpu(), p, Xt[rows], yt[rows], sgd.loss, k=1, iters=20,
                                             generator=gen)[0]) + float(sgd.alpha)
    edge = 2.0 * (1.0 + float(sgd.momentum)) / float(sgd.lr)
    top = float(np.nanmedian(tops)) if np.isfinite(tops).any() else float("nan")
    return {"hess_top": top, "hess_top_max": float(np.nanmax(tops)) if np.isfinite(tops).any() else float("nan"),
            "stability_edge": edge, "edge_ratio": top / edge}


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
        "label_noise": float(cfg["label_noise"]), "ghost_batch": int(cfg["ghost_batch"]),
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
        "trace_train_acc": rec["train_acc"].reshape(K, M, -1),
        "trace_test_acc": rec["test_acc"].reshape(K, M, -1),
    }
