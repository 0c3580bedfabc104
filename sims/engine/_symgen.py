"""Source of a SymbolicModel's own chain kernel (`_symbolic.compiled` compiles it): `chains_source`,
`separable`, `moments`, `loss_means`.

The generic kernel of `_symbolic` keeps theta in arrays, calls the per-example gradient through an array
argument and, for Langevin, evaluates all n per-example gradients every step for D(theta, x_l); it ran at
0.06-0.45x the hand-written quad1d kernel (`gapkit bench --symbolic`). This module prints the whole chain
loop for one model instead, the way the hand-written kernels are written: one scalar local per coordinate
(p0, p1, ...; v0, ... for momentum), unrolled updates, the same draws in the same order (same streams).
Now about 0.5-0.9x (README, Benchmarks).

Separable gradients: dl_i(theta, x) = sum_m phi_m(theta) c_{m,i}(x), a finite sum (every polynomial loss:
the quadratic, quartic, double well). `separable` finds the phi_m in the expanded sympy gradient and returns
None when a term mixes theta and x inseparably (e.g. the logistic loss). Then
- the minibatch step sums only the c_{m,i}(x_b) that are not numbers over the batch and evaluates the
  phi_m once per step (`batch_sums`: unless the expansion costs much more than the gradient);
- Langevin's exact D(theta) = Cov_j[dl(theta, x_j)] is sum_{m,m'} phi_m phi_m' Cov_j(c_{m,i}, c_{m',l}) and
  the mean gradient sum_m phi_m mean_j c_{m,i}, from moments computed once per data set (`moments`, centred):
  O(1) per step instead of O(n) (a non-separable gradient leaves Langevin to the generic kernel);
- likewise a separable loss's train and test means come from per-data-set moments (`loss_means`), with a
  cancellation guard (GUARD) that falls back to the per-example mean.
Langevin advances `lanes_for` chains side by side so their latency chains (a square root of D(theta) per
step) overlap. Differences from the generic kernel are summation order only (tests: a few ulps).
"""
from __future__ import annotations

import re

import numpy as np
import sympy as sp

__all__ = ["chains_source", "separable", "batch_sums", "data_functions", "moments", "loss_means", "lanes_for", "GUARD", "MAX_DIM",
           "MAX_TERMS"]

MAX_DIM = 8     # scalar code grows as d^3 (Cholesky); larger models use the generic kernel
MAX_TERMS = 24  # m * d: D from moments costs (m d)^2 per step; past this the generic kernel runs
# A loss mean from moments, sum_r psi_r(theta) E_r, is used when sum_r |psi_r E_r| <= GUARD |mean|: it then
# loses < 6 of 16 digits (relative error < ~R 1e-10, far below any Monte Carlo error); else the per-example mean.
GUARD = 1e6


def separable(grad, P, data):
    """(phis, coefs): grad_i = sum_m phis[m] * coefs[m][i] with phis[m] free of the data symbols and
    coefs[m][i] free of the parameters P; None when a term is not such a product or there are too many."""
    groups: dict = {}
    for i, e in enumerate(grad):
        for term in sp.Add.make_args(sp.expand(e)):
            th, dx = term.as_independent(*data, as_Add=False)
            if dx.free_symbols & set(P):
                return None
            num, phi = th.as_coeff_Mul()
            groups.setdefault(phi, [sp.Integer(0)] * len(grad))[i] += num * dx
    if len(groups) * len(grad) > MAX_TERMS:
        return None
    phis = list(groups)
    return phis, [groups[p] for p in phis]


def batch_sums(sep, grad) -> bool:
    """Whether the minibatch step should sum the data coefficients of `separable` rather than evaluate the
    gradient per example: not when the expansion costs much more (e.g. a high power of theta - x expanded)."""
    if sep is None:
        return False
    cost = sum(sp.count_ops(c) for row in sep[1] for c in row if not c.is_Number)
    return cost <= 2 * sum(sp.count_ops(e) for e in grad) + len(grad)


def data_functions(coefs, data_syms):
    """The data factors of `separable` (coefs[m][i], flattened m-major) as NumPy functions of (x..., y),
    lambdified once per model."""
    return [sp.lambdify(data_syms, c, "numpy") for row in coefs for c in row]


def _values(fns, X, Y):
    """vals[k, j, a] = fns[a](x_j, y_j) of data set k."""
    K, n = X.shape[0], X.shape[1]
    cols = [X[:, :, i] for i in range(X.shape[2])] + [Y]
    vals = np.empty((K, n, len(fns)))
    for a, f in enumerate(fns):
        vals[:, :, a] = np.broadcast_to(f(*cols), (K, n))
    return vals


def loss_means(fns, X, Y):
    """E[k, r]: the mean over data set k of the r-th data factor of the separable loss."""
    return np.ascontiguousarray(_values(fns, X, Y).mean(axis=1))


def moments(fns, d, X, Y):
    """Per data set k: mean MU[k, m, i] of c_{m,i}(x_j) over j and the centred covariance
    COV[k, m d + i, m' d + l] of c_{m,i} and c_{m',l} (divided by n, as D's definition)."""
    K, n = X.shape[0], X.shape[1]
    vals = _values(fns, X, Y)
    mu = vals.mean(axis=1)
    cen = vals - mu[:, None, :]
    cov = np.einsum("kja,kjb->kab", cen, cen) / n
    return np.ascontiguousarray(mu.reshape(K, len(fns) // d, d)), np.ascontiguousarray(cov)


def _pr(e) -> str:
    return sp.pycode(e, fully_qualified_modules=True)


def _cse(exprs, prefix):
    reps, red = sp.cse(exprs, symbols=sp.numbered_symbols(prefix))
    return [f"{s} = {_pr(e)}" for s, e in reps], [_pr(e) for e in red]


def _minibatch_step(grad, sep, d, dx, ind):
    """Eq 15 (algo 1) / Eq 16 (algo 2): B indices (ceil(B/2) index_pair draws), one normal per coordinate.
    With a separable gradient (sep, not None) the batch loop sums only the data coefficients c_{m,i}(x_j)
    that are not numbers, and the phi_m(theta) are evaluated once per step."""
    if sep is not None:
        phis, coefs = sep
        var = [(m, i) for m in range(len(phis)) for i in range(d) if not coefs[m][i].is_Number]
        pre, outs = _cse([coefs[m][i] for m, i in var], "c_")
        acc = [f"S{m}_{i}" for m, i in var]
    else:
        pre, outs = _cse(list(grad), "c_")
        acc = [f"g{i}" for i in range(d)]
    body = [f"{a} = 0.0" for a in acc] + [
        "jq = 0",
        "for b in range(B):",
        "    if b % 2 == 0:",
        "        jp, jq, s0, s1, s2, s3 = _rng.index_pair(n, s0, s1, s2, s3)",
        "        j = jp",
        "    else:",
        "        j = jq",
        *[f"    q{i} = X[k, j, {i}]" for i in range(dx)],
        "    yy = Y[k, j]",
        *[f"    {s}" for s in pre],
        *[f"    {a} += {o}" for a, o in zip(acc, outs)]]
    if sep is not None:
        hp, ho = _cse(list(phis), "f_")
        body += hp + [f"h{m} = float({o})" for m, o in enumerate(ho)]
        for i in range(d):
            terms = [f"h{m} * " + (f"S{m}_{i}" if (m, i) in var else f"({float(coefs[m][i])!r} * B)")
                     for m in range(len(phis)) if (m, i) in var or coefs[m][i] != 0]
            body.append(f"g{i} = " + (" + ".join(terms) or "0.0"))
    for i in range(d):
        body += [f"gi = g{i} * invB", "if beta != 0.0:", "    z, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)",
                 "    gi += bnoise * z", "if algo == 1:", f"    p{i} -= lt * (gi + alpha * p{i})", "else:",
                 f"    v{i} = mu * v{i} + gi + alpha * p{i}", f"    p{i} -= lt * v{i}"]
    return [ind + s for s in body]


def _langevin_step(phis, coefs, d, ind):
    """Euler-Maruyama of Eq 17 with D(theta) from the moments (module docstring) and its Cholesky factor:
    (per-chain prologue, step). Coefficients that are numbers add nothing to D and their mean is the number;
    the moments are read once per chain; a D that does not depend on theta (every phi_m it involves is a
    number, as for the quadratic) is factorised once per chain, as the hand-written kernel does."""
    M = len(phis)
    var = [(m, i) for m in range(M) for i in range(d) if not coefs[m][i].is_Number]
    pro = [f"mu{m}_{i} = MU[k, {m}, {i}]" for m, i in var]
    pairs = {(i, l): [(m, m2) for m in range(M) for m2 in range(M) if (m, i) in var and (m2, l) in var
                      and (i != l or m <= m2)]  # D_ii: the symmetric pair m < m2 once, doubled
             for i in range(d) for l in range(i + 1)}
    pro += sorted({f"cv{m * d + i}_{m2 * d + l} = COV[k, {m * d + i}, {m2 * d + l}]"
                   for (i, l), ms in pairs.items() for m, m2 in ms})
    const_d = all(phis[m].is_Number and phis[m2].is_Number for ms in pairs.values() for m, m2 in ms)
    pre, outs = _cse(list(phis), "f_")
    body = list(pre) + [f"h{m} = float({o})" for m, o in enumerate(outs)]
    for i in range(d):
        body.append(f"g{i} = " + " + ".join(f"h{m} * " + (f"mu{m}_{i}" if (m, i) in var else f"{float(coefs[m][i])!r}")
                                            for m in range(M)))
    chol = list(pre) + [f"h{m} = float({o})" for m, o in enumerate(outs)] if const_d else []
    for (i, l), ms in pairs.items():
        terms = [("2.0 * " if i == l and m < m2 else "") + f"h{m} * h{m2} * cv{m * d + i}_{m2 * d + l}"
                 for m, m2 in ms] or ["0.0"]
        chol.append(f"C{i}_{l} = " + " + ".join(terms) + (" + bb" if i == l else ""))
    for i in range(d):  # Cholesky (lower) in place; a zero pivot gives a zero column, as the generic kernel
        for l in range(i + 1):
            c = f"C{i}_{l}" + "".join(f" - C{i}_{q} * C{l}_{q}" for q in range(l))
            if i == l:
                chol += [f"c = {c}", f"C{i}_{i} = math.sqrt(c) if c > 0.0 else 0.0"]
            else:
                chol += [f"c = {c}", f"C{i}_{l} = c / C{l}_{l} if C{l}_{l} > 0.0 else 0.0"]
    if const_d:
        pro += chol
    else:
        body += chol
    body += [f"z{i}, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)" for i in range(d)]
    for i in range(d):
        nz = " + ".join(f"C{i}_{l} * z{l}" for l in range(i + 1))
        body.append(f"g{i} = -lt * dt * (g{i} + alpha * p{i}) + lt * sq * ({nz})")
    body += [f"p{i} += g{i}" for i in range(d)]
    return ["        " + s for s in pro], [ind + s for s in body]


def _loss_block(lsep, d, ind):
    """The train and test losses at a measured step: from the loss moments ETR, ETE when the loss separates
    and that keeps the digits (GUARD), else (and always without lsep) the per-example means."""
    exact = [f"tha[{i}] = p{i}" for i in range(d)]
    if lsep is None:
        return [ind + s for s in exact + ["ltr, lte = mean_loss(tha, X, Y, k), mean_loss(tha, data.Xt, data.yt, kt)"]]
    psis = lsep[0]
    pre, outs = _cse(list(psis), "e_")
    out = list(pre) + [f"w{r} = float({o})" for r, o in enumerate(outs)]
    for name, E, kk, XY in (("ltr", "ETR", "k", "X, Y"), ("lte", "ETE", "kt", "data.Xt, data.yt")):
        out.append(f"{name} = " + " + ".join(f"w{r} * {E}[{kk}, {r}]" for r in range(len(psis))))
        out.append("lab = " + " + ".join(f"abs(w{r} * {E}[{kk}, {r}])" for r in range(len(psis))))
        out += [f"if not (lab <= GUARD * abs({name})):", *["    " + s for s in exact],
                f"    {name} = mean_loss(tha, {XY}, {kk})"]
    return [ind + s for s in out]


# per-chain names of the printed code (renamed per lane): state, draws, temporaries
_LANE_NAMES = re.compile(r"(?<![.\w])(p\d+|v\d+|g\d+|h\d+|C\d+_\d+|z\d*|c|gi|b|j|jp|jq|q\d+|yy|c_\d+|f_\d+|e_\d+|"
                         r"S\d+_\d+|w\d+|lab|ltr|lte|s[0-3]|k|m|kt|atr|ate|cnt|bad|ix|mu\d+_\d+|cv\d+_\d+)\b")


def lanes_for(d: int, langevin: bool) -> int:
    """Chains advanced side by side in one loop, so their latency chains overlap (Langevin's step with a
    theta-dependent D is one long chain through a square root; the minibatch step's batch loop gained
    nothing and lost 1.4x). Two lanes, not four: the kernel is compiled afresh in every process (it is
    generated, so not in Numba's disk cache), and four cost more compilation than they save on any run of
    a usual size. Measured (issue 15, 2 cores; 200 x 4 chains x 4,000 steps, `simulate(model=...)`):
    linreg-2d 2 lanes 3.9 s compile + 0.059 s run, 4 lanes 9.1 s + 0.048 s; the double well 2.5 s + 0.023 s
    against 3.9 s + 0.021 s (1 lane: linreg-2d 2.2 s + 0.070 s). Four lanes would pay back only past about
    10^9 chain-steps."""
    if not langevin:
        return 1
    return 2 if d <= 4 else 1


def _lane(lines, ell, ind):
    return [ind + _LANE_NAMES.sub(lambda mo: f"{mo.group(1)}_L{ell}", s) for s in lines]


def _chain_blocks(grad, sep, d, dx, langevin, lsep):
    """One chain's (prologue, step with its divergence check and measurement, epilogue), unindented."""
    pro, step = _langevin_step(*sep, d, "") if langevin else ([], _minibatch_step(grad, sep, d, dx, ""))
    big = " and ".join(f"abs(p{i}) <= BIG" for i in range(d))
    init = ["k = ix // M", "m = ix - k * M", "s0, s1, s2, s3 = _rng.stream(meas.seed, np.uint64(_rng.TAG_CHAIN), k, m)",
            "kt = data.tidx[k]", *[f"p{i} = 0.0" for i in range(d)], *[f"v{i} = 0.0" for i in range(d)],
            "atr, ate, cnt = 0.0, 0.0, 0", *[s.strip() for s in pro]]
    body = ["if not bad:", *["    " + s for s in step], f"    if not ({big}):", "        bad = True",
            "    elif measure or r < nrec:", *_loss_block(lsep, d, " " * 8),
            "        if not (abs(ltr) <= BIG and abs(lte) <= BIG):", "            bad = True", "        else:",
            "            if measure:", "                atr += ltr", "                ate += lte",
            "                cnt += 1", "            if r < nrec:", "                out.tr_train[k, m, r] = ltr",
            "                out.tr_test[k, m, r] = lte",
            *[f"                out.tr_theta[k, m, r, {i}] = p{i}" for i in range(d)]]
    end = [*[f"out.theta[k, m, {i}] = p{i}" for i in range(d)], "out.div[k, m] = bad",
           "out.train[k, m] = np.nan if bad or cnt == 0 else atr / cnt",
           "out.test[k, m] = np.nan if bad or cnt == 0 else ate / cnt"]
    return init, body, end


def chains_source(grad, sep, d: int, dx: int, *, langevin: bool, lsep=None, lanes: int = 1) -> str:
    """Source of chains(c0, c1, data, upd, meas, out, MU, COV, ETR, ETE) for the model: the generic kernel's
    chain loop (`_symbolic._kernel`) with scalar coordinates, `lanes` chains side by side (each its own
    stream and names; a diverged or absent lane stops stepping). grad: the printed-symbol gradient (p*, q*,
    yy); sep: `separable`'s (phis, coefs) or None (minibatch: the gradient per example); lsep: `separable` of
    the loss (losses from moments, `_loss_block`) or None. Needs _rng, math, np, BIG, GUARD and mean_loss."""
    init, body, end = _chain_blocks(grad, sep, d, dx, langevin, lsep)
    L = range(lanes)
    src = [
        "def chains(c0, c1, data, upd, meas, out, MU, COV, ETR, ETE):",
        "    X, Y = data.X, data.y",
        "    n = X.shape[1]",
        "    steps, nrec, M = upd.lams.shape[0], out.tr_train.shape[2], meas.M",
        "    B, algo, alpha, beta, mu, dt = upd.B, upd.algo, upd.alpha, upd.beta, upd.mu, upd.dt",
        "    invB = 1.0 / B",
        "    bnoise = beta * math.sqrt(invB)",
        "    sq = math.sqrt(dt / B)",
        "    bb = beta * beta",
        f"    tha = np.empty({d})",
        f"    for ch in range(c0, c1, {lanes}):",
        "        nxt = meas.burnin",
    ]
    for ell in L:
        src += _lane([f"ix = min(ch + {ell}, c1 - 1)", f"bad = ch + {ell} >= c1", *init], ell, " " * 8)
    src += ["        for t in range(steps):",
            "            lt = upd.lams[t]",
            "            measure = t == nxt",
            "            if measure:",
            "                nxt += meas.stride",
            "            r = (t + 1) // meas.rec - 1 if nrec > 0 and (t + 1) % meas.rec == 0 else nrec"]
    for ell in L:
        src += _lane(body, ell, " " * 12)
    src += ["            if " + " and ".join(f"bad_L{ell}" for ell in L) + ":", "                break"]
    for ell in L:
        src += [f"        if ch + {ell} < c1:", *_lane(end, ell, " " * 12)]
    return "\n".join(src) + "\n"
