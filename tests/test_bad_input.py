"""The bad-input suite of issue 12: every class of bad value, on the command
line (one line naming the option, exit 2, no traceback) and in the library
(ValueError, an ArgumentError naming the parameter). Classes: numbers gapkit
cannot honour (1e308, 1e30, subnormal learning rates, seeds beyond 64 bits),
None / text / complex / nan / wrong shapes / scalars for sequences, --set keys
that clash with run settings, unreadable runs.csv files."""
from __future__ import annotations

import numpy as np
import pytest

from gapkit.sims.cli._main import main
from gapkit.theory._validate import ArgumentError


def _run(capsys, argv):
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    return rc, capsys.readouterr().err


def _one_line(rc, err, needle):
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("sweep: ")]
    assert rc == 2 and "Traceback" not in err, err
    assert len(lines) == 1 and "error:" in lines[0] and needle in lines[0], err


_SIM_OPTS = ("--lr", "--alpha", "--dt", "--beta", "--batch", "--data-mean", "--data-std", "--noise-std", "--h",
             "--steps", "--pool", "--datasets", "--seed")
_SWEEP_OPTS = ("--T-grid", "--lr-grid", "--batch-grid", "--time", "--burn-time", "--alpha", "--beta", "--seed")
_HUGE = ("1e308", "1e30", "-1e308", "18446744073709551616")
_SIM = ["simulate", "--datasets", "3", "--chains", "1", "--n", "4"]


@pytest.mark.parametrize("value", _HUGE)
@pytest.mark.parametrize("opt", _SIM_OPTS)
def test_simulate_refuses_numbers_it_cannot_honour(capsys, opt, value):
    rc, err = _run(capsys, _SIM + [f"{opt}={value}"])
    needle = {"--steps": "steps", "--pool": "pool", "--datasets": "datasets"}.get(opt, opt)
    _one_line(rc, err, needle)


@pytest.mark.parametrize("value", _HUGE)
@pytest.mark.parametrize("opt", _SWEEP_OPTS)
def test_sweep_refuses_numbers_it_cannot_honour(capsys, tmp_path, opt, value):
    rc, err = _run(capsys, ["sweep", "--model", "quadratic1d", "--out", str(tmp_path), f"{opt}={value}"])
    _one_line(rc, err, opt)


@pytest.mark.parametrize("value", ["1e-320", "5e-324", "1e-13"])
@pytest.mark.parametrize("opt", ["--lr", "--dt"])
def test_learning_rates_too_small_to_move_are_refused(capsys, opt, value):
    rc, err = _run(capsys, _SIM + [f"{opt}={value}"])
    _one_line(rc, err, opt)


def test_the_limits_are_not_too_tight():
    """Values at the edge of each range still run (the refusal is not a blanket one)."""
    from gapkit.sims.engine._simulate import simulate

    r = simulate(model="quadratic1d", algo="langevin", n=4, lr=1e-12, dt=1.0, datasets=2, chains=1, steps=10,
                 seed=2**64 - 1, data_mean=1e10, data_std=1e10)
    assert r.summary.diverged == 0


@pytest.mark.parametrize("key", ["n", "seed", "epochs", "problem_seed", "steps", "lr", "batch", "datasets"])
def test_set_keys_that_clash_with_run_settings_are_refused(capsys, tmp_path, key):
    rc, err = _run(capsys, ["sweep", "--model", "quadratic1d", "--out", str(tmp_path), "--set", f"{key}=3"])
    _one_line(rc, err, f"--set {key} is a run setting")


@pytest.mark.parametrize("setting,needle", [
    ("nosuchkey=1", "nosuchkey"), ("h=[1,2]", "h must be a number"), ("h=-1", "h must be in"),
    ("h=\"2\"", "h must be a number"), ("h=null", "h must be a number"),
])
def test_set_unknown_keys_and_bad_values_are_refused(capsys, tmp_path, setting, needle):
    rc, err = _run(capsys, ["sweep", "--model", "quadratic", "--out", str(tmp_path), "--set", setting])
    _one_line(rc, err, needle)


@pytest.mark.parametrize("argv,needle", [
    (["--algo", "langevin", "--cosine"], "cosine"),
    (["--momentum", "0.5"], "momentum"),
    (["--dim", "3"], "dim"),
    (["--model", "linreg", "--dim", "3000", "--datasets", "1000"], "datasets"),
])
def test_sweep_refuses_what_its_first_run_would_before_starting(capsys, tmp_path, argv, needle):
    rc, err = _run(capsys, ["sweep", "--model", "quadratic1d", "--out", str(tmp_path / "o"), *argv])
    _one_line(rc, err, needle)
    assert not (tmp_path / "o").exists()  # refused before the store was made


@pytest.mark.parametrize("content,needle", [
    (b"", "is empty"), (b"lr,batch,T,gap\n", "no runs"), (b"lr,gap\n0.1,abc\n", "must hold numbers"),
    (b"\xff\xfe\x00garbage\x01", "not a readable CSV"), (b'"open quote\n1,2\n', "not a readable CSV"),
    (b"lr,T\n0.1,0.1\n", "no column 'gap'"),
])
def test_score_on_an_unreadable_table_is_one_line(capsys, tmp_path, content, needle):
    (tmp_path / "runs.csv").write_bytes(content)
    rc, err = _run(capsys, ["score", str(tmp_path)])
    _one_line(rc, err, needle)


# ---------------------------------------------------------------- the library
def _api_cases():
    from gapkit.sims.engine._simulate import simulate
    from gapkit.sims.indicators._dimensions import ph_dimension
    from gapkit.sims.indicators._scoring import kendall_tau
    from gapkit.sims.stats._fit import fit_eq1
    from gapkit.sims.sweep._runner import run_sweep
    from gapkit.sims.sweep._spec import make_spec
    from gapkit.theory._universe import Universe, exact_identities

    sim = dict(model="quadratic1d", algo="sgd", n=4, lr=0.1, datasets=2, chains=1, steps=10)
    pts = np.random.default_rng(0).normal(size=(20, 2))
    U = Universe(loss=np.ones((2, 3)), r_l=np.ones(3) / 3)
    return {
        "simulate model None": (lambda: simulate(**{**sim, "model": None}), "model"),
        "simulate lr None": (lambda: simulate(**{**sim, "lr": None}), "lr"),
        "simulate lr list": (lambda: simulate(**{**sim, "lr": [0.1]}), "lr"),
        "simulate lr complex": (lambda: simulate(**{**sim, "lr": 0.1 + 1j}), "lr"),
        "simulate lr text": (lambda: simulate(**{**sim, "lr": "0.1"}), "lr"),
        "simulate lr 1e308": (lambda: simulate(**{**sim, "lr": 1e308}), "lr"),
        "simulate n nan": (lambda: simulate(**{**sim, "n": float("nan")}), "n"),
        "simulate cosine text": (lambda: simulate(**{**sim, "cosine": "yes"}), "cosine"),
        "simulate data_std array": (lambda: simulate(**{**sim, "data_std": np.ones(3)}), "data_std"),
        "simulate seed 2^64": (lambda: simulate(**{**sim, "seed": 2**64}), "seed"),
        "simulate data_std 1e30": (lambda: simulate(**{**sim, "data_std": 1e30}), "data_std"),
        "make_spec T scalar": (lambda: make_spec("quadratic1d", T_grid=0.1), "T_grid"),
        "make_spec T text": (lambda: make_spec("quadratic1d", T_grid="0.1"), "T_grid"),
        "make_spec T nan": (lambda: make_spec("quadratic1d", T_grid=[float("nan")]), "T_grid"),
        "make_spec T None entry": (lambda: make_spec("quadratic1d", T_grid=[None]), "T_grid"),
        "make_spec T complex": (lambda: make_spec("quadratic1d", T_grid=[0.1j]), "T_grid"),
        "make_spec batch scalar": (lambda: make_spec("quadratic1d", batch_grid=2), "batch_grid"),
        "make_spec model None": (lambda: make_spec(None), "model"),
        "make_spec model_kwargs list": (lambda: make_spec("quadratic1d", model_kwargs=[1]), "model_kwargs"),
        "make_spec backend module:fn": (lambda: make_spec("quadratic1d", backend="os:system"), "backend"),
        "make_spec backend not a str": (lambda: make_spec("quadratic1d", backend=print), "backend"),
        "make_spec cosine text": (lambda: make_spec("quadratic1d", cosine="yes"), "cosine"),
        "make_spec cosine + langevin": (lambda: make_spec("quadratic1d", algo="langevin", cosine=True), "cosine"),
        "make_spec momentum + sgd": (lambda: make_spec("quadratic1d", momentum=0.5), "momentum"),
        "make_spec dim for quadratic1d": (lambda: make_spec("quadratic1d", dim=3), "dim"),
        "make_spec root_seed 2^64": (lambda: make_spec("quadratic1d", root_seed=2**64), "root_seed"),
        "run_sweep spec None": (lambda: run_sweep(None, "unused"), "spec"),
        "run_sweep spec dict": (lambda: run_sweep({"model": "x"}, "unused"), "spec"),
        "run_sweep out None": (lambda: run_sweep(make_spec("quadratic1d"), None), "out"),
        "run_sweep out empty": (lambda: run_sweep(make_spec("quadratic1d"), ""), "out"),
        "Universe loss nan": (lambda: Universe(loss=np.array([[np.nan]]), r_l=[1.0]), "loss"),
        "Universe loss complex": (lambda: Universe(loss=np.ones((2, 2)) * 1j, r_l=[0.5, 0.5]), "loss"),
        "Universe loss text": (lambda: Universe(loss=[["a"]], r_l=[1.0]), "loss"),
        "Universe loss scalar": (lambda: Universe(loss=1.0, r_l=[1.0]), "loss"),
        "Universe loss None": (lambda: Universe(loss=None, r_l=[1.0]), "loss"),
        "Universe r_l None": (lambda: Universe(loss=np.ones((1, 1)), r_l=None), "r_l"),
        "exact_identities universe None": (lambda: exact_identities(None, lambda c: None, 2), "universe"),
        "exact_identities n 0": (lambda: exact_identities(U, lambda *a: None, 0), "n"),
        "exact_identities algorithm None": (lambda: exact_identities(U, None, 2), "algorithm"),
        "kendall_tau None": (lambda: kendall_tau(None, [1, 2]), "indicator"),
        "kendall_tau scalars": (lambda: kendall_tau(1.0, 2.0), "indicator"),
        "kendall_tau lengths": (lambda: kendall_tau([1, 2, 3], [1, 2]), "gap"),
        "kendall_tau complex": (lambda: kendall_tau([1j, 2], [1, 2]), "indicator"),
        "kendall_tau text": (lambda: kendall_tau(["a", "b"], [1, 2]), "indicator"),
        "kendall_tau 2-D": (lambda: kendall_tau(np.ones((2, 2)), np.ones((2, 2))), "indicator"),
        "fit_eq1 None": (lambda: fit_eq1(None, [1, 2]), "T"),
        "fit_eq1 scalars": (lambda: fit_eq1(1.0, 2.0), "T"),
        "fit_eq1 lengths": (lambda: fit_eq1([1, 2, 3], [1, 2]), "gap"),
        "fit_eq1 complex": (lambda: fit_eq1([1j, 2, 3, 4], [1, 2, 3, 4]), "T"),
        "fit_eq1 text": (lambda: fit_eq1(["a", "b", "c", "d"], [1, 2, 3, 4]), "T"),
        "fit_eq1 2-D": (lambda: fit_eq1(np.ones((4, 2)), np.ones((4, 2))), "T"),
        "ph_dimension None": (lambda: ph_dimension(None), "points"),
        "ph_dimension 1-D": (lambda: ph_dimension(np.ones(20)), "points"),
        "ph_dimension nan": (lambda: ph_dimension(np.full((20, 2), np.nan)), "points"),
        "ph_dimension complex": (lambda: ph_dimension(np.ones((20, 2)) * 1j), "points"),
        "ph_dimension reps 0": (lambda: ph_dimension(pts, reps=0), "reps"),
        "ph_dimension sizes scalar": (lambda: ph_dimension(pts, sizes=5), "sizes"),
    }


_API = _api_cases()


@pytest.mark.parametrize("case", list(_API))
def test_the_library_refuses_bad_input_naming_the_parameter(tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    fn, param = _API[case]
    with pytest.raises(ArgumentError) as exc:
        fn()
    assert param in str(exc.value) and "\n" not in str(exc.value), str(exc.value)


def test_a_wrong_exception_fails_the_suite():
    """The suite's check can fail: a plain TypeError is not accepted."""
    with pytest.raises(TypeError):
        with pytest.raises(ArgumentError):
            raise TypeError("not an ArgumentError")
