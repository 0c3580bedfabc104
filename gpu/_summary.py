"""From per-epoch traces of an ensemble to the paper's data-averaged numbers (Section 3, Appendix E).

- Epoch schedule N(T) = N_ref max(1, min(4, 1 + (T_ref/T - 1)/4)), N_ref = 300
  at T_ref = 2e-4 (Appendix E): `gapkit.sims.stats._steady.paper_epochs`.
- Steady-state value of one run: the paper's late-spike cut
  (`gapkit.sims.stats._steady.spike_cut_end`, on the run's train loss; the run ends
  there for every metric), then the median of the last 50 epochs
  (`steady_value` wraps `gapkit.sims.stats._steady.steady_summary` for one trace).
- Equilibration: `gapkit.sims.stats._steady.equilibration` (pooled Geweke drift
  test, |z| < 4; no minimum effective sample size) on the members' train-loss
  traces over the window (first segment 25%, last 50%) when the window holds
  >= 16 records; otherwise a two-halves drift test (`equilibrated`).
- Data average: members are (data draw k, seed j); the steady-state values form
  (K, M) arrays and go through `gapkit.sims.stats._estimators.ensemble_summary`
  (intervals from the spread across data draws).
"""
from __future__ import annotations

import math

import numpy as np

from gapkit.sims.stats._estimators import ensemble_summary, mean_ci95
from gapkit.sims.stats._steady import PAPER_REFERENCE_EPOCHS, PAPER_REFERENCE_T, equilibration, spike_cut_end, steady_summary
from gapkit.sims.stats._steady import paper_epochs as _paper_epochs

__all__ = ["paper_epochs", "steady_value", "summarize_ensemble", "equilibrated"]


def paper_epochs(T: float, *, n_ref: int = PAPER_REFERENCE_EPOCHS, T_ref: float = PAPER_REFERENCE_T) -> int:
    """Appendix E: N(T) = n_ref max(1, min(4, 1 + (T_ref/T - 1)/4)), rounded up
    (`gapkit.sims.stats._steady.paper_epochs` with the reference run n_ref at T_ref)."""
    return _paper_epochs(T, reference_epochs=n_ref, reference_T=T_ref)


def steady_value(trace, *, window: int = 50, cut_spikes: bool = True):
    """The paper's steady-state value(s): median of the last `window` epochs
    after the late-spike cut (last axis = epochs). nan where the window holds a
    non-finite record (a diverged run)."""
    x = np.asarray(trace, dtype=np.float64)
    val = np.asarray(steady_summary(x, window=window, spike_cut=cut_spikes)["value"], dtype=np.float64)
    bad = ~np.all(np.isfinite(x[..., -min(window, x.shape[-1]):]), axis=-1)
    val = np.where(bad, np.nan, val)
    return float(val) if val.ndim == 0 else val


def equilibrated(trace, *, window: int = 50, k: float = 3.0) -> bool:
    """Stationarity check of one trace: the means of the two halves of the last
    `window` epochs differ by at most k standard errors of the difference (from
    the halves' own spread) plus 1% of the level. A necessary condition only,
    as the paper notes (Appendix E)."""
    x = np.asarray(trace, dtype=np.float64)[-window:]
    if x.size < 4 or not np.all(np.isfinite(x)):
        return False
    a, b = x[: x.size // 2], x[x.size // 2:]
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return bool(abs(a.mean() - b.mean()) <= k * se + 0.01 * abs(x.mean()))


def summarize_ensemble(rec: dict, K: int, M: int, *, window: int = 50, cut_spikes: bool = True) -> dict:
    """The sweep-point result of an ensemble of K data draws x M seeds.

    rec: `train_ensemble` output (member e = draw e // M, seed e % M).
    Each run's end is set by the paper's spike cut on its train loss (when
    cut_spikes); every metric is the median over the same last `window` epochs.
    Returns gap, gap_ci95, train_loss(_ci95), test_loss(_ci95), datasets_used,
    diverged (count), train_acc, test_acc, acc_gap (= train_acc - test_acc)
    with intervals, sigma_l (steady-state per-example test-loss std), fdr1 (Yaida's ratio of the window's summed sides, median
    over members), dist_init (median over members at the end), equilibrated (bool: every surviving member
    passes `equilibrated` on its train loss) and equilibrated_fraction, and
    "per_run": (K, M) arrays of the steady-state values of each run (train,
    test, gap, train_acc, test_acc, acc_gap, sigma_l, diverged).
    """
    E = K * M
    w = min(window, rec["train_loss"].shape[1] - 1)
    # The spike cut truncates the *run*: its end comes from the train-loss trace
    # and every metric is summarized over the same window (the cut's rule, "the
    # last 7 epochs above the last 25", would misfire on a rising accuracy).
    train = rec["train_loss"][:, 1:]
    S = train.shape[1]
    ends = spike_cut_end(np.where(np.isfinite(train), train, np.inf)) if cut_spikes else np.full(E, S)
    ends = np.maximum(ends, min(w, S))

    def sv(name):
        x = rec[name][:, 1:]
        idx = ends[:, None] - w + np.arange(w)
        vals = np.take_along_axis(x, np.clip(idx, 0, S - 1), axis=1)
        out = np.median(vals, axis=1)  # nan (diverged) when the window holds a non-finite record
        return np.where(np.all(np.isfinite(x[:, -w:]), axis=1), out, np.nan).reshape(K, M)

    tr, te = sv("train_loss"), sv("test_loss")
    div = np.asarray(rec["diverged"], bool).reshape(K, M) | ~np.isfinite(tr) | ~np.isfinite(te)
    res = ensemble_summary(tr, te, diverged=div)
    per_run = {"train": tr, "test": te, "gap": te - tr, "diverged": div}
    ok = ~div
    def per_draw(a):
        with np.errstate(invalid="ignore"):
            cnt = ok.sum(1)
            return np.where(cnt > 0, np.where(ok, a, 0.0).sum(1) / np.maximum(cnt, 1), np.nan)

    if np.isfinite(rec["train_acc"]).any():
        tra, tea = sv("train_acc"), sv("test_acc")
        per_run.update(train_acc=tra, test_acc=tea, acc_gap=tra - tea)
        res["train_acc"], res["train_acc_ci95"] = mean_ci95(per_draw(tra))
        res["test_acc"], res["test_acc_ci95"] = mean_ci95(per_draw(tea))
        res["acc_gap"], res["acc_gap_ci95"] = mean_ci95(per_draw(tra - tea))
    else:
        for k in ("train_acc", "test_acc", "acc_gap"):
            res[k], res[k + "_ci95"] = float("nan"), float("nan")
    sig = sv("test_loss_std")
    per_run["sigma_l"] = sig
    res["sigma_l"], res["sigma_l_ci95"] = mean_ci95(per_draw(sig))
    with np.errstate(invalid="ignore", divide="ignore"):  # ratio of the window's sums (per-epoch ratios are noisy)
        fd = rec["fdr1_lhs"][:, -w:].sum(1) / rec["fdr1_rhs"][:, -w:].sum(1)
    res["fdr1"] = float(np.nanmedian(fd[ok.ravel()])) if ok.any() and np.isfinite(fd[ok.ravel()]).any() else float("nan")
    res["dist_init"] = float(np.nanmedian(rec["dist_init"][ok.ravel(), -1])) if ok.any() else float("nan")
    eq = np.array([equilibrated(rec["train_loss"][e, 1:], window=w) for e in range(E)])
    surv = ok.ravel()
    res["equilibrated_fraction"] = float(eq[surv].mean()) if surv.any() else 0.0
    res["equilibrated"] = bool(surv.any() and eq[surv].all())
    res["equilibrated_method"] = "two-halves drift test per member (window too short for Geweke)"
    if surv.any():
        try:
            # drift only (min_ess=0): precision is judged separately, through the
            # spread across data draws that sets the intervals
            # and first=0.25: a window of tens of epochs leaves too few records in
            # Geweke's usual first 10% for its autocorrelation-based error
            g = equilibration(rec["train_loss"][surv, -w:], min_ess=0.0, first=0.25)
        except ValueError:
            pass
        else:
            res["equilibrated"] = bool(g["equilibrated"])
            res["equilibrated_method"] = "gapkit.sims.stats._steady.equilibration on the window (pooled Geweke drift test, |z| < 4)"
            res["geweke_z"] = float(g["geweke_z_pooled"])
            res["ess"] = float(g["ess"])
    res["per_run"] = per_run
    return res
