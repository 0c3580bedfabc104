"""gapkit.sims.indicators: the related papers' generalization indicators and
their scoring against the measured gap (one job).

Seed 000 (Fu et al.): the trajectory decomposition and gamma_t
(`_trajectory`); seed 001: sharpness and persistent-homology dimensions
(`_dimensions`), inconsistency and instability (`_predictions`); seed 002
(Wang & Mao): the SDE bounds (`_sde_bounds`); the toy-model adapters
(`_toy_models`, `_toy`); Kendall tau, granulated tau, CMI and bound tightness
(`_scoring`).
"""
from gapkit.theory._lazy import lazy_exports

# module -> the public names it holds (imported on first use; PEP 562)
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "._scoring": ("bound_tightness", "cmi_score", "granulated_tau", "kendall_tau", "score_table"),
    "._toy": (
        "TOY_INDICATOR_KEYS", "distance_from_init", "gamma_trace", "gaussian_kl", "gen_first_order",
        "gradient_diversity", "hutchinson", "inconsistency", "instability", "lanczos",
        "logdet_lowrank_isotropic", "lyapunov_continuous", "lyapunov_discrete", "lyapunov_exponents",
        "minibatch_covariance", "mst_total_length", "paper_bound_columns", "ph_dimension",
        "sharpness_dimension", "sharpness_dimension_from_hessians", "slq", "softmax_kl",
        "terminal_state_bound", "toy_indicators", "train_longer_preset", "trajectory_bound",
    ),
})
