"""Appendix D: test and train loss of a Gaussian-mixture rhobar, by curvature (Eqs 54-55).

rhobar(theta) = sum_k w_k N(mu_k, Sigma_k). Near its k-th minimum theta_k the
population test loss is locally quadratic, Ubar_e ~ U_k + (1/2)(theta - theta_k)' C_k (theta - theta_k),
and the train loss Ubar_l ~ U~_k + (1/2)(theta - theta~_k)' C~_k (theta - theta~_k). With the
local bias b_k = mu_k - theta~_k and shift s_k = theta~_k - theta_k (so theta - theta_k = theta - mu_k + b_k + s_k),
E_{N(mu_k, Sigma_k)}[(theta - c)' C (theta - c)] = Tr(Sigma_k C) + (mu_k - c)' C (mu_k - c) gives
    Eq 54:  <<Ubar_e>> ~ sum_k w_k (U_k + (1/2) Tr(Sigma_k C_k) + (1/2)(b_k + s_k)' C_k (b_k + s_k))
    Eq 55:  <<Ubar_l>> ~ sum_k w_k (U~_k + (1/2) Tr(Sigma_k C~_k) + (1/2) b_k' C~_k b_k)
(paper: agrees). Exact when each quadratic holds wherever its component has
mass; `mixture_expectation_1d` integrates any 1-D loss against the mixture
numerically (scipy.integrate.quad) to check it.
"""
from __future__ import annotations

import numpy as np
import scipy.integrate

from ._lyapunov import _arr
from ._validate import ArgumentError

__all__ = ["curvature_decomposition", "mixture_expectation_1d"]


def _mix_inputs(weights, means, covs):
    w = _arr("weights", weights, 1)
    if np.any(w < 0) or abs(w.sum() - 1) > 1e-12 * max(1, w.size):
        raise ArgumentError("weights must be >= 0 and sum to 1")
    K = w.size
    mu = np.asarray(means, dtype=np.float64).reshape(K, -1)
    d = mu.shape[1]
    S = np.asarray(covs, dtype=np.float64).reshape(K, d, d)
    if not np.all(np.isfinite(mu)) or not np.all(np.isfinite(S)):
        raise ArgumentError("means and covs must be finite", param="means")
    for k in range(K):
        if np.linalg.eigvalsh(0.5 * (S[k] + S[k].T)).min() < 0:
            raise ArgumentError(f"covs[{k}] must be positive semi-definite", param="covs")
    return w, mu, S, K, d


def curvature_decomposition(weights, means, covs, *, test_minima, test_values, test_curv,
                            train_minima, train_values, train_curv):
    """Eqs 54-55 for a Gaussian-mixture rhobar; returns the totals and each term.

    weights (K,), means (K, d), covs (K, d, d); test_minima theta_k (K, d), test_values U_k (K,),
    test_curv C_k (K, d, d); train_minima theta~_k, train_values U~_k, train_curv C~_k likewise.
    Returns {"test", "train", "test_terms": {"depth", "variance", "bias_shift"},
    "train_terms": {"depth", "variance", "bias"}, "bias" b_k, "shift" s_k}.
    """
    w, mu, S, K, d = _mix_inputs(weights, means, covs)
    th = np.asarray(test_minima, dtype=np.float64).reshape(K, d)
    tt = np.asarray(train_minima, dtype=np.float64).reshape(K, d)
    U = np.asarray(test_values, dtype=np.float64).reshape(K)
    Ut = np.asarray(train_values, dtype=np.float64).reshape(K)
    C = np.asarray(test_curv, dtype=np.float64).reshape(K, d, d)
    Ct = np.asarray(train_curv, dtype=np.float64).reshape(K, d, d)
    b = mu - tt
    s = tt - th
    bs = b + s
    var_e = 0.5 * np.einsum("kij,kji->k", S, C)
    bias_e = 0.5 * np.einsum("ki,kij,kj->k", bs, C, bs)
    var_l = 0.5 * np.einsum("kij,kji->k", S, Ct)
    bias_l = 0.5 * np.einsum("ki,kij,kj->k", b, Ct, b)
    return {
        "test": float(w @ (U + var_e + bias_e)),
        "train": float(w @ (Ut + var_l + bias_l)),
        "test_terms": {"depth": float(w @ U), "variance": float(w @ var_e), "bias_shift": float(w @ bias_e)},
        "train_terms": {"depth": float(w @ Ut), "variance": float(w @ var_l), "bias": float(w @ bias_l)},
        "bias": b, "shift": s,
    }


def mixture_expectation_1d(f, weights, means, sds, *, width=14.0):
    """<<f>> = integral rhobar f for a 1-D Gaussian mixture, by scipy.integrate.quad per component.

    Each component is integrated over mu_k +- width sd_k (mass outside < 1e-40).
    Returns (value, abs error estimate).
    """
    w = _arr("weights", weights, 1)
    mu = np.asarray(means, dtype=np.float64).reshape(w.size)
    sd = np.asarray(sds, dtype=np.float64).reshape(w.size)
    if np.any(sd <= 0):
        raise ArgumentError("sds must be > 0")
    tot, err = 0.0, 0.0
    for wk, m, s in zip(w, mu, sd):
        g = lambda t, m=m, s=s: f(t) * np.exp(-0.5 * ((t - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))  # noqa: E731
        val, e = scipy.integrate.quad(g, m - width * s, m + width * s, epsabs=1e-14, epsrel=1e-13, limit=200,
                                      points=[m])
        tot += wk * val
        err += wk * e
    return tot, err
