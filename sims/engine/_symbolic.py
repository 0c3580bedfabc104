"""Numba simulation of a user's `gapkit.theory.SymbolicModel` (Eqs 15, 16, 17): `simulate_model`.

The per-example gradient dl(theta, x[, y]) and loss l of the model are printed from sympy
(common subexpressions eliminated) to two scalar Python functions, compiled with Numba, and
called from one generic kernel; compilation happens once per model object and kind of step
(`compiled`, an in-memory cache: the functions are generated, so Numba's on-disk cache does not
apply to them as such). A compiled chain loop is also kept by its printed source (`_by_source`), so another
model object with the same printout (the same model built again: a re-run notebook cell, another test) reuses
it; and the model's own chain loop (below) is compiled from a file holding its printout (`_gencache`), so
Numba caches it on disk: another process (the next session, a notebook's kernel) loads it instead of compiling.
Chains run in blocks on the kernel threads (`_jit.run_blocks`); the numbers do not depend on the
thread count.

Two kernels make the same draws: the model's own chain loop printed by `_symgen` (scalar coordinates,
the gradient inlined or summed by its data coefficients, Langevin's D and the losses from per-data-set
moments when they separate; about 0.5-0.9x the speed of the hand-written quad1d, `gapkit bench
--symbolic`), and the generic kernel below (`_kernel`: arrays, n gradients per Langevin step), which runs
where the printed one does not apply (more than `_symgen.MAX_DIM` parameters; Langevin with a
non-separable gradient).

The kernel follows the built-in kernels of `_kernels` step for step and draw for draw, so a
model that is one of the built-in losses reproduces their chain (same seed, same numbers up to
floating-point rounding; the tests hold `quadratic_model()` against ``quadratic1d``):

- per chain (data set k, chain m) the keyed stream (seed, TAG_CHAIN, k, m) of `_rng`;
- ``sgd`` (Eq 15) / ``momentum`` (Eq 16, PyTorch form): ceil(B/2) `index_pair` draws per step
  (B indices with replacement), then one normal per coordinate when beta != 0;
- ``langevin`` (Euler-Maruyama of Eq 17): d normals, then the noise L z with L the Cholesky factor
  of D(theta, x_l) + beta^2 I, D the centred per-example gradient covariance at the current theta
  (exact D; for the quadratic L is the constant sqrt(h^2 S^2 + beta^2) of the built-in kernel);
- a chain with a coordinate beyond BIG (or a non-finite loss) is diverged and stopped (nan outputs).

Data (the built-ins' draws): x ~ N(data_mean 1, data_std^2 I) in dx dimensions from the data
stream of `_data.gaussian_inputs` (or a finite pool, ``pool=N`` with ``scheme``, as the built-ins);
a label y from a linear teacher y = w*'x + noise_std eps or a logistic one (the model's
`label_kind`). The test side is one independent test set of ``test_size`` points (default 4096)
shared by all data sets (population-loss estimate), or each data set's pool test set. Losses are
averaged over the post-burn-in steps at every ``loss_stride``-th step (default: about as often as
their cost allows, the GLM rule of `_simulate`; 1 for an exact comparison).
"""
from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict, namedtuple

import numpy as np
import sympy as sp

from gapkit.sims._settings import BIG
from gapkit.sims.stats._results import RunResult
from gapkit.theory._validate import ArgumentError, check_int

from . import _data, _gencache, _problems, _rng, _symgen
from . import _simulate as _sim
from ._jit import jit, run_blocks

__all__ = ["SymData", "simulate_model", "compiled"]

SymData = namedtuple("SymData", "X y Xt yt tidx")
SymData.__doc__ = """A user model's K data sets: X (K, n, dx), labels y (K, n) (zeros without a label), test sets
Xt (J, nt, dx), yt (J, nt); test side of data set k: tidx[k]."""

_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_OPTS = {"cache": False}  # the generic kernel's generated functions: compiled once per model in memory

# compiled chain loops by what determines their machine code: the kind of kernel, the printed sources and the
# module constants read when they compile (GUARD, BIG); least recently used dropped past _KEEP
_BY_SOURCE: OrderedDict = OrderedDict()
_KEEP = 32
_BY_SOURCE_LOCK = threading.Lock()


def _by_source(key, build):
    """`build()` (a jit dispatcher, compiled lazily on its first call) once per `key` in this process."""
    with _BY_SOURCE_LOCK:
        if key in _BY_SOURCE:
            _BY_SOURCE.move_to_end(key)
            return _BY_SOURCE[key]
        got = _BY_SOURCE[key] = build()
        while len(_BY_SOURCE) > _KEEP:
            _BY_SOURCE.popitem(last=False)
        return got


def _printed(model):
    """The model's parameters as p0, p1, ..., its data as q0, ..., its label as yy: (P, Q, yy, substitution)."""
    P = sp.symbols(f"p0:{model.dim}", real=True)
    Q = sp.symbols(f"q0:{model.dx}", real=True)
    yy = sp.Symbol("yy", real=True)
    sub = dict(zip(model.params, P)) | dict(zip(model.data, Q))
    if model.label is not None:
        sub[model.label] = yy
    return P, Q, yy, sub


def _codegen(model):
    """Source of grad(th, X, Y, k, j, out) and loss(th, X, Y, k, j) at example j of data set k (sympy printed to
    Python math)."""
    P, Q, yy, sub = _printed(model)
    # data read in place (X[k, j, i]): no array views in the hot loop
    head = [f"    p{i} = th[{i}]" for i in range(model.dim)] + [f"    q{i} = X[k, j, {i}]" for i in range(model.dx)]
    head.append("    yy = Y[k, j]")

    def body(exprs):
        reps, red = sp.cse([e.xreplace(sub) for e in exprs], symbols=sp.numbered_symbols("c_"))
        return [f"    {s} = {sp.pycode(e, fully_qualified_modules=True)}" for s, e in reps], \
            [sp.pycode(e, fully_qualified_modules=True) for e in red]

    pre, outs = body(list(model.grad_expr))
    grad = ["def grad(th, X, Y, k, j, out):"] + head + pre + [f"    out[{i}] = {o}" for i, o in enumerate(outs)]
    pre, outs = body([model.loss_expr])
    loss = ["def loss(th, X, Y, k, j):"] + head + pre + [f"    return {outs[0]}"]
    return "\n".join(grad) + "\n", "\n".join(loss) + "\n"


def compiled(model, *, langevin: bool):
    """The model's kernel for Langevin or the minibatch algorithms (module docstring): generated and
    compiled on first use, then cached per (model object, langevin)."""
    cache = _COMPILED.setdefault(model, {})
    key = (bool(langevin),)
    if key not in cache:
        ns: dict = {"math": math}
        srcs = _codegen(model)
        for src in srcs:
            exec(compile(src, f"<gapkit SymbolicModel {model.name}>", "exec"), ns)  # noqa: S102 - our own printout
        grad, loss = jit(ns["grad"], **_OPTS), jit(ns["loss"], **_OPTS)
        cache[key] = _specialised(model, *key, srcs=srcs) or _kernel(grad, loss, *key, srcs=srcs)
    return cache[key]


def _separation(model):
    """`_symgen.separable` of the model's printed gradient (cached per model); None also past MAX_DIM."""
    cache = _COMPILED.setdefault(model, {})
    if "sep" not in cache:
        P, Q, yy, sub = _printed(model)
        sep = _symgen.separable([e.xreplace(sub) for e in model.grad_expr], P, (*Q, yy))
        cache["sep"] = sep if model.dim <= _symgen.MAX_DIM else None
    return cache["sep"]


def _specialised(model, langevin, *, srcs):
    """The model's own chain loop (`_symgen`: scalar coordinates, the gradient inlined; Langevin's D from
    per-data-set moments), or None where it does not apply (too many parameters; Langevin with a gradient
    that does not separate): then the generic kernel runs."""
    P, Q, yy, sub = _printed(model)
    grad = [e.xreplace(sub) for e in model.grad_expr]
    sep = _separation(model)
    if model.dim > _symgen.MAX_DIM or (langevin and sep is None):
        return None
    lsep = _symgen.separable([model.loss_expr.xreplace(sub)], P, (*Q, yy))
    src = _symgen.chains_source(grad, sep if langevin or _symgen.batch_sums(sep, grad) else None, model.dim,
                                model.dx, langevin=langevin, lsep=lsep,
                                lanes=_symgen.lanes_for(model.dim, langevin))
    text = _module_text(model.name, srcs[1], src)
    chains = _by_source(("per-model", text), lambda: _compile_module(text)["chains"])
    none = np.zeros((1, 1, 1))

    gfns = _symgen.data_functions(sep[1], (*Q, yy)) if langevin else None
    lfns = None if lsep is None else _symgen.data_functions(lsep[1], (*Q, yy))

    def run(data, upd, meas, out):
        MU, COV = _symgen.moments(gfns, model.dim, data.X, data.y) if langevin else (none, none)
        ETR, ETE = (none[0], none[0]) if lsep is None else (_symgen.loss_means(lfns, data.X, data.y),
                                                             _symgen.loss_means(lfns, data.Xt, data.yt))
        run_blocks(chains, data.X.shape[0] * meas.M, data, upd, meas, out, MU, COV, ETR, ETE)

    return run


# the mean of the per-example loss over data set k: one text, in the per-model module and in `_mean_loss`
_MEAN_LOSS = """
def mean_loss(th, X, Y, k):
    s = 0.0
    for j in range(X.shape[1]):
        s += loss(th, X, Y, k, j)
    return s / X.shape[1]
"""


def _module_text(name, loss_src, chains_src) -> str:
    """The per-model chain loop as one module: the model's printed loss, its mean over a data set (`_mean_loss`)
    and the chain loop, with everything their machine code depends on written in (`_gencache`)."""
    head = (f"# gapkit: the chain loop of SymbolicModel {name!r}, printed by gapkit.sims.engine._symgen\n"
            f"# {_gencache.dependency_stamp()}\n"
            "import math\n\nimport numpy as np\n\nfrom gapkit.sims.engine import _rng\n\n"
            f"BIG = float('{float(BIG)!r}')\nGUARD = float('{float(_symgen.GUARD)!r}')\n\n\n")  # exact, inf included
    return head + loss_src + "\n" + _MEAN_LOSS + "\n\n" + chains_src


def _compile_module(text):
    """Run the printed module `text` (this process's own printout) and wrap its functions with `jit`. Its file
    name is the `_gencache` file holding the same text, so Numba caches the compiled loop on disk (a second
    process, a re-run notebook, loads it); where no such file can be written, compiled in memory only."""
    path = _gencache.source_file(text, "symbolic_chains")
    if path is None:
        ns: dict = {}
        exec(compile(text, "<gapkit SymbolicModel chains>", "exec"), ns)  # noqa: S102 - our own printout
    else:  # a module by its file's name in sys.modules: Numba's cache names the module of what it compiled
        ns = _gencache.module(text, path).__dict__
    for fn in ("loss", "mean_loss", "chains"):  # callees first: each is resolved from ns when its caller compiles
        ns[fn] = jit(ns[fn], cache=path is not None)
    return ns


def _steps(grad):
    """The two update steps (module docstring) around the model's compiled per-example gradient."""

    @jit(**_OPTS)
    def minibatch_step(th, v, g, gj, G, C, z, data, k, upd, lt, st):
        """Eq 15 (algo 1) / Eq 16 (algo 2) on B examples drawn with replacement; returns the stream state."""
        s0, s1, s2, s3 = st
        X, Y = data.X, data.y
        d, n, B = th.shape[0], X.shape[1], upd.B
        for i in range(d):
            g[i] = 0.0
        for b in range(0, B, 2):
            p, q, s0, s1, s2, s3 = _rng.index_pair(n, s0, s1, s2, s3)
            grad(th, X, Y, k, p, gj)
            for i in range(d):
                g[i] += gj[i]
            if b + 1 < B:
                grad(th, X, Y, k, q, gj)
                for i in range(d):
                    g[i] += gj[i]
        invB = 1.0 / B
        bnoise = upd.beta * math.sqrt(invB)
        for i in range(d):
            gi = g[i] * invB
            if upd.beta != 0.0:
                z, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)
                gi += bnoise * z
            if upd.algo == 1:
                th[i] -= lt * (gi + upd.alpha * th[i])
            else:
                v[i] = upd.mu * v[i] + gi + upd.alpha * th[i]
                th[i] -= lt * v[i]
        return s0, s1, s2, s3

    @jit(**_OPTS)
    def langevin_step(th, v, g, gj, G, C, z, data, k, upd, lt, st):
        """Euler-Maruyama of Eq 17 with the exact D(theta, x_l) (centred covariance of the rows of G)."""
        s0, s1, s2, s3 = st
        X, Y = data.X, data.y
        d, n = th.shape[0], X.shape[1]
        for j in range(n):
            grad(th, X, Y, k, j, gj)
            for i in range(d):
                G[j, i] = gj[i]
        for i in range(d):
            g[i] = 0.0
            for j in range(n):
                g[i] += G[j, i]
            g[i] /= n
        for i in range(d):
            for l in range(i + 1):
                c = 0.0
                for j in range(n):
                    c += (G[j, i] - g[i]) * (G[j, l] - g[l])
                C[i, l] = c / n + (upd.beta * upd.beta if i == l else 0.0)
        for i in range(d):  # in-place Cholesky (lower); a zero pivot (D singular, beta = 0) gives a zero column
            for l in range(i + 1):
                c = C[i, l]
                for q in range(l):
                    c -= C[i, q] * C[l, q]
                if i == l:
                    C[i, i] = math.sqrt(c) if c > 0.0 else 0.0
                else:
                    C[i, l] = c / C[l, l] if C[l, l] > 0.0 else 0.0
        for i in range(d):
            zi, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)
            z[i] = zi
        sq = math.sqrt(upd.dt / upd.B)
        for i in range(d):
            nz = 0.0
            for l in range(i + 1):
                nz += C[i, l] * z[l]
            g[i] = -lt * upd.dt * (g[i] + upd.alpha * th[i]) + lt * sq * nz
        for i in range(d):
            th[i] += g[i]
        return s0, s1, s2, s3

    return minibatch_step, langevin_step


def _mean_loss(loss):
    """The compiled mean of the model's per-example loss over data set k's n points (the generic kernel's; the
    per-model module holds the same text, `_MEAN_LOSS`)."""
    ns: dict = {"loss": loss}
    exec(compile(_MEAN_LOSS, "<gapkit SymbolicModel mean_loss>", "exec"), ns)  # noqa: S102 - our own text
    return jit(ns["mean_loss"], **_OPTS)


def _kernel(grad, loss, langevin, *, srcs):
    """The generic kernel (module docstring) around the model's compiled grad and loss (printed as `srcs`), for
    Langevin or the minibatch algorithms (only that step is compiled), run over blocks of chains on the kernel
    threads (`_jit.run_blocks`: the same numbers for any thread count, every chain owning its stream)."""
    chains = _by_source(("generic", *srcs, bool(langevin), BIG), lambda: _generic_chains(grad, loss, langevin))

    def run(data, upd, meas, out):
        run_blocks(chains, data.X.shape[0] * meas.M, data, upd, meas, out)

    return run


def _generic_chains(grad, loss, langevin):
    """The generic kernel's chain loop (a jit dispatcher) around the compiled grad and loss."""
    minibatch_step, langevin_step = _steps(grad)
    step = langevin_step if langevin else minibatch_step
    mean_loss = _mean_loss(loss)

    @jit(**_OPTS)
    def chains(c0, c1, data, upd, meas, out):
        """Chains c0, ..., c1 - 1 (chain c: data set c // M, chain c % M); each writes its own output slots."""
        n, d = data.X.shape[1], out.theta.shape[2]
        steps, nrec, M = upd.lams.shape[0], out.tr_train.shape[2], meas.M
        for ch in range(c0, c1):
            k = ch // M
            m = ch - k * M
            st = _rng.stream(meas.seed, np.uint64(_rng.TAG_CHAIN), k, m)
            kt = data.tidx[k]
            th, v, g, gj, z = np.zeros(d), np.zeros(d), np.empty(d), np.empty(d), np.empty(d)
            G, C = np.empty((n if upd.algo == 0 else 1, d)), np.empty((d, d))
            atr, ate, cnt, bad = 0.0, 0.0, 0, False
            for t in range(steps):
                st = step(th, v, g, gj, G, C, z, data, k, upd, upd.lams[t], st)
                for i in range(d):
                    if not (abs(th[i]) <= BIG):
                        bad = True
                if bad:
                    break
                measure = t >= meas.burnin and (t - meas.burnin) % meas.stride == 0
                r = (t + 1) // meas.rec - 1 if nrec > 0 and (t + 1) % meas.rec == 0 else nrec
                if measure or r < nrec:
                    ltr, lte = mean_loss(th, data.X, data.y, k), mean_loss(th, data.Xt, data.yt, kt)
                    if not (abs(ltr) <= BIG and abs(lte) <= BIG):
                        bad = True
                        break
                    if measure:
                        atr += ltr
                        ate += lte
                        cnt += 1
                    if r < nrec:
                        out.tr_train[k, m, r] = ltr
                        out.tr_test[k, m, r] = lte
                        for i in range(d):
                            out.tr_theta[k, m, r, i] = th[i]
            for i in range(d):
                out.theta[k, m, i] = th[i]
            out.div[k, m] = bad
            out.train[k, m] = np.nan if bad or cnt == 0 else atr / cnt
            out.test[k, m] = np.nan if bad or cnt == 0 else ate / cnt

    return chains


# ---------------------------------------------------------------- the Python side
def _problem(model, p, *, test_size) -> _problems.Problem:
    """The K data sets of the model (module docstring) as a `_problems.Problem` (kind "symbolic")."""
    s64 = _rng.seed64(p["seed"])
    ps = p["problem_seed"]
    p64 = s64 if ps is None else _rng.seed64(ps)
    K, n, dx = p["datasets"], p["n"], model.dx
    logistic = model.label_kind == "logistic"
    w_star = _data.teacher(p64, dx) if model.label is not None else None
    if p["pool"] is None:
        X = _data.gaussian_inputs(s64, K, n, dx, p["data_mean"], p["data_std"])
        Xt = _data.gaussian_inputs(p64, 1, test_size, dx, p["data_mean"], p["data_std"], tag=_rng.TAG_INIT)
        y, yt = np.zeros((K, n)), np.zeros((1, test_size))
        if w_star is not None:
            y = _data.labels(s64, X, w_star, noise_std=p["noise_std"], logistic=logistic)
            yt = _data.labels(p64, Xt, w_star, noise_std=p["noise_std"], logistic=logistic, tag=_rng.TAG_INIT)
        tidx = np.zeros(K, dtype=np.int64)
        src = f"independent test set of {test_size} points shared by all data sets (population loss estimate)"
    else:
        dr = _problems._pool_draws(s64, p64, K=K, n=n, din=dx, pool=p["pool"], scheme=p["scheme"],
                                   data_mean=p["data_mean"], data_std=p["data_std"])
        P = dr["P"][0]
        yp = np.zeros(P.shape[0]) if w_star is None else _data.labels(
            p64, dr["P"], w_star, noise_std=p["noise_std"], logistic=logistic, tag=_rng.TAG_POOL)[0]
        X, y, Xt, yt = P[dr["train"]], yp[dr["train"]], P[dr["test"]], yp[dr["test"]]
        tidx, src = np.arange(K, dtype=np.int64), dr["source"]
    arrays = {"Xt": np.ascontiguousarray(Xt), "yt": np.ascontiguousarray(yt, dtype=np.float64)}
    return _problems.Problem(f"symbolic:{model.name}", "symbolic", model.dim, np.ascontiguousarray(X),
                             np.ascontiguousarray(y, dtype=np.float64), tidx, src, curvature=model.curvature,
                             arrays=arrays, teacher=w_star)


def _stride(model, prob, p, steps, burnin, loss_stride) -> int:
    """Default: evaluate the losses (n + test-set examples) about as often as a step costs as much; a Langevin
    step costs n gradients in the generic kernel and O(1) with D from moments (`_specialised`)."""
    if loss_stride is not None:
        return check_int("loss_stride", loss_stride, 1)
    step_cost = p["batch"]
    if p["algo"] == "langevin" and _separation(model) is None:
        step_cost = p["n"]
    eval_cost = p["n"] + prob.arrays["Xt"].shape[1]
    return max(1, min(eval_cost // max(step_cost, 1), max(1, (steps - burnin) // 50)))


def _checked(model, dim, kw) -> dict:
    """The keywords shared with the built-in models, checked by `_simulate._checked` (as for a model without
    options), and this module's own: test_size, loss_stride, problem_seed."""
    from gapkit.theory._symbolic import SymbolicModel

    if not isinstance(model, SymbolicModel):
        raise ArgumentError(f"model must be a model name or a gapkit.theory.SymbolicModel (got {type(model).__name__})",
                            param="model")
    if dim not in (1, model.dim):
        raise ArgumentError(f"dim is the model's own ({model.dim} parameters); got dim={dim}", param="dim")
    extra = sorted(set(kw) - {"test_size", "loss_stride", "problem_seed"})
    if extra:
        raise ArgumentError(f"unknown option(s) {extra} for a SymbolicModel (allowed: test_size, loss_stride, "
                            "problem_seed)", param="model_kwargs")
    own = {"test_size": check_int("test_size", kw.get("test_size", 4096), 1),
           "loss_stride": None if kw.get("loss_stride") is None else check_int("loss_stride", kw["loss_stride"], 1),
           "problem_seed": None if kw.get("problem_seed") is None else check_int("problem_seed", kw["problem_seed"], 0)}
    return own


def simulate_model(model, *, steps, burnin, dim, model_kwargs, **shared):
    """`gapkit.sims.simulate` for a `gapkit.theory.SymbolicModel` (module docstring): the same keywords
    (`simulate` passes them all), the same `RunResult` (config["model"] = "symbolic:<name>", config["loss"]
    the sympy loss); model_kwargs: test_size, loss_stride, problem_seed."""
    import time

    t0 = time.perf_counter()
    own = _checked(model, dim, model_kwargs)
    p = _sim._checked(model="linreg", dim=model.dim, model_kwargs={}, **shared)
    p.update(model=f"symbolic:{model.name}", problem_seed=own["problem_seed"],
             model_kwargs={k: v for k, v in own.items() if v is not None})
    prob = _problem(model, p, test_size=own["test_size"])
    steps, burnin, rule, asked = _sim._run_length(prob, p, steps, burnin)
    stride = _stride(model, prob, p, steps, burnin, own["loss_stride"])
    arrays = _run(model, prob, p, steps, burnin, stride)
    config = _sim._config(prob, p, steps=steps, burnin=burnin, rule=rule, stride=stride, asked=asked)
    config["loss"] = str(model.loss_expr)
    theory = {"note": "no closed form for a user's model: compare with SymbolicModel.fokker_planck (Eq 47) "
                      "or the exact engine on SymbolicModel.universe"}
    return RunResult(config=config, summary=_sim._summary(prob, config, arrays), theory=theory, arrays=arrays,
                          problem=prob, timings={"wall_seconds": time.perf_counter() - t0})



def _run(model, prob, p, steps, burnin, stride) -> dict:
    """Allocate the outputs and run the compiled kernel; the arrays of `simulate`."""
    every = p["record_every"]
    out, upd, meas = _sim.kernel_inputs(prob, p, steps, burnin, stride)
    a = prob.arrays
    data = SymData(prob.X, prob.y, a["Xt"], a["yt"], prob.tidx)
    compiled(model, langevin=p["algo"] == "langevin")(data, upd, meas, out)
    arrays = {"train": out.train, "test": out.test, "diverged": out.div, "theta_final": out.theta}
    if every:
        arrays.update(trace_train=out.tr_train, trace_test=out.tr_test, trace_theta=out.tr_theta)
    return arrays


# ---------------------------------------------------------------- benchmark (`gapkit bench --symbolic`)
#: S1: plain SGD (Eq 15), 1-D quadratic, B = 8; S2: Langevin (Eq 17); S3, S4: the same on the double well
#: l = (t^2 - 1)^2 / 4 + (x t + 1)^2 / 4 (no hand-written kernel: the reference is quad1d on the same workload,
#: the cost a hand-written 1-D kernel has). Same data, seeds and steps for both sides.
SYMBOLIC_WORKLOADS = {
    "S1": dict(model="quadratic", algo="sgd", batch=8, n=50, datasets=2000, chains=2, steps=2000),
    "S2": dict(model="quadratic", algo="langevin", batch=1, n=50, datasets=2000, chains=2, steps=2000, beta=0.2),
    "S3": dict(model="double well", algo="sgd", batch=8, n=50, datasets=2000, chains=2, steps=2000),
    "S4": dict(model="double well", algo="langevin", batch=1, n=50, datasets=2000, chains=2, steps=2000, beta=0.2),
}
SYMBOLIC_QUICK = dict(datasets=200, steps=500)


def _bench_models() -> dict:
    from gapkit.theory._symbolic import SymbolicModel, quadratic_model

    t, x = sp.symbols("t x", real=True)
    return {"quadratic": quadratic_model(1.0),
            "double well": SymbolicModel((t**2 - 1) ** 2 / 4 + (x * t + 1) ** 2 / 4, [t], [x], name="double well")}


def _timed(runs, repeats, work) -> list[dict]:
    """Throughput records of each of `runs` (model, keywords): one warm-up each (compilation stays out of the
    timings), then the repeats interleaved (a, b, a, b, ...), so that both sides see the same machine load."""
    import statistics
    import time

    for m, kw in runs:
        _sim.simulate(model=m, **kw)
    ts: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for (m, kw), t in zip(runs, ts):
            t0 = time.perf_counter()
            _sim.simulate(model=m, **kw)
            t.append(time.perf_counter() - t0)
    return [{"throughput": work / statistics.median(t), "throughput_min": work / max(t),
             "throughput_max": work / min(t), "seconds_median": statistics.median(t)} for t in ts]


def bench_vs_builtin(*, quick=False, repeats=3, seed=0) -> list[dict]:
    """Throughput (chain-steps / s, median of `repeats` whole `simulate` calls after a warm-up that compiles,
    interleaved with the built-in's) of a compiled SymbolicModel against the built-in ``quadratic1d`` on S1-S4; ratio = symbolic / built-in
    (1 = as fast). The symbolic runs measure losses on a 50-point test set at the default loss stride (the
    built-in uses the closed-form population loss at every step)."""
    models = _bench_models()
    out = []
    for name, base in SYMBOLIC_WORKLOADS.items():
        w = {**base, **(SYMBOLIC_QUICK if quick else {})}
        sim = {k: v for k, v in w.items() if k != "model"}
        kw = dict(lr=0.05, seed=seed, burnin=w["steps"] // 4, **sim)
        work = w["datasets"] * w["chains"] * w["steps"]
        builtin, symbolic = _timed([("quadratic1d", kw), (models[w["model"]], {**kw, "test_size": 50})], repeats, work)
        rec = {"name": name, "config": {**w, "lr": 0.05, "burnin": kw["burnin"], "test_size": 50}, "chain_steps": work,
               "builtin": builtin, "symbolic": symbolic}
        rec["ratio"] = rec["symbolic"]["throughput"] / rec["builtin"]["throughput"]
        cfg = ", ".join(f"{k}={v}" for k, v in sim.items())
        rec.update(rec["symbolic"], ratio_vs_numpy=None, ratio_vs_c=None,
                   desc=f"{w['algo']} on a SymbolicModel {w['model']} ({cfg}; median of {repeats}): "
                        f"x{rec['ratio']:.2f} of the hand-written quad1d")
        out.append(rec)
    return out
