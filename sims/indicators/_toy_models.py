"""Per-example gradients, losses and Hessians of the toy models, rebuilt from a
`simulate` result's model table (`gapkit.sims.engine._problems.Problem`), in the
form `toy_indicators` takes. The losses and gradients are those of
`gapkit.sims.engine._losses` (the one numeric definition the Numba kernels also
use): quadratic (h/2)|theta - x|^2, least squares (1/2)(w'x - y)^2 (linreg,
rfridge features), logistic log(1 + exp(-y w'x)).
"""
from __future__ import annotations

import numpy as np

from gapkit.sims.engine._losses import (glm_curvatures, glm_grads, glm_losses, lsq_suff_loss, quadratic_grads,
                                        quadratic_hessian, quadratic_losses)

__all__ = ["problem_callables"]

_MAX_PER_EXAMPLE_HESSIAN = 2_000_000  # n d^2 numbers held for per_example_hessian


def problem_callables(prob, k: int, raw) -> dict:
    """Per-example gradients / losses / Hessians of data set k of a toy model,
    and the population gradient and loss where the model has them in closed
    form or on its shared test set. `raw`: the run's configuration (a mapping
    with data_mean, data_std, pool; e.g. `RunResult.config`)."""
    X = np.asarray(prob.X[k], dtype=np.float64)
    n, d = X.shape
    out: dict = {"n": n}
    if prob.kind == "quad":
        h = float(prob.h)
        m = float(raw.get("data_mean", 0.0))
        s2 = float(raw.get("data_std", 1.0)) ** 2
        out.update(
            per_example_grad=lambda w: quadratic_grads(w, X, h),
            per_example_loss=lambda w: quadratic_losses(w, X, h),
            train_loss=lambda w: float(np.mean(quadratic_losses(w, X, h))),
            hessian=lambda w: quadratic_hessian(d, h),
        )
        if raw.get("pool") is None:
            out.update(pop_grad=lambda w: h * (w - m), pop_loss=lambda w: 0.5 * h * (float(np.sum((w - m) ** 2)) + d * s2))
        return out
    if prob.kind not in ("lsq", "logit"):
        raise ValueError(f"unknown model kind {prob.kind!r}")
    y = np.asarray(prob.y[k], dtype=np.float64)
    logistic = prob.kind == "logit"
    out.update(
        per_example_grad=lambda w: glm_grads(w, X, y, logistic),
        per_example_loss=lambda w: glm_losses(w, X, y, logistic),
        train_loss=lambda w: float(np.mean(glm_losses(w, X, y, logistic))),
    )
    small = n * d * d <= _MAX_PER_EXAMPLE_HESSIAN
    if not logistic:
        XX = np.einsum("ni,nj->nij", X, X)  # phi'' = 1: the per-example Hessians x x' do not depend on w
        j = prob.tidx[k]
        At, ct, qt = prob.arrays["At"][j], prob.arrays["ct"][j], float(prob.arrays["qt"][j])
        out.update(hessian=lambda w: XX.mean(axis=0), pop_grad=lambda w: At @ w - ct,
                   pop_loss=lambda w: lsq_suff_loss(w, At, ct, qt))
        if small:
            out["per_example_hessian"] = lambda w: XX
        return out
    Xt = np.asarray(prob.arrays["Xt"][prob.tidx[k]], dtype=np.float64)
    yt = np.asarray(prob.arrays["yt"][prob.tidx[k]], dtype=np.float64)
    out.update(
        hessian=lambda w: np.einsum("n,ni,nj->ij", glm_curvatures(w, X, y, True), X, X) / n,
        pop_grad=lambda w: np.mean(glm_grads(w, Xt, yt, True), axis=0),
        pop_loss=lambda w: float(np.mean(glm_losses(w, Xt, yt, True))),
    )
    if small:
        out["per_example_hessian"] = lambda w: np.einsum("n,ni,nj->nij", glm_curvatures(w, X, y, True), X, X)
    return out
