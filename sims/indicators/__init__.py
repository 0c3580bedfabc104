"""gapkit.sims.indicators: the related papers' generalization indicators and
their scoring against the measured gap (one job).

Fu et al.: the trajectory decomposition, gamma_t and the bias/diversity ratio
(`_trajectory`); Tuci, Korkmaz, Simsekli & Birdal (sharpness) and Birdal et al.
(persistent homology) dimensions (`_dimensions`); Johnson & Zhang's
inconsistency and instability (`_predictions`); Wang & Mao: the SDE bounds (`_sde_bounds`); the toy-model adapters
(`_toy_models`, `_toy`); Kendall tau, granulated tau, CMI and bound tightness
(`_scoring`); Tan et al.'s partial correlation at a fixed batch size (`_partial`).
"""
from ._partial import fixed_axis_partial as fixed_axis_partial
from ._partial import partial_correlation as partial_correlation
from ._scoring import bound_tightness as bound_tightness
from ._scoring import cmi_score as cmi_score
from ._scoring import cmi_shared_score as cmi_shared_score
from ._scoring import granulated_tau as granulated_tau
from ._scoring import kendall_tau as kendall_tau
from ._scoring import kendall_test as kendall_test
from ._scoring import score_table as score_table
from ._toy import TOY_INDICATOR_KEYS as TOY_INDICATOR_KEYS
from ._toy import bias_diversity_ratio as bias_diversity_ratio
from ._toy import certified_R as certified_R
from ._toy import distance_from_init as distance_from_init
from ._toy import gamma_trace as gamma_trace
from ._toy import gaussian_kl as gaussian_kl
from ._toy import gen_first_order as gen_first_order
from ._toy import gradient_diversity as gradient_diversity
from ._toy import hutchinson as hutchinson
from ._toy import inconsistency as inconsistency
from ._toy import instability as instability
from ._toy import lanczos as lanczos
from ._toy import logdet_lowrank_isotropic as logdet_lowrank_isotropic
from ._toy import lyapunov_continuous as lyapunov_continuous
from ._toy import lyapunov_discrete as lyapunov_discrete
from ._toy import lyapunov_exponents as lyapunov_exponents
from ._toy import minibatch_covariance as minibatch_covariance
from ._toy import mst_total_length as mst_total_length
from ._toy import paper_bound_columns as paper_bound_columns
from ._toy import ph_dimension as ph_dimension
from ._toy import sharpness_dimension as sharpness_dimension
from ._toy import sharpness_dimension_from_hessians as sharpness_dimension_from_hessians
from ._toy import slq as slq
from ._toy import softmax_kl as softmax_kl
from ._toy import terminal_state_bound as terminal_state_bound
from ._toy import toy_indicators as toy_indicators
from ._toy import train_longer_preset as train_longer_preset
from ._toy import trajectory_bound as trajectory_bound
