"""From per-epoch traces of an ensemble to the paper's data-averaged numbers (Section 3, Appendix E).

- Epoch schedule N(T) = N_ref max(1, min(4, 1 + (T_ref/T - 1)/4)), N_ref = 300
  at T_ref = 2e-4 (Appendix E).
- Steady-state value of one run: cut a late spike (the run ends where the mean
  of the last 7 epochs first stops exceeding the mean of the last 25, walking
  back from the end), then the median of the last 50 epochs.
- Data average: members are (data draw k, seed j); the steady-state values form
  (K, M) arrays and go through `gapkit.sims._estimators.ensemble_summary`
  (intervals from the spread across data draws).

The steady-state rules are the paper's; sims/_steady.py (another room) holds the
toolkit-wide implementation. Until it exists this module carries the minimum
privately (`_steady_value`, `paper_epochs`), and uses sims' versions when present.
"""
from __future__ import annotations

import math

import numpy as np

from gapkit.sims._estimators import ensemble_summary, mean_ci95

__all__ = ["paper_epochs", "steady_value", "summarize_ensemble", "equilibrated"]

T_REF = 2e-4
N_REF = 300


def paper_epochs(T: float, *, n_ref: int = N_REF, T_ref: float = T_REF) -> int:
    """Appendix E: N(T) = n_ref max(1, min(4, 1 + (T_ref/T - 1)/4)), rounded up."""
    from gapkit.sims._args import check_int, check_positive

    T = check_positive("T", T)
    n_ref = check_int("n_ref", n_ref, 1)
    T_ref = check_positive("T_ref", T_ref)
    return int(math.ceil(n_ref * max(1.0, min(4.0, 1.0 + (T_ref / T - 1.0) / 4.0))))


def _spike_end(x: np.ndarray, short: int = 7, long: int = 25) -> int:
    end = x.size
    while end >= long and x[end - short:end].mean() > x[end - long:end].mean():
        end -= 1
    return end


def steady_value(trace, *, window: int = 50, cut_spikes: bool = True) -> float:
    """Median of the last `window` epochs of one run's trace, after the spike cut."""
    x = np.asarray(trace, dtype=np.float64)
    if x.size == 0 or not np.all(np.isfinite(x[-min(window, x.size):])):
        return float("nan")
    end = _spike_end(x) if cut_spikes else x.size
    return float(np.median(x[max(0, end - window):end]))


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


def _steady(trace, window, cut):
    try:  # the toolkit-wide implementation, when its room has written it
        from gapkit.sims._steady import steady_state_value  # type: ignore[attr-defined]
    except ImportError:
        return steady_value(trace, window=window, cut_spikes=cut)
    return float(steady_state_value(trace, window=window, cut_spikes=cut))


def summarize_ensemble(rec: dict, K: int, M: int, *, window: int = 50, cut_spikes: bool = True) -> dict:
    """The sweep-point result of an ensemble of K data draws x M seeds.

    rec: `train_ensemble` output (member e = draw e // M, seed e % M).
    Returns gap, gap_ci95, train_loss(_ci95), test_loss(_ci95), datasets_used,
    diverged (count), train_acc, test_acc, acc_gap (= train_acc - test_acc)
    with intervals, sigma_l (steady-state per-example test-loss std), fdr1 (Yaida's ratio of the window's summed sides, median
    over members), dist_init (median over members at the end), equilibrated (bool: every surviving member
    passes `equilibrated` on its train loss) and equilibrated_fraction.
    """
    E = K * M
    w = min(window, rec["train_loss"].shape[1] - 1)
    def sv(name, arr=None):
        a = rec[name] if arr is None else arr
        return np.array([_steady(a[e, 1:], w, cut_spikes) for e in range(E)]).reshape(K, M)

    tr, te = sv("train_loss"), sv("test_loss")
    div = np.asarray(rec["diverged"], bool).reshape(K, M) | ~np.isfinite(tr) | ~np.isfinite(te)
    res = ensemble_summary(tr, te, diverged=div)
    ok = ~div
    def per_draw(a):
        with np.errstate(invalid="ignore"):
            cnt = ok.sum(1)
            return np.where(cnt > 0, np.where(ok, a, 0.0).sum(1) / np.maximum(cnt, 1), np.nan)

    if np.isfinite(rec["train_acc"]).any():
        tra, tea = sv("train_acc"), sv("test_acc")
        res["train_acc"], res["train_acc_ci95"] = mean_ci95(per_draw(tra))
        res["test_acc"], res["test_acc_ci95"] = mean_ci95(per_draw(tea))
        res["acc_gap"], res["acc_gap_ci95"] = mean_ci95(per_draw(tra - tea))
    else:
        for k in ("train_acc", "test_acc", "acc_gap"):
            res[k], res[k + "_ci95"] = float("nan"), float("nan")
    res["sigma_l"], res["sigma_l_ci95"] = mean_ci95(per_draw(sv("test_loss_std")))
    with np.errstate(invalid="ignore", divide="ignore"):  # ratio of the window's sums (per-epoch ratios are noisy)
        fd = rec["fdr1_lhs"][:, -w:].sum(1) / rec["fdr1_rhs"][:, -w:].sum(1)
    res["fdr1"] = float(np.nanmedian(fd[ok.ravel()])) if ok.any() and np.isfinite(fd[ok.ravel()]).any() else float("nan")
    res["dist_init"] = float(np.nanmedian(rec["dist_init"][ok.ravel(), -1])) if ok.any() else float("nan")
    eq = np.array([equilibrated(rec["train_loss"][e, 1:], window=w) for e in range(E)])
    surv = ok.ravel()
    res["equilibrated_fraction"] = float(eq[surv].mean()) if surv.any() else 0.0
    res["equilibrated"] = bool(surv.any() and eq[surv].all())
    return res
