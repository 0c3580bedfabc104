"""gapkit.theory: the paper's mathematics.

Sympy derivations, the numpy/scipy evaluators they lambdify to, and the exact
data-averaging engine on finite universes. Imports nothing from gapkit.sims or
gapkit.gpu.
"""
from ._lazy import lazy_exports

# module -> the public names it holds (imported on first use; PEP 562)
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    # The one argument-check layer's error (a ValueError naming the parameter)
    "._validate": ("ArgumentError",),
    # Exact data-averaging engine (Eqs 2-9, 21)
    "._universe": (
        "MAX_MULTISETS", "Averages", "Boltzmann", "Identity", "PotentialStats", "TrainingSets", "Universe",
        "boltzmann", "data_averages", "effective_potential_gap", "exact_identities", "gap_by_sequences",
        "n_multisets", "potential_statistics", "sgd_potential_gap", "training_sets",
    ),
    # Approximations (Eqs 10-14, 22-24, 50-53)
    "._approx": (
        "Approx", "approximations", "eq10_lognormal_rhobar", "eq11_gap_bound", "eq12_cov", "eq13_gap",
        "eq14_test_loss_bound", "eq22_sgd_gap", "eq23_sgd_test_loss_bound", "eq24_sgd_gap_bound",
        "eq50_delta_cov", "eq51_cov", "eq52_gap", "eq53_sgd_gap", "normalizable",
    ),
    # Symbolic toy models and derivations (Eqs 17-20, 25-27, 32-37, 41, 47-49, 54-55)
    "._appendix_d": ("curvature_decomposition", "mixture_expectation_1d"),
    "._derivations": (
        "dtest_dT", "eq25_exponent", "eq25_log_rhobar", "eq25_sigma_va_coefficient", "eq26_symbolic",
        "eq27_quadratic1d", "ito_generator", "sgd_generator_terms", "sgd_moment_equations_quadratic1d",
        "sgd_moment_residuals", "t_opt", "zero_current_1d",
    ),
    "._models": ("LinRegModel", "LogRegModel", "QuadraticModel", "curl_asymmetry", "linreg1d_v"),
    "._momentum": ("momentum_diffusion_symbolic", "momentum_symbolic", "momentum_var_1d"),
    # Exact stationary laws and closed forms (ground truth for the simulators)
    "._lyapunov": (
        "linreg_em_stationary", "linreg_gap_vs_T", "linreg_sgd_stationary", "linreg_steady_state_exists",
        "lyapunov_continuous", "lyapunov_discrete", "quadratic_em_stationary", "quadratic_sde_stationary",
        "quadratic_sgd_stationary",
    ),
    "._quadratic": ("quadratic1d_steady", "quadratic1d_symbolic"),
    # Random-feature ridge regression (seed 001's loop-corrections toy)
    "._rfridge": (
        "RF_KINDS", "finite_width_deviation", "kernel_ridge_predict", "mean_kernel", "random_features",
        "rf_ridge_predict",
    ),
    "._symbolic": ("GridUniverse", "SymbolicModel",),
})
