"""Torch versions of the seed-000/001/002 indicators for networks.

The formulas and their tags are in gapkit.sims._ind_traj / _ind_sde / _ind_dims /
_ind_pred; this module only supplies what a network needs on top:

- `hessian_slq`: stochastic Lanczos quadrature on the Hessian of a loss through
  Hessian-vector products (double backprop), reusing the numpy Lanczos of
  `gapkit.sims._ind_dims` (vectors in float64 on the host; the HVP runs in the
  parameters' dtype and device);
- `gradient_noise_stats`: from per-example gradients G (n, P) of one state, the
  seed-002 trajectory-bound ingredients with the STATED approximation of
  log det C: top-k eigenvalues exact (from the n x n Gram matrix, which has the
  same nonzero spectrum as C), the remaining trace spread isotropically over the
  other P - k directions (`gapkit.sims._ind_sde.logdet_lowrank_isotropic`);
- `inconsistency_logits` / `instability_logits`: the Johnson & Zhang quantities
  from logits tensors, computed with log_softmax on the device.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from gapkit.sims._args import check_int
from gapkit.sims._ind_dims import eigs_from_slq, lyapunov_exponents, sharpness_dimension, slq
from gapkit.sims._ind_sde import logdet_lowrank_isotropic

__all__ = ["hessian_slq", "sharpness_dimension_slq", "gradient_noise_stats", "inconsistency_logits",
           "instability_logits"]


def hessian_slq(loss_fn, params, *, m: int = 30, probes: int = 4, seed: int = 0) -> dict:
    """SLQ of the Hessian of ``loss_fn()`` (a scalar tensor) w.r.t. `params`
    (a list of tensors requiring grad). Returns `gapkit.sims._ind_dims.slq`'s
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
