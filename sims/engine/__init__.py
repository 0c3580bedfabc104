"""gapkit.sims.engine: the Numba simulators of the toy models (one job: run an
ensemble of K data sets x M chains of SGD, momentum or Langevin, Eqs 15-17).

jit settings (`_jit`), keyed random streams (`_rng`), data schemes (`_data`),
the toy problems (`_problems`), the one numeric definition of each toy loss and
gradient (`_losses`), the update kernels (`_kernels`), the Python
wrapper that validates and allocates (`_simulate`) and the benchmark against
NumPy and a C reference (`_bench`). Importing it compiles nothing.
"""
from ._bench import run_bench as run_bench
from ._simulate import default_burnin as default_burnin
from ._simulate import exact_stationary as exact_stationary
from ._simulate import simulate as simulate
