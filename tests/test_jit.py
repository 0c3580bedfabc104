"""The engine's jit layer (issue 15): chains run in blocks on threads with the
same numbers for any thread count and block split, and the first-compile probe
that decides whether `gapkit verify` compiles the GLM kernel in a second process."""
from __future__ import annotations

import types

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from gapkit.sims.engine import _jit  # noqa: E402


@pytest.mark.parametrize("model,dim", [("quadratic1d", 1), ("linreg", 2)])
def test_results_do_not_depend_on_threads_or_blocks(model, dim, monkeypatch):
    from gapkit.sims.engine import simulate

    def run(seed=3):
        r = simulate(model=model, algo="sgd", n=8, dim=dim, lr=0.1, batch=3, beta=0.2, datasets=5, chains=3,
                     steps=50, burnin=10, seed=seed)
        return np.concatenate([r.arrays["train"].ravel(), r.arrays["theta_final"].ravel()])

    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run()
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        monkeypatch.setattr(_jit, "BLOCKS_PER_THREAD", 7)  # 14 blocks over 15 chains: uneven splits
        two = run()
    finally:
        numba.set_num_threads(old)
    assert np.array_equal(one, two)
    assert not np.array_equal(one, run(seed=4))  # the comparison sees other streams


def test_run_blocks_covers_every_item_once(monkeypatch):
    seen = []
    monkeypatch.setattr(numba, "get_num_threads", lambda: 3)
    _jit.run_blocks(lambda c0, c1, out: out.extend(range(c0, c1)), 10, seen)
    assert sorted(seen) == list(range(10))
    _jit.run_blocks(lambda c0, c1, out: out.extend(range(c0, c1)), 0, seen)
    assert sorted(seen) == list(range(10))


def test_first_compile_reads_numba_cache_index(tmp_path):
    index = tmp_path / "kernel.nbi"
    fake = types.SimpleNamespace(_cache=types.SimpleNamespace(_cache_file=types.SimpleNamespace(_index_path=str(index))))
    assert _jit.first_compile(fake)
    index.write_bytes(b"")
    assert not _jit.first_compile(fake)
    assert not _jit.first_compile(lambda: None)  # not a cached dispatcher (e.g. NUMBA_DISABLE_JIT)


@pytest.mark.xdist_group("catalogue-providers")
@pytest.mark.late  # after the catalogue's warm-up: the helpers then load the cache (seconds) instead of compiling
def test_the_background_helpers_run_and_leave_nothing_to_compile():
    """`gapkit verify`'s background warm-up: each helper process's code runs (exit status 0: a broken helper
    would only show as a slower first run), and once they are done the warm-up sees every part cached, so
    `start_kernels` starts nothing."""
    from gapkit.sims.engine import _warmup

    h = _warmup.Helpers(list(_warmup.HELPER_CODE), nice=10)
    h.wait()
    assert [p.returncode for p in h.procs] == [0] * len(_warmup.HELPER_CODE)
    assert _warmup.uncached_parts() == [] and _warmup.start_kernels() is None
    h.cancel()  # nothing running: a no-op
    assert [p.returncode for p in h.procs] == [0] * len(_warmup.HELPER_CODE)


def test_a_stuck_helper_is_stopped_not_waited_for_forever(monkeypatch):
    """`Helpers.wait` kills a helper still running after its timeout (a hang would stall `gapkit verify`)."""
    import time

    from gapkit.sims.engine import _warmup

    monkeypatch.setitem(_warmup.HELPER_CODE, "stuck", "import time; time.sleep(60)")
    h = _warmup.Helpers(["stuck"])
    t0 = time.perf_counter()
    h.wait(timeout=0.5)
    assert time.perf_counter() - t0 < 30 and h.procs[0].returncode not in (None, 0)
