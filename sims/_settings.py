"""Constants shared by the command line and the library: one home each.

Names of the toy models, algorithms, pool schemes and Numba sweep presets, and
the numbers that decide verdicts (Z95, K_SE, the steady-state z threshold,
BIG). Light at import by design (no numpy, numba or scipy): the CLI builds its
parser from these names without loading the simulators. The library modules
that own each concept (the kernels, the problems, the sweep presets) import
their names from here, so a new model or preset is added in one place.
"""
from __future__ import annotations

__all__ = [
    "MODELS",
    "QUADRATIC_MODELS",
    "ALGOS",
    "SCHEMES",
    "SWEEP_PRESET_NAMES",
    "Z95",
    "K_SE",
    "STEADY_Z",
    "BIG",
    "LIMITS",
    "MAX_SEED",
    "EXTRA_OF",
    "install_hint",
]

# The toy models of the Numba engine (gapkit.sims.engine._problems builds them).
MODELS = ("quadratic1d", "quadratic", "linreg", "logreg", "rfridge")
# The models with a curvature h (the --h option, exact discrete laws).
QUADRATIC_MODELS = ("quadratic1d", "quadratic")
# Training algorithms: Eq 15 (sgd), Eq 17 by Euler-Maruyama (langevin), Eq 16 (momentum).
# The kernels' integer codes live in gapkit.sims.engine._kernels.ALGOS.
ALGOS = ("sgd", "langevin", "momentum")
# How train/test sets are drawn from a finite pool (gapkit.sims.engine._data).
SCHEMES = ("iid", "split")
# Presets of the Numba sweep; their grids live in gapkit.sims.sweep._spec.PRESETS.
SWEEP_PRESET_NAMES = ("smoke", "quick", "paper", "eos")

# Two-sided 95% normal quantile: ci95 = Z95 x standard error.
Z95 = 1.959963984540054
# Standard errors a PASS/FAIL row allows: two-sided false-FAIL rate 6.3e-5 per row under normality.
K_SE = 4.0
# |drift z| below which a sweep run counts as at steady state (the same 4 standard errors).
STEADY_Z = 4.0
# |theta| beyond this is divergence; keeps loss squares finite in the estimators.
BIG = 1e30

# Ranges of the numeric settings gapkit can honour: beyond them a chain's
# numbers overflow or flag as divergence (data scales vs BIG), a run never
# leaves its start (MIN lr) or one update takes unbounded work (batch). Each
# is refused with its range named (ArgumentError; the CLI: exit 2).
# name -> (lowest, highest); the library and the command line both read these.
LIMITS = {
    "lr": (1e-12, 1e6),           # learning rate (also T x B of a sweep grid)
    "T": (1e-12, 1e6),            # temperature lr / B
    "dt": (1e-12, 1e6),           # Euler-Maruyama step, in updates
    "alpha": (0.0, 1e6),          # weight decay
    "beta": (-1e6, 1e6),          # added noise scale
    "h": (1e-12, 1e6),            # curvature of the quadratic models
    "data_mean": (-1e10, 1e10),   # theta ~ data must stay far below BIG
    "data_std": (0.0, 1e10),
    "noise_std": (0.0, 1e10),
    "batch": (1, 2**20),          # minibatch draws per update
    "time": (1e-12, 1e9),         # rescaled measuring / burn-in time of a sweep
    "burn_time": (0.0, 1e9),
}
# Root seeds are 64-bit: a larger one is refused, not folded.
MAX_SEED = 2**64 - 1
# The pyproject extra that brings each optional package.
EXTRA_OF = {"torch": "gpu", "mnist1d": "gpu", "sklearn": "gpu", "dask": "dist", "distributed": "dist"}


def install_hint(package: str) -> str:
    """The one install hint for an optional package, right for a source
    checkout: ``pip install -e ".[gpu]"`` for torch."""
    extra = EXTRA_OF.get(package.split(".")[0], "all")
    return f'pip install -e ".[{extra}]"'
