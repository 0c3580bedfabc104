"""`gapkit bench`: simulator throughput against NumPy and a C reference (see `_bench.py`)."""
from __future__ import annotations

import argparse
import sys

from ._args import int_at_least
from ._main import Command, UsageError, emit_json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("numba", "torch"), default="numba",
                   help="numba (default): W1/W2 against NumPy and C; torch: the torch backend's benchmark")
    p.add_argument("--quick", action="store_true", help="small workloads (seconds; for tests and smoke runs)")
    p.add_argument("--repeats", type=int_at_least("--repeats", 1), default=3, help="timed repeats (median reported)")
    p.add_argument("--threads", type=int_at_least("--threads", 1), default=2, help="threads for Numba and C (default 2)")
    p.add_argument("--no-numpy", action="store_true", help="skip the NumPy implementation")
    p.add_argument("--no-c", action="store_true", help="skip the C reference")
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=0, help="root seed")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    if args.backend == "torch":
        import importlib

        try:
            _plugin = importlib.import_module("gapkit.gpu._plugin")
        except ImportError:
            _plugin = None
        fn = getattr(_plugin, "bench", None)
        if fn is None:
            raise UsageError("--backend torch needs the torch backend (gapkit.gpu._plugin.bench); not available")
        res = fn(args)
    else:
        from gapkit.sims.engine._bench import run_bench

        log = (lambda s: sys.stderr.write(f"gapkit bench: {s}\n")) if args.json else print
        res = run_bench(quick=args.quick, repeats=args.repeats, threads=args.threads, seed=args.seed,
                        numpy=not args.no_numpy, c=not args.no_c, log=log)
    if args.json:
        emit_json(res)
        return 0
    if args.backend == "numba":
        print(f"threads={res['threads']} repeats={res['repeats']} quick={res['quick']}  ({res['c_reference']})")
        for w in res.get("workloads", []):
            def f(x):
                return "n/a" if x is None else f"{x:.2f}"
            print(f"  {w['name']}: {w['desc']}: {w['throughput'] / 1e6:.1f} M chain-steps/s "
                  f"(min {w['throughput_min'] / 1e6:.1f}, max {w['throughput_max'] / 1e6:.1f}); "
                  f"x NumPy {f(w['ratio_vs_numpy'])}, x C {f(w['ratio_vs_c'])}")
    else:
        _print_torch(res)
    return 0


def _print_torch(res: dict) -> None:
    """Human-readable torch bench (the same numbers --json prints)."""
    print(f"torch {res.get('torch')} on {res.get('device')} ({res.get('threads')} threads)")
    ens = res.get("ensemble") or {}
    if ens:
        c = ens.get("config", {})
        print(f"  ensemble: {c.get('members')} x {c.get('model')} on {c.get('dataset')} ({c.get('dtype')}): "
              f"vmap {ens['vmap']['samples_per_s']:.0f} samples/s vs loop {ens['loop']['samples_per_s']:.0f} "
              f"samples/s -> {ens['speedup']:.2f}x")
    for dtype, r in (res.get("resnet") or {}).items():
        if isinstance(r, dict) and "seconds_per_step" in r:
            c = r.get("config", {})
            peak = r.get("fraction_of_peak")
            print(f"  resnet18 k={c.get('k')} ({c.get('params')} params), batch {c.get('batch')}, {dtype}: "
                  f"{r['seconds_per_step']:.3f} s/step, {r['samples_per_s']:.0f} samples/s"
                  + ("" if peak is None else f", {100 * peak:.1f}% of {r.get('peak_kind')} peak"))


COMMAND = Command(
    name="bench",
    help="benchmark the Numba simulators against NumPy and a C reference (workloads W1, W2)",
    add_arguments=add_arguments,
    run=run,
    description=__doc__.splitlines()[0],
)
