"""The one validation layer (theory/_validate.py): every check raises an
`ArgumentError` (a ValueError) that names the parameter, in its message and in
``.param``, and the library's own argument errors are that type too."""
from __future__ import annotations

import argparse
import ast
import math
import pickle
from pathlib import Path

import numpy as np
import pytest

import gapkit.sims
import gapkit.theory
from gapkit.theory._validate import (
    ArgumentError,
    check_array,
    check_choice,
    check_finite,
    check_int,
    check_interval,
    check_nonneg,
    check_positive,
    check_prob,
)

ROOT = Path(__file__).resolve().parents[1]


def test_public_names():
    assert gapkit.theory.ArgumentError is ArgumentError is gapkit.sims.ArgumentError
    assert issubclass(ArgumentError, ValueError)
    from gapkit.sims.cli._main import UsageError

    assert issubclass(UsageError, ArgumentError)


@pytest.mark.parametrize("check,value,want", [
    (check_finite, -2.5, -2.5), (check_finite, np.float32(0.5), 0.5), (check_positive, 3, 3.0),
    (check_positive, 1e-300, 1e-300), (check_nonneg, 0, 0.0), (check_nonneg, np.int64(7), 7.0),
])
def test_numbers_accepted(check, value, want):
    got = check("x", value)
    assert got == want and type(got) is float


@pytest.mark.parametrize("check,value,words", [
    (check_finite, float("nan"), "a number"), (check_finite, float("inf"), "finite"), (check_finite, "one", "a number"),
    (check_finite, True, "a number"), (check_finite, None, "a number"), (check_finite, 10**400, "a number"),
    (check_positive, 0, "> 0"), (check_positive, -1e-300, "> 0"), (check_positive, float("inf"), "> 0"),
    (check_nonneg, -1, ">= 0"), (check_nonneg, float("-inf"), ">= 0"), (check_nonneg, float("nan"), "a number"),
])
def test_numbers_rejected_name_the_parameter(check, value, words):
    with pytest.raises(ArgumentError) as e:
        check("lr_x", value)
    assert e.value.param == "lr_x"
    assert str(e.value).startswith("lr_x must be") and words in str(e.value)


def test_interval_ends():
    assert check_interval("mu", 0, 0, 1, closed_right=False) == 0.0
    assert check_interval("mu", 1, 0, 1) == 1.0
    for bad, kw in ((1, dict(closed_right=False)), (0, dict(closed_left=False)), (-1e-12, {}), (float("nan"), {})):
        with pytest.raises(ArgumentError, match=r"^mu must") as e:
            check_interval("mu", bad, 0, 1, **kw)
        assert e.value.param == "mu"
    with pytest.raises(ArgumentError, match=r"mu must be in \[0, 1\) \(got 1\)"):
        check_interval("mu", 1, 0, 1, closed_right=False)


def test_int_and_choice():
    assert check_int("n", 3.0, 1) == 3 and type(check_int("n", np.int32(3))) is int
    for bad in (0, 2.5, True, "3", None):
        with pytest.raises(ArgumentError, match="^n must be an integer") as e:
            check_int("n", bad, 1)
        assert e.value.param == "n"
    with pytest.raises(ArgumentError, match=r"in \[1, 4\] \(got 5\)"):
        check_int("n", 5, 1, 4)
    assert check_choice("kind", "cos", ("relu", "cos")) == "cos"
    with pytest.raises(ArgumentError, match="kind must be one of") as e:
        check_choice("kind", "tanh", ("relu", "cos"))
    assert e.value.param == "kind"


def test_arrays_and_probabilities():
    assert check_array("a", [[1, 2]], ndim=2, shape=(1, None)).dtype == np.float64
    for kw, a in ((dict(ndim=1), [[1.0]]), (dict(shape=(2,)), [1.0]), ({}, [np.nan]), ({}, [np.inf]),
                  (dict(allow_inf=True), [-np.inf]), (dict(positive=True), [0.0]), (dict(nonneg=True), [-1.0]),
                  ({}, ["x"]), ({}, [[1.0], [1.0, 2.0]])):
        with pytest.raises(ArgumentError) as e:
            check_array("a", a, **kw)
        assert e.value.param == "a" and str(e.value).startswith("a must")
    assert check_array("a", [np.inf], allow_inf=True)[0] == np.inf
    np.testing.assert_array_equal(check_prob("p", [0.25, 0.75]), [0.25, 0.75])
    for p in ([0.5, 0.6], [-0.5, 1.5], [[1.0]], []):
        with pytest.raises(ArgumentError, match="^p must"):
            check_prob("p", p)


def test_param_is_read_from_the_message_or_given():
    assert ArgumentError("lr must be > 0 (got -1)").param == "lr"
    assert ArgumentError("--lr-grid must be a list").param == "--lr-grid"
    assert ArgumentError("covs[2] must be positive semi-definite").param == "covs[2]"
    assert ArgumentError("something went wrong").param is None
    assert ArgumentError("unknown option(s) ['x'] for model 'q'", param="model").param == "model"


def test_param_survives_pickling():
    """Errors cross process pools and Dask workers by pickle."""
    e = pickle.loads(pickle.dumps(ArgumentError("the system is singular", param="bounds")))
    assert type(e) is ArgumentError and e.param == "bounds" and str(e) == "the system is singular"


def test_library_argument_errors_are_argument_errors():
    """A sample across the rooms: theory, the engine, statistics, indicators, the torch-free sweep store."""
    from gapkit.sims.engine._simulate import simulate
    from gapkit.sims.stats._grid import grid_density_stats
    from gapkit.sims.sweep._store import config_key
    from gapkit.theory._rfridge import random_features

    cases = [
        (lambda: simulate(model="quadratic1d", algo="sgd", n=4, lr=0.1, dt=0.5), "dt"),
        (lambda: simulate(model="quadratic1d", algo="sgd", n=4, lr=0.1, momentum=1.0), "momentum"),
        (lambda: simulate(model="quadratic1d", algo="sgd", n=4, lr=0.1, beta=float("inf")), "beta"),
        (lambda: simulate(model="linreg", algo="sgd", n=4, lr=0.1, nosuch=1), "model_kwargs"),
        (lambda: gapkit.theory.quadratic1d_steady(4, 0.0, 1.0, h=1.0, lam=3.0, scheme="sgd"), "lam"),
        (lambda: random_features(np.ones((2, 2)), 0), "P"),
        (lambda: grid_density_stats(np.ones((1, 3)), [0.0, 1.0]), "samples"),
        (lambda: config_key([1]), "config"),
    ]
    for call, param in cases:
        with pytest.raises(ArgumentError) as e:
            call()
        assert e.value.param == param, (e.value, e.value.param)


# Raise sites that are not argument checks: an internal inconsistency is a bug
# and must show as one (a plain ValueError keeps its traceback on the CLI).
_NOT_ARGUMENT_ERRORS = {"sims/indicators/_toy_models.py": 1}


def _value_error_raises(path: Path) -> int:
    n = 0
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            f = node.exc.func
            if isinstance(f, ast.Name) and f.id == "ValueError":
                n += 1
    return n


def test_no_plain_value_error_for_bad_arguments_in_library_code():
    """Every library raise of ValueError is an ArgumentError now (the check
    catalogue's providers are excluded: their errors become FAIL rows)."""
    found = {}
    for room in ("theory", "sims", "gpu"):
        for p in sorted((ROOT / room).rglob("*.py")):
            if "catalogue" in p.parts or "__pycache__" in p.parts:
                continue
            n = _value_error_raises(p)
            if n:
                found[str(p.relative_to(ROOT))] = n
    assert found == _NOT_ARGUMENT_ERRORS


def test_the_source_scan_can_fail(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("def f(x):\n    if x < 0:\n        raise ValueError(f'x must be >= 0 (got {x})')\n")
    assert _value_error_raises(p) == 1


def test_cli_types_are_the_layer():
    """The argparse types give the layer's message, as argparse's error."""
    from gapkit.sims.cli._args import finite_float, int_at_least, nonneg_float, positive_float, unit_interval

    for conv, check, s in ((positive_float("--lr"), lambda v: check_positive("--lr", v), "-1"),
                           (nonneg_float("--alpha"), lambda v: check_nonneg("--alpha", v), "-0.5"),
                           (finite_float("--beta"), lambda v: check_finite("--beta", v), "inf"),
                           (int_at_least("--n", 1), lambda v: check_int("--n", v, 1), "0"),
                           (unit_interval("--momentum"), lambda v: check_interval("--momentum", v, 0, 1,
                                                                                 closed_right=False), "1")):
        with pytest.raises(ArgumentError) as want:
            check(float(s) if "." in s or "inf" in s else int(s))
        with pytest.raises(argparse.ArgumentTypeError) as got:
            conv(s)
        assert str(got.value) == str(want.value)
    assert positive_float("--lr")("1e-3") == 1e-3 and int_at_least("--n", 1)("1e3") == 1000
    assert math.isclose(unit_interval("--momentum")("0.9"), 0.9)
