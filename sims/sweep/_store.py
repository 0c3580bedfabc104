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
the new one, plus possibly a stray temporary file named
``.tmp-gapkit-<host>-<pid>-*.part``; `ResultsStore.open` deletes those of
writers on this host that are no longer alive, and nothing else (another
writer's live temporaries and a user's own ``.tmp-*`` files stay).

Trust nothing read: a record is used only if it parses, holds a "config" and
a "result" dict, and its config hashes to its file name; anything else is
moved aside to ``DIR/rejected/`` (with the reason in a ``.why`` file next to
it) and the run counts as missing, so it is recomputed.

Writers: a sweep holds an exclusive lock on ``DIR/.lock`` (`ResultsStore.lock`)
while it runs, so a second sweep into the same folder is refused at once, and
a folder whose ``sweep.json`` holds another sweep's settings is refused too
(`check_settings`): one folder, one sweep. Files get the permissions of the
user's umask (0666 minus the umask), like any file the user creates.

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
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gapkit.sims.stats._results import to_jsonable
from gapkit.theory._validate import ArgumentError

__all__ = ["config_key", "canonical_json", "jsonable", "ResultsStore", "flatten_scalars", "record_column"]

_TMP_PREFIX = ".tmp-gapkit-"
# result entries kept in the records but not in runs.csv: the per-draw values (K numbers each)
TABLE_SKIP = ("per_draw", "traces")  # and the per-epoch traces (figures only)
_HOST = socket.gethostname().replace("-", "_") or "host"
_UMASK_LOCK = threading.Lock()


def _tmp_prefix(pid: int | None = None) -> str:
    """Prefix of the temporary files of writer `pid` (default: this process) on this host."""
    return f"{_TMP_PREFIX}{_HOST}-{os.getpid() if pid is None else int(pid)}-"


def _umask() -> int:
    with _UMASK_LOCK:  # reading the umask means setting it: done under a lock, restored at once
        old = os.umask(0o077)
        os.umask(old)
    return old


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


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
    fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(), suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a store file gets the user's umask
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
        """Create the folders if needed and delete the temporary files that
        killed writers on this host left behind (never renamed, so they hold
        nothing the store counts); a live writer's and other files stay."""
        if root is None or str(root).strip() == "":
            raise ArgumentError("out must name a folder (got an empty path)", param="out")
        store = cls(root)
        try:
            store.runs_dir.mkdir(parents=True, exist_ok=True)
            probe = store.root / f"{_tmp_prefix()}probe.part"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:  # a file in the way, a read-only or forbidden folder, /proc, a full disk
            raise ArgumentError(f"out must be a folder gapkit can write (got {str(root)!r}: "
                                f"{exc.strerror or type(exc).__name__})", param="out") from None
        for folder in (store.root, store.runs_dir):
            for p in folder.glob(f"{_TMP_PREFIX}{_HOST}-*.part"):
                pid = p.name[len(_TMP_PREFIX) + len(_HOST) + 1:].split("-", 1)[0]
                if not pid.isdigit() or _alive(int(pid)):
                    continue
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass
        return store

    def lock(self):
        """Hold the folder's writer lock (a context manager): a second holder
        is refused at once with an ArgumentError naming the folder."""
        return _FolderLock(self.root / ".lock")

    def check_settings(self, settings: dict) -> None:
        """Refuse a sweep whose settings differ from those the folder already
        holds (its sweep.json): a second sweep would replace runs.csv with its
        own runs only. The first difference is named."""
        old = self.read_settings()
        if old is None or old.get("spec") is None:
            return
        new = json.loads(_dumps(settings))
        diff = sorted(k for k in set(old["spec"]) | set(new["spec"]) if old["spec"].get(k) != new["spec"].get(k))
        if diff:
            k = diff[0]
            raise ArgumentError(f"out {self.root} holds another sweep ({k} = {old['spec'].get(k)!r} there, "
                                f"{new['spec'].get(k)!r} here; {len(diff)} setting(s) differ): use another --out "
                                "folder (or delete this one)", param="out")

    # ------------------------------------------------------------- records
    def path_for(self, key: str) -> Path:
        return self.runs_dir / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The record stored under `key`, or None: missing, or not to be
        trusted (module docstring), then moved aside to rejected/."""
        p = self.path_for(key)
        try:
            text = p.read_text(encoding="utf-8")
            rec = json.loads(text)
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, OSError) as exc:
            return self._reject(p, f"does not parse ({type(exc).__name__})")
        why = _untrusted(rec, key)
        if why:
            return self._reject(p, why)
        # the config is left as stored: its canonical JSON is the record's key. A legacy string is
        # written as "nan" (json.dumps never escapes ASCII): a text without one has nothing to replace
        # (issue 15: walking every number of every record was a third of a sweep's reading time)
        if any(f'"{s}"' in text for s in _LEGACY_NONFINITE):
            for part in ("result", "meta"):
                if part in rec:
                    rec[part] = _legacy_to_null(rec[part])
        return rec

    def _reject(self, path: Path, why: str) -> None:
        """Move an untrusted record to rejected/ (its reason in a .why file); None."""
        bad = self.root / "rejected"
        try:
            bad.mkdir(exist_ok=True)
            dest = bad / path.name
            n = 1
            while dest.exists():
                dest, n = bad / f"{path.name}.{n}", n + 1
            shutil.move(str(path), dest)
            _atomic_write(dest.with_name(dest.name + ".why"), f"{why}\n")
        except OSError:
            pass  # moving aside is a courtesy: the record is not used either way
        return None

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
        return sorted(p.stem for p in self.runs_dir.glob("*.json") if not p.name.startswith("."))

    def records(self, keys=None) -> Iterator[dict]:
        for k in self.keys() if keys is None else keys:
            rec = self.get(k)
            if rec is not None:
                yield rec

    # ------------------------------------------------------------- settings
    def write_settings(self, settings: dict) -> None:
        _atomic_write(self.settings_path, _dumps(settings, sort_keys=True, indent=1))

    def read_settings(self) -> dict | None:
        """sweep.json, or None (missing, unreadable, or not a dict)."""
        try:
            got = json.loads(self.settings_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            return None
        return got if isinstance(got, dict) and isinstance(got.get("spec", {}), dict) else None

    # ------------------------------------------------------------- table
    def table_rows(self, keys=None) -> tuple[list[str], list[dict]]:
        """(columns, rows) of the tidy table: config columns (in the order of
        the first record's config), then result scalars, then ``key``."""
        cfg_cols: list[str] = []
        res_cols: list[str] = []
        rows = []
        for rec in self.records(keys):
            cfg = flatten_scalars(rec["config"])
            res = flatten_scalars({k: v for k, v in rec["result"].items() if k not in TABLE_SKIP})
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


def _untrusted(rec, key: str) -> str:
    """Why a parsed record cannot be used under `key` ("" when it can)."""
    if not isinstance(rec, dict) or not isinstance(rec.get("config"), dict) or not isinstance(rec.get("result"), dict):
        return "not a record (a dict with 'config' and 'result' dicts)"
    if "meta" in rec and not isinstance(rec["meta"], dict):
        return "its 'meta' is not a dict"
    try:
        got = config_key(rec["config"])
    except (TypeError, ValueError, RecursionError):
        return "its config cannot be hashed"
    if got != key:
        return f"its config hashes to {got}, not to its file name {key}"
    return ""


class _FolderLock:
    """An exclusive, non-blocking flock on a file; released on exit (and by
    the system when the holder dies, kill -9 included)."""

    def __init__(self, path: Path):
        self.path, self._fd = Path(path), None

    def __enter__(self):
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ArgumentError(f"out {self.path.parent} is in use by another gapkit sweep (it holds {self.path.name}): "
                                "wait for it to finish or use another --out folder", param="out") from None
        self._fd = fd
        return self

    def __exit__(self, *exc):
        os.close(self._fd)
        self._fd = None
        return False


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
