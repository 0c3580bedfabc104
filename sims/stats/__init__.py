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
from ._estimators import control_variate_mean as control_variate_mean
from ._estimators import ensemble_summary as ensemble_summary
from ._estimators import gap_control_variate as gap_control_variate
from ._estimators import mean_ci95 as mean_ci95
from ._estimators import per_dataset_mean as per_dataset_mean
from ._estimators import per_dataset_means as per_dataset_means
from ._equilibration import drift_false_alarm as drift_false_alarm
from ._equilibration import drift_test as drift_test
from ._equilibration import run_verdict as run_verdict
from ._equilibration import steady_verdict as steady_verdict
from ._equilibration import verdict_discard as verdict_discard
from ._fit import eq1 as eq1
from ._fit import findings as findings
from ._fit import finding_A as finding_A
from ._fit import finding_B as finding_B
from ._fit import finding_C as finding_C
from ._fit import finding_collapse as finding_collapse
from ._fit import fit_eq1 as fit_eq1
from ._fit import per_T_means as per_T_means
from ._grid import GAUGES as GAUGES
from ._inference import interior_optimum as interior_optimum
from ._inference import mean_interval as mean_interval
from ._inference import paired_difference as paired_difference
from ._inference import paired_trend as paired_trend
from ._inference import t_quantile as t_quantile
from ._inference import tost as tost
from ._grid import grid_density_stats as grid_density_stats
from ._grid import grid_effective_stats as grid_effective_stats
from ._grid import grid_gap_eq06 as grid_gap_eq06
from ._grid import histogram_per_dataset as histogram_per_dataset
from ._steady import AutocorrTime as AutocorrTime
from ._steady import contraction_rate as contraction_rate
from ._steady import effective_sample_size as effective_sample_size
from ._steady import equilibration as equilibration
from ._steady import fdr1 as fdr1
from ._steady import integrated_autocorr_time as integrated_autocorr_time
from ._steady import moment_residuals as moment_residuals
from ._steady import paper_epochs as paper_epochs
from ._steady import rescaled_steps as rescaled_steps
from ._steady import spike_cut_end as spike_cut_end
from ._steady import steady_summary as steady_summary
from ._steady import steady_value as steady_value
from ._results import RunResult as RunResult
from ._results import Summary as Summary
from ._results import to_jsonable as to_jsonable
