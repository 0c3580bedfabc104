"""`gapkit bench`: simulator throughput against NumPy and a C reference.

The backend registry (`gapkit.sims._backends`) supplies each backend's benchmark,
its options and the printer of its result."""
from __future__ import annotations

import argparse

from ._args import int_at_least
from ._main import Command, UsageError, emit_json


def add_arguments(p: argparse.ArgumentParser) -> None:
    from gapkit.sims._backends import backends

    bks = backends()
    p.add_argument("--backend", choices=tuple(b.name for b in bks), default="numba",
                   help="the backend to benchmark: numba (default): W1/W2 against NumPy and C; "
                   + "; ".join(f"{b.name}: {b.help}" for b in bks if b.name != "numba" and b.bench is not None))
    p.add_argument("--quick", action="store_true", help="small workloads (seconds; for tests and smoke runs)")
    p.add_argument("--repeats", type=int_at_least("--repeats", 1, 1000), default=3, help="timed repeats (median reported)")
    p.add_argument("--threads", type=int_at_least("--threads", 1, 1024), default=2, help="threads for Numba and C (default 2)")
    p.add_argument("--no-numpy", action="store_true", help="skip the NumPy implementation")
    p.add_argument("--no-c", action="store_true", help="skip the C reference")
    p.add_argument("--symbolic", action="store_true",
                   help="also S1-S4: a SymbolicModel's compiled kernel (quadratic, double well) against the hand-written quadratic one")
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=0, help="root seed")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    for b in bks:
        if b.bench_options is not None:
            b.bench_options(p.add_argument_group(f"{b.name} backend"))


def run(args: argparse.Namespace) -> int:
    from gapkit.sims._backends import get_backend

    b = get_backend(args.backend)
    if b.bench is None:
        raise UsageError(f"--backend {b.name} has no benchmark")
    res = b.bench(args)
    if args.json:
        emit_json(res)
    elif b.print_bench is not None:
        b.print_bench(res)
    else:
        emit_json(res)  # a backend without a printer: its result as it is
    return 0


COMMAND = Command(
    name="bench",
    help="benchmark the Numba simulators against NumPy and a C reference (workloads W1, W2)",
    add_arguments=add_arguments,
    run=run,
    description=__doc__.splitlines()[0],
)
