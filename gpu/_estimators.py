"""Estimators on one network (PyHessian / BackPACK feature set, for the paper's quantities).

All functions take a model, one member's parameters ``params`` ({name: tensor},
as `gapkit.gpu._models.init_params` or one slice of a trained ensemble gives),
inputs x (n, ...) and targets y (n,), and the loss name ('ce' or 'mse').

- `per_example_losses`: l(theta, x_i); their mean is U(theta, x) and their
  standard deviation sigma_l (Eq 7, Fig 7).
- `per_example_grads` (torch.func ``vmap(grad)``): the (n, P) matrix of dl_i.
- `grad_noise_stats`: Eq 17's per-example gradient covariance
  D = (1/n) sum_j dl_j dl_j' - dU dU', its trace, its top-k eigenvalues (through
  the n x n Gram matrix of the centred gradients, which has the same non-zero
  spectrum), and the gradient diversity sum_i |dl_i|^2 / |sum_i dl_i|^2
  (Yin et al. 2018).
- `hessian_trace`: Hutchinson's estimator E_v[v' H v] with Rademacher v, with
  its standard error; `hessian_top_eigs`: Lanczos with full
  reorthogonalization on Hessian-vector products (exact once the number of
  iterations reaches P). Both run gapkit's one Hutchinson and one Lanczos
  (`gapkit.sims.indicators._dimensions`) on the Hessian-vector product wrapped
  as a float64 numpy matvec (`numpy_matvec`); the probes come from the torch
  Generator passed in.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.func import functional_call, grad, vjp, vmap

from gapkit.sims.indicators._dimensions import hutchinson, lanczos
from gapkit.theory._validate import check_int

from ._train import per_example_loss

__all__ = [
    "flat_params",
    "per_example_losses",
    "per_example_grads",
    "grad_noise_stats",
    "hessian_trace",
    "hessian_top_eigs",
    "member_params",
    "numpy_matvec",
]


def member_params(stacked: dict, e: int) -> dict:
    """Member e's parameters from an ensemble's stacked {name: (E, ...)} dict."""
    return {k: v[e] for k, v in stacked.items()}


def flat_params(params: dict) -> tuple[torch.Tensor, callable]:
    """(theta as one flat vector, unflatten function back to {name: tensor})."""
    names = list(params)
    shapes = [params[k].shape for k in names]
    sizes = [int(math.prod(s)) for s in shapes]

    def unflatten(v):
        return {k: t.reshape(s) for k, t, s in zip(names, torch.split(v, sizes), shapes)}

    return torch.cat([params[k].reshape(-1) for k in names]), unflatten


@torch.no_grad()
def per_example_losses(model, params, x, y, loss: str = "ce") -> dict:
    """Per-example losses and their summary: mean (U), std (sigma_l, ddof=0), accuracy."""
    out = functional_call(model, params, (x,))
    L = per_example_loss(out, y, loss)
    res = {"losses": L, "mean": float(L.double().mean()), "std": float(L.double().std(correction=0))}
    if loss == "ce":
        res["accuracy"] = float((out.argmax(-1) == y).double().mean())
    return res


def per_example_grads(model, params, x, y, loss: str = "ce") -> torch.Tensor:
    """(n, P) matrix of per-example gradients dl(theta, x_i), by vmap of grad."""
    theta, unflat = flat_params({k: v.detach() for k, v in params.items()})

    def one(th, xi, yi):
        out = functional_call(model, unflat(th), (xi[None],))
        return per_example_loss(out, yi[None], loss)[0]

    return vmap(grad(one), in_dims=(None, 0, 0))(theta, x, y)


def grad_noise_stats(G: torch.Tensor, k: int = 5) -> dict:
    """Eq 17's D = (1/n) sum_j g_j g_j' - gbar gbar' from per-example gradients G (n, P).

    tr_D = (1/n) sum |g_j|^2 - |gbar|^2; top_eigs: the k largest eigenvalues of D,
    from the Gram matrix (1/n) Gc Gc' (Gc = G - gbar), which shares D's non-zero
    eigenvalues; diversity = sum |g_j|^2 / |sum g_j|^2.
    """
    G = G.double()
    n = G.shape[0]
    gbar = G.mean(0)
    sq = (G**2).sum(1)
    Gc = G - gbar
    gram = (Gc @ Gc.T) / n
    ev = torch.linalg.eigvalsh(gram).flip(0)[: max(1, int(k))]
    tot = G.sum(0)
    return {
        "tr_D": float(sq.mean() - (gbar**2).sum()),
        "top_eigs": ev.cpu().numpy(),
        "diversity": float(sq.sum() / (tot**2).sum()),
        "grad_norm": float(gbar.norm()),
    }


def _loss_fn(model, params, x, y, loss):
    theta, unflat = flat_params({k: v.detach() for k, v in params.items()})

    def f(th):
        return per_example_loss(functional_call(model, unflat(th), (x,)), y, loss).mean()

    return f, theta


def _hvp(f, theta):
    # reverse-over-reverse: H v = vjp of grad f (H is symmetric). Forward-mode
    # (jvp) would load torch.jit-scripted decompositions, deprecated in torch 2.13.
    _, pullback = vjp(grad(f), theta)

    def hv(v):
        return pullback(v)[0]

    return hv


def numpy_matvec(hv, like: torch.Tensor | None = None):
    """A torch Hessian-vector product `hv` (flat tensor -> flat tensor) as the
    float64 numpy matvec that `lanczos`, `slq` and `hutchinson` take: each
    vector goes to `like`'s device and dtype (or stays a float64 CPU tensor when
    like is None and hv places it itself), the product comes back in float64."""
    def mv(v: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.array(v, dtype=np.float64))  # a copy: torch warns on read-only arrays
        if like is not None:
            t = t.to(device=like.device, dtype=like.dtype)
        return hv(t).detach().to("cpu", torch.float64).numpy()

    return mv


def hessian_trace(model, params, x, y, loss: str = "ce", *, samples: int = 100, generator: torch.Generator) -> dict:
    """Hutchinson: tr H = E_v[v' H v], v Rademacher drawn from `generator`;
    returns trace and its standard error (`gapkit.sims.indicators._dimensions.hutchinson`)."""
    samples = check_int("samples", samples, 2)
    f, theta = _loss_fn(model, params, x, y, loss)

    def draw():
        return (torch.randint(0, 2, theta.shape, generator=generator) * 2 - 1).to(torch.float64).numpy()

    r = hutchinson(numpy_matvec(_hvp(f, theta), theta), theta.numel(), probes=samples, draw=draw)
    return {"trace": r["trace"], "se": r["se"], "samples": samples}


def hessian_top_eigs(model, params, x, y, loss: str = "ce", *, k: int = 1, iters: int = 50, generator: torch.Generator) -> np.ndarray:
    """The k largest (algebraic) Hessian eigenvalues by Lanczos with full
    reorthogonalization from a Gaussian start drawn from `generator` (exact
    when iters >= number of parameters; `gapkit.sims.indicators._dimensions.lanczos`)."""
    k = check_int("k", k, 1)
    iters = check_int("iters", iters, 1)
    f, theta = _loss_fn(model, params, x, y, loss)
    v0 = torch.randn(theta.numel(), generator=generator, dtype=torch.float64).numpy()
    ritz, _ = lanczos(numpy_matvec(_hvp(f, theta), theta), v0, min(iters, theta.numel()))
    return ritz[::-1][:k].copy()
