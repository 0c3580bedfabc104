"""The torch backend's registration (imports no torch at module level).

gapkit finds this module through the ``gapkit.plugins`` entry point and calls
`register`, which adds the torch backend to the backend registry
(`gapkit.sims._backends`): its sweep point (`sweep_point`), sweep presets
(`gapkit.gpu._run.PRESETS`, run length by the Appendix E epoch rule), the
options it adds to ``gapkit sweep`` and ``gapkit bench`` (--device, --dtype,
--dataset), its benchmark and the printer of its result, the commands
``gapkit torch-sweep`` (an alias of ``gapkit sweep --backend torch --device cpu
--dtype float32``) and ``gapkit models``, and its checks
(``cross_backend.linreg.torch`` and, in the full catalogue, the ``realnet.*`` INFO
findings on MNIST-1D). Everything that needs torch imports it when it runs
and, without torch, fails with a one-line error saying how to install it.
"""
from __future__ import annotations

import copy
import importlib.util
import types
from pathlib import Path

from gapkit.sims._settings import install_hint
from gapkit.theory._validate import ArgumentError

from ._run import PRESETS

__all__ = ["register", "sweep_point", "sweep_preset", "bench", "print_bench", "require_torch", "torch_sweep_spec",
           "TORCH_MISSING", "SWEEP_PRESETS"]

TORCH_MISSING = f"the torch backend needs torch: {install_hint('torch')}"
DEVICES = ("auto", "cpu", "cuda")  # = gapkit.gpu._device.DEVICES (that module imports torch)
DTYPES = ("float32", "float64", "tf32", "bf16")  # = gapkit.gpu._device.DTYPES


def require_torch() -> None:
    """Raise a one-line ArgumentError (CLI exit 2) when torch is not installed."""
    if importlib.util.find_spec("torch") is None:
        raise ArgumentError(TORCH_MISSING, param="backend")


# ------------------------------------------------------------------ sweeps
_SWEEPABLE = tuple(k for k, v in PRESETS.items() if "sweep" in v)


def sweep_preset(name: str) -> dict:
    """The `SweepSpec` fields of the sweep preset `name` (`gapkit.gpu._run.PRESETS`):
    its grid and replicates, the epoch rule's reference (epochs_ref epochs at
    T_ref), its weight decay and model; the point settings travel in
    model_kwargs as {"preset": name} (lifted out again by `sweep_point`)."""
    if name not in _SWEEPABLE:
        raise ArgumentError(f"preset must be one of {', '.join(_SWEEPABLE)} (got {name!r})", param="preset")
    p = copy.deepcopy(PRESETS[name])
    return {**p["sweep"], "ref_epochs": p["epochs_ref"], "T_ref": p["T_ref"], "alpha": p.get("alpha", 0.0),
            "model": p["model"], "model_kwargs": {"preset": name}}


# the presets a sweep can run, as SweepSpec fields (a read-only view of PRESETS)
SWEEP_PRESETS = types.MappingProxyType({k: sweep_preset(k) for k in _SWEEPABLE})


def torch_sweep_spec(preset: str = "smoke", **overrides):
    """The `SweepSpec` of a torch sweep preset (`sweep_preset`), `overrides` on
    top (None ignored); device and dtype go to the point settings; the
    algorithm is momentum when a momentum is given, else plain SGD."""
    from gapkit.sims.sweep._spec import make_spec

    point = dict(overrides.pop("model_kwargs", None) or {})  # the caller's point settings, then device/dtype
    point.update({k: overrides.pop(k) for k in ("device", "dtype") if overrides.get(k) is not None})
    if overrides.get("algo") is None:
        overrides["algo"] = "momentum" if overrides.get("momentum") else "sgd"
    return make_spec(None, preset=preset, backend="torch", model_kwargs=point, **overrides)


def _dataset_name(text: str) -> str:
    """--dataset: a built-in name or an existing .npz file (argparse type: one-line error otherwise)."""
    import argparse
    from pathlib import Path

    if text in ("mnist1d", "digits", "cifar10") or (text.endswith(".npz") and Path(text).is_file()):
        return text
    raise argparse.ArgumentTypeError(f"must be mnist1d, digits, cifar10 or an existing .npz file (got {text!r})")


def _sweep_options(group) -> None:
    group.add_argument("--dataset", type=_dataset_name, default=None, metavar="NAME|PATH.npz",
                       help="the data set: mnist1d, digits, cifar10 or your own .npz with arrays X, y "
                            "(default: the preset's, mnist1d)")
    group.add_argument("--data-root", metavar="DIR", default=None,
                       help="local CIFAR-10 directory (python-pickle batches; nothing is downloaded)")
    group.add_argument("--device", choices=DEVICES, default=None,
                       help="the device (default: the preset's, cpu; cuda: error if absent)")
    group.add_argument("--dtype", choices=DTYPES, default=None,
                       help="float32 (default); tf32/bf16 are speed options on CUDA")


def _sweep_settings(args) -> dict:
    """`gapkit sweep` options -> SweepSpec overrides: the point settings given,
    and the algorithm from the momentum (momentum when one is given)."""
    point = {k: getattr(args, k) for k in ("device", "dtype", "dataset") if getattr(args, k, None) is not None}
    if getattr(args, "data_root", None) is not None:
        point["data_root"] = str(Path(args.data_root).expanduser().resolve())
    return {"algo": "momentum" if args.momentum else "sgd", "model_kwargs": point}


def _preflight(spec) -> None:
    """torch installed, the device present and the first run's point settings
    valid (`gapkit.gpu._run.normalize_config`: label_noise, ghost_batch, ...),
    before any run starts."""
    require_torch()
    from gapkit.sims.sweep._spec import build_runs

    from ._device import resolve_device
    from ._run import normalize_config

    resolve_device(str(spec.model_kwargs.get("device") or "cpu"))
    normalize_config(build_runs(spec)[0])


def sweep_point(config: dict):
    """Train one configured ensemble with the torch backend and summarize it
    (`gapkit.gpu._run.run_point`; config keys and defaults in
    `gapkit.gpu._run.DEFAULTS`, a preset's in `gapkit.gpu._run.PRESETS`).
    Returns the `gapkit.sims.stats._results.RunResult` of every backend:
    ``.summary`` (gap and losses with 95% half-widths; extras: train_acc,
    test_acc, acc_gap, sigma_l, fdr1, dist_init, equilibrated and the
    verdict's drift/eq_* diagnostics), ``.arrays`` (per-run steady values,
    traces), ``.config`` (what ran), ``.timings``. With
    ``config["indicators"]`` the summary's extras also hold the ind_* columns of
    `gapkit.gpu._indicators.network_indicators` at the end of training."""
    require_torch()
    if not isinstance(config, dict):
        raise ArgumentError(f"config must be a dict (got {type(config).__name__})", param="config")
    from ._run import run_point

    return run_point(config)


def _indicators(result, config: dict) -> dict:
    """The sweep's baseline column ind_T = lr / B; the network indicators
    themselves come from `sweep_point` (they need the trained networks)."""
    return {"ind_T": float(config["lr"]) / int(config["batch"])}


# ------------------------------------------------------------------ bench
def _bench_options(group) -> None:
    group.add_argument("--device", choices=DEVICES, default=None, help="the device (default auto)")
    group.add_argument("--dtype", choices=DTYPES, default=None,
                       help="float32 (default on the CPU; CUDA runs the ResNet in tf32 and bf16)")


def bench(args) -> dict:
    """Throughput of the torch backend (see `gapkit.gpu._bench.run_bench`).
    `args`: an argparse Namespace or a dict (device, dtype, members, steps, repeats, quick, seed)."""
    require_torch()
    from ._bench import run_bench

    return run_bench(args)


def print_bench(res: dict) -> None:
    """Human-readable torch bench (the same numbers --json prints)."""
    print(f"torch {res.get('torch')} on {res.get('device')} ({res.get('threads')} threads)")
    ens = res.get("ensemble") or {}
    if ens:
        c = ens.get("config", {})
        print(f"  ensemble: {c.get('members')} x {c.get('model')} on {c.get('dataset')} ({c.get('dtype')}): "
              f"vmap {ens['vmap']['samples_per_s']:.0f} samples/s vs loop {ens['loop']['samples_per_s']:.0f} "
              f"samples/s -> {ens['speedup']:.2f}x"
              + (f" (median of {len(ens['pair_speedups'])} paired repeats' ratios)" if ens.get("pair_speedups") else ""))
        print(f"    gradients: vmap path {ens['vmap'].get('gradient')}; loop {ens['loop'].get('gradient')}")
    sde = res.get("torchsde_w1")
    print("  W1 vs torchsde: torchsde not installed (skipped)" if sde is None else
          f"  W1 vs torchsde {sde['torchsde']} (sdeint {sde['method']}, {sde['noise_type']} {sde['sde_type']}, "
          f"dt {sde['dt']}, {sde['dtype']}, {sde['chains']} chains x {sde['steps']} steps, {sde['threads']} torch / "
          f"{sde['numba_threads']} Numba threads; {sde['repeats']} paired repeats, Numba the median of "
          f"{sde.get('numba_repeats', 1)} runs in each, ratios the medians of the repeats' ratios): Numba {sde['numba_chain_steps_per_s'] / 1e6:.1f} M vs torchsde "
          f"{sde['torchsde_chain_steps_per_s'] / 1e6:.2f} M chain-steps/s -> {sde['numba_over_torchsde']:.0f}x "
          f"(torchsde's default Brownian motion)" +
          ("" if "tuned_chain_steps_per_s" not in sde else
           f"\n    tuned torchsde, {sde['tuned_brownian']}: {sde['tuned_chain_steps_per_s'] / 1e6:.2f} M "
           f"chain-steps/s -> {sde['numba_over_tuned']:.0f}x"))
    for dtype, r in (res.get("resnet") or {}).items():
        if isinstance(r, dict) and "seconds_per_step" in r:
            c = r.get("config", {})
            peak = r.get("fraction_of_peak")
            print(f"  resnet18 k={c.get('k')} ({c.get('params')} params), batch {c.get('batch')}, {dtype}: "
                  f"{r['seconds_per_step']:.3f} s/step, {r['samples_per_s']:.0f} samples/s"
                  + ("" if peak is None else f", {100 * peak:.1f}% of {r.get('peak_kind')} peak"))


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


def _commands() -> list:
    from gapkit.sims.cli._main import Command
    from gapkit.sims.cli._sweep import sweep_alias

    return [
        sweep_alias(
            "torch-sweep", backend="torch", device="cpu", dtype="float32",
            help="temperature sweep of a network with the torch backend (presets smoke, mnist1d-cpu; needs torch)",
            description="Temperature sweep on a real network (MNIST-1D MLP presets): `gapkit sweep --backend "
            "torch --device cpu --dtype float32`, the model from the preset unless --model names one.",
        ),
        Command(
            name="models",
            help="list the torch backend's networks with their parameter counts (needs torch)",
            add_arguments=_models_args,
            run=_models_run,
            description="List every network of the torch backend (linear, MLP, small CNN, width-k "
            "pre-activation ResNet-18) with its documented configurations, parameter count and input shape.",
        ),
    ]


# ------------------------------------------------------------------ checks
def _cross_backend_linreg(ctx):
    from ._cross_backend import cross_backend_linreg

    return cross_backend_linreg(ctx)


def _realnet(ctx):
    from ._real_network import realnet_findings

    return realnet_findings(ctx)


def _register_checks() -> None:
    from gapkit.sims._backends import get_backend
    from gapkit.sims.verify._registry import register_check, register_warmup

    register_check(ids=["cross_backend.linreg.torch"], quick=True, requires=("torch",))(_cross_backend_linreg)
    # the cross-backend check runs the Numba simulator too: it needs that backend's warm-up
    numba = get_backend("numba")
    register_warmup(modules=[__name__], start=numba.warmup_start)(numba.warmup)
    # the paper's real-network findings on MNIST-1D: INFO rows, minutes, --full only
    register_check(ids=["realnet."], quick=False, requires=("torch", "mnist1d"))(_realnet)


# ------------------------------------------------------------------ registration
def _backend():
    from gapkit.sims._backends import Backend

    return Backend(
        name="torch",
        run_point=sweep_point,
        help="networks on torch (CPU or CUDA)",
        presets=tuple(SWEEP_PRESETS),
        sweep_preset=sweep_preset,
        run_length="epochs",
        preflight=_preflight,
        indicators=_indicators,
        sweep_options=_sweep_options,
        sweep_settings=_sweep_settings,
        bench_options=_bench_options,
        bench=bench,
        print_bench=print_bench,
        commands=_commands,
        register_checks=_register_checks,
    )


def register() -> None:
    """Entry-point target (``gapkit.plugins``): adds the torch backend to the registry."""
    from gapkit.sims._backends import register_backend

    register_backend(_backend())
