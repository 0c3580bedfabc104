"""Torch versions of the seed-000/001/002 indicators for networks.

The formulas and their tags are in gapkit.sims.indicators._trajectory / _ind_sde / _ind_dims /
_ind_pred; this module only supplies what a network needs on top:

- `hessian_slq`: stochastic Lanczos quadrature on the Hessian of a loss through
  Hessian-vector products (double backprop), reusing the numpy Lanczos of
  `gapkit.sims.indicators._dimensions` (vectors in float64 on the host; the HVP runs in the
  parameters' dtype and device);
- `gradient_noise_stats`: from per-example gradients G (n, P) of one state, the
  seed-002 trajectory-bound ingredients with the STATED approximation of
  log det C: top-k eigenvalues exact (from the n x n Gram matrix, which has the
  same nonzero spectrum as C), the remaining trace spread isotropically over the
  other P - k directions (`gapkit.sims.indicators._sde_bounds.logdet_lowrank_isotropic`);
- `inconsistency_logits` / `instability_logits`: the Johnson & Zhang quantities
  from logits tensors, computed with log_softmax on the device;
- `network_indicators`: the per-run ``ind_*`` columns of a torch sweep point
  (`gapkit.gpu._run.run_point` with ``indicators: true``), from the trained
  ensemble's final parameters: the classic baselines and the cheap seed-000/001
  quantities, averaged over (at most `max_members`) members, plus the
  ensemble-level inconsistency / instability.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from gapkit.theory._validate import check_int
from gapkit.sims.indicators._dimensions import eigs_from_slq, lyapunov_exponents, sharpness_dimension, slq
from gapkit.sims.indicators._sde_bounds import logdet_lowrank_isotropic

__all__ = ["hessian_slq", "sharpness_dimension_slq", "gradient_noise_stats", "inconsistency_logits",
           "instability_logits", "network_indicators", "NETWORK_INDICATOR_KEYS",
           "NETWORK_INDICATOR_EXTRAS"]

# Every column network_indicators can return (inconsistency needs >= 2 seeds per
# data draw, instability >= 2 draws, sharpness_dim sharpness=True).
NETWORK_INDICATOR_KEYS = (
    "ind_param_norm", "ind_dist_init", "ind_hessian_trace", "ind_hessian_top",
    "ind_grad_diversity", "ind_grad_norm2", "ind_sharpness_dim", "ind_inconsistency", "ind_instability",
)
# Bookkeeping columns that go with them (not indicators: no ind_ prefix, so
# `gapkit score` does not rank them).
NETWORK_INDICATOR_EXTRAS = ("hessian_trace_se", "indicator_members")


def hessian_slq(loss_fn, params, *, m: int = 30, probes: int = 4, seed: int = 0) -> dict:
    """SLQ of the Hessian of ``loss_fn()`` (a scalar tensor) w.r.t. `params`
    (a list of tensors requiring grad). Returns `gapkit.sims.indicators._dimensions.slq`'s
    dict: "trace" (Hessian trace estimate), "top" (largest Ritz value), nodes,
    weights, density."""
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("params must contain at least one tensor with requires_grad=True")
    sizes = [p.numel() for p in params]
    d = int(sum(sizes))
    loss = loss_fn()
    grads = torch.autograd.grad(loss, params, create_graph=True)

    def matvec(v: np.ndarray) -> np.ndarray:
        vt = torch.from_numpy(np.ascontiguousarray(v))
        chunks = []
        off = 0
        for p, s in zip(params, sizes):
            chunks.append(vt[off:off + s].view_as(p).to(device=p.device, dtype=p.dtype))
            off += s
        hv = torch.autograd.grad(grads, params, grad_outputs=chunks, retain_graph=True)
        return torch.cat([h.reshape(-1) for h in hv]).detach().to("cpu", torch.float64).numpy()

    return slq(matvec, d, m=min(m, d), probes=probes, seed=seed)


def sharpness_dimension_slq(minibatch_losses, params, eta: float, *, m: int = 60, probes: int = 8, seed: int = 0) -> dict:
    """Sharpness dimension (seed 001) of a network: for each minibatch loss
    closure in `minibatch_losses` (sampled near convergence, the regularised
    risk R_B), the Hessian spectrum is read off SLQ (`eigs_from_slq`, a stated
    approximation), then lambda_k = mean_B ln sigma_k(I - eta Hess R_B) and the
    Kaplan-Yorke-type dimension. Returns "dim", "lyapunov"."""
    params = [p for p in params if p.requires_grad]
    d = int(sum(p.numel() for p in params))
    ss = np.random.SeedSequence(seed).spawn(len(minibatch_losses))
    eigs = []
    for fn, s in zip(minibatch_losses, ss):
        r = hessian_slq(fn, params, m=m, probes=probes, seed=np.random.default_rng(s))
        eigs.append(eigs_from_slq(r["nodes"], r["weights"], d))
    lyap = lyapunov_exponents(np.stack(eigs), eta)
    return {"dim": sharpness_dimension(lyap), "lyapunov": lyap}


def gradient_noise_stats(per_example_grads: torch.Tensor, b: int, *, k: int = 20, floor: float = 1e-30) -> dict:
    """Seed-002 ingredients at one state from per-example gradients G (n, P):
    "grad_norm2" ||grad L_S||^2, "trC" tr(D)/b (with-replacement minibatch
    covariance C = D/b), "top_eigs" the k largest eigenvalues of C, "logdetC"
    the low-rank + isotropic approximation (module doc), "grad_diversity" tr D."""
    G = per_example_grads
    if not isinstance(G, torch.Tensor) or G.ndim != 2:
        raise ValueError("per_example_grads must be a 2-D torch tensor (n, P)")
    n, P = G.shape
    b = check_int("b", b, 1)
    k = check_int("k", k, 1)
    G = G.to(torch.float64)
    gbar = G.mean(dim=0)
    Gc = G - gbar
    trD = float((Gc * Gc).sum() / n)
    gram = (Gc @ Gc.T) / (n * b)  # same nonzero eigenvalues as C = Gc' Gc / (n b)
    ev = torch.linalg.eigvalsh(gram).flip(0)[: min(k, n)]
    ev = ev[ev > floor * max(1.0, float(ev[0]) if ev.numel() else 1.0)]
    top = ev.cpu().numpy()
    trC = trD / b
    logdet = logdet_lowrank_isotropic(top, trC, P, floor=floor) if top.size else P * math.log(max(trC / P, floor))
    return {"grad_norm2": float(gbar @ gbar), "trC": trC, "top_eigs": top, "logdetC": logdet, "grad_diversity": trD}


def _check_logits(x):
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError("logits must be a 4-D torch tensor (training_sets, seeds, inputs, classes)")
    return torch.log_softmax(x.to(torch.float64), dim=-1)


def inconsistency_logits(logits: torch.Tensor) -> float:
    """Inconsistency (Johnson & Zhang) [V] from logits (J, K >= 2, N, C)."""
    lp = _check_logits(logits)
    J, K = lp.shape[:2]
    if K < 2:
        raise ValueError(f"logits must hold at least 2 seeds per training set (got {K})")
    p = lp.exp()
    tot = 0.0
    for a in range(K):
        for c in range(K):
            if a != c:
                tot += float((p[:, a] * (lp[:, a] - lp[:, c])).sum(-1).mean())
    return tot / (K * (K - 1))


def instability_logits(logits: torch.Tensor) -> float:
    """Instability [R] from logits (J >= 2, K, N, C): KL between seed-averaged predictions."""
    lp = _check_logits(logits)
    J = lp.shape[0]
    if J < 2:
        raise ValueError(f"logits must hold at least 2 training sets (got {J})")
    fbar = lp.exp().mean(dim=1)
    lb = fbar.log()
    tot = 0.0
    for a in range(J):
        for c in range(J):
            if a != c:
                tot += float((fbar[a] * (lb[a] - lb[c])).sum(-1).mean())
    return tot / (J * (J - 1))


def _member_loss(model, names, loss, alpha):
    from torch.func import functional_call

    from ._train import per_example_loss

    def make(leaves, x, y):
        def fn():
            p = dict(zip(names, leaves))
            r = per_example_loss(functional_call(model, p, (x,)), y, loss).mean()
            # the regularised risk R = L_S + (alpha/2)|theta|^2, whose gradient is Eq 15's drift
            return r + 0.5 * alpha * sum((q * q).sum() for q in leaves) if alpha else r
        return fn
    return make


def network_indicators(model, params: dict, params0: dict, X, y, train_idx, *, draws: int, seeds: int, lr: float,
                       batch: int, alpha: float = 0.0, loss: str = "ce", eval_rows=None, seed: int = 0,
                       max_members: int = 4, hutchinson: int = 30, lanczos_steps: int = 20, sharpness: bool = True,
                       sharpness_batches: int = 4, max_train: int = 512) -> dict:
    """Indicators of one trained ensemble (a torch sweep point), as ``ind_<name>`` floats.

    model: the network (its parameters are replaced by each member's through
    functional_call); params / params0: stacked final / initial parameters
    {name: (E, ...)} of the E = draws x seeds members (member e = draw e // seeds);
    X, y: the pool (tensors on the model's device); train_idx (E, n) pool rows of
    each member's training set; eval_rows: pool rows for the ensemble quantities
    (inconsistency, instability; best: rows in no member's training set).

    Per member (the first min(E, max_members) members whose parameters are
    finite, spread over the draws), then averaged:

      ind_param_norm      |theta|                                   (classic baseline)
      ind_dist_init       |theta - theta_0|                         (classic baseline)
      ind_hessian_trace   tr Hess R, R = L_S + (alpha/2)|theta|^2 the regularised train risk:
                          Hutchinson, mean of v'Hv over `hutchinson` Rademacher probes
                          (SLQ with one Lanczos step per probe is exactly that);
                          hessian_trace_se its standard error, averaged
      ind_hessian_top     the largest Ritz value of `lanczos_steps` Lanczos steps from one
                          Rademacher start (a lower bound on lambda_max, exact once the
                          steps reach the number of parameters; PyHessian's top eigenvalue)
      ind_grad_diversity  tr D, D = (1/n) sum_i g_i g_i' - gbar gbar' the per-example
                          gradient covariance of the data loss (Eq 17; seed 000)
      ind_grad_norm2      |gbar|^2 of the data loss
      ind_sharpness_dim   seed 001: Kaplan-Yorke dimension from `sharpness_batches`
                          minibatch Hessians of R_B (B = batch) at the final state,
                          spectra from SLQ (`sharpness_dimension_slq`, a stated
                          approximation; `lanczos_steps` steps, 2 probes), eta = lr

    Ensemble level: ind_inconsistency (Johnson & Zhang, needs seeds >= 2) and
    ind_instability (needs draws >= 2) on eval_rows. Also returned, without the
    ind_ prefix: hessian_trace_se and indicator_members (the number of members used). lam/B itself is the sweep's column T (and ind_T).
    The training set is subsampled to `max_train` rows (a seeded subset; fewer
    when rows x parameters would exceed 2e8) for the gradient and Hessian quantities. Cost: hutchinson + lanczos_steps
    (+ sharpness_batches x lanczos_steps x 2 on minibatches) Hessian-vector
    products and one per-example gradient matrix per member.
    """
    draws = check_int("draws", draws, 1)
    seeds = check_int("seeds", seeds, 1)
    batch = check_int("batch", batch, 1)
    max_members = check_int("max_members", max_members, 1)
    hutchinson = check_int("hutchinson", hutchinson, 2)
    lanczos_steps = check_int("lanczos_steps", lanczos_steps, 1)
    sharpness_batches = check_int("sharpness_batches", sharpness_batches, 1)
    max_train = check_int("max_train", max_train, 2)
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be > 0 and finite (got {lr!r})")
    if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be >= 0 and finite (got {alpha!r})")
    names = list(params)
    E = int(params[names[0]].shape[0])
    if E != draws * seeds:
        raise ValueError(f"params must stack draws x seeds = {draws * seeds} members (got {E})")
    train_idx = torch.as_tensor(np.asarray(train_idx, dtype=np.int64)).to(X.device)
    if train_idx.ndim != 2 or train_idx.shape[0] != E:
        raise ValueError(f"train_idx must have shape (E={E}, n) (got {tuple(train_idx.shape)})")
    ss = np.random.SeedSequence([int(seed) % 2**63, 0x16D])
    rng = np.random.default_rng(ss)
    make = _member_loss(model, names, loss, float(alpha))

    def finite(e):
        return all(bool(torch.isfinite(params[k][e]).all()) for k in names)

    # members spread over the draws first (draw-to-draw spread is what the gap averages)
    order = [d * seeds + j for j in range(seeds) for d in range(draws)]
    members = [e for e in order if finite(e)][:max_members]
    vals: dict[str, list] = {}

    def put(k, v):
        vals.setdefault(k, []).append(float(v))

    from ._estimators import per_example_grads

    # the (rows, P) per-example gradient matrix stays under ~2e8 entries (a large
    # network, e.g. the ResNet at k = 32, then uses fewer rows)
    P_count = sum(int(params[k][0].numel()) for k in names)
    max_train = max(8, min(int(max_train), int(2e8 // max(P_count, 1))))
    for e in members:
        pe = {k: params[k][e].detach() for k in names}
        p0 = {k: params0[k][e].detach() for k in names}
        put("ind_param_norm", math.sqrt(sum(float((v.double() ** 2).sum()) for v in pe.values())))
        put("ind_dist_init", math.sqrt(sum(float(((pe[k] - p0[k]).double() ** 2).sum()) for k in names)))
        rows = train_idx[e]
        if rows.numel() > max_train:
            rows = rows[torch.as_tensor(np.sort(rng.choice(rows.numel(), max_train, replace=False))).to(rows.device)]
        xb, yb = X[rows], y[rows]
        G = per_example_grads(model, pe, xb, yb, loss)
        gs = gradient_noise_stats(G, batch, k=1)
        put("ind_grad_diversity", gs["grad_diversity"])
        put("ind_grad_norm2", gs["grad_norm2"])
        del G
        leaves = [pe[k].clone().requires_grad_(True) for k in names]
        h = hessian_slq(make(leaves, xb, yb), leaves, m=1, probes=hutchinson, seed=rng)
        put("ind_hessian_trace", h["trace"])
        put("hessian_trace_se", h["trace_se"])
        put("ind_hessian_top", hessian_slq(make(leaves, xb, yb), leaves, m=lanczos_steps, probes=1, seed=rng)["top"])
        if sharpness:
            fns = []
            for _ in range(sharpness_batches):
                bi = torch.as_tensor(rng.integers(0, rows.numel(), batch)).to(rows.device)
                fns.append(make(leaves, xb[bi], yb[bi]))
            sd = sharpness_dimension_slq(fns, leaves, float(lr), m=lanczos_steps, probes=2,
                                         seed=int(rng.integers(2**62)))
            put("ind_sharpness_dim", sd["dim"])
    out = {k: float(np.mean(v)) for k, v in vals.items()}
    out["indicator_members"] = len(members)
    if eval_rows is not None and len(eval_rows) and len(members) == E and (seeds >= 2 or draws >= 2):
        from torch.func import functional_call, vmap

        xe = X[torch.as_tensor(np.asarray(eval_rows, dtype=np.int64)).to(X.device)]
        with torch.no_grad():
            logits = vmap(lambda p: functional_call(model, p, (xe,)))({k: params[k].detach() for k in names})
        logits = logits.reshape(draws, seeds, *logits.shape[1:])
        if logits.ndim == 4:  # classifiers only
            if seeds >= 2:
                out["ind_inconsistency"] = inconsistency_logits(logits)
            if draws >= 2:
                out["ind_instability"] = instability_logits(logits)
    return out
