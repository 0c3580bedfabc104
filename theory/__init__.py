"""gapkit.theory: the paper's mathematics.

Sympy derivations, the numpy/scipy evaluators they lambdify to, and the exact
data-averaging engine on finite universes. Imports nothing from gapkit.sims or
gapkit.gpu.
"""
