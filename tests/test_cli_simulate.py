"""`gapkit simulate` on the command line: JSON contract, one-line errors, divergence warning."""
import json
import subprocess
import sys

import pytest

from gapkit.sims.cli._main import main


KEYS = ("model", "algo", "n", "dim", "lr", "batch", "alpha", "beta", "momentum", "dt", "data_mean", "data_std",
        "noise_std", "datasets", "chains", "steps", "burnin", "seed", "T", "gap", "gap_ci95", "train_loss",
        "train_loss_ci95", "test_loss", "test_loss_ci95", "diverged", "theory", "wall_seconds")


def _run(capsys, *argv):
    rc = main(["simulate", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_issue_example_json(capsys):
    rc, out, err = _run(capsys, "--model", "quadratic1d", "--algo", "sgd", "--n", "50", "--data-mean", "0",
                        "--data-std", "1", "--alpha", "0.05", "--beta", "0.2", "--lr", "0.1", "--batch", "8",
                        "--datasets", "100000", "--chains", "2", "--seed", "0", "--json")
    assert rc == 0
    d = json.loads(out)
    assert all(k in d for k in KEYS)
    assert d["datasets"] == 100000 and d["diverged"] == 0 and d["T"] == pytest.approx(0.0125)
    # simulated gap vs the exact closed form (theory key), 4 standard errors
    assert abs(d["gap"] - d["theory"]["gap"]) < 4 * d["gap_ci95"] / 1.96
    assert abs(d["test_loss"] - d["theory"]["test_loss"]) < 4 * d["test_loss_ci95"] / 1.96


def test_text_output(capsys):
    rc, out, _ = _run(capsys, "--datasets", "50", "--lr", "0.2", "--algo", "langevin")
    assert rc == 0 and "gap" in out and "theory" in out


def test_divergence_warns_and_completes(capsys):
    # lam (h + alpha) = 2.5 >= 2: past the stability limit of plain SGD on the quadratic
    rc, out, err = _run(capsys, "--lr", "2.5", "--datasets", "10", "--steps", "300", "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["diverged"] == 20 and d["gap"] is None
    assert "warning" in err and "diverged" in err


@pytest.mark.parametrize("argv,name", [
    (["--batch", "0"], "--batch"), (["--lr", "0"], "--lr"), (["--lr", "-1"], "--lr"), (["--n", "0"], "--n"),
    (["--model", "quadratic1d", "--dim", "3"], "dim"), (["--data-mean", "nan"], "--data-mean"),
    (["--data-std", "inf"], "--data-std"), (["--momentum", "1"], "--momentum"), (["--h", "1", "--model", "linreg"], "--h"),
    (["--steps", "10", "--burnin", "10"], "burnin"),
])
def test_bad_arguments_one_line_exit_2(capsys, argv, name):
    rc = None
    try:
        rc = main(["simulate", *argv])
    except SystemExit as exc:  # argparse type errors exit directly
        rc = exc.code
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in err


def test_subprocess_exit_status():
    p = subprocess.run([sys.executable, "-m", "gapkit.sims", "simulate", "--batch", "0"], capture_output=True, text=True)
    assert p.returncode == 2 and "--batch" in p.stderr and "Traceback" not in p.stderr
