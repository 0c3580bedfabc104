"""Data sets for the simulators (paper Section 2 setting; Section 3 / Appendix E draws).

A data set D = {x_l, x_e}. gapkit draws K of them from one root seed:

- fresh draws (``pool=None``): train inputs x ~ N(data_mean 1, data_std^2 I) in d
  dimensions, i.i.d. per data set; the test side is the population itself (a
  closed form where the model has one, else a large independent test set);
- a finite pool of N points drawn once, from which each data set takes its
  train and test sets in the paper's two ways (Appendix E):
  ``"split"``: reshuffle the pool, first n points train, the other N - n test;
  ``"iid"``  : train (n points) and test (N - n points) drawn independently,
              each without replacement, from the pool (they can overlap).

Labels: a linear teacher y = w*'x + noise_std eps (linreg, rfridge) or a
logistic teacher P(y = 1 | x) = sigmoid(w*'x), y in {-1, +1} (logreg). The
teacher w* ~ N(0, I/d) comes from the root seed (numpy SeedSequence).

Every data set k draws from its own keyed stream (seed, TAG_DATA, k, .) inside
Numba, so the data do not depend on the thread count either.
"""
from __future__ import annotations

import math

import numpy as np
from . import _rng
from ._jit import jit, run_blocks
from ._losses import sigmoid

__all__ = ["SCHEMES", "teacher", "gaussian_inputs", "pool_indices", "labels"]

from gapkit.sims._settings import SCHEMES as SCHEMES  # noqa: E402 - names live in the settings module
from gapkit.theory._validate import ArgumentError  # noqa: E402


def teacher(seed: int, d: int, *, key: int = 1) -> np.ndarray:
    """Teacher weights w* ~ N(0, I/d) from the root seed (data-independent)."""
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(0x7EAC, int(key)))
    return np.random.default_rng(ss).standard_normal(d) / math.sqrt(d)


@jit
def _gauss(k0, k1, seed, tag, mean, std, X):
    """Fill X[k] (n, d) for k0 <= k < k1 with N(mean, std^2) draws from stream (seed, tag, k, 0)."""
    n, d = X.shape[1], X.shape[2]
    for k in range(k0, k1):
        s0, s1, s2, s3 = _rng.stream(seed, tag, k, np.int64(0))
        for j in range(n):
            for i in range(d):
                z, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)
                X[k, j, i] = mean + std * z


def gaussian_inputs(seed: int, K: int, n: int, d: int, mean: float, std: float, *, tag: int = _rng.TAG_DATA) -> np.ndarray:
    """(K, n, d) inputs, x ~ N(mean, std^2 I); data set k from stream (seed, tag, k, 0)."""
    X = np.empty((int(K), int(n), int(d)))
    run_blocks(_gauss, X.shape[0], np.uint64(_rng.seed64(seed)), np.uint64(tag), float(mean), float(std), X)
    return X


@jit
def _labels(k0, k1, seed, tag, X, w, noise, logistic, y):
    """Fill y[k] (n,) for k0 <= k < k1 from stream (seed, tag, k, 1)."""
    n, d = X.shape[1], X.shape[2]
    for k in range(k0, k1):
        s0, s1, s2, s3 = _rng.stream(seed, tag, k, np.int64(1))
        for j in range(n):
            a = 0.0
            for i in range(d):
                a += X[k, j, i] * w[i]
            if logistic:
                u, s0, s1, s2, s3 = _rng.uniform01(s0, s1, s2, s3)
                p = sigmoid(a)  # P(y = +1)
                y[k, j] = 1.0 if u < p else -1.0
            else:
                z, s0, s1, s2, s3 = _rng.std_normal(s0, s1, s2, s3)
                y[k, j] = a + noise * z


def labels(seed: int, X: np.ndarray, w: np.ndarray, *, noise_std: float = 0.0, logistic: bool = False,
           tag: int = _rng.TAG_DATA) -> np.ndarray:
    """(K, n) labels of inputs X (K, n, d): linear teacher + Gaussian noise, or logistic +-1."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.empty(X.shape[:2])
    run_blocks(_labels, X.shape[0], np.uint64(_rng.seed64(seed)), np.uint64(tag), X,
               np.ascontiguousarray(w, dtype=np.float64), float(noise_std), bool(logistic), y)
    return y


@jit
def _pool_idx(k0, k1, seed, N, iid, tr, te):
    """Fill the train (tr[k], n) and test (te[k], ne) indices for k0 <= k < k1 from stream (seed, TAG_POOL, k, 2)."""
    n, ne = tr.shape[1], te.shape[1]
    for k in range(k0, k1):
        s0, s1, s2, s3 = _rng.stream(seed, np.uint64(_rng.TAG_POOL), k, np.int64(2))
        perm = np.arange(N)
        # partial Fisher-Yates: the first n entries are a uniform draw without replacement
        for j in range(n):
            u, s0, s1, s2, s3 = _rng.uniform01(s0, s1, s2, s3)
            r = j + int(u * (N - j))
            perm[j], perm[r] = perm[r], perm[j]
            tr[k, j] = perm[j]
        if iid:
            perm = np.arange(N)
            for j in range(ne):
                u, s0, s1, s2, s3 = _rng.uniform01(s0, s1, s2, s3)
                r = j + int(u * (N - j))
                perm[j], perm[r] = perm[r], perm[j]
                te[k, j] = perm[j]
        else:
            for j in range(ne):
                te[k, j] = perm[n + j]


def pool_indices(seed: int, K: int, N: int, n: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """Train (K, n) and test (K, N - n) indices into a pool of N points (Appendix E).

    scheme "split": one reshuffle per data set, train = first n, test = the rest
    (disjoint). scheme "iid": train and test drawn independently without
    replacement (test has N - n points; they may overlap with train).
    """
    if scheme not in SCHEMES:
        raise ArgumentError(f"scheme must be one of {SCHEMES} (got {scheme!r})")
    if not (1 <= n < N):
        raise ArgumentError(f"pool must be > n (got pool={N}, n={n})")
    tr = np.empty((int(K), int(n)), dtype=np.int64)
    te = np.empty((int(K), int(N - n)), dtype=np.int64)
    run_blocks(_pool_idx, tr.shape[0], np.uint64(_rng.seed64(seed)), int(N), scheme == "iid", tr, te)
    return tr, te
