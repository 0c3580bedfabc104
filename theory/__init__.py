"""gapkit.theory: the paper's mathematics.

Sympy derivations, the numpy/scipy evaluators they lambdify to, and the exact
data-averaging engine on finite universes. Imports nothing from gapkit.sims or
gapkit.gpu.
"""
# The one argument-check layer's error (a ValueError naming the parameter)
from ._validate import ArgumentError as ArgumentError

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

# Symbolic toy models and derivations (Eqs 17-20, 25-27, 32-37, 41, 47-49, 54-55)
from ._appendix_d import curvature_decomposition as curvature_decomposition
from ._appendix_d import mixture_expectation_1d as mixture_expectation_1d
from ._derivations import dtest_dT as dtest_dT
from ._derivations import eq25_exponent as eq25_exponent
from ._derivations import eq25_log_rhobar as eq25_log_rhobar
from ._derivations import eq25_sigma_va_coefficient as eq25_sigma_va_coefficient
from ._derivations import eq26_symbolic as eq26_symbolic
from ._derivations import eq27_quadratic1d as eq27_quadratic1d
from ._derivations import ito_generator as ito_generator
from ._derivations import sgd_generator_terms as sgd_generator_terms
from ._derivations import sgd_moment_equations_quadratic1d as sgd_moment_equations_quadratic1d
from ._derivations import sgd_moment_residuals as sgd_moment_residuals
from ._derivations import t_opt as t_opt
from ._derivations import zero_current_1d as zero_current_1d
from ._models import LinRegModel as LinRegModel
from ._models import LogRegModel as LogRegModel
from ._models import QuadraticModel as QuadraticModel
from ._models import curl_asymmetry as curl_asymmetry
from ._models import linreg1d_v as linreg1d_v
from ._momentum import momentum_diffusion_symbolic as momentum_diffusion_symbolic
from ._momentum import momentum_symbolic as momentum_symbolic
from ._momentum import momentum_var_1d as momentum_var_1d

# A user's own loss (sympy): Eq 17 quantities, Eqs 18-20, universe, Fokker-Planck
from ._symbolic import GridUniverse as GridUniverse
from ._symbolic import SymbolicModel as SymbolicModel

# Exact stationary laws and closed forms (ground truth for the simulators)
from ._lyapunov import linreg_em_stationary as linreg_em_stationary
from ._lyapunov import linreg_gap_vs_T as linreg_gap_vs_T
from ._lyapunov import linreg_sgd_stationary as linreg_sgd_stationary
from ._lyapunov import linreg_steady_state_exists as linreg_steady_state_exists
from ._lyapunov import lyapunov_continuous as lyapunov_continuous
from ._lyapunov import lyapunov_discrete as lyapunov_discrete
from ._lyapunov import quadratic_em_stationary as quadratic_em_stationary
from ._lyapunov import quadratic_sde_stationary as quadratic_sde_stationary
from ._lyapunov import quadratic_sgd_stationary as quadratic_sgd_stationary
from ._quadratic import quadratic1d_steady as quadratic1d_steady
from ._quadratic import quadratic1d_symbolic as quadratic1d_symbolic

# Random-feature ridge regression (seed 001's loop-corrections toy)
from ._rfridge import RF_KINDS as RF_KINDS
from ._rfridge import finite_width_deviation as finite_width_deviation
from ._rfridge import kernel_ridge_predict as kernel_ridge_predict
from ._rfridge import mean_kernel as mean_kernel
from ._rfridge import random_features as random_features
from ._rfridge import rf_ridge_predict as rf_ridge_predict
