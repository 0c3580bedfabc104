"""Findings of a finished sweep from its stored records: the Eq 1 fit, the
predictions A/B/C, collapse onto T and the steady-state counts
(`gapkit.sims.stats._fit.findings`, tests of `gapkit.sims.stats._inference`)."""
from __future__ import annotations

import math

import numpy as np

from ._store import ResultsStore, jsonable

__all__ = ["sweep_findings", "finding_runs"]


def _get(rec: dict, name: str, default=math.nan):
    v = rec["result"].get(name, rec["config"].get(name))
    return default if v is None else v


def finding_runs(records) -> list[dict]:
    """The `findings` input from stored records: T, batch, replicate, steady,
    the headline gap with its interval, K, capped, rescaled time
    (lam / (1 - mu) x updates and burn-in; torch records without a step count:
    none) and the per-draw values."""
    out = []
    for rec in records:
        res, cfg = rec["result"], rec["config"]
        lam_eff = float(_get(rec, "lr")) / (1.0 - float(cfg.get("momentum") or 0.0))
        steps, burnin = res.get("steps", cfg.get("steps")), cfg.get("burnin")
        out.append({
            "T": float(_get(rec, "T")), "batch": int(_get(rec, "batch", 1)), "replicate": int(cfg.get("replicate", 0)),
            "steady": res.get("steady") is True, "gap": float(_get(rec, "gap")), "gap_ci95": float(_get(rec, "gap_ci95")),
            "datasets": float(_get(rec, "datasets_used", _get(rec, "datasets"))), "capped": bool(cfg.get("capped")),
            # the other Eq 1 fits' inputs (Figs 1-3: test loss; accuracy gap where recorded)
            **{k: float(_get(rec, k)) for k in ("test_loss", "test_loss_ci95", "acc_gap", "acc_gap_ci95")},
            "lam_eff": lam_eff, "rescaled_time": lam_eff * steps if steps is not None else None,
            "rescaled_burnin": lam_eff * burnin if burnin is not None else None,
            # a run measured in epochs ends on an epoch boundary: its time is rounded to whole epochs
            "time_quantum": (float(steps) / float(res["epochs"]) if res.get("epochs") and steps else 1.0),
            "draws": {k: np.asarray([np.nan if v is None else v for v in vals], dtype=np.float64)
                      for k, vals in (res.get("per_draw") or {}).items()},
        })
    return out


def sweep_findings(store: ResultsStore, keys) -> dict:
    """Eq 1 fit, findings A/B/C and collapse, and counts, from the stored
    records; the pairing (common random numbers or fresh draws) is the
    sweep's (`sweep.json`)."""
    from gapkit.sims.stats._fit import findings

    settings = store.read_settings() or {}
    pairing = (settings.get("spec") or {}).get("pairing", "paired")
    runs = finding_runs(store.records(keys))
    f = findings(runs, pairing=pairing)
    f["not_steady"] = f["runs_left_out_not_steady"]
    f["T_opt"] = f["B"].get("T_opt", math.nan)
    return jsonable(f)
