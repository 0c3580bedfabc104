"""What a temperature sweep is (Section 3 of the paper): its spec, presets, run length and run list.

A sweep runs a grid of (lr, B) points, T = lr / B, for one algorithm variant
(plain SGD, cosine, momentum, momentum + cosine, or Langevin), with `seeds`
independent runs per point, each run an ensemble of `datasets` data sets x
`chains` chains. Every finished run goes to the results store
(`gapkit.sims.sweep._store`); the sweep then fits Eq 1 to the gap and reports the
predictions A, B, C (`gapkit.sims.stats._fit`) and draws the figure panels
(`gapkit.sims.sweep._figures`).

Run length: equal rescaled time (Appendix B). Continuous time t' = lam t
(updates x lr) leaves only T and alpha in the diffusion limit, so runs with
equal T x updates x B = lr x updates are comparable. Each Numba run therefore
gets ``steps = ceil(tau (burn_time + time) / lr)`` updates of which the first
``burnin = ceil(tau burn_time / lr)`` are discarded: the same rescaled burn-in and
measuring time at every grid point. tau = 1 / (c + alpha) is the model's
slowest relaxation time in rescaled units (c the smallest curvature of its
population loss, `relax_time`), so burn_time = 10 leaves exp(-10) of the
initial offset; near the stability edge the discrete chain contracts more
slowly than exp(-lr kappa) per update and the burn-in is lengthened to
burn_time / (-log rho) updates (`steps_for`). A point whose steps would exceed
``max_steps`` is run with max_steps and marked ``capped`` (it may not be at
steady state); where that shortens the burn-in, ``burnin_requested`` holds the
rule's request (None: the mean does not contract). That is the run length of the toy backends (`Backend.run_length`
"steps"); a backend whose run length is "epochs" (the torch backend) uses the
paper's epoch rule (Appendix E), N = ref_epochs max(1, min(4, 1 + (T_ref / T - 1) / 4)).
The backend (`gapkit.sims._backends`) must be registered.

Seeds (pairing): by default ("paired", common random numbers) a run's seed
comes from the root seed and the sha256 of its configuration WITHOUT the grid
coordinates (T, lr, B and the run length that follows from them): replicate r
has the same seed at every grid point, so its data draw k and chain m are the
same data set and the same random streams at every (T, B), and the findings
(`gapkit.sims.stats._fit.findings`) judge trends, optima and collapse on
paired per-draw differences. ``pairing="fresh"`` hashes the full
configuration instead: every grid point gets fresh draws and the findings use
unpaired (Welch) forms. No seed depends on the worker, the executor or the
order of the runs.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from gapkit.sims._backends import get_backend
from gapkit.sims._settings import LIMITS, MAX_SEED
from ._store import config_key

__all__ = ["MODELS", "ALGOS", "PRESETS", "MODEL_DEFAULTS", "SweepSpec", "make_spec", "build_runs",
           "run_seed", "relax_time", "steps_for", "burnin_request", "epochs_for", "PAIRINGS", "GRID_KEYS",
           "run_memory", "rescaled_epochs", "rescaled_time", "sweep_variants", "train_longer_points"]

from gapkit.sims._settings import ALGOS as ALGOS  # noqa: E402 - names live in the settings module
from gapkit.sims._settings import MODELS as MODELS  # noqa: E402

# Model settings of the toy problems, scaled so the per-example curvature is
# ~1 and one T grid suits all. linreg/rfridge: over-parameterized (dim > n)
# with a ridge alpha, where the gap falls with T (train loss rises faster than
# test loss: the thermal spread lives in the span of the n inputs, where the
# train Hessian exceeds the population one); logreg: 8 points in 4-D with
# large inputs, separable or nearly so.
MODEL_DEFAULTS = {
    "quadratic1d": dict(n=8, dim=1, alpha=0.0),
    "quadratic": dict(n=8, dim=4, alpha=0.0),
    "linreg": dict(n=8, dim=16, alpha=0.3, data_std=0.25, noise_std=0.5),
    "logreg": dict(n=8, dim=4, alpha=1e-2, data_std=1.0),
    "rfridge": dict(n=8, dim=32, alpha=0.1, data_std=1.0, noise_std=0.5),
}
_MAX_RELAX = 100.0  # cap on tau (no curvature, no ridge: the null space never moves anyway)

# Presets: grids, replicates and run length (rescaled time, see the module
# docstring). Explicit command-line values override them.
PRESETS = {
    "smoke": dict(T_grid=[0.01, 0.03, 0.1, 0.3], batch_grid=[1, 4], seeds=1, datasets=16, chains=2,
                  burn_time=10.0, time=20.0, max_steps=20_000, ref_epochs=3, T_ref=0.05),
    "quick": dict(T_grid=[0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4], batch_grid=[1, 2], seeds=1, datasets=64,
                  chains=2, burn_time=20.0, time=40.0, max_steps=50_000, ref_epochs=10, T_ref=0.05),
    "paper": dict(T_grid=[0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4], batch_grid=[1, 2, 4], seeds=2,
                  datasets=100, chains=2, burn_time=50.0, time=200.0, max_steps=400_000, ref_epochs=300,
                  T_ref=2e-4),
    # Edge of stability (issue 14; Tuci, Korkmaz, Simsekli & Birdal's sharpness
    # dimension, 0 at every stable minimum): B = 1 and lr = T from 1 to 1.9, where
    # single-example steps overshoot (lr |x|^2 > 2 at the defaults' per-example
    # curvature ~1) while the full-batch chain stays stable (linreg: lr < 2 / 0.6).
    "eos": dict(T_grid=[1.0, 1.2, 1.4, 1.6, 1.8, 1.9], batch_grid=[1], seeds=1, datasets=16, chains=2,
                burn_time=10.0, time=20.0, max_steps=20_000, ref_epochs=3, T_ref=0.05),
}


MAX_RUNS = 1_000_000  # grid points x seeds of one sweep
PAIRINGS = ("paired", "fresh")  # common random numbers across the grid, or fresh draws at every grid point
# Config keys that vary over the grid: a paired seed is derived without them.
GRID_KEYS = ("T", "lr", "batch", "steps", "burnin", "capped", "record_every", "epochs", "burnin_requested", "T_eff",
             "ghost_batch")


@dataclasses.dataclass
class SweepSpec:
    """Everything that defines a sweep (what `sweep.json` stores)."""

    model: str
    algo: str = "sgd"
    cosine: bool = False
    backend: str = "numba"
    T_grid: list | None = None
    lr_grid: list | None = None
    batch_grid: list = dataclasses.field(default_factory=lambda: [1])
    seeds: int = 1
    datasets: int = 16
    chains: int = 2
    root_seed: int = 0
    burn_time: float = 10.0
    time: float = 20.0
    max_steps: int = 20_000
    ref_epochs: int = 300
    T_ref: float = 2e-4
    n: int = 8
    dim: int = 1
    alpha: float = 0.0
    beta: float = 0.0
    momentum: float = 0.0
    data_mean: float = 0.0
    data_std: float = 1.0
    noise_std: float = 0.5
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    indicators: bool = False
    pairing: str = "paired"
    preset: str | None = None
    # Variants of one sweep (`sweep_variants`): dicts of algo / momentum / cosine,
    # each run at every grid point; the grid is then in effective units
    # (lr_eff = lr / (1 - mu), T_eff = lr_eff / B). None: the spec's own algo.
    variants: list | None = None
    effective_units: bool = True  # with variants: False keeps the grid in raw lr, T = lr / B (the paper's T)
    # Epoch rule of an "epochs" backend: "paper" (Appendix E, `epochs_for`) or
    # "rescaled" (`rescaled_epochs`: lr_eff x updates = burn_time + time, at least min_epochs).
    epoch_rule: str = "paper"
    min_epochs: int = 1
    # Train longer (Hoffer et al. 2017; `train_longer_points`): {"batch_small": B_S,
    # "epochs_small": E_S, "ghost_batch": g (0: off)}; lr_grid then holds small-batch
    # learning rates eta_S, and the run at batch B takes lr eta_S sqrt(B / B_S),
    # E_S B / B_S epochs (rounded up) and ghost batch norm over min(g, B) examples.
    train_longer: dict | None = None

    def validate(self) -> "SweepSpec":
        from gapkit.theory._validate import (ArgumentError, check_bool, check_int, check_interval, check_nonneg,
                                             check_positive)

        if not isinstance(self.backend, str):
            raise ArgumentError(f"backend must be the name of a registered backend (got {self.backend!r})",
                                param="backend")
        backend = get_backend(self.backend)  # a registered backend by name only, else an ArgumentError naming them
        check_bool("cosine", self.cosine)
        check_bool("indicators", self.indicators)
        if backend.models and self.model not in backend.models:
            raise ArgumentError(f"model must be one of {', '.join(backend.models)} (got {self.model!r})", param="model")
        if self.algo not in ALGOS:
            raise ArgumentError(f"algo must be one of {', '.join(ALGOS)} (got {self.algo!r})")
        if (self.T_grid is None) == (self.lr_grid is None):
            raise ArgumentError("give exactly one of T_grid and lr_grid", param="T_grid")
        grid_name = "T_grid" if self.T_grid is not None else "lr_grid"
        grid = self.T_grid if self.T_grid is not None else self.lr_grid
        _check_lists(grid_name, grid, self.batch_grid)
        if len(grid) == 0:
            raise ArgumentError(f"{grid_name} must be a non-empty list of numbers > 0 (got an empty list)")
        if len(self.batch_grid) == 0:
            raise ArgumentError("batch_grid must be a non-empty list of integers >= 1 (got an empty list)")
        self.batch_grid = [check_int("batch_grid", b, *LIMITS["batch"]) for b in self.batch_grid]
        for v in grid:
            check_interval(grid_name, v, *LIMITS["T" if grid_name == "T_grid" else "lr"])
        if self.train_longer is not None:
            _check_train_longer(self, backend)
        for T, B, lr in self.points():
            check_interval("lr = T x B", lr, *LIMITS["lr"])  # of a T grid
            check_interval("T", T, *LIMITS["T"])
        for name in ("seeds", "datasets", "chains", "max_steps", "ref_epochs", "n", "dim"):
            check_int(name, getattr(self, name), 1)
        check_int("max_steps", self.max_steps, 1, MAX_STEPS)
        check_int("root_seed", self.root_seed, 0, MAX_SEED)
        if self.pairing not in PAIRINGS:
            raise ArgumentError(f"pairing must be one of {', '.join(PAIRINGS)} (got {self.pairing!r})", param="pairing")
        runs = len(grid) * len(self.batch_grid) * self.seeds
        if runs > MAX_RUNS:  # a run list this long would take hours to build, years to run
            raise ArgumentError(f"seeds must keep the sweep at <= {MAX_RUNS} runs (grid points x seeds = {runs})",
                                param="seeds")
        for name in ("burn_time", "alpha", "data_std", "noise_std", "time", "data_mean"):
            check_interval(name, getattr(self, name), *LIMITS[name])
        check_nonneg("beta", self.beta)
        check_interval("beta", self.beta, *LIMITS["beta"])
        check_nonneg("momentum", self.momentum)
        check_positive("T_ref", self.T_ref)
        if self.epoch_rule not in ("paper", "rescaled"):
            raise ArgumentError(f"epoch_rule must be 'paper' or 'rescaled' (got {self.epoch_rule!r})")
        check_int("min_epochs", self.min_epochs, 1)
        for v in sweep_variants(self) if self.variants else ():
            if v["algo"] not in ALGOS or not 0 <= v["momentum"] < 1:
                raise ArgumentError(f"variants must have algo in {', '.join(ALGOS)} and momentum in [0, 1) (got {v})",
                                    param="variants")
        if not self.momentum < 1:
            raise ArgumentError(f"momentum must be in [0, 1) (got {self.momentum})")
        return self

    def points(self) -> list[tuple[float, int, float]]:
        """Grid points (T, B, lr), in grid order."""
        out = []
        if self.train_longer is not None:
            return [(lr / B, B, lr) for B in self.batch_grid for lr, _, _ in
                    (train_longer_points(self, lr_s, B) for lr_s in self.lr_grid)]
        for B in self.batch_grid:
            if self.T_grid is not None:
                out += [(float(T), int(B), float(T) * B) for T in self.T_grid]
            else:
                out += [(float(lr) / B, int(B), float(lr)) for lr in self.lr_grid]
        return out


MAX_STEPS = 400_000_000  # updates per run: the learning-rate schedule holds one float per update


def train_longer_points(spec: SweepSpec, lr_small: float, B: int) -> tuple[float, int, int]:
    """(lr, epochs, ghost_batch) of the train-longer run at batch B from the
    small-batch learning rate lr_small: `gapkit.sims.indicators.train_longer_preset`
    (lr_small sqrt(B / B_S), E_S B / B_S epochs rounded up, min(g, B); g = 0: 0)."""
    from gapkit.sims.indicators._trajectory import train_longer_preset

    tl = spec.train_longer
    g = int(tl.get("ghost_batch", 0))
    row = train_longer_preset(lr_small, tl["batch_small"], tl["epochs_small"], [B], ghost_batch=max(g, 1))[0]
    return float(row["lr"]), math.ceil(row["epochs"] - 1e-9), (row["ghost_batch"] if g else 0)


def _check_train_longer(spec: SweepSpec, backend) -> None:
    from gapkit.theory._validate import ArgumentError, check_int, check_positive

    tl = spec.train_longer
    if not isinstance(tl, dict) or set(tl) - {"batch_small", "epochs_small", "ghost_batch"} or \
            not {"batch_small", "epochs_small"} <= set(tl):
        raise ArgumentError("train_longer must be a dict with batch_small, epochs_small and optionally ghost_batch "
                            f"(got {tl!r})", param="train_longer")
    if backend.run_length != "epochs" or spec.lr_grid is None or spec.variants:
        raise ArgumentError("train_longer needs a backend measured in epochs, an lr_grid (the small-batch rates) "
                            "and no variants", param="train_longer")
    check_int("batch_small", tl["batch_small"], 1)
    check_positive("epochs_small", tl["epochs_small"])
    check_int("ghost_batch", tl.get("ghost_batch", 0), 0)


def _check_lists(grid_name, grid, batch_grid) -> None:
    """The grids are lists (or tuples) of numbers, not a scalar or a string."""
    from gapkit.theory._validate import ArgumentError

    for name, v in ((grid_name, grid), ("batch_grid", batch_grid)):
        if not isinstance(v, (list, tuple)):
            raise ArgumentError(f"{name} must be a list of numbers (got {type(v).__name__} {v!r})", param=name)


def make_spec(model: str | None, *, preset: str | None = "smoke", backend: str = "numba", **overrides) -> SweepSpec:
    """A validated `SweepSpec` on a registered backend: the preset, then
    `overrides` (keys left at None are ignored). The toy backends' presets are
    `PRESETS` on top of the model's `MODEL_DEFAULTS`; a backend with its own
    presets (`Backend.sweep_preset`) gives every field, the model included
    (`model` None: the preset's). A grid given replaces the preset's other grid
    (a lr grid its T grid, a T grid its lr grid); model_kwargs are merged over
    the preset's."""
    from gapkit.theory._validate import ArgumentError

    b = get_backend(backend)
    if preset is not None and preset not in b.presets:
        raise ArgumentError(f"preset must be one of {', '.join(b.presets)} (got {preset!r})", param="preset")
    if b.sweep_preset is None:
        base = dict(MODEL_DEFAULTS.get(model, {}))
        base.update(PRESETS.get(preset, {}) if preset else {})
    else:
        base = dict(b.sweep_preset(preset)) if preset else {}
    preset_model = base.pop("model", None)
    model = preset_model if model is None else model
    kwargs = overrides.pop("model_kwargs", None)
    if kwargs is not None and not isinstance(kwargs, dict):
        raise ArgumentError(f"model_kwargs must be a dict (got {type(kwargs).__name__})", param="model_kwargs")
    over = {k: v for k, v in overrides.items() if v is not None}
    for grid, other in (("lr_grid", "T_grid"), ("T_grid", "lr_grid")):
        if grid in over and other not in over:
            base.pop(other, None)
    base.update(over)
    if kwargs:
        base["model_kwargs"] = {**base.get("model_kwargs", {}), **kwargs}
    if base.get("algo") == "momentum" and "momentum" not in over:
        base["momentum"] = 0.9
    fields = {f.name for f in dataclasses.fields(SweepSpec)}
    unknown = sorted(set(base) - fields)
    if unknown:
        raise ArgumentError(f"unknown sweep setting(s): {', '.join(unknown)}")
    spec = SweepSpec(model=model, preset=preset, backend=backend, **base).validate()
    _check_model_kwargs(spec)
    return spec


# Keys of a run's configuration (`build_runs`): a model setting of the same
# name would change the run while runs.csv shows the configured value.
RUN_KEYS = ("backend", "model", "algo", "cosine", "T", "batch", "lr", "replicate", "root_seed", "seed", "epochs",
            "steps", "burnin", "capped", "record_every", "datasets", "chains", "n", "dim", "alpha", "beta",
            "momentum", "data_mean", "data_std", "noise_std", "indicators", "problem_seed", "dt")


def _check_model_kwargs(spec: SweepSpec) -> None:
    """model_kwargs (``--set``) may not clash with a run setting, and on the
    built-in toy backend must be options the model knows, with values its
    first run accepts (checked now, not when the run starts)."""
    from gapkit.theory._validate import ArgumentError

    kw = spec.model_kwargs
    if not isinstance(kw, dict):
        raise ArgumentError(f"model_kwargs must be a dict (got {type(kw).__name__})", param="model_kwargs")
    clash = sorted(set(kw) & set(RUN_KEYS))
    if clash:
        raise ArgumentError(f"--set {clash[0]} is a run setting, recorded in runs.csv: give it as its own option "
                            f"or sweep setting, not as a model setting (--set)", param="model_kwargs")
    if spec.backend == "numba":  # the built-in toy backend: what its first run would reject, now
        from gapkit.sims._backends import _SIM_KEYS
        from gapkit.sims.engine._simulate import check_model_kwargs, check_simulate_args

        check_model_kwargs(spec.model, kw)  # first: the run length reads h
        first = _run_config(spec, sweep_variants(spec)[0], *spec.points()[0], 0, by_steps=True,
                            effective=bool(spec.variants) and spec.effective_units)
        check_simulate_args(**{k: first[k] for k in _SIM_KEYS if k in first}, **kw)


def relax_time(spec: SweepSpec) -> float:
    """tau = 1 / (c + alpha) (`_mode_curvature`), capped at 100."""
    k = _mode_curvature(spec)
    return min(1.0 / k, _MAX_RELAX) if k > 0 else _MAX_RELAX


def _mode_curvature(spec: SweepSpec) -> float:
    """kappa = c + alpha, c the smallest curvature of the model's population loss
    (quadratic: h; linreg: data_std^2 (1 - sqrt(dim/n))^2 when n > dim, else 0;
    logreg: data_std^2 / 4 at the origin; rfridge: 0)."""
    m = spec.model
    if m in ("quadratic1d", "quadratic"):
        c = float(spec.model_kwargs.get("h", 1.0))
    elif m == "linreg":
        c = spec.data_std**2 * (1 - math.sqrt(spec.dim / spec.n)) ** 2 if spec.n > spec.dim else 0.0
    elif m == "logreg":
        c = 0.25 * spec.data_std**2
    else:
        c = 0.0
    return c + spec.alpha


def steps_for(lr: float, spec: SweepSpec) -> tuple[int, int, bool]:
    """(steps, burnin, capped) of the equal-rescaled-time rule (module docstring;
    the toy backends' run length, `Backend.run_length` "steps"). The burn-in is
    the longer of tau burn_time / lr (equal rescaled time) and burn_time / rate,
    rate = -log rho the discrete chain's contraction per update
    (`gapkit.sims.stats.contraction_rate`, momentum's companion matrix included),
    which decides near the stability edge; with no contraction the burn-in is
    the cap max_steps / 3. `burnin_request` gives the burn-in before the cap."""
    tau = relax_time(spec)
    burnin = burnin_request(lr, spec)
    rescaled = math.ceil(tau * spec.burn_time / lr)
    steps = math.ceil(tau * (spec.burn_time + spec.time) / lr) + (burnin - rescaled if burnin is not None else 0)
    capped = burnin is None or steps > spec.max_steps
    if capped:
        steps = spec.max_steps
        burnin = min(burnin if burnin is not None else steps, steps // 3)
    return int(steps), int(burnin), bool(capped)


def burnin_request(lr: float, spec: SweepSpec) -> int | None:
    """Burn-in (updates) the rule of `steps_for` asks for before any cap; None
    when the chain's mean does not contract (rho >= 1)."""
    from gapkit.sims.stats._steady import contraction_rate

    k = _mode_curvature(spec)
    rescaled = math.ceil(relax_time(spec) * spec.burn_time / lr)
    if k <= 0:
        return rescaled
    rate = contraction_rate(lr * k, momentum=spec.momentum)
    if rate <= 0:
        return None
    return max(rescaled, math.ceil(spec.burn_time / rate))
def run_memory(spec: SweepSpec) -> int:
    """Bytes of the largest run of a toy-backend sweep (`gapkit.sims.engine._memory.simulate_bytes`
    at the grid point with the most updates); 0 for a backend measured in epochs."""
    from gapkit.sims.engine._memory import simulate_bytes
    from gapkit.sims.engine._problems import KIND

    if get_backend(spec.backend).run_length != "steps" or spec.model not in KIND:
        return 0
    steps = max(steps_for(lr, spec)[0] for _, _, lr in spec.points())
    kw = spec.model_kwargs
    return simulate_bytes(kind=KIND[spec.model], datasets=spec.datasets, chains=spec.chains, n=spec.n, dim=spec.dim,
                          steps=steps, record_every=max(1, steps // 100),
                          input_dim=int(kw.get("input_dim", 5 if spec.model == "rfridge" else 1)),
                          test_size=int(kw.get("test_size", 4096)), momentum=spec.momentum > 0)


def epochs_for(T: float, spec: SweepSpec) -> int:
    """Appendix E: N = ref_epochs max(1, min(4, 1 + (T_ref / T - 1) / 4)), the
    spec's reference run in the one epoch rule `gapkit.sims.stats._steady.paper_epochs`."""
    from gapkit.sims.stats._steady import paper_epochs

    return paper_epochs(T, reference_epochs=spec.ref_epochs, reference_T=spec.T_ref)


def rescaled_epochs(lr_eff: float, B: int, spec: SweepSpec) -> int:
    """Epochs of the "rescaled" epoch rule: the same rescaled time lr_eff x
    updates at every grid point of one temperature (Appendix B;
    `gapkit.sims.stats._steady.rescaled_steps` with a unit reference), an
    epoch being ceil(n / B) updates (minibatches with replacement; n = the
    point's n_train). The time is `rescaled_time` at this point's T: burn_time
    + time, or longer where min_epochs at some batch size of this T asks for
    more, so that runs at equal T (the collapse's pairs) stay at equal
    rescaled time when the epoch floor binds."""
    from gapkit.sims.stats._steady import rescaled_steps

    n = int(spec.model_kwargs.get("n_train", spec.n))
    updates = rescaled_steps(lr_eff, 1.0, math.ceil(rescaled_time(lr_eff / B, spec) - 1e-9))
    return max(int(spec.min_epochs), math.ceil(updates / math.ceil(n / B)))


def rescaled_time(T: float, spec: SweepSpec) -> float:
    """Rescaled time lr_eff x updates of every run at temperature T under the
    "rescaled" epoch rule: max(burn_time + time, min_epochs x ceil(n / B) x
    lr_eff over the grid's batch sizes B at this T). Without the second term a
    hot run (large lr_eff) would reach the epoch floor at a time that differs
    between batch sizes."""
    n = int(spec.model_kwargs.get("n_train", spec.n))
    base = float(math.ceil(spec.burn_time + spec.time))
    same_T = [(b, t * b) for t, b, _ in spec.points() if math.isclose(t, T, rel_tol=1e-9)]
    floors = [int(spec.min_epochs) * math.ceil(n / b) * lr for b, lr in same_T]
    return max([base] + floors)


def sweep_variants(spec: SweepSpec) -> list[dict]:
    """The algorithm variants a sweep runs, each {algo, momentum, cosine}: the
    spec's `variants`, else its own algo, momentum and cosine."""
    if not spec.variants:
        return [{"algo": spec.algo, "momentum": float(spec.momentum), "cosine": bool(spec.cosine)}]
    return [{"algo": v.get("algo", "sgd"), "momentum": float(v.get("momentum", 0.0)),
             "cosine": bool(v.get("cosine", False))} for v in spec.variants]


def run_seed(root_seed: int, config: dict, pairing: str = "paired") -> int:
    """63-bit seed of a run: SeedSequence(root_seed) spawned on the sha256 of
    the run's configuration without "seed" itself and, when `pairing` is
    "paired" (common random numbers; the default), without the grid
    coordinates `GRID_KEYS` (module docstring)."""
    drop = ("seed", "root_seed") + (GRID_KEYS if pairing == "paired" else ())
    base = {k: v for k, v in config.items() if k not in drop}
    h = int(config_key(base)[:15], 16)
    ss = np.random.SeedSequence(entropy=int(root_seed), spawn_key=(h,))
    return int(ss.generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> np.uint64(1))


def build_runs(spec: SweepSpec) -> list[dict]:
    """One full configuration per run (grid point x replicate), seed included."""
    by_steps = get_backend(spec.backend).run_length == "steps"
    effective = bool(spec.variants) and spec.effective_units  # the grid in effective units (lr_eff, T_eff)
    return [_run_config(spec, var, T, B, lr, r, by_steps=by_steps, effective=effective)
            for var in sweep_variants(spec) for T, B, lr in spec.points() for r in range(spec.seeds)]


def _run_config(spec: SweepSpec, var: dict, T: float, B: int, lr: float, r: int, *, by_steps: bool,
                effective: bool) -> dict:
    """The full configuration of replicate `r` of variant `var` at grid point (T, B, lr), seed included."""
    mu = var["momentum"] if spec.variants else float(spec.momentum)
    lr_run = float(f"{lr * (1.0 - mu):.12g}") if effective else lr  # lr = lr_eff (1 - mu), 12 digits
    cfg = {"backend": spec.backend, "model": spec.model, "algo": var["algo"], "cosine": var["cosine"],
           "T": lr_run / B if effective else T, "batch": B, "lr": lr_run, "replicate": r,
           "root_seed": int(spec.root_seed)}
    if effective:
        cfg["T_eff"] = lr_run / ((1.0 - mu) * B)
    if spec.train_longer is not None:  # Hoffer et al.: lr, epochs and ghost batch from the small-batch recipe
        _, epochs, ghost = train_longer_points(spec, lr / math.sqrt(B / spec.train_longer["batch_small"]), B)
        cfg.update(epochs=epochs, **({"ghost_batch": ghost} if ghost else {}))
    elif not by_steps:
        cfg.update(epochs=rescaled_epochs(lr, B, spec) if spec.epoch_rule == "rescaled" else epochs_for(T, spec))
    else:
        steps, burnin, capped = steps_for(lr, spec)
        cfg.update(steps=steps, burnin=burnin, capped=capped, record_every=max(1, steps // 100),
                   datasets=spec.datasets, chains=spec.chains, n=spec.n, dim=spec.dim)
        want = burnin_request(lr, spec)
        if want is None or want > burnin:  # the cap shortened the burn-in: say by how much
            cfg["burnin_requested"] = want
    cfg.update(alpha=float(spec.alpha), beta=float(spec.beta), momentum=mu,
               data_mean=float(spec.data_mean), data_std=float(spec.data_std),
               noise_std=float(spec.noise_std), indicators=bool(spec.indicators))
    if spec.model_kwargs:
        cfg["model_kwargs"] = dict(sorted(spec.model_kwargs.items()))
    if by_steps:
        # one data distribution (teacher, pool, test set) for the whole sweep;
        # the data sets themselves come from each run's own seed (paired: the replicate's)
        cfg["problem_seed"] = int(spec.root_seed)
    cfg["seed"] = run_seed(spec.root_seed, cfg, spec.pairing)
    return cfg
