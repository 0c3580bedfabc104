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

The names below are the public surface, imported on first use: importing this
package loads no numba, scipy.stats, sympy or matplotlib, and compiles nothing
(Numba kernels compile, or load from cache, on first call).
"""
from gapkit.theory._lazy import lazy_exports

# module -> the public names it holds (imported on first use; PEP 562)
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    # Bad arguments everywhere raise this ValueError naming the parameter (`.param`)
    "gapkit.theory._validate": ("ArgumentError",),
    # Data-averaged estimators and steady state (issue 3)
    ".stats._estimators": (
        "control_variate_mean", "ensemble_summary", "gap_control_variate", "mean_ci95", "per_dataset_means",
    ),
    "gapkit.theory._fokker": (
        "FokkerPlanckSolution", "boltzmann_density", "cell_average", "sgd_fokker_planck",
        "solve_fokker_planck",
    ),
    ".stats._grid": (
        "GAUGES", "grid_density_stats", "grid_effective_stats", "grid_gap_eq06", "histogram_per_dataset",
    ),
    ".stats._steady": (
        "AutocorrTime", "effective_sample_size", "equilibration", "fdr1", "integrated_autocorr_time",
        "moment_residuals", "paper_epochs", "rescaled_steps", "spike_cut_end", "steady_summary",
    ),
    # Indicators of the related papers and their scoring (issue 6)
    ".indicators._toy": (
        "TOY_INDICATOR_KEYS", "distance_from_init", "gamma_trace", "gaussian_kl", "gen_first_order",
        "gradient_diversity", "hutchinson", "inconsistency", "instability", "lanczos",
        "logdet_lowrank_isotropic", "lyapunov_continuous", "lyapunov_discrete", "lyapunov_exponents",
        "minibatch_covariance", "mst_total_length", "paper_bound_columns", "ph_dimension",
        "sharpness_dimension", "sharpness_dimension_from_hessians", "slq", "softmax_kl",
        "terminal_state_bound", "toy_indicators", "train_longer_preset", "trajectory_bound",
    ),
    ".indicators._scoring": ("bound_tightness", "cmi_score", "granulated_tau", "kendall_tau", "score_table"),
    # Temperature sweeps, results store, executors, Eq 1 fit (issue 4)
    ".sweep._executor": ("DaskExecutor", "ProcessExecutor", "SerialExecutor", "make_executor"),
    ".stats._fit": ("eq1", "finding_A", "finding_B", "finding_C", "findings", "per_T_means", "fit_eq1"),
    ".sweep._store": ("ResultsStore", "config_key"),
    ".sweep._spec": ("SWEEP_PRESETS=PRESETS", "SweepSpec", "build_runs", "make_spec"),
    ".sweep._runner": ("run_sweep",),
    # Numba simulators and benchmark (issue 3)
    ".engine._bench": ("run_bench",),
    ".engine._simulate": ("default_burnin", "exact_stationary", "simulate"),
})
