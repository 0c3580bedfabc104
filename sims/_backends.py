"""The backend registry: the engines a sweep, `gapkit bench` and the checks run on.

A `Backend` says how its engine runs one sweep point (``run_point(config) ->
RunResult``, the typed result of `gapkit.sims.stats._results`) and what it
brings to the rest of gapkit: its sweep presets and run-length rule, the options
it adds to ``gapkit sweep`` and ``gapkit bench``, its benchmark and the printer
of the benchmark's result, extra commands, checks, and a warm-up for the
catalogue modules whose checks need it.

The numba backend (the toy models of `gapkit.sims.engine`) is built in. Other
backends, the torch backend among them, register through the
``gapkit.plugins`` entry-point group: each entry point names a callable that
calls `register_backend`; it must import nothing heavy (the torch backend
imports torch only when a torch run starts). A plugin that fails to import or
to register is reported (one line on stderr naming it and the error, and a
SKIP row in ``gapkit verify``), never hidden.
"""
from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any

from gapkit.sims._settings import MODELS, SWEEP_PRESET_NAMES
from gapkit.theory._validate import ArgumentError

if TYPE_CHECKING:  # the registry stays light at import: the CLI builds its parser from it
    from gapkit.sims.stats._results import RunResult

__all__ = ["Backend", "register_backend", "get_backend", "backends", "load_plugins", "plugin_errors"]

RUN_LENGTHS = ("steps", "epochs")


@dataclasses.dataclass(frozen=True)
class Backend:
    """One engine. Every callable is a module-level function (process pools and
    Dask pickle the backend with each run).

    name           the ``--backend`` value and a sweep spec's ``backend``.
    run_point      config dict -> `RunResult`: one sweep run (an ensemble).
    help           one line for ``--help``.
    models         the model names it runs (empty: any; it checks when it runs).
    presets        the sweep presets it accepts (``--preset``).
    sweep_preset   preset name -> `SweepSpec` fields (grid, replicates, run
                   length, model and point settings in model_kwargs). None: the
                   toy-model presets of `gapkit.sims.sweep._spec`.
    run_length     "steps": equal rescaled time on the toy models (steps, burn-in,
                   K data sets x M chains of n examples in dim d, one problem seed
                   per sweep); "epochs": the Appendix E epoch rule.
    preflight      spec -> None, called once before a sweep computes runs: a
                   missing package or device is a one-line error before any work.
    indicators     (result, config) -> {ind_*/bound_*: float}, run when the spec
                   asks for indicators and the run_point does not compute them.
    sweep_options, bench_options
                   add the backend's own ``gapkit sweep`` / ``gapkit bench``
                   options to an argparse group.
    sweep_settings parsed args -> model_kwargs entries from those sweep options.
    bench          parsed ``gapkit bench`` args -> JSON-ready result.
    print_bench    prints that result for people.
    commands       () -> extra `Command` objects of the command line.
    register_checks  () -> None: registers the backend's check providers.
    warmup, warmup_modules
                   compiles or loads the backend's kernels, for the catalogue
                   modules (full names) whose checks use them; ``gapkit verify``
                   runs it before the first of those checks and reports the
                   time waited apart from the checks' own.
    warmup_start   () -> a handle with wait() and cancel(), or None: starts the
                   warm-up's compilation in the background (``gapkit verify``
                   calls it first, so that checks needing no kernel run
                   meanwhile); None when there is nothing to compile.
    """

    name: str
    run_point: Callable[[dict], RunResult]
    help: str = ""
    models: tuple[str, ...] = ()
    presets: tuple[str, ...] = ()
    sweep_preset: Callable[[str], dict] | None = None
    run_length: str = "steps"
    preflight: Callable[[Any], None] | None = None
    indicators: Callable[[RunResult, dict], dict] | None = None
    sweep_options: Callable[[Any], None] | None = None
    sweep_settings: Callable[[Any], dict] | None = None
    bench_options: Callable[[Any], None] | None = None
    bench: Callable[[Any], dict] | None = None
    print_bench: Callable[[dict], None] | None = None
    commands: Callable[[], Sequence] | None = None
    register_checks: Callable[[], None] | None = None
    warmup: Callable[[], None] | None = None
    warmup_modules: tuple[str, ...] = ()
    warmup_start: Callable[[], Any] | None = None

    def __post_init__(self):
        if not self.name or not isinstance(self.name, str):
            raise ArgumentError(f"name must be a non-empty string (got {self.name!r})", param="name")
        if self.run_length not in RUN_LENGTHS:
            raise ArgumentError(f"run_length must be one of {', '.join(RUN_LENGTHS)} (got {self.run_length!r})",
                                param="run_length")


_REGISTRY: dict[str, Backend] = {}
_PLUGINS: dict | None = None  # entry-point name -> None (loaded) or the error message
GROUP = "gapkit.plugins"


def register_backend(backend: Backend, *, replace: bool = False) -> Backend:
    """Add `backend` to the registry; a second backend of the same name is an
    error unless `replace`."""
    if not isinstance(backend, Backend):
        raise ArgumentError(f"backend must be a Backend (got {type(backend).__name__})", param="backend")
    if backend.name in _REGISTRY and not replace and _REGISTRY[backend.name] != backend:
        raise ArgumentError(f"backend {backend.name!r} is already registered", param="backend")
    _REGISTRY[backend.name] = backend
    return backend


def backends() -> list[Backend]:
    """Every registered backend, the built-in ones first (plugins loaded)."""
    load_plugins()
    return list(_REGISTRY.values())


def get_backend(name: str) -> Backend:
    """The registered backend `name` (plugins loaded on the first miss)."""
    if name not in _REGISTRY:
        load_plugins()
    if name not in _REGISTRY:
        raise ArgumentError(f"backend must be one of {', '.join(_REGISTRY)} (got {name!r})", param="backend")
    return _REGISTRY[name]


def load_plugins() -> dict:
    """Load the ``gapkit.plugins`` entry points once per process: each is a
    callable that registers its backend(s). Returns {entry-point name: None, or
    the error}; a failure is written to stderr (one line) and kept for
    `plugin_errors`."""
    global _PLUGINS
    if _PLUGINS is not None:
        return _PLUGINS
    _PLUGINS = {}
    try:
        eps = list(metadata.entry_points(group=GROUP))
    except Exception as exc:  # noqa: BLE001 - broken metadata: reported, the CLI still works
        eps = []
        _fail("<entry points>", GROUP, exc)
    for ep in eps:
        try:
            ep.load()()
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not take gapkit down: reported
            _fail(ep.name, ep.value, exc)
        else:
            _PLUGINS[ep.name] = None
    return _PLUGINS


def _fail(name: str, value: str, exc: BaseException) -> None:
    msg = f"plugin {name!r} ({value}) failed to load: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    _PLUGINS[name] = msg
    sys.stderr.write(f"gapkit: warning: {msg}\n")


def plugin_errors() -> dict[str, str]:
    """{entry-point name: message} of the plugins that failed to load."""
    return {k: v for k, v in load_plugins().items() if v is not None}


# ---------------------------------------------------------------- numba (built in)
# config keys of a sweep run that are `simulate` arguments
_SIM_KEYS = ("model", "algo", "n", "lr", "batch", "alpha", "beta", "momentum", "cosine", "dim", "datasets",
             "chains", "steps", "burnin", "seed", "record_every", "data_mean", "data_std", "noise_std")


def _numba_run_point(config: dict) -> RunResult:
    """One toy-model ensemble: `gapkit.sims.engine.simulate` on the run's
    settings (model_kwargs are model options; problem_seed fixes the sweep's
    data distribution)."""
    from gapkit.sims.engine import simulate

    kw = {k: config[k] for k in _SIM_KEYS if k in config}
    kw.update(config.get("model_kwargs", {}))
    if "problem_seed" in config:
        kw["problem_seed"] = config["problem_seed"]
    res = simulate(**kw)
    # the sweep, not the user, chose steps and burn-in (gapkit.sims.sweep._spec.steps_for)
    res.config["burnin_rule"] = ("sweep: equal rescaled time, burn-in = ceil(tau burn_time / lr), "
                                 "tau = relaxation time 1/(curvature + alpha)"
                                 + ("; capped run: burn-in <= steps / 3" if config.get("capped") else ""))
    return res


def _numba_indicators(result: RunResult, config: dict) -> dict:
    """The toy indicators of a run (`gapkit.sims.indicators._toy.toy_indicators`
    on its recorded trajectory and problem) and the paper's exact bound where
    one applies (`_paper_bounds`)."""
    from gapkit.sims.indicators._toy import toy_indicators

    out = dict(toy_indicators({**result.record(), "arrays": result.arrays, "_problem": result.problem}))
    out.update(_paper_bounds(config))
    return out


def _paper_bounds(config: dict) -> dict:
    """The paper's own gap bound where gapkit can evaluate it exactly for the
    run's configuration: Eq 7 on the 1-D quadratic model with Langevin
    (Euler-Maruyama, Gaussian stationary law; theory._quadratic.quadratic1d_eq07_bound).
    Eqs 11, 23, 24 are undefined on that model (Zbar = inf, see the eq11 checks)
    and have no grid on the d-dim models, so they are not attached."""
    if config.get("model") != "quadratic1d" or config.get("algo") != "langevin" or config.get("cosine"):
        return {}
    from gapkit.theory._quadratic import quadratic1d_eq07_bound

    kw = config.get("model_kwargs", {})
    r = quadratic1d_eq07_bound(config["n"], config.get("data_mean", 0.0), config.get("data_std", 1.0),
                               h=float(kw.get("h", 1.0)), alpha=config.get("alpha", 0.0), beta=config.get("beta", 0.0),
                               lam=config["lr"], B=config["batch"], scheme="em", dt=float(config.get("dt", 1.0)))
    return {"bound_eq07": r["bound"]}


def _numba_bench(args) -> dict:
    """W1/W2 against NumPy and C (`gapkit.sims.engine.run_bench`); the log goes
    to stderr under --json (stdout holds the one JSON object)."""
    from gapkit.sims.engine import run_bench

    log = (lambda s: sys.stderr.write(f"gapkit bench: {s}\n")) if args.json else print
    return run_bench(quick=args.quick, repeats=args.repeats, threads=args.threads, seed=args.seed,
                     numpy=not args.no_numpy, c=not args.no_c, log=log, symbolic=getattr(args, "symbolic", False))


def _print_numba_bench(res: dict) -> None:
    def f(x):
        return "n/a" if x is None else f"{x:.2f}"

    print(f"threads={res['threads']} repeats={res['repeats']} quick={res['quick']}  ({res['c_reference']}; "
          "x C: the median of the paired repeats' ratios)")
    for w in res.get("workloads", []):
        print(f"  {w['name']}: {w['desc']}: {w['throughput'] / 1e6:.1f} M chain-steps/s "
              f"(min {w['throughput_min'] / 1e6:.1f}, max {w['throughput_max'] / 1e6:.1f}); "
              f"x NumPy {f(w['ratio_vs_numpy'])}, x C {f(w['ratio_vs_c'])}"
              + (f"\n      kernel: {w['kernel']}" if w.get("kernel") else ""))


def _compile_numba_kernels() -> None:
    """The backend's `warmup` (`gapkit.sims.engine._warmup.compile_kernels`; imported when it runs)."""
    from gapkit.sims.engine._warmup import compile_kernels

    compile_kernels()


def _start_numba_kernels():
    """The backend's `warmup_start` (`gapkit.sims.engine._warmup.start_kernels`)."""
    from gapkit.sims.engine._warmup import start_kernels

    return start_kernels()


NUMBA = register_backend(Backend(
    name="numba",
    run_point=_numba_run_point,
    help="the toy models on the Numba simulators (built in)",
    models=MODELS,
    presets=SWEEP_PRESET_NAMES,
    run_length="steps",
    indicators=_numba_indicators,
    bench=_numba_bench,
    print_bench=_print_numba_bench,
    warmup=_compile_numba_kernels,
    warmup_start=_start_numba_kernels,
    warmup_modules=tuple(f"gapkit.sims.verify.catalogue.{m}"
                         for m in ("simulators", "collapse", "theta_grid", "theta_grid2d", "temperature")),
))
