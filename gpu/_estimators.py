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
  iterations reaches P), optionally with the eigenvectors; `hessian_esd`: the
  spectral density by SLQ (`esd_plot` draws it). They run gapkit's one
  Hutchinson, Lanczos and SLQ (`gapkit.sims.indicators._dimensions`) on
  torch vectors on the parameters' device (`hessian_operator`): only scalars
  come back to the host; the probes come from the torch Generator passed in.
- `hessian_diag` (BackPACK's DiagHessian) and `ggn_diag` (DiagGGNExact): exact
  diagonals of the Hessian and of the generalized Gauss-Newton matrix, and
  `layer_traces` their per-parameter sums (exact per-layer traces).
- Every Hessian function takes `names` (a parameter subset: the Hessian block
  of those parameters, the others fixed) and `batch_size` (the whole of x in
  blocks, exact); a params dict that lacks some of the model's parameters is
  refused (`check_params`).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.func import functional_call, grad, jacrev, vjp, vmap

from gapkit.sims.indicators._dimensions import hutchinson, lanczos, slq
from gapkit.theory._validate import ArgumentError, check_int

from ._train import per_example_loss

__all__ = [
    "flat_params",
    "per_example_losses",
    "per_example_grads",
    "grad_noise_stats",
    "hessian_trace",
    "hessian_top_eigs",
    "hessian_esd",
    "hessian_diag",
    "ggn_diag",
    "layer_traces",
    "hessian_operator",
    "check_params",
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
    check_params(model, params)
    out = functional_call(model, params, (x,))
    L = per_example_loss(out, y, loss)
    res = {"losses": L, "mean": float(L.double().mean()), "std": float(L.double().std(correction=0))}
    if loss == "ce":
        res["accuracy"] = float((out.argmax(-1) == y).double().mean())
    return res


def per_example_grads(model, params, x, y, loss: str = "ce") -> torch.Tensor:
    """(n, P) matrix of per-example gradients dl(theta, x_i), by vmap of grad."""
    check_params(model, params)
    theta, unflat = flat_params({k: v.detach() for k, v in params.items()})

    def one(th, xi, yi):
        out = functional_call(model, unflat(th), (xi[None],))
        return per_example_loss(out, yi[None], loss)[0]

    return vmap(grad(one), in_dims=(None, 0, 0))(theta, x, y)


def grad_noise_stats(G: torch.Tensor, k: int = 5) -> dict:
    """Eq 17's D = (1/n) sum_j g_j g_j' - gbar gbar' from per-example gradients G (n, P).

    tr_D = (1/n) sum |g_j|^2 - |gbar|^2 (gapkit's "gradient diversity", Fu et
    al.'s V(w)); top_eigs: the k largest eigenvalues of D, from the Gram matrix
    (1/n) Gc Gc' (Gc = G - gbar), which shares D's non-zero eigenvalues;
    yin_ratio = sum |g_j|^2 / |sum g_j|^2 (Yin et al. 2018 call this ratio
    "gradient diversity"; gapkit keeps that word for tr D).
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
        "yin_ratio": float(sq.sum() / (tot**2).sum()),
        "grad_norm": float(gbar.norm()),
    }


def check_params(model, params: dict, names=None) -> list[str]:
    """The parameter names a Hessian is taken with respect to, after checking
    that `params` holds every parameter of `model` (a partial dict would make
    functional_call silently use the module's own tensors for the missing
    names: refused) and nothing else, with the module's shapes.

    names: a subset of the parameter names (the "parameter subset" of the
    Hessian functions: the block of the Hessian for those parameters, the
    others held fixed at their values in `params`); None = all, in the
    module's order.
    """
    own = dict(model.named_parameters())
    if not isinstance(params, dict):
        raise ArgumentError("params must be a dict {name: tensor}", param="params")
    missing = [k for k in own if k not in params]
    extra = [k for k in params if k not in own]
    if missing or extra:
        raise ArgumentError(f"params must hold exactly the model's parameters (missing {missing}, unknown {extra})",
                            param="params")
    bad = [k for k in own if tuple(params[k].shape) != tuple(own[k].shape)]
    if bad:
        raise ArgumentError(f"params has the wrong shape for {bad}", param="params")
    if names is None:
        return list(own)
    names = [names] if isinstance(names, str) else list(names)
    unknown = [k for k in names if k not in own]
    if not names or unknown or len(set(names)) != len(names):
        raise ArgumentError(f"names must be distinct parameter names of the model (got unknown {unknown} in {names})",
                            param="names")
    return [k for k in own if k in names]


def _batches(x, y, batch_size):
    """(x_b, y_b, n_b / n) over the rows of x in blocks of batch_size (None = one block)."""
    n = int(x.shape[0])
    if n < 1:
        raise ArgumentError("x must hold at least one row", param="x")
    bs = n if batch_size is None else check_int("batch_size", batch_size, 1)
    return [(x[i:i + bs], y[i:i + bs], min(bs, n - i) / n) for i in range(0, n, bs)]


def _loss_fn(model, params, x, y, loss, names=None):
    """(f(theta_sub) = mean loss on x with the parameters outside `names` fixed, theta_sub, unflatten)."""
    names = check_params(model, params, names)
    fixed = {k: v.detach() for k, v in params.items() if k not in names}
    theta, unflat = flat_params({k: params[k].detach() for k in names})

    def f(th):
        p = {**fixed, **unflat(th)}
        return per_example_loss(functional_call(model, p, (x,)), y, loss).mean()

    return f, theta, unflat


def _hvp(f, theta):
    # reverse-over-reverse: H v = vjp of grad f (H is symmetric). Forward-mode
    # (jvp) would load torch.jit-scripted decompositions, deprecated in torch 2.13.
    _, pullback = vjp(grad(f), theta)

    def hv(v):
        return pullback(v)[0]

    return hv


def hessian_operator(model, params, x, y, loss: str = "ce", *, names=None, batch_size: int | None = None):
    """(hv, theta): the Hessian of the mean loss U(theta) = (1/n) sum_i l(theta, x_i)
    over ALL rows of x (PyHessian's data-loader path), as a torch
    Hessian-vector product on the parameters' device and dtype; theta the
    flat parameters it acts on.

    names: the parameter subset (`check_params`): hv is then the Hessian block
    of those parameters (its trace is the per-layer trace). batch_size: rows
    per backward pass; hv(v) = sum_b (n_b / n) H_b v, so a data set that does
    not fit in one pass is still exact. x, y may live on the CPU: each block
    moves to the parameters' device.
    """
    hv, theta, _ = _operator(model, params, x, y, loss, names, batch_size)
    return hv, theta


def _operator(model, params, x, y, loss, names, batch_size):
    names = check_params(model, params, names)
    dev = params[names[0]].device
    parts = []
    for xb, yb, wgt in _batches(x, y, batch_size):
        f, theta, unflat = _loss_fn(model, params, xb.to(dev), yb.to(dev), loss, names)
        parts.append((_hvp(f, theta), wgt))

    def hv(v):
        out = None
        for h, wgt in parts:
            t = h(v).detach() * wgt
            out = t if out is None else out + t
        return out

    return hv, theta, unflat


def numpy_matvec(hv, like: torch.Tensor | None = None):
    """A torch Hessian-vector product `hv` (flat tensor -> flat tensor) as a
    float64 numpy matvec, for callers holding numpy vectors (the Hessian
    functions here keep their vectors on the device and do not use it): each
    vector goes to `like`'s device and dtype (or stays a float64 CPU tensor when
    like is None and hv places it itself), the product comes back in float64."""
    def mv(v: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.array(v, dtype=np.float64))  # a copy: torch warns on read-only arrays
        if like is not None:
            t = t.to(device=like.device, dtype=like.dtype)
        return hv(t).detach().to("cpu", torch.float64).numpy()

    return mv


def _rademacher_draw(theta, generator):
    """Rademacher probes drawn from the (CPU) torch `generator`, moved to theta's
    device and dtype: the same draws on every device."""
    def draw():
        return (torch.randint(0, 2, theta.shape, generator=generator) * 2 - 1).to(device=theta.device,
                                                                                   dtype=theta.dtype)
    return draw


def hessian_trace(model, params, x, y, loss: str = "ce", *, samples: int = 100, generator: torch.Generator,
                  names=None, batch_size: int | None = None) -> dict:
    """Hutchinson: tr H = E_v[v' H v], v Rademacher drawn from `generator`;
    returns trace and its standard error across probes
    (`gapkit.sims.indicators._dimensions.hutchinson`). H is the Hessian of the
    mean loss over all rows of x (`hessian_operator`: `names` for a per-layer
    trace, `batch_size` for a data set in blocks); the products stay on the
    parameters' device. For the exact trace see `hessian_diag`."""
    samples = check_int("samples", samples, 2)
    hv, theta = hessian_operator(model, params, x, y, loss, names=names, batch_size=batch_size)
    r = hutchinson(hv, theta.numel(), probes=samples, draw=_rademacher_draw(theta, generator))
    return {"trace": r["trace"], "se": r["se"], "samples": samples}


def hessian_top_eigs(model, params, x, y, loss: str = "ce", *, k: int = 1, iters: int = 50,
                     generator: torch.Generator, names=None, batch_size: int | None = None, vectors: bool = False):
    """The k largest (algebraic) Hessian eigenvalues by Lanczos with full
    reorthogonalization from a Gaussian start drawn from `generator` (exact
    when iters >= number of parameters; `gapkit.sims.indicators._dimensions.lanczos`,
    run on the parameters' device: no vector is copied to the host).
    names / batch_size: as `hessian_operator`. vectors=True also returns the
    k Ritz vectors as {name: (k, *shape)} (unit norm over the subset; PyHessian's
    eigenvectors), largest first: (eigenvalues, vectors)."""
    k = check_int("k", k, 1)
    iters = check_int("iters", iters, 1)
    hv, theta, unflat = _operator(model, params, x, y, loss, names, batch_size)
    v0 = torch.randn(theta.numel(), generator=generator, dtype=torch.float64).to(device=theta.device,
                                                                                 dtype=theta.dtype)
    steps = min(max(iters, k), theta.numel())
    out = lanczos(hv, v0, steps, vectors=k if vectors else 0)
    vals = out[0][::-1][:k].copy()
    if not vectors:
        return vals
    vecs = [unflat(v) for v in out[2]]
    return vals, {n: torch.stack([v[n] for v in vecs]) for n in vecs[0]}


def hessian_esd(model, params, x, y, loss: str = "ce", *, m: int = 30, probes: int = 4,
                generator: torch.Generator, names=None, batch_size: int | None = None) -> dict:
    """Spectral density of the Hessian by stochastic Lanczos quadrature (the
    one `slq`, run on the device; Rademacher probes from `generator`): its
    dict ("nodes", "weights", "trace", "top", "density"); plot it with
    `gapkit.sims.indicators._dimensions.esd_plot`."""
    hv, theta = hessian_operator(model, params, x, y, loss, names=names, batch_size=batch_size)
    return slq(hv, theta.numel(), m=check_int("m", m, 1), probes=check_int("probes", probes, 1),
               draw=_rademacher_draw(theta, generator))


# Exact diagonals are formed column block by column block; refused above this
# many parameters (d Hessian-vector products; use hessian_trace there).
MAX_EXACT_DIAG = 20_000


def hessian_diag(model, params, x, y, loss: str = "ce", *, names=None, batch_size: int | None = None,
                 block: int = 64) -> dict:
    """Exact Hessian diagonal H_jj = d^2 U / d theta_j^2 of the mean loss over
    all rows of x, one entry per parameter (BackPACK's DiagHessian), as
    {name: tensor shaped like the parameter}; its sum over a name is that
    layer's exact trace (`layer_traces`), over all names the exact tr H.

    Computed as e_j' H e_j for every unit vector e_j (vmap over blocks of
    `block` unit vectors): exact to rounding, d Hessian-vector products in
    all, so it is refused for more than MAX_EXACT_DIAG parameters in `names`
    (use `hessian_trace` with `names` for a per-layer Hutchinson estimate).
    """
    block = check_int("block", block, 1)
    hv, theta, unflat = _operator(model, params, x, y, loss, names, batch_size)
    d = theta.numel()
    if d > MAX_EXACT_DIAG:
        raise ArgumentError(f"names must select at most {MAX_EXACT_DIAG} parameters for the exact diagonal (got {d})",
                            param="names")
    diag = torch.empty_like(theta)
    eye = torch.eye(d, dtype=theta.dtype, device=theta.device)
    for i in range(0, d, block):
        E = eye[i:i + block]
        diag[i:i + E.shape[0]] = (vmap(hv)(E) * E).sum(1)
    return unflat(diag)


def _output_hessian(out, loss):
    """Per-example Hessian of the loss w.r.t. the network output, (n, C, C):
    cross entropy diag(p) - p p' (p the softmax); the squared loss
    (1/2)(f_0 - y)^2 has 1 at (0, 0) and 0 elsewhere."""
    if loss == "ce":
        p = torch.softmax(out, -1)
        return torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
    C = out.reshape(out.shape[0], -1).shape[1]
    Hs = torch.zeros(out.shape[0], C, C, dtype=out.dtype, device=out.device)
    Hs[:, 0, 0] = 1.0
    return Hs


def ggn_diag(model, params, x, y, loss: str = "ce", *, names=None, batch_size: int | None = None) -> dict:
    """Exact diagonal of the generalized Gauss-Newton matrix
    G = (1/n) sum_i J_i' H_out,i J_i (J_i the Jacobian of example i's network
    output w.r.t. the parameters in `names`, H_out,i the loss Hessian w.r.t.
    that output, `_output_hessian`; BackPACK's DiagGGNExact), as
    {name: tensor shaped like the parameter}. G is the Hessian without the
    terms in the output's own second derivatives: equal to H for a model
    linear in its parameters, and positive semi-definite always. Cost: one
    per-example Jacobian (C x P) per row, `batch_size` rows at a time.
    """
    names = check_params(model, params, names)
    dev = params[names[0]].device
    fixed = {k: v.detach() for k, v in params.items() if k not in names}
    theta, unflat = flat_params({k: params[k].detach() for k in names})

    def out_one(th, xi):
        return functional_call(model, {**fixed, **unflat(th)}, (xi[None],)).reshape(-1)

    total = torch.zeros_like(theta)
    for xb, _, wgt in _batches(x, y, batch_size):
        xb = xb.to(dev)
        J = vmap(jacrev(out_one), in_dims=(None, 0))(theta, xb)  # (b, C, P)
        with torch.no_grad():
            Ho = _output_hessian(functional_call(model, params, (xb,)), loss)
        total += wgt * torch.einsum("bcp,bce,bep->p", J, Ho, J).detach() / xb.shape[0]
    return unflat(total)


def layer_traces(diag: dict) -> dict:
    """{name: sum of a diagonal's entries for that parameter} (floats): the
    per-layer traces of `hessian_diag` / `ggn_diag`, and under "total" their sum."""
    out = {k: float(v.double().sum()) for k, v in diag.items()}
    out["total"] = float(sum(out.values()))
    return out
