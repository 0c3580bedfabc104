"""Command-line contract: one-line errors with exit status 2, --json purity."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gapkit.sims.cli._main import main


def _gapkit(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "gapkit.sims", *args], capture_output=True, text=True, timeout=timeout)


def test_help_lists_verify():
    r = _gapkit("--help")
    assert r.returncode == 0 and "verify" in r.stdout


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["verify", "--seed", "-1"], "--seed"),
        (["verify", "--only", ""], "--only"),
        (["verify", "--only", "nosuchfamily"], "--only"),
        (["verify", "--bogus"], "unrecognized"),
        (["nosuchcommand"], "invalid choice"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(argv, needle, capsys):
    with pytest.raises(SystemExit) as e:
        rc = main(argv)
        raise SystemExit(rc)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and "Traceback" not in err[0]


def test_verify_json_is_one_object(tmp_path):
    r = _gapkit("verify", "--only", "eq02", "--json", "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert set(obj) >= {"checks", "summary"}
    assert obj["checks"] and all(c["id"].startswith("eq02") for c in obj["checks"])
    keys = {"id", "equation", "model", "theory", "measured", "ci95", "tolerance", "tolerance_source", "verdict"}
    assert all(keys <= set(c) for c in obj["checks"])
    for f in ("report.html", "report.md", "checks.csv", "checks.json", "config.json"):
        assert (tmp_path / "rep" / f).exists()
