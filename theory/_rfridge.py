"""Random-feature ridge regression: frozen random features, trained readout, and
its mean-kernel (infinite-width) prediction K -> E[K] [D].

Seed 001 lists "random-feature loop corrections" (Kim, arXiv 2604.12827); its
formulas were not found (INDICATORS.md). What is here makes no claim about that
paper's correction: the infinite-width limit, where the random feature kernel
K_P = Phi Phi' is replaced by its mean E[K_P] = k(x, x'), and a simulation that
measures the finite-width deviation of the predictor from that limit.

Features (P of them, w_j i.i.d.):
- "relu": phi_j(x) = relu(w_j' x) / sqrt(P), w_j ~ N(0, I_d); mean kernel the
  degree-1 arc-cosine kernel (Cho & Saul 2009)
      k(x, y) = ||x|| ||y|| (sin t + (pi - t) cos t) / (2 pi),  t = angle(x, y).
- "cos": phi_j(x) = sqrt(2/P) cos(w_j' x + b_j), w_j ~ N(0, I_d / ell^2),
  b_j ~ U(0, 2 pi) (Rahimi & Recht 2007); mean kernel
      k(x, y) = exp(-||x - y||^2 / (2 ell^2)).

Readout: a = argmin (1/n) ||Phi a - y||^2 + ridge ||a||^2, so the prediction is
f_P(x*) = phi(x*)' Phi' (Phi Phi' + n ridge I)^{-1} y, and the mean-kernel
prediction f_K(x*) = k(x*, X) (K + n ridge I)^{-1} y.
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import ArgumentError, check_array, check_choice, check_int, check_positive

__all__ = [
    "RF_KINDS",
    "mean_kernel",
    "random_features",
    "rf_ridge_predict",
    "kernel_ridge_predict",
    "finite_width_deviation",
]

RF_KINDS = ("relu", "cos")


def _arr(name, x, ndim):
    a = check_array(name, x, ndim=ndim)
    if a.size == 0:
        raise ArgumentError(f"{name} must be a non-empty {ndim}-D array (got shape {a.shape})", param=name)
    return a


def _kind(kind):
    return check_choice("kind", kind, RF_KINDS)


_pos = check_positive


def mean_kernel(X, Y, *, kind: str = "relu", ell: float = 1.0) -> np.ndarray:
    """E[K] = lim_{P->inf} Phi(X) Phi(Y)' for the features of `kind` (module doc)."""
    X = _arr("X", X, 2)
    Y = _arr("Y", Y, 2)
    if X.shape[1] != Y.shape[1]:
        raise ArgumentError(f"X and Y must have the same number of columns (got {X.shape[1]} and {Y.shape[1]})")
    _kind(kind)
    if kind == "cos":
        ell = _pos("ell", ell)
        d2 = np.sum(X * X, 1)[:, None] + np.sum(Y * Y, 1)[None, :] - 2 * X @ Y.T
        return np.exp(-np.maximum(d2, 0.0) / (2 * ell * ell))
    nx = np.linalg.norm(X, axis=1)[:, None]
    ny = np.linalg.norm(Y, axis=1)[None, :]
    nn = nx * ny
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.clip(np.where(nn > 0, X @ Y.T / np.where(nn > 0, nn, 1.0), 1.0), -1.0, 1.0)
    t = np.arccos(c)
    return nn * (np.sqrt(1.0 - c * c) + (math.pi - t) * c) / (2 * math.pi)


def random_features(X, P: int, *, kind: str = "relu", ell: float = 1.0, seed=0) -> tuple:
    """Draw P features and return (Phi (n, P), featurize) where featurize(Z)
    applies the same frozen features to new inputs Z."""
    X = _arr("X", X, 2)
    _kind(kind)
    P = check_int("P", P, 1)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    d = X.shape[1]
    if kind == "relu":
        W = rng.standard_normal((d, P))

        def featurize(Z):
            return np.maximum(_arr("Z", Z, 2) @ W, 0.0) / math.sqrt(P)
    else:
        ell = _pos("ell", ell)
        W = rng.standard_normal((d, P)) / ell
        b = rng.uniform(0.0, 2 * math.pi, P)

        def featurize(Z):
            return math.sqrt(2.0 / P) * np.cos(_arr("Z", Z, 2) @ W + b)

    return featurize(X), featurize


def _solve(K, y, n, ridge):
    A = K + n * ridge * np.eye(K.shape[0])
    return np.linalg.solve(A, y)


def rf_ridge_predict(X, y, Xtest, P: int, *, ridge: float, kind: str = "relu", ell: float = 1.0, seed=0) -> np.ndarray:
    """Finite-width prediction f_P(Xtest) = Phi* Phi' (Phi Phi' + n ridge I)^{-1} y."""
    X = _arr("X", X, 2)
    y = _arr("y", y, 1)
    if y.size != X.shape[0]:
        raise ArgumentError(f"y must have one entry per row of X ({X.shape[0]}, got {y.size})")
    ridge = _pos("ridge", ridge)
    Phi, feat = random_features(X, P, kind=kind, ell=ell, seed=seed)
    return feat(Xtest) @ (Phi.T @ _solve(Phi @ Phi.T, y, X.shape[0], ridge))


def kernel_ridge_predict(X, y, Xtest, *, ridge: float, kind: str = "relu", ell: float = 1.0) -> np.ndarray:
    """Mean-kernel prediction f_K(Xtest) = k(Xtest, X) (K + n ridge I)^{-1} y (K -> E[K])."""
    X = _arr("X", X, 2)
    y = _arr("y", y, 1)
    if y.size != X.shape[0]:
        raise ArgumentError(f"y must have one entry per row of X ({X.shape[0]}, got {y.size})")
    ridge = _pos("ridge", ridge)
    K = mean_kernel(X, X, kind=kind, ell=ell)
    return mean_kernel(Xtest, X, kind=kind, ell=ell) @ _solve(K, y, X.shape[0], ridge)


def finite_width_deviation(X, y, Xtest, widths, *, ridge: float, kind: str = "relu", ell: float = 1.0,
                           reps: int = 20, seed=0) -> dict:
    """Measure by simulation how far the width-P predictor is from the mean-kernel one.

    For each P in `widths`, `reps` independent feature draws (streams spawned from
    `seed`) give predictions f_P on Xtest. Returns, per width (arrays over widths):
      "bias2"     mean over Xtest of (E_W f_P - f_K)^2   (systematic finite-width shift)
      "variance"  mean over Xtest of Var_W f_P            (feature-draw noise)
      "deviation" bias2 + variance = E_W mean (f_P - f_K)^2
      "deviation_se" its standard error across draws
    and "slope": least-squares slope of log deviation on log P (-1 when the
    deviation falls like 1/P, the order of a "one-loop" correction).
    """
    widths = [int(w) for w in widths]
    if len(widths) < 1 or any(w < 1 for w in widths):
        raise ArgumentError(f"widths must be integers >= 1 (got {widths})")
    reps = check_int("reps", reps, 2)
    fK = kernel_ridge_predict(X, y, Xtest, ridge=ridge, kind=kind, ell=ell)
    ss = np.random.SeedSequence(seed if not isinstance(seed, np.random.SeedSequence) else seed.entropy)
    streams = ss.spawn(len(widths) * reps)
    b2, var, dev, dse = [], [], [], []
    for i, P in enumerate(widths):
        preds = np.stack([rf_ridge_predict(X, y, Xtest, P, ridge=ridge, kind=kind, ell=ell,
                                           seed=np.random.default_rng(streams[i * reps + r])) for r in range(reps)])
        per = np.mean((preds - fK) ** 2, axis=1)
        m = preds.mean(axis=0)
        b2.append(float(np.mean((m - fK) ** 2)))
        var.append(float(np.mean(preds.var(axis=0, ddof=1))))
        dev.append(float(per.mean()))
        dse.append(float(per.std(ddof=1) / math.sqrt(reps)))
    dev_a = np.array(dev)
    slope = float(np.polyfit(np.log(widths), np.log(dev_a), 1)[0]) if len(widths) >= 2 and np.all(dev_a > 0) else float("nan")
    return {"widths": np.array(widths), "bias2": np.array(b2), "variance": np.array(var),
            "deviation": dev_a, "deviation_se": np.array(dse), "slope": slope, "kernel_prediction": fK}
