"""Per-example gradients, losses and Hessians of the toy models, rebuilt from a
`simulate` result's model table (`gapkit.sims.engine._problems.Problem`), in the
form `toy_indicators` takes. Losses as documented in `gapkit.sims.engine._problems`:
quadratic (h/2)|theta - x|^2, least squares (1/2)(w'x - y)^2 (linreg, rfridge
features), logistic log(1 + exp(-y w'x)).
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["problem_callables"]


def problem_callables(prob, k: int, raw: dict) -> dict:
    """Per-example gradients / losses / Hessians of data set k of a toy model
    (losses as documented in `gapkit.sims.engine._problems`), and the population
    gradient and loss where the model has them in closed form or on its shared
    test set."""
    X = np.asarray(prob.X[k], dtype=np.float64)
    n, d = X.shape
    out: dict = {"n": n}
    if prob.kind == "quad":
        h = float(prob.h)
        m = float(raw.get("data_mean", 0.0))
        s2 = float(raw.get("data_std", 1.0)) ** 2
        out.update(
            per_example_grad=lambda w: h * (w[None] - X),
            per_example_loss=lambda w: 0.5 * h * np.sum((w[None] - X) ** 2, axis=1),
            train_loss=lambda w: 0.5 * h * float(np.mean(np.sum((w[None] - X) ** 2, axis=1))),
            hessian=lambda w: h * np.eye(d),
        )
        if raw.get("pool") is None:
            out.update(pop_grad=lambda w: h * (w - m), pop_loss=lambda w: 0.5 * h * (float(np.sum((w - m) ** 2)) + d * s2))
        return out
    y = np.asarray(prob.y[k], dtype=np.float64)
    if prob.kind == "lsq":
        XX = np.einsum("ni,nj->nij", X, X)
        At = prob.arrays["At"][prob.tidx[k]]
        ct = prob.arrays["ct"][prob.tidx[k]]
        qt = float(prob.arrays["qt"][prob.tidx[k]])
        out.update(
            per_example_grad=lambda w: (X @ w - y)[:, None] * X,
            per_example_loss=lambda w: 0.5 * (X @ w - y) ** 2,
            train_loss=lambda w: 0.5 * float(np.mean((X @ w - y) ** 2)),
            hessian=lambda w: XX.mean(axis=0),
            pop_grad=lambda w: At @ w - ct,
            pop_loss=lambda w: 0.5 * (float(w @ At @ w) - 2 * float(ct @ w) + qt),
        )
        if n * d * d <= 2_000_000:
            out["per_example_hessian"] = lambda w: XX
        return out
    if prob.kind == "logit":
        Xt = np.asarray(prob.arrays["Xt"][prob.tidx[k]], dtype=np.float64)
        yt = np.asarray(prob.arrays["yt"][prob.tidx[k]], dtype=np.float64)

        def loss(w, A, b):
            return np.logaddexp(0.0, -b * (A @ w))

        out.update(
            per_example_grad=lambda w: (-y * expit(-y * (X @ w)))[:, None] * X,
            per_example_loss=lambda w: loss(w, X, y),
            train_loss=lambda w: float(np.mean(loss(w, X, y))),
            hessian=lambda w: np.einsum("n,ni,nj->ij", _sig2(X @ w), X, X) / n,
            pop_grad=lambda w: np.mean((-yt * expit(-yt * (Xt @ w)))[:, None] * Xt, axis=0),
            pop_loss=lambda w: float(np.mean(loss(w, Xt, yt))),
        )
        if n * d * d <= 2_000_000:
            out["per_example_hessian"] = lambda w: np.einsum("n,ni,nj->nij", _sig2(X @ w), X, X)
        return out
    raise ValueError(f"unknown model kind {prob.kind!r}")


def _sig2(z):
    p = expit(z)
    return p * (1.0 - p)
