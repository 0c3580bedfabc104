"""Prediction-disagreement indicators of Johnson & Zhang (NeurIPS 2023).

- Inconsistency [V]: C = E_S E_{Theta,Theta'} E_X KL( f(Theta, X) || f(Theta', X) ):
  two runs with different seeds on the same training set S, f the softmax output.
- Instability [R] (reconstructed from secondary sources, not checked against the
  paper): I = E_{S,S'} E_X KL( fbar_S(X) || fbar_{S'}(X) ), fbar_S the
  seed-averaged prediction of training set S.

Estimation: K >= 2 seeds on each of J >= 1 (instability: >= 2) training sets,
predictions on the same unlabeled inputs X. Expectations over pairs use all
ordered pairs of distinct seeds (distinct sets), so both are symmetric in order;
one vectorised pass (`_mean_pair_kl`) serves both and both backends.
"""
from __future__ import annotations

import numpy as np
from scipy.special import log_softmax

from gapkit.theory._validate import ArgumentError, check_array

__all__ = ["softmax_kl", "inconsistency", "instability"]


def _logp(name, x, logits):
    a = check_array(name, x)
    if a.ndim != 4 or min(a.shape) < 1:
        raise ArgumentError(f"{name} must have shape (training_sets, seeds, inputs, classes) (got {a.shape})")
    if logits:
        return log_softmax(a, axis=-1)
    if np.any(a < 0) or np.any(np.abs(a.sum(axis=-1) - 1.0) > 1e-8):
        raise ArgumentError(f"{name} must hold probability vectors (>= 0, summing to 1 over the last axis)")
    with np.errstate(divide="ignore"):
        return np.log(a)


def softmax_kl(logp, logq) -> np.ndarray:
    """KL(p || q) = sum_c p_c (log p_c - log q_c) over the last axis, from log
    probabilities (0 log 0 = 0; inf where q_c = 0 < p_c)."""
    p = np.exp(logp)
    with np.errstate(invalid="ignore"):
        t = np.where(p > 0, p * (logp - logq), 0.0)
    return np.sum(t, axis=-1)


def inconsistency(outputs, *, logits: bool = True) -> float:
    """Inconsistency C [V]. outputs: (J sets, K >= 2 seeds, N inputs, classes)
    logits (default) or probabilities. Mean over sets, ordered seed pairs
    (k != k') and inputs of KL(f_k || f_k'). The torch backend passes its
    network outputs here as float64 numpy arrays."""
    lp = _logp("outputs", outputs, logits)
    K = lp.shape[1]
    if K < 2:
        raise ArgumentError(f"outputs must hold at least 2 seeds per training set (got {K})", param="outputs")
    return _mean_pair_kl(lp)


def instability(outputs, *, logits: bool = True) -> float:
    """Instability I [R]. outputs: (J >= 2 sets, K seeds, N inputs, classes).
    fbar_S = mean over seeds of the softmax probabilities; mean over ordered
    pairs of distinct sets and inputs of KL(fbar_S || fbar_S')."""
    lp = _logp("outputs", outputs, logits)
    J = lp.shape[0]
    if J < 2:
        raise ArgumentError(f"outputs must hold at least 2 training sets (got {J})", param="outputs")
    fbar = np.exp(lp).mean(axis=1)  # (J, N, C)
    with np.errstate(divide="ignore"):
        lb = np.log(fbar)
    return _mean_pair_kl(lb[None])


# Largest block of pairwise log-ratios (groups x K x K x inputs x classes) formed at once.
_PAIR_BLOCK = 1 << 24


def _mean_pair_kl(lp) -> float:
    """Mean over groups g, ordered pairs k != k' and inputs of KL(p_gk || p_gk'),
    lp: (G, K, N, C) log probabilities. All pairs at once by broadcasting, in
    blocks of inputs so that memory stays below _PAIR_BLOCK doubles per array."""
    G, K, N, C = lp.shape
    off = ~np.eye(K, dtype=bool)
    step = max(1, _PAIR_BLOCK // (G * K * K * C))
    total = 0.0
    for i in range(0, N, step):
        blk = lp[:, :, i:i + step]
        total += softmax_kl(blk[:, :, None], blk[:, None, :])[:, off].sum()  # (G, K, K, n) -> off-diagonal pairs
    return float(total / (G * K * (K - 1) * N))
