"""The check registry behind `gapkit verify`.

A *check* sets a theory value next to a measured one and gives a verdict:

- PASS / FAIL where gapkit knows the truth (an exact identity, a closed form, a
  simulator against its own exact discrete law, a fit on synthetic data with
  known parameters);
- INFO where it measures how well an approximation or an empirical prediction
  does. An INFO never fails a run.

Check ids are ``<family>.<what>.<model>``, with a fourth part where one
provider measures several quantities of one model (``sim.sgd_mean_var.quadratic1d.var``):
the family is the two-digit paper equation (``eq06``) or a named family
(``fokker``, ``collapse``, ``momentum``, ``closedform`` ...). Ids are unique:
two providers declaring the same id are refused at registration, and a row
whose id an earlier row already has turns into a FAIL row (the rerun map and
the report are keyed by id).

The ``equation`` column has one form: a bare equation number the catalogue
wrote ("15", "48-49") reads "Eq 15", "Eq 48-49" (`equation_label`).

Catalogue modules register *providers*: a function of a `CheckContext` that
returns a list of `CheckResult`. A provider declares the ids it can produce so
``--only`` selects providers before anything runs.

Every PASS/FAIL row must be able to fail. `CheckContext.wrong_theory` is the
hook tests use to show it: when set, `CheckContext.compare` shifts the theory
value by that relative amount before judging, and the row must then FAIL.
"""
from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from gapkit.sims._settings import install_hint
from gapkit.sims.stats._results import to_jsonable
from gapkit.theory._validate import ArgumentError

__all__ = [
    "PASS",
    "FAIL",
    "INFO",
    "SKIP",
    "CheckResult",
    "CheckContext",
    "CheckSpec",
    "Figure",
    "register_check",
    "register_warmup",
    "Warmup",
    "Warmups",
    "register_plugin_failure",
    "run_warmups",
    "registered_checks",
    "select_checks",
    "run_checks",
    "summarize",
    "equation_label",
]

PASS, FAIL, INFO, SKIP = "PASS", "FAIL", "INFO", "SKIP"
VERDICTS = (PASS, FAIL, INFO, SKIP)


def _num(x):
    """JSON-friendly number: anything float() takes (a sympy number, a 0-d
    array) as a python float, None for missing; non-finite as null, gapkit's
    one JSON convention (`to_jsonable`)."""
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return x
    return to_jsonable(xf)


_BARE_EQ = re.compile(r"\d+(\s*[-,]\s*\d+)*")


def equation_label(text: str) -> str:
    """The equation column's one form: "Eq 15" for the bare "15" (and "Eq 48-49",
    "Eq 17, 47" for ranges and lists); any other text unchanged but stripped."""
    text = (text or "").strip()
    return f"Eq {text}" if _BARE_EQ.fullmatch(text) else text


@dataclasses.dataclass
class CheckResult:
    """One row of the verify table (the JSON contract of issue 2)."""

    id: str
    equation: str
    model: str
    theory: float | None
    measured: float | None
    ci95: float | None
    tolerance: float | None
    tolerance_source: str
    verdict: str
    note: str = ""
    extra: dict = dataclasses.field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ArgumentError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        self.equation = equation_label(self.equation)

    def to_dict(self) -> dict:
        d = {
            "id": self.id,
            "equation": self.equation,
            "model": self.model,
            "theory": _num(self.theory),
            "measured": _num(self.measured),
            "ci95": _num(self.ci95),
            "tolerance": _num(self.tolerance),
            "tolerance_source": self.tolerance_source,
            "verdict": self.verdict,
            "note": self.note,
            "seconds": round(float(self.seconds), 4),
        }
        if self.extra:
            d["extra"] = {k: _jsonable(v) for k, v in self.extra.items()}
        return d


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    if isinstance(v, (str, type(None))):
        return v
    return _num(v)


@dataclasses.dataclass(frozen=True)
class Figure:
    """A figure a provider drew: its file and what it shows (caption, alt text)."""

    path: Path
    caption: str


@dataclasses.dataclass
class CheckContext:
    """What a provider gets: the root seed, quick/full, where figures go.

    ``rng(key)`` and ``seed_for(key)`` derive independent streams from the root
    seed and a string key (the check id, say), so adding or reordering checks
    never changes another check's numbers.
    """

    seed: int = 0
    quick: bool = True
    out: Path | None = None
    wrong_theory: float | None = None
    figures: list = dataclasses.field(default_factory=list)

    def seed_sequence(self, key: str) -> np.random.SeedSequence:
        return np.random.SeedSequence(entropy=int(self.seed), spawn_key=(zlib.crc32(key.encode()),))

    def seed_for(self, key: str) -> int:
        """A 63-bit integer seed for `key` (for kernels that take an integer)."""
        return int(self.seed_sequence(key).generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> np.uint64(1))

    def rng(self, key: str) -> np.random.Generator:
        return np.random.default_rng(self.seed_sequence(key))

    def figure_path(self, name: str, *, caption: str) -> Path | None:
        """Where a provider should save figure `name` (None: do not draw).
        caption: what the figure shows, in words (the report's caption and alt text)."""
        if self.out is None:
            return None
        if not caption.strip():
            raise ArgumentError("caption must say what the figure shows", param="caption")
        d = Path(self.out) / "figures"
        d.mkdir(parents=True, exist_ok=True)
        p = d / name
        self.figures.append(Figure(p, caption.strip()))
        return p

    # --- verdict helpers -------------------------------------------------
    def _theory(self, theory):
        if self.wrong_theory is None or theory is None:
            return theory
        t = np.asarray(theory, dtype=float)
        shift = self.wrong_theory * np.where(t != 0, np.abs(t), 1.0)
        out = t + shift
        return float(out) if out.ndim == 0 else out

    def compare(
        self,
        id: str,
        *,
        equation: str,
        model: str,
        theory: float,
        measured: float,
        tolerance: float,
        tolerance_source: str,
        ci95: float | None = None,
        note: str = "",
        extra: dict | None = None,
    ) -> CheckResult:
        """PASS iff |measured - theory| <= tolerance (a known truth)."""
        theory = self._theory(theory)
        ok = bool(np.isfinite(measured) and np.isfinite(theory) and abs(measured - theory) <= tolerance)
        return CheckResult(
            id=id, equation=equation, model=model, theory=theory, measured=measured, ci95=ci95,
            tolerance=tolerance, tolerance_source=tolerance_source, verdict=PASS if ok else FAIL,
            note=note, extra=dict(extra or {}),
        )

    def compare_max(
        self,
        id: str,
        *,
        equation: str,
        model: str,
        theory: np.ndarray,
        measured: np.ndarray,
        tolerance: float | np.ndarray,
        tolerance_source: str,
        note: str = "",
        extra: dict | None = None,
    ) -> CheckResult:
        """PASS iff every |measured_i - theory_i| <= tolerance_i. The row reports
        the element with the largest error relative to its tolerance."""
        measured = np.asarray(measured, float)
        theory = np.asarray(self._theory(np.asarray(theory, float)), float)
        tol = np.broadcast_to(np.asarray(tolerance, float), theory.shape).ravel()
        theory, measured = theory.ravel(), measured.ravel()
        if theory.shape != measured.shape:
            raise ArgumentError(f"theory and measured must have the same size (got {theory.size} and {measured.size})")
        err = np.abs(measured - theory)
        ratio = np.where(np.isfinite(err), err / np.maximum(tol, np.finfo(float).tiny), np.inf)
        i = int(np.argmax(ratio))
        ok = bool(np.all(np.isfinite(measured)) and np.all(err <= tol))
        ex = {"n_compared": int(theory.size), "worst_index": i, "max_err_over_tol": float(ratio[i])}
        ex.update(extra or {})
        return CheckResult(
            id=id, equation=equation, model=model, theory=float(theory[i]), measured=float(measured[i]),
            ci95=None, tolerance=float(tol[i]), tolerance_source=tolerance_source,
            verdict=PASS if ok else FAIL, note=note, extra=ex,
        )

    def holds(
        self,
        id: str,
        *,
        equation: str,
        model: str,
        lhs: float,
        rhs: float,
        tolerance: float,
        tolerance_source: str,
        note: str = "",
        extra: dict | None = None,
    ) -> CheckResult:
        """An inequality lhs <= rhs (+ tolerance for rounding): PASS or FAIL.
        theory = rhs (the bound), measured = lhs. A wrong theory value moves
        the bound down by the relative amount (so it can fail)."""
        if self.wrong_theory is not None:
            rhs = rhs - abs(self.wrong_theory) * max(abs(rhs), abs(lhs), 1.0) - 2 * tolerance
        ok = bool(np.isfinite(lhs) and np.isfinite(rhs) and lhs <= rhs + tolerance)
        return CheckResult(
            id=id, equation=equation, model=model, theory=rhs, measured=lhs, ci95=None,
            tolerance=tolerance, tolerance_source=tolerance_source, verdict=PASS if ok else FAIL,
            note=note, extra=dict(extra or {}),
        )

    def info(
        self,
        id: str,
        *,
        equation: str,
        model: str,
        theory: float | None,
        measured: float | None,
        ci95: float | None = None,
        note: str = "",
        extra: dict | None = None,
    ) -> CheckResult:
        """A measurement of an approximation or an empirical prediction."""
        return CheckResult(
            id=id, equation=equation, model=model, theory=theory, measured=measured, ci95=ci95,
            tolerance=None, tolerance_source="INFO: measured, not judged", verdict=INFO,
            note=note, extra=dict(extra or {}),
        )


@dataclasses.dataclass(frozen=True)
class CheckSpec:
    """A registered provider of check rows."""

    ids: tuple[str, ...]
    fn: Callable[[CheckContext], list[CheckResult]]
    quick: bool = True
    requires: tuple[str, ...] = ()
    module: str = ""

    @property
    def name(self) -> str:
        """The provider's name as progress and ``--list`` show it: its catalogue
        module and function, e.g. ``approx.approx_quadratic1d``."""
        return f"{self.module.rsplit('.', 1)[-1]}.{getattr(self.fn, '__qualname__', 'provider')}"

    def matches(self, prefixes: Sequence[str] | None) -> bool:
        if not prefixes:
            return True
        return any(i.startswith(p) or p.startswith(i) for i in self.ids for p in prefixes)


_REGISTRY: dict[str, CheckSpec] = {}


def register_check(ids: Iterable[str], *, quick: bool = True, requires: Iterable[str] = ()):
    """Decorator: register ``fn(ctx) -> list[CheckResult]`` as a provider.

    ids: the check ids (or id prefixes ending in '.') the provider produces; a
    full id (``family.what.model``) another provider declares is refused.
    quick: part of the quick catalogue (otherwise only with --full).
    requires: optional packages the provider needs ("torch", "distributed").
    """
    ids = tuple(ids)
    if not ids:
        raise ArgumentError("ids must name at least one check id")

    def deco(fn):
        key = f"{fn.__module__}.{fn.__qualname__}"
        taken = {i: k for k, s in _REGISTRY.items() if k != key for i in s.ids}
        clash = [i for i in ids if i in taken and _is_full_id(i)]
        if clash:
            raise ArgumentError(f"check id {clash[0]!r} is already registered by {taken[clash[0]]}", param="ids")
        _REGISTRY[key] = CheckSpec(ids=ids, fn=fn, quick=quick, requires=tuple(requires), module=fn.__module__)
        return fn

    return deco


def _is_full_id(i: str) -> bool:
    """A declared id that names one check (``family.what.model``), not a
    prefix several providers may share (``theta_grid.approx``, ``eq26.``)."""
    parts = i.split(".")
    return len(parts) >= 3 and all(parts)


class Warmup(NamedTuple):
    """A registered warm-up: `fn` compiles (or loads) kernels in this process; `serves` is the set of modules
    (full names) whose checks need them; `start`, if given, begins the slow part in the background (helper
    processes compiling into Numba's on-disk cache) and returns a handle with ``wait()`` and ``cancel()``, or
    None when there is nothing to compile (the cache is warm)."""

    fn: Callable[[], None]
    serves: frozenset
    start: Callable[[], Any] | None = None


_WARMUPS: dict[str, Warmup] = {}


def register_warmup(*, modules: Iterable[str], start: Callable[[], Any] | None = None):
    """Decorator: register a function that compiles kernels on tiny inputs (a
    backend's `Backend.warmup`, with its `Backend.warmup_start`), for the modules
    (full names) whose checks use them. Registering the same function again adds
    modules to those it serves (a backend's checks that need another backend's
    kernels). `gapkit verify` runs each warm-up before the first check that needs
    it (`Warmups`) and reports the time the checks waited for them (JIT
    compilation, or loading the on-disk cache) apart from the checks' own time."""
    mods = frozenset(modules)

    def deco(fn):
        key = f"{fn.__module__}.{fn.__qualname__}"
        old = _WARMUPS.get(key, Warmup(fn, frozenset()))
        _WARMUPS[key] = Warmup(fn, mods | old.serves, start or old.start)
        return fn

    return deco


class Warmups:
    """The warm-ups a run's modules need, each run once, just before the first check that needs it.

    `start()` begins the background part of each (its `Warmup.start`), so that the checks that need no
    kernel run while kernels compile in helper processes (a first run: the compile then costs the run little
    more than the wait of the first check that needs the kernels). `ensure(module)`, called before a provider
    of `module` runs, runs each pending warm-up serving `module`: it waits for that warm-up's background part,
    then compiles what is left or loads the cache in this process. `seconds` is the total time the checks
    waited (the run's JIT); `close()` cancels background work no check waited for (an interrupted run).
    `notice` is called when a wait has lasted a second, `ready(seconds)` after each warm-up that ran."""

    def __init__(self, modules: Iterable[str] | None = None, *, notice: Callable[[], None] | None = None,
                 ready: Callable[[float], None] | None = None):
        want = None if modules is None else set(modules)
        self._pending = {k: w for k, w in _WARMUPS.items() if want is None or w.serves & want}
        self._handles: dict[str, Any] = {}
        self._notice, self._ready = notice, ready
        self.seconds = 0.0

    def waits(self, module: str) -> bool:
        """Whether a check of `module` would wait for background work (a started warm-up serving it)."""
        return any(module in self._pending[k].serves for k in self._handles)

    def start(self) -> bool:
        """Start the background parts; True if any started (there is something to compile)."""
        for key, w in self._pending.items():
            if w.start is not None and key not in self._handles:
                h = w.start()
                if h is not None:
                    self._handles[key] = h
        return bool(self._handles)

    def ensure(self, module: str | None = None) -> float:
        """Run the pending warm-ups serving `module` (all of them for None); returns the seconds waited."""
        import threading
        import time

        keys = [k for k, w in self._pending.items() if module is None or module in w.serves]
        if not keys:
            return 0.0
        t0 = time.perf_counter()
        timer = threading.Timer(1.0, self._notice) if self._notice is not None else None
        if timer is not None:
            timer.start()
        try:
            for key in keys:
                h = self._handles.get(key)
                if h is not None:
                    h.wait()  # an interrupt here leaves it to close()
                    del self._handles[key]
                self._pending.pop(key).fn()
        finally:
            if timer is not None:
                timer.cancel()
        dt = time.perf_counter() - t0
        self.seconds += dt
        if self._ready is not None:
            self._ready(dt)
        return dt

    def close(self) -> None:
        """Cancel the background work of warm-ups that did not run."""
        for key in list(self._handles):
            self._handles.pop(key).cancel()


def register_plugin_failure(name: str, message: str) -> None:
    """A provider of one SKIP row ``plugin.<name>.load`` saying why the plugin
    `name` did not load (`gapkit.sims._backends.plugin_errors`): a broken plugin
    shows in the report instead of its checks silently missing."""
    rid = f"plugin.{name}.load"

    def provider(ctx):
        return [CheckResult(id=rid, equation="", model="", theory=None, measured=None, ci95=None, tolerance=None,
                            tolerance_source="", verdict=SKIP, note=message)]

    _REGISTRY[f"plugin:{name}"] = CheckSpec(ids=(rid,), fn=provider, quick=True, module=__name__)


def run_warmups(modules: Iterable[str] | None = None) -> float:
    """Run the registered warm-ups serving `modules` (or all) now, in this process; returns seconds."""
    return Warmups(modules).ensure()


def registered_checks() -> list[CheckSpec]:
    """Every registered provider in the catalogue's order: by `catalogue._MODULES` (which test or import loaded
    a module first does not matter), registration order within a module, then the backends' and plugins'."""
    from .catalogue import _MODULES, load_catalogue

    load_catalogue()
    rank = {f"{__package__}.catalogue.{m}": i for i, m in enumerate(_MODULES)}
    return sorted(_REGISTRY.values(), key=lambda s: rank.get(s.module, len(rank)))


def select_checks(prefixes: Sequence[str] | None = None, *, quick: bool = True) -> list[CheckSpec]:
    specs = [s for s in registered_checks() if (s.quick or not quick) and s.matches(prefixes)]
    return specs


def run_checks(
    specs: Sequence[CheckSpec],
    ctx: CheckContext,
    *,
    prefixes: Sequence[str] | None = None,
    progress: Callable[[CheckSpec, list[CheckResult]], None] | None = None,
    starting: Callable[[CheckSpec], None] | None = None,
    warmups: Warmups | None = None,
) -> list[CheckResult]:
    """Run providers; keep the rows whose id matches `prefixes`; returns the rows
    in the order of `specs`. `starting(spec)` is called before a provider runs,
    `progress(spec, rows)` after it with the rows it gave. With `warmups`, the
    warm-ups a provider's module needs run before it (`Warmups.ensure`; not
    counted in its seconds), and the providers that would wait for a warm-up's
    background compilation run after the others (in order within each part).

    A provider that needs a missing optional package yields one SKIP row. A
    provider that raises is a bug in gapkit: it yields a FAIL row carrying the
    error, so one broken check never hides the others.
    """
    import importlib.util
    import time
    import traceback

    by_spec: dict[int, list[CheckResult]] = {}
    seen: set[str] = set()
    order = list(specs)
    if warmups is not None:  # a first run: the checks that need no compiling kernel run while the kernels compile
        order = [s for s in specs if not warmups.waits(s.module)] + [s for s in specs if warmups.waits(s.module)]
    for spec in order:
        if warmups is not None:
            warmups.ensure(spec.module)
        if starting is not None:
            starting(spec)
        t0 = time.perf_counter()
        missing = [r for r in spec.requires if importlib.util.find_spec(r) is None]
        if missing:
            got = [
                CheckResult(
                    id=spec.ids[0], equation="", model="", theory=None, measured=None, ci95=None,
                    tolerance=None, tolerance_source="", verdict=SKIP,
                    note=f"needs {', '.join(missing)} ({install_hint(missing[0])})",
                )
            ]
        else:
            try:
                got = list(spec.fn(ctx))
            except Exception as exc:  # noqa: BLE001 - reported as a FAIL row, with the trace
                got = [
                    CheckResult(
                        id=spec.ids[0], equation="", model="", theory=None, measured=None, ci95=None,
                        tolerance=None, tolerance_source="provider raised", verdict=FAIL,
                        note=f"{type(exc).__name__}: {exc}",
                        extra={"traceback": traceback.format_exc(limit=8)},
                    )
                ]
        dt = time.perf_counter() - t0
        if prefixes:
            got = [r for r in got if any(r.id.startswith(p) for p in prefixes)]
        got = _refuse_duplicates(got, seen)
        for r in got:
            r.seconds = dt / max(len(got), 1)
        by_spec[id(spec)] = got
        if progress is not None:
            progress(spec, got)
    return [r for s in specs for r in by_spec[id(s)]]


def _refuse_duplicates(got: list[CheckResult], seen: set[str]) -> list[CheckResult]:
    """`got` with each row whose id is already in `seen` (an earlier row's)
    replaced by a FAIL row ``<id>.duplicate<k>`` saying so: a duplicated id is
    a catalogue bug and would merge two rows in the rerun map. Adds the ids to `seen`."""
    out = []
    for r in got:
        if r.id in seen:
            k = 2
            while f"{r.id}.duplicate{k}" in seen:
                k += 1
            r = CheckResult(id=f"{r.id}.duplicate{k}", equation=r.equation, model=r.model, theory=None,
                            measured=None, ci95=None, tolerance=None, tolerance_source="duplicate check id",
                            verdict=FAIL, note=f"a provider returned the id {r.id!r} a second time ({r.note})")
        seen.add(r.id)
        out.append(r)
    return out


def summarize(rows: Sequence[CheckResult]) -> dict[str, Any]:
    counts = {v: 0 for v in VERDICTS}
    for r in rows:
        counts[r.verdict] += 1
    return {
        "total": len(rows),
        "pass": counts[PASS],
        "fail": counts[FAIL],
        "info": counts[INFO],
        "skip": counts[SKIP],
        "ok": counts[FAIL] == 0,
        "families": sorted({r.id.split(".")[0] for r in rows}),
    }
