"""runs.csv is read with pandas (issue 16): every column a sweep writes is in
the column dictionary (`gapkit columns`), and the files say what ran
(burnin_rule of a sweep run, sweep.json without the fields a backend ignores)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from gapkit.sims.cli._main import main
from gapkit.sims.sweep._columns import describe


@pytest.fixture(scope="module")
def toy_sweep(tmp_path_factory):
    from gapkit.sims.sweep._executor import SerialExecutor
    from gapkit.sims.sweep._runner import run_sweep
    from gapkit.sims.sweep._spec import make_spec

    out = tmp_path_factory.mktemp("sweep")
    spec = make_spec("quadratic1d", preset="smoke", T_grid=[0.05, 0.1], batch_grid=[1], datasets=64)
    run_sweep(spec, out, executor=SerialExecutor(), progress=False, figures=False)
    return out


def test_every_column_of_a_toy_sweep_is_in_the_dictionary(toy_sweep, capsys):
    assert main(["columns", str(toy_sweep), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["columns"]
    assert [r["column"] for r in rows] == list(pd.read_csv(toy_sweep / "runs.csv").columns)
    unknown = [r["column"] for r in rows if r["unit"] == "?"]
    assert unknown == []
    # the dictionary can say no: an unknown column is reported as such
    assert describe("no_such_column") is None and describe("gap_ci95")[0] == "as the column"


def test_a_sweep_run_says_the_sweep_chose_its_burn_in(toy_sweep):
    rules = set(pd.read_csv(toy_sweep / "runs.csv")["burnin_rule"])
    assert len(rules) == 1 and rules.pop().startswith("sweep: equal rescaled time")


def test_sweep_json_leaves_out_what_an_epochs_backend_does_not_use(toy_sweep):
    from gapkit.gpu._plugin import torch_sweep_spec
    from gapkit.sims.sweep._runner import _settings_record

    toy = json.loads((toy_sweep / "sweep.json").read_text())
    assert toy["spec"]["datasets"] == 64 and "not_used" not in toy
    rec = _settings_record(torch_sweep_spec("smoke"))
    assert {"datasets", "chains", "n"} <= set(rec["not_used"]) and not {"datasets", "chains", "n"} & set(rec["spec"])
    assert rec["spec"]["backend"] == "torch" and rec["spec"]["lr_grid"]
