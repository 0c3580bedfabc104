"""The one jit decorator every Numba kernel in gapkit uses, and the one way
kernels run in parallel.

Fixing the options in one place keeps kernels consistent: on-disk caching (so
the second run of a command does not recompile), numpy's error model (division
by zero gives inf/nan as in numpy, which the wrappers then detect), no
fastmath (IEEE semantics: results must not depend on how a loop vectorises)
and nogil (the compiled code releases the GIL, so Python threads run kernels
side by side).

Parallelism: `run_blocks` splits the chains into contiguous blocks and runs a
serial kernel on each block from a pool of Python threads, as many as
``numba.get_num_threads()`` (so ``NUMBA_NUM_THREADS`` and
``numba.set_num_threads`` keep their meaning). No kernel is compiled with
``parallel=True``: a parfor costs seconds of compilation per kernel on the
first run, threads over a nogil kernel cost nothing to compile, and every
chain owns its stream and output slots, so results do not depend on the
thread count either way.
"""
from __future__ import annotations

import concurrent.futures as cf
import os
import threading

import numba

__all__ = ["jit", "run_blocks", "first_compile", "specialised", "BLOCKS_PER_THREAD"]

_OPTIONS = dict(cache=True, error_model="numpy", fastmath=False, nogil=True)

# blocks per thread: a few, so a thread whose chains diverge early (and stop) takes another block
BLOCKS_PER_THREAD = 4

_POOL: dict[int, cf.ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()


def jit(fn=None, **overrides):
    """Serial kernel: ``@jit`` or ``@jit(inline="always")``."""
    opts = {**_OPTIONS, **overrides}
    if fn is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(fn)


def _pool(threads: int) -> cf.ThreadPoolExecutor:
    with _POOL_LOCK:
        if threads not in _POOL:
            _POOL[threads] = cf.ThreadPoolExecutor(threads, thread_name_prefix="gapkit-kernel")
        return _POOL[threads]


def run_blocks(kernel, n: int, *args) -> None:
    """Run ``kernel(c0, c1, *args)`` over the items 0, ..., n - 1 in contiguous
    blocks [c0, c1), on ``numba.get_num_threads()`` threads. The kernel must
    write only the slots of its own items (then the result is the same for
    any thread count and block split)."""
    threads = max(1, min(int(numba.get_num_threads()), n))
    if threads == 1:
        kernel(0, n, *args)
        return
    nb = min(n, threads * BLOCKS_PER_THREAD)
    bounds = [(b * n // nb, (b + 1) * n // nb) for b in range(nb)]
    futures = [_pool(threads).submit(kernel, c0, c1, *args) for c0, c1 in bounds]
    for f in futures:
        f.result()


def first_compile(kernel) -> bool:
    """Whether the first call of `kernel` (a `jit` dispatcher) in this process
    compiles it and writes Numba's on-disk cache: its cache has no index file
    yet. False when it is in the cache, or when Numba does not cache it here
    (jit disabled, or a Numba version that does not expose its cache object)."""
    path = getattr(getattr(getattr(kernel, "_cache", None), "_cache_file", None), "_index_path", None)
    return bool(path) and not os.path.exists(path)


def specialised(kernel, *args):
    """`kernel` (a `jit` dispatcher), compiled for the types of `args` with LLVM's SLP vectoriser on.

    Numba leaves SLP vectorisation off by default (numba#8852, after miscompilations in
    older LLVMs); a kernel whose unrolled per-coordinate loops gain from it turns it on for
    its own compilation only, here: the flag is read when the compiled library is
    optimised, under Numba's compiler lock, and restored after. SLP keeps IEEE semantics
    (no reassociation), and each such kernel is tested bit for bit against its generic
    counterpart. An overload compiled (or loaded from the on-disk cache, where it was
    stored compiled this way) earlier is reused. Returns `kernel`."""
    from numba.core import config
    from numba.core.compiler_lock import global_compiler_lock

    sig = tuple(kernel.typeof_pyval(a) for a in args)
    if sig in kernel.overloads:
        return kernel
    with global_compiler_lock:
        if sig not in kernel.overloads:
            old = config.SLP_VECTORIZE
            config.SLP_VECTORIZE = 1
            try:
                kernel.compile(sig)
            finally:
                config.SLP_VECTORIZE = old
    return kernel
