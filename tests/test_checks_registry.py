"""The check registry and the verdict helpers: every PASS can become a FAIL."""
from __future__ import annotations

import math

import numpy as np
import pytest

from gapkit.sims.verify import _registry as _checks
from gapkit.sims.verify._registry import FAIL, INFO, PASS, SKIP, CheckContext, CheckResult, run_checks, summarize


def test_compare_passes_within_tolerance_and_fails_outside():
    ctx = CheckContext()
    ok = ctx.compare("x.y.z", equation="Eq 6", model="m", theory=1.0, measured=1.0 + 1e-13,
                     tolerance=1e-12, tolerance_source="test")
    bad = ctx.compare("x.y.z", equation="Eq 6", model="m", theory=1.0, measured=1.0 + 1e-11,
                      tolerance=1e-12, tolerance_source="test")
    assert ok.verdict == PASS and bad.verdict == FAIL


def test_compare_nonfinite_measured_fails():
    ctx = CheckContext()
    r = ctx.compare("x.y.z", equation="", model="", theory=1.0, measured=float("nan"), tolerance=1.0,
                    tolerance_source="t")
    assert r.verdict == FAIL


def test_wrong_theory_turns_pass_into_fail():
    good, wrong = CheckContext(), CheckContext(wrong_theory=0.2)
    kw = dict(equation="", model="", tolerance=1e-3, tolerance_source="t")
    assert good.compare("a.b.c", theory=2.0, measured=2.0, **kw).verdict == PASS
    assert wrong.compare("a.b.c", theory=2.0, measured=2.0, **kw).verdict == FAIL
    # theory exactly 0 (a gap that vanishes) still moves
    assert wrong.compare("a.b.c", theory=0.0, measured=0.0, **kw).verdict == FAIL
    arr = dict(equation="", model="", tolerance=1e-9, tolerance_source="t")
    assert good.compare_max("a.b.c", theory=np.arange(3.0), measured=np.arange(3.0), **arr).verdict == PASS
    assert wrong.compare_max("a.b.c", theory=np.arange(3.0), measured=np.arange(3.0), **arr).verdict == FAIL
    ineq = dict(equation="", model="", tolerance=1e-12, tolerance_source="t")
    assert good.holds("a.b.c", lhs=1.0, rhs=1.0, **ineq).verdict == PASS
    assert wrong.holds("a.b.c", lhs=1.0, rhs=1.0, **ineq).verdict == FAIL
    assert good.holds("a.b.c", lhs=1.1, rhs=1.0, **ineq).verdict == FAIL


def test_compare_max_reports_worst_element():
    r = CheckContext().compare_max("a.b.c", equation="", model="", theory=np.zeros(4),
                                   measured=np.array([0, 1e-3, 5e-3, 0.0]), tolerance=1e-2, tolerance_source="t")
    assert r.verdict == PASS and r.extra["worst_index"] == 2 and math.isclose(r.measured, 5e-3)


def test_info_never_fails_and_verdict_is_validated():
    r = CheckContext(wrong_theory=0.2).info("a.b.c", equation="", model="", theory=1.0, measured=5.0)
    assert r.verdict == INFO
    with pytest.raises(ValueError, match="verdict"):
        CheckResult("a", "", "", None, None, None, None, "", "MAYBE")


def test_streams_are_keyed_not_ordered():
    ctx = CheckContext(seed=7)
    a = ctx.rng("eq06.x").standard_normal(3)
    ctx.rng("other").standard_normal(10)
    b = ctx.rng("eq06.x").standard_normal(3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, CheckContext(seed=8).rng("eq06.x").standard_normal(3))
    assert ctx.seed_for("k") != ctx.seed_for("l")


def test_run_checks_isolates_a_raising_provider_and_filters_prefixes(monkeypatch):
    monkeypatch.setattr(_checks, "_REGISTRY", {})

    @_checks.register_check(["zz01.boom.m"])
    def boom(ctx):
        raise RuntimeError("kaput")

    @_checks.register_check(["zz02.fine."])
    def fine(ctx):
        return [ctx.info("zz02.fine.a", equation="", model="", theory=None, measured=1.0),
                ctx.info("zz02.other.b", equation="", model="", theory=None, measured=1.0)]

    @_checks.register_check(["zz03.needs.m"], requires=["surely_not_a_module_xyz"])
    def needs(ctx):
        return []

    specs = list(_checks._REGISTRY.values())
    rows = run_checks(specs, CheckContext(), prefixes=["zz01", "zz02.fine", "zz03"])
    verdicts = {r.id: r.verdict for r in rows}
    assert verdicts == {"zz01.boom.m": FAIL, "zz02.fine.a": INFO, "zz03.needs.m": SKIP}
    s = summarize(rows)
    assert s["fail"] == 1 and not s["ok"]


def test_compare_max_on_a_2d_grid_reports_the_worst_cell():
    theory = np.zeros((3, 4))
    measured = theory.copy()
    measured[2, 1] = 0.5
    r = CheckContext().compare_max("a.b.c", equation="", model="", theory=theory, measured=measured,
                                   tolerance=np.full((3, 4), 0.1), tolerance_source="t")
    assert r.verdict == FAIL and r.extra["worst_index"] == 2 * 4 + 1 and r.measured == 0.5


def test_warmups_run_only_for_the_modules_they_serve(monkeypatch):
    monkeypatch.setattr(_checks, "_WARMUPS", {})
    calls = []

    @_checks.register_warmup(modules=["mod.a", "mod.b"])
    def warm():
        calls.append(1)

    _checks.run_warmups(["mod.c"])
    assert calls == []
    _checks.run_warmups(["mod.b"])
    assert calls == [1]


def test_a_warmup_registered_again_serves_more_modules(monkeypatch):
    """A backend's checks that need another backend's kernels register that
    backend's warm-up for their module: it then runs for either, once."""
    monkeypatch.setattr(_checks, "_WARMUPS", {})
    calls = []

    def warm():
        calls.append(1)

    _checks.register_warmup(modules=["mod.a"])(warm)
    _checks.register_warmup(modules=["plugin.x"])(warm)
    _checks.run_warmups(["mod.c"])
    assert calls == []
    _checks.run_warmups(["plugin.x"])
    _checks.run_warmups(["mod.a", "plugin.x"])
    assert calls == [1, 1]


class _Handle:
    """A fake background compile: records wait / cancel."""

    def __init__(self, log):
        self.log = log

    def wait(self):
        self.log.append("wait")

    def cancel(self):
        self.log.append("cancel")


def _row(i):
    return CheckResult(id=i, equation="", model="", theory=None, measured=None, ci95=None, tolerance=None,
                       tolerance_source="", verdict=INFO)


def test_a_first_run_runs_the_checks_without_kernels_while_they_compile(monkeypatch):
    """With a started background warm-up, providers of the modules it serves run after the others, each
    warm-up waits for its background part and then runs (once, before the first check needing it), and the
    rows come back in the catalogue's order (a run-order return fails this)."""
    monkeypatch.setattr(_checks, "_WARMUPS", {})
    log = []
    _checks.register_warmup(modules=["mod.k"], start=lambda: _Handle(log))(lambda: log.append("warm"))
    specs = []
    for i, mod in enumerate(["mod.k", "mod.t", "mod.k", "mod.t"]):
        def fn(ctx, i=i):
            log.append(f"p{i}")
            return [_row(f"f.p{i}.m")]
        specs.append(_checks.CheckSpec(ids=(f"f.p{i}.m",), fn=fn, module=mod))
    warm = _checks.Warmups({"mod.k", "mod.t"})
    assert warm.start() and warm.waits("mod.k") and not warm.waits("mod.t")
    rows = run_checks(specs, CheckContext(), warmups=warm)
    assert log == ["p1", "p3", "wait", "warm", "p0", "p2"]
    assert [r.id for r in rows] == ["f.p0.m", "f.p1.m", "f.p2.m", "f.p3.m"]
    warm.close()
    assert log[-1] == "p2"  # nothing left to cancel


def test_a_warm_cache_keeps_the_catalogue_order_and_an_interrupt_cancels(monkeypatch):
    """No background work (start gives None): providers run in order, the warm-up before the first that
    needs it. A background part no check waited for is cancelled by close()."""
    monkeypatch.setattr(_checks, "_WARMUPS", {})
    log = []
    _checks.register_warmup(modules=["mod.k"], start=lambda: None)(lambda: log.append("warm"))
    specs = [_checks.CheckSpec(ids=(f"f.p{i}.m",), fn=lambda ctx, i=i: log.append(f"p{i}") or [_row(f"f.p{i}.m")],
                               module=mod) for i, mod in enumerate(["mod.t", "mod.k", "mod.t"])]
    warm = _checks.Warmups({"mod.k", "mod.t"})
    assert not warm.start()
    run_checks(specs, CheckContext(), warmups=warm)
    assert log == ["p0", "warm", "p1", "p2"]
    log.clear()
    _checks.register_warmup(modules=["mod.k"], start=lambda: _Handle(log))(lambda: log.append("warm"))
    warm = _checks.Warmups({"mod.k"})
    assert warm.start()
    warm.close()
    assert log == ["cancel"]


def test_backends_bring_their_warmups_and_checks():
    """The catalogue takes the numba backend's kernel warm-up for the modules
    whose checks run the simulators (no catalogue module names another backend)."""
    from gapkit.sims._backends import get_backend

    _checks.registered_checks()
    numba = get_backend("numba")
    key = f"{numba.warmup.__module__}.{numba.warmup.__qualname__}"
    fn, serves, start = _checks._WARMUPS[key]
    assert fn is numba.warmup and set(numba.warmup_modules) <= serves and start is numba.warmup_start
    assert "gapkit.sims.verify.catalogue.simulators" in serves


def test_the_registry_refuses_duplicate_ids(monkeypatch):
    """Two providers declaring one id are refused at registration; a row whose
    id an earlier row has becomes a FAIL row with its own id (the rerun map and
    the report are keyed by id, so a duplicate would merge two rows)."""
    monkeypatch.setattr(_checks, "_REGISTRY", {})

    @_checks.register_check(["zz04.twice.m"])
    def first(ctx):
        return [ctx.info("zz04.twice.m", equation="", model="", theory=None, measured=1.0),
                ctx.info("zz04.twice.m", equation="", model="", theory=None, measured=2.0)]

    with pytest.raises(_checks.ArgumentError, match="zz04.twice.m"):
        @_checks.register_check(["zz04.twice.m"])
        def second(ctx):
            return []

    rows = run_checks(list(_checks._REGISTRY.values()), CheckContext())
    assert [(r.id, r.verdict) for r in rows] == [("zz04.twice.m", INFO), ("zz04.twice.m.duplicate2", FAIL)]
    assert not summarize(rows)["ok"]


def test_the_equation_column_has_one_form():
    labels = [CheckResult(id="a.b.c", equation=e, model="", theory=None, measured=None, ci95=None, tolerance=None,
                          tolerance_source="", verdict=INFO).equation for e in ("15", "48-49", "17, 47", "Eq 25",
                                                                                 " Eq 6 / Eq 15", "")]
    assert labels == ["Eq 15", "Eq 48-49", "Eq 17, 47", "Eq 25", "Eq 6 / Eq 15", ""]


def test_verify_reports_the_wait_for_a_background_warmup(monkeypatch, capsys):
    """`gapkit verify` end to end with a fake first run: the warm-up serving the exact identities compiles
    "in the background" (its wait takes 1.3 s): the command says so, runs the symbolic eq41 rows first, reports
    the wait as its JIT time, and lists the rows in the catalogue's order (eq02 before eq41)."""
    import json
    import time

    from gapkit.sims.cli import main

    _checks.registered_checks()  # the catalogue's own warm-ups registered before they are swapped out
    log = []

    class Slow(_Handle):
        def wait(self):
            time.sleep(1.3)
            log.append("wait")

    monkeypatch.setattr(_checks, "_WARMUPS", {})
    _checks.register_warmup(modules=["gapkit.sims.verify.catalogue.exact"],
                            start=lambda: Slow(log))(lambda: log.append("warm"))
    assert main(["verify", "--only", "eq02,eq41", "--json"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert "compiling simulators in the background" in cap.err and "waiting for the simulators" in cap.err
    assert log == ["wait", "warm"] and out["summary"]["jit_seconds"] >= 1.3
    ids = [r["id"] for r in out["checks"]]
    assert ids[0].startswith("eq02") and ids[-1].startswith("eq41")


def test_the_catalogue_order_does_not_depend_on_which_module_was_imported_first():
    """The report's row order is the catalogue's (`_MODULES`), even when a test or a user imported a later
    module (symbolic, collapse) before the catalogue was loaded; a fresh process, since imports are per process."""
    import subprocess
    import sys

    code = ("from gapkit.sims.verify.catalogue import collapse, symbolic\n"
            "from gapkit.sims.verify.catalogue import _MODULES\n"
            "from gapkit.sims.verify._registry import registered_checks\n"
            "mods = [s.module.rsplit('.', 1)[-1] for s in registered_checks()]\n"
            "cat = [m for m in mods if m in _MODULES]\n"
            "assert cat == sorted(cat, key=_MODULES.index) and cat[0] == 'exact', mods\n"
            "assert mods[:len(cat)] == cat, mods\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
