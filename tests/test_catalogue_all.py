"""The whole quick catalogue, as `gapkit verify` runs it (issue 4's Done means):

- no check FAILs on main;
- every PASS/FAIL row can fail: with the theory value shifted by 20%
  (CheckContext.wrong_theory) every judged row turns into FAIL. INFO rows are
  measurements and are left alone; a provider that needs a missing optional
  package yields SKIP.

Each family also has its own wrong-answer test (wrong simulators, wrong inputs)
next to its code; this one guarantees no judged row anywhere slips through.

The catalogue runs once (issue 15: it was run twice, half of the suite's time):
every verdict helper of the context (`compare`, `compare_max`, `holds`) judges
its inputs twice, as the plain context and as one with ``wrong_theory=0.2``,
which is what the second run computed (providers read `wrong_theory` only
through these helpers; the numbers they judge do not depend on it).
"""
from __future__ import annotations

import dataclasses

import pytest

from gapkit.sims.verify._registry import FAIL, INFO, PASS, SKIP, CheckContext, run_checks, run_warmups, select_checks

from test_report import PRIVATE  # the pattern of private paths and internal document names

REQUIRED_FAMILIES = {"eq01", "eq06", "eq10", "eq13", "eq26", "eq27", "eq52", "fokker", "collapse", "momentum"}


WRONG = 0.2


@dataclasses.dataclass
class _TwoVerdicts(CheckContext):
    """A context whose verdict helpers also judge with a theory value shifted
    by WRONG; twins maps id(row) -> that wrong-theory row."""

    twins: dict = dataclasses.field(default_factory=dict)

    def _twin(self, helper, args, kwargs):
        row = helper(self, *args, **kwargs)
        self.twins[id(row)] = helper(CheckContext(seed=self.seed, quick=self.quick, wrong_theory=WRONG), *args, **kwargs)
        return row

    def compare(self, *args, **kwargs):
        return self._twin(CheckContext.compare, args, kwargs)

    def compare_max(self, *args, **kwargs):
        return self._twin(CheckContext.compare_max, args, kwargs)

    def holds(self, *args, **kwargs):
        return self._twin(CheckContext.holds, args, kwargs)


_RUNS: dict = {}  # (provider, seed, quick) -> (its rows, their twins): each provider runs once per session


def judged_twice(specs, prefixes=None, **context):
    """One run of `specs`: (its rows, the same rows judged with a wrong theory value, the
    context). The other families' pass-and-fail-under-wrong-theory tests use it instead
    of running their providers a second time (issue 15: the suite's time). A row made
    without the context's verdict helpers has itself as twin, so it cannot pass as FAIL.

    A provider run with only seed and quick set is run once per session and its rows
    shared by every caller (the quick catalogue below and the families' tests run the
    same providers with the same seed: the same numbers, judged by the same helpers);
    a context with anything else (out=: figures) always runs afresh. Rows are kept per
    provider and filtered by `prefixes` as `run_checks` does; an id repeated across
    providers stays repeated (the catalogue test refuses it)."""
    seed, quick = context.pop("seed", 0), context.pop("quick", True)
    ctx = _TwoVerdicts(seed=seed, quick=quick, **context)
    rows, twins = [], []
    for spec in specs:
        key = (spec.fn, seed, quick)
        got = None if context else _RUNS.get(key)
        if got is None:
            ran = run_checks([spec], ctx)
            got = (ran, [ctx.twins.get(id(r), r) for r in ran])
            if not context:
                _RUNS[key] = got
        for r, t in zip(*got):
            if not prefixes or any(r.id.startswith(p) for p in prefixes):
                rows.append(r)
                twins.append(t)
    return rows, twins, ctx


@pytest.fixture(scope="module")
def catalogue():
    """(rows of the quick catalogue, the same rows judged with a wrong theory value)."""
    s = select_checks(None, quick=True)
    run_warmups({x.module for x in s})
    rows, twins, _ = judged_twice(s)
    return rows, twins


def test_the_twin_verdicts_are_the_wrong_theory_run():
    """A row judged by the two-verdict context is the plain row, and its twin
    is the row a wrong_theory context gives (a 20%-off theory value FAILs)."""
    ctx = _TwoVerdicts(seed=0, quick=True)
    kw = dict(equation="", model="", theory=1.0, measured=1.05, tolerance=0.1, tolerance_source="test")
    row = ctx.compare("x", **kw)
    assert row.verdict == PASS and row == CheckContext().compare("x", **kw)
    assert ctx.twins[id(row)] == CheckContext(wrong_theory=WRONG).compare("x", **kw)
    assert ctx.twins[id(row)].verdict == FAIL
    hold = ctx.holds("y", equation="", model="", lhs=0.9, rhs=1.0, tolerance=0.0, tolerance_source="test")
    assert hold.verdict == PASS and ctx.twins[id(hold)].verdict == FAIL


@pytest.mark.slow
def test_quick_catalogue_has_no_fail_and_covers_the_required_families(catalogue):
    rows, _ = catalogue
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
def test_every_judged_row_fails_with_a_wrong_theory_value(catalogue):
    _, rows = catalogue
    judged = [r for r in rows if r.verdict not in (INFO, SKIP)]
    assert len(judged) >= 50
    survivors = [r.id for r in judged if r.verdict != FAIL]
    assert not survivors
