"""gapkit.sims.engine: the Numba simulators of the toy models (one job: run an
ensemble of K data sets x M chains of SGD, momentum or Langevin, Eqs 15-17).

jit settings (`_jit`), keyed random streams (`_rng`), data schemes (`_data`),
the toy problems (`_problems`), the one numeric definition of each toy loss and
gradient (`_losses`), the update kernels (`_kernels`), the Python
wrapper that validates and allocates (`_simulate`) and the benchmark against
NumPy and a C reference (`_bench`), and the warm-up that compiles every kernel
on tiny runs (`_warmup`). Importing it compiles nothing.
"""
from gapkit.theory._lazy import lazy_exports

# module -> the public names it holds (imported on first use; PEP 562)
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "._bench": ("run_bench",),
    "._simulate": ("default_burnin", "exact_stationary", "simulate"),
})
