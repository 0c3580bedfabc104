"""Trajectory indicators of Fu et al. (NeurIPS 2023, arXiv 2304.12579) and the
distance-from-init / train-longer pieces of Hoffer, Hubara & Soudry (2017).

Fu et al.'s own bound was not at hand in any readable copy; what is
here is what it rests on, all [D] (derived from confirmed pieces):

- the exact per-step decomposition gen(w_T) = gen(w_0) + sum_t [gen(w_t) - gen(w_{t-1})];
- its first-order form gen(w_t) - gen(w_{t-1}) ~ -eta_t (grad F_mu(w_{t-1}) - grad F_S(w_{t-1}))' g_t;
- gamma_t = ||grad F_mu(w_t)|| / ||grad F_S(w_t)|| of Assumption 3.6;
- gradient diversity V(w) = (1/n) sum_i ||grad f(w, z_i) - grad F_S(w)||^2 = tr D(w).

Everything takes plain arrays recorded along one run, so the same code serves
the Numba toy models and (after ``.cpu().numpy()``) networks.
"""
from __future__ import annotations

import math

import numpy as np

from gapkit.theory._validate import ArgumentError, check_array, check_int, check_positive

__all__ = [
    "gen_first_order",
    "gamma_trace",
    "gradient_diversity",
    "bias_diversity_ratio",
    "distance_from_init",
    "train_longer_preset",
]


def _trace(name, a, ndim):
    return check_array(name, a, ndim=ndim)


def gen_first_order(train_loss, pop_loss, params, grad_train, grad_pop, *, lr=None, step_grads=None) -> dict:
    """Fu et al.: exact per-step decomposition of gen along a run and its
    first-order (linear-approximation) form. [D]

    gen(w_t) = F_mu(w_t) - F_S(w_t); exactly
        gen(w_T) = gen(w_0) + sum_{t=1}^T [gen(w_t) - gen(w_{t-1})],
    and to first order in the step w_t - w_{t-1} = -eta_t g_t,
        gen(w_t) - gen(w_{t-1}) ~ -eta_t (grad F_mu(w_{t-1}) - grad F_S(w_{t-1}))' g_t.

    Parameters (S recorded states, d parameters; index 0 is the first state):
    train_loss, pop_loss: (S,) F_S(w_t) and F_mu(w_t) (F_mu exact for toy
        models, or a large held-out estimate).
    params: (S, d) the states w_t. grad_train, grad_pop: (S, d) full-batch
        train gradient and population gradient at w_t.
    lr, step_grads: optional. With step_grads (S-1, d) = g_t (the minibatch
        gradient used to go from w_{t-1} to w_t) and lr (scalar or (S-1,)),
        the step is -lr g_t as in the formula; without them the recorded
        displacement w_t - w_{t-1} is used (identical for plain SGD; for runs
        recorded every k steps it is the k-step first-order term).

    Returns dict with "gen" (S,), "increments" (S-1,) exact, "first_order"
    (S-1,), "gen_first_order" (S,) = gen_0 + cumsum(first_order), "error" (S,)
    = gen_first_order - gen, "max_abs_error", "final_error", and
    "rel_error" = max|error| / max|gen_t - gen_0| (0 when max|error| is within
    64 S eps of the losses' size: rounding, not linearisation error).
    """
    tr = _trace("train_loss", train_loss, 1)
    po = _trace("pop_loss", pop_loss, 1)
    w = _trace("params", params, 2)
    S, d = w.shape
    if S < 2:
        raise ArgumentError(f"params must hold at least 2 states (got {S})")
    if tr.shape != (S,) or po.shape != (S,):
        raise ArgumentError(f"train_loss and pop_loss must have shape ({S},) (got {tr.shape}, {po.shape})")
    gs = check_array("grad_train", grad_train, shape=(S, d))
    gm = check_array("grad_pop", grad_pop, shape=(S, d))
    if step_grads is not None:
        if lr is None:
            raise ArgumentError("lr must be given with step_grads")
        g = check_array("step_grads", step_grads, shape=(S - 1, d))
        eta = np.broadcast_to(check_array("lr", lr), (S - 1,))
        step = -eta[:, None] * g
    else:
        step = np.diff(w, axis=0)
    gen = po - tr
    inc = np.diff(gen)
    fo = np.einsum("td,td->t", gm[:-1] - gs[:-1], step)
    gen_fo = np.concatenate([[gen[0]], gen[0] + np.cumsum(fo)])
    err = gen_fo - gen
    span = float(np.max(np.abs(gen - gen[0])))
    mx = float(np.max(np.abs(err)))
    # Below rounding of the losses the error is noise, not a failure of the
    # linearisation (quadratics of equal curvature make it exactly 0).
    if mx <= 64 * np.finfo(float).eps * max(float(np.max(np.abs(tr))), float(np.max(np.abs(po))), 1e-300) * S:
        mx_rel = 0.0
    else:
        mx_rel = mx / span if span > 0 else math.inf
    return {
        "gen": gen,
        "increments": inc,
        "first_order": fo,
        "gen_first_order": gen_fo,
        "error": err,
        "max_abs_error": mx,
        "final_error": float(err[-1]),
        "rel_error": mx_rel,
    }


def gamma_trace(grad_pop, grad_train) -> dict:
    """Fu et al., Assumption 3.6: gamma_t = ||grad F_mu(w_t)|| / ||grad F_S(w_t)||
    along the whole run. [D]

    grad_pop, grad_train: (S, d). Returns "gamma" (S,) (inf where the train
    gradient is exactly 0 and the population one is not; 1 where both are 0),
    "max", "median", "final" (finite entries only for max/median).
    """
    gm = _trace("grad_pop", grad_pop, 2)
    gs = check_array("grad_train", grad_train, shape=gm.shape)
    num = np.linalg.norm(gm, axis=1)
    den = np.linalg.norm(gs, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        gam = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.where(num > 0, np.inf, 1.0))
    fin = gam[np.isfinite(gam)]
    return {
        "gamma": gam,
        "max": float(fin.max()) if fin.size else math.inf,
        "median": float(np.median(fin)) if fin.size else math.inf,
        "final": float(gam[-1]),
    }


def gradient_diversity(per_example_grads) -> np.ndarray | float:
    """Fu et al.: gradient diversity V(w) = (1/n) sum_i ||grad f(w, z_i) - grad F_S(w)||^2
    = tr D(w), D the per-example gradient covariance of the paper's Eq 17. [D]

    per_example_grads: (n, d) at one state -> float; (S, n, d) along a run -> (S,).
    """
    g = check_array("per_example_grads", per_example_grads)
    if g.ndim not in (2, 3) or g.shape[-2] < 1:
        raise ArgumentError(f"per_example_grads must have shape (n, d) or (S, n, d) (got {g.shape})")
    c = g - g.mean(axis=-2, keepdims=True)
    v = np.mean(np.sum(c * c, axis=-1), axis=-1)
    return float(v) if g.ndim == 2 else v


def bias_diversity_ratio(per_example_grads) -> np.ndarray | float:
    """Fu et al.'s ratio of the training set's gradient bias to its diversity
    [R: the seed says only that the bound "depends on ... the ratio between
    the bias and diversity of the training set", diversity being the variance
    of the per-example gradients; the bias is read as the squared norm of
    their mean]:
        rho(w) = ||grad F_S(w)||^2 / V(w),   V(w) = (1/n) sum_i ||grad f(w, z_i) - grad F_S(w)||^2 = tr D(w).

    Large rho: the examples agree on the step (little diversity); rho -> 0 at
    a minimum of F_S. per_example_grads: (n, d) -> float; (S, n, d) -> (S,);
    inf where V = 0 < ||grad F_S||^2, nan where both are 0.
    """
    g = check_array("per_example_grads", per_example_grads)
    if g.ndim not in (2, 3) or g.shape[-2] < 1:
        raise ArgumentError(f"per_example_grads must have shape (n, d) or (S, n, d) (got {g.shape})")
    m = g.mean(axis=-2)
    num = np.sum(m * m, axis=-1)
    v = np.asarray(gradient_diversity(g), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(v > 0, num / np.where(v > 0, v, 1.0), np.where(num > 0, np.inf, np.nan))
    return float(r) if g.ndim == 2 else r


def distance_from_init(params, theta0=None) -> dict:
    """||w_t - w_0|| along a run and its fit against log t (Hoffer et al. 2017,
    [V]: the distance grows like log t, "ultra-slow diffusion").

    params: (S, d); theta0: (d,) initial weights (default params[0]).
    Returns "distance" (S,), "log_slope" (least-squares slope of distance on
    log(t+1), t the record index) and "final".
    """
    w = _trace("params", params, 2)
    w0 = w[0] if theta0 is None else check_array("theta0", theta0, shape=(w.shape[1],))
    dist = np.linalg.norm(w - w0, axis=1)
    slope = float("nan")
    if w.shape[0] >= 3:
        x = np.log(np.arange(1, w.shape[0] + 1, dtype=np.float64))
        slope = float(np.polyfit(x, dist, 1)[0])
    return {"distance": dist, "log_slope": slope, "final": float(dist[-1])}


def train_longer_preset(lr_small: float, batch_small: int, epochs_small: float, batches, *, ghost_batch: int = 128) -> list[dict]:
    """Sweep preset of "Train longer, generalize better" (Hoffer, Hubara, Soudry 2017) [V].

    For each large batch B_L in `batches`, relative to the small-batch recipe
    (eta_S, B_S, epochs_S):
        lr      eta_L = eta_S sqrt(B_L / B_S)          (keeps the gradient-noise scale)
        epochs  epochs_S * B_L / B_S                   (regime adaptation: same number of updates)
        ghost_batch  batch-norm statistics per chunk of `ghost_batch` examples
                     (min(ghost_batch, B_L)).
    Returns one config dict per batch: {"lr", "batch", "epochs", "ghost_batch",
    "T"}; T = lr / batch is reported because the paper's collapse predicts runs
    with equal T match, which this recipe does NOT keep (T falls as 1/sqrt(B)).
    """
    lr_s = check_positive("lr_small", lr_small)
    b_s = check_int("batch_small", batch_small, 1)
    ep = check_positive("epochs_small", epochs_small)
    gb = check_int("ghost_batch", ghost_batch, 1)
    out = []
    for b in batches:
        b = check_int("batches", b, 1)
        lr = lr_s * math.sqrt(b / b_s)
        out.append({"lr": lr, "batch": b, "epochs": ep * b / b_s, "ghost_batch": min(gb, b), "T": lr / b})
    return out
