"""Registration hooks of the torch backend (imports no torch at module level).

`gapkit.sims` finds this module through the ``gapkit.plugins`` entry point and
calls `register_commands` / `register_checks`. The sweep runner calls
`sweep_point` for ``gapkit sweep --backend torch``; ``gapkit bench --backend
torch`` calls `bench`. Everything that needs torch imports it when it runs
and, without torch, fails with a one-line error saying how to install it.
"""
from __future__ import annotations

import importlib.util

__all__ = ["register", "register_commands", "register_checks", "sweep_point", "bench", "require_torch", "TORCH_MISSING"]

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
        from gapkit.sims._cli import emit_json

        emit_json({"models": rows, "note": resnet_param_count_note(32)})
        return 0
    print(f"{'name':<10} {'params':>12}  {'input_shape':<14} kwargs / note")
    for r in rows:
        print(f"{r['name']:<10} {r['params']:>12,}  {str(tuple(r['input_shape'])):<14} {r['kwargs']}  {r['note']}")
    print(resnet_param_count_note(32))
    return 0


def register_commands(add_command) -> None:
    from gapkit.sims._cli import Command

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
    from ._xcheck import xbackend_linreg

    return xbackend_linreg(ctx)


def register_checks() -> None:
    from gapkit.sims._checks import register_check

    register_check(ids=["xbackend.linreg.torch"], quick=True, requires=("torch",))(_xbackend_linreg)


# ------------------------------------------------------------------ sweep / bench
def sweep_point(config: dict) -> dict:
    """Train one configured ensemble with the torch backend and summarize it.

    config keys (defaults in `gapkit.gpu._run.DEFAULTS`): dataset, model,
    model_kwargs, lr, batch, alpha, beta, momentum, cosine, epochs (int or
    "paper": N(T) of Appendix E scaled by epochs_ref), datasets (data draws K),
    seeds (members per draw M), n_train, n_test, scheme ('split'|'sample'),
    replacement, augment, pool, pool_seed, data_root, device, dtype, seed,
    window, cut_spikes, vectorize, progress, preset.
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
