"""Exact stationary laws of the DISCRETE chains on quadratic and linear models.

Paper Sections 2.3 and Appendix A.1 (Eqs 15-17, 16 momentum). For the models
whose per-example gradient is affine in theta, the first two moments of the
discrete chain close exactly, so the stationary mean and covariance of plain
SGD (Eq 15), PyTorch-form momentum SGD (Eq 16) and the Euler-Maruyama scheme
of Eq 17 follow from a linear solve, with no diffusion approximation:

- quadratic l = (1/2)(theta - x)' H (theta - x): the minibatch Hessian is H for
  every batch (additive noise), so the covariance solves the discrete Lyapunov
  equation  Sigma = A Sigma A' + Q,  A = I - lam (H + alpha I)  (`lyapunov_discrete`,
  the one home of the Lyapunov solves, also used by seed 002's terminal-state
  bound in gapkit.sims.indicators._sde_bounds; momentum's block chain by
  scipy.linalg.solve_discrete_lyapunov);
- linear regression l = (1/2)(w'x - y)^2: the minibatch Hessian
  A_B = (1/B) sum_b x_b x_b' is random (multiplicative noise), so the
  covariance solves  Sigma = Mbar Sigma Mbar' + (1/B) E [D(m) + beta^2 I + C(Sigma)] E'
  with C(Sigma) = mean_i A_i Sigma A_i - Abar Sigma Abar (derivation in
  `linreg_sgd_stationary`), a linear system in vec(Sigma).

Order in lam: plain SGD on a 1-D quadratic has stationary variance
T (D + beta^2) / ((h + alpha)(2 - lam (h + alpha))) = [T (D + beta^2) / (2 (h + alpha))] (1 + lam (h + alpha)/2 + O(lam^2)):
it depends on T alone at order lam^0 and on lam and B separately from order
lam^1 on. Momentum: see `gapkit.theory._momentum`.

Momentum with beta: Eq 16 has no beta term. gapkit adds the isotropic noise to
the minibatch gradient, g_t -> g_t + (beta / sqrt(B)) w_t, which is the unique
choice that reduces to Eq 15 exactly at mu = 0 (theta moves by -lam g_t). The
simulators use the same convention.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.linalg

from ._validate import check_finite, check_int, check_interval, check_nonneg, check_positive
from ._validate import ArgumentError, check_array

__all__ = [
    "lyapunov_discrete",
    "lyapunov_continuous",
    "quadratic_sgd_stationary",
    "quadratic_em_stationary",
    "quadratic_sde_stationary",
    "linreg_sgd_stationary",
    "linreg_em_stationary",
    "linreg_steady_state_exists",
    "linreg_gap_vs_T",
]

# Largest chain-state dimension for the exact vec(Sigma) solve: the system has
# p^2 unknowns, p = d (plain) or 2d (momentum); p = 48 is a 2304 x 2304 solve.
MAX_STATE_DIM = 48


# ---------------------------------------------------------------- argument checks
# The toolkit's one implementation lives in theory/_validate.py.
def _pos(name, x):
    return check_positive(name, x)


def _nonneg(name, x):
    return check_nonneg(name, x)


def _finite(name, x):
    return check_finite(name, x)


def _int(name, x, lo=1):
    return check_int(name, x, lo)


def _mom(mu):
    return check_interval("mu", mu, 0.0, 1.0, closed_right=False)


def _arr(name, x, ndim):
    a = check_array(name, x, ndim=ndim)
    if a.size == 0:
        raise ArgumentError(f"{name} must be non-empty with finite entries", param=name)
    return a


def _sym(name, a):
    if a.shape[0] != a.shape[1]:
        raise ArgumentError(f"{name} must be square (got shape {a.shape})", param=name)
    if not np.allclose(a, a.T, rtol=1e-12, atol=1e-14 * max(1.0, float(np.abs(a).max()))):
        raise ArgumentError(f"{name} must be symmetric", param=name)
    return 0.5 * (a + a.T)


def _quad_inputs(H, xbar, Sx):
    H = _sym("H", _arr("H", H, 2))
    d = H.shape[0]
    xbar = _arr("xbar", xbar, 1)
    if xbar.shape != (d,):
        raise ArgumentError(f"xbar must have shape ({d},) to match H (got {xbar.shape})")
    Sx = _sym("Sx", _arr("Sx", Sx, 2))
    if Sx.shape != (d, d):
        raise ArgumentError(f"Sx must have shape ({d}, {d}) to match H (got {Sx.shape})")
    return H, xbar, Sx


def _spectral_radius(A):
    return float(np.max(np.abs(np.linalg.eigvals(A))))


def _require_stable(A, K, lam, mu):
    """ValueError naming lam when the mean map A of plain (mu = 0) or momentum
    SGD on the curvature K = H + alpha I has spectral radius >= 1."""
    rho = _spectral_radius(A)
    if rho >= 1.0:
        lim, text = (2.0, "2") if mu == 0.0 else (2.0 * (1 + mu), "2 (1 + mu)")
        raise ArgumentError(
            f"lam must satisfy 0 < lam (h_i + alpha) < {text} for every eigenvalue h_i of H, "
            f"i.e. lam < {lim / np.linalg.eigvalsh(K).max():.6g} (got lam={lam}; spectral radius {rho:.6g}): "
            "no stationary law", param="lam")


def _momentum_blocks(K, lam, mu):
    """Mean-update matrix of Eq 16 on the state (theta, v) and the noise map E.

    v' = mu v + K theta - c + xi,  theta' = theta - lam v'
    => [theta'; v'] = [[I - lam K, -lam mu I], [K, mu I]] [theta; v] + E (xi - c), E = [-lam I; I].
    """
    d = K.shape[0]
    eye = np.eye(d)
    A = np.block([[eye - lam * K, -lam * mu * eye], [K, mu * eye]])
    E = np.vstack([-lam * eye, eye])
    return A, E


# ---------------------------------------------------------------- Lyapunov equations
# Largest d for the vec solve of `_lyapunov_solve` (a d^2 x d^2 LU solve: about 1 s at d = 60).
MAX_VEC_DIM = 60


def lyapunov_discrete(H, Q, eta) -> np.ndarray:
    """Discrete Lyapunov equation of plain SGD (Eq 15) near a minimum w* with Hessian H:
        H Lambda + Lambda H' - eta H Lambda H' = Q,
    the exact stationary covariance of w_{t+1} = w_t - eta (H (w_t - w*) + xi_t),
    Cov xi = Q / eta: divide Lambda = A Lambda A' + eta Q, A = I - eta H, by eta.
    Seed 002's terminal state [D] has Q = (eta/b) D; the quadratic model of
    `quadratic_sgd_stationary` Q = T (D + beta^2 I). A stationary law exists iff
    every |1 - eta h| < 1 (h the eigenvalues of H). Method: `_lyapunov_solve`.
    """
    H, Q = _lyapunov_inputs(H, Q)
    eta = check_positive("eta", eta)
    if np.any(np.abs(1.0 - eta * np.linalg.eigvals(H)) >= 1.0):
        raise ArgumentError("eta must satisfy |1 - eta h| < 1 for every eigenvalue h of H (a stationary law)",
                            param="eta")
    return _lyapunov_solve(H, Q, eta)


def lyapunov_continuous(H, Q) -> np.ndarray:
    """Continuous Lyapunov equation  H Lambda + Lambda H' = Q:  the stationary
    covariance of the Ornstein-Uhlenbeck process dw = -H w dt + Q^{1/2} dW
    (the Langevin SDE of Eq 17 near a minimum with Q = T (D + beta^2 I);
    seed 002's continuous terminal state [D] with Q = (eta/b) D). H must be
    stable (eigenvalues with positive real part: a minimum). It is the eta = 0
    case of `lyapunov_discrete`, solved the same way (`_lyapunov_solve`).
    """
    H, Q = _lyapunov_inputs(H, Q)
    if np.any(np.linalg.eigvals(H).real <= 0):
        raise ArgumentError("H must have eigenvalues with positive real part (a minimum)", param="H")
    return _lyapunov_solve(H, Q, 0.0)


def _lyapunov_inputs(H, Q):
    H = check_array("H", H, ndim=2)
    d = H.shape[0]
    if H.shape != (d, d):
        raise ArgumentError(f"H must be square (got {H.shape})", param="H")
    return H, check_array("Q", Q, shape=(d, d))


def _lyapunov_solve(H, Q, eta):
    """H L + L H' - eta H L H' = Q, symmetrised (eta = 0: the continuous equation).

    Solved in this H form, never through A = I - eta H: the A form's
    coefficients 1 - (1 - eta h_i)(1 - eta h_j) lose log10(1 / (eta h)) digits
    to cancellation (scipy.linalg.solve_discrete_lyapunov(A, eta Q): relative
    error 4e-11 at eta h ~ 1e-7, 1e-12 at eta h ~ 1e-5, against 1e-14 and 8e-16
    here, measured against 40-digit mpmath closed forms). The vec identity
    vec(A X B) = (B' kron A) vec X gives, for d <= MAX_VEC_DIM,
        (I kron H + H kron I - eta H kron H) vec L = vec Q,
    a backward-stable LU solve: the most accurate method measured on 8 cases
    d = 5..48 (errors 3 to 7 x below the eigenbasis closed form's; for the
    continuous equation 1.6 to 12 x below scipy's Bartels-Stewart in 7 of the
    8). For larger d, H symmetric: the eigenbasis closed form H = V diag(h) V',
        L = V [ (V' Q V)_ij / (h_i + h_j - eta h_i h_j) ] V'   (O(d^3));
    H not symmetric: scipy's Bartels-Stewart solvers.
    """
    d = H.shape[0]
    if d <= MAX_VEC_DIM:
        eye = np.eye(d)
        M = np.kron(eye, H) + np.kron(H, eye) - eta * np.kron(H, H)
        L = np.linalg.solve(M, Q.reshape(-1, order="F")).reshape(d, d, order="F")
    elif np.allclose(H, H.T, rtol=1e-12, atol=1e-14 * max(1.0, float(np.abs(H).max()))):
        h, V = np.linalg.eigh(0.5 * (H + H.T))
        L = V @ ((V.T @ Q @ V) / (h[:, None] + h[None, :] - eta * np.outer(h, h))) @ V.T
    elif eta == 0.0:
        L = scipy.linalg.solve_continuous_lyapunov(H, Q)
    else:
        L = scipy.linalg.solve_discrete_lyapunov(np.eye(d) - eta * H, eta * Q)  # Lambda = A Lambda A' + eta Q
    return 0.5 * (L + L.T)


# ---------------------------------------------------------------- quadratic model
def quadratic_sgd_stationary(H, xbar, Sx, *, lam, B, alpha=0.0, beta=0.0, mu=0.0, full=False):
    """Exact stationary (mean, cov) of theta for discrete SGD on the d-dim quadratic.

    Model l = (1/2)(theta - x)' H (theta - x); train points with mean `xbar` and
    empirical (1/n) covariance `Sx`. Per-example gradient H (theta - x_i), so
    the minibatch gradient is H (theta - xbar_B) with Cov(xbar_B) = Sx / B
    (B draws with replacement) and D = H Sx H (Eq 17), constant in theta.

    Plain SGD (mu = 0, Eq 15):
        theta' = A theta + lam H xbar + noise,  A = I - lam (H + alpha I),
        Cov(noise) = lam^2 H Sx H / B + lam T beta^2 I = lam T (D + beta^2 I),  T = lam / B,
        mean = (H + alpha I)^{-1} H xbar,   cov = A cov A' + lam T (D + beta^2 I)  (`lyapunov_discrete`).
    Momentum (mu > 0, Eq 16 PyTorch form, beta noise added to the gradient as
    (beta/sqrt(B)) w): the chain on (theta, v) with the matrices of
    `_momentum_blocks`; mean v = 0. 1-D closed form in `gapkit.theory._momentum`.

    Raises ValueError (naming lam) when the chain has no stationary law
    (spectral radius of A >= 1; for plain SGD: lam (h_i + alpha) must lie in
    (0, 2) for every eigenvalue h_i of H). full=True returns the (theta, v) law.
    """
    H, xbar, Sx = _quad_inputs(H, xbar, Sx)
    lam = _pos("lam", lam)
    B = _int("B", B)
    alpha = _nonneg("alpha", alpha)
    beta = _finite("beta", beta)
    mu = _mom(mu)
    d = H.shape[0]
    T = lam / B
    K = H + alpha * np.eye(d)
    Dn = H @ Sx @ H + beta**2 * np.eye(d)
    try:
        mean = np.linalg.solve(K, H @ xbar)
    except np.linalg.LinAlgError:
        raise ArgumentError("H + alpha I must be invertible: use alpha > 0 when H is singular", param="alpha") from None
    if mu == 0.0:
        _require_stable(np.eye(d) - lam * K, K, lam, mu)
        # Sigma = A Sigma A' + lam T Dn  <=>  K Sigma + Sigma K - lam K Sigma K = T Dn
        return mean, lyapunov_discrete(K, T * Dn, lam)
    A, E = _momentum_blocks(K, lam, mu)
    _require_stable(A, K, lam, mu)
    Q = E @ (Dn / B) @ E.T
    # The (theta, v) map A is not of the form I - lam K with K symmetric: the general solver.
    cov = scipy.linalg.solve_discrete_lyapunov(A, Q)
    cov = 0.5 * (cov + cov.T)
    if full:
        return np.concatenate([mean, np.zeros(d)]), cov
    return mean, cov[:d, :d]


def quadratic_em_stationary(H, xbar, Sx, *, lam, T, alpha=0.0, beta=0.0, dt=1.0):
    """Exact stationary (mean, cov) of the Euler-Maruyama scheme of Eq 17.

    Eq 17 on the quadratic: dtheta = -lam ((H + alpha I) theta - H xbar) dt + sqrt(lam T) (D + beta^2 I)^{1/2} dW,
    D = H Sx H. One step of size dt (in units of updates):
        theta' = A theta + lam dt H xbar + sqrt(lam T dt) (D + beta^2 I)^{1/2} z,  A = I - lam dt (H + alpha I),
        mean = (H + alpha I)^{-1} H xbar,   cov = A cov A' + lam T dt (D + beta^2 I)  (`lyapunov_discrete`).
    As dt -> 0 the covariance tends to the SDE's (`quadratic_sde_stationary`)
    at first order in lam dt. Stable iff 0 < lam dt (h_i + alpha) < 2.
    """
    H, xbar, Sx = _quad_inputs(H, xbar, Sx)
    lam = _pos("lam", lam)
    T = _pos("T", T)
    dt = _pos("dt", dt)
    alpha = _nonneg("alpha", alpha)
    beta = _finite("beta", beta)
    d = H.shape[0]
    K = H + alpha * np.eye(d)
    A = np.eye(d) - lam * dt * K
    rho = _spectral_radius(A)
    if rho >= 1.0:
        ev = np.linalg.eigvalsh(K)
        raise ArgumentError(
            f"lam * dt must satisfy 0 < lam dt (h_i + alpha) < 2, i.e. lam dt < {2.0 / ev.max():.6g} "
            f"(got lam={lam}, dt={dt}): no stationary law"
        )
    try:
        mean = np.linalg.solve(K, H @ xbar)
    except np.linalg.LinAlgError:
        raise ArgumentError("H + alpha I must be invertible: use alpha > 0 when H is singular", param="alpha") from None
    # Sigma = A Sigma A' + lam dt T (D + beta^2 I): the SGD equation with step lam dt
    return mean, lyapunov_discrete(K, T * (H @ Sx @ H + beta**2 * np.eye(d)), lam * dt)


def quadratic_sde_stationary(H, xbar, Sx, *, T, alpha=0.0, beta=0.0):
    """Stationary (mean, cov) of the Langevin SDE of Eq 17 on the d-dim quadratic.

    The law is Gaussian for any H (an Ornstein-Uhlenbeck process), with
    (H + alpha I) Sigma + Sigma (H + alpha I) = T (D + beta^2 I),  D = H Sx H
    (continuous Lyapunov equation; lam drops out: it only rescales time).
    It is of the Boltzmann form of Eqs 18-20 only when the integrand of
    Eq 19 is curl-free (see `gapkit.theory._models.QuadraticModel`).
    """
    H, xbar, Sx = _quad_inputs(H, xbar, Sx)
    T = _pos("T", T)
    alpha = _nonneg("alpha", alpha)
    beta = _finite("beta", beta)
    d = H.shape[0]
    K = H + alpha * np.eye(d)
    if np.linalg.eigvalsh(K).min() <= 0:
        raise ArgumentError("H + alpha I must be positive definite (use alpha > 0 when H is singular)", param="alpha")
    mean = np.linalg.solve(K, H @ xbar)
    return mean, lyapunov_continuous(K, T * (H @ Sx @ H + beta**2 * np.eye(d)))


# ---------------------------------------------------------------- linear regression
def _linreg_inputs(X, y):
    X = _arr("X", X, 2)
    y = _arr("y", y, 1)
    if y.shape[0] != X.shape[0]:
        raise ArgumentError(f"y must have length n = X.shape[0] = {X.shape[0]} (got {y.shape[0]})")
    return X, y


def _linreg_operator(X, y, lam, B, alpha, beta, mu):
    """(L, Q-builder, Mbar, mean) of the second-moment recursion; see linreg_sgd_stationary."""
    n, d = X.shape
    Abar = X.T @ X / n
    cbar = X.T @ y / n
    K = Abar + alpha * np.eye(d)
    if mu == 0.0:
        Mbar = np.eye(d) - lam * K
        E = -lam * np.eye(d)
    else:
        Mbar, E = _momentum_blocks(K, lam, mu)
    p = Mbar.shape[0]
    F = np.zeros((d, p))
    F[:, :d] = np.eye(d)
    U = X @ E.T  # rows u_i = E x_i
    W = X @ F  # rows w_i = F' x_i
    U2 = np.einsum("ia,ib->iab", U, U).reshape(n, p * p)
    W2 = np.einsum("ia,ib->iab", W, W).reshape(n, p * p)
    EAF = E @ Abar @ F
    L = np.kron(Mbar, Mbar) + (U2.T @ W2) / (n * B) - np.kron(EAF, EAF) / B
    return L, Mbar, E, K, cbar


def linreg_sgd_stationary(X, y, *, lam, B, alpha=0.0, beta=0.0, mu=0.0, full=False):
    """Exact stationary (mean, cov) of discrete SGD on linear regression (Eq 15 / Eq 16).

    Update (Eq 15), batch indices i_1..i_B uniform WITH replacement, T = lam / B:
        theta' = theta - (lam/B) sum_b x_{i_b} (x_{i_b}' theta - y_{i_b}) - lam alpha theta + sqrt(lam T) beta w.
    With A_i = x_i x_i', c_i = x_i y_i and minibatch means A_B, c_B the update is
    theta' = M theta + lam c_B + noise, M = (1 - lam alpha) I - lam A_B random
    (multiplicative noise). Stationary mean: the ridge solution
        (Abar + alpha I) m = cbar.
    Writing e = theta - m (independent of the current batch, zero mean):
        e' = Mbar e - lam [(g_B(m) - gbar(m)) + (A_B - Abar) e] + noise,   g_i(m) = x_i (x_i' m - y_i),
    and since B i.i.d. draws give Cov(g_B) = D(m) / B and
    E[(A_B - Abar) S (A_B - Abar)] = C(S) / B with C(S) = mean_i A_i S A_i - Abar S Abar,
        Sigma = Mbar Sigma Mbar' + lam T [D(m) + beta^2 I + C(Sigma)],   Mbar = I - lam (Abar + alpha I),
    where D(m) is Eq 17's per-example gradient covariance at the mean. This is
    exact (no diffusion approximation); the term C(Sigma) is what Eq 17 leaves
    out. Momentum (mu > 0, Eq 16 with beta noise (beta/sqrt(B)) w on the
    gradient) replaces Mbar, lam by the (theta, v) matrices of
    `_momentum_blocks`: Sigma = Mbar Sigma Mbar' + (1/B) E [D(m) + beta^2 I + C(F Sigma F')] E'.

    Solved as a linear system in vec(Sigma) (p^2 unknowns, p = d or 2d);
    p <= MAX_STATE_DIM = 48, else ValueError (an iterative solver would be
    needed: not implemented). Raises ValueError (naming lam) when the chain is
    not mean-square stable: the map is positive, so a stationary covariance
    exists iff the solution for the right-hand side I is positive definite.
    full=True returns the (theta, v) law for momentum.
    """
    X, y = _linreg_inputs(X, y)
    lam = _pos("lam", lam)
    B = _int("B", B)
    alpha = _nonneg("alpha", alpha)
    beta = _finite("beta", beta)
    mu = _mom(mu)
    return _linreg_stationary(X, y, lam, float(B), alpha, beta, mu, full, what=f"lam={lam} (B={B}, alpha={alpha}, mu={mu})")


def linreg_em_stationary(X, y, *, lam, T, alpha=0.0, beta=0.0, dt=1.0):
    """Exact stationary (mean, cov) of the Euler-Maruyama scheme of Eq 17 on linear regression.

    One step: theta' = theta - lam dt (dU_l(theta) + alpha theta) + sqrt(lam T dt) (D(theta) + beta^2 I)^{1/2} z.
    D(theta) is quadratic in theta and its average over the chain's law is
    E D(theta) = D(m) + C(Sigma) (same C as in `linreg_sgd_stationary`), so
        Sigma = Mbar Sigma Mbar' + lam T dt [D(m) + beta^2 I + C(Sigma)],  Mbar = I - lam dt (Abar + alpha I):
    the SGD recursion with lam -> lam dt and lam^2 / B -> lam T dt. At dt = 1
    (and T = lam / B) EM and plain SGD have identical stationary first and
    second moments on this model (their laws differ beyond that: EM noise is
    Gaussian). Mean: the ridge solution.
    """
    X, y = _linreg_inputs(X, y)
    lam = _pos("lam", lam)
    T = _pos("T", T)
    dt = _pos("dt", dt)
    alpha = _nonneg("alpha", alpha)
    beta = _finite("beta", beta)
    # B_eff: the real number with (lam dt)^2 / B_eff = lam T dt
    return _linreg_stationary(X, y, lam * dt, lam * dt / T, alpha, beta, 0.0, False,
                              what=f"lam * dt = {lam * dt} (T={T}, alpha={alpha})")


def _linreg_stationary(X, y, lam, B, alpha, beta, mu, full, *, what):
    n, d = X.shape
    p = d if mu == 0.0 else 2 * d
    if p > MAX_STATE_DIM:
        raise ArgumentError(
            f"X must have d <= {MAX_STATE_DIM if mu == 0 else MAX_STATE_DIM // 2} columns for the exact solve "
            f"(got d={d}); larger d needs an iterative solver, not implemented"
        )
    L, Mbar, E, K, cbar = _linreg_operator(X, y, lam, B, alpha, beta, mu)
    ev = np.linalg.eigvalsh(K)
    if ev.min() <= 1e-12 * max(ev.max(), np.finfo(float).tiny):
        raise ArgumentError(
            "alpha must be > 0 when X'X/n is singular (d > n or collinear columns): the stationary mean is not unique"
        )
    m = np.linalg.solve(K, cbar)
    G = X * (X @ m - y)[:, None]
    gbar = G.mean(axis=0)
    Dm = G.T @ G / n - np.outer(gbar, gbar)
    Q = E @ ((Dm + beta**2 * np.eye(d)) / B) @ E.T
    I_L = np.eye(p * p) - L
    with warnings.catch_warnings():
        # an exactly singular system is reported below as "no stationary law", not as a warning
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            lu = scipy.linalg.lu_factor(I_L, check_finite=False)
        except (np.linalg.LinAlgError, ValueError, scipy.linalg.LinAlgWarning):
            raise ArgumentError(f"{what} gives no stationary law (singular moment system)", param="lam") from None
    rhs = np.stack([Q.reshape(-1), np.eye(p).reshape(-1)], axis=1)
    with np.errstate(all="ignore"):
        sol = scipy.linalg.lu_solve(lu, rhs, check_finite=False)
    probe = sol[:, 1].reshape(p, p)
    probe = 0.5 * (probe + probe.T)
    if not np.all(np.isfinite(probe)) or np.linalg.eigvalsh(probe).min() <= 0:
        raise ArgumentError(
            f"{what} is outside the mean-square stability range of this data set: "
            "lower lam (or raise alpha when d > n)",
            param="lam",
        )
    cov = sol[:, 0].reshape(p, p)
    cov = 0.5 * (cov + cov.T)
    if full:
        return (np.concatenate([m, np.zeros(d)]) if p > d else m), cov
    return m, cov[:d, :d]


def linreg_steady_state_exists(X, *, lam, B, alpha=0.0, beta=0.0):
    """Why d > n needs alpha > 0 and beta != 0 (Section 2.3), for plain SGD on linreg.

    On the null space N of X (dimension d - rank X >= d - n) every per-example
    gradient is zero, so the chain restricted to N is
        theta_N' = (1 - lam alpha) theta_N + sqrt(lam T) beta w_N.
    alpha = 0: the map has eigenvalue exactly 1 on N (mean-square spectral
    radius 1); with beta != 0 theta_N is a random walk (variance grows like
    t lam T beta^2, no stationary law); with beta = 0 it is frozen at its start
    (a stationary law exists but depends on the start: not unique).
    alpha > 0, beta = 0: unique stationary law, but Var(theta_N) = 0, a law
    concentrated on an affine subspace: no density, so no Boltzmann form with
    finite g. alpha > 0 and beta != 0: Var(theta_N) = T beta^2 / (alpha (2 - lam alpha)) > 0
    on N, and the law has a density (normalizable). Returns a dict with the
    null-space dimension, the null-space variance (inf / 0 / finite) and
    `normalizable`.
    """
    X = _arr("X", X, 2)
    lam = _pos("lam", lam)
    B = _int("B", B)
    alpha = _nonneg("alpha", alpha)
    beta = _finite("beta", beta)
    n, d = X.shape
    rank = int(np.linalg.matrix_rank(X))
    null_dim = d - rank
    T = lam / B
    if null_dim == 0:
        var_null = 0.0
        note = "X has full column rank: the null space is empty"
    elif alpha == 0.0:
        var_null = math.inf if beta != 0 else float("nan")
        note = "alpha = 0: eigenvalue 1 on the null space (random walk if beta != 0, frozen start if beta = 0)"
    elif lam * alpha >= 2:
        raise ArgumentError(f"lam must satisfy lam alpha < 2 (got lam={lam}, alpha={alpha})")
    else:
        var_null = T * beta**2 / (alpha * (2.0 - lam * alpha))
        note = "alpha > 0: contraction on the null space"
    normalizable = null_dim == 0 or (alpha > 0 and beta != 0)
    return {
        "n": n, "d": d, "rank": rank, "null_dim": null_dim, "var_null": var_null,
        "mean_square_radius_null": (1.0 - lam * alpha) ** 2 if null_dim else None,
        "normalizable": bool(normalizable), "note": note,
    }


def linreg_gap_vs_T(n, d, *, T, B=1, alpha=0.0, beta=0.0, data_mean=0.0, data_std=1.0, noise_std=0.5,
                    w_star=None, datasets=200, seed=0):
    """Data-averaged steady-state gap of plain SGD on linear regression, for each T.

    Data model: x ~ N(data_mean 1, data_std^2 I_d), y = w*'x + noise_std eps,
    w* = 1/sqrt(d) (default). For each of `datasets` training sets (the same
    ones for every T: common random numbers) the exact discrete stationary law
    (m, Sigma) of `linreg_sgd_stationary` at lam = T B gives
        train = U_l(m) + (1/2) Tr(Abar Sigma),  test = Ubar(m) + (1/2) Tr(C Sigma),
        Ubar(w) = (1/2) [(w - w*)' C (w - w*) + noise_std^2],  C = E[x x'] = data_std^2 I + data_mean^2 11'.
    So gap = [Ubar(m) - U_l(m)] + (1/2) Tr((C - Abar) Sigma): the first part is
    T-independent (m is the ridge solution), the second carries all the T
    dependence. Unlike the quadratic model the Hessian Abar of U_l differs
    from the population Hessian C, so the parameter variance need not cancel
    between train and test. To leading order in T, with label noise dominating,
    D(m) ~ s_r^2 Abar (s_r^2 the residual variance), so the Lyapunov equation
    Abar Sigma + Sigma Abar ~ T s_r^2 Abar gives Sigma ~ (T/2) s_r^2 I and
    E_D Tr((C - Abar) Sigma) ~ (T/2) s_r^2 E_D Tr(C - Abar) = 0: the gap's T
    dependence cancels at leading order and what is left (residual-x
    correlations, the multiplicative term C(Sigma), O(lam) terms) is small and
    measured, not assumed. Train and test loss both rise with T, so the best
    T is 0. Measured (seeded runs of this function): n=20, d=5, alpha=0.01,
    beta=0, B=1, K=1000 data sets: gap 0.07316 (T=0.002) -> 0.07166 (T=0.1),
    paired difference -0.0015 +- 0.0002 (a 2% fall), test 0.168 -> 0.198.
    Over-parameterized n=10, d=20, alpha=0.05, beta=0.2, B=4, K=300: the gap
    RISES, 0.4863 (T=5e-4) -> 0.4953 (T=5e-3), paired +0.00899 +- 0.000005: on
    the null space of X the noise beta spreads theta with variance
    T beta^2 / (alpha (2 - lam alpha)), which the population loss sees (C = I)
    and the train loss does not (Abar = 0 there).
    Returns means and standard errors over data sets.
    """
    n = _int("n", n)
    d = _int("d", d)
    Ts = np.atleast_1d(np.asarray(T, dtype=np.float64))
    if Ts.ndim != 1 or Ts.size == 0 or not np.all(np.isfinite(Ts)) or np.any(Ts <= 0):
        raise ArgumentError("T must be a non-empty list of values > 0 and finite")
    B = _int("B", B)
    alpha = _nonneg("alpha", alpha)
    beta = _finite("beta", beta)
    data_mean = _finite("data_mean", data_mean)
    data_std = _pos("data_std", data_std)
    noise_std = _nonneg("noise_std", noise_std)
    datasets = _int("datasets", datasets, lo=2)
    if w_star is None:
        w_star = np.ones(d) / math.sqrt(d)
    w_star = _arr("w_star", w_star, 1)
    if w_star.shape != (d,):
        raise ArgumentError(f"w_star must have shape ({d},) (got {w_star.shape})")
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    C = data_std**2 * np.eye(d) + data_mean**2 * np.ones((d, d))
    train = np.empty((datasets, Ts.size))
    test = np.empty((datasets, Ts.size))
    for k in range(datasets):
        X = data_mean + data_std * rng.standard_normal((n, d))
        y = X @ w_star + noise_std * rng.standard_normal(n)
        Abar = X.T @ X / n
        for j, t in enumerate(Ts):
            m, S = linreg_sgd_stationary(X, y, lam=float(t) * B, B=B, alpha=alpha, beta=beta)
            r = X @ m - y
            train[k, j] = 0.5 * np.mean(r**2) + 0.5 * np.sum(Abar * S)
            dw = m - w_star
            test[k, j] = 0.5 * (dw @ C @ dw + noise_std**2) + 0.5 * np.sum(C * S)
    gap = test - train
    se = lambda a: a.std(axis=0, ddof=1) / math.sqrt(datasets)  # noqa: E731
    return {
        "T": Ts, "gap": gap.mean(axis=0), "gap_se": se(gap), "train_loss": train.mean(axis=0),
        "train_se": se(train), "test_loss": test.mean(axis=0), "test_se": se(test), "datasets": datasets,
        "gap_per_dataset": gap,
    }
