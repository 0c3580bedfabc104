"""Bad input on the command line ends in one line on stderr and exit status 2;
anything else is a bug and shows its traceback (DESIGN.md, issue 9).

Two layers: argparse types reject a bad value while parsing (every option
that takes a value, of every built-in command, fed bad numbers); the command's
own checks (and the library's `ArgumentError`) reject what parsing cannot see
(combinations, sizes, missing files). `main` turns only an `ArgumentError`
into exit status 2, so a plain ValueError from deep inside is a traceback.
"""
from __future__ import annotations

import argparse

import pytest

from gapkit.sims.cli import _main
from gapkit.sims.cli._main import UsageError, build_parser, main
from gapkit.theory._validate import ArgumentError

COMMANDS = ("simulate", "sweep", "verify", "score", "bench")
# bad numbers and non-numbers; each option sees those its type rejects
BAD = ("-1", "0", "-0", "nan", "inf", "-inf", "1e400", "1e30", "99999999999999999999999", "1.5", "abc", "", "1e-400",
       "0x10", "2 3", "true",
       # issue 12: numbers no run can honour, subnormal steps, seeds beyond 64 bits, lists where one number goes
       "1e308", "-1e308", "1e-320", "18446744073709551616", "1,2", "[1]")


def _value_options(cmd: str):
    parser, _ = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[cmd]
    return sub, [a for a in sub._actions if a.option_strings and a.nargs is None and a.type is not None
                 and a.type is not str]


def _rejects(conv, value: str) -> bool:
    try:
        conv(value)
    except (argparse.ArgumentTypeError, TypeError, ValueError):
        return True
    return False


def _parse_cases():
    """(cmd, option, value) for every value the option's type rejects."""
    return [(cmd, a.option_strings[0], v) for cmd in COMMANDS for a in _value_options(cmd)[1] for v in BAD
            if _rejects(a.type, v)]


PARSE_CASES = _parse_cases()


def _run(capsys, argv):
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse exits directly
        rc = exc.code
    return rc, capsys.readouterr().err


def _assert_one_line(rc, err, needle, *, progress: bool = False):
    """Exit 2 and one error line naming `needle`, no traceback; with `progress`
    the command may have written progress lines before it."""
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert "Traceback" not in err, err
    if progress:
        lines = [ln for ln in lines if not ln.startswith("sweep: ")]
    assert len(lines) == 1 and "error:" in lines[0] and needle in lines[0], err


def test_the_fuzz_covers_every_command_and_numeric_option():
    """Each command with numeric options gets cases, and so does each such option
    (a type that accepted nan or inf would drop its cases and fail here)."""
    for cmd in COMMANDS:
        _, actions = _value_options(cmd)
        numeric = [a.option_strings[0] for a in actions if _rejects(a.type, "abc")]
        covered = {o for c, o, _ in PARSE_CASES if c == cmd}
        assert set(numeric) <= covered, (cmd, set(numeric) - covered)
        for opt in numeric:
            got = {v for c, o, v in PARSE_CASES if (c, o) == (cmd, opt)}
            assert {"nan", "abc", ""} <= got and ("inf" in got or "1e400" in got), (cmd, opt, got)


# A positional the command needs, so that only the fuzzed option is wrong.
_NEEDS = {"score": ["."], "sweep": ["--model", "quadratic1d", "--out", "unused"]}


@pytest.mark.parametrize("cmd,opt,value", PARSE_CASES, ids=[f"{c} {o} {v!r}" for c, o, v in PARSE_CASES])
def test_bad_option_values_give_one_line_exit_2(capsys, cmd, opt, value):
    rc, err = _run(capsys, [cmd, *_NEEDS.get(cmd, []), f"{opt}={value}"])
    _assert_one_line(rc, err, opt)


_SIM = ["simulate", "--datasets", "3", "--chains", "1", "--n", "4"]


@pytest.mark.parametrize("argv,needle", [
    # simulate: rules between options, and sizes no machine holds
    (_SIM + ["--dt", "0.5"], "dt"),
    (_SIM + ["--momentum", "0.5"], "momentum"),
    (_SIM + ["--algo", "langevin", "--cosine"], "cosine"),
    (_SIM + ["--h", "1", "--model", "linreg"], "--h"),
    (_SIM + ["--model", "quadratic1d", "--dim", "3"], "dim"),
    (_SIM + ["--steps", "10", "--burnin", "10"], "burnin"),
    (_SIM + ["--steps", "20", "--burnin", "99999999999999999999999"], "burnin"),
    (["simulate", "--datasets", "1e30"], "datasets"),
    (["simulate", "--chains", "99999999999999999999999", "--datasets", "2"], "datasets"),
    (["simulate", "--n", "1048576", "--datasets", "1"], "n"),
    (_SIM + ["--pool", "99999999999999999999999"], "datasets"),
    (_SIM + ["--steps", "1e30"], "steps"),
    (_SIM + ["--pool", "4"], "pool"),
    # sweep: combinations the spec rejects
    (["sweep", "--model", "nosuchmodel", "--out", "unused"], "model"),
    (["sweep", "--model", "quadratic1d", "--set", "nosuchkey=1", "--out", "unused", "--T-grid", "0.1",
      "--batch-grid", "1", "--datasets", "2", "--chains", "1", "--time", "0.1", "--burn-time", "0.1",
      "--workers", "1", "--no-figures"], "nosuchkey"),
    (["sweep", "--model", "quadratic1d", "--set", "novalue", "--out", "unused"], "--set"),
    (["sweep", "--model", "quadratic1d", "--scheduler", "tcp://127.0.0.1:9", "--out", "unused", "--T-grid", "0.1",
      "--batch-grid", "1", "--datasets", "2", "--chains", "1", "--no-figures"], "scheduler"),
    # verify and score: selections and files that do not exist
    (["verify", "--only", "nosuchfamily"], "--only"),
    (["score", "/nonexistent/results"], "RESULTS_DIR"),
])
def test_bad_input_past_parsing_gives_one_line_exit_2(capsys, tmp_path, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    rc, err = _run(capsys, argv)
    _assert_one_line(rc, err, needle, progress=argv[0] == "sweep")


def test_score_names_a_missing_column(capsys, tmp_path):
    (tmp_path / "runs.csv").write_text("lr,batch,T\n0.1,1,0.1\n")
    rc, err = _run(capsys, ["score", str(tmp_path)])
    _assert_one_line(rc, err, "gap")


def _fake_command(monkeypatch, exc):
    def run(args):
        raise exc

    real = build_parser

    def patched():
        parser, table = real()
        table["verify"] = _main.Command(name="verify", help="", add_arguments=lambda p: None, run=run)
        return parser, table

    monkeypatch.setattr(_main, "build_parser", patched)


@pytest.mark.parametrize("exc", [ArgumentError("lr must be > 0 (got -1)"), UsageError("--grid: impossible grid")])
def test_argument_errors_become_one_line_exit_2(capsys, monkeypatch, exc):
    _fake_command(monkeypatch, exc)
    rc, err = _run(capsys, ["verify"])
    _assert_one_line(rc, err, str(exc))


@pytest.mark.parametrize("exc", [ValueError("an internal bug"), TypeError("an internal bug"),
                                 ZeroDivisionError("an internal bug")])
def test_any_other_exception_is_a_bug_and_propagates(capsys, monkeypatch, exc):
    """A plain ValueError is not a bad argument: it is not turned into exit 2."""
    _fake_command(monkeypatch, exc)
    with pytest.raises(type(exc), match="an internal bug"):
        main(["verify"])
