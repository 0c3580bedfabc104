"""Memory estimates before work starts (issue 12): simulate, sweep and
ph_dimension refuse, naming the parameters, what would not fit, instead of
an OOM kill or a MemoryError traceback; the estimate tracks what is really
allocated."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from gapkit.sims.engine import _memory
from gapkit.theory._validate import ArgumentError

GiB = 2**30


@pytest.fixture
def one_gib(monkeypatch):
    """Pretend 1 GiB is available (the refusals no longer depend on the machine)."""
    monkeypatch.setattr(_memory, "available_bytes", lambda: GiB)


_SIM = dict(model="quadratic", algo="sgd", n=8, lr=0.1, chains=2, steps=100, burnin=10, seed=0)


@pytest.mark.parametrize("kw,needle", [
    (dict(datasets=20_000_000, dim=1), "datasets=20000000"),
    (dict(datasets=1000, dim=400), "dim=400"),
    (dict(datasets=10, dim=2, record_every=1, steps=20_000_000), "steps=20000000"),
])
def test_simulate_refuses_what_would_not_fit(one_gib, kw, needle):
    from gapkit.sims.engine._simulate import simulate

    with pytest.raises(ArgumentError, match="too large for memory") as exc:
        simulate(**{**_SIM, **kw})
    assert needle in str(exc.value) and "1 GiB available" in str(exc.value)


def test_the_cli_says_it_in_one_line(one_gib, capsys):
    from gapkit.sims.cli._main import main

    rc = main(["simulate", "--model", "quadratic", "--dim", "400", "--datasets", "1000", "--n", "8"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "datasets is too large for memory" in err[0]


def test_a_sweep_counts_the_runs_in_flight(one_gib, tmp_path):
    """One run fits, eight at once do not: refused before any run."""
    from gapkit.sims.sweep._runner import _memory_guard
    from gapkit.sims.sweep._spec import make_spec, run_memory

    spec = make_spec("quadratic", dim=64, datasets=2000, T_grid=[0.1], batch_grid=[1])
    one = run_memory(spec)
    assert 0.2 * GiB < one < 0.5 * GiB
    _memory_guard(spec, 1, None)
    with pytest.raises(ArgumentError, match="8 run\\(s\\) at once"):
        _memory_guard(spec, 8, None)


def test_ph_dimension_refuses_an_n2_distance_matrix_too_large(one_gib):
    from gapkit.sims.indicators._dimensions import ph_dimension

    with pytest.raises(ArgumentError, match="points is too large for memory"):
        ph_dimension(np.zeros((20_000, 2)))


@pytest.mark.parametrize("kw", [dict(model="quadratic", dim=16), dict(model="linreg", dim=6),
                                dict(model="quadratic1d", dim=1, record_every=2)])
def test_the_estimate_tracks_the_real_allocation(kw):
    """Peak traced numpy memory of a run against the estimate: within a factor
    of 3 either way (the estimate counts the large arrays only)."""
    from gapkit.sims.engine._problems import KIND
    from gapkit.sims.engine._simulate import simulate

    args = {**_SIM, "datasets": 400, **kw}
    est = _memory.simulate_bytes(kind=KIND[args["model"]], datasets=400, chains=2, n=8, dim=args["dim"],
                                 steps=args["steps"], record_every=args.get("record_every", 0))
    simulate(**{**args, "datasets": 2})  # compile first: the kernels' compilation is not the run's memory
    tracemalloc.start()
    try:
        simulate(**args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / 3 < est < 3 * peak, (est, peak)


def test_the_guard_refuses_only_beyond_the_fraction(one_gib):
    """Below MEMORY_FRACTION of what is available: allowed; above: refused."""
    _memory.require_memory(int(0.99 * _memory.MEMORY_FRACTION * GiB), "just below", "datasets")
    with pytest.raises(ArgumentError, match="more than 50% of the 1 GiB available"):
        _memory.require_memory(int(1.01 * _memory.MEMORY_FRACTION * GiB), "just above", "datasets")
