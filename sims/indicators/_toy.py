"""Generalization indicators of the related papers (Fu et al.; Tuci et al., Birdal et al.,
Johnson & Zhang, Hoffer et al.; Wang & Mao) and the classic
baselines, computed on one toy-model run: `toy_indicators`.

The formulas live in `_trajectory` (Fu et al., distance from init, train-longer
preset), `_sde_bounds` (Wang & Mao; its Lyapunov solves in gapkit.theory._lyapunov),
`_dimensions` (sharpness and PH dimension, Lanczos / SLQ / Hutchinson) and
`_predictions` (inconsistency / instability); this module re-exports them and
assembles the per-run `ind_<name>` / `bound_<name>` columns the sweep writes to
runs.csv (scored by `gapkit score`, `_scoring.py`), one named step per family.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from gapkit.theory._validate import ArgumentError, check_array, check_int, check_nonneg, check_positive
from ._dimensions import (
    eigs_from_slq,
    hutchinson,
    lanczos,
    lyapunov_exponents,
    mst_total_length,
    ph_dimension,
    sharpness_dimension,
    sharpness_dimension_from_hessians,
    slq,
)
from ._toy_models import problem_callables
from ._predictions import inconsistency, instability, softmax_kl
from ._sde_bounds import (
    gaussian_kl,
    logdet_lowrank_isotropic,
    lyapunov_continuous,
    lyapunov_discrete,
    minibatch_covariance,
    terminal_state_bound,
    trajectory_bound,
    trajectory_terms,
)
from ._trajectory import (bias_diversity_ratio, distance_from_init, gamma_trace, gen_first_order, gradient_diversity,
                          train_longer_preset)

__all__ = [
    "toy_indicators",
    "TOY_INDICATOR_KEYS",
    "certified_R",
    "paper_bound_columns",
    # re-exported formulas
    "gen_first_order", "gamma_trace", "gradient_diversity", "bias_diversity_ratio", "distance_from_init", "train_longer_preset",
    "minibatch_covariance", "trajectory_terms", "trajectory_bound", "lyapunov_continuous",
    "lyapunov_discrete", "gaussian_kl", "terminal_state_bound", "logdet_lowrank_isotropic",
    "lyapunov_exponents", "sharpness_dimension", "sharpness_dimension_from_hessians", "lanczos", "slq", "eigs_from_slq",
    "hutchinson",
    "mst_total_length", "ph_dimension", "softmax_kl", "inconsistency", "instability",
]

# Every key toy_indicators can return (a key is left out when its inputs are missing).
TOY_INDICATOR_KEYS = (
    "ind_T", "ind_param_norm", "ind_dist_init", "ind_grad_diversity", "ind_bias_diversity",
    "ind_gamma_max", "ind_gamma_median", "ind_gen_first_order_error",
    "ind_hessian_trace", "ind_hessian_top", "ind_sharpness_dim",
    "ind_ph_dim", "ind_ph_dim_loss", "ind_sde_trajectory", "ind_sde_terminal",
    "bound_sde_trajectory", "bound_sde_terminal",
)

_MAX_STATES = 40  # states of the window used for the per-state indicators (cost cap)


def toy_indicators(traj: dict) -> dict[str, float]:
    """Indicators of one toy-model run, as ``ind_<name>`` / ``bound_<name>`` floats.

    Inputs (keys of `traj`; S recorded states, d parameters, n train examples):

    required
      "trace_theta"  (S, d) recorded iterates, oldest first (S >= 2; the PH
                     dimensions need >= 10 states in the window).
      "lr"           float, the learning rate lam of Eq 15.
      "batch"        int, the batch size B (drawn with replacement).
      "n"            int, the number of training examples.
      "per_example_grad"  callable theta (d,) -> (n, d): gradients of the
                     per-example loss l(theta, x_i) on the training set (no
                     weight decay).  Or "per_example_grads": array (S, n, d).
    optional
      "theta0"       (d,) initial weights (default trace_theta[0]).
      "record_every" int, steps between records (default 1): the trajectory
                     bound's sum over steps is record_every x the sum over records.
      "alpha", "beta"  Eq 15 weight decay and injected noise (default 0).
      "window"       fraction of the records counted as near convergence
                     (default 0.5: the last half).
      "pop_grad"     callable theta -> (d,) population gradient grad Ubar.
      "pop_loss", "train_loss"  callables theta -> float (Ubar and U_l); or
                     "trace_train", "trace_test" (S,) arrays (the test trace then
                     stands in for F_mu).
      "hessian"      callable theta -> (d, d) full-batch train Hessian (no alpha).
      "per_example_hessian"  callable theta -> (n, d, d) (minibatch Hessians
                     for the sharpness dimension; without it every minibatch
                     Hessian is taken equal to "hessian", exact for quadratics).
      "per_example_loss"  callable theta -> (n,) (PH dimension on loss vectors).
      "R", "loss_bound"  the stated assumption behind Wang & Mao's bounds
                     (`certified_R`): the loss is R-sub-Gaussian, or takes
                     values in [0, loss_bound] (then R = loss_bound / 2). Without
                     either the bound_* columns are left out; the ind_sde_*
                     columns use the per-example losses' spread at the last
                     state as a plug-in R (an indicator, not a bound).
      "prior_mean", "prior_cov"  data-independent Gaussian prior of the
                     terminal-state bound (e.g. the population minimum and the
                     Lyapunov covariance of the population problem); default
                     N(0, T I), T = lr / batch (depends on hyperparameters only).
      "seed"         int or Generator for the minibatch and subsample draws.
      "algo"         "sgd" (default), "momentum" or "langevin": the sharpness
                     dimension and Wang & Mao's two bounds assume plain SGD's
                     update map and noise, and are left out for the others.

    A `simulate` result (a dict with "arrays", as the sweep passes it) is also
    accepted: see `_from_simulate`.

    Returned keys: a subset of TOY_INDICATOR_KEYS (missing inputs -> key left out):
      ind_T                      lr / batch (the baseline every indicator must beat)
      ind_param_norm, ind_dist_init   ||w_S||, ||w_S - w_0|| (classic baselines: Jiang et
                                 al. 2019's parameter norm, squared there [R]; Nagarajan &
                                 Kolter 2019's distance from initialization)
      ind_grad_diversity         tr D averaged over the window (Fu et al.)
      ind_bias_diversity         Fu et al.'s bias/diversity ratio |grad F_S|^2 / tr D, window mean
      ind_gamma_max / _median    gamma_t of Fu et al.'s Assumption 3.6 over the record
      ind_gen_first_order_error  max |summed first-order gen - gen| / max |gen_t - gen_0|
                                 over the last 160 consecutive records (Fu et al.)
      ind_hessian_trace / _top   tr H and lambda_max(H) of the regularised train Hessian at the
                                 last state, exact (PyHessian's trace, Yao et al. 2020; Keskar
                                 et al. 2017's sharpness)
      ind_sharpness_dim          Tuci et al., from 64 sampled minibatch Hessians (with
                                 replacement, size batch) at window states
      ind_ph_dim                 PH0 dimension of the window iterates (Euclidean)
      ind_ph_dim_loss            PH0 dimension of per-example loss vectors (L1)
      ind_sde_trajectory / _terminal  Wang & Mao's two bounds with the plug-in R
      bound_sde_trajectory       Wang & Mao's trajectory bound with the certified R
                                 (inf when some C_t is singular, e.g. n <= d with beta = 0)
      bound_sde_terminal         Wang & Mao's terminal-state bound, Lambda from the
                                 discrete Lyapunov equation at the last state's H, D
                                 (left out when the chain has no stationary Gaussian)
    With several runs (a `simulate` result over K training sets) both take
    E_S inside the square root (`_sde_columns`).
    """
    if not isinstance(traj, dict):
        raise ArgumentError("traj must be a dict of recorded arrays and callables")
    if "arrays" in traj:
        return _from_simulate(traj)
    out, parts = _toy_parts(traj)
    out.update(_sde_columns([parts] if parts is not None else []))
    return out


def _toy_parts(traj: dict) -> tuple[dict[str, float], _SdeParts | None]:
    """toy_indicators' columns except Wang & Mao's, and their ingredients."""
    run = _toy_run(traj)
    W = run.W
    out: dict[str, float] = {"ind_T": run.lr / run.B}
    out["ind_param_norm"] = float(np.linalg.norm(W[-1]))
    out["ind_dist_init"] = distance_from_init(W, traj.get("theta0"))["final"]
    # The steps below draw from run.rng in this order (sharpness, then PH): keep it.
    G = _gradient_indicators(traj, run, out)
    Hfin = _curvature_indicators(traj, run, out)
    _ph_indicators(traj, run, out)
    return out, _sde_parts(traj, run, G, Hfin)


@dataclasses.dataclass(frozen=True)
class _ToyRun:
    """One run's validated inputs and the subsets of its S records the
    per-state indicators read."""
    W: np.ndarray          # (S, d) recorded iterates
    lr: float
    B: int
    n: int
    alpha: float
    beta: float
    every: int             # steps between records
    rng: np.random.Generator
    plain_sgd: bool
    all_idx: np.ndarray    # <= _MAX_STATES evenly spaced records
    w0: int                # first record of the window
    win_idx: np.ndarray    # the records of all_idx inside the window

    @property
    def S(self) -> int:
        return self.W.shape[0]

    @property
    def d(self) -> int:
        return self.W.shape[1]


def _toy_run(traj: dict) -> _ToyRun:
    for k in ("trace_theta", "lr", "batch", "n"):
        if k not in traj:
            raise ArgumentError(f"traj must contain {k!r}")
    W = check_array("trace_theta", traj["trace_theta"], ndim=2)
    S = W.shape[0]
    if S < 2:
        raise ArgumentError(f"trace_theta must hold at least 2 states (got {S})")
    lr = check_positive("lr", traj["lr"])
    B = check_int("batch", traj["batch"], 1)
    n = check_int("n", traj["n"], 1)
    alpha = check_nonneg("alpha", traj.get("alpha", 0.0))
    beta = check_nonneg("beta", traj.get("beta", 0.0))
    every = check_int("record_every", traj.get("record_every", 1), 1)
    window = float(traj.get("window", 0.5))
    if not 0 < window <= 1:
        raise ArgumentError(f"window must be in (0, 1] (got {window})")
    seed = traj.get("seed", 0)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    algo = traj.get("algo", "sgd")
    if algo not in ("sgd", "momentum", "langevin"):
        raise ArgumentError(f"algo must be 'sgd', 'momentum' or 'langevin' (got {algo!r})")
    all_idx = np.unique(np.linspace(0, S - 1, min(S, _MAX_STATES)).astype(int))
    w0 = max(0, int(math.floor(S * (1 - window))))
    win_idx = all_idx[all_idx >= w0]
    if win_idx.size == 0:
        win_idx = np.array([S - 1])
    return _ToyRun(W=W, lr=lr, B=B, n=n, alpha=alpha, beta=beta, every=every, rng=rng, plain_sgd=algo == "sgd",
                   all_idx=all_idx, w0=w0, win_idx=win_idx)


def _pex_grads(traj, run, i):
    """Per-example gradients (n, d) at record i, or None without them."""
    if "per_example_grads" in traj:
        return np.asarray(traj["per_example_grads"][i], dtype=np.float64)
    if "per_example_grad" in traj:
        return np.asarray(traj["per_example_grad"](run.W[i]), dtype=np.float64).reshape(run.n, run.d)
    return None


def _pop_grads(traj, run, idx):
    return np.stack([np.asarray(traj["pop_grad"](run.W[i]), dtype=np.float64).reshape(run.d) for i in idx])


def _gradient_indicators(traj, run, out):
    """Fu et al.'s gradient quantities (diversity, gamma_t, first-order error);
    returns the per-example gradients (s, n, d) at run.all_idx, or None."""
    if "per_example_grad" not in traj and "per_example_grads" not in traj:
        return None
    W, S = run.W, run.S
    G = np.stack([_pex_grads(traj, run, i) for i in run.all_idx])  # (s, n, d)
    Gw = G[np.isin(run.all_idx, run.win_idx)]
    out["ind_grad_diversity"] = float(np.mean(gradient_diversity(Gw)))
    out["ind_bias_diversity"] = float(np.nanmean(bias_diversity_ratio(Gw)))
    if "pop_grad" not in traj:
        return G
    gam = gamma_trace(_pop_grads(traj, run, run.all_idx), G.mean(axis=1))
    out["ind_gamma_max"] = gam["max"]
    out["ind_gamma_median"] = gam["median"]
    # First order needs consecutive states: the last 4 x _MAX_STATES records.
    seg = np.arange(max(0, S - 4 * _MAX_STATES), S)
    losses = _gen_losses(traj, W, seg)
    if losses is not None and seg.size >= 2:
        gs_all = np.stack([_pex_grads(traj, run, i).mean(axis=0) for i in seg])
        fo = gen_first_order(losses[0], losses[1], W[seg], gs_all, _pop_grads(traj, run, seg))
        out["ind_gen_first_order_error"] = fo["rel_error"]
    return G


def _curvature_indicators(traj, run, out):
    """Hessian trace / top eigenvalue at the last state and the sharpness
    dimension (plain SGD); returns the last state's train Hessian (no alpha), or None."""
    Hfin = _hessian(traj, run.W[-1], run.n, run.d)
    if Hfin is None:
        return None
    Hreg = Hfin + run.alpha * np.eye(run.d)
    ev = np.linalg.eigvalsh(0.5 * (Hreg + Hreg.T))
    out["ind_hessian_trace"] = float(ev.sum())
    out["ind_hessian_top"] = float(ev[-1])
    if run.plain_sgd:
        out["ind_sharpness_dim"] = _sharpness(traj, run.W, run.win_idx, run.B, run.lr, run.alpha, run.n, run.d, run.rng)
    return Hfin


def _ph_indicators(traj, run, out):
    """PH0 dimensions of the window's iterates and per-example loss vectors."""
    W, S, w0 = run.W, run.S, run.w0
    if run.win_idx.size < 10 and (S - w0) < 10:
        return
    out["ind_ph_dim"] = _ph(W[w0:], "euclidean", run.rng)
    if "per_example_loss" in traj:
        sub = np.unique(np.linspace(w0, S - 1, min(S - w0, 4 * _MAX_STATES)).astype(int))
        L = np.stack([np.asarray(traj["per_example_loss"](W[i]), dtype=np.float64).reshape(run.n) for i in sub])
        out["ind_ph_dim_loss"] = _ph(L, "cityblock", run.rng)


def certified_R(traj: dict) -> float | None:
    """The sub-Gaussian constant R of Wang & Mao's bounds, only from a stated
    assumption (never estimated from the run):

      traj["R"]           the user states the loss is R-sub-Gaussian;
      traj["loss_bound"]  M: the loss takes values in [0, M] (a clipped loss
                          min(l, M)); by Hoeffding's lemma it is then
                          (M / 2)-sub-Gaussian. The bound is then a bound on
                          the clipped loss's gap, equal to the measured gap
                          only while no loss exceeds M: a run whose recorded
                          per-example train losses exceed M gets no bound.

    Returns None without either (the squared loss has no sub-Gaussian
    constant: its values are unbounded).
    """
    if traj.get("R") is not None:
        return check_positive("R", traj["R"])
    if traj.get("loss_bound") is not None:
        return 0.5 * check_positive("loss_bound", traj["loss_bound"])
    return None


@dataclasses.dataclass(frozen=True)
class _SdeParts:
    """One run's ingredients of Wang & Mao's bounds with R = 1, so that the
    expectation over training sets can be taken inside the square root:
    trajectory bound = R sqrt(E_S traj_sum), terminal = R sqrt(2 E_S kl / n)."""
    traj_sum: float        # (1/n) sum over steps of the trajectory bound's terms (inf if some C_t is singular)
    kl: float | None       # KL(N(w*_S, Lambda_S) || prior), None without a stationary Gaussian
    n: int
    R_plugin: float | None  # std of the per-example losses at the last state (indicator only)
    R: float | None         # certified R (`certified_R`), None without a stated assumption
    loss_ok: bool           # no recorded per-example loss exceeds loss_bound


def _sde_parts(traj, run, G, Hfin) -> _SdeParts | None:
    """Wang & Mao's two bounds' ingredients (plain SGD, with per-example gradients;
    the terminal one also needs the Hessian)."""
    W, S, d, lr, B, alpha, beta = run.W, run.S, run.d, run.lr, run.B, run.alpha, run.beta
    if G is None or not run.plain_sgd:
        return None
    last_losses = (np.asarray(traj["per_example_loss"](W[-1]), dtype=np.float64)
                   if "per_example_loss" in traj else None)
    R_plug = float(np.std(last_losses)) if last_losses is not None else None
    R = certified_R(traj)
    ok = True
    if traj.get("loss_bound") is not None and last_losses is not None:
        ok = bool(np.all(last_losses <= float(traj["loss_bound"])))
    all_idx = run.all_idx
    tt = trajectory_terms(G, B, beta=beta)
    gn2 = np.sum((G.mean(axis=1) + alpha * W[all_idx]) ** 2, axis=1)
    # Sum over all steps ~ (steps per subset record) x sum over the subset.
    scale = run.every * (S - 1) / max(all_idx.size - 1, 1) if all_idx.size > 1 else run.every
    tb = trajectory_bound(gn2, tt["trC"], tt["logdetC"], d=d, n=run.n, R=1.0)
    traj_sum = scale * tb["bound"] ** 2 if math.isfinite(tb["bound"]) else math.inf
    kl = None
    if Hfin is not None:
        Q = (lr / B) * (minibatch_covariance(_pex_grads(traj, run, S - 1), 1) + beta * beta * np.eye(d))
        try:
            Lam = lyapunov_discrete(Hfin + alpha * np.eye(d), Q, lr)
        except ValueError:
            Lam = None  # No stationary Gaussian (not at a minimum, or |1 - lr h| >= 1): no terminal bound.
        if Lam is not None:
            pm = np.asarray(traj.get("prior_mean", np.zeros(d)), dtype=np.float64)
            pc = traj.get("prior_cov")
            pc = np.eye(d) * (lr / B) if pc is None else np.asarray(pc, dtype=np.float64)
            try:
                kl = terminal_state_bound(W[run.w0:].mean(axis=0)[None], Lam[None], n=run.n, R=1.0,
                                          prior_mean=pm, prior_cov=pc)["mean_kl"]
            except ValueError:
                kl = None  # Lambda not positive definite (edge of stability): no stationary Gaussian.
    return _SdeParts(traj_sum=traj_sum, kl=kl, n=run.n, R_plugin=R_plug, R=R, loss_ok=ok)


def _sde_columns(parts: list[_SdeParts]) -> dict[str, float]:
    """Wang & Mao's bounds from one or more runs (K >= 2 training sets: the
    expectation over S is taken INSIDE the square root, as the bounds state,
    not as a mean of per-run square roots, which Jensen biases low):

      bound_sde_trajectory = R sqrt( E_S (R-free sum) ),  bound_sde_terminal = R sqrt( 2 E_S KL / n )

    with the certified R (`certified_R`; left out without one, or when some
    run's losses exceed the stated loss bound), and the same with the
    plug-in R (the losses' spread, not a sub-Gaussian constant) as the
    indicators ind_sde_trajectory / ind_sde_terminal, which are ranked, never
    reported as bounds."""
    out: dict[str, float] = {}
    if not parts:
        return out
    n = parts[0].n
    tsum = float(np.mean([p.traj_sum for p in parts]))
    kls = [p.kl for p in parts if p.kl is not None]
    core = {"trajectory": math.sqrt(tsum) if math.isfinite(tsum) else math.inf}
    if len(kls) == len(parts):
        core["terminal"] = math.sqrt(2.0 * float(np.mean(kls)) / n)
    plug = [p.R_plugin for p in parts if p.R_plugin is not None]
    if len(plug) == len(parts) and np.mean(plug) > 0:
        for k, v in core.items():
            out[f"ind_sde_{k}"] = float(np.mean(plug)) * v
    Rs = {p.R for p in parts}
    if len(Rs) == 1 and None not in Rs and all(p.loss_ok for p in parts):
        R = Rs.pop()
        for k, v in core.items():
            out[f"bound_sde_{k}"] = R * v
    return out


def paper_bound_columns(stats=None, identities=None) -> dict[str, float]:
    """The paper's own gap bounds as ``bound_<eq>`` columns for runs.csv
    (`gapkit score` reports every ``bound_*`` column as a bound: how often it
    holds, how loose it is).

    stats: the grid statistics `gapkit.theory._approx.approximations` takes
    (a `PotentialStats`); gives bound_eq11 (Eq 11) and, for SGD stats (with T),
    bound_eq23 (Eq 23 bounds the test loss, hence the gap when U_l >= 0) and
    bound_eq24 (Eq 24). identities: the dict of `gapkit.theory._universe`
    identities; gives bound_eq07 (Eq 7's right side). An approximation that is
    undefined (Zbar = inf) gives inf: it bounds nothing. These are data-averaged
    quantities of a model, not of one trajectory, so toy_indicators does not
    compute them; the sweep attaches them per (model, T) where the theory
    engine applies.
    """
    out: dict[str, float] = {}
    if identities is not None and "eq07" in identities:
        out["bound_eq07"] = float(identities["eq07"].rhs)
    if stats is not None:
        from gapkit.theory._approx import approximations

        ap = approximations(stats)
        for eq in ("eq11", "eq23", "eq24"):
            if eq in ap:
                a = ap[eq]
                out[f"bound_{eq}"] = float(a.value) if a.defined and a.value is not None else math.inf
    return out


def _from_simulate(raw: dict, max_runs: int = 4) -> dict[str, float]:
    """toy_indicators on a `simulate` result: up to `max_runs` recorded (data
    set, chain) trajectories arrays["trace_theta"] (K, M, S, d), averaged.

    When the result carries its model table (``raw["_problem"]``, a
    `gapkit.sims.engine._problems.Problem`), the per-example gradients, losses and
    Hessians of each data set are rebuilt from it (`_ind_models.problem_callables`);
    otherwise only the trajectory indicators (norms, distance, PH dimension) are
    computed. Runs without a recorded trajectory give ind_T only.
    """
    lr = check_positive("lr", raw.get("lr"))
    B = check_int("batch", raw.get("batch", 1), 1)
    out: dict[str, float] = {"ind_T": lr / B}
    arr = raw["arrays"] or {}
    tt = arr.get("trace_theta")
    if tt is None:
        return out
    tt = np.asarray(tt, dtype=np.float64)
    if tt.ndim == 3:  # (K, S, d) without a chain axis
        tt = tt[:, None]
    K, M = tt.shape[:2]
    prob = raw.get("_problem")
    vals: dict[str, list] = {}
    parts: list[_SdeParts] = []
    rng = np.random.default_rng(np.random.SeedSequence([int(raw.get("seed", 0)) % 2**63, 0x1D]))
    for r in range(min(max_runs, K * M)):
        k, m = r % K, (r // K) % M
        w = tt[k, m]
        if not np.all(np.isfinite(w)):
            continue
        sub = {"trace_theta": w, "lr": lr, "batch": B, "n": int(raw.get("n", 1)), "seed": rng,
               "alpha": float(raw.get("alpha", 0.0) or 0.0), "beta": float(raw.get("beta", 0.0) or 0.0),
               "record_every": int(raw.get("record_every", 1) or 1)}
        sub["algo"] = str(raw.get("algo", "sgd"))
        if prob is not None:
            try:
                sub.update(problem_callables(prob, k, raw))
            except (AttributeError, KeyError, IndexError, ValueError):
                pass  # an unknown model table: trajectory indicators only
        for key in ("R", "loss_bound"):
            if raw.get(key) is not None:
                sub[key] = raw[key]
        one, p = _toy_parts(sub)
        for key, v in one.items():
            vals.setdefault(key, []).append(v)
        if p is not None:
            parts.append(p)
    for key, v in vals.items():
        out[key] = float(np.mean(v))
    out.update(_sde_columns(parts))
    return out


def _gen_losses(traj, W, seg):
    if "pop_loss" in traj and "train_loss" in traj:
        tr = np.array([float(traj["train_loss"](W[i])) for i in seg])
        po = np.array([float(traj["pop_loss"](W[i])) for i in seg])
        return tr, po
    if "trace_train" in traj and "trace_test" in traj:
        return (check_array("trace_train", traj["trace_train"], shape=(W.shape[0],))[seg],
                check_array("trace_test", traj["trace_test"], shape=(W.shape[0],))[seg])
    return None


def _hessian(traj, w, n, d):
    if "hessian" in traj:
        return check_array("hessian", traj["hessian"](w), shape=(d, d))
    if "per_example_hessian" in traj:
        return np.asarray(traj["per_example_hessian"](w), dtype=np.float64).reshape(n, d, d).mean(axis=0)
    return None


def _sharpness(traj, W, win_idx, B, lr, alpha, n, d, rng, draws: int = 64):
    reg = alpha * np.eye(d)
    if "per_example_hessian" in traj:
        Hs = []
        for _ in range(draws):
            i = int(rng.choice(win_idx))
            ph = np.asarray(traj["per_example_hessian"](W[i]), dtype=np.float64).reshape(n, d, d)
            Hs.append(ph[rng.integers(0, n, size=B)].mean(axis=0) + reg)
        Hs = np.stack(Hs)
    else:
        Hs = np.stack([np.asarray(traj["hessian"](W[i]), dtype=np.float64) + reg for i in win_idx])
    return sharpness_dimension_from_hessians(Hs, lr)["dim"]


def _ph(points, metric, rng):
    if points.shape[0] > 400:
        points = points[np.unique(np.linspace(0, points.shape[0] - 1, 400).astype(int))]
    try:
        return float(ph_dimension(points, metric=metric, reps=3, seed=rng)["dim"])
    except ValueError:
        return float("nan")
