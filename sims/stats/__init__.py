"""gapkit.sims.stats: ensemble -> data-averaged numbers (one job).

Per-draw means and their intervals, control variates (`_estimators`), theta-grid
estimators (`_grid`), run length, the paper's epoch rule, equilibration
diagnostics, the steady value and FDR1 (`_steady`), the equilibration verdict
of a run (`_equilibration`), the tests behind findings (`_inference`: t
intervals, paired differences and trends, the interior-optimum test, TOST)
and the Eq 1 fit with the findings A/B/C and collapse (`_fit`).
Both backends (Numba and torch) use these and nothing else: one epoch rule
(`paper_epochs`), one verdict (`run_verdict`), one steady value
(`steady_summary`), one per-draw mean (`per_dataset_mean`).
"""
from gapkit.theory._lazy import lazy_exports

# module -> the public names it holds (imported on first use; PEP 562)
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "._estimators": (
        "control_variate_mean", "ensemble_summary", "gap_control_variate", "mean_ci95", "per_dataset_mean",
        "per_dataset_means",
    ),
    "._equilibration": (
        "drift_false_alarm", "drift_test", "run_verdict", "steady_verdict", "verdict_discard",
    ),
    "._fit": ("eq1", "findings", "finding_A", "finding_B", "finding_C", "fit_eq1", "per_T_means", "finding_collapse"),
    "._grid": (
        "GAUGES", "grid_density_stats", "grid_effective_stats", "grid_gap_eq06", "histogram_per_dataset",
    ),
    "._steady": (
        "AutocorrTime", "effective_sample_size", "equilibration", "fdr1", "integrated_autocorr_time",
        "moment_residuals", "paper_epochs", "rescaled_steps", "spike_cut_end", "steady_summary",
        "steady_value", "contraction_rate",),
    "._results": ("RunResult", "Summary", "to_jsonable"),
    "._inference": ("interior_optimum", "mean_interval", "paired_difference", "paired_trend", "t_quantile", "tost",),
})
