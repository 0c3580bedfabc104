"""On-disk home of generated kernels (a `SymbolicModel`'s chain loop), so Numba can cache them.

Numba caches a compiled function next to the file its code came from, keyed by the SHA-256 of that
file's bytes (`numba.core.caching`); code printed at run time and exec'd has no file, so before this
every process compiled every user model again (3-5 s per model and kind of step). `source_file` writes
the printed source to a content-addressed file (the name is the SHA-256 of the text) under
`generated_dir()`, and the caller compiles its in-memory text with that path as the code's file name:
Numba then finds (or writes) its cache beside it.

Nothing read from disk runs here: the code that runs is always the text printed in this process; the
file only anchors Numba's cache (whose trust is that of every cached gapkit kernel). A file whose bytes
differ from the text (edited, truncated) is rewritten, which changes its hash, so a stale cache entry is
never used. The header of the text names what the compiled code depends on outside it (the Numba
version, the source of `_rng` whose functions are compiled into the loop, BIG and GUARD), so a change
of any of them gives a new file.

Where: ``$NUMBA_CACHE_DIR/gapkit-generated`` when NUMBA_CACHE_DIR is set (one folder to clear), else
``$XDG_CACHE_HOME/gapkit/generated`` (``~/.cache/gapkit/generated``). Where that cannot be written, no
file: the kernel compiles in memory as before (`source_file` returns None).
"""
from __future__ import annotations

import functools
import hashlib
import os
import sys
import tempfile
import types
from pathlib import Path

__all__ = ["generated_dir", "source_file", "dependency_stamp", "module"]


def generated_dir() -> Path:
    root = os.environ.get("NUMBA_CACHE_DIR")
    if root:
        return Path(root) / "gapkit-generated"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "gapkit" / "generated"


@functools.lru_cache(maxsize=1)
def dependency_stamp() -> str:
    """One line naming what a generated loop's machine code depends on outside its own text."""
    import numba

    from . import _rng

    rng = hashlib.sha256(Path(_rng.__file__).read_bytes()).hexdigest()[:16]
    return f"numba {numba.__version__}; gapkit.sims.engine._rng sha256 {rng}"


def source_file(text: str, stem: str) -> str | None:
    """Path of a file holding exactly `text` (written if missing or different), named
    ``<stem>_<sha256[:20]>.py``; None where the folder cannot be written."""
    data = text.encode("utf-8")
    folder = generated_dir()
    path = folder / f"{stem}_{hashlib.sha256(data).hexdigest()[:20]}.py"
    try:
        if path.is_file() and path.read_bytes() == data:
            return str(path)
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".py")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)  # atomic: a process reading it sees the whole text or none
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return None
    return str(path)


def module(text: str, path: str) -> types.ModuleType:
    """`text` (this process's own printout, held in the file `path`) run as the module named after that file,
    registered in sys.modules: Numba records the module of a function it compiles and imports it by name when
    it loads the function from its cache (a function of no module is not cached). Once per name per process."""
    # a function of the text alone (its hash is in the file's name), so the process that wrote a cache entry and
    # the one loading it agree on the module Numba imports; not dotted (no parent package to import)
    name = "gapkit_generated_" + Path(path).stem
    mod = sys.modules.get(name)
    if mod is None:
        mod = types.ModuleType(name)
        mod.__file__ = path
        exec(compile(text, path, "exec"), mod.__dict__)  # noqa: S102 - the text printed in this process
        sys.modules[name] = mod
    return mod
