"""From per-epoch traces of an ensemble to the paper's data-averaged numbers (Section 3, Appendix E).

Every rule is the one of `gapkit.sims.stats`, which the Numba backend uses too;
nothing is re-derived here:

- Epochs per run (Appendix E): `gapkit.sims.stats._steady.paper_epochs`
  (re-exported as `paper_epochs`).
- Steady-state value of one run: `gapkit.sims.stats._steady.steady_summary`,
  the median of the last `window` epochs after the paper's late-spike cut. The
  cut is found on the run's train loss and ends the run for every metric (the
  cut's rule, "the last 7 epochs above the last 25", would misfire on a rising
  accuracy). A window holding a non-finite record gives nan and the member
  counts as diverged.
- Equilibration verdict: `gapkit.sims.stats._equilibration.run_verdict` on the
  (K draws, M seeds, epochs + 1) train-loss trace, the same call the sweep
  runner makes on the same trace (so ``equilibrated`` here and the sweep's
  ``steady`` column agree).
- Data average: members are (data draw k, seed j); the steady-state values form
  (K, M) arrays; `gapkit.sims.stats._estimators.ensemble_summary` gives the
  losses and gap, `per_dataset_mean` + `mean_ci95` the accuracies and sigma_l
  (intervals from the spread across data draws, on t_{K-1}: K = 4 draws give
  t_3 = 3.18, not 1.96).
"""
from __future__ import annotations

import numpy as np

from gapkit.sims.stats import _equilibration, _estimators, _steady
from gapkit.sims.stats._results import Summary
from gapkit.sims.stats._steady import paper_epochs as paper_epochs  # the one epoch rule (gapkit.gpu name)
from gapkit.sims.stats._steady import steady_value as steady_value  # the one steady value (gapkit.gpu name)

__all__ = ["paper_epochs", "steady_value", "summarize_ensemble", "VERDICT_METHOD"]

VERDICT_METHOD = ("gapkit's steady-state verdict (the same for every backend): drift of the last quarter vs the quarter before "
                  "over the last 50 epochs, |z| < 4 across data draws; ESS >= 100")


def _steady_values(rec: dict, K: int, M: int, window: int, cut_spikes: bool) -> dict:
    """(K, M) steady-state values of every recorded metric (epoch 0 left out),
    each over the window that ends where the train loss's spike cut ends the
    run; "diverged": (K, M) members left out of every average."""
    train = rec["train_loss"][:, 1:]
    w = min(window, train.shape[1])
    head = _steady.steady_summary(train, window=w, spike_cut=cut_spikes)
    out, div = {}, np.asarray(rec["diverged"], bool).reshape(K, M)
    for key, name in (("train", "train_loss"), ("test", "test_loss"), ("train_acc", "train_acc"),
                      ("test_acc", "test_acc"), ("sigma_l", "test_loss_std")):
        s = head if name == "train_loss" else _steady.steady_summary(rec[name][:, 1:], window=w, ends=head["end"])
        out[key] = s["value"].reshape(K, M)
        if key in ("train", "test"):
            div = div | s["diverged"].reshape(K, M)
    out["diverged"] = div
    out["window"] = w
    return out


def _draw_mean_ci(values: np.ndarray, div: np.ndarray) -> tuple[float, float]:
    """Mean over data draws of the per-draw means (diverged members out) and its 95% half-width."""
    return _estimators.mean_ci95(_estimators.per_dataset_mean(values, diverged=div))


def summarize_ensemble(rec: dict, K: int, M: int, *, window: int = 50, cut_spikes: bool = True
                       ) -> tuple[Summary, dict]:
    """The data-averaged numbers of an ensemble of K data draws x M seeds.

    rec: `train_ensemble` output (member e = draw e // M, seed e % M).
    Returns (summary, per_run): a `gapkit.sims.stats._results.Summary` (gap,
    train and test loss with 95% half-widths, datasets_used, diverged) whose
    extras hold train_acc, test_acc, acc_gap (= train_acc - test_acc) and
    sigma_l (steady-state per-example test-loss std), each with _ci95; fdr1
    (Yaida's ratio of the window's summed sides, median over surviving
    members); dist_init (median over surviving members at the end);
    equilibrated (True, False or None: the verdict, module docstring) with
    equilibrated_method and the verdict's diagnostics (drift, drift_se,
    drift_z, eq_*). per_run: (K, M) steady-state values of each run (train,
    test, gap, train_acc, test_acc, acc_gap, sigma_l, diverged).
    """
    sv = _steady_values(rec, K, M, window, cut_spikes)
    tr, te, div, w = sv["train"], sv["test"], sv["diverged"], sv["window"]
    summary = Summary.from_dict(_estimators.ensemble_summary(tr, te, diverged=div))
    per_run = {"train": tr, "test": te, "gap": te - tr, "diverged": div}
    ex = summary.extras
    if np.isfinite(rec["train_acc"]).any():
        tra, tea = sv["train_acc"], sv["test_acc"]
        per_run.update(train_acc=tra, test_acc=tea, acc_gap=tra - tea)
        for key, v in (("train_acc", tra), ("test_acc", tea), ("acc_gap", tra - tea)):
            ex[key], ex[key + "_ci95"] = _draw_mean_ci(v, div)
    else:
        for key in ("train_acc", "test_acc", "acc_gap"):
            ex[key], ex[key + "_ci95"] = float("nan"), float("nan")
    per_run["sigma_l"] = sv["sigma_l"]
    ex["sigma_l"], ex["sigma_l_ci95"] = _draw_mean_ci(sv["sigma_l"], div)
    ok = ~div.ravel()
    with np.errstate(invalid="ignore", divide="ignore"):  # ratio of the window's sums (per-epoch ratios are noisy)
        fd = rec["fdr1_lhs"][:, -w:].sum(1) / rec["fdr1_rhs"][:, -w:].sum(1)
    ex["fdr1"] = float(np.nanmedian(fd[ok])) if ok.any() and np.isfinite(fd[ok]).any() else float("nan")
    ex["dist_init"] = float(np.nanmedian(rec["dist_init"][ok, -1])) if ok.any() else float("nan")
    trace = np.asarray(rec["train_loss"], dtype=np.float64).reshape(K, M, -1)
    verdict = _equilibration.run_verdict(trace, {"epochs": trace.shape[-1] - 1})
    ex["equilibrated"] = verdict.pop("steady")
    ex["equilibrated_method"] = VERDICT_METHOD
    ex.update(verdict)
    return summary, per_run
