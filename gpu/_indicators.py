"""Torch versions of the related papers' indicators for networks (Fu et al.;
Tuci et al.; Johnson & Zhang; Wang & Mao).

The formulas and their tags are in gapkit.sims.indicators (_trajectory,
_sde_bounds, _dimensions, _predictions); this module only supplies what a
network needs on top, and computes nothing the numpy side already does:

- `hessian_slq`: stochastic Lanczos quadrature on the Hessian of a loss through
  Hessian-vector products (double backprop), wrapped as a float64 numpy matvec
  (`gapkit.gpu._estimators.numpy_matvec`; the HVP runs in the parameters' dtype
  and device) for the one Lanczos / SLQ / Hutchinson of
  `gapkit.sims.indicators._dimensions`;
- `gradient_noise_stats`: from per-example gradients G (n, P) of one state, the
  Wang & Mao trajectory-bound ingredients with the STATED approximation of
  log det C: top-k eigenvalues exact (from the n x n Gram matrix, which has the
  same nonzero spectrum as C), the remaining trace spread isotropically over the
  other P - k directions (`gapkit.sims.indicators._sde_bounds.logdet_lowrank_isotropic`);
- `inconsistency_logits` / `instability_logits`: the Johnson & Zhang quantities
  from logits tensors, passed to the numpy implementation as float64 arrays;
- `network_indicators`: the per-run ``ind_*`` columns of a torch sweep point
  (`gapkit.gpu._run.run_point` with ``indicators: true``), from the trained
  ensemble's final parameters: the classic baselines and the cheap Fu et al. / Tuci et
  al. quantities, averaged over (at most `IndicatorOptions.max_members`) members,
  plus the ensemble-level inconsistency / instability.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from gapkit.sims.indicators._dimensions import (_rademacher, _rng, eigs_from_slq, hutchinson, lyapunov_exponents,
                                                sharpness_dimension, slq)
from gapkit.sims.indicators._predictions import inconsistency, instability
from gapkit.sims.indicators._sde_bounds import logdet_lowrank_isotropic
from gapkit.theory._validate import ArgumentError, check_int, check_nonneg, check_positive

from ._estimators import per_example_grads

__all__ = ["hessian_slq", "hessian_hutchinson", "sharpness_dimension_slq", "gradient_noise_stats",
           "inconsistency_logits", "instability_logits", "network_indicators", "network_ph_dimensions",
           "IndicatorOptions",
           "NETWORK_INDICATOR_KEYS", "NETWORK_INDICATOR_EXTRAS"]

# Every column network_indicators can return (inconsistency needs >= 2 seeds per
# data draw, instability >= 2 draws and >= 2 seeds per draw, run_disagreement
# >= 2 draws of one seed each, gamma held-out rows, sharpness_dim sharpness=True).
NETWORK_INDICATOR_KEYS = (
    "ind_param_norm", "ind_dist_init", "ind_hessian_trace", "ind_hessian_top",
    "ind_grad_diversity", "ind_grad_norm2", "ind_bias_diversity", "ind_gamma", "ind_sde_term",
    "ind_sharpness_dim", "ind_inconsistency", "ind_instability", "ind_run_disagreement",
)
# Bookkeeping columns that go with them (not indicators: no ind_ prefix, so
# `gapkit score` does not rank them).
NETWORK_INDICATOR_EXTRAS = ("hessian_trace_se", "indicator_members")


def _hessian_operator(loss_fn, params):
    """(hv, d, draw_from): the Hessian of ``loss_fn()`` w.r.t. `params` as a
    torch Hessian-vector product on the parameters' device and dtype (the
    Lanczos / Hutchinson vectors never leave it), d its size, and
    draw_from(seed) a Rademacher probe stream: the numpy draws of
    `gapkit.sims.indicators._dimensions` (the same probes as the numpy
    estimators at the same seed), moved to the device once per probe."""
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ArgumentError("params must contain at least one tensor with requires_grad=True")
    sizes = [p.numel() for p in params]
    d = int(sum(sizes))
    grads = torch.autograd.grad(loss_fn(), params, create_graph=True)
    like = params[0]

    def hv(vt: torch.Tensor) -> torch.Tensor:
        chunks = [c.view_as(p).to(dtype=p.dtype) for c, p in zip(torch.split(vt, sizes), params)]
        out = torch.autograd.grad(grads, params, grad_outputs=chunks, retain_graph=True)
        return torch.cat([h.reshape(-1) for h in out]).detach()

    def draw_from(seed):
        rng = _rng(seed)

        def draw():
            return torch.from_numpy(_rademacher(rng, d)).to(device=like.device, dtype=like.dtype)
        return draw

    return hv, d, draw_from


def hessian_slq(loss_fn, params, *, m: int = 30, probes: int = 4, seed: int = 0) -> dict:
    """SLQ of the Hessian of ``loss_fn()`` (a scalar tensor) w.r.t. `params`
    (a list of tensors requiring grad), on their device. Returns
    `gapkit.sims.indicators._dimensions.slq`'s dict: "trace" (Hessian trace
    estimate), "top" (largest Ritz value), nodes, weights, density."""
    hv, d, draw_from = _hessian_operator(loss_fn, params)
    return slq(hv, d, m=min(m, d), probes=probes, draw=draw_from(seed))


def hessian_hutchinson(loss_fn, params, *, probes: int = 30, seed=0) -> dict:
    """Hutchinson's estimate of the trace of the Hessian of ``loss_fn()`` w.r.t.
    `params` (Rademacher probes from `seed`), on their device:
    `gapkit.sims.indicators._dimensions.hutchinson`'s dict ("trace", "se",
    "samples", "values")."""
    hv, d, draw_from = _hessian_operator(loss_fn, params)
    return hutchinson(hv, d, probes=probes, draw=draw_from(seed))


def sharpness_dimension_slq(minibatch_losses, params, eta: float, *, m: int = 60, probes: int = 8, seed: int = 0) -> dict:
    """Sharpness dimension (Tuci, Korkmaz, Simsekli & Birdal) of a network: for each minibatch loss
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
    """Wang & Mao's ingredients at one state from per-example gradients G (n, P):
    "grad_norm2" ||grad L_S||^2, "trC" tr(D)/b (with-replacement minibatch
    covariance C = D/b), "top_eigs" the k largest eigenvalues of C, "logdetC"
    the low-rank + isotropic approximation (module doc), "grad_diversity" tr D."""
    G = per_example_grads
    if not isinstance(G, torch.Tensor) or G.ndim != 2:
        raise ArgumentError("per_example_grads must be a 2-D torch tensor (n, P)")
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


def network_ph_dimensions(model, snapshots: dict, x, y, loss: str = "ce", *, project: int | None = None,
                          alpha: float = 1.0, reps: int = 3, seed: int = 0) -> dict:
    """Birdal et al.'s PH0 dimensions of a network trajectory from parameter
    snapshots over the last part of a run (`ph_dimension`, alpha-weighted):

      "ph_dim"       Euclidean, on the snapshots theta_s (optionally on a random
                     Gaussian projection to `project` dimensions, scaled by
                     1/sqrt(project): distances kept to 1 +- O(1/sqrt(project))
                     (Johnson-Lindenstrauss), for snapshots too large to store);
      "ph_dim_loss"  the data-dependent version (Dupuis et al. 2023): on the
                     vectors of per-example losses (l(theta_s, x_i))_i over the
                     rows x, with the L1 metric.

    snapshots: {name: (S, *shape)} of one member, S >= 10, every parameter of
    the model. Returns both dimensions and their delta-method standard errors
    ("ph_dim_se", "ph_dim_loss_se").
    """
    from torch.func import functional_call, vmap

    from gapkit.sims.indicators._dimensions import ph_dimension

    from ._estimators import check_params
    from ._train import per_example_loss

    names = check_params(model, {k: v[0] for k, v in snapshots.items()})
    S = int(snapshots[names[0]].shape[0])
    if S < 10:
        raise ArgumentError(f"snapshots must hold at least 10 states (got {S})", param="snapshots")
    flat = torch.cat([snapshots[k].detach().reshape(S, -1) for k in names], dim=1).to(torch.float64)
    if project is not None:
        project = check_int("project", project, 1)
        g = torch.Generator().manual_seed(int(seed))
        Pm = torch.randn(flat.shape[1], project, generator=g, dtype=torch.float64).to(flat.device)
        flat = flat @ Pm / math.sqrt(project)
    with torch.no_grad():
        out = vmap(lambda p: functional_call(model, p, (x,)))({k: snapshots[k].detach() for k in names})
        L = torch.stack([per_example_loss(o, y, loss) for o in out]).to(torch.float64)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) % 2**63, 0xB1D]))
    e = ph_dimension(flat.cpu().numpy(), reps=reps, seed=rng, alpha=alpha)
    lv = ph_dimension(L.cpu().numpy(), reps=reps, seed=rng, alpha=alpha, metric="cityblock")
    return {"ph_dim": e["dim"], "ph_dim_se": e["dim_se"], "ph_dim_loss": lv["dim"], "ph_dim_loss_se": lv["dim_se"]}


def _logits_numpy(x) -> np.ndarray:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ArgumentError("logits must be a 4-D torch tensor (training_sets, seeds, inputs, classes)")
    return x.detach().to("cpu", torch.float64).numpy()


def inconsistency_logits(logits: torch.Tensor) -> float:
    """Inconsistency (Johnson & Zhang) [V] from logits (J, K >= 2, N, C):
    `gapkit.sims.indicators._predictions.inconsistency` on the float64 values."""
    return inconsistency(_logits_numpy(logits))


def instability_logits(logits: torch.Tensor) -> float:
    """Instability [R] from logits (J >= 2, K, N, C): KL between seed-averaged
    predictions, `gapkit.sims.indicators._predictions.instability` on the float64 values."""
    return instability(_logits_numpy(logits))


@dataclasses.dataclass(frozen=True)
class IndicatorOptions:
    """Cost knobs of `network_indicators` (validated on construction).

    max_members        members whose indicators are averaged (spread over the draws)
    hutchinson         Rademacher probes of the Hessian trace (>= 2: it has a standard error)
    lanczos_steps      Lanczos steps for the top eigenvalue and the sharpness spectra
    sharpness          compute ind_sharpness_dim
    sharpness_batches  minibatch Hessians of the sharpness dimension
    max_train          training rows for the gradient and Hessian quantities (a seeded
                       subset; fewer when rows x parameters would exceed 2e8)
    """
    max_members: int = 4
    hutchinson: int = 30
    lanczos_steps: int = 20
    sharpness: bool = True
    sharpness_batches: int = 4
    max_train: int = 512

    def __post_init__(self):
        for name, lo in (("max_members", 1), ("hutchinson", 2), ("lanczos_steps", 1), ("sharpness_batches", 1),
                         ("max_train", 2)):
            object.__setattr__(self, name, check_int(name, getattr(self, name), lo))
        object.__setattr__(self, "sharpness", bool(self.sharpness))


def network_indicators(model, params: dict, params0: dict, X, y, train_idx, *, draws: int, seeds: int, lr: float,
                       batch: int, alpha: float = 0.0, loss: str = "ce", eval_rows=None, seed: int = 0,
                       options: IndicatorOptions | None = None, **knobs) -> dict:
    """Indicators of one trained ensemble (a torch sweep point), as ``ind_<name>`` floats.

    model: the network (its parameters are replaced by each member's through
    functional_call); params / params0: stacked final / initial parameters
    {name: (E, ...)} of the E = draws x seeds members (member e = draw e // seeds);
    X, y: the pool (tensors on the model's device); train_idx (E, n) pool rows of
    each member's training set; eval_rows: pool rows for the ensemble quantities
    (inconsistency, instability; best: rows in no member's training set).
    options: the cost knobs (`IndicatorOptions`); single knobs may also be given
    by name (``hutchinson=100``), overriding `options`.

    Per member (the first min(E, max_members) members whose parameters are
    finite, spread over the draws), then averaged:

      ind_param_norm      |theta|: Jiang et al. 2019's parameter norm sum_l |W_l|_F^2 [R], a
                          monotone transform of it (the same Kendall tau; classic baseline)
      ind_dist_init       |theta - theta_0|: Nagarajan & Kolter 2019's "l2 distance from the
                          initialization" (classic baseline)
      ind_hessian_trace   tr Hess R, R = L_S + (alpha/2)|theta|^2 the regularised train risk
                          (PyHessian's trace; Yao, Gholami, Keutzer & Mahoney 2020):
                          Hutchinson, mean of v'Hv over `hutchinson` Rademacher probes;
                          hessian_trace_se its standard error, averaged
      ind_hessian_top     lambda_max(Hess R) (Keskar et al. 2017's sharpness; PyHessian's top
                          eigenvalue): the largest Ritz value of `lanczos_steps` Lanczos steps
                          from one Rademacher start (a lower bound, exact once the steps reach P)
      ind_grad_diversity  tr D = Fu et al.'s V(w) = (1/n) sum_i |grad f(w, z_i) - grad F_S(w)|^2,
                          D the per-example gradient covariance of the data loss (Eq 17)
      ind_grad_norm2      |grad L_S|^2 of the data loss (Wang & Mao's |grad L_S(W_{t-1})|^2)
      ind_bias_diversity  Fu et al.'s bias/diversity ratio |gbar|^2 / tr D
                          (`gapkit.sims.indicators._trajectory.bias_diversity_ratio`)
      ind_gamma           Fu et al.'s gamma = |grad F_mu| / |grad F_S| (Assumption 3.6) at
                          the final state, grad F_mu from the held-out eval_rows
                          (`_gamma_heldout`: the unbiased estimate of |grad F_mu|^2)
      ind_sde_term        Wang & Mao's trajectory-bound summand at the final state,
                          P log((|grad L_S|^2 + tr C)/P) - log det C with C = D / batch and
                          the low-rank + isotropic log det of `gradient_noise_stats`
                          (k = min(20, n/2) exact eigenvalues: C has rank < n, so k < n keeps the
                          isotropic rest > 0); an indicator: the bound sums it over every step of
                          the run, which a network sweep does not record
      ind_sharpness_dim   Tuci, Korkmaz, Simsekli & Birdal: dim_S = j* + sum_{i<=j*} lambda_i /
                          |lambda_{j*+1}|, lambda_k = E_B ln sigma_k(I - eta Hess R_B) (the
                          `sharpness_dimension` rule), from `sharpness_batches` minibatch Hessians
                          of R_B (B = batch) at the final state, spectra from SLQ (a stated
                          approximation; `lanczos_steps` steps, 2 probes), eta = lr

    Ensemble level, on eval_rows (Johnson & Zhang): ind_inconsistency
    C = E_S E_{Theta,Theta'} E_X KL(f(Theta, X) || f(Theta', X)) [V] (needs
    seeds >= 2 per draw) and ind_instability I = E_{S,S'} E_X KL(fbar_S(X) ||
    fbar_S'(X)), fbar_S the seed-averaged softmax [R] (needs draws >= 2 and seeds >= 2);
    with one seed per draw the same formula is ind_run_disagreement (total
    run-to-run disagreement across draws, not instability). Also returned, without the
    ind_ prefix: hessian_trace_se and indicator_members (the number of members
    used). lam/B itself is the sweep's column T (and ind_T). Cost: hutchinson +
    lanczos_steps (+ sharpness_batches x lanczos_steps x 2 on minibatches)
    Hessian-vector products and one per-example gradient matrix per member.
    """
    opts = dataclasses.replace(options or IndicatorOptions(), **knobs)
    draws = check_int("draws", draws, 1)
    seeds = check_int("seeds", seeds, 1)
    batch = check_int("batch", batch, 1)
    lr = check_positive("lr", lr)
    alpha = check_nonneg("alpha", alpha)
    names = list(params)
    E = int(params[names[0]].shape[0])
    if E != draws * seeds:
        raise ArgumentError(f"params must stack draws x seeds = {draws * seeds} members (got {E})")
    train_idx = torch.as_tensor(np.asarray(train_idx, dtype=np.int64)).to(X.device)
    if train_idx.ndim != 2 or train_idx.shape[0] != E:
        raise ArgumentError(f"train_idx must have shape (E={E}, n) (got {tuple(train_idx.shape)})")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) % 2**63, 0x16D]))
    members = _members(params, names, draws, seeds, opts.max_members)
    # the (rows, P) per-example gradient matrix stays under ~2e8 entries (a large
    # network, e.g. the ResNet at k = 32, then uses fewer rows)
    P_count = sum(int(params[k][0].numel()) for k in names)
    max_train = max(8, min(opts.max_train, int(2e8 // max(P_count, 1))))
    make = _member_loss(model, names, loss, alpha)
    xh = yh = None
    if eval_rows is not None and len(eval_rows) >= 2:
        held = torch.as_tensor(np.asarray(eval_rows, dtype=np.int64)[:max_train]).to(X.device)
        xh, yh = X[held], y[held]
    vals: dict[str, list] = {}
    for e in members:
        pe = {k: params[k][e].detach() for k in names}
        rows = train_idx[e]
        if rows.numel() > max_train:
            rows = rows[torch.as_tensor(np.sort(rng.choice(rows.numel(), max_train, replace=False))).to(rows.device)]
        one = _member_indicators(model, pe, {k: params0[k][e].detach() for k in names}, X[rows], y[rows],
                                 make, loss=loss, batch=batch, lr=lr, opts=opts, rng=rng, xh=xh, yh=yh)
        for k, v in one.items():
            vals.setdefault(k, []).append(float(v))
    out = {k: float(np.mean(v)) for k, v in vals.items()}
    out["indicator_members"] = len(members)
    # the ensemble quantities need every member finite (not only the max_members used above)
    all_finite = all(bool(torch.isfinite(params[k]).all()) for k in names)
    if eval_rows is not None and len(eval_rows) and all_finite and (seeds >= 2 or draws >= 2):
        out.update(_ensemble_indicators(model, params, names, X, eval_rows, draws, seeds))
    return out


def _members(params, names, draws, seeds, max_members):
    """Members with finite parameters, spread over the draws first (draw-to-draw
    spread is what the gap averages), at most max_members."""
    def finite(e):
        return all(bool(torch.isfinite(params[k][e]).all()) for k in names)

    order = [d * seeds + j for j in range(seeds) for d in range(draws)]
    return [e for e in order if finite(e)][:max_members]


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


def _gamma_heldout(model, pe, xh, yh, loss, train_norm2) -> float:
    """Fu et al.'s gamma = |grad F_mu| / |grad F_S| at one state (Assumption 3.6),
    grad F_mu from m held-out rows: |grad F_mu|^2 ~ |ghat|^2 - tr Dhat / (m - 1),
    the unbiased estimate (|ghat|^2 alone is biased up by tr D / m), clipped at 0."""
    Gh = per_example_grads(model, pe, xh, yh, loss).to(torch.float64)
    m = int(Gh.shape[0])
    gbar = Gh.mean(0)
    trD = float(((Gh - gbar) ** 2).sum() / m)
    num2 = max(float(gbar @ gbar) - trD / (m - 1), 0.0)
    return math.sqrt(num2 / train_norm2) if train_norm2 > 0 else math.inf


def _member_indicators(model, pe, p0, xb, yb, make, *, loss, batch, lr, opts, rng, xh=None, yh=None) -> dict:
    """One member's per-member columns (network_indicators' table) on its training rows xb, yb."""
    out = {"ind_param_norm": math.sqrt(sum(float((v.double() ** 2).sum()) for v in pe.values())),
           "ind_dist_init": math.sqrt(sum(float(((pe[k] - p0[k]).double() ** 2).sum()) for k in pe))}
    G = per_example_grads(model, pe, xb, yb, loss)
    gs = gradient_noise_stats(G, batch, k=min(20, max(1, int(G.shape[0]) // 2)))
    del G
    out["ind_grad_diversity"] = gs["grad_diversity"]
    out["ind_grad_norm2"] = gs["grad_norm2"]
    out["ind_bias_diversity"] = gs["grad_norm2"] / gs["grad_diversity"] if gs["grad_diversity"] > 0 else math.inf
    P = sum(int(v.numel()) for v in pe.values())
    out["ind_sde_term"] = P * math.log((gs["grad_norm2"] + gs["trC"]) / P) - gs["logdetC"]
    if xh is not None:
        out["ind_gamma"] = _gamma_heldout(model, pe, xh, yh, loss, gs["grad_norm2"])
    leaves = [pe[k].clone().requires_grad_(True) for k in pe]
    h = hessian_hutchinson(make(leaves, xb, yb), leaves, probes=opts.hutchinson, seed=rng)
    out["ind_hessian_trace"] = h["trace"]
    out["hessian_trace_se"] = h["se"]
    out["ind_hessian_top"] = hessian_slq(make(leaves, xb, yb), leaves, m=opts.lanczos_steps, probes=1, seed=rng)["top"]
    if opts.sharpness:
        fns = []
        for _ in range(opts.sharpness_batches):
            bi = torch.as_tensor(rng.integers(0, xb.shape[0], batch)).to(xb.device)
            fns.append(make(leaves, xb[bi], yb[bi]))
        sd = sharpness_dimension_slq(fns, leaves, lr, m=opts.lanczos_steps, probes=2, seed=int(rng.integers(2**62)))
        out["ind_sharpness_dim"] = sd["dim"]
    return out


def _ensemble_indicators(model, params, names, X, eval_rows, draws, seeds) -> dict:
    """ind_inconsistency (seeds >= 2) and ind_instability (draws >= 2, seeds >= 2;
    ind_run_disagreement with one seed per draw) of a classifier ensemble on
    the pool rows eval_rows."""
    from torch.func import functional_call, vmap

    xe = X[torch.as_tensor(np.asarray(eval_rows, dtype=np.int64)).to(X.device)]
    with torch.no_grad():
        logits = vmap(lambda p: functional_call(model, p, (xe,)))({k: params[k].detach() for k in names})
    logits = logits.reshape(draws, seeds, *logits.shape[1:])
    out = {}
    if logits.ndim == 4:  # classifiers only
        if seeds >= 2:
            out["ind_inconsistency"] = inconsistency_logits(logits)
        if draws >= 2:
            # one seed per draw: the "seed-averaged" prediction is one run, and the
            # same formula measures total run-to-run disagreement, not instability
            key = "ind_instability" if seeds >= 2 else "ind_run_disagreement"
            out[key] = instability_logits(logits)
    return out
