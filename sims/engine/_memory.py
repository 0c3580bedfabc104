"""Memory estimates before work starts (issue 12): a run that cannot fit is
refused with a message naming the parameters, never an OOM kill or a
MemoryError traceback.

`simulate_bytes` counts the float64 arrays `simulate` allocates (data sets,
covariances K x d^2, the learning-rate schedule, outputs and traces, the
stability check's K x q^2 iterates, a shared test set); `ph_dimension_bytes`
the m x m distance matrix of the largest point subset. `require_memory`
compares an estimate with the memory available now (MemAvailable of
/proc/meminfo; elsewhere the free physical pages) and refuses beyond
MEMORY_FRACTION of it. The estimates count the large arrays only, so they are
lower bounds up to a small factor (temporaries): the fraction leaves room.
"""
from __future__ import annotations

import os

from gapkit.theory._validate import ArgumentError

__all__ = ["available_bytes", "simulate_bytes", "ph_dimension_bytes", "require_memory", "require_work",
           "MEMORY_FRACTION", "MAX_WORK"]

MEMORY_FRACTION = 0.5  # an estimate above this share of the available memory is refused
# Example draws of one run (chains x updates x batch): at ~1e8 draws/s per core, 1e13 is over a day.
MAX_WORK = 1e13
_F8 = 8


def available_bytes() -> int | None:
    """Memory available to a new allocation now, in bytes (None: unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def simulate_bytes(*, kind: str, datasets: int, chains: int, n: int, dim: int, steps: int, record_every: int,
                   pool: int | None = None, input_dim: int = 1, test_size: int = 4096, momentum: bool = False) -> int:
    """Bytes of the large arrays of one `simulate` run (module docstring).

    kind: the problem kind ("quad", "lsq", "logit"). Counts: inputs K x rows x
    max(d, input_dim) (rows = n, or the pool), covariances (quad: Sx and its
    root; lsq: A and the stability iterates, q = d or 2d with momentum) K x d^2
    each, the schedule (steps), outputs K x M x (d + 3), traces K x M x
    records x (d + 2), a shared test set test_size x max(d, input_dim)."""
    K, M, d = int(datasets), int(chains), int(dim)
    rows = int(pool) if pool is not None else int(n)
    width = max(d, int(input_dim))
    total = K * rows * width * 2  # inputs and their centred copy / features
    if kind == "quad":
        total += K * d * d * 3  # Sx, its root, the einsum result
    elif kind == "lsq":
        q = 2 * d if momentum else d
        total += K * d * d * 2 + K * q * q * 6  # A (train, test side); power-iteration iterates and products
    if kind != "quad" or pool is not None:
        total += int(test_size) * width * 2
    records = steps // record_every if record_every else 0
    total += int(steps) + K * M * (d + 3) + K * M * records * (d + 2)
    return int(total) * _F8


def ph_dimension_bytes(points: int, dims: int) -> int:
    """Bytes of `ph_dimension` on `points` points in `dims` dimensions: the
    condensed and square distance matrices of the full set (m^2 (3/2) floats)
    and the points themselves."""
    m = int(points)
    return int(m * m * 1.5 + 2 * m * int(dims)) * _F8


def require_memory(need: int, what: str, param: str) -> None:
    """ArgumentError naming `param` and the parameters in `what` when `need`
    bytes exceed MEMORY_FRACTION of the available memory."""
    have = available_bytes()
    if have is None or need <= MEMORY_FRACTION * have:
        return
    raise ArgumentError(f"{param} is too large for memory: {what} needs about {_gib(need)} of memory, more than "
                        f"{MEMORY_FRACTION:.0%} of the {_gib(have)} available", param=param)


def _gib(b: float) -> str:
    return f"{b / 2**30:.3g} GiB"


def require_work(draws: float, what: str, param: str) -> None:
    """ArgumentError naming `param` when a run would draw more than MAX_WORK
    examples (module constant): it would not finish in any sensible time."""
    if draws > MAX_WORK:
        raise ArgumentError(f"{param} is too large: {what} is {draws:.3g} example draws, more than "
                            f"{MAX_WORK:.0e} (over a day of computing)", param=param)
