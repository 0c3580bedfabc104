"""Numba kernels of the simulators (paper Eqs 15, 16, 17; cosine schedule of Section 2.3).

Private: the wrappers in `_simulate.py` validate, allocate and call these.
One kernel per model kind, each running the three algorithms (codes in ALGOS),
each taking four structs (namedtuples): the data sets (`QuadData` / `GlmData`),
the update rule (`Update`), what to measure (`Measure`) and the outputs
(`Outputs`). Per-example losses and gradients of the GLMs come from `_losses`
(the one numeric definition of each toy loss):

- ``langevin`` (Euler-Maruyama of Eq 17, step dt in units of updates):
      theta' = theta - lam_t (dU_l + alpha theta) dt + sqrt(lam_t T_t dt) (D + beta^2 I)^{1/2} z,
  with the model's exact D(theta, x_l). Quadratic: D = H Sx H is constant, so
  (D + beta^2 I)^{1/2} is replaced by its Cholesky factor L (L L' = D + beta^2 I:
  same Gaussian law). GLMs (linreg, rfridge, logreg): no matrix root; the noise is
  G'z / sqrt(n) + beta z' with G the centred per-example gradient matrix
  (Cov = D + beta^2 I exactly), n + d normals per step.
- ``sgd`` (Eq 15): B indices drawn WITH replacement,
      theta' = theta - (lam_t / B) sum_b dl(x_b, theta) - lam_t alpha theta + sqrt(lam_t T_t) beta w,  T_t = lam_t / B.
- ``momentum`` (Eq 16, PyTorch form), beta noise added to the minibatch gradient:
      v' = mu v + g + alpha theta,  g = (1/B) sum_b dl(x_b, theta) + (beta / sqrt(B)) w,  theta' = theta - lam_t v'.
  At mu = 0 this is Eq 15 exactly (the convention of `gapkit.theory._lyapunov`).

lam_t comes from the schedule array ``lams`` (constant lam, or the cosine
schedule lam_t = lam cos(pi t / (2 t_f)); T_t = lam_t / B throughout, so the
paper's T is the initial one).

Chains run in contiguous blocks on threads (`_jit.run_blocks`), one call of the
per-chain code per block. The minibatch algorithms on a GLM with few parameters
have a second kernel, compiled for that number (`_glm_minibatch_fixed`, picked by
`glm_kernel`), which gives the generic kernel's bits. Per chain (data set k, chain m): its own stream (seed, TAG_CHAIN, k, m), its
own accumulators; outputs are written to that chain's slots only, so results
are bit-identical whatever the thread count. Losses are averaged over the
post-burn-in steps t >= burnin at every ``stride``-th step (stride = 1 for the
quadratic models). A chain whose parameters become non-finite or exceed BIG in
absolute value is marked diverged and stopped (its outputs are nan).
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba.cpython.unsafe.tuple import tuple_setitem
from gapkit.sims._settings import BIG  # |theta| beyond this is divergence (a compile-time constant)

from . import _rng
from ._jit import jit, run_blocks, specialised
from ._losses import glm_dphi, glm_phi

__all__ = ["ALGOS", "BIG", "QuadData", "GlmData", "Update", "Measure", "Outputs", "quad1d", "quad", "glm",
           "glm_kernel", "compile_fixed", "FIXED_P_MAX", "FIXED_MIN_WORK"]

ALGOS = {"langevin": 0, "sgd": 1, "momentum": 2}

# The kernels' inputs, packed (Numba passes namedtuples of arrays and scalars by value, typed per field).
QuadData = namedtuple("QuadData", "x xbar trs noise tcen tconst tidx h")
QuadData.__doc__ = """A quadratic model's K data sets. quad1d: x (K, n), xbar (K,), trs (K,) = S^2, noise (K,) =
sqrt(h^2 S^2 + beta^2); quad: x (K, n, d), xbar (K, d), trs (K,) = tr Sx, noise (K, d, d) Cholesky factor of
h^2 Sx + beta^2 I. Test side j = tidx[k]: loss (h/2)(|theta - tcen[j]|^2 + tconst[j])."""
GlmData = namedtuple("GlmData", "X y logistic A c q At ct qt Xt yt tidx")
GlmData.__doc__ = """A generalised linear model's K data sets: features X (K, n, p), labels y (K, n), logistic
(bool); least squares: train statistics A, c, q and test statistics At, ct, qt; logistic: test set Xt, yt;
test side of data set k: tidx[k]."""
Update = namedtuple("Update", "algo lams B alpha beta mu dt")
Update.__doc__ = """The update rule: algo code (ALGOS), schedule lams (steps,), batch B, ridge alpha, noise
beta, momentum mu, Euler-Maruyama step dt."""
Measure = namedtuple("Measure", "burnin stride rec seed M")
Measure.__doc__ = """Averaging from step burnin at every stride-th step, a record every rec steps, root seed
(uint64) of the chains' streams, M chains per data set."""
Outputs = namedtuple("Outputs", "train test div theta tr_train tr_test tr_theta")
Outputs.__doc__ = """Per chain: train, test (K, M) time averages, div (K, M) bool, theta (K, M, d) final state;
records tr_train, tr_test (K, M, nrec), tr_theta (K, M, nrec, d) (nrec = 0: none)."""


@jit
def _bad(x):
    return not (abs(x) <= BIG)  # True for nan and inf too


# ---------------------------------------------------------------- quadratic, 1-D
def quad1d(data, upd, meas, out):
    """1-D quadratic l = (h/2)(theta - x)^2 (QuadData of 1-D arrays); chains in blocks on threads (`run_blocks`).
    Langevin without records runs the lane kernel, everything else the general loop: chosen here, not inside
    a kernel, so that neither kernel's compilation includes the other's (a first run compiles each once)."""
    lanes = upd.algo == 0 and out.tr_train.shape[2] == 0
    run_blocks(_quad1d_langevin_lanes if lanes else _quad1d_chains, data.x.shape[0] * meas.M, data, upd, meas, out)


# chains advanced side by side by the lane kernel (`_quad1d_langevin_lanes`): its
# per-lane loops vectorise across chains (AVX2/AVX-512), and 32 lanes fill two 16-wide vector iterations
LANES = 32
Lanes = namedtuple("Lanes", "s0 s1 s2 s3 u ok z")
Lanes.__doc__ = """Per lane: xoshiro256+ state s0..s3, scratch for the lanes' normals: draw u, accepted ok, value z."""
Lanes1d = namedtuple("Lanes1d", "th atr ate dead a0 xb tc sd")
Lanes1d.__doc__ = """Per lane of the 1-D Langevin kernel: theta, loss sums, diverged, drift constant, xbar, test
centre, noise scale."""


@jit
def _new_lanes(nl):
    """`Lanes` for nl lanes."""
    return Lanes(np.empty(nl, np.uint64), np.empty(nl, np.uint64), np.empty(nl, np.uint64), np.empty(nl, np.uint64),
                 np.empty(nl, np.uint64), np.empty(nl, np.bool_), np.empty(nl))


@jit
def _quad1d_finish(k, m, th, atr, ate, bad, cnt, h, ts, tk, out):
    """Write chain (k, m)'s outputs (1-D quadratic): final theta, divergence, time-averaged losses (nan if diverged)."""
    out.theta[k, m, 0] = th
    out.div[k, m] = bad
    if bad or cnt <= 0:
        out.train[k, m] = np.nan
        out.test[k, m] = np.nan
    else:
        out.train[k, m] = 0.5 * h * (atr / cnt + ts)
        out.test[k, m] = 0.5 * h * (ate / cnt + tk)


@jit
def _quad1d_langevin_lanes(c0, c1, data, upd, meas, out):
    """The hot path of Langevin ensembles (bench W1; no records): chains c0, ..., c1 - 1, LANES at a time in
    lockstep (`_langevin1d_group`), one stream per lane. Per chain the same draws and the same arithmetic in
    the same order as the general loop of `_quad1d_chains`, so the same bits."""
    h, lams, dt, burnin, M = data.h, upd.lams, upd.dt, meas.burnin, meas.M
    sq_dt_B = math.sqrt(dt * (1.0 / upd.B))
    steps = lams.shape[0]
    nl = min(LANES, c1 - c0)
    ln = _new_lanes(nl)
    s0, s1, s2, s3 = ln.s0, ln.s1, ln.s2, ln.s3
    c = Lanes1d(np.empty(nl), np.empty(nl), np.empty(nl), np.empty(nl, np.bool_), np.empty(nl), np.empty(nl),
                np.empty(nl), np.empty(nl))
    kk, mm = np.empty(nl, np.int64), np.empty(nl, np.int64)
    for g0 in range(c0, c1, nl):
        real = min(nl, c1 - g0)  # lanes past the last chain repeat it and write nothing
        for l in range(nl):
            ch = g0 + min(l, real - 1)
            k = ch // M
            m = ch - k * M
            kk[l] = k
            mm[l] = m
            s0[l], s1[l], s2[l], s3[l] = _rng.stream(meas.seed, np.uint64(_rng.TAG_CHAIN), k, m)
            c.xb[l] = data.xbar[k]
            c.tc[l] = data.tcen[data.tidx[k]]
            c.sd[l] = data.noise[k] * sq_dt_B
            c.a0[l] = dt * h * c.xb[l]
            c.th[l] = 0.0
            c.atr[l] = 0.0
            c.ate[l] = 0.0
            c.dead[l] = l >= real
        _langevin1d_group(ln, c, h + upd.alpha, dt, lams, burnin, real)
        for l in range(real):
            k = kk[l]
            _quad1d_finish(k, mm[l], c.th[l], c.atr[l], c.ate[l], c.dead[l], steps - burnin, h, data.trs[k],
                           data.tconst[data.tidx[k]], out)


@jit
def _langevin1d_group(ln, c, k_, dt, lams, burnin, real):
    """All steps of one group of lanes (`Lanes`, `Lanes1d`; the first `real` lanes are chains, dead
    marks the others). A lane whose theta goes bad stops there: th, atr, ate keep that step's values, dead
    is set; it runs on with scratch values so that the other lanes' loops stay branch-free (the loops take
    their arrays as arguments: the vectoriser then sees them as distinct)."""
    s0, s1, s2, s3, u, ok, z = ln
    th, atr, ate, dead, a0, xb, tc, sd = c
    nl = s0.shape[0]
    fth, fatr, fate = np.empty(nl), np.empty(nl), np.empty(nl)
    for l in range(nl):
        fth[l] = th[l]
    live = real
    for t in range(lams.shape[0]):
        lt = lams[t]
        a = 1.0 - lt * dt * k_
        # one normal per lane (`_rng.std_normal` on each lane's stream): the Ziggurat's fast path for
        # all lanes in one vectorised loop, then the rare rejected lanes one by one
        nok = 0
        for l in range(nl):
            x, s0[l], s1[l], s2[l], s3[l] = _rng.next_u64(s0[l], s1[l], s2[l], s3[l])
            u[l] = x
            zl, o = _rng.normal_fast(x)
            z[l] = zl
            ok[l] = o
            nok += np.int64(o)
        if nok < nl:
            for l in range(nl):
                if not ok[l]:
                    z[l], s0[l], s1[l], s2[l], s3[l] = _rng.normal_slow(u[l], s0[l], s1[l], s2[l], s3[l])
        nbad = 0
        if t >= burnin:
            for l in range(nl):
                x = th[l] * a + lt * (a0[l] + sd[l] * z[l])
                th[l] = x
                bd = not (abs(x) <= BIG)
                nbad += np.int64(bd)
                e = x - xb[l]
                f = x - tc[l]
                atr[l] = atr[l] if bd else atr[l] + e * e
                ate[l] = ate[l] if bd else ate[l] + f * f
        else:
            for l in range(nl):
                x = th[l] * a + lt * (a0[l] + sd[l] * z[l])
                th[l] = x
                nbad += np.int64(not (abs(x) <= BIG))
        if nbad > 0:
            for l in range(nl):
                if _bad(th[l]):
                    if not dead[l]:
                        dead[l] = True
                        fth[l] = th[l]
                        fatr[l] = atr[l]
                        fate[l] = ate[l]
                        if l < real:
                            live -= 1
                    th[l] = 0.0
            if live == 0:
                break
    for l in range(real):
        if dead[l]:
            th[l] = fth[l]
            atr[l] = fatr[l]
            ate[l] = fate[l]


@jit
def _quad1d_chains(c0, c1, data, upd, meas, out):
    """Chains c0, ..., c1 - 1 (chain c: data set c // M, chain c % M); each writes its own output slots. Any
    algorithm, records or not (`quad1d` gives Langevin without records to `_quad1d_langevin_lanes`)."""
    x, h, lams, B, algo = data.x, data.h, upd.lams, upd.B, upd.algo
    alpha, beta, mu, dt = upd.alpha, upd.beta, upd.mu, upd.dt
    burnin, rec = meas.burnin, meas.rec
    n = x.shape[1]
    steps = lams.shape[0]
    invB = 1.0 / B
    bnoise = beta * math.sqrt(invB)
    sq_dt_B = math.sqrt(dt * invB)
    nrec = out.tr_train.shape[2]
    M = meas.M
    for ch in range(c0, c1):
        k = ch // M
        m = ch - k * M
        s0, s1, s2, s3 = _rng.stream(meas.seed, np.uint64(_rng.TAG_CHAIN), k, m)
        xb = data.xbar[k]
        ts = data.trs[k]
        sd = data.noise[k] * sq_dt_B
        kt = data.tidx[k]
        tc = data.tcen[kt]
        tk = data.tconst[kt]
        th = 0.0
        v = 0.0
        atr = 0.0
        ate = 0.0
        bad = False
        k_ = h + alpha
        for t in range(steps):
            lt = lams[t]
            # written as th * a + b so the loop-carried dependency is one multiply-add
            # (no fastmath: the compiler may not reassociate, and latency bounds the speed)
            if algo == 0:
                z, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)
                # sqrt(lam_t T_t dt) = lam_t sqrt(dt / B)
                th = th * (1.0 - lt * dt * k_) + lt * (dt * h * xb + sd * z)
            else:
                xs = 0.0
                for b in range(0, B - 1, 2):
                    i, j, s0, s1, s2, s3 = _rng.index_pair(n, s0, s1, s2, s3)
                    xs += x[k, i] + x[k, j]
                if B % 2 == 1:
                    i, j, s0, s1, s2, s3 = _rng.index_pair(n, s0, s1, s2, s3)
                    xs += x[k, i]
                bn = 0.0
                if beta != 0.0:
                    z, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)
                    bn = bnoise * z
                if algo == 1:
                    th = th * (1.0 - lt * k_) + lt * (h * xs * invB - bn)
                else:
                    v = mu * v + (h * (th - xs * invB) + bn) + alpha * th
                    th = th - lt * v
            if _bad(th):
                bad = True
                break
            if t >= burnin:
                e = th - xb
                f = th - tc
                atr += e * e
                ate += f * f
            if nrec > 0 and (t + 1) % rec == 0:
                r = (t + 1) // rec - 1
                if r < nrec:
                    e = th - xb
                    f = th - tc
                    out.tr_train[k, m, r] = 0.5 * h * (e * e + ts)
                    out.tr_test[k, m, r] = 0.5 * h * (f * f + tk)
                    out.tr_theta[k, m, r, 0] = th
        _quad1d_finish(k, m, th, atr, ate, bad, steps - burnin, h, ts, tk, out)


# ---------------------------------------------------------------- quadratic, d-dim
def quad(data, upd, meas, out):
    """d-dim quadratic l = (h/2)|theta - x|^2 (H = h I; QuadData of d-dim arrays, noise = Cholesky
    factor of h^2 Sx + beta^2 I, Langevin only); chains in blocks on threads (`run_blocks`)."""
    run_blocks(_quad_chains, data.x.shape[0] * meas.M, data, upd, meas, out)


@jit
def _quad_chains(c0, c1, data, upd, meas, out):
    """Chains c0, ..., c1 - 1 (chain c: data set c // M, chain c % M); each writes its own output slots."""
    x, xbar, L, trs, tcen, tconst, h = data.x, data.xbar, data.noise, data.trs, data.tcen, data.tconst, data.h
    algo, lams, B, alpha, beta, mu, dt = upd.algo, upd.lams, upd.B, upd.alpha, upd.beta, upd.mu, upd.dt
    burnin, rec = meas.burnin, meas.rec
    n, d = x.shape[1], x.shape[2]
    steps = lams.shape[0]
    invB = 1.0 / B
    bnoise = beta * math.sqrt(invB)
    sq_dt_B = math.sqrt(dt * invB)
    nrec = out.tr_train.shape[2]
    M = meas.M
    for ch in range(c0, c1):
        k = ch // M
        m = ch - k * M
        s0, s1, s2, s3 = _rng.stream(meas.seed, np.uint64(_rng.TAG_CHAIN), k, m)
        kt = data.tidx[k]
        th = np.zeros(d)
        v = np.zeros(d)
        g = np.empty(d)
        z = np.empty(d)
        atr = 0.0
        ate = 0.0
        bad = False
        for t in range(steps):
            lt = lams[t]
            if algo == 0:
                for i in range(d):
                    zi, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)
                    z[i] = zi
                for i in range(d):
                    nz = 0.0
                    for j in range(i + 1):
                        nz += L[k, i, j] * z[j]
                    g[i] = -lt * dt * (h * (th[i] - xbar[k, i]) + alpha * th[i]) + lt * sq_dt_B * nz
                for i in range(d):
                    th[i] += g[i]
            else:
                for i in range(d):
                    g[i] = 0.0
                for b in range(0, B, 2):
                    p, q, s0, s1, s2, s3 = _rng.index_pair(n, s0, s1, s2, s3)
                    for i in range(d):
                        g[i] += x[k, p, i]
                    if b + 1 < B:
                        for i in range(d):
                            g[i] += x[k, q, i]
                for i in range(d):
                    gi = h * (th[i] - g[i] * invB)
                    if beta != 0.0:
                        zi, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)
                        gi += bnoise * zi
                    if algo == 1:
                        th[i] -= lt * (gi + alpha * th[i])
                    else:
                        v[i] = mu * v[i] + gi + alpha * th[i]
                        th[i] -= lt * v[i]
            e2 = 0.0
            f2 = 0.0
            for i in range(d):
                e = th[i] - xbar[k, i]
                f = th[i] - tcen[kt, i]
                e2 += e * e
                f2 += f * f
            if _bad(e2) or _bad(f2):
                bad = True
                break
            if t >= burnin:
                atr += e2
                ate += f2
            if nrec > 0 and (t + 1) % rec == 0:
                r = (t + 1) // rec - 1
                if r < nrec:
                    out.tr_train[k, m, r] = 0.5 * h * (e2 + trs[k])
                    out.tr_test[k, m, r] = 0.5 * h * (f2 + tconst[kt])
                    for i in range(d):
                        out.tr_theta[k, m, r, i] = th[i]
        cnt = steps - burnin
        for i in range(d):
            out.theta[k, m, i] = th[i]
        out.div[k, m] = bad
        if bad or cnt <= 0:
            out.train[k, m] = np.nan
            out.test[k, m] = np.nan
        else:
            out.train[k, m] = 0.5 * h * (atr / cnt + trs[k])
            out.test[k, m] = 0.5 * h * (ate / cnt + tconst[kt])


# ---------------------------------------------------------------- generalised linear models
@jit
def _qform(w, A, c, q):
    """(1/2)(w'Aw - 2 c'w + q): the least-squares loss from its sufficient statistics
    (loop form of `_losses.lsq_suff_loss`)."""
    p = w.shape[0]
    s = q
    for i in range(p):
        r = 0.0
        for j in range(p):
            r += A[i, j] * w[j]
        s += w[i] * (r - 2.0 * c[i])
    return 0.5 * s


@jit
def _lsq_losses(w, k, kt, A, c, q, At, ct, qt):
    """(train loss of data set k, test loss of test side kt) at w, from the sufficient statistics."""
    return _qform(w, A[k], c[k], q[k]), _qform(w, At[kt], ct[kt], qt[kt])


@jit
def _logit_losses(w, k, kt, X, y, Xt, yt):
    """(train loss of data set k, test loss of test set kt) at w: means of `_losses.glm_phi`."""
    n, p = X.shape[1], X.shape[2]
    tr = 0.0
    for j in range(n):
        a = 0.0
        for i in range(p):
            a += X[k, j, i] * w[i]
        tr += glm_phi(a, y[k, j], True)
    nt = Xt.shape[1]
    te = 0.0
    for j in range(nt):
        a = 0.0
        for i in range(p):
            a += Xt[kt, j, i] * w[i]
        te += glm_phi(a, yt[kt, j], True)
    return tr / n, te / nt


# The minibatch algorithms on a GLM with at most FIXED_P_MAX parameters run `_glm_minibatch_fixed`, compiled
# for that p, once a run has at least FIXED_MIN_WORK chain-steps (it then pays back its 1-2 s compilation on
# the first run; it is cached on disk after it). Same operations in the same order: the same bits as
# `_glm_chains` (tests/test_simulate.py), so which one ran never shows in a result.
FIXED_P_MAX = 10
FIXED_MIN_WORK = 4_000_000


def glm(data, upd, meas, out):
    """Generalised linear models on features X (K, n, p), labels y (K, n) (GlmData):
    least squares l = (1/2)(w'x - y)^2 (linreg, rfridge; losses from the
    sufficient statistics A = X'X/n, c = X'y/n, q = y'y/n and the test form At,
    ct, qt) or logistic l = log(1 + exp(-y w'x)) (logreg; test set Xt, yt);
    per-example gradients `_losses.glm_dphi` x. Chains in blocks on threads (`run_blocks`)."""
    n = data.X.shape[0] * meas.M
    if glm_kernel(data.X.shape[2], upd.algo, n * upd.lams.shape[0]) == "fixed":
        zero = (0.0,) * data.X.shape[2]
        kernel = _glm_minibatch_fixed(data.logistic, upd.beta != 0.0)
        run_blocks(specialised(kernel, 0, n, data, upd, meas, out, zero), n, data, upd, meas, out, zero)
    else:
        run_blocks(_glm_chains, n, data, upd, meas, out)


def compile_fixed(p: int, logistic: bool, noisy: bool) -> None:
    """Compile (or load from the disk cache) the fixed-p kernel `glm` runs for p parameters, this loss and
    noise, without running it: the argument types are those `glm` passes (a test checks that a run then
    compiles nothing)."""
    z = np.zeros
    data = GlmData(z((1, 2, p)), z((1, 2)), bool(logistic), z((1, p, p)), z((1, p)), z(1), z((1, p, p)), z((1, p)),
                   z(1), z((1, 1, p)), z((1, 1)), z(1, np.int64))
    upd = Update(ALGOS["sgd"], z(1), 1, 0.0, 1.0 if noisy else 0.0, 0.0, 1.0)
    meas = Measure(0, 1, 1, np.uint64(0), 1)
    out = Outputs(z((1, 1)), z((1, 1)), z((1, 1), np.bool_), z((1, 1, p)), z((1, 1, 0)), z((1, 1, 0)), z((1, 1, 0, p)))
    specialised(_glm_minibatch_fixed(logistic, noisy), 0, 1, data, upd, meas, out, (0.0,) * p)


def glm_kernel(p: int, algo: int, chain_steps: int) -> str:
    """Which GLM kernel `glm` runs: "fixed" (`_glm_minibatch_fixed`, compiled for this p) or "generic"
    (`_glm_chains`)."""
    fixed = algo != ALGOS["langevin"] and 1 <= p <= FIXED_P_MAX and chain_steps >= FIXED_MIN_WORK
    return "fixed" if fixed else "generic"


@jit
def _glm_due(t, tm, tr, r, nrec):
    """After update t, with tm the next measured step and tr the next record step (of slot r): (whether t
    is measured; its record slot, nrec if none). Measured steps are burnin, burnin + stride, ...; record
    slot r is step (r + 1) rec - 1. Counters, not a modulo per step (an integer division costs more than
    a step's other bookkeeping)."""
    return t == tm, (r if r < nrec and t == tr else nrec)


@jit
def _glm_next(measure, rr, tm, tr, r, stride, rec, nrec):
    """The counters of `_glm_due` after a step that was measured (measure) or recorded (rr < nrec)."""
    if measure:
        tm += stride
    if rr < nrec:
        r += 1
        tr += rec
    return tm, tr, r


@jit
def _any_bad(w):
    """Whether a coordinate of w (array or tuple) is non-finite or too large (`_bad`)."""
    s = 0.0
    for i in range(len(w)):
        s += abs(w[i])
    if s <= BIG:  # then every |w_i| <= BIG: rounded partial sums of non-negative terms never fall below a term
        return False  # (and a nan or inf coordinate makes s nan or inf); a compare per coordinate costs more
    for i in range(len(w)):
        if _bad(w[i]):
            return True
    return False


@jit
def _glm_observe(w, k, m, kt, measure, r, data, out, acc):
    """A measured (measure) or record (r < nrec) step of chain (k, m) at parameters w (array): add the
    train and test losses to the sums acc = (train, test, count), write record r; (diverged, acc).
    Divergence: a non-finite or too large loss on a measured step, a too large parameter on the others
    (the kernels check those on the steps that call nothing); a diverged chain's step writes nothing.
    Called on these steps only: reading the arrays of data and out costs reference counts."""
    if not measure and _any_bad(w):
        return True, acc
    if data.logistic:
        ltr, lte = _logit_losses(w, k, kt, data.X, data.y, data.Xt, data.yt)
    else:
        ltr, lte = _lsq_losses(w, k, kt, data.A, data.c, data.q, data.At, data.ct, data.qt)
    atr, ate, cnt = acc
    if measure:
        if _bad(ltr) or _bad(lte):
            return True, acc
        atr += ltr
        ate += lte
        cnt += 1
    if r < out.tr_train.shape[2]:
        out.tr_train[k, m, r] = ltr
        out.tr_test[k, m, r] = lte
        for i in range(w.shape[0]):
            out.tr_theta[k, m, r, i] = w[i]
    return False, (atr, ate, cnt)


@jit
def _glm_finish(w, k, m, bad, acc, out):
    """Write chain (k, m)'s outputs: final w, divergence, time-averaged losses acc = (sums, count; nan if
    diverged)."""
    atr, ate, cnt = acc
    for i in range(w.shape[0]):
        out.theta[k, m, i] = w[i]
    out.div[k, m] = bad
    if bad or cnt == 0:
        out.train[k, m] = np.nan
        out.test[k, m] = np.nan
    else:
        out.train[k, m] = atr / cnt
        out.test[k, m] = ate / cnt


@jit
def _glm_chains(c0, c1, data, upd, meas, out):
    """Chains c0, ..., c1 - 1 (chain c: data set c // M, chain c % M); each writes its own output slots."""
    X, y, logistic = data.X, data.y, data.logistic
    algo, B, alpha, beta, mu, dt = upd.algo, upd.B, upd.alpha, upd.beta, upd.mu, upd.dt
    n, p = X.shape[1], X.shape[2]
    lams, burnin, stride, rec, M = upd.lams, meas.burnin, meas.stride, meas.rec, meas.M
    steps, nrec = lams.shape[0], out.tr_train.shape[2]
    invB = 1.0 / B
    bnoise, sq_dt_B, isn = beta * math.sqrt(invB), math.sqrt(dt * invB), 1.0 / math.sqrt(n)
    for ch in range(c0, c1):
        k = ch // M
        m = ch - k * M
        s0, s1, s2, s3 = _rng.stream(meas.seed, np.uint64(_rng.TAG_CHAIN), k, m)
        kt = data.tidx[k]
        w, v, g, nz = np.zeros(p), np.zeros(p), np.empty(p), np.empty(p)
        acc, bad = (0.0, 0.0, 0), False
        tm, tr, slot = burnin, rec - 1, np.int64(0)  # the next measured step, the next record step and its slot
        for t in range(steps):
            lt = lams[t]
            for i in range(p):
                g[i] = 0.0
            if algo == 0:
                # exact D(theta, x_l) noise: G'z / sqrt(n), G the centred per-example gradients
                for i in range(p):
                    nz[i] = 0.0
                zs = 0.0
                for j in range(n):
                    a = 0.0
                    for i in range(p):
                        a += X[k, j, i] * w[i]
                    r = glm_dphi(a, y[k, j], logistic)
                    zj, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)
                    zs += zj
                    for i in range(p):
                        g[i] += r * X[k, j, i]
                        nz[i] += zj * r * X[k, j, i]
                for i in range(p):
                    gb = g[i] / n
                    zi, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)
                    noise = (nz[i] - zs * gb) * isn + beta * zi
                    w[i] += -lt * dt * (gb + alpha * w[i]) + lt * sq_dt_B * noise
            else:  # Eq 15 (algo 1) or Eq 16 (algo 2) on B examples drawn with replacement
                for b in range(0, B, 2):
                    jp, jq, s0, s1, s2, s3 = _rng.index_pair(n, s0, s1, s2, s3)
                    for h2 in range(2):
                        if h2 == 1 and b + 1 >= B:
                            break
                        j = jp if h2 == 0 else jq
                        a = 0.0
                        for i in range(p):
                            a += X[k, j, i] * w[i]
                        r = glm_dphi(a, y[k, j], logistic)
                        for i in range(p):
                            g[i] += r * X[k, j, i]
                for i in range(p):
                    gi = g[i] * invB
                    if beta != 0.0:
                        zi, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)
                        gi += bnoise * zi
                    if algo == 1:
                        w[i] -= lt * (gi + alpha * w[i])
                    else:
                        v[i] = mu * v[i] + gi + alpha * w[i]
                        w[i] -= lt * v[i]
            measure, rr = _glm_due(t, tm, tr, slot, nrec)
            if measure or rr < nrec:
                bad, acc = _glm_observe(w, k, m, kt, measure, rr, data, out, acc)
                tm, tr, slot = _glm_next(measure, rr, tm, tr, slot, stride, rec, nrec)
            else:
                bad = _any_bad(w)
            if bad:
                break
        _glm_finish(w, k, m, bad, acc, out)


# `_fixed_kernel`'s step loop tests the sum of |theta_i| against BIG (`_any_bad`'s first test) and leaves the
# loop for the exact per-coordinate test only when the sum passes it, resuming at the next step when no
# coordinate is bad. Measured on the bench's W2 (issue 15, 2 cores, interleaved in one process): the exact test
# inside the loop (even on a branch never taken) and the noise code (never run at beta = 0) each cost about
# 1.2x; without them 25-28 M chain-steps/s against 20-22. Measured on W2 before: the unrolled loops stop
# paying past p = 10 (p = 11: 1.7 M chain-steps/s against 8 for the generic kernel), hence FIXED_P_MAX.
_FIXED: dict = {}


def _glm_minibatch_fixed(logistic: bool, noisy: bool):
    """The kernel `_fixed_kernel` builds for this loss (logistic or least squares) and noise (beta != 0 or
    not), made once per process; Numba caches each on disk per (loss, noise, p)."""
    key = (bool(logistic), bool(noisy))
    if key not in _FIXED:
        _FIXED[key] = _fixed_kernel(*key)
    return _FIXED[key]


def _fixed_kernel(logistic, noisy):
    """`_glm_chains` for the minibatch algorithms (sgd and momentum) with p = len(zero)
    parameters known at compile time: theta, the momentum and the minibatch gradient are tuples
    (registers; the loops over coordinates unrolled), compiled with the SLP vectoriser
    (`_jit.specialised`). The loss (`logistic`) and the beta noise (`noisy`, upd.beta != 0) are
    compile-time switches (constants of the closure, folded), so the least-squares loop has no call of
    exp and the noiseless one no normal generator; the algorithm branches outside the unrolled loops.
    The same floating-point operations in the same order as `_glm_chains`: the same bits. The
    divergence test of a step neither measured nor recorded is `_any_bad`'s, split (see above `_FIXED`)."""

    @jit
    def chains(c0, c1, data, upd, meas, out, zero):
        momentum = upd.algo == 2
        X, y = data.X, data.y
        B, alpha, beta, mu = upd.B, upd.alpha, upd.beta, upd.mu
        n, p = X.shape[1], len(zero)
        lams, burnin, stride, rec, M = upd.lams, meas.burnin, meas.stride, meas.rec, meas.M
        steps, nrec = lams.shape[0], out.tr_train.shape[2]
        invB = 1.0 / B
        bnoise = beta * math.sqrt(invB)
        wa = np.empty(p)  # theta as an array, for `_any_bad`, `_glm_observe` and `_glm_finish`
        zb = np.empty(p)  # a step's beta-noise normals
        for ch in range(c0, c1):
            k = ch // M
            m = ch - k * M
            s0, s1, s2, s3 = _rng.stream(meas.seed, np.uint64(_rng.TAG_CHAIN), k, m)
            kt = data.tidx[k]
            w, v = zero, zero
            acc, bad = (0.0, 0.0, 0), False
            tm, tr, slot = burnin, rec - 1, np.int64(0)  # the next measured step, the next record step and its slot
            t0 = 0  # the loop below runs steps t0, t0 + 1, ...; it stops early at a large sum of |theta_i|
            while t0 < steps:
                check = False
                for t in range(t0, steps):
                    lt = lams[t]
                    g = zero
                    for b in range(0, B, 2):
                        jp, jq, s0, s1, s2, s3 = _rng.index_pair(n, s0, s1, s2, s3)
                        for h2 in range(2):
                            if h2 == 1 and b + 1 >= B:
                                break
                            j = jp if h2 == 0 else jq
                            a = 0.0
                            for i in range(p):
                                a += X[k, j, i] * w[i]
                            r = glm_dphi(a, y[k, j], logistic)
                            for i in range(p):
                                g = tuple_setitem(g, i, g[i] + r * X[k, j, i])
                    # (no call inside an unrolled coordinate loop: it would keep the tuples in memory; the
                    # normals do not depend on theta, so drawing them first keeps the generic kernel's order)
                    if noisy:
                        for i in range(p):
                            zb[i], s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)
                        for i in range(p):
                            g = tuple_setitem(g, i, g[i] * invB + bnoise * zb[i])
                    else:
                        for i in range(p):
                            g = tuple_setitem(g, i, g[i] * invB)
                    if momentum:
                        for i in range(p):
                            v = tuple_setitem(v, i, mu * v[i] + g[i] + alpha * w[i])
                            w = tuple_setitem(w, i, w[i] - lt * v[i])
                    else:
                        for i in range(p):
                            w = tuple_setitem(w, i, w[i] - lt * (g[i] + alpha * w[i]))
                    measure, rr = _glm_due(t, tm, tr, slot, nrec)
                    if measure or rr < nrec:
                        for i in range(p):
                            wa[i] = w[i]
                        bad, acc = _glm_observe(wa, k, m, kt, measure, rr, data, out, acc)
                        tm, tr, slot = _glm_next(measure, rr, tm, tr, slot, stride, rec, nrec)
                        if bad:
                            break
                    else:
                        s = 0.0
                        for i in range(p):
                            s += abs(w[i])
                        if not s <= BIG:  # `_any_bad`'s first test; its exact one below, out of the loop
                            check = True
                            break
                else:
                    t0 = steps
                if bad:
                    break
                if check:
                    for i in range(p):
                        wa[i] = w[i]
                    if _any_bad(wa):
                        bad = True
                        break
                    t0 = t + 1
            for i in range(p):
                wa[i] = w[i]
            _glm_finish(wa, k, m, bad, acc, out)

    return chains
