"""Findings of a finished sweep from its stored records: the Eq 1 fit, the
predictions A/B/C and the steady-state counts (`gapkit.sims.stats._fit`)."""
from __future__ import annotations

import numpy as np

from ._store import ResultsStore, jsonable, record_column

__all__ = ["sweep_findings"]

_col = record_column


def sweep_findings(store: ResultsStore, keys) -> dict:
    """Eq 1 fit, findings A/B/C and counts from the stored records."""
    from gapkit.sims.stats._fit import findings

    recs = list(store.records(keys))
    # only a run judged steady counts as steady (unknown, None, does not)
    steady = np.array([r["result"].get("steady") is True for r in recs], dtype=bool)
    T = _col(recs, "T")
    # With fewer than 3 temperatures at steady state (a smoke run, say) the
    # findings use every run and say so, rather than report nothing.
    use_all = np.unique(T[steady & np.isfinite(T)]).size < 3
    f = findings(T, _col(recs, "gap"), _col(recs, "train_loss"), _col(recs, "test_loss"),
                 test_ci95=_col(recs, "test_loss_ci95"), gap_ci95=_col(recs, "gap_ci95"),
                 steady=None if use_all else steady)
    f["not_steady"] = int((~steady).sum())
    f["includes_not_steady"] = bool(use_all and (~steady).any())
    f["T_opt"] = f["B"]["T_opt"]
    return jsonable(f)
