"""gapkit.sims: Numba simulators, data-averaged estimators, the check catalogue
and the command line. Imports gapkit.theory; never gapkit.gpu at module level."""
