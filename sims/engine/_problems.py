"""The simulators' model table: data -> kernel inputs, losses, theory hooks.

Models (per-example loss l(theta, x); population = test loss on fresh data):

- ``quadratic1d`` / ``quadratic``: l = (h/2)|theta - x|^2 (H = h I, kwarg ``h``),
  x ~ N(data_mean 1, data_std^2 I). U_l = (h/2)(|theta - xbar|^2 + tr Sx);
  population loss (h/2)(|theta - m|^2 + d s^2) (closed form).
- ``linreg``: l = (1/2)(w'x - y)^2, y = w*'x + noise_std eps. Population loss
  with x ~ N(m 1, s^2 I): (1/2)((w - w*)' Sigma (w - w*) + noise_std^2),
  Sigma = s^2 I + m^2 11' (closed form).
- ``logreg``: l = log(1 + exp(-y w'x)), y = +-1 from the logistic teacher;
  population loss estimated on one large independent test set (kwarg
  ``test_size``, default 4096), shared by all data sets.
- ``rfridge``: frozen random features phi(x) (P = dim of them, from
  `gapkit.theory._rfridge.random_features`, kwargs ``input_dim`` (default 5),
  ``features`` "relu" | "cos"), trained readout w, l = (1/2)(w'phi(x) - y)^2, y =
  linear teacher on x; ridge = alpha. Population loss on a large shared test set.

With ``pool=N`` every model's train and test sets come from a finite pool (see
`_data`); the test loss is then the loss on that data set's test set.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import _data, _rng
from ._losses import lsq_suff_stats

__all__ = ["MODELS", "Problem", "build_problem"]

from gapkit.sims._settings import MODELS as MODELS  # noqa: E402 - names live in the settings module

KIND = {"quadratic1d": "quad", "quadratic": "quad", "linreg": "lsq", "logreg": "logit", "rfridge": "lsq"}
MODEL_KWARGS = {
    "quadratic1d": ("h", "problem_seed"),
    "quadratic": ("h", "problem_seed"),
    "linreg": ("problem_seed",),
    "logreg": ("test_size", "problem_seed"),
    "rfridge": ("input_dim", "features", "test_size", "problem_seed"),
}


@dataclasses.dataclass
class Problem:
    """Kernel inputs for K data sets of one model."""

    model: str
    kind: str
    d: int
    X: np.ndarray  # (K, n, d) inputs / features
    y: np.ndarray  # (K, n) labels (zeros for quadratic)
    tidx: np.ndarray  # (K,) index of each data set's test side
    test_source: str
    curvature: float  # smallest curvature of the population loss (burn-in rule)
    h: float = 1.0
    arrays: dict = dataclasses.field(default_factory=dict)
    teacher: np.ndarray | None = None


def build_problem(model, *, n, dim, data_mean, data_std, noise_std, datasets, seed, pool, scheme, beta=0.0,
                  **kw) -> Problem:
    """Draw the K data sets of `model` and compute what its kernel needs.

    Two seeds: ``seed`` draws the data sets (training inputs, labels' noise,
    pool indices); ``problem_seed`` (default: ``seed``) fixes the data
    *distribution*: the teacher w*, the finite pool, the shared test set and
    the random features. A temperature sweep passes one problem_seed to every
    grid point, so all points average over data sets from the same
    distribution (otherwise each point would see its own teacher and the
    teacher-to-teacher spread would sit outside every interval).
    """
    s64 = _rng.seed64(seed)
    ps = kw.get("problem_seed")
    p64 = s64 if ps is None else _rng.seed64(int(ps))
    din = dim if model != "rfridge" else int(kw.get("input_dim", 5))
    draws = None
    if pool is not None:
        draws = _pool_draws(s64, p64, K=datasets, n=n, din=din, pool=pool, scheme=scheme, data_mean=data_mean,
                            data_std=data_std)
    if KIND[model] == "quad":
        return _quadratic_problem(model, s64, draws, n=n, d=dim, data_mean=data_mean, data_std=data_std, K=datasets,
                                  h=float(kw.get("h", 1.0)), beta=beta)
    return _glm_problem(model, s64, p64, draws, n=n, d=dim, din=din, data_mean=data_mean, data_std=data_std,
                        noise_std=noise_std, K=datasets, kw=kw)


def _pool_draws(s64, p64, *, K, n, din, pool, scheme, data_mean, data_std) -> dict:
    """The finite pool (fixed by problem_seed) and each data set's train / test indices into it (`_data`)."""
    P = _data.gaussian_inputs(p64, 1, pool, din, data_mean, data_std, tag=_rng.TAG_POOL)
    tri, tei = _data.pool_indices(s64, K, pool, n, scheme)
    src = f"test set of each data set ({pool - n} points from a pool of {pool}, scheme '{scheme}')"
    return {"P": P, "train": tri, "test": tei, "source": src}


def _quadratic_problem(model, s64, draws, *, n, d, data_mean, data_std, K, h, beta) -> Problem:
    """Quadratic models: inputs, xbar, Sx, tr Sx, the test side and the Langevin noise factor."""
    X = _data.gaussian_inputs(s64, K, n, d, data_mean, data_std) if draws is None else draws["P"][0][draws["train"]]
    xbar = X.mean(axis=1)
    dev = X - xbar[:, None, :]
    Sx = np.einsum("kni,knj->kij", dev, dev) / n
    trs = np.trace(Sx, axis1=1, axis2=2).copy()
    if draws is None:
        tcen = np.full((1, d), float(data_mean))
        tconst = np.array([d * data_std**2])
        tidx = np.zeros(K, dtype=np.int64)
        src = "population loss, closed form (h/2)(|theta - m|^2 + d s^2)"
    else:
        Xe = draws["P"][0][draws["test"]]
        tcen = Xe.mean(axis=1)
        tconst = ((Xe - tcen[:, None, :]) ** 2).sum(axis=2).mean(axis=1)
        tidx = np.arange(K, dtype=np.int64)
        src = draws["source"]
    M2 = h * h * Sx + beta**2 * np.eye(d)
    if d == 1:
        L = np.sqrt(M2)
    else:
        # jitter-free Cholesky; a singular D + beta^2 I (beta = 0, n <= d) gets the eigen-root instead
        try:
            L = np.linalg.cholesky(M2)
        except np.linalg.LinAlgError:
            ev, U = np.linalg.eigh(M2)
            L = U * np.sqrt(np.clip(ev, 0, None))[:, None, :]
    return Problem(model, "quad", d, X, np.zeros((K, n)), tidx, src, curvature=h, h=h,
                   arrays=dict(xbar=xbar, Sx=Sx, trs=trs, L=np.ascontiguousarray(L), tcen=tcen, tconst=tconst))


def _glm_problem(model, s64, p64, draws, *, n, d, din, data_mean, data_std, noise_std, K, kw) -> Problem:
    """linreg, logreg, rfridge: inputs, teacher, labels, the test side and the kernel's loss inputs."""
    kind = KIND[model]
    logistic = kind == "logit"
    w_star = _data.teacher(p64, din)
    if draws is None:
        Xin = _data.gaussian_inputs(s64, K, n, din, data_mean, data_std)
        yin = _data.labels(s64, Xin, w_star, noise_std=noise_std, logistic=logistic)
    else:
        yp = _data.labels(p64, draws["P"], w_star, noise_std=noise_std, logistic=logistic, tag=_rng.TAG_POOL)[0]
        draws["y"] = yp
        Xin, yin = draws["P"][0][draws["train"]], yp[draws["train"]]
    Xt, yt, tidx, src = _glm_test_side(model, p64, draws, w_star, K=K, din=din, data_mean=data_mean,
                                       data_std=data_std, noise_std=noise_std, test_size=int(kw.get("test_size", 4096)))
    X = Xin
    if model == "rfridge":
        from gapkit.theory._rfridge import random_features

        ss = np.random.SeedSequence(entropy=int(p64), spawn_key=(0xFEA7,))
        _, featurize = random_features(Xin[0], d, kind=str(kw.get("features", "relu")), seed=np.random.default_rng(ss))
        X = featurize(Xin.reshape(-1, din)).reshape(K, n, d)
        Xt = featurize(Xt.reshape(-1, din)).reshape(Xt.shape[0], Xt.shape[1], d)
    arrays = {}
    if kind == "lsq":
        A, c, q = lsq_suff_stats(X, yin)
        if Xt is None:
            Sig = data_std**2 * np.eye(d) + data_mean**2 * np.ones((d, d))
            cs = Sig @ w_star
            At, ct, qt = Sig[None], cs[None], np.array([w_star @ cs + noise_std**2])
        else:
            At, ct, qt = lsq_suff_stats(Xt, yt)
        arrays.update(A=A, c=c, q=q, At=At, ct=ct, qt=qt)
        curv = data_std**2 if model == "linreg" else 0.0
        Xt = np.zeros((1, 1, d))
        yt = np.zeros((1, 1))
    else:
        arrays.update(A=np.zeros((1, 1, 1)), c=np.zeros((1, 1)), q=np.zeros(1), At=np.zeros((1, 1, 1)),
                      ct=np.zeros((1, 1)), qt=np.zeros(1))
        curv = 0.25 * data_std**2
    if model == "linreg" and n > d:
        curv *= (1.0 - math.sqrt(d / n)) ** 2  # Marchenko-Pastur lower edge of X'X/n
    elif model == "linreg":
        curv = 0.0
    arrays.update(Xt=np.ascontiguousarray(Xt), yt=np.ascontiguousarray(yt))
    return Problem(model, kind, d, np.ascontiguousarray(X), np.ascontiguousarray(yin), tidx, src, curvature=curv,
                   arrays=arrays, teacher=w_star)


def _glm_test_side(model, p64, draws, w_star, *, K, din, data_mean, data_std, noise_std, test_size):
    """(Xt, yt, tidx, source): a large shared test set (logreg, rfridge), each data set's pool test set, or
    None (linreg: closed-form population loss)."""
    if draws is None and (KIND[model] != "lsq" or model == "rfridge"):
        # one large independent test set, shared by all data sets (stream key K: never a train key)
        logistic = KIND[model] == "logit"
        Xt = _data.gaussian_inputs(p64, 1, test_size, din, data_mean, data_std, tag=_rng.TAG_INIT)
        yt = _data.labels(p64, Xt, w_star, noise_std=noise_std, logistic=logistic, tag=_rng.TAG_INIT)
        src = f"independent test set of {test_size} points shared by all data sets (population loss estimate)"
        return Xt, yt, np.zeros(K, dtype=np.int64), src
    if draws is not None:
        return (draws["P"][0][draws["test"]], draws["y"][draws["test"]], np.arange(K, dtype=np.int64),
                draws["source"])
    return None, None, np.zeros(K, dtype=np.int64), \
        "population loss, closed form (1/2)((w - w*)' Sigma (w - w*) + noise_std^2)"
