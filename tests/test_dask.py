"""Scale-out: a real dask.distributed LocalCluster (worker processes) runs a
sweep and gives records identical to the local run with the same root seed."""
from __future__ import annotations

import json

import pytest

from gapkit.sims.sweep._executor import DaskExecutor, SerialExecutor
from gapkit.sims.sweep._spec import make_spec
from gapkit.sims.sweep._runner import run_sweep
from test_store import FAKE

distributed = pytest.importorskip("distributed")


def _records(root):
    out = {}
    for p in sorted((root / "runs").glob("*.json")):
        rec = json.loads(p.read_text())
        out[p.stem] = {"config": rec["config"], "result": rec["result"]}  # "meta" holds wall times
    return out


@pytest.mark.slow
def test_local_cluster_gives_identical_records(tmp_path):
    spec = make_spec("quadratic1d", preset="smoke", backend=FAKE, T_grid=[0.01, 0.03, 0.1, 0.3],
                     batch_grid=[1, 2], seeds=2, root_seed=11)
    local = run_sweep(spec, tmp_path / "local", executor=SerialExecutor(), progress=False, figures=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
        # the address path, as `gapkit sweep --scheduler ADDRESS` takes it
        ex = DaskExecutor(cluster.scheduler_address)
        try:
            assert ex.workers == 2
            remote = run_sweep(spec, tmp_path / "dask", executor=ex, progress=False, figures=False)
        finally:
            ex.close()
    assert remote["runs_computed"] == local["runs_computed"] == 16
    assert remote["executor"] == "dask"
    a, b = _records(tmp_path / "local"), _records(tmp_path / "dask")
    assert a.keys() == b.keys() and a == b
    assert (tmp_path / "local" / "runs.csv").read_bytes() == (tmp_path / "dask" / "runs.csv").read_bytes()
    assert remote["eq1_fit"] == local["eq1_fit"]


def test_bad_scheduler_address_is_a_value_error():
    with pytest.raises(ValueError, match="scheduler"):
        DaskExecutor("")


def test_a_refused_scheduler_address_is_said_at_once():
    """Nothing listening at a tcp:// address: the probe says so (ConnectionRefusedError)
    instead of waiting out Dask's connect timeout."""
    import socket

    from gapkit.theory._validate import ArgumentError

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(ArgumentError, match="ConnectionRefusedError") as e:
        DaskExecutor(f"tcp://127.0.0.1:{port}")
    assert e.value.param == "scheduler"
