"""SDE-based information-theoretic bounds of Wang & Mao (arXiv 2211.10691).

SGD model [V]: W_t = W_{t-1} - eta_t grad L_S(W_{t-1}) + eta_t C_t^{1/2} N_t. The
seed's C_t carries the without-replacement factor (n - b) / (b (n - 1)); gapkit's
SGD (the paper's Eq 15) draws minibatches WITH replacement, whose minibatch
gradient covariance is D / b with D the per-example gradient covariance of Eq 17
(`minibatch_covariance` offers both).

- Trajectory bound [D] (`trajectory_bound`), for an R-sub-Gaussian loss and C_t > 0:
      |gen| <= sqrt( (R^2/n) sum_t [ d log((||grad L_S(W_{t-1})||^2 + tr C_t) / d) - log det C_t ] ).
- Terminal-state bound [D, constants unchecked] (`terminal_state_bound`): near a
  minimum w* with Hessian H the stationary law is N(w*, Lambda) with
      H Lambda + Lambda H = (eta/b) D                   (continuous, `lyapunov_continuous`)
      H Lambda + Lambda H - eta H Lambda H = (eta/b) D  (discrete SGD, `lyapunov_discrete`),
  (both solved in gapkit.theory._lyapunov, the one home of the Lyapunov solves),
  and gen <= sqrt( (2 R^2 / n) E_S KL( N(w*_S, Lambda_S) || N(m_P, Lambda_P) ) ).
  D is NOT divided by b a second time (the (eta/b) already carries it).

On networks log det C_t cannot be formed; `logdet_lowrank_isotropic` gives the
stated approximation (top-k exact eigenvalues + the remaining trace spread
evenly over the other d - k directions).
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from gapkit.theory._lyapunov import lyapunov_continuous, lyapunov_discrete
from gapkit.theory._validate import ArgumentError, check_array, check_int, check_nonneg, check_positive

__all__ = [
    "minibatch_covariance",
    "trajectory_terms",
    "trajectory_bound",
    "lyapunov_continuous",
    "lyapunov_discrete",
    "gaussian_kl",
    "terminal_state_bound",
    "logdet_lowrank_isotropic",
]


def minibatch_covariance(per_example_grads, b: int, *, replacement: bool = True) -> np.ndarray:
    """Covariance of a size-b minibatch mean gradient at one state.

    per_example_grads: (n, d). D = (1/n) sum_i g_i g_i' - gbar gbar' (Eq 17).
    replacement=True (gapkit's Eq 15): D / b.
    replacement=False (Wang & Mao's C_t [V]): (n - b) / (b (n - 1)) D.
    """
    g = check_array("per_example_grads", per_example_grads, ndim=2)
    n = g.shape[0]
    b = check_int("b", b, 1, None if replacement else n)
    c = g - g.mean(axis=0)
    D = c.T @ c / n
    if replacement:
        return D / b
    if n == 1:
        return np.zeros_like(D)
    return D * ((n - b) / (b * (n - 1)))


def trajectory_terms(per_example_grads, b: int, *, replacement: bool = True, beta: float = 0.0, lr=None) -> dict:
    """Per-step ingredients of the trajectory bound, exact (toy models).

    per_example_grads: (S, n, d) per-example gradients at W_{t-1}, t = 1..S.
    beta: injected isotropic noise of Eq 15, which adds beta^2 / b to the
    minibatch covariance (the noise sqrt(lam T) beta w has covariance lam^2 beta^2 / B).
    Returns "grad_norm2" (S,) ||grad L_S||^2, "trC" (S,), "logdetC" (S,)
    (-inf where C_t is singular), "d".
    """
    g = check_array("per_example_grads", per_example_grads, ndim=3)
    check_nonneg("beta", beta)
    S, n, d = g.shape
    gbar = g.mean(axis=1)
    c = g - gbar[:, None, :]
    D = np.einsum("sni,snj->sij", c, c) / n
    b = check_int("b", b, 1, None if replacement else n)
    fac = 1.0 / b if replacement else ((n - b) / (b * (n - 1)) if n > 1 else 0.0)
    C = D * fac + (beta * beta / b) * np.eye(d)
    ev = np.linalg.eigvalsh(C)
    with np.errstate(divide="ignore"):
        logdet = np.where(np.all(ev > 0, axis=1), np.sum(np.log(np.where(ev > 0, ev, 1.0)), axis=1), -np.inf)
    return {"grad_norm2": np.sum(gbar * gbar, axis=1), "trC": np.trace(C, axis1=1, axis2=2), "logdetC": logdet, "d": d}


def trajectory_bound(grad_norm2, trC, logdetC, *, d: int, n: int, R: float) -> dict:
    """Wang & Mao's trajectory bound [D]:
        |gen| <= sqrt( (R^2/n) sum_t [ d log((||grad L_S(W_{t-1})||^2 + tr C_t)/d) - log det C_t ] ).

    (log det C_t = tr log C_t.) Each summand is >= 0 by the AM-GM inequality on
    the eigenvalues of C_t. A single run gives one sample of the expectation
    E over the run's randomness. Returns "bound" (inf if some C_t is singular)
    and "terms" (S,).
    """
    gn = check_array("grad_norm2", grad_norm2, ndim=1)
    tc = check_array("trC", trC, shape=gn.shape)
    ld = np.asarray(logdetC, dtype=np.float64)
    if ld.shape != gn.shape or np.any(np.isnan(ld)) or np.any(ld == np.inf):
        raise ArgumentError(f"logdetC must have shape {gn.shape} with entries < inf (got {ld.shape})")
    d = check_int("d", d, 1)
    n = check_int("n", n, 1)
    R = check_positive("R", R)
    if np.any(gn < 0) or np.any(tc < 0):
        raise ArgumentError("grad_norm2 and trC must be >= 0")
    with np.errstate(divide="ignore"):
        terms = d * np.log((gn + tc) / d) - ld
    total = float(np.sum(terms))
    bound = math.sqrt(R * R / n * total) if total >= 0 else float("nan")
    return {"bound": bound if np.all(np.isfinite(ld)) else math.inf, "terms": terms}


def gaussian_kl(m0, S0, m1, S1) -> float:
    """KL( N(m0, S0) || N(m1, S1) )
    = (1/2) [ tr(S1^{-1} S0) + (m1 - m0)' S1^{-1} (m1 - m0) - d + log det S1 - log det S0 ],
    by Cholesky factors. S1 must be positive definite. A singular S0
    (positive semi-definite, rank < d) gives +inf: N(m0, S0) then lives on a
    proper affine subspace, which has N(m1, S1)-measure zero (e.g. the
    stationary Gaussian of over-parameterized linear regression without
    injected noise: the minibatch noise spans only the data's row space).
    S0's eigenvalues below -d eps max|eig| (not positive semi-definite) are an error."""
    m0 = check_array("m0", m0, ndim=1)
    d = m0.size
    m1 = check_array("m1", m1, shape=(d,))
    S0 = check_array("S0", S0, shape=(d, d))
    S1 = check_array("S1", S1, shape=(d, d))
    try:
        L1 = np.linalg.cholesky(S1)
    except np.linalg.LinAlgError:
        raise ArgumentError("S1 must be symmetric positive definite", param="S1") from None
    try:
        L0 = np.linalg.cholesky(S0)
    except np.linalg.LinAlgError:
        ev = np.linalg.eigvalsh(0.5 * (S0 + S0.T))
        if ev[0] < -d * np.finfo(np.float64).eps * max(abs(ev[-1]), abs(ev[0])):
            raise ArgumentError("S0 must be symmetric positive semi-definite "
                                f"(smallest eigenvalue {ev[0]:.3g})", param="S0") from None
        return math.inf
    A = scipy.linalg.solve_triangular(L1, L0, lower=True)
    z = scipy.linalg.solve_triangular(L1, m1 - m0, lower=True)
    logdet = 2.0 * (np.sum(np.log(np.diag(L1))) - np.sum(np.log(np.diag(L0))))
    return float(max(0.5 * (np.sum(A * A) + z @ z - d + logdet), 0.0))


def terminal_state_bound(means, covs, *, n: int, R: float, prior_mean=None, prior_cov=None) -> dict:
    """Wang & Mao's terminal-state bound [D, constants unchecked]:
        gen <= sqrt( (2 R^2 / n) E_S KL( N(w*_S, Lambda_S) || N(m_P, Lambda_P) ) ).

    means: (K, d) w*_S for K training sets; covs: (K, d, d) Lambda_S (from
    `lyapunov_discrete` / `lyapunov_continuous`). The prior must not depend on
    S; without one, the Gaussian minimising E_S KL is used (moment matching of
    the mixture: m_P = mean of w*_S, Lambda_P = mean Lambda_S + Cov(w*_S)),
    which is the best data-independent Gaussian prior of the population of
    training sets the K draws estimate.
    Returns "bound", "mean_kl", "kl" (K,).
    """
    mu = check_array("means", means, ndim=2)
    K, d = mu.shape
    cv = check_array("covs", covs, shape=(K, d, d))
    n = check_int("n", n, 1)
    R = check_positive("R", R)
    if prior_mean is None:
        prior_mean = mu.mean(axis=0)
    if prior_cov is None:
        c = mu - prior_mean
        prior_cov = cv.mean(axis=0) + c.T @ c / K
    kl = np.array([gaussian_kl(mu[k], cv[k], prior_mean, prior_cov) for k in range(K)])
    m = float(kl.mean())
    return {"bound": math.sqrt(2.0 * R * R / n * m), "mean_kl": m, "kl": kl}


def logdet_lowrank_isotropic(top_eigs, trace: float, d: int, *, floor: float = 1e-30) -> float:
    """Approximate log det C from its k largest eigenvalues and its trace
    (networks, where C is d x d with d ~ 1e6):
        log det C ~ sum_{i<=k} log lambda_i + (d - k) log( max(tr C - sum_{i<=k} lambda_i, 0) / (d - k) ).
    The other d - k eigenvalues are replaced by their mean (isotropic part).
    By AM-GM this OVER-estimates log det C (so it under-estimates the
    trajectory bound's -log det term); `floor` keeps the log finite when C
    has rank <= k (minibatch covariances from n < d examples always do: then
    the exact bound is infinite and this approximation says how the rest of
    the spectrum would have to look for it to be finite).
    """
    ev = check_array("top_eigs", top_eigs, ndim=1)
    d = check_int("d", d, ev.size)
    tr = check_nonneg("trace", trace)
    if np.any(ev <= 0):
        raise ArgumentError("top_eigs must be > 0")
    k = ev.size
    out = float(np.sum(np.log(ev)))
    if d > k:
        rest = max(tr - float(ev.sum()), 0.0) / (d - k)
        out += (d - k) * math.log(max(rest, floor))
    return out
