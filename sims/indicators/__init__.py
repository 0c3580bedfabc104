"""gapkit.sims.indicators: the related papers' generalization indicators and
their scoring against the measured gap (one job).

Fu et al.: the trajectory decomposition, gamma_t and the bias/diversity ratio
(`_trajectory`); Tuci, Korkmaz, Simsekli & Birdal (sharpness) and Birdal et al.
(persistent homology) dimensions (`_dimensions`); Johnson & Zhang's
inconsistency and instability (`_predictions`); Wang & Mao: the SDE bounds (`_sde_bounds`); the toy-model adapters
(`_toy_models`, `_toy`); Kendall tau, granulated tau, CMI and bound tightness
(`_scoring`); Tan et al.'s partial correlation at a fixed batch size (`_partial`).
"""
from gapkit.theory._lazy import lazy_exports

# module -> the public names it holds (imported on first use; PEP 562)
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "._scoring": ("bound_tightness", "cmi_score", "granulated_tau", "kendall_tau", "score_table", "cmi_shared_score", "kendall_test"),
    "._toy": (
        "TOY_INDICATOR_KEYS", "distance_from_init", "gamma_trace", "gaussian_kl", "gen_first_order",
        "gradient_diversity", "hutchinson", "inconsistency", "instability", "lanczos",
        "logdet_lowrank_isotropic", "lyapunov_continuous", "lyapunov_discrete", "lyapunov_exponents",
        "minibatch_covariance", "mst_total_length", "paper_bound_columns", "ph_dimension",
        "sharpness_dimension", "sharpness_dimension_from_hessians", "slq", "softmax_kl",
        "terminal_state_bound", "toy_indicators", "train_longer_preset", "trajectory_bound", "bias_diversity_ratio", "certified_R",),
    "._partial": ("fixed_axis_partial", "partial_correlation",),
})
