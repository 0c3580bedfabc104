"""The sweep runner and `gapkit sweep`: grids, validation, seeds, executors,
run length, diagnostics, indicators hook, figures and the --json summary.

Runs use the stand-in backend of test_store.py (FAKE: the same keyword
interface as `gapkit.sims.engine._simulate.simulate`, registered in the backend
registry), so these tests need no Numba.
"""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from gapkit.sims import _backends
from gapkit.sims._backends import Backend, get_backend, register_backend
from gapkit.sims.cli._main import main
from gapkit.sims.sweep._executor import ProcessExecutor, SerialExecutor, make_executor
from gapkit.sims.sweep._spec import build_runs, make_spec, relax_time, run_seed, steps_for
from gapkit.sims.sweep._runner import execute_run, run_sweep
from test_store import FAKE, fake_run_point, fake_simulate

GRID = dict(T_grid=[0.01, 0.03, 0.1, 0.3], batch_grid=[1, 3], seeds=2)


def _spec(**kw):
    return make_spec("quadratic1d", preset="smoke", backend=FAKE, **{**GRID, **kw})


@pytest.mark.parametrize("kw, match", [
    (dict(T_grid=[0.1, -1.0]), r"T_grid must be in \[1e-12, 1e\+06\]"),
    (dict(T_grid=[0.1, 0.0]), r"T_grid must be in \[1e-12"),
    (dict(T_grid=[]), "T_grid must be a non-empty list"),
    (dict(batch_grid=[]), "batch_grid must be a non-empty list"),
    (dict(batch_grid=[1, 2.5]), "batch_grid must be an integer"),
    (dict(batch_grid=[0]), r"batch_grid must be an integer in \[1, "),
    (dict(algo="adam"), "algo must be one of"),
    (dict(lr_grid=[0.1]), "exactly one of T_grid and lr_grid"),
    (dict(momentum=1.0), "momentum must be in"),
])
def test_spec_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        _spec(**kw)


def test_unknown_model_and_preset():
    with pytest.raises(ValueError, match="model must be one of"):
        make_spec("resnet", preset="smoke")
    with pytest.raises(ValueError, match="preset must be one of"):
        make_spec("quadratic1d", preset="huge")


@pytest.mark.parametrize("argv, needle", [
    (["--T-grid", "0.1,-1"], "--T-grid must be in [1e-12, 1e+06]"),
    (["--T-grid", "0"], "--T-grid must be in [1e-12"),
    (["--T-grid", ""], "--T-grid must be a non-empty"),
    (["--T-grid", "0.1,,0.2"], "--T-grid must be a non-empty"),
    (["--batch-grid", "1,2.5"], "--batch-grid must be an integer"),
    (["--batch-grid", "0"], "--batch-grid must be an integer in [1, "),
    (["--model", "resnet"], "model must be one of"),
    (["--set", "novalue"], "--set must be KEY=VALUE"),
    (["--T-grid", "0.1", "--lr-grid", "0.1"], "not allowed with argument"),
])
def test_cli_bad_arguments_one_line_exit_2(argv, needle, tmp_path, capsys):
    base = ["sweep", "--out", str(tmp_path)]
    if "--model" not in argv:
        base += ["--model", "quadratic1d"]
    try:
        code = main(base + argv)
    except SystemExit as e:  # argparse-level errors
        code = e.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_grid_T_and_lr_and_equal_rescaled_time():
    s = _spec()
    pts = s.points()
    assert len(pts) == 8 and all(math.isclose(lr, T * B) for T, B, lr in pts)
    s2 = make_spec("quadratic1d", preset="smoke", backend=FAKE, lr_grid=[0.05, 0.2], batch_grid=[2])
    assert [p[0] for p in s2.points()] == [0.025, 0.1]
    for cfg in build_runs(s):
        steps, burnin, capped = steps_for(cfg["lr"], s)
        assert not capped
        # every point runs the same rescaled time lr x updates (to one update)
        # (tau = 1 on the quadratic model)
        assert s.burn_time + s.time <= cfg["lr"] * cfg["steps"] < s.burn_time + s.time + cfg["lr"]
        assert s.burn_time <= cfg["lr"] * cfg["burnin"] < s.burn_time + cfg["lr"]
    lin = make_spec("linreg", preset="smoke", backend=FAKE, T_grid=[0.1], batch_grid=[1])
    assert relax_time(lin) == pytest.approx(1 / lin.alpha)  # dim > n: only the ridge contracts
    assert build_runs(lin)[0]["steps"] == math.ceil((lin.burn_time + lin.time) / lin.alpha / 0.1)
    tiny = make_spec("quadratic1d", preset="smoke", backend=FAKE, T_grid=[1e-6], batch_grid=[1], max_steps=100)
    (cfg,) = build_runs(tiny)
    assert cfg["capped"] and cfg["steps"] == 100


@pytest.mark.parametrize("pairing", ["paired", "fresh"])
def test_seeds_come_from_config_not_order(pairing):
    runs = build_runs(_spec(pairing=pairing))
    by_rep = {}
    for c in runs:
        by_rep.setdefault(c["replicate"], set()).add(c["seed"])
    if pairing == "paired":  # common random numbers: one seed per replicate at every (T, B)
        assert [len(v) for v in by_rep.values()] == [1, 1] and by_rep[0] != by_rep[1]
    else:
        assert len({c["seed"] for c in runs}) == len(runs) == 16  # fresh draws at every grid point
    by_cfg = {(c["T"], c["batch"], c["replicate"]): c["seed"] for c in runs}
    rev = build_runs(_spec(T_grid=GRID["T_grid"][::-1], batch_grid=[3, 1], pairing=pairing))
    assert all(by_cfg[(c["T"], c["batch"], c["replicate"])] == c["seed"] for c in rev)
    assert run_seed(1, runs[0]) != run_seed(0, runs[0])
    assert build_runs(_spec(datasets=17, pairing=pairing))[0]["seed"] != runs[0]["seed"]


def test_pairing_option_spec_and_cli(tmp_path, monkeypatch, capsys):
    with pytest.raises(ValueError, match="pairing must be one of paired, fresh"):
        _spec(pairing="crn")
    monkeypatch.setitem(_backends._REGISTRY, "numba", dataclasses.replace(get_backend("numba"), run_point=fake_run_point))
    argv = ["sweep", "--model", "quadratic1d", "--T-grid", "0.01,0.03,0.1", "--batch-grid", "1", "--workers", "1",
            "--out", str(tmp_path), "--json", "--no-figures", "--pairing", "fresh"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pairing"] == "fresh" and "unpaired" in out["C"]["method"]


def test_process_pool_equals_serial(tmp_path):
    spec = _spec()
    a = run_sweep(spec, tmp_path / "serial", executor=SerialExecutor(), progress=False, figures=False)
    pool = ProcessExecutor(2)
    try:
        b = run_sweep(spec, tmp_path / "pool", executor=pool, progress=False, figures=False)
    finally:
        pool.close()
    assert a["runs_computed"] == b["runs_computed"] == 16
    assert (tmp_path / "serial" / "runs.csv").read_bytes() == (tmp_path / "pool" / "runs.csv").read_bytes()
    assert isinstance(make_executor(workers=1), SerialExecutor)
    assert isinstance(make_executor(workers=4, n_items=1), SerialExecutor)
    with pytest.raises(ValueError, match="context must be"):
        ProcessExecutor(2, context="fork")


def test_execute_run_records_diagnostics_and_moves_timings():
    cfg = build_runs(_spec())[0]
    got = execute_run(cfg)
    res = got["result"]
    assert "wall_seconds" not in res and got["meta"]["wall_seconds"] >= 0
    assert res["steady"] is True and res["capped"] is False
    assert "drift_z" in res and np.isfinite(res["drift_z"])
    ref = fake_simulate(model="quadratic1d", algo="sgd", n=8, lr=cfg["lr"], batch=cfg["batch"],
                        datasets=cfg["datasets"], chains=cfg["chains"], seed=cfg["seed"])
    assert res["gap"] == ref["gap"]


def drifting_run_point(config):
    res = fake_run_point(config)
    tr = res.arrays["trace_train"]
    res.arrays["trace_train"] = tr + np.linspace(0, 1, tr.shape[-1])  # still relaxing
    return res


DRIFTING = register_backend(Backend(name="fake-drifting", run_point=drifting_run_point, presets=("smoke",)),
                            replace=True)


def test_not_steady_run_is_marked_and_left_out(tmp_path):
    spec = make_spec("quadratic1d", preset="smoke", backend=DRIFTING.name, **GRID)
    s = run_sweep(spec, tmp_path, workers=1, progress=False, figures=True)
    assert s["not_steady"] == 16 and s["temperatures_judged"] == 0  # nothing steady: nothing judged
    assert all(s[k]["holds"] == "not judged" and "16 of 16 runs not steady" in s[k]["reason"]
               for k in ("A", "B", "C", "collapse"))
    steady_spec = _spec(seeds=1)
    s2 = run_sweep(steady_spec, tmp_path / "ok", workers=1, progress=False, figures=False)
    assert s2["not_steady"] == 0 and s2["temperatures_judged"] == 4 and s2["runs_used"] == 8
    import pandas as pd

    df = pd.read_csv(tmp_path / "runs.csv")
    assert not df["steady"].any()
    assert (tmp_path / "figures" / "panels_sgd.png").stat().st_size > 10_000


def norm_indicators(result, config):
    return {"norm": float(np.abs(result.arrays["train"]).mean()), "bound_x": 2.0, "vector": np.ones(3)}


def test_indicator_hook(tmp_path, monkeypatch):
    """The backend's indicator hook runs when the spec asks: bare names become
    ind_* columns, bound_* stay, non-scalars are left out; without the flag it never runs."""
    b = Backend(name="fake-ind", run_point=fake_run_point, presets=("smoke",), indicators=norm_indicators)
    monkeypatch.setitem(_backends._REGISTRY, b.name, b)
    spec = make_spec("quadratic1d", preset="smoke", backend=b.name, indicators=True, seeds=1, T_grid=[0.1],
                     batch_grid=[1, 3])
    s = run_sweep(spec, tmp_path, workers=1, progress=False, figures=False)
    import pandas as pd

    df = pd.read_csv(tmp_path / "runs.csv")
    assert s["runs_computed"] == 2 and (df["ind_status"] == "ok").all()
    assert (df["ind_norm"] > 0).all() and (df["bound_x"] == 2.0).all() and "ind_vector" not in df
    plain = run_sweep(dataclasses.replace(spec, indicators=False), tmp_path / "plain", workers=1, progress=False,
                      figures=False)
    assert plain["runs_computed"] == 2 and "ind_norm" not in pd.read_csv(tmp_path / "plain" / "runs.csv")


def test_cli_json_summary_and_resume(tmp_path, monkeypatch, capsys):
    # the numba backend with the stand-in's run point: the CLI's path without Numba
    monkeypatch.setitem(_backends._REGISTRY, "numba", dataclasses.replace(get_backend("numba"), run_point=fake_run_point))
    argv = ["sweep", "--model", "quadratic1d", "--T-grid", "0.01,0.03,0.1,0.3", "--batch-grid", "1,2",
            "--workers", "1", "--out", str(tmp_path), "--seed", "3", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["runs_total"], out["runs_reused"], out["runs_computed"]) == (8, 0, 8)
    assert out["eq1_fit"]["status"] == "ok" and out["A"]["holds"] is True
    assert out["B"]["holds"] is True and out["C"]["holds"] is True and out["T_opt"] > 0
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["runs_reused"], again["runs_computed"]) == (8, 0)
    assert main(argv[:-1]) == 0  # human summary
    assert "runs: 8 total, 8 reused" in capsys.readouterr().out


def missing_package(spec):
    from gapkit.theory._validate import ArgumentError

    raise ArgumentError("backend fake-missing needs the package nosuchpkg: pip install nosuchpkg")


def test_cli_backend_missing_is_one_line(tmp_path, monkeypatch, capsys):
    """A backend whose preflight fails stops the sweep before any run, in one line;
    an unregistered backend is refused by name (no "module:function" backends)."""
    b = Backend(name="fake-missing", run_point=fake_run_point, presets=("smoke",), preflight=missing_package)
    monkeypatch.setitem(_backends._REGISTRY, b.name, b)
    rc = main(["sweep", "--model", "quadratic1d", "--backend", b.name, "--workers", "1", "--T-grid", "0.1",
               "--batch-grid", "1", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "nosuchpkg" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").glob("*.json"))
    for name in ("nosuch", "test_store:fake_simulate", "os:getcwd"):
        with pytest.raises(ValueError, match="backend must be one of numba"):
            make_spec("quadratic1d", preset="smoke", backend=name)
    with pytest.raises(SystemExit) as e:
        main(["sweep", "--model", "quadratic1d", "--backend", "nosuch", "--out", str(tmp_path)])
    assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_numba_backend_sweep_matches_closed_form(tmp_path, capsys):
    """The real simulator through the CLI: each run's gap and train loss lie
    within 4 of its own standard errors (ci95 / 1.96) of the exact discrete-chain
    values the simulator reports (theory.*); false FAIL ~6e-5 per comparison."""
    sim = pytest.importorskip("gapkit.sims.engine._simulate")
    assert hasattr(sim, "simulate")
    argv = ["sweep", "--model", "quadratic1d", "--T-grid", "0.05,0.1,0.2,0.4", "--batch-grid", "1,2",
            "--datasets", "256", "--workers", "1", "--out", str(tmp_path), "--json", "--no-figures"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs_computed"] == 8 and out["not_steady"] == 0
    import pandas as pd

    df = pd.read_csv(tmp_path / "runs.csv")
    for col in ("gap", "train_loss"):
        z = (df[col] - df[f"theory.{col}"]) / (df[f"{col}_ci95"] / 1.96)
        assert (z.abs() < 4).all(), z.tolist()
    assert (df["lr"] * df["steps"]).min() >= 30 and df["steady"].all()
    # a wrong theory (20% off) is detected
    z = (df["train_loss"] - 1.2 * df["theory.train_loss"]) / (df["train_loss_ci95"] / 1.96)
    assert (z.abs() >= 4).any()


@pytest.mark.parametrize("argv, needle", [
    (["sweep", "--model", "linreg", "--preset", "mnist1d-cpu", "--out", "X"], "--preset"),
    (["sweep", "--model", "mlp", "--backend", "torch", "--preset", "paper", "--out", "X"], "--preset"),
    (["sweep", "--model", "linreg", "--dataset", "mnist1d", "--out", "X"], "--dataset"),
])
def test_preset_and_backend_must_match(argv, needle, capsys, tmp_path):
    argv = [a if a != "X" else str(tmp_path / "o") for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_langevin_quadratic_sweep_carries_the_exact_eq07_bound(tmp_path, capsys):
    import pandas as pd

    assert main(["sweep", "--model", "quadratic1d", "--algo", "langevin", "--T-grid", "0.05,0.2", "--batch-grid", "1",
                 "--datasets", "64", "--indicators", "--workers", "1", "--no-figures", "--out", str(tmp_path),
                 "--json"]) == 0
    capsys.readouterr()
    df = pd.read_csv(tmp_path / "runs.csv")
    assert "bound_eq07" in df and (df["bound_eq07"] > 0).all()
    # Eq 7 holds on the data-averaged gap (exact value: h^2 s^2 / (n (h + alpha)))
    assert (df["bound_eq07"] >= df["theory.gap"]).all() and (df["theory.gap"] > 0).all()


def test_huge_seed_count_is_refused_at_once(tmp_path, capsys):
    """A run list of 8e30 runs would hang while being built: one line, exit 2."""
    rc = main(["sweep", "--model", "linreg", "--seeds", "1e30", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "seeds must keep the sweep at <=" in err and len(err.splitlines()) == 1
