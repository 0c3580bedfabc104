"""The equilibration verdict of an ensemble run: one rule for every backend.

A run's train-loss trace is (K data sets, M chains or seeds, S records), the
Numba simulators' recorded trace and the torch backend's per-epoch trace alike.
The verdict judges the run's measuring segment (`verdict_discard`): the
records after the burn-in on the Numba runs (their steady values average
exactly those), the paper's 50-epoch window at the end of a torch run
(Appendix E; its steady value is a median over the end of the run).

Rule (`steady_verdict`): steady when

- drift: per data set, d_k = mean of the segment's last quarter minus mean of
  the quarter before (chains averaged); z = mean(d) / (sd(d) / sqrt(K)) over
  the K data sets; |z| < 4 (`drift_test`), and
- precision: ESS >= 100 effective records (pooled Sokal autocorrelation time
  of `gapkit.sims.stats._steady.equilibration`) where it can be computed.

The data sets are independent draws, so z needs no model of the chains'
autocorrelation or of the loss's distribution: for a stationary trace d_k is
symmetric (a difference of adjacent block means of a time-reversible chain)
and close to normal (a block mean of many records), and z is then Student t
with K - 1 degrees of freedom. The false-alarm rate is P(|t_{K-1}| >= 4):
8.3e-5 at K = 256, 1.7e-4 at K = 64, 1.2e-3 at K = 16, 2.8e-2 at K = 4 and
0.16 at K = 2 (`drift_false_alarm`; the "6e-5" of a normal z holds only for
large K). The pooled per-chain Geweke z of
`equilibration` is recorded (eq_* keys) but does not vote: each chain's
standard error comes from its own short segment, and on a skewed loss those
errors are correlated with the segment means, which biases the pooled z
(measured in tests/test_steady.py: false alarms far above the nominal rate on
exp- and chi-square transforms of a Gaussian AR(1) chain).

A trace that is too short (S < 8 after the discard) or has fewer than two
finite data sets cannot be judged: steady is None (unknown), or False for a
run whose length was capped below its rule.
"""
from __future__ import annotations

import math

import numpy as np

from gapkit.theory._validate import check_int, check_positive

from ._steady import PAPER_WINDOW, equilibration

__all__ = ["DRIFT_Z_CRIT", "MIN_ESS", "drift_test", "drift_false_alarm", "verdict_discard", "steady_verdict",
           "run_verdict"]

from gapkit.sims._settings import STEADY_Z as DRIFT_Z_CRIT  # noqa: E402 - one home for the verdict constants
MIN_ESS = 100.0


def drift_test(trace) -> dict:
    """Data-set-level drift of a (K, M, S) trace: the mean of the last quarter
    minus that of the quarter before, per data set (chains averaged);
    z = mean / standard error across the finite data sets. Returns drift,
    drift_se, drift_z, or {} when S < 8 or fewer than two data sets are finite."""
    t = np.asarray(trace, dtype=np.float64)
    S = t.shape[-1]
    if t.ndim != 3 or S < 8:
        return {}
    q = S // 4
    d = t[..., S - q:].mean(axis=-1) - t[..., S - 2 * q:S - q].mean(axis=-1)
    d = d.mean(axis=1)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return {}
    se = float(d.std(ddof=1) / math.sqrt(d.size))
    z = float(d.mean() / se) if se > 0 else (0.0 if d.mean() == 0 else math.inf)
    return {"drift": float(d.mean()), "drift_se": se, "drift_z": z}


def drift_false_alarm(K: int, *, z_crit: float = DRIFT_Z_CRIT) -> float:
    """False-alarm rate of the drift test on a stationary trace of K data sets:
    P(|t_{K-1}| >= z_crit) (module docstring)."""
    from scipy import stats

    K = check_int("K", K, 2)
    z_crit = check_positive("z_crit", z_crit)
    return float(2.0 * stats.t.sf(z_crit, K - 1))


def verdict_discard(n_records: int, config: dict) -> int:
    """Leading records of a run's train-loss trace that the verdict skips.

    Runs measured in epochs (config with "epochs": the torch backend; the
    trace holds the state before training, then one record per epoch): all
    but the last PAPER_WINDOW = 50 epochs, and always the record before
    training. Runs measured in steps (config with steps, burnin, record_every:
    the Numba simulators): the burn-in records, when the trace covers the
    whole run. Otherwise 0."""
    if config.get("epochs"):
        return max(1, int(n_records) - PAPER_WINDOW)
    every = int(config.get("record_every") or 1)
    steps, burnin = config.get("steps"), config.get("burnin")
    if steps and burnin and n_records >= steps // every - 1:
        return int(burnin // every)
    return 0


def steady_verdict(trace, *, discard: int = 0, capped: bool = False, z_crit: float = DRIFT_Z_CRIT,
                   min_ess: float = MIN_ESS) -> dict:
    """The verdict of a (K, M, S) train-loss trace after `discard` records
    (module docstring). trace None: no trace, steady None (False if capped); a trace too short to judge: False.

    Returns drift, drift_se, drift_z (`drift_test`), the scalar diagnostics of
    `equilibration` as eq_* (pooled Geweke z, tau, ESS, ...; recorded, only
    the ESS votes) with eq_reasons, and steady (True, False or None)."""
    out: dict = {}
    steady = None
    if trace is not None:
        t = np.asarray(trace, dtype=np.float64)
        out.update(drift_test(t[..., discard:]))
        try:
            eq = equilibration(t, discard=discard)
        except ValueError:  # too few records for the Geweke segments, or diverged (non-finite) chains
            eq = None
        if eq is not None:
            out.update({f"eq_{k}": v for k, v in eq.items() if np.ndim(v) == 0 and not isinstance(v, (list, dict))})
            out["eq_reasons"] = "; ".join(eq.get("reasons", []))
        if "drift_z" in out:
            steady = bool(abs(out["drift_z"]) < z_crit)
            ess = out.get("eq_ess")
            if isinstance(ess, float) and math.isfinite(ess) and ess < min_ess:
                steady = False
        else:
            # a trace too short (< 8 records) or with < 2 finite data draws cannot
            # show steady state: not judged steady, so never averaged in as steady
            steady = False
            why = "too few records or data draws to judge steady state (drift test needs >= 8 records, >= 2 draws)"
            out["eq_reasons"] = "; ".join(r for r in (out.get("eq_reasons"), why) if r)
    if capped and steady is None:
        steady = False
    out["steady"] = steady
    return out


def run_verdict(trace, config: dict) -> dict:
    """`steady_verdict` of a run described by its config (`verdict_discard`;
    config["capped"]: the run was cut short of its length rule). The one call
    of the sweep runner and of the torch backend."""
    n = 0 if trace is None else int(np.shape(trace)[-1])
    return steady_verdict(trace, discard=verdict_discard(n, config), capped=bool(config.get("capped")))
