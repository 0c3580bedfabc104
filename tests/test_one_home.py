"""One home per concept (issue 9): the Numba and the torch paths call the same
statistics functions of `gapkit.sims.stats`, and the torch backend's names are
those functions, not copies.

Spies wrap the one definition of each concept (monkeypatched on its defining
module; every caller looks it up there when it runs) and record which path
called it:

- the equilibration verdict `_equilibration.run_verdict` and the per-draw mean
  `_estimators.per_dataset_mean`: both paths (a tiny Numba run through the
  sweep runner's `execute_run`, a tiny torch sweep point through `execute_run`
  and through `run_point` alone);
- the Appendix E epoch rule `_steady.paper_epochs`: the sweep spec of a torch
  sweep and the torch backend's "paper" epochs (the Numba sweeps measure run
  length in steps, not epochs);
- the steady value `_steady.steady_summary` (window median after the spike
  cut): the torch backend (the Numba simulators average their post-burn-in
  records inside the kernels; they have no window median).
"""
from __future__ import annotations

import collections
import sys

import numpy as np
import pytest

from gapkit.sims.stats import _equilibration, _estimators, _steady

SPIED = {
    "verdict": (_equilibration, "run_verdict"),
    "per-draw mean": (_estimators, "per_dataset_mean"),
    "epoch rule": (_steady, "paper_epochs"),
    "steady value": (_steady, "steady_summary"),
}


@pytest.fixture
def spies(monkeypatch):
    """({concept: set of (path, calling module)}, current): the test names the
    path it is running in current["path"]."""
    import gapkit.gpu._summary  # noqa: F401 - imported before the spies: its re-exports bind the real functions

    calls = collections.defaultdict(set)
    current = {"path": None}

    def wrap(concept, fn):
        def spy(*args, **kwargs):
            calls[concept].add((current["path"], sys._getframe(1).f_globals.get("__name__")))
            return fn(*args, **kwargs)
        return spy

    for concept, (mod, name) in SPIED.items():
        monkeypatch.setattr(mod, name, wrap(concept, getattr(mod, name)))
    return calls, current


def _numba_run(current):
    pytest.importorskip("numba")
    from gapkit.sims.sweep._runner import execute_run
    from gapkit.sims.sweep._spec import build_runs, make_spec

    current["path"] = "numba"
    spec = make_spec("quadratic1d", preset="smoke", T_grid=[0.1], batch_grid=[1], seeds=1, datasets=8)
    return execute_run(build_runs(spec)[0])["result"]


def _torch_sweep_run(current):
    from gapkit.gpu._plugin import torch_sweep_spec
    from gapkit.sims.sweep._runner import execute_run
    from gapkit.sims.sweep._spec import build_runs

    current["path"] = "torch-spec"
    runs = build_runs(torch_sweep_spec("smoke", lr_grid=[0.2]))
    current["path"] = "torch"
    return execute_run(runs[0])["result"]


def test_numba_and_torch_paths_call_the_same_functions(spies):
    pytest.importorskip("torch")
    from gapkit.gpu._run import run_point

    calls, current = spies
    numba = _numba_run(current)
    swept = _torch_sweep_run(current)
    current["path"] = "torch-point"
    point = run_point({"preset": "smoke", "seed": 1, "epochs": "paper", "epochs_ref": 2, "T_ref": 0.01})
    paths = {c: {p for p, _ in calls[c]} for c in SPIED}
    assert paths["verdict"] >= {"numba", "torch", "torch-point"}, calls
    assert paths["per-draw mean"] >= {"numba", "torch", "torch-point"}, calls
    assert paths["epoch rule"] >= {"torch-spec", "torch-point"}, calls
    assert paths["steady value"] >= {"torch", "torch-point"}, calls
    # and from the modules that hold each rule's use, not through a copy elsewhere
    runner, spec, summ, run = ("gapkit.sims.sweep._runner", "gapkit.sims.sweep._spec", "gapkit.gpu._summary",
                               "gapkit.gpu._run")
    assert {("numba", runner), ("torch", runner), ("torch", summ), ("torch-point", summ)} <= calls["verdict"]
    assert ("torch-point", summ) in calls["per-draw mean"]  # the accuracies and sigma_l, not only the losses
    assert {("torch-spec", spec), ("torch-point", run)} <= calls["epoch rule"]
    assert ("torch-point", summ) in calls["steady value"]
    assert point.config["epochs"] == 4  # the "paper" rule: 2 x (1 + (0.01 / 0.0025 - 1) / 4) = 3.5 -> 4
    # the runner's steady column and the backend's own verdict are the same call on the same trace
    assert swept["steady"] == swept["equilibrated"]
    assert set(numba) >= {"steady", "drift_z", "eq_ess"}


def test_torch_names_are_the_stats_functions():
    """Re-exported, not wrapped: the torch backend's public names are the
    objects of gapkit.sims.stats, and the old second homes are gone."""
    import gapkit.sims as sims
    import gapkit.sims.stats as stats
    from gapkit.gpu import _summary
    from gapkit.sims.sweep import _runner

    assert _summary.paper_epochs is stats.paper_epochs is _steady.paper_epochs is sims.paper_epochs
    assert _summary.steady_value is stats.steady_value is _steady.steady_value
    assert stats.run_verdict is _equilibration.run_verdict
    assert stats.per_dataset_mean is _estimators.per_dataset_mean
    for gone in ("equilibrated",):  # the two-halves "1% of the level" rule
        assert not hasattr(_summary, gone)
    assert not hasattr(_runner, "_drift")  # moved to _equilibration.drift_test
    pytest.importorskip("torch")
    import gapkit.gpu as gpu

    assert gpu.paper_epochs is stats.paper_epochs and gpu.steady_value is stats.steady_value


def test_torch_verdict_matches_the_runner_rule_on_the_same_trace():
    """The torch backend's equilibrated is `run_verdict` on its (K, M, epochs + 1)
    train-loss trace with the sweep config's epochs: a drifting and a flat
    ensemble are told apart the same way the Numba runs are."""
    from gapkit.gpu._summary import summarize_ensemble

    K, M, S = 8, 1, 80
    rng = np.random.default_rng(3)
    base = rng.uniform(0.5, 1.0, (K * M, 1))
    rec = {"test_loss": base + 0.3 + 0.01 * rng.standard_normal((K * M, S + 1)),
           "train_acc": np.full((K * M, S + 1), 0.9), "test_acc": np.full((K * M, S + 1), 0.7),
           "test_loss_std": np.full((K * M, S + 1), 0.2), "dist_init": np.ones((K * M, S + 1)),
           "fdr1_lhs": np.ones((K * M, S)), "fdr1_rhs": np.ones((K * M, S)), "diverged": np.zeros(K * M, bool)}
    flat = base + 0.01 * rng.standard_normal((K * M, S + 1))
    for train, want in ((flat, True), (flat + np.linspace(0.3, 0.0, S + 1), False)):
        summary, _ = summarize_ensemble({**rec, "train_loss": train}, K, M, window=50)
        direct = _equilibration.run_verdict(train.reshape(K, M, -1), {"epochs": S})
        assert summary.extras["equilibrated"] is want is direct["steady"]
        assert summary.extras["drift_z"] == direct["drift_z"]
