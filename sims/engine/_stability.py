"""Stability of a run's chain, known before it starts (issue 12).

A chain whose mean or second moment grows has no stationary law with a
finite mean loss (a mean-square unstable chain of random multiplicative maps
may still settle almost surely, on a law with infinite variance): its time
average is not a steady-state value, whatever the overflow test says (the
kernels flag only |theta| > BIG). Where the chain is linear in theta the
answer is exact and cheap, per data set k:

- quadratic models (gradient H (theta - x_i), H = h I; noise additive, so the
  second-moment map is A (x) A and its radius the square of the mean map's):
  plain SGD A = 1 - lam (h + alpha); Euler-Maruyama A = 1 - lam dt (h + alpha);
  momentum the 2x2 block of `gapkit.theory._lyapunov._momentum_blocks`.
- least squares (linreg, rfridge; multiplicative noise): mean map
  Mbar = I - lam (A_k + alpha I) (momentum: the block map) and the
  second-moment map of `gapkit.theory._lyapunov.linreg_sgd_stationary`,
      L(S) = Mbar S Mbar' + (1/B) E [ (1/n) sum_i (x_i' S_tt x_i) x_i x_i' - A S_tt A ] E',
  whose spectral radius is estimated by power iteration from S = I (L maps
  positive semi-definite matrices to positive semi-definite ones, so its radius
  is the growth rate of tr L^k(I); within ~1e-4 relative after
  POWER_ITERATIONS steps when the top eigenvalues are close, so a radius
  within 1e-3 of 1 is a close call); Euler-Maruyama: lam -> lam dt, B -> B / dt.
- logistic regression: the loss gradient is bounded, so far from the origin
  the chain follows the ridge map alone: it grows iff that map (1 - lam dt alpha,
  or the momentum block with curvature alpha) has radius > 1. The radius 1
  (alpha = 0) decides nothing here: stability unknown.

A mean map with an eigenvalue of modulus exactly 1 (least squares with
X'X/n singular and alpha = 0: the null space never moves) has no unique
stationary law: with beta = 0 the chain keeps its start's null-space
component (theta0 = 0: the minimum-norm solution) and is reported, not
refused; with beta != 0 the null-space component is a random walk and the
chain is non-stationary (never averaged in). The cosine schedule changes the
map every step: not judged up front.
"""
from __future__ import annotations

import numpy as np

__all__ = ["chain_stability", "lsq_second_moment_radius", "POWER_ITERATIONS"]

POWER_ITERATIONS = 300  # power-iteration steps of the second-moment radius (stops early when settled)
_SETTLED = 1e-10  # relative change of the radius estimate that ends the power iteration
_MARGINAL = 1e-12  # smallest / largest eigenvalue of X'X/n + alpha I below this: singular
_MARGIN_TOL = 1e-6  # a singular data set's radius 1 (its null space) up to this is not growth


def _block_radius(kappa, lam, mu) -> np.ndarray:
    """Spectral radius of the mean map on one curvature eigenvalue kappa (array):
    1 - lam kappa (mu = 0) or the momentum 2x2 block [[1 - lam k, -lam mu], [k, mu]]."""
    kappa = np.asarray(kappa, dtype=np.float64)
    if mu == 0.0:
        return np.abs(1.0 - lam * kappa)
    tr = 1.0 - lam * kappa + mu
    det = mu  # det [[1 - lam k, -lam mu], [k, mu]] = mu (1 - lam k) + lam mu k
    disc = tr * tr - 4.0 * det + 0j
    r = np.sqrt(disc)
    return np.maximum(np.abs((tr + r) / 2.0), np.abs((tr - r) / 2.0))


def _step(p) -> tuple[float, float]:
    """(lam, B) of the chain's linear map: Euler-Maruyama takes steps lam dt with
    noise lam T dt, i.e. the SGD map with lam dt and B / dt."""
    if p["algo"] == "langevin":
        return p["lr"] * p["dt"], p["batch"] / p["dt"]
    return p["lr"], float(p["batch"])


def _lsq_maps(X, A, alpha, lam, mu):
    """(Mbar (K, q, q), E (q, d)) of the mean map and noise injection, q = d or 2d (momentum)."""
    K, d = A.shape[0], A.shape[1]
    eye = np.eye(d)
    Kc = A + alpha * eye
    if mu == 0.0:
        return eye[None] - lam * Kc, -lam * eye
    top = np.concatenate([eye[None] - lam * Kc, np.broadcast_to(-lam * mu * eye, (K, d, d))], axis=2)
    bot = np.concatenate([Kc, np.broadcast_to(mu * eye, (K, d, d))], axis=2)
    return np.concatenate([top, bot], axis=1), np.vstack([-lam * eye, eye])


def lsq_second_moment_radius(X, A, *, lam, B, alpha, mu=0.0, iterations: int = POWER_ITERATIONS) -> np.ndarray:
    """Spectral radius (per data set, (K,)) of the second-moment map of SGD
    (momentum mu) on least squares with inputs X (K, n, d) and A = X'X/n
    (module docstring), by power iteration from the identity.

    The iteration runs in the eigenbasis of A (A = U diag(ev) U', inputs Z = X U,
    S -> blockdiag(U, U)' S blockdiag(U, U)): the same iterates up to rounding (the
    change of basis is orthogonal, so S = I stays I and every trace is kept; measured
    <= 1e-14 relative against the iteration in the original basis), but there Mbar
    (mu = 0) and A S A are elementwise products and the noise term two small matrix
    products (issue 15: 2-4x faster on the quick linreg sweep, d = 16, K = 512)."""
    X = np.asarray(X, dtype=np.float64)
    K, n, d = X.shape
    ev, U = np.linalg.eigh(A)
    Z = X @ U
    Zt = np.swapaxes(Z, 1, 2)
    AA = ev[:, :, None] * ev[:, None, :]  # A S A -> (ev ev') o S
    if mu == 0.0:
        m = 1.0 - lam * (ev + alpha)  # Mbar -> diag(m): Mbar S Mbar' -> (m m') o S
        MM = m[:, :, None] * m[:, None, :]
        q = d
    else:
        M, E = _lsq_maps(Z, ev[:, :, None] * np.eye(d), alpha, lam, mu)  # the block map, blocks diagonal
        Mt = np.swapaxes(M, 1, 2)
        ee = np.outer(E[::d, 0], E[::d, 0])  # E = e (x) I, e = (-lam, 1): E C E' = (e e') (x) C
        q = 2 * d
    S = np.broadcast_to(np.eye(q), (K, q, q)).copy()
    rho = np.zeros(K)
    prev = np.ones(K)
    # the iterates' arrays are allocated once and written in place (out=): the same operations in the same
    # order as the expressions in the comments, so the same bits, without a fresh megabyte-sized temporary
    # per operation (each of which costs page faults: 3-4x the arithmetic at K = 512, d = 16)
    ZS, w = np.empty((K, n, d)), np.empty((K, n))
    Zw, C, T = np.empty_like(Zt), np.empty((K, d, d)), np.empty((K, d, d))
    S2, fin = np.empty((K, q, q)), np.empty((K, q, q), dtype=bool)
    c = lam * lam / B
    for _ in range(int(iterations)):
        St = S[:, :d, :d]
        np.multiply(np.matmul(Z, St, out=ZS), Z, out=ZS)
        ZS.sum(axis=2, out=w)  # w = z_i' S_tt z_i
        np.multiply(Zt, w[:, None, :], out=Zw)
        np.matmul(Zw, Z, out=C)
        C /= n
        C -= np.multiply(AA, St, out=T)  # C = (Zt w) Z / n - AA o S_tt
        if mu == 0.0:
            np.multiply(MM, S, out=S2)
            C *= c
            np.add(S2, C, out=S)  # S = MM o S + (lam^2 / B) C
        else:
            S = M @ S @ Mt + (ee[None, :, None, :, None] * C[:, None, :, None, :]).reshape(K, q, q) / B
        tr = np.trace(S, axis1=1, axis2=2)
        tr = np.where(np.isfinite(tr) & (tr > 0), tr, np.inf)
        ratio = tr / q  # growth of the trace over one step (the previous S had trace q)
        np.divide(S, tr[:, None, None], out=S)
        S *= q  # S = S / tr * q
        np.isfinite(S, out=fin)
        np.copyto(S, 0.0, where=~fin)  # S = where(finite, S, 0)
        new = np.sqrt(ratio * prev)  # geometric mean of two steps: a period-2 oscillation averages out
        prev = ratio
        done = np.all(np.abs(new - rho) <= _SETTLED * np.maximum(new, 1.0))
        rho = new
        if done:
            break
    return rho


def chain_stability(prob, p) -> dict:
    """Stability of the run's chains before they start (module docstring).

    prob: the `_problems.Problem`; p: the validated `simulate` settings.
    Returns known (bool), mean_radius and second_moment_radius (the largest
    over data sets; None when not known), unstable ((K,) bool: data sets whose
    chains grow or are non-stationary, never averaged in), marginal ((K,) bool:
    no unique stationary law, chains kept) and reason (words; "" when stable)."""
    K = prob.X.shape[0]
    none = np.zeros(K, dtype=bool)
    out = {"known": False, "mean_radius": None, "second_moment_radius": None, "unstable": none,
           "marginal": none, "reason": ""}
    if p["cosine"]:
        out["reason"] = "stability not judged up front: the cosine schedule changes the map every step"
        return out
    lam, B = _step(p)
    mu, alpha = p["momentum"], p["alpha"]
    if prob.kind == "quad":
        r = float(_block_radius(prob.h + alpha, lam, mu))
        return _verdict(out, np.full(K, r), np.full(K, r * r), none)
    if prob.kind == "logit":
        if alpha == 0.0:
            out["reason"] = "stability not known up front (logistic loss without ridge)"
            return out
        r = float(_block_radius(alpha, lam, mu))
        return _verdict(out, np.full(K, r), np.full(K, r * r), none)
    A = prob.arrays["A"]
    ev = np.linalg.eigvalsh(A + alpha * np.eye(A.shape[1]))
    mean_r = _block_radius(ev, lam, mu).max(axis=1)
    singular = ev.min(axis=1) <= _MARGINAL * np.maximum(ev.max(axis=1), np.finfo(float).tiny)
    sm = mean_r**2  # a lower bound (Jensen), kept where the mean map already grows
    check = (mean_r < 1.0) | singular
    if check.any():
        sm[check] = lsq_second_moment_radius(prob.X[check], A[check], lam=lam, B=B, alpha=alpha, mu=mu)
    return _verdict(out, mean_r, sm, singular, random_walk=p["beta"] != 0.0)


def _verdict(out, mean_r, sm_r, marginal, *, random_walk: bool = False) -> dict:
    # a marginal data set's null space has second-moment radius 1 exactly: only a larger one is growth
    grows = np.where(marginal, (mean_r > 1.0 + _MARGIN_TOL) | (sm_r > 1.0 + _MARGIN_TOL),
                     (mean_r > 1.0) | (sm_r >= 1.0))
    unstable = grows | (marginal & random_walk)
    out.update(known=True, mean_radius=float(np.max(mean_r)), second_moment_radius=float(np.max(sm_r)),
               unstable=unstable, marginal=marginal & ~unstable)
    K = unstable.size
    walk = unstable & ~grows
    parts = []
    if grows.any():
        parts.append(f"unstable: {int(grows.sum())} of {K} data sets have a mean map (radius up to "
                     f"{out['mean_radius']:.6g}) or second-moment map (radius up to "
                     f"{out['second_moment_radius']:.6g}) that does not contract: no stationary law with a finite "
                     "mean loss; their chains are left out as diverged")
    if walk.any():
        parts.append(f"no stationary law: {int(walk.sum())} of {K} data sets have a singular X'X/n with alpha = 0 "
                     "and beta != 0 (a random walk on the null space); their chains are left out as diverged")
    if out["marginal"].any():
        parts.append(f"no unique stationary law: {int(out['marginal'].sum())} of {K} data sets have a singular "
                     "X'X/n with alpha = 0 (the null space never moves: theta keeps its start there)")
    out["reason"] = "; ".join(parts)
    return out
