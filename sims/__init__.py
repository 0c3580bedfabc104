"""gapkit.sims: Numba simulators, data-averaged estimators, sweeps, indicators,
the check catalogue and the command line. Imports gapkit.theory, never the torch backend.

Sub-packages, one job each (imports flow down this list, never up):
  stats       ensemble -> data-averaged numbers (estimators, epoch rule, equilibration, Eq 1 fit)
  engine      Numba simulators of the toy models (jit, RNG, kernels, problems, simulate, bench)
  sweep       grid -> store -> findings (spec, presets, runner, store, executors, figures)
  indicators  the related papers' indicators and their scoring
  verify      check registry, catalogue, report
  cli         argv -> call -> print
Backends (numba built in; torch through its entry point) register in `_backends`;
constants shared by the CLI and the library live in `_settings`.

The names below are the public surface. Importing this package compiles
nothing: Numba kernels compile (or load from cache) on first call.
"""
# Bad arguments everywhere raise this ValueError naming the parameter (`.param`)
from gapkit.theory._validate import ArgumentError as ArgumentError

# Data-averaged estimators and steady state (issue 3)
from .stats._estimators import control_variate_mean as control_variate_mean
from .stats._estimators import ensemble_summary as ensemble_summary
from .stats._estimators import gap_control_variate as gap_control_variate
from .stats._estimators import mean_ci95 as mean_ci95
from .stats._estimators import per_dataset_means as per_dataset_means
from gapkit.theory._fokker import FokkerPlanckSolution as FokkerPlanckSolution
from gapkit.theory._fokker import boltzmann_density as boltzmann_density
from gapkit.theory._fokker import cell_average as cell_average
from gapkit.theory._fokker import sgd_fokker_planck as sgd_fokker_planck
from gapkit.theory._fokker import solve_fokker_planck as solve_fokker_planck
from .stats._grid import GAUGES as GAUGES
from .stats._grid import grid_density_stats as grid_density_stats
from .stats._grid import grid_effective_stats as grid_effective_stats
from .stats._grid import grid_gap_eq06 as grid_gap_eq06
from .stats._grid import histogram_per_dataset as histogram_per_dataset
from .stats._steady import AutocorrTime as AutocorrTime
from .stats._steady import effective_sample_size as effective_sample_size
from .stats._steady import equilibration as equilibration
from .stats._steady import fdr1 as fdr1
from .stats._steady import integrated_autocorr_time as integrated_autocorr_time
from .stats._steady import moment_residuals as moment_residuals
from .stats._steady import paper_epochs as paper_epochs
from .stats._steady import rescaled_steps as rescaled_steps
from .stats._steady import spike_cut_end as spike_cut_end
from .stats._steady import steady_summary as steady_summary

# Indicators of the related papers and their scoring (issue 6)
from .indicators._toy import TOY_INDICATOR_KEYS as TOY_INDICATOR_KEYS
from .indicators._toy import distance_from_init as distance_from_init
from .indicators._toy import gamma_trace as gamma_trace
from .indicators._toy import gaussian_kl as gaussian_kl
from .indicators._toy import gen_first_order as gen_first_order
from .indicators._toy import gradient_diversity as gradient_diversity
from .indicators._toy import hutchinson as hutchinson
from .indicators._toy import inconsistency as inconsistency
from .indicators._toy import instability as instability
from .indicators._toy import lanczos as lanczos
from .indicators._toy import logdet_lowrank_isotropic as logdet_lowrank_isotropic
from .indicators._toy import lyapunov_continuous as lyapunov_continuous
from .indicators._toy import lyapunov_discrete as lyapunov_discrete
from .indicators._toy import lyapunov_exponents as lyapunov_exponents
from .indicators._toy import minibatch_covariance as minibatch_covariance
from .indicators._toy import mst_total_length as mst_total_length
from .indicators._toy import paper_bound_columns as paper_bound_columns
from .indicators._toy import ph_dimension as ph_dimension
from .indicators._toy import sharpness_dimension as sharpness_dimension
from .indicators._toy import sharpness_dimension_from_hessians as sharpness_dimension_from_hessians
from .indicators._toy import slq as slq
from .indicators._toy import softmax_kl as softmax_kl
from .indicators._toy import terminal_state_bound as terminal_state_bound
from .indicators._toy import toy_indicators as toy_indicators
from .indicators._toy import train_longer_preset as train_longer_preset
from .indicators._toy import trajectory_bound as trajectory_bound
from .indicators._scoring import bound_tightness as bound_tightness
from .indicators._scoring import cmi_score as cmi_score
from .indicators._scoring import granulated_tau as granulated_tau
from .indicators._scoring import kendall_tau as kendall_tau
from .indicators._scoring import score_table as score_table

# Temperature sweeps, results store, executors, Eq 1 fit (issue 4)
from .sweep._executor import DaskExecutor as DaskExecutor
from .sweep._executor import ProcessExecutor as ProcessExecutor
from .sweep._executor import SerialExecutor as SerialExecutor
from .sweep._executor import make_executor as make_executor
from .stats._fit import eq1 as eq1
from .stats._fit import finding_A as finding_A
from .stats._fit import finding_B as finding_B
from .stats._fit import finding_C as finding_C
from .stats._fit import findings as findings
from .stats._fit import per_T_means as per_T_means
from .stats._fit import fit_eq1 as fit_eq1
from .sweep._store import ResultsStore as ResultsStore
from .sweep._store import config_key as config_key
from .sweep._spec import PRESETS as SWEEP_PRESETS
from .sweep._spec import SweepSpec as SweepSpec
from .sweep._spec import build_runs as build_runs
from .sweep._spec import make_spec as make_spec
from .sweep._runner import run_sweep as run_sweep

# Numba simulators and benchmark (issue 3)
from .engine._bench import run_bench as run_bench
from .engine._simulate import default_burnin as default_burnin
from .engine._simulate import exact_stationary as exact_stationary
from .engine._simulate import simulate as simulate
