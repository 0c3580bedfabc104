"""False claims of the findings on models whose truth is known (issue 10): the
README's linreg quick sweep at seed 0 claimed B ("finite optimal T") where the
exact law says the test loss rises with T; the CI-sized version of the
``fpr.*`` study of `gapkit verify --full`."""
from __future__ import annotations

import pytest

from gapkit.sims.verify._registry import FAIL, PASS, CheckContext


@pytest.fixture(scope="module")
def linreg_seed0():
    pytest.importorskip("numba")
    from gapkit.sims.verify.catalogue.fpr import claim_counts

    return claim_counts("linreg", [0], preset="quick", workers=1)


def test_linreg_quick_seed0_no_longer_claims_B(linreg_seed0):
    # main printed "B: True (interior minimum, both grid edges significantly higher)" here
    assert linreg_seed0["not_judged"] == 0 and linreg_seed0["counts"]["B"] == 0


def test_fpr_rows_pass_at_the_level_and_fail_under_wrong_theory(linreg_seed0):
    from gapkit.sims.verify.catalogue.fpr import clopper_pearson, fpr_rows

    rows = {r.id: r for r in fpr_rows(CheckContext(seed=0), "linreg", linreg_seed0, 0.05)}
    assert rows["fpr.B.linreg"].verdict == PASS and rows["fpr.collapse.linreg"].verdict == "INFO"
    bad = {r.id: r for r in fpr_rows(CheckContext(seed=0, wrong_theory=0.2), "linreg", linreg_seed0, 0.05)}
    assert bad["fpr.B.linreg"].verdict == FAIL
    # a rate well above the level fails: 5 false claims in 20 sweeps
    high = dict(linreg_seed0, seeds=20, counts={**linreg_seed0["counts"], "B": 5})
    assert {r.id: r for r in fpr_rows(CheckContext(seed=0), "linreg", high, 0.05)}["fpr.B.linreg"].verdict == FAIL
    assert clopper_pearson(0, 20) == (0.0, pytest.approx(0.1684, abs=1e-4))
