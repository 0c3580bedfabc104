"""gapkit.sims: Numba simulators, data-averaged estimators, the check catalogue
and the command line. Imports gapkit.theory; never gapkit.gpu at module level.

The names below are the public surface; implementation lives in the private
modules (``_simulate.py``, ``_estimators.py`` ...). Importing this package
compiles nothing: Numba kernels compile (or load from cache) on first call.
"""
# Data-averaged estimators and steady state (issue 3)
from ._estimators import control_variate_mean as control_variate_mean
from ._estimators import ensemble_summary as ensemble_summary
from ._estimators import gap_control_variate as gap_control_variate
from ._estimators import mean_ci95 as mean_ci95
from ._estimators import per_dataset_means as per_dataset_means
from ._fokker import FokkerPlanckSolution as FokkerPlanckSolution
from ._fokker import boltzmann_density as boltzmann_density
from ._fokker import cell_average as cell_average
from ._fokker import sgd_fokker_planck as sgd_fokker_planck
from ._fokker import solve_fokker_planck as solve_fokker_planck
from ._grid import GAUGES as GAUGES
from ._grid import grid_density_stats as grid_density_stats
from ._grid import grid_effective_stats as grid_effective_stats
from ._grid import grid_gap_eq06 as grid_gap_eq06
from ._grid import histogram_per_dataset as histogram_per_dataset
from ._steady import AutocorrTime as AutocorrTime
from ._steady import effective_sample_size as effective_sample_size
from ._steady import equilibration as equilibration
from ._steady import fdr1 as fdr1
from ._steady import integrated_autocorr_time as integrated_autocorr_time
from ._steady import moment_residuals as moment_residuals
from ._steady import paper_epochs as paper_epochs
from ._steady import rescaled_steps as rescaled_steps
from ._steady import spike_cut_end as spike_cut_end
from ._steady import steady_summary as steady_summary

# Indicators of the related papers and their scoring (issue 6)
from ._indicators import TOY_INDICATOR_KEYS as TOY_INDICATOR_KEYS
from ._indicators import distance_from_init as distance_from_init
from ._indicators import gamma_trace as gamma_trace
from ._indicators import gaussian_kl as gaussian_kl
from ._indicators import gen_first_order as gen_first_order
from ._indicators import gradient_diversity as gradient_diversity
from ._indicators import inconsistency as inconsistency
from ._indicators import instability as instability
from ._indicators import lanczos as lanczos
from ._indicators import logdet_lowrank_isotropic as logdet_lowrank_isotropic
from ._indicators import lyapunov_continuous as lyapunov_continuous
from ._indicators import lyapunov_discrete as lyapunov_discrete
from ._indicators import lyapunov_exponents as lyapunov_exponents
from ._indicators import minibatch_covariance as minibatch_covariance
from ._indicators import mst_total_length as mst_total_length
from ._indicators import paper_bound_columns as paper_bound_columns
from ._indicators import ph_dimension as ph_dimension
from ._indicators import sharpness_dimension as sharpness_dimension
from ._indicators import sharpness_dimension_from_hessians as sharpness_dimension_from_hessians
from ._indicators import slq as slq
from ._indicators import softmax_kl as softmax_kl
from ._indicators import terminal_state_bound as terminal_state_bound
from ._indicators import toy_indicators as toy_indicators
from ._indicators import train_longer_preset as train_longer_preset
from ._indicators import trajectory_bound as trajectory_bound
from ._score import bound_tightness as bound_tightness
from ._score import cmi_score as cmi_score
from ._score import granulated_tau as granulated_tau
from ._score import kendall_tau as kendall_tau
from ._score import score_table as score_table

# Temperature sweeps, results store, executors, Eq 1 fit (issue 4)
from ._executor import DaskExecutor as DaskExecutor
from ._executor import ProcessExecutor as ProcessExecutor
from ._executor import SerialExecutor as SerialExecutor
from ._executor import make_executor as make_executor
from ._fit import eq1 as eq1
from ._fit import finding_A as finding_A
from ._fit import finding_B as finding_B
from ._fit import finding_C as finding_C
from ._fit import findings as findings
from ._fit import per_T_means as per_T_means
from ._fit import fit_eq1 as fit_eq1
from ._store import ResultsStore as ResultsStore
from ._store import config_key as config_key
from ._sweep import PRESETS as SWEEP_PRESETS
from ._sweep import SweepSpec as SweepSpec
from ._sweep import build_runs as build_runs
from ._sweep import make_spec as make_spec
from ._sweep import run_sweep as run_sweep

# Numba simulators and benchmark (issue 3)
from ._bench import run_bench as run_bench
from ._simulate import default_burnin as default_burnin
from ._simulate import exact_stationary as exact_stationary
from ._simulate import simulate as simulate
