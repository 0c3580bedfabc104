"""gapkit.theory: the paper's mathematics.

Sympy derivations, the numpy/scipy evaluators they lambdify to, and the exact
data-averaging engine on finite universes. Imports nothing from gapkit.sims or
gapkit.gpu.
"""
# Exact data-averaging engine (Eqs 2-9, 21)
from ._universe import MAX_MULTISETS as MAX_MULTISETS
from ._universe import Averages as Averages
from ._universe import Boltzmann as Boltzmann
from ._universe import Identity as Identity
from ._universe import PotentialStats as PotentialStats
from ._universe import TrainingSets as TrainingSets
from ._universe import Universe as Universe
from ._universe import boltzmann as boltzmann
from ._universe import data_averages as data_averages
from ._universe import effective_potential_gap as effective_potential_gap
from ._universe import exact_identities as exact_identities
from ._universe import gap_by_sequences as gap_by_sequences
from ._universe import n_multisets as n_multisets
from ._universe import potential_statistics as potential_statistics
from ._universe import sgd_potential_gap as sgd_potential_gap
from ._universe import training_sets as training_sets

# Approximations (Eqs 10-14, 22-24, 50-53)
from ._approx import Approx as Approx
from ._approx import approximations as approximations
from ._approx import eq10_lognormal_rhobar as eq10_lognormal_rhobar
from ._approx import eq11_gap_bound as eq11_gap_bound
from ._approx import eq12_cov as eq12_cov
from ._approx import eq13_gap as eq13_gap
from ._approx import eq14_test_loss_bound as eq14_test_loss_bound
from ._approx import eq22_sgd_gap as eq22_sgd_gap
from ._approx import eq23_sgd_test_loss_bound as eq23_sgd_test_loss_bound
from ._approx import eq24_sgd_gap_bound as eq24_sgd_gap_bound
from ._approx import eq50_delta_cov as eq50_delta_cov
from ._approx import eq51_cov as eq51_cov
from ._approx import eq52_gap as eq52_gap
from ._approx import eq53_sgd_gap as eq53_sgd_gap
from ._approx import normalizable as normalizable
