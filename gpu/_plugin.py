"""Registration hooks of the torch backend (imports no torch at module level).

`gapkit.sims` finds this module through the ``gapkit.plugins`` entry point and
calls `register_commands` (adds ``gapkit models`` and ``gapkit torch-sweep``)
and `register_checks` (adds ``xbackend.linreg.torch`` and, in the full
catalogue, the ``realnet.*`` INFO findings on MNIST-1D). The sweep runner
(`gapkit.sims.sweep._runner`) calls `sweep_point` for every run of a torch sweep;
``gapkit bench --backend torch`` calls `bench`. Everything that needs torch
imports it when it runs and, without torch, fails with a one-line error saying
how to install it.
"""
from __future__ import annotations

import importlib.util

__all__ = ["register", "register_commands", "register_checks", "sweep_point", "bench", "require_torch",
           "torch_sweep_spec", "TORCH_MISSING", "SWEEP_PRESETS"]

TORCH_MISSING = "the torch backend needs torch: pip install 'gapkit[gpu]'"


def require_torch() -> None:
    """Raise a one-line ValueError (CLI exit 2) when torch is not installed."""
    if importlib.util.find_spec("torch") is None:
        raise ValueError(TORCH_MISSING)


def register(*_args, **_kwargs):
    """Entry-point target; the hooks below do the work."""
    return None


# ------------------------------------------------------------------ commands
def _models_args(p) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object {'models': [...]} on stdout")


def _models_run(args) -> int:
    require_torch()
    from ._models import model_catalog, resnet_param_count_note

    rows = model_catalog()
    if args.json:
        from gapkit.sims.cli._main import emit_json

        emit_json({"models": rows, "note": resnet_param_count_note(32)})
        return 0
    print(f"{'name':<10} {'params':>12}  {'input_shape':<14} kwargs / note")
    for r in rows:
        print(f"{r['name']:<10} {r['params']:>12,}  {str(tuple(r['input_shape'])):<14} {r['kwargs']}  {r['note']}")
    print(resnet_param_count_note(32))
    return 0


# Sweep presets of the torch backend: the point settings (model, data, sizes)
# live in gapkit.gpu._run.PRESETS; the grid and replicates here (torch-free, so
# the CLI can list them without importing torch).
SWEEP_PRESETS = {
    "smoke": dict(lr_grid=[0.05, 0.1, 0.2, 0.4], batch_grid=[20], seeds=1, ref_epochs=4, T_ref=0.01),
    # 3 lr x 4 B = 12 points, 6 temperatures T = lr/B from 6.25e-3 to 0.2 (the
    # gap is flat below ~0.025 and falls to ~0 by 0.2), 6 runs per point = 72
    # runs, so that >= 48 pass the steady-state test with room to spare.
    "mnist1d-cpu": dict(lr_grid=[0.2, 0.4, 0.8], batch_grid=[4, 8, 16, 32], seeds=6,
                        ref_epochs=80, T_ref=0.1, alpha=1e-2),
}
SWEEP_MODEL = {"smoke": "mlp", "mnist1d-cpu": "mlp"}


def _sweep_args(p) -> None:
    from gapkit.sims.cli._args import float_list, int_at_least, int_list, nonneg_float, unit_interval

    p.add_argument("--preset", choices=tuple(SWEEP_PRESETS), default="smoke",
                   help="smoke: seconds (tiny MLP on MNIST-1D); mnist1d-cpu: 72 runs, MLP on MNIST-1D "
                   "(n_train 256), minutes on 2 CPU cores")
    p.add_argument("--out", required=True, metavar="DIR", help="results store (resumed if it exists)")
    p.add_argument("--lr-grid", type=float_list("--lr-grid"), metavar="L1,L2,...", help="learning rates (overrides the preset)")
    p.add_argument("--batch-grid", type=int_list("--batch-grid", 1), metavar="B1,B2,...", help="batch sizes (overrides the preset)")
    p.add_argument("--seeds", type=int_at_least("--seeds", 1), help="runs per grid point")
    p.add_argument("--alpha", type=nonneg_float("--alpha"), help="weight decay alpha")
    p.add_argument("--momentum", type=unit_interval("--momentum"), help="momentum mu (PyTorch form, Eq 16)")
    p.add_argument("--cosine", action="store_true", help="cosine learning-rate schedule (T from the initial lr)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu", help="torch device (cuda: error if absent)")
    p.add_argument("--dtype", choices=("float32", "float64", "tf32", "bf16"), default="float32",
                   help="float32 (default); tf32/bf16 are speed options on CUDA")
    p.add_argument("--workers", type=int_at_least("--workers", 1), help="local worker processes (1: in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask distributed scheduler address")
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=0, help="root seed")
    p.add_argument("--indicators", action="store_true",
                   help="also compute the network indicators at each run's end (ind_* columns for `gapkit score`)")
    p.add_argument("--no-figures", action="store_true", help="skip the figure panels")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def torch_sweep_spec(preset: str = "smoke", **overrides):
    """The `gapkit.sims.sweep._runner.SweepSpec` of a torch sweep preset; the point
    settings travel in model_kwargs (lifted out again by `sweep_point`)."""
    from gapkit.sims.sweep._spec import make_spec

    if preset not in SWEEP_PRESETS:
        raise ValueError(f"preset must be one of {tuple(SWEEP_PRESETS)} (got {preset!r})")
    point = {"preset": preset}
    for k in ("device", "dtype"):
        if overrides.get(k) is not None:
            point[k] = overrides.pop(k)
    base = dict(SWEEP_PRESETS[preset])
    if overrides.get("T_grid") is not None:  # a T grid replaces the preset's lr grid (lr = T B)
        base.pop("lr_grid", None)
    base.update({k: v for k, v in overrides.items() if v is not None})
    algo = "momentum" if base.get("momentum") else "sgd"
    return make_spec(SWEEP_MODEL[preset], preset=None, backend="torch", algo=algo, model_kwargs=point, **base)


def _sweep_run(args) -> int:
    require_torch()
    from ._device import resolve_device  # fail fast on --device cuda without CUDA
    from gapkit.sims.sweep._runner import run_sweep

    resolve_device(args.device)
    spec = torch_sweep_spec(args.preset, lr_grid=args.lr_grid, batch_grid=args.batch_grid, seeds=args.seeds,
                            alpha=args.alpha, momentum=args.momentum, cosine=bool(args.cosine) or None,
                            device=args.device, dtype=args.dtype, root_seed=args.seed,
                            indicators=bool(args.indicators) or None)
    summary = run_sweep(spec, args.out, scheduler=args.scheduler, workers=args.workers, progress=not args.json,
                        figures=not args.no_figures)
    if args.json:
        from gapkit.sims.cli._main import emit_json

        emit_json(summary)
        return 0
    print(f"runs: {summary['runs_total']} total, {summary['runs_reused']} reused, {summary['runs_computed']} computed "
          f"({summary.get('wall_seconds', float('nan')):.1f} s); not at steady state: {summary.get('not_steady')}")
    for k in ("A", "B", "C"):
        f = summary.get(k) or {}
        print(f"{f.get('prediction', k)}: {f.get('holds')} ({f.get('reason')})")
    print(f"table: {summary.get('table')}")
    return 0


def register_commands(add_command) -> None:
    from gapkit.sims.cli._main import Command

    add_command(Command(
        name="torch-sweep",
        help="temperature sweep of a network with the torch backend (presets smoke, mnist1d-cpu; needs torch)",
        add_arguments=_sweep_args,
        run=_sweep_run,
        description="Temperature sweep on a real network (MNIST-1D MLP presets) through the same results "
        "store, executors, Eq 1 fit and A/B/C report as `gapkit sweep`.",
    ))

    add_command(Command(
        name="models",
        help="list the torch backend's networks with their parameter counts (needs torch)",
        add_arguments=_models_args,
        run=_models_run,
        description="List every network of the torch backend (linear, MLP, small CNN, width-k "
        "pre-activation ResNet-18) with its documented configurations, parameter count and input shape.",
    ))


# ------------------------------------------------------------------ checks
def _xbackend_linreg(ctx):
    from ._cross_backend import xbackend_linreg

    return xbackend_linreg(ctx)


def _realnet(ctx):
    from ._real_network import realnet_findings

    return realnet_findings(ctx)


def register_checks() -> None:
    from gapkit.sims.verify._registry import register_check

    register_check(ids=["xbackend.linreg.torch"], quick=True, requires=("torch",))(_xbackend_linreg)
    # the paper's real-network findings on MNIST-1D: INFO rows, minutes, --full only
    register_check(ids=["realnet."], quick=False, requires=("torch", "mnist1d"))(_realnet)


# ------------------------------------------------------------------ sweep / bench
def sweep_point(config: dict) -> dict:
    """Train one configured ensemble with the torch backend and summarize it.

    config keys (defaults in `gapkit.gpu._run.DEFAULTS`): dataset, model,
    model_kwargs, lr, batch, alpha, beta, momentum, cosine, epochs (int or
    "paper": N(T) of Appendix E scaled by epochs_ref), datasets (data draws K),
    seeds (members per draw M), n_train, n_test, scheme ('split'|'sample'),
    replacement, augment, pool, pool_seed, data_root, device, dtype, seed,
    window, cut_spikes, vectorize, progress, preset; and ``indicators`` (bool,
    set by ``gapkit torch-sweep --indicators`` / the sweep spec): then the result
    also holds the ind_* columns of `gapkit.gpu._indicators.network_indicators`
    (parameter norm, distance from init, Hessian trace and top eigenvalue,
    gradient diversity tr D, sharpness dimension, inconsistency / instability)
    at the end of training, and ``indicator_seconds``.
    Returns the scalar keys of the Numba ``simulate`` (gap, gap_ci95,
    train_loss(_ci95), test_loss(_ci95), diverged, T, wall_seconds, ...) plus
    acc_gap, test_acc, train_acc, sigma_l, fdr1, dist_init, equilibrated,
    dtype, device, and small numpy arrays under "arrays".
    """
    require_torch()
    if not isinstance(config, dict):
        raise ValueError(f"config must be a dict (got {type(config).__name__})")
    from ._run import run_point

    return run_point(config)


def bench(args) -> dict:
    """Throughput of the torch backend (see `gapkit.gpu._bench.run_bench`).
    `args`: an argparse Namespace or a dict (device, dtype, members, steps, repeats, quick, seed)."""
    require_torch()
    from ._bench import run_bench

    return run_bench(args)
