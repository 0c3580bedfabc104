"""Numba kernels of the simulators (paper Eqs 15, 16, 17; cosine schedule of Section 2.3).

Private: the wrappers in `_simulate.py` validate, allocate and call these.
One kernel per model kind, each running the three algorithms (codes in ALGOS):

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

Per chain (data set k, chain m): its own stream (seed, TAG_CHAIN, k, m), its
own accumulators; outputs are written to that chain's slots only, so results
are bit-identical whatever the thread count. Losses are averaged over the
post-burn-in steps t >= burnin at every ``stride``-th step (stride = 1 for the
quadratic models). A chain whose parameters become non-finite or exceed BIG in
absolute value is marked diverged and stopped (its outputs are nan).
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from . import _rng
from ._jit import jit, pjit

__all__ = ["ALGOS", "BIG", "quad1d", "quad", "glm"]

ALGOS = {"langevin": 0, "sgd": 1, "momentum": 2}
BIG = 1e30  # |theta| beyond this is divergence; keeps loss squares finite in the estimators


@jit
def _bad(x):
    return not (abs(x) <= BIG)  # True for nan and inf too


@pjit
def quad1d(x, xbar, trs, sdl, tcen, tconst, tidx, h, algo, lams, B, alpha, beta, mu, dt, burnin, rec, seed, M,
           train, test, div, theta_out, tr_train, tr_test, tr_theta):
    """1-D quadratic l = (h/2)(theta - x)^2. x (K, n); xbar, trs (= S^2), sdl
    (= sqrt(h^2 S^2 + beta^2)) per data set; test loss (h/2)((theta - tcen)^2 + tconst)."""
    K, n = x.shape
    steps = lams.shape[0]
    invB = 1.0 / B
    bnoise = beta * math.sqrt(invB)
    sq_dt_B = math.sqrt(dt * invB)
    nrec = tr_train.shape[2]
    for c in prange(K * M):
        k = c // M
        m = c - k * M
        s0, s1, s2, s3 = _rng.stream(seed, _rng.TAG_CHAIN, k, m)
        xb = xbar[k]
        ts = trs[k]
        sd = sdl[k] * sq_dt_B
        kt = tidx[k]
        tc = tcen[kt]
        tk = tconst[kt]
        th = 0.0
        v = 0.0
        atr = 0.0
        ate = 0.0
        bad = False
        k_ = h + alpha
        if algo == 0 and nrec == 0:
            # the hot path of Langevin ensembles (bench W1): no branches but divergence
            a0 = dt * h * xb
            for t in range(steps):
                lt = lams[t]
                z, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)
                th = th * (1.0 - lt * dt * k_) + lt * (a0 + sd * z)
                if _bad(th):
                    bad = True
                    break
                if t >= burnin:
                    e = th - xb
                    f = th - tc
                    atr += e * e
                    ate += f * f
        for t in range(steps if not (algo == 0 and nrec == 0) else 0):
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
                    tr_train[k, m, r] = 0.5 * h * (e * e + ts)
                    tr_test[k, m, r] = 0.5 * h * (f * f + tk)
                    tr_theta[k, m, r, 0] = th
        cnt = steps - burnin
        if bad or cnt <= 0:
            div[k, m] = bad
            train[k, m] = np.nan
            test[k, m] = np.nan
            theta_out[k, m, 0] = th
        else:
            div[k, m] = False
            train[k, m] = 0.5 * h * (atr / cnt + ts)
            test[k, m] = 0.5 * h * (ate / cnt + tk)
            theta_out[k, m, 0] = th


@pjit
def quad(x, xbar, trs, L, tcen, tconst, tidx, h, algo, lams, B, alpha, beta, mu, dt, burnin, rec, seed, M,
         train, test, div, theta_out, tr_train, tr_test, tr_theta):
    """d-dim quadratic l = (h/2)|theta - x|^2 (H = h I). x (K, n, d); L (K, d, d)
    Cholesky factor of h^2 Sx + beta^2 I (Langevin only)."""
    K, n, d = x.shape
    steps = lams.shape[0]
    invB = 1.0 / B
    bnoise = beta * math.sqrt(invB)
    sq_dt_B = math.sqrt(dt * invB)
    nrec = tr_train.shape[2]
    for c in prange(K * M):
        k = c // M
        m = c - k * M
        s0, s1, s2, s3 = _rng.stream(seed, _rng.TAG_CHAIN, k, m)
        kt = tidx[k]
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
                    tr_train[k, m, r] = 0.5 * h * (e2 + trs[k])
                    tr_test[k, m, r] = 0.5 * h * (f2 + tconst[kt])
                    for i in range(d):
                        tr_theta[k, m, r, i] = th[i]
        cnt = steps - burnin
        for i in range(d):
            theta_out[k, m, i] = th[i]
        div[k, m] = bad
        if bad or cnt <= 0:
            train[k, m] = np.nan
            test[k, m] = np.nan
        else:
            train[k, m] = 0.5 * h * (atr / cnt + trs[k])
            test[k, m] = 0.5 * h * (ate / cnt + tconst[kt])


@jit
def _qform(w, A, c, q):
    """(1/2)(w'Aw - 2 c'w + q): the least-squares loss from its sufficient statistics."""
    p = w.shape[0]
    s = q
    for i in range(p):
        r = 0.0
        for j in range(p):
            r += A[i, j] * w[j]
        s += w[i] * (r - 2.0 * c[i])
    return 0.5 * s


@jit
def _softplus(a):
    """log(1 + exp(a)) without overflow."""
    if a > 0:
        return a + math.log1p(math.exp(-a))
    return math.log1p(math.exp(a))


@jit
def _sigmoid(a):
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


@jit
def _resid(a, y, logistic):
    """d l / d a for l = (1/2)(a - y)^2 (least squares) or softplus(-y a) (logistic, y = +-1)."""
    if logistic:
        return -y * _sigmoid(-y * a)
    return a - y


@jit
def _glm_losses(w, k, kt, logistic, X, y, A, c, q, At, ct, qt, Xt, yt):
    if not logistic:
        return _qform(w, A[k], c[k], q[k]), _qform(w, At[kt], ct[kt], qt[kt])
    n, p = X.shape[1], X.shape[2]
    tr = 0.0
    for j in range(n):
        a = 0.0
        for i in range(p):
            a += X[k, j, i] * w[i]
        tr += _softplus(-y[k, j] * a)
    nt = Xt.shape[1]
    te = 0.0
    for j in range(nt):
        a = 0.0
        for i in range(p):
            a += Xt[kt, j, i] * w[i]
        te += _softplus(-yt[kt, j] * a)
    return tr / n, te / nt


@pjit
def glm(X, y, logistic, A, c, q, At, ct, qt, Xt, yt, tidx, algo, lams, B, alpha, beta, mu, dt, burnin, stride,
        rec, seed, M, train, test, div, theta_out, tr_train, tr_test, tr_theta):
    """Generalised linear models on features X (K, n, p), labels y (K, n):
    least squares l = (1/2)(w'x - y)^2 (linreg, rfridge; losses from the
    sufficient statistics A = X'X/n, c = X'y/n, q = y'y/n and the test form At,
    ct, qt) or logistic l = log(1 + exp(-y w'x)) (logreg; test set Xt, yt)."""
    K, n, p = X.shape
    steps = lams.shape[0]
    invB = 1.0 / B
    bnoise = beta * math.sqrt(invB)
    sq_dt_B = math.sqrt(dt * invB)
    isn = 1.0 / math.sqrt(n)
    nrec = tr_train.shape[2]
    for cc in prange(K * M):
        k = cc // M
        m = cc - k * M
        s0, s1, s2, s3 = _rng.stream(seed, _rng.TAG_CHAIN, k, m)
        kt = tidx[k]
        w = np.zeros(p)
        v = np.zeros(p)
        g = np.empty(p)
        nz = np.empty(p)
        atr = 0.0
        ate = 0.0
        cnt = 0
        bad = False
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
                    r = _resid(a, y[k, j], logistic)
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
            else:
                for b in range(0, B, 2):
                    jp, jq, s0, s1, s2, s3 = _rng.index_pair(n, s0, s1, s2, s3)
                    for h2 in range(2):
                        if h2 == 1 and b + 1 >= B:
                            break
                        j = jp if h2 == 0 else jq
                        a = 0.0
                        for i in range(p):
                            a += X[k, j, i] * w[i]
                        r = _resid(a, y[k, j], logistic)
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
            if t >= burnin and (t - burnin) % stride == 0:
                ltr, lte = _glm_losses(w, k, kt, logistic, X, y, A, c, q, At, ct, qt, Xt, yt)
                if _bad(ltr) or _bad(lte):
                    bad = True
                    break
                atr += ltr
                ate += lte
                cnt += 1
            else:
                for i in range(p):
                    if _bad(w[i]):
                        bad = True
                if bad:
                    break
            if nrec > 0 and (t + 1) % rec == 0:
                r2 = (t + 1) // rec - 1
                if r2 < nrec:
                    ltr, lte = _glm_losses(w, k, kt, logistic, X, y, A, c, q, At, ct, qt, Xt, yt)
                    tr_train[k, m, r2] = ltr
                    tr_test[k, m, r2] = lte
                    for i in range(p):
                        tr_theta[k, m, r2, i] = w[i]
        for i in range(p):
            theta_out[k, m, i] = w[i]
        div[k, m] = bad
        if bad or cnt == 0:
            train[k, m] = np.nan
            test[k, m] = np.nan
        else:
            train[k, m] = atr / cnt
            test[k, m] = ate / cnt
