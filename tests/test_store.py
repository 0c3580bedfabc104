"""Results store: canonical keys, atomic records, the tidy table, and a sweep
killed with SIGKILL and resumed (nothing finished is recomputed or lost).

`fake_simulate` is a stand-in for `gapkit.sims.engine._simulate.simulate` with the
same keyword interface: it draws (K, M) losses from a seeded generator around
curves with a known shape, so tests of the sweep machinery need no Numba and
run in milliseconds. `fake_run_point` wraps it as a backend's run point, and the
backend registry holds it under the name FAKE (registered when this module is
imported); test_sweep.py and test_dask.py use it too.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gapkit.sims._backends import Backend, register_backend
from gapkit.sims.stats._results import RunResult, Summary
from gapkit.sims.sweep._store import ResultsStore, _tmp_prefix, canonical_json, config_key
from gapkit.sims.sweep._spec import make_spec
from gapkit.sims.sweep._runner import run_sweep

FAKE = "fake-toy"
TESTS_DIR = str(Path(__file__).resolve().parent)

# Curves of the stand-in: gap follows Eq 1 with these (a, b, c); train loss
# rises linearly in T; test = train + gap, which has an interior minimum.
FAKE_A, FAKE_B, FAKE_C = 0.004, 0.05, 0.5


def fake_simulate(*, model, algo, n, lr, batch=1, datasets=16, chains=2, steps=None, burnin=None, seed=0,
                  record_every=0, delay=0.0, noise=0.01, **_ignored):
    rng = np.random.default_rng(seed)
    T = lr / batch
    gap = (FAKE_A / T + FAKE_B) * np.exp(-T / FAKE_C)
    train = 0.1 + 0.5 * T + noise * rng.standard_normal((datasets, chains))
    test = train + gap + noise * rng.standard_normal((datasets, chains))
    S = 40
    trace = train[..., None] + noise * rng.standard_normal((datasets, chains, S))
    if delay:
        time.sleep(delay)
    from gapkit.sims.stats._estimators import ensemble_summary

    out = ensemble_summary(train, test)
    out.update(model=model, algo=algo, T=T, wall_seconds=0.001)
    out["arrays"] = {"train": train, "test": test, "trace_train": trace}
    return out


_FAKE_ARGS = ("model", "algo", "n", "lr", "batch", "datasets", "chains", "steps", "burnin", "seed", "record_every")


def fake_run_point(config: dict) -> RunResult:
    """`fake_simulate` on a sweep run's config, as a backend's run point."""
    kw = {k: config[k] for k in _FAKE_ARGS if k in config}
    out = fake_simulate(**kw, **config.get("model_kwargs", {}))
    arrays, wall = out.pop("arrays"), out.pop("wall_seconds")
    what = {k: out.pop(k) for k in ("model", "algo", "T")}
    return RunResult(config=what, summary=Summary.from_dict(out), arrays=arrays, timings={"wall_seconds": wall})


# the stand-in backend: the toy presets and run length, any model name
register_backend(Backend(name=FAKE, run_point=fake_run_point, presets=("smoke", "quick", "paper")), replace=True)


def test_canonical_key_is_order_free_and_type_exact():
    a = {"lr": 0.1, "batch": 2, "model": "q"}
    b = {"model": "q", "batch": 2, "lr": 0.1}
    assert config_key(a) == config_key(b)
    assert config_key(a) != config_key({**a, "batch": 2.0})  # 2 and 2.0 are different configs
    assert config_key(a) != config_key({**a, "lr": 0.1 + 1e-16 * 2})
    assert canonical_json({"x": np.float64(0.5), "y": np.int64(3)}) == '{"x":0.5,"y":3}'
    with pytest.raises(ValueError, match="config must be a dict"):
        config_key([1, 2])


def test_put_get_roundtrip_and_temp_files_cleaned(tmp_path):
    st = ResultsStore.open(tmp_path)
    cfg = {"model": "m", "lr": 0.1, "flag": True}
    key = st.put(cfg, {"gap": 0.25, "bad": float("nan"), "nested": {"x": 1.0}}, {"wall_seconds": 1.0})
    assert (tmp_path / "runs" / f"{key}.json").exists()
    rec = st.get(key)
    assert rec["config"] == cfg and rec["result"]["gap"] == 0.25 and rec["result"]["bad"] is None
    assert '"bad": null' in (tmp_path / "runs" / f"{key}.json").read_text()  # null for non-finite, not "nan"
    # a half-written temp file and a truncated record: ignored, cleaned, recomputed
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / "runs" / f"{_tmp_prefix(int(dead.stdout))}abc.part").write_text('{"config": {')
    (tmp_path / "runs" / f"{'0' * 64}.json").write_text('{"config": {"a"')
    st2 = ResultsStore.open(tmp_path)
    assert not list((tmp_path / "runs").glob(".tmp-*"))
    assert st2.get("0" * 64) is None and not st2.has("0" * 64)
    assert [r["config"] for r in st2.records()] == [cfg]


def test_old_records_with_nan_strings_read_as_null(tmp_path):
    """Records written before the one JSON convention hold "nan"/"inf" strings:
    they read as null, and the table gives them the same empty cell as a new
    record's null (a string "nan" in the result would fail both asserts)."""
    st = ResultsStore.open(tmp_path)
    new = st.put({"model": "m", "lr": 0.1}, {"gap": float("nan"), "tau": float("inf"), "note": "nanny"})
    cfg = {"model": "m", "lr": 0.2}
    old = config_key(cfg)
    rec = {"config": cfg, "result": {"gap": "nan", "tau": "-inf", "note": "nanny", "theory": {"gap": "inf"},
                                     "trace": [1.0, "nan"]}}
    (tmp_path / "runs" / f"{old}.json").write_text(json.dumps(rec))
    got = st.get(old)["result"]
    assert got["gap"] is None and got["tau"] is None and got["theory"]["gap"] is None and got["trace"] == [1.0, None]
    assert got["note"] == "nanny" and st.get(new)["result"]["gap"] is None
    cols, rows = st.table_rows()
    assert [r["gap"] for r in rows] == [None, None] and [r["tau"] for r in rows] == [None, None]
    import csv

    table = list(csv.DictReader(st.write_table().read_text().splitlines()))
    assert [(r["gap"], r["tau"], r["theory.gap"], r["note"]) for r in table] == [("", "", "", "nanny")] * 2


def test_table_reads_in_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    st = ResultsStore.open(tmp_path)
    for i, lr in enumerate([0.3, 0.1, 0.2]):
        st.put({"model": "m", "lr": lr, "batch": 1, "capped": False},
               {"gap": lr / 3, "steady": i != 1, "theory": {"gap": 1.0}, "note": "x,y"})
    st.write_table()
    df = pd.read_csv(tmp_path / "runs.csv")
    assert list(df.columns[:4]) == ["model", "batch", "lr", "capped"]
    assert df["lr"].tolist() == [0.1, 0.2, 0.3]  # rows sorted by config
    np.testing.assert_allclose(df["gap"], df["lr"] / 3, rtol=0, atol=0)
    assert df["steady"].tolist() == [False, True, True]
    assert df["theory.gap"].tolist() == [1.0] * 3 and df["note"].tolist() == ["x,y"] * 3
    assert df["key"].str.len().eq(64).all()


_SWEEP_SCRIPT = """
import sys
import test_store  # registers the stand-in backend
from gapkit.sims.sweep._spec import make_spec
from gapkit.sims.sweep._runner import run_sweep
spec = make_spec("quadratic1d", preset="smoke", backend=test_store.FAKE,
                 T_grid=[0.01, 0.02, 0.05, 0.1, 0.2, 0.5], batch_grid=[1, 2], seeds=2,
                 model_kwargs={"delay": float(sys.argv[2])})
run_sweep(spec, sys.argv[1], workers=1, progress=False, table_every=3, figures=False)
"""


def _run_script(out, delay, **popen):
    env = dict(os.environ, PYTHONPATH=TESTS_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", _SWEEP_SCRIPT, str(out), str(delay)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen)


def test_sigkill_mid_sweep_then_resume(tmp_path):
    """A sweep killed with SIGKILL loses nothing finished and recomputes nothing
    finished; the resumed table equals an uninterrupted sweep's byte for byte."""
    killed = tmp_path / "killed"
    proc = _run_script(killed, 0.08, start_new_session=True)
    runs = killed / "runs"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30:
        if runs.exists() and len(list(runs.glob("*.json"))) >= 5:
            break
        if proc.poll() is not None:
            pytest.fail(f"sweep ended before it was killed: {proc.stderr.read().decode()[-500:]}")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    done = {p.stem for p in runs.glob("*.json")}
    assert 5 <= len(done) < 24
    (runs / f"{_tmp_prefix(proc.pid)}half.part").write_text('{"config": {"lr"')  # what a kill mid-write leaves
    (runs / ".tmp-users-own.part").write_text("not gapkit's")  # a user's file: kept

    spec = make_spec("quadratic1d", preset="smoke", backend=FAKE, T_grid=[0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
                     batch_grid=[1, 2], seeds=2, model_kwargs={"delay": 0.08})
    resumed = run_sweep(spec, killed, workers=1, progress=False, figures=False)
    assert resumed["runs_total"] == 24
    assert resumed["runs_reused"] == len(done) > 0
    assert resumed["runs_computed"] == 24 - len(done)
    assert [p.name for p in runs.glob(".tmp-*")] == [".tmp-users-own.part"]
    (runs / ".tmp-users-own.part").unlink()
    fresh = tmp_path / "fresh"
    full = run_sweep(spec, fresh, workers=1, progress=False, figures=False)
    assert full["runs_computed"] == 24 and full["runs_reused"] == 0
    assert (fresh / "runs.csv").read_bytes() == (killed / "runs.csv").read_bytes()
    assert resumed["eq1_fit"] == full["eq1_fit"]
    # rerunning a finished sweep computes nothing
    again = run_sweep(spec, killed, workers=1, progress=False, figures=False)
    assert again["runs_computed"] == 0 and again["runs_reused"] == 24
    settings = json.loads((killed / "sweep.json").read_text())
    assert settings["spec"]["backend"] == FAKE
