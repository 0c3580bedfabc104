"""The results store of a sweep: one record per finished run, a tidy table.

Layout (the contract of DESIGN.md, shared with the torch backend)::

    DIR/sweep.json                 the sweep's settings
    DIR/runs/<key>.json            {"config": {...}, "result": {...}, "meta": {...}}
    DIR/runs.csv                   one row per run: config columns, then result scalars

``key`` is the sha256 of the canonical JSON of the run's full configuration
(sorted keys, no whitespace, floats in their shortest round-trip form), so the
same run always lands in the same file and a restarted sweep finds it.

JSON: gapkit's one convention (`gapkit.sims.stats._results.to_jsonable`): a
non-finite number is stored as null and its runs.csv cell is empty (pandas
reads NaN). Records written before that convention hold the strings "nan",
"inf", "-inf"; `get` reads those as null too.

Crash safety: every file is written to a temporary file in the same folder,
flushed and fsync'ed, then moved into place with `os.replace` (atomic on POSIX).
A process killed at any moment (kill -9 included) leaves either the old file or
the new one, plus possibly a stray ``.tmp-*`` file, which `ResultsStore.open`
deletes. A record that does not parse (a disk that lied about fsync) counts as
missing and is recomputed.

``meta`` holds what may differ between two computations of the same run (wall
time, host); it is kept out of runs.csv so two sweeps of the same configuration
give byte-identical tables.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gapkit.sims.stats._results import to_jsonable
from gapkit.theory._validate import ArgumentError

__all__ = ["config_key", "canonical_json", "jsonable", "ResultsStore", "flatten_scalars", "record_column"]

_TMP_PREFIX = ".tmp-"


# gapkit's one JSON convention (non-finite numbers are null); the old name stays for callers.
jsonable = to_jsonable

# Records written before the one convention hold non-finite numbers as these strings.
_LEGACY_NONFINITE = ("nan", "inf", "-inf")


def _legacy_to_null(v):
    """Read side only: an old record's "nan"/"inf"/"-inf" strings become None,
    as a new record writes them, so old and new records read alike."""
    if isinstance(v, dict):
        return {k: _legacy_to_null(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_legacy_to_null(x) for x in v]
    if isinstance(v, str) and v in _LEGACY_NONFINITE:
        return None
    return v


def _dumps(obj, **kw) -> str:
    # strict JSON; objects JSON does not know (a Path, say) are stored as their str
    return json.dumps(to_jsonable(obj), allow_nan=False, default=str, **kw)


def canonical_json(obj) -> str:
    """Canonical JSON: sorted keys, no spaces, shortest round-trip floats.
    Integral floats stay floats (1.0 and 1 are different configurations)."""
    return _dumps(obj, sort_keys=True, separators=(",", ":"))


def config_key(config: dict) -> str:
    """sha256 hex digest of the canonical JSON of a run's full configuration."""
    if not isinstance(config, dict):
        raise ArgumentError(f"config must be a dict (got {type(config).__name__})", param="config")
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


def flatten_scalars(d: dict, prefix: str = "") -> dict:
    """Scalars of a (nested) dict as one flat dict: nested keys joined by '.';
    lists are kept as compact JSON strings so the table stays one value per cell."""
    out = {}
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten_scalars(v, name + "."))
        elif isinstance(v, (list, tuple)):
            out[name] = _dumps(v, separators=(",", ":"))
        else:
            out[name] = to_jsonable(v)
    return out


def _atomic_write(path: Path, text: str) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    # fsync the folder so the rename itself survives a power cut
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(dfd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dfd)


def _sort_token(v):
    # rows sort by their config values; mixed types compare by kind first
    if v is None:
        return (0, 0.0, "")
    if isinstance(v, bool):
        return (1, float(v), "")
    if isinstance(v, (int, float)):
        return (1, float(v), "")
    return (2, 0.0, str(v))


class ResultsStore:
    """A directory of run records; see the module docstring for the layout."""

    def __init__(self, root):
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.table_path = self.root / "runs.csv"
        self.settings_path = self.root / "sweep.json"

    @classmethod
    def open(cls, root) -> "ResultsStore":
        """Create the folders if needed and delete temporary files that a killed
        writer left behind (they were never renamed, so they hold nothing the
        store counts)."""
        store = cls(root)
        store.runs_dir.mkdir(parents=True, exist_ok=True)
        for folder in (store.root, store.runs_dir):
            for p in folder.glob(_TMP_PREFIX + "*"):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass
        return store

    # ------------------------------------------------------------- records
    def path_for(self, key: str) -> Path:
        return self.runs_dir / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The record stored under `key`, or None (missing or unreadable)."""
        p = self.path_for(key)
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        if not isinstance(rec, dict) or "config" not in rec or "result" not in rec:
            return None
        # the config is left as stored: its canonical JSON is the record's key
        for part in ("result", "meta"):
            if part in rec:
                rec[part] = _legacy_to_null(rec[part])
        return rec

    def has(self, key: str) -> bool:
        return self.get(key) is not None

    def put(self, config: dict, result: dict, meta: dict | None = None) -> str:
        """Store one finished run atomically; returns its key."""
        key = config_key(config)
        rec = {"config": config, "result": result}
        if meta:
            rec["meta"] = meta
        _atomic_write(self.path_for(key), _dumps(rec, sort_keys=True, indent=1))
        return key

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.runs_dir.glob("*.json") if not p.name.startswith(_TMP_PREFIX))

    def records(self, keys=None) -> Iterator[dict]:
        for k in self.keys() if keys is None else keys:
            rec = self.get(k)
            if rec is not None:
                yield rec

    # ------------------------------------------------------------- settings
    def write_settings(self, settings: dict) -> None:
        _atomic_write(self.settings_path, _dumps(settings, sort_keys=True, indent=1))

    def read_settings(self) -> dict | None:
        try:
            return json.loads(self.settings_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    # ------------------------------------------------------------- table
    def table_rows(self, keys=None) -> tuple[list[str], list[dict]]:
        """(columns, rows) of the tidy table: config columns (in the order of
        the first record's config), then result scalars, then ``key``."""
        cfg_cols: list[str] = []
        res_cols: list[str] = []
        rows = []
        for rec in self.records(keys):
            cfg = flatten_scalars(rec["config"])
            res = flatten_scalars({k: v for k, v in rec["result"].items() if k != "traces"})  # arrays: figures only
            for c in cfg:
                if c not in cfg_cols:
                    cfg_cols.append(c)
            for c in res:
                if c not in res_cols and c not in cfg:
                    res_cols.append(c)
            row = dict(res)
            row.update(cfg)
            row["key"] = config_key(rec["config"])
            rows.append(row)
        cfg_cols = sorted(cfg_cols, key=_column_rank)
        res_cols = sorted(res_cols, key=_column_rank)
        cols = cfg_cols + [c for c in res_cols if c not in cfg_cols] + ["key"]
        rows.sort(key=lambda r: (tuple(_sort_token(r.get(c)) for c in cfg_cols), r["key"]))
        return cols, rows

    def write_table(self, keys=None) -> Path:
        """Rebuild runs.csv from the records (atomically). Missing cells are
        empty, which pandas reads as NaN."""
        cols, rows = self.table_rows(keys)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: _cell(r.get(c)) for c in cols})
        _atomic_write(self.table_path, buf.getvalue())
        return self.table_path


# Columns a reader looks for first; the rest follow alphabetically.
_FIRST = ("model", "algo", "backend", "cosine", "T", "batch", "lr", "replicate", "seed", "steps", "burnin",
          "epochs", "datasets", "chains", "n", "dim", "alpha", "beta", "momentum",
          "gap", "gap_ci95", "test_loss", "test_loss_ci95", "train_loss", "train_loss_ci95",
          "steady", "diverged", "datasets_used")


def _column_rank(c: str):
    try:
        return (0, _FIRST.index(c), c)
    except ValueError:
        return (1, 0, c)


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return v


def record_column(records, name: str) -> np.ndarray:
    """float64 column `name` over stored records: the result's value, else the
    config's; nan where missing or not a number."""
    vals = []
    for r in records:
        v = r["result"].get(name, r["config"].get(name))
        try:
            vals.append(float(v))
        except (TypeError, ValueError):
            vals.append(math.nan)
    return np.array(vals, dtype=np.float64)
