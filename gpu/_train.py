"""SGD on networks, one ensemble of members at a time (Section 2.3, Eqs 15-16).

Updates, with g_t the minibatch mean gradient of the per-example loss:

- Eq 15 (plain SGD): theta_{t+1} = theta_t - lam_t (g_t + alpha theta_t) + sqrt(lam_t T_t) beta w_t,
  w_t ~ N(0, I), T_t = lam_t / B; minibatches of B drawn uniformly WITH
  replacement (``replacement=True``, the paper's law; an epoch is ceil(n/B)
  updates) or shuffled epochs without replacement (floor(n/B) full batches).
- Eq 16 (momentum, PyTorch form): v_{t+1} = mu v_t + g_t + alpha theta_t,
  theta_{t+1} = theta_t - lam_t v_{t+1} (+ the same isotropic noise when beta != 0).
- Cosine schedule: lam_t = lam cos(pi t / (2 t_f)), t_f the total number of
  updates; the run's temperature is T = lam / B of the initial lam. The noise
  term uses the instantaneous lam_t and T_t = lam_t / B (it scales like SGD's
  own gradient noise).

Ensembles: members (different data draws and seeds) train at once with
torch.func: parameters stacked along a leading axis, the forward pass vmapped
over members and one backward pass of the summed member losses (the gradient
of a sum of independent members' losses is each member's own gradient, and it
is ~3x cheaper than ``vmap(grad(loss))`` on small networks, measured on 2 CPU
cores), each member with its own minibatch indices, its own noise stream and
its own augmentation draws; all members share B and the step. Models with
BatchNorm train on the sequential path (``vectorize=False``: one member at a
time, ordinary autograd), which draws exactly the same random numbers, so the
two paths give the same numbers (tested in float64).

Yaida's FDR1 (Yaida 2018), derived here for the PyTorch form with weight decay
and isotropic noise: at stationarity
    <theta . (g + alpha theta)> = (lam/2)(1 + mu) <|v|^2> + (1 - mu) T beta^2 d / 2,
with v the velocity after the update (v = g + alpha theta when mu = 0) and d the
number of parameters (from the stationarity of E|theta|^2 and E theta.v; with
beta = 0 it is the form of `gapkit.sims.stats._steady.fdr1`). With the cosine
schedule lam and T are the per-step lam_t, T_t, and the relation is not a
stationarity statement any more (the ratio is still recorded). The
recorded ``fdr1`` is the ratio of the two sides summed over an epoch; it tends
to 1 at steady state with a constant learning rate.
"""
from __future__ import annotations

import dataclasses
import math
import sys

import numpy as np
import torch
from torch.func import functional_call, vmap
from torch.nn import functional as F

from gapkit.theory._validate import ArgumentError

from ._device import precision_context, resolve_device, resolve_dtype, torch_generator, torch_threads
from ._models import init_params

__all__ = ["SGDConfig", "train_ensemble", "member_streams", "per_example_loss"]

LOSSES = ("ce", "mse")


@dataclasses.dataclass(frozen=True)
class SGDConfig:
    """Hyper-parameters of one ensemble (paper symbols: lam, B, alpha, beta, mu)."""

    lr: float
    batch: int
    epochs: int
    alpha: float = 0.0
    beta: float = 0.0
    momentum: float = 0.0
    cosine: bool = False
    replacement: bool = True
    loss: str = "ce"
    augment: bool = False
    dtype: str = "float32"
    device: str = "cpu"
    eval_chunk: int = 2048
    threads: int | None = None

    def __post_init__(self):
        from gapkit.theory._validate import check_choice, check_int, check_interval, check_nonneg, check_positive

        check_positive("lr", self.lr)
        check_int("batch", self.batch, 1)
        check_int("epochs", self.epochs, 1)
        check_nonneg("alpha", self.alpha)
        check_nonneg("beta", self.beta)
        check_interval("momentum", self.momentum, 0.0, 1.0, closed_right=False)
        check_choice("loss", self.loss, LOSSES)
        resolve_dtype(self.dtype)

    @property
    def T(self) -> float:
        return float(self.lr) / int(self.batch)


def per_example_loss(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-example loss l(theta, x): cross entropy, or (1/2)(f(x) - y)^2 for 'mse'."""
    if loss == "ce":
        return F.cross_entropy(out, y, reduction="none")
    return 0.5 * (out.reshape(out.shape[0], -1)[:, 0] - y) ** 2


def member_streams(seed: int) -> dict[str, int]:
    """Independent integer seeds (init, batches, noise, augment) of one member."""
    kids = np.random.SeedSequence(int(seed)).spawn(4)
    vals = [int(k.generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> np.uint64(1)) for k in kids]
    return dict(zip(("init", "batches", "noise", "augment"), vals))


def _batch_indices(gen: torch.Generator, n: int, B: int, replacement: bool) -> torch.Tensor:
    if replacement:
        S = math.ceil(n / B)
        return torch.randint(n, (S, B), generator=gen)
    S = n // B
    return torch.randperm(n, generator=gen)[: S * B].reshape(S, B)


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Appendix E augmentation: images (N,C,H,W) random crop with 4-pixel zero
    padding and horizontal flip; signals (N,C,L) random shift by up to 4 with
    zero padding. Draws come from `gen` (CPU), one per example."""
    n = x.shape[0]
    pad = 4
    if x.ndim == 4:
        H, W = x.shape[-2:]
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        flip = torch.rand(n, generator=gen) < 0.5
        xp = F.pad(x, (pad, pad, pad, pad))
        out = torch.stack([xp[i, :, int(dy[i]):int(dy[i]) + H, int(dx[i]):int(dx[i]) + W] for i in range(n)])
        return torch.where(flip.to(x.device)[:, None, None, None], out.flip(-1), out)
    if x.ndim == 3:
        L = x.shape[-1]
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        xp = F.pad(x, (pad, pad))
        return torch.stack([xp[i, :, int(dx[i]):int(dx[i]) + L] for i in range(n)])
    return x


def _progress(total, desc, enabled):
    from tqdm import tqdm  # gapkit's one progress library (a dependency)

    disable = (not enabled) or (not sys.stderr.isatty())
    return tqdm(total=total, desc=desc, file=sys.stderr, disable=disable, leave=False)


class _Members:
    """Per-member random streams, shared by the vectorized and sequential paths."""

    def __init__(self, seeds, device):
        self.streams = [member_streams(s) for s in seeds]
        self.batch_gen = [torch_generator(s["batches"]) for s in self.streams]
        self.noise_gen = [torch_generator(s["noise"], device) for s in self.streams]
        self.aug_gen = [torch_generator(s["augment"]) for s in self.streams]


def train_ensemble(
    model: torch.nn.Module,
    X,
    y,
    train_idx,
    test_idx,
    cfg: SGDConfig,
    *,
    seeds,
    vectorize: bool = True,
    progress: bool = False,
    keep_params: bool = False,
    extend=None,
    max_epochs: int | None = None,
) -> dict:
    """Train E members; member e sees pool rows ``train_idx[e]`` and is tested on ``test_idx[e]``.

    X, y: the pool (numpy or torch); train_idx (E, n_train), test_idx (E, n_test) integer arrays;
    seeds: E integer seeds (init, minibatches, noise, augmentation streams derive from each).
    Returns numpy arrays per member and epoch (epoch 0 = initialization):
    train_loss, test_loss, train_acc, test_acc, train_loss_std, test_loss_std (sigma_l, Fig 7)
    of shape (E, epochs+1); fdr1 (E, epochs) and its two sides fdr1_lhs, fdr1_rhs (sums over the epoch's steps); dist_init (E, epochs+1); diverged (E,);
    and metadata (T, steps, epochs, extended_epochs, dtype, device, path). With keep_params: "params"
    (stacked final parameters, torch) and "params0".

    Extension (a run that fails its steady-state test is run longer, not reported
    as steady): after the planned ``cfg.epochs``, ``extend(rec)`` is called with
    the records so far (arrays with one column per finished epoch) and returns
    how many more epochs to train (0: stop); at most ``max_epochs`` in all. The
    continuation is the same chain (parameters, velocity, random streams carry
    on). Not with the cosine schedule, whose shape is fixed by its length.
    """
    device = resolve_device(cfg.device)
    pdtype = resolve_dtype(cfg.dtype)
    train_idx = torch.as_tensor(np.array(train_idx, dtype=np.int64))
    test_idx = torch.as_tensor(np.array(test_idx, dtype=np.int64))
    if train_idx.ndim != 2 or test_idx.ndim != 2 or train_idx.shape[0] != test_idx.shape[0]:
        raise ArgumentError("train_idx and test_idx must be 2-D with one row per member", param="train_idx")
    seeds = [int(s) for s in seeds]
    E, n = train_idx.shape
    if len(seeds) != E:
        raise ArgumentError(f"seeds must have one entry per member ({E}) (got {len(seeds)})")
    if extend is not None and cfg.cosine:
        raise ArgumentError("extend cannot lengthen a cosine-schedule run (its schedule is fixed by its length)",
                            param="extend")
    if not cfg.replacement and cfg.batch > n:
        raise ArgumentError(f"batch must be <= n_train ({n}) for shuffled epochs (got {cfg.batch})")
    Xt = torch.as_tensor(np.asarray(X) if not torch.is_tensor(X) else X).to(device=device, dtype=pdtype)
    yt = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y).to(device)
    if cfg.loss == "mse":
        yt = yt.to(pdtype)
    mem = _Members(seeds, device)
    base = model.to(device=device, dtype=pdtype)
    has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in base.modules())
    if has_bn and vectorize:
        raise ArgumentError("vectorize must be False for models with BatchNorm (use norm='group' to train under vmap)")
    inits = [init_params(base, torch_generator(s["init"]), dtype=pdtype, device=device) for s in mem.streams]
    runner = _VmapRunner if vectorize else _LoopRunner
    with torch_threads(cfg.threads):
        return runner(base, Xt, yt, train_idx.to(device), test_idx.to(device), cfg, mem, inits, device).run(progress, keep_params, extend, max_epochs)


class _Runner:
    def __init__(self, base, X, y, train_idx, test_idx, cfg, mem, inits, device):
        self.base, self.X, self.y = base, X, y
        self.train_idx, self.test_idx = train_idx, test_idx
        self.cfg, self.mem, self.device = cfg, mem, device
        self.inits = inits
        self.E, self.n = train_idx.shape
        self.d = sum(v.numel() for v in inits[0].values())
        self.S = math.ceil(self.n / cfg.batch) if cfg.replacement else self.n // cfg.batch
        self.t_f = self.S * cfg.epochs

    def lam_at(self, t: int) -> float:
        lam = float(self.cfg.lr)
        return lam * math.cos(math.pi * t / (2 * self.t_f)) if self.cfg.cosine else lam

    def batch_x(self, e: int, rows: torch.Tensor) -> torch.Tensor:
        x = self.X[rows]
        if self.cfg.augment:
            x = _augment(x.cpu(), self.mem.aug_gen[e]).to(self.device)
        return x

    def eval_x(self, e: int, rows: torch.Tensor) -> torch.Tensor:
        # Same augmentation for train and test evaluation when asked (Appendix E):
        # both sides then measure the same underlying distribution.
        return self.batch_x(e, rows)

    def run(self, progress, keep_params, extend=None, max_epochs=None):
        cfg, E = self.cfg, self.E
        cap = cfg.epochs if extend is None else max(cfg.epochs, int(max_epochs or cfg.epochs))
        rec = {k: np.full((E, cap + 1), np.nan) for k in ("train_loss", "test_loss", "train_acc", "test_acc", "train_loss_std", "test_loss_std", "dist_init")}
        for k in ("fdr1", "fdr1_lhs", "fdr1_rhs"):
            rec[k] = np.full((E, cap), np.nan)
        self.setup()
        self.record(rec, 0)
        done, planned = 0, cfg.epochs
        bar = _progress(planned, f"train E={E} T={cfg.T:.3g}", progress)
        with precision_context(cfg.dtype, self.device):
            while True:
                for epoch in range(done, planned):
                    idx = torch.stack([_batch_indices(g, self.n, cfg.batch, cfg.replacement) for g in self.mem.batch_gen])  # (E,S,B)
                    lhs, rhs = self.epoch(epoch, idx)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        rec["fdr1"][:, epoch] = lhs / rhs
                    rec["fdr1_lhs"][:, epoch], rec["fdr1_rhs"][:, epoch] = lhs, rhs
                    self.record(rec, epoch + 1)
                    if bar is not None:
                        bar.update(1)
                done = planned
                more = 0 if extend is None or done >= cap else min(
                    int(extend({k: v[:, :done + 1] for k, v in rec.items()})), cap - done)
                if more <= 0:
                    break
                planned = done + more
        if bar is not None:
            bar.close()
        out = {k: np.ascontiguousarray(v[:, :done + 1] if v.shape[1] == cap + 1 else v[:, :done]) for k, v in rec.items()}
        fin = np.isfinite(out["train_loss"][:, -1]) & np.isfinite(out["test_loss"][:, -1])
        out.update(diverged=~fin, T=cfg.T, steps=self.S * done, epochs=done, extended_epochs=done - cfg.epochs,
                   steps_per_epoch=self.S, dtype=cfg.dtype, device=str(self.device),
                   path="vmap" if isinstance(self, _VmapRunner) else "loop", n_params=self.d)
        if keep_params:
            out["params"], out["params0"] = self.final_params()
        return out

    def noise(self, e: int, like: dict, lam_t: float) -> dict | None:
        cfg = self.cfg
        if cfg.beta == 0:
            return None
        scale = math.sqrt(lam_t * lam_t / cfg.batch) * cfg.beta
        g = self.mem.noise_gen[e]
        return {k: torch.randn(v.shape, generator=g, device=self.device, dtype=v.dtype) * scale for k, v in like.items()}

    def rhs_const(self, lam_t: float) -> float:
        cfg = self.cfg
        return (1 - cfg.momentum) * (lam_t / cfg.batch) * cfg.beta**2 * self.d / 2


def _mlp_fast_path(base, loss: str):
    """(forward, grad_fn) of a plain `MLP` (no normalisation) for all members
    at once, by batched matrix products and explicit backpropagation: the vmap
    path's fast case. forward(P, x) is `functional_call` under vmap, grad_fn
    autograd's minibatch gradient of sum_e sum_i l_ei / b through it
    (tests/test_gpu_train.py compares both to rounding), at a fraction of the
    per-update overhead on small networks. None for any other model or loss,
    which then takes the generic path."""
    from ._models import MLP

    if not isinstance(base, MLP) or base.norms is not None or loss not in ("ce", "mse"):
        return None
    names = [f"hidden.{i}" for i in range(len(base.hidden))] + ["out"]

    def layers(P, x):  # z_j = h_{j-1} W_j^T + b_j, h_j = relu(z_j); the last z is the output
        hs, zs = [x.reshape(x.shape[0], x.shape[1], -1)], []
        for j, name in enumerate(names):
            zs.append(torch.baddbmm(P[f"{name}.bias"].unsqueeze(1), hs[-1], P[f"{name}.weight"].transpose(1, 2)))
            if j < len(names) - 1:
                hs.append(torch.relu(zs[-1]))
        return hs, zs

    def forward(P, x):
        return layers(P, x)[1][-1]

    def grad_fn(P, xb, yb):
        b = yb.shape[1]
        hs, zs = layers(P, xb)
        out = zs[-1]
        if loss == "ce":  # d/d out of sum_i l_i / b: (softmax - one-hot) / b
            delta = torch.softmax(out, -1)
            delta.scatter_add_(2, yb.unsqueeze(-1), torch.full_like(delta[..., :1], -1.0))
        else:  # (1/2)(out_0 - y)^2 on the first output
            delta = torch.zeros_like(out)
            delta[..., 0] = out[..., 0] - yb.to(out.dtype)
        delta = delta / b
        grads = {}
        for j in range(len(names) - 1, -1, -1):
            name = names[j]
            grads[f"{name}.weight"] = delta.transpose(1, 2) @ hs[j]
            grads[f"{name}.bias"] = delta.sum(1)
            if j:
                delta = (delta @ P[f"{name}.weight"]) * (zs[j - 1] > 0)
        return {k: grads[k] for k in P}

    return forward, grad_fn


class _VmapRunner(_Runner):
    def setup(self):
        # All members' parameters in one (E, d) tensor, `params` its views per
        # name: the update, momentum and FDR1 sums are a few whole-vector
        # operations per step instead of a few per parameter tensor.
        stacked = {k: torch.stack([p[k] for p in self.inits]) for k in self.inits[0]}
        self.flat = torch.cat([v.reshape(self.E, -1) for v in stacked.values()], 1)
        self.params, o = {}, 0
        for k, v in stacked.items():
            self.params[k] = self.flat[:, o:o + v[0].numel()].view(v.shape)
            o += v[0].numel()
        self.p0 = {k: v.clone() for k, v in self.params.items()}
        self.vel = torch.zeros_like(self.flat) if self.cfg.momentum > 0 else None
        base, loss = self.base, self.cfg.loss

        def fwd(p, xb):
            return functional_call(base, p, (xb,))

        self.fwd = vmap(fwd)

        def grad_fn(P, xb, yb):
            # members are independent: d(sum_e L_e)/d theta_e = dL_e/d theta_e
            leaves = {k: v.detach().requires_grad_(True) for k, v in P.items()}
            with torch.enable_grad():
                out = self.fwd(leaves, xb)
                L = per_example_loss(out.flatten(0, 1), yb.flatten(), loss).sum() / yb.shape[1]
                gs = torch.autograd.grad(L, list(leaves.values()))
            return dict(zip(leaves, gs))

        self.grad_fn = grad_fn
        fast = _mlp_fast_path(base, loss)
        self.gradient = "autograd under vmap" if fast is None else "explicit MLP backpropagation"
        if fast is not None:
            self.fwd, self.grad_fn = fast

    def xs(self, rows):  # rows (E, b) -> (E, b, ...)
        if self.cfg.augment:
            return torch.stack([self.batch_x(e, rows[e]) for e in range(self.E)])
        return self.X[rows]

    def epoch(self, epoch, idx):
        cfg = self.cfg
        rows_all = torch.gather(self.train_idx, 1, idx.reshape(self.E, -1).to(self.device)).reshape(idx.shape)
        lhs = torch.zeros(self.E, dtype=torch.float64, device=self.device)
        rhs = torch.zeros_like(lhs)
        P, F, E = self.params, self.flat, self.E
        for s in range(self.S):
            t = epoch * self.S + s
            lam_t = self.lam_at(t)
            rows = rows_all[:, s]
            g = self.grad_fn(P, self.xs(rows), self.y[rows])
            with torch.no_grad():
                gt = torch.cat([g[k].reshape(E, -1) for k in P], 1) + cfg.alpha * F
                step = self.vel.mul_(cfg.momentum).add_(gt) if self.vel is not None else gt
                lhs += (F * gt).sum(1).double()
                rhs += (lam_t / 2) * (1 + cfg.momentum) * (step ** 2).sum(1).double() + self.rhs_const(lam_t)
                F -= lam_t * step  # in place: the views in P follow
                if cfg.beta:
                    zs = [self.noise(e, {k: v[e] for k, v in P.items()}, lam_t) for e in range(E)]
                    F += torch.stack([torch.cat([z[k].reshape(-1) for k in P]) for z in zs])
        return lhs.cpu().numpy(), rhs.cpu().numpy()

    @torch.no_grad()
    def record(self, rec, j):
        for name, idx in (("train", self.train_idx), ("test", self.test_idx)):
            losses, correct = [], []
            for c0 in range(0, idx.shape[1], self.cfg.eval_chunk):
                rows = idx[:, c0:c0 + self.cfg.eval_chunk]
                out = self.fwd(self.params, self.xs(rows))
                yb = self.y[rows]
                losses.append(per_example_loss(out.flatten(0, 1), yb.flatten(), self.cfg.loss).reshape(yb.shape))
                if self.cfg.loss == "ce":
                    correct.append((out.argmax(-1) == yb).to(torch.float64))
            L = torch.cat(losses, 1).double()
            rec[f"{name}_loss"][:, j] = L.mean(1).cpu().numpy()
            rec[f"{name}_loss_std"][:, j] = L.std(1, correction=0).cpu().numpy()
            if correct:
                rec[f"{name}_acc"][:, j] = torch.cat(correct, 1).mean(1).cpu().numpy()
        dist = sum(((self.params[k] - self.p0[k]) ** 2).flatten(1).sum(1) for k in self.params).double().sqrt()
        rec["dist_init"][:, j] = dist.cpu().numpy()

    def final_params(self):
        return {k: v.clone() for k, v in self.params.items()}, self.p0


class _LoopRunner(_Runner):
    """One member at a time with ordinary autograd (the BatchNorm path)."""

    def setup(self):
        import copy

        self.models = []
        for p in self.inits:
            m = copy.deepcopy(self.base)
            with torch.no_grad():
                for k, v in m.named_parameters():
                    v.copy_(p[k])
            self.models.append(m)
        self.p0 = [{k: v.clone() for k, v in p.items()} for p in self.inits]
        self.vel = [{k: torch.zeros_like(v) for k, v in p.items()} for p in self.inits] if self.cfg.momentum > 0 else None

    def epoch(self, epoch, idx):
        cfg = self.cfg
        lhs = np.zeros(self.E)
        rhs = np.zeros(self.E)
        for e, m in enumerate(self.models):
            m.train()
            named = dict(m.named_parameters())
            params = {k: named[k] for k in self.p0[e]}
            rows_e = self.train_idx[e][idx[e].to(self.device)]
            for s in range(self.S):
                t = epoch * self.S + s
                lam_t = self.lam_at(t)
                rows = rows_e[s]
                loss = per_example_loss(m(self.batch_x(e, rows)), self.y[rows], cfg.loss).mean()
                gs = torch.autograd.grad(loss, list(params.values()))
                with torch.no_grad():
                    gt = {k: g + cfg.alpha * params[k] for k, g in zip(params, gs)}
                    if self.vel is not None:
                        for k in params:
                            self.vel[e][k].mul_(cfg.momentum).add_(gt[k])
                        step = self.vel[e]
                    else:
                        step = gt
                    lhs[e] += float(sum((params[k] * gt[k]).sum() for k in params))
                    rhs[e] += (lam_t / 2) * (1 + cfg.momentum) * float(sum((step[k] ** 2).sum() for k in params)) + self.rhs_const(lam_t)
                    for k in params:
                        params[k].sub_(lam_t * step[k])
                    z = self.noise(e, {k: v.detach() for k, v in params.items()}, lam_t)
                    if z is not None:
                        for k in params:
                            params[k].add_(z[k])
        return lhs, rhs

    @torch.no_grad()
    def record(self, rec, j):
        for e, m in enumerate(self.models):
            m.eval()
            for name, idx in (("train", self.train_idx[e]), ("test", self.test_idx[e])):
                losses, correct = [], []
                for c0 in range(0, idx.shape[0], self.cfg.eval_chunk):
                    rows = idx[c0:c0 + self.cfg.eval_chunk]
                    out = m(self.eval_x(e, rows))
                    losses.append(per_example_loss(out, self.y[rows], self.cfg.loss))
                    if self.cfg.loss == "ce":
                        correct.append((out.argmax(-1) == self.y[rows]).to(torch.float64))
                L = torch.cat(losses).double()
                rec[f"{name}_loss"][e, j] = float(L.mean())
                rec[f"{name}_loss_std"][e, j] = float(L.std(correction=0))
                if correct:
                    rec[f"{name}_acc"][e, j] = float(torch.cat(correct).mean())
            d2 = sum(float(((v - self.p0[e][k]) ** 2).sum()) for k, v in m.named_parameters())
            rec["dist_init"][e, j] = math.sqrt(d2)

    def final_params(self):
        P = {k: torch.stack([dict(m.named_parameters())[k].detach() for m in self.models]) for k in self.p0[0]}
        P0 = {k: torch.stack([p[k] for p in self.p0]) for k in self.p0[0]}
        return P, P0
