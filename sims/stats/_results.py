"""Typed results of one ensemble run, shared by every backend.

A backend's run (Numba `simulate`, the torch backend's sweep point) returns a
`RunResult`: what was run (`config`), the data-averaged numbers with their 95%
intervals (`summary`, a `Summary`), what theory says about the run where it is
known (`theory`), per-run arrays (`arrays`, not JSON) and the backend's own
problem object (`problem`, not JSON). Consumers read attributes, not guessed
dict keys; `record()` is the flat scalar view the results store keeps, and
`to_json()` the JSON form (non-finite numbers become null, see `to_jsonable`).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

__all__ = ["Summary", "RunResult", "to_jsonable"]


def to_jsonable(v):
    """Plain-JSON form of `v`: numpy scalars to Python, arrays to lists, tuples
    to lists, dataclasses to dicts, and non-finite floats to None (JSON null).
    The one JSON convention of gapkit (strict JSON has no nan or inf)."""
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        v = v.to_json() if hasattr(v, "to_json") else dataclasses.asdict(v)
    if isinstance(v, dict):
        return {str(k): to_jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        if all(type(x) is float for x in v):  # a trace: the common case, without a call per number
            return [x if math.isfinite(x) else None for x in v]
        return [to_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "biu" or (v.dtype.kind == "f" and np.isfinite(v).all()):
            return v.tolist()  # already Python bools, ints or finite floats (issue 15: records hold long traces)
        return to_jsonable(v.tolist())
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    return v


@dataclasses.dataclass
class Summary:
    """Data-averaged numbers of one ensemble (K data draws x M chains or
    networks): gap = test - train loss, each with the half-width of its 95%
    interval across data draws; `datasets_used` draws with a surviving member,
    `diverged` members left out. `extras` holds the backend's or model's
    further scalars (e.g. gap_plain and gap_estimator for the control-variate
    gap; acc_gap, sigma_l, fdr1 on networks)."""

    gap: float
    gap_ci95: float
    train_loss: float
    train_loss_ci95: float
    test_loss: float
    test_loss_ci95: float
    datasets_used: int
    diverged: int
    extras: dict = dataclasses.field(default_factory=dict)

    CORE = ("gap", "gap_ci95", "train_loss", "train_loss_ci95", "test_loss", "test_loss_ci95", "datasets_used",
            "diverged")

    @classmethod
    def from_dict(cls, d: dict) -> "Summary":
        """From a flat dict holding at least the core keys; the rest go to extras."""
        return cls(**{k: d[k] for k in cls.CORE}, extras={k: v for k, v in d.items() if k not in cls.CORE})

    def to_dict(self) -> dict:
        """Flat dict: the core fields, then the extras."""
        out = {k: getattr(self, k) for k in self.CORE}
        out.update(self.extras)
        return out

    def to_json(self) -> dict:
        return to_jsonable(self.to_dict())


@dataclasses.dataclass
class RunResult:
    """One ensemble run of any backend (module docstring)."""

    config: dict
    summary: Summary
    theory: dict | None = None  # None: the backend has no theory; {} : none known for this run
    arrays: dict = dataclasses.field(default_factory=dict)
    problem: Any = None
    timings: dict = dataclasses.field(default_factory=dict)

    def record(self) -> dict:
        """The flat scalar view kept by the results store: config, summary,
        theory (nested) and timings; no arrays, no problem object."""
        out = dict(self.config)
        out.update(self.summary.to_dict())
        if self.theory is not None:
            out["theory"] = self.theory
        out.update(self.timings)
        return out

    def to_json(self) -> dict:
        return to_jsonable(self.record())
