"""Executors of a sweep: where runs execute.

- `SerialExecutor`: in this process, one run after another.
- `ProcessExecutor` (the default): a local `concurrent.futures` process pool
  started with the 'spawn' context. Numba's threading layers are not safe
  across ``fork`` (a forked child inherits a half-initialised thread pool), so
  no pool here ever forks.
- `DaskExecutor`: a Dask distributed cluster, given its scheduler address
  (``gapkit sweep --scheduler tcp://host:8786``) or a ready `Client`.

All three take a module-level function (or a partial of one, e.g. the sweep's
run with its backend) and a list of picklable items and yield
``(index, result)`` as runs finish, in completion order. The sweep writes each
result as it arrives, so a crash loses at most the runs in flight. Results do
not depend on the executor: each run's seed comes from its configuration
(see `gapkit.sims.sweep._runner.run_seed`), never from its worker or its order.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from gapkit.sims._settings import install_hint
from gapkit.theory._validate import ArgumentError, check_int

__all__ = ["SerialExecutor", "ProcessExecutor", "DaskExecutor", "make_executor"]


class SerialExecutor:
    """Runs every item in this process, in order."""

    name = "serial"
    workers = 1

    def imap_unordered(self, fn: Callable, items: Sequence) -> Iterator[tuple[int, object]]:
        for i, item in enumerate(items):
            yield i, fn(item)

    def close(self) -> None:
        return None

    def terminate(self) -> None:
        return None


_PARENT_POLL = 1.0  # seconds between a worker's checks that its parent is alive


def _watch_parent(parent: int) -> None:
    """A worker ends itself once its parent is gone (kill -9 of the sweep
    leaves no pool process computing for nobody)."""
    while True:
        time.sleep(_PARENT_POLL)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(parent: int | None = None) -> None:
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="gapkit-parent-watch").start()
    # one Numba thread per worker process: the pool already uses every core
    try:
        import numba

        numba.set_num_threads(1)
    except Exception:  # pragma: no cover - numba missing or already configured
        pass


class ProcessExecutor:
    """A local pool of `workers` processes (spawn context)."""

    name = "process"

    def __init__(self, workers: int | None = None, *, context: str = "spawn"):
        if workers is None:
            workers = os.cpu_count() or 1
        workers = check_int("workers", workers, 1)
        if context not in ("spawn", "forkserver"):
            raise ArgumentError(f"context must be 'spawn' or 'forkserver' (got {context!r}): fork is unsafe with Numba")
        self.workers = int(workers)
        self._ctx = multiprocessing.get_context(context)
        self._pool: cf.ProcessPoolExecutor | None = None

    def _get_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=self._ctx, initializer=_init_worker, initargs=(os.getpid(),)
            )
        return self._pool

    def imap_unordered(self, fn: Callable, items: Sequence) -> Iterator[tuple[int, object]]:
        if not items:
            return
        pool = self._get_pool()
        futs = {pool.submit(fn, item): i for i, item in enumerate(items)}
        try:
            for fut in cf.as_completed(futs):
                try:
                    got = fut.result()
                except cf.process.BrokenProcessPool:
                    raise ArgumentError("workers: a worker process died (killed, or out of memory); the finished "
                                        "runs are kept: rerun to resume, with fewer --workers if memory is short",
                                        param="workers") from None
                yield futs[fut], got
        finally:
            for fut in futs:
                fut.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def terminate(self) -> None:
        """Stop at once: pending runs cancelled, running workers killed (their
        runs are lost; finished ones were stored)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        procs = list((getattr(pool, "_processes", None) or {}).values())  # no public handle on the workers
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(timeout=5)


def _check_address(address: str) -> None:
    """A malformed scheduler address is a bad argument, said before Dask tries
    (and fails in its own ways) to connect to it."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, loc = parse_address(address)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(loc)
    except ValueError as exc:
        raise ArgumentError(f"scheduler must be a Dask scheduler address such as tcp://127.0.0.1:8786 "
                            f"(got {address!r}: {exc})", param="scheduler") from None


def _refused(address: str) -> bool:
    """Whether a plain tcp:// scheduler address refuses connections (nothing listens there).
    Any other outcome (it answers, a timeout, another scheme) is left to Dask's client."""
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, loc = parse_address(address)
    if scheme != "tcp":
        return False
    try:
        socket.create_connection(parse_host_port(loc, 8786), timeout=1.0).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


class DaskExecutor:
    """Sends runs to a Dask distributed scheduler.

    `address` is the scheduler's address; `client` an existing
    `dask.distributed.Client` (then the caller owns it and closes it).
    """

    name = "dask"

    def __init__(self, address: str | None = None, *, client=None):
        if client is None:
            if not address:
                raise ArgumentError("scheduler must be a Dask scheduler address such as tcp://127.0.0.1:8786 (got nothing)")
            try:  # dask is an optional third-party package (the dist extra)
                from dask.distributed import Client
            except ImportError:
                raise ArgumentError(
                    f"scheduler needs dask.distributed ({install_hint('distributed')})", param="scheduler"
                ) from None
            _check_address(address)
            if _refused(address):  # said at once; Dask would retry for its whole timeout first
                raise ArgumentError(f"scheduler {address!r} could not be reached (ConnectionRefusedError)",
                                    param="scheduler")
            try:
                client = Client(address, timeout="5s")
            except (OSError, TimeoutError) as exc:
                raise ArgumentError(f"scheduler {address!r} could not be reached ({type(exc).__name__})",
                                    param="scheduler") from None
            self._own = True
        else:
            self._own = False
        self.client = client
        info = client.scheduler_info()
        self.workers = max(1, len(info.get("workers", {})))
        self.address = getattr(client.scheduler, "address", address)

    def imap_unordered(self, fn: Callable, items: Sequence) -> Iterator[tuple[int, object]]:
        if not items:
            return
        from dask.distributed import as_completed

        # pure=False: Dask must not deduplicate by argument hash behind our back;
        # the store already skips finished runs.
        from distributed.scheduler import KilledWorker

        futs = self.client.map(fn, list(items), pure=False)
        index = {f.key: i for i, f in enumerate(futs)}
        try:
            for fut in as_completed(futs):
                try:
                    got = fut.result()
                except KilledWorker as exc:
                    raise ArgumentError(f"scheduler {self.address}: a worker died running a run ({exc}); the "
                                        "finished runs are kept: rerun to resume", param="scheduler") from None
                yield index[fut.key], got
        finally:
            self.client.cancel(futs)

    def close(self) -> None:
        if self._own:
            self.client.close()

    def terminate(self) -> None:
        return None  # imap_unordered cancels its futures; the cluster's workers are not ours


def make_executor(*, scheduler: str | None = None, workers: int | None = None, n_items: int | None = None):
    """The executor a sweep uses: Dask when `scheduler` is given, otherwise a
    local process pool, or in-process when one worker (or one run) is enough."""
    if scheduler:
        return DaskExecutor(scheduler)
    if workers is not None:
        workers = check_int("workers", workers, 1)
    w = int(workers) if workers is not None else (os.cpu_count() or 1)
    if n_items is not None:
        w = min(w, max(1, int(n_items)))
    if w <= 1:
        return SerialExecutor()
    return ProcessExecutor(w)
