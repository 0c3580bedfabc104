"""The providers of sims/catalogue/exact.py and approx.py: every PASS/FAIL row
passes as is and fails when the theory value is shifted by 20%
(ctx.wrong_theory = 0.2); INFO rows stay INFO; the quick set is fast."""
from __future__ import annotations

import importlib

import numpy as np
import pytest

from gapkit.sims.verify import _registry as _checks
from gapkit.sims.verify._registry import INFO, CheckContext, run_checks

_MODULES = ("gapkit.sims.verify.catalogue.exact", "gapkit.sims.verify.catalogue.approx")


def _mine():
    # import only these two modules (not the whole catalogue) and take their providers
    for mod in _MODULES:
        importlib.import_module(mod)
    specs = [s for s in _checks._REGISTRY.values() if s.module in _MODULES]
    assert {s.module for s in specs} == set(_MODULES)
    return specs


@pytest.fixture(scope="module")
def judged():
    """(rows, the same rows judged with the theory value shifted by 20%): one run of the
    providers, shared with the quick catalogue's test (issue 15)."""
    from test_catalogue_all import judged_twice

    rows, wrong, _ = judged_twice(_mine())
    return rows, wrong


def test_all_pass(judged):
    """Every judged exact-identity row passes (their time is the benchmarks' business, not a test's)."""
    rows = judged[0]
    judged = [r for r in rows if r.verdict != INFO]
    assert len(judged) >= 12
    bad = [(r.id, r.verdict, r.note) for r in judged if r.verdict != "PASS"]
    assert not bad, bad
    ids = {r.id for r in rows}
    for want in ("eq02.identity.universe", "eq05.identity.universe_shift", "eq06.gap_identity.universe",
                 "eq07.bound.universe", "eq09.potential_gap.universe", "eq21.sgd_potential_gap.universe",
                 "eq13.lognormal_gap.quadratic1d", "eq52.delta_gap.quadratic1d", "eq13.gauge_shift.quadratic1d"):
        assert want in ids, want
    assert len(ids) == len(rows), "check ids must be unique"


def test_wrong_theory_fails_every_judged_row(judged):
    rows = judged[1]
    judged = [r for r in rows if r.verdict != INFO]
    assert judged and all(r.verdict == "FAIL" for r in judged), [(r.id, r.verdict) for r in judged]


def test_undefined_rows_report_none(judged):
    rows = judged[0]
    r = next(r for r in rows if r.id == "eq10.lognormal_rhobar.quadratic1d")
    assert r.measured is None and "undefined (Zbar = inf)" in r.note
    r = next(r for r in rows if r.id == "eq09.loss_gap_negative.universe")
    assert r.measured is not None and r.measured < 0
    for r in rows:
        if r.verdict == INFO and r.id.endswith(".quadratic1d") and r.id.split(".")[0] not in ("eq06",):
            assert "gauge" in r.note or r.id.startswith("eq13.gauge_shift")


def test_error_map_figure(tmp_path):
    spec = [s for s in _mine() if s.module.endswith("approx")]
    ctx = CheckContext(seed=0, quick=True, out=tmp_path)
    run_checks(spec, ctx)
    p = tmp_path / "figures" / "approx_error_map.png"
    assert p.exists() and p.stat().st_size > 10_000


def test_same_seed_same_rows():
    a = run_checks([s for s in _mine() if s.module.endswith("exact")], CheckContext(seed=3))
    b = run_checks([s for s in _mine() if s.module.endswith("exact")], CheckContext(seed=3))
    assert [(r.id, r.measured) for r in a] == [(r.id, r.measured) for r in b]
    assert np.isfinite([r.measured for r in a if r.measured is not None]).all()
