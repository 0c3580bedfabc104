"""The command line as a new user meets it (issue 16): a version, `python -m
gapkit`, help text with defaults for every option, `verify --list` by
provider, and a hint when `score` finds no indicators."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

import gapkit
from gapkit.sims.cli._main import build_parser, main


def _subparsers():
    parser, _ = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def test_version_everywhere():
    from importlib.metadata import version

    assert gapkit.__version__ == version("gapkit")
    r = subprocess.run([sys.executable, "-m", "gapkit", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"gapkit {gapkit.__version__}", r.stderr


def _help_problems(p: argparse.ArgumentParser) -> list[str]:
    """Options without help, options whose default --help hides, source file names in --help."""
    bad = []
    for a in p._actions:
        if isinstance(a, (argparse._HelpAction, argparse._VersionAction)):
            continue
        if not (a.help and a.help.strip()):
            bad.append(f"{a.option_strings or a.dest} has no help")
            continue
        unset = a.default is None or a.default is False or a.default == [] or a.nargs == 0
        if not unset and a.option_strings and "default" not in p._get_formatter()._get_help_string(a):
            bad.append(f"{a.option_strings} hides its default")
    if re.search(r"\b_\w+\.py\b", p.format_help()):
        bad.append("--help names a source file")
    return bad


@pytest.mark.parametrize("name", sorted(_subparsers()))
def test_every_option_has_help_and_shows_its_default(name):
    assert _help_problems(_subparsers()[name]) == []


def test_the_help_check_catches_a_bad_parser():
    p = argparse.ArgumentParser(formatter_class=argparse.HelpFormatter)
    p.add_argument("--bare", default=3)
    p.add_argument("--hidden", default=3, help="the plain formatter hides its value")
    p.add_argument("--file", help="see `_bench.py`")
    assert len(_help_problems(p)) == 3


def test_the_defaults_formatter_shows_a_zero_default():
    text = _subparsers()["simulate"].format_help()
    assert re.search(r"--seed SEED\s+root seed \(default: 0\)", text)


def test_verify_list_names_providers_and_their_ids(capsys):
    assert main(["verify", "--list", "--only", "sim.,theta_grid"]) == 0
    out = capsys.readouterr().out.splitlines()
    providers = [line for line in out if not line.startswith("  ")]
    ids = [line.strip() for line in out if line.startswith("  ")]
    assert "simulators.sgd_mean_var" in providers and "sim.sgd_mean_var.quadratic1d" in ids
    assert "theta_grid.approx.*" in ids  # a prefix the provider fills from its grid


def test_score_without_indicators_says_how_to_get_them(tmp_path, capsys):
    (tmp_path / "runs.csv").write_text("T,lr,batch,gap\n0.1,0.1,1,0.5\n0.2,0.2,1,0.4\n0.3,0.3,1,0.35\n")
    assert main(["score", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "no indicator columns" in err and "--indicators" in err
