"""One home for the shared constants (sims/_settings.py) and one JSON
convention (non-finite numbers are null, `to_jsonable`) across the outputs."""
from __future__ import annotations

import ast
import io
import json
import math
import re
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from gapkit.sims import _settings as S

ROOT = Path(__file__).resolve().parents[1]


def test_settings_module_is_light():
    """It imports nothing (no numpy, numba or scipy): the CLI builds its parser from it."""
    tree = ast.parse((ROOT / "sims" / "_settings.py").read_text())
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [getattr(n, "module", None) for n in imports] == ["__future__"]


def test_values():
    assert S.Z95 == pytest.approx(stats.norm.ppf(0.975), rel=1e-15)
    # K_SE standard errors: the two-sided false-FAIL rate the catalogue quotes (6.3e-5)
    assert 2 * stats.norm.sf(S.K_SE) == pytest.approx(6.3e-5, rel=0.01)
    assert S.STEADY_Z == 4.0 and S.BIG == 1e30


def test_library_homes_use_the_settings():
    from gapkit.sims.engine import _data, _kernels, _problems
    from gapkit.sims.stats import _equilibration, _estimators, _fit
    from gapkit.sims.sweep import _spec
    from gapkit.sims.verify.catalogue import collapse, simulators, temperature, theta_grid

    assert _problems.MODELS is S.MODELS and set(_problems.MODEL_KWARGS) == set(S.MODELS)
    assert set(_kernels.ALGOS) == set(S.ALGOS) and _kernels.BIG == S.BIG
    assert _data.SCHEMES is S.SCHEMES
    assert _spec.MODELS is S.MODELS and _spec.ALGOS is S.ALGOS and tuple(_spec.PRESETS) == S.SWEEP_PRESET_NAMES
    assert _estimators.Z95 is S.Z95 and _fit.Z95 is S.Z95 and _equilibration.DRIFT_Z_CRIT is S.STEADY_Z
    assert collapse.K_SE is simulators.K_SE is theta_grid.K_SE is S.K_SE
    assert temperature.FULL_MODELS is S.MODELS


def _choices(cmd: str, option: str):
    from gapkit.sims.cli._main import build_parser

    parser, _ = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices[cmd]
    return next(a for a in sub._actions if option in a.option_strings).choices


def test_cli_choices_come_from_the_settings():
    assert tuple(_choices("simulate", "--model")) == S.MODELS
    assert tuple(_choices("simulate", "--algo")) == S.ALGOS == tuple(_choices("sweep", "--algo"))
    assert tuple(_choices("simulate", "--scheme")) == S.SCHEMES
    assert set(S.SWEEP_PRESET_NAMES) <= set(_choices("sweep", "--preset"))


# literal copies of a shared constant outside the settings module
_COPIES = {
    "the model list": re.compile(r"""["']quadratic1d["'],\s*["']quadratic["'],\s*["']linreg["'],\s*["']logreg["']"""),
    "Z95": re.compile(r"1\.95996398454"),
    "K_SE": re.compile(r"^\s*(K_SE|Z_TOL)\s*=\s*[0-9]", re.M),
    "BIG": re.compile(r"^\s*BIG\s*=\s*[0-9]", re.M),
}


def _copies(text: str) -> list[str]:
    return [name for name, pat in _COPIES.items() if pat.search(text)]


def test_no_copies_of_the_constants():
    found = {}
    for room in ("sims", "gpu", "theory"):
        for p in sorted((ROOT / room).rglob("*.py")):
            if p.name != "_settings.py" and "__pycache__" not in p.parts and _copies(p.read_text()):
                found[str(p.relative_to(ROOT))] = _copies(p.read_text())
    assert found == {}


def test_the_copy_scan_can_fail():
    assert _copies('MODELS = ("quadratic1d", "quadratic", "linreg", "logreg", "rfridge")\nZ = 1.959963984540054\n'
                   "K_SE = 4.0\n") == ["the model list", "Z95", "K_SE"]


# ------------------------------------------------------------------ JSON convention
def _emit(obj) -> str:
    from gapkit.sims.cli._main import emit_json

    buf = io.StringIO()
    with redirect_stdout(buf):
        emit_json(obj)
    return buf.getvalue()


def test_emit_json_writes_null_for_non_finite():
    out = _emit({"a": float("nan"), "b": np.float64("inf"), "c": [1.0, -math.inf], "d": np.array([np.nan, 2.0]),
                 "e": np.int64(3), "f": np.bool_(True), "g": Path("/x")})
    assert json.loads(out) == {"a": None, "b": None, "c": [1.0, None], "d": [None, 2.0], "e": 3, "f": True, "g": "/x"}
    assert "NaN" not in out and "Infinity" not in out and '"nan"' not in out


def test_to_jsonable_fast_paths_give_plain_python():
    """The array and float-list shortcuts (issue 15) give what the element-by-element walk gives: Python
    floats, ints and bools in nested lists, null for non-finite numbers at any depth."""
    from gapkit.sims.stats._results import to_jsonable

    got = to_jsonable({"f": np.array([[1.5, 2.0], [3.0, -0.5]]), "i": np.arange(3, dtype=np.int32),
                       "b": np.array([True, False]), "l": [0.5, math.nan, 2.0], "t": (1.0, math.inf),
                       "n": np.array([[1.0, np.inf]]), "m": [np.float64(1.0), 2.0], "z": np.zeros(0)})
    assert got == {"f": [[1.5, 2.0], [3.0, -0.5]], "i": [0, 1, 2], "b": [True, False], "l": [0.5, None, 2.0],
                   "t": [1.0, None], "n": [[1.0, None]], "m": [1.0, 2.0], "z": []}
    flat = [*got["f"][0], *got["i"], *got["b"], *got["m"]]
    assert [type(v) for v in flat] == [float, float, int, int, int, bool, bool, float, float]


def test_check_rows_use_null():
    from gapkit.sims.verify._registry import CheckResult

    r = CheckResult(id="a.b.c", equation="", model="", theory=math.inf, measured=float("nan"), ci95=None,
                    tolerance=np.float64(1.0), tolerance_source="", verdict="INFO",
                    extra={"x": [np.nan, 1.0], "y": np.float64("-inf")})
    d = r.to_dict()
    assert d["theory"] is None and d["measured"] is None and d["tolerance"] == 1.0
    assert d["extra"] == {"x": [None, 1.0], "y": None}


def test_verify_report_files_are_strict_json(tmp_path):
    from gapkit.sims.verify._registry import CheckResult, summarize
    from gapkit.sims.verify._report import write_report

    rows = [CheckResult(id="a.b.c", equation="", model="", theory=1.0, measured=float("nan"), ci95=math.inf,
                        tolerance=None, tolerance_source="", verdict="INFO")]
    payload = {"checks": [r.to_dict() for r in rows], "summary": summarize(rows), "extra": float("nan")}
    write_report(tmp_path, payload, rows, config={"seed": 0, "quick": True, "nan": float("nan")})
    for name in ("checks.json", "config.json"):
        text = (tmp_path / name).read_text()
        json.loads(text, parse_constant=lambda c: pytest.fail(f"{name} holds {c}"))
    got = json.loads((tmp_path / "checks.json").read_text())
    assert got["checks"][0]["measured"] is None and got["checks"][0]["ci95"] is None and got["extra"] is None
