"""Cross-backend check ``cross_backend.linreg.torch``: the torch backend against exact SGD moments.

Toy linear regression l(w, x, y) = (1/2)(w'x - y)^2, x ~ N(0, I_d),
y = w*'x + noise_std eps. The torch backend (`train_ensemble`, LinearModel,
float64, plain SGD of Eq 15 with minibatches drawn with replacement) runs one
chain per data set; its time-averaged train loss, test loss and gap are
compared with the exact stationary expectations of the same discrete chain on
the same data sets (`linreg_sgd_moments`, a discrete Lyapunov solve), averaged
over data sets.

When the Numba simulator (``gapkit.sims.engine._simulate.simulate``) exists, a second
set of rows compares the torch backend with it on the same model and
hyper-parameters (both data-averaged; tolerance from both runs' intervals).
"""
from __future__ import annotations

import numpy as np

__all__ = ["linreg_sgd_moments", "cross_backend_linreg"]

from gapkit.sims._settings import K_SE as Z_TOL  # noqa: E402 - standard errors: false-FAIL ~6e-5 per row


def linreg_sgd_moments(X, y, *, lam: float, B: int, alpha: float = 0.0, beta: float = 0.0):
    """Exact stationary mean m and second moment R = E[w w'] of Eq 15 on
    l = (1/2)(w'x - y)^2, minibatches with replacement: the discrete chain's
    law from gapkit.theory.linreg_sgd_stationary (one implementation for both
    backends), returned as (m, R = Cov + m m')."""
    from gapkit.theory import linreg_sgd_stationary

    m, cov = linreg_sgd_stationary(np.asarray(X, np.float64), np.asarray(y, np.float64), lam=lam, B=B,
                                   alpha=alpha, beta=beta)
    R = cov + np.outer(m, m)
    return m, 0.5 * (R + R.T)


def _expected_loss(X, y, m, R):
    """E over w of the least-squares loss (1/2n) sum (w'x_i - y_i)^2 when E w = m, E w w' = R:
    the toy loss's one numeric home (`gapkit.sims.engine._losses.lsq_expected_loss`) at Cov = R - m m'."""
    from gapkit.sims.engine._losses import lsq_expected_loss, lsq_suff_stats

    return lsq_expected_loss(m, R - np.outer(m, m), *lsq_suff_stats(X, y))


def _population_test_set(w_star, mean, std, noise):
    """d+1 points whose empirical loss equals the population loss of the toy
    linreg model exactly: rows sqrt(d+1) Sigma^(1/2) with labels x'w*, plus the
    row (0, sqrt(d+1) noise), so that mean x x' = Sigma, mean x y = Sigma w*,
    mean y^2 = w*' Sigma w* + noise^2 (Sigma = std^2 I + mean^2 11')."""
    d = w_star.size
    Sig = std**2 * np.eye(d) + mean**2 * np.ones((d, d))
    ev, U = np.linalg.eigh(Sig)
    root = (U * np.sqrt(ev)) @ U.T
    Xe = np.vstack([np.sqrt(d + 1) * root, np.zeros((1, d))])
    ye = np.concatenate([Xe[:d] @ w_star, [np.sqrt(d + 1) * noise]])
    return Xe, ye


def _toy_data(ctx, K, n, d, noise, seed):
    """The K data sets of the Numba simulator's linreg model (same seed => same data)."""
    from gapkit.sims.engine._problems import build_problem

    prob = build_problem("linreg", n=n, dim=d, data_mean=0.0, data_std=1.0, noise_std=noise, datasets=K,
                         seed=seed, pool=None, scheme="iid")
    return np.asarray(prob.X, float), np.asarray(prob.y, float), np.asarray(prob.teacher, float)


def cross_backend_linreg(ctx) -> list:
    """Provider of the ``cross_backend.linreg.torch.*`` rows (see the module docstring)."""
    from ._models import build_model
    from ._train import SGDConfig, train_ensemble

    d, n, noise = 2, 8, 0.5
    lam, B, alpha = 0.1, 2, 0.05
    K = 200 if ctx.quick else 1000
    burn, epochs = 40, (300 if ctx.quick else 1200)
    seed = ctx.seed_for("xbackend.linreg.torch")  # the family's old name keeps its random stream
    Xtr, ytr, w_star = _toy_data(ctx, K, n, d, noise, seed)
    Xe, ye = _population_test_set(w_star, 0.0, 1.0, noise)
    # pool = all train rows, then the population test set shared by every member
    pool_X = np.concatenate([Xtr.reshape(-1, d), Xe])
    pool_y = np.concatenate([ytr.ravel(), ye])
    tr_idx = np.arange(K * n).reshape(K, n)
    te_idx = np.broadcast_to(K * n + np.arange(d + 1), (K, d + 1))
    seeds = [ctx.seed_for(f"cross_backend.linreg.torch/{k}") for k in range(K)]
    cfg = SGDConfig(lr=lam, batch=B, epochs=epochs, alpha=alpha, loss="mse", dtype="float64", device="cpu", threads=1)
    rec = train_ensemble(build_model("linear", (d,)), pool_X, pool_y, tr_idx, te_idx, cfg, seeds=seeds)
    meas_tr = rec["train_loss"][:, 1 + burn:].mean(1)
    meas_te = rec["test_loss"][:, 1 + burn:].mean(1)
    ex_tr, ex_te = np.empty(K), np.empty(K)
    for k in range(K):
        m, R = linreg_sgd_moments(Xtr[k], ytr[k], lam=lam, B=B, alpha=alpha)
        ex_tr[k] = _expected_loss(Xtr[k], ytr[k], m, R)
        ex_te[k] = _expected_loss(Xe, ye, m, R)
    rows = []
    setting = f"torch float64 linear model, plain SGD (Eq 15) with replacement, lam={lam}, B={B}, alpha={alpha}, d={d}, n={n}, K={K}"
    src = (f"{Z_TOL:g} x standard error over K={K} data sets of (time-averaged torch chain - exact "
           "stationary value on the same data set); false-FAIL rate ~6e-5")
    for what, meas, ex in (("train_loss", meas_tr, ex_tr), ("test_loss", meas_te, ex_te), ("gap", meas_te - meas_tr, ex_te - ex_tr)):
        se = float((meas - ex).std(ddof=1) / np.sqrt(K))
        rows.append(ctx.compare(
            f"cross_backend.linreg.torch.{what}", equation="Eq 15", model="linreg", theory=float(ex.mean()),
            measured=float(meas.mean()), tolerance=Z_TOL * se, tolerance_source=src, ci95=1.96 * se,
            note=f"{what}: {setting}; theory = exact stationary expectation of the discrete chain (discrete Lyapunov solve)",
            extra={"quantity": what, "epochs": epochs, "burn_in_epochs": burn},
        ))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = rec["fdr1_lhs"][:, burn:].sum(1) / rec["fdr1_rhs"][:, burn:].sum(1)
    se = float(ratio.std(ddof=1) / np.sqrt(K))
    rows.append(ctx.compare(
        "cross_backend.linreg.torch.fdr1", equation="Yaida FDR1", model="linreg", theory=1.0,
        measured=float(ratio.mean()), tolerance=Z_TOL * se, ci95=1.96 * se,
        tolerance_source=f"{Z_TOL:g} x standard error over K={K} chains of the per-chain ratio; false-FAIL rate ~6e-5 (plus the ratio-of-means bias, O(1/epochs))",
        note="<theta.(g + alpha theta)> / ((lam/2)<|g + alpha theta|^2>) over the stationary part of the chains = 1",
    ))
    rows.extend(_vs_numba(ctx, seed=seed, lam=lam, B=B, alpha=alpha, d=d, n=n, noise=noise, K=K,
                          steps=epochs * -(-n // B), burnin=burn * -(-n // B), meas=(meas_tr, meas_te), setting=setting))
    return rows


def _vs_numba(ctx, *, seed, lam, B, alpha, d, n, noise, K, steps, burnin, meas, setting) -> list:
    """torch vs the Numba simulator on the same K data sets (same seed => same
    data): per-data-set differences of the chains' time averages."""
    from gapkit.sims.engine._simulate import simulate

    r = simulate(model="linreg", algo="sgd", n=n, lr=lam, batch=B, alpha=alpha, dim=d, data_mean=0.0, data_std=1.0,
                 noise_std=noise, datasets=K, chains=1, steps=steps, burnin=burnin, seed=seed)
    nb_tr = np.asarray(r.arrays["train"], float).mean(1)
    nb_te = np.asarray(r.arrays["test"], float).mean(1)
    meas_tr, meas_te = meas
    rows = []
    src = (f"{Z_TOL:g} x standard error over K={K} shared data sets of (torch - Numba) time averages "
           "(independent chains on the same data); false-FAIL rate ~6e-5")
    for what, a, b in (("train_loss", meas_tr, nb_tr), ("test_loss", meas_te, nb_te), ("gap", meas_te - meas_tr, nb_te - nb_tr)):
        se = float((a - b).std(ddof=1) / np.sqrt(K))
        rows.append(ctx.compare(
            f"cross_backend.linreg.torch.numba_{what}", equation="Eq 15", model="linreg", theory=float(b.mean()),
            measured=float(a.mean()), tolerance=Z_TOL * se, tolerance_source=src, ci95=1.96 * se,
            note=f"{what}: {setting}; theory = Numba simulate on the same data sets ({steps} updates, burn-in {burnin})",
            extra={"quantity": "numba_" + what, "numba_steps": steps, "numba_burnin": burnin},
        ))
    return rows
