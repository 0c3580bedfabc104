"""The whole quick catalogue, as `gapkit verify` runs it (issue 4's Done means):

- no check FAILs on main;
- every PASS/FAIL row can fail: with the theory value shifted by 20%
  (CheckContext.wrong_theory) every judged row turns into FAIL. INFO rows are
  measurements and are left alone; a provider that needs a missing optional
  package yields SKIP.

Each family also has its own wrong-answer test (wrong simulators, wrong inputs)
next to its code; this one guarantees no judged row anywhere slips through.
"""
from __future__ import annotations

import pytest

from gapkit.sims.verify._registry import FAIL, INFO, PASS, SKIP, CheckContext, run_checks, run_warmups, select_checks

from test_report import PRIVATE  # the pattern of private paths and internal document names

REQUIRED_FAMILIES = {"eq01", "eq06", "eq10", "eq13", "eq26", "eq27", "eq52", "fokker", "collapse", "momentum"}


@pytest.fixture(scope="module")
def specs():
    s = select_checks(None, quick=True)
    run_warmups({x.module for x in s})
    return s


@pytest.mark.slow
def test_quick_catalogue_has_no_fail_and_covers_the_required_families(specs):
    rows = run_checks(specs, CheckContext(seed=0, quick=True))
    fails = [(r.id, r.note) for r in rows if r.verdict == FAIL]
    assert not fails
    assert REQUIRED_FAMILIES <= {r.id.split(".")[0] for r in rows}
    assert sum(r.verdict == PASS for r in rows) >= 50
    ids = [r.id for r in rows]
    assert sorted({i for i in ids if ids.count(i) > 1}) == []  # the rerun map and the report are keyed by id
    private = [(r.id, m.group(0)) for r in rows for t in (r.note, r.equation, r.model, r.tolerance_source)
               if (m := PRIVATE.search(t or ""))]
    assert private == []  # no private module paths or internal document names reach the report


@pytest.mark.slow
def test_every_judged_row_fails_with_a_wrong_theory_value(specs):
    rows = run_checks(specs, CheckContext(seed=0, quick=True, wrong_theory=0.2))
    judged = [r for r in rows if r.verdict not in (INFO, SKIP)]
    assert len(judged) >= 50
    survivors = [r.id for r in judged if r.verdict != FAIL]
    assert not survivors
