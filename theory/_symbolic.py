"""`SymbolicModel`: a user's per-example loss l(theta, x) as a sympy expression, and everything
the paper derives from it (Section 2.3, Eqs 17-20; Appendix A-B, Eqs 33-37, 47-49).

From the loss the model derives, per example, the gradient dl and Hessian d^2 l (sympy,
exact), lambdifies them to NumPy (vectorized over theta points and data points), and builds
the data-set quantities of Eq 17 from them (weights w_j = 1/n, or c_j / n for a multiset
with counts c):

    U_l = sum_j w_j l_j,   dU = sum_j w_j dl_j,   D = sum_j w_j dl_j dl_j' - dU dU'       (Eq 17)
    (div D)_i = sum_k d_k D_ik = sum_j w_j (H_j dl_j + dl_j Tr H_j)_i - (Hbar dU + dU Tr Hbar)_i

(H_j = d^2 l_j; the divergence formula is d_k of the two products, summed over k). The
integrands of Eqs 19-20, F_v = (D + beta^2 I)^{-1} (dU + alpha theta) and
F_a = (D + beta^2 I)^{-1} div D, give v and a as line integrals from theta_0 = 0 (the gauge
shared by all data sets; Z not included). In 1-D every field is a gradient: a is the exact
log(D + beta^2) - log(D(0) + beta^2) and v the integral (closed form by sympy where it
exists, `potentials_1d`; numerically otherwise). In d >= 2 v and a exist only where the
integrands are curl-free (`curl_report` says where they are not); the numerical v, a are
then straight-line integrals from 0 (the stated path: path-dependent where the curl is not 0).

`symbolic(n)` gives the same quantities as sympy expressions of n symbolic data points
(shared helper `gapkit.theory._models._derive`), so `gapkit.theory.sgd_generator_terms`
(Ito moment equations, Eqs 34-37) takes the model as it is; `zero_current` is Eqs 47-49 in 1-D.
`universe` tabulates the model on a finite data support and a theta grid for the exact engine
(`gapkit.theory._universe`, Eqs 2-9, 21) and its approximations (Eqs 10-14, 22-24, 50-53);
`sgd_pieces` gives the Eq 18 potential pieces v(theta, counts), a(theta, counts) on that grid;
`fokker_planck` is the Eq 47 steady state (`gapkit.theory._fokker`, 1-D and 2-D).
`quadratic_model`, `linreg_model`, `logreg_model` are the built-in toy losses as instances
(the tests hold them equal to `QuadraticModel`, `LinRegModel`, `LogRegModel`).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import sympy as sp

from ._derivations import zero_current_1d
from ._fokker import sgd_fokker_planck
from ._models import _derive, _Model, curl_asymmetry
from ._universe import Universe
from ._validate import ArgumentError, check_finite, check_nonneg, check_positive

__all__ = ["SymbolicModel", "GridUniverse", "quadratic_model", "linreg_model", "logreg_model", "LABEL_KINDS"]

#: How `gapkit.sims.simulate` draws a label y for a model that has one: a linear teacher
#: y = w*'x + noise_std eps, or a logistic teacher y = +-1 with P(y = 1) = sigmoid(w*'x).
LABEL_KINDS = ("linear", "logistic")
#: Relative curl ||J - J'|| / ||J|| above which an integrand is reported as not curl-free
#: (central differences of step 1e-5 leave ~1e-9; see `gapkit.theory.curl_asymmetry`).
CURL_TOL = 1e-6


def _symbols(name, seq, *, allow_empty=False):
    out = tuple(seq) if isinstance(seq, (list, tuple)) else (seq,)
    if not out and not allow_empty:
        raise ArgumentError(f"{name} must hold at least one sympy Symbol", param=name)
    if not all(isinstance(s, sp.Symbol) for s in out):
        raise ArgumentError(f"{name} must be sympy Symbols (got {out!r})", param=name)
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class GridUniverse(Universe):
    """A `Universe` on a product theta grid (`SymbolicModel.universe`): axes, the grid's 1-D axes; labels,
    the support points' labels (or None)."""

    axes: tuple = ()
    labels: np.ndarray | None = None


class SymbolicModel(_Model):
    """A per-example loss l(theta, x[, y]) given as a sympy expression (module docstring).

    loss: sympy expression; params: the theta symbols (d of them); data: the x symbols
    (dx of them); label: the label symbol y or None; label_kind: how simulations draw y
    (`LABEL_KINDS`); curvature: smallest curvature of the population loss for the burn-in
    rule of `gapkit.sims.simulate` (default: the smallest eigenvalue of the mean Hessian on
    N(0, 1) inputs at theta = 0, floored at 0, which caps the burn-in); name: a label.
    Numeric methods take theta (d,), X (n, dx) (or (n,) when dx = 1) and y (n,).
    """

    def __init__(self, loss, params, data, label=None, *, label_kind="linear", curvature=None, name="symbolic"):
        if not isinstance(loss, sp.Expr):
            raise ArgumentError(f"loss must be a sympy expression (got {type(loss).__name__})", param="loss")
        self.params = _symbols("params", params)
        self.data = _symbols("data", data)
        self.label = None if label is None else _symbols("label", label)[0]
        known = set(self.params) | set(self.data) | ({self.label} if self.label is not None else set())
        if len(known) != len(self.params) + len(self.data) + (self.label is not None):
            raise ArgumentError("params, data and label must be distinct symbols", param="params")
        extra = loss.free_symbols - known
        if extra:
            raise ArgumentError(f"loss has symbols {sorted(map(str, extra))} that are neither params, data nor "
                                "label: substitute numbers for them", param="loss")
        if label_kind not in LABEL_KINDS:
            raise ArgumentError(f"label_kind must be one of {LABEL_KINDS} (got {label_kind!r})", param="label_kind")
        self.loss_expr = loss
        self.dim, self.dx = len(self.params), len(self.data)
        self.label_kind, self.name = label_kind, str(name)
        self.grad_expr = sp.Matrix([sp.diff(loss, t) for t in self.params])
        self.hess_expr = sp.hessian(loss, self.params)
        self._f_loss = self._lambdify([loss])
        self._f_grad = self._lambdify(list(self.grad_expr))
        self._f_hess = self._lambdify(list(self.hess_expr))
        self.curvature = self._default_curvature() if curvature is None else check_nonneg("curvature", curvature)

    def __repr__(self):
        return f"SymbolicModel({self.loss_expr}, params={self.params}, data={self.data}, label={self.label})"

    # ------------------------------------------------------------ numeric evaluators
    @property
    def args(self) -> tuple:
        """The symbols in the order the evaluators take them: params, data, label."""
        return self.params + self.data + ((self.label,) if self.label is not None else ())

    def _lambdify(self, exprs):
        f = sp.lambdify(self.args, exprs, modules="numpy")

        def ev(*vals):
            shape = np.broadcast_shapes(*(np.shape(v) for v in vals))
            return np.stack([np.broadcast_to(np.asarray(r, dtype=np.float64), shape) for r in f(*vals)], axis=-1)

        return ev

    def _inputs(self, theta, X, y):
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape[-1:] != (self.dim,) and not (self.dim == 1 and theta.ndim == 0):
            raise ArgumentError(f"theta must have {self.dim} entries on its last axis (got shape {theta.shape})",
                                param="theta")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1 and self.dx == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != self.dx or X.shape[0] < 1:
            raise ArgumentError(f"X must have shape (n, {self.dx}) with n >= 1 (got {X.shape})", param="X")
        if self.label is not None:
            if y is None:
                raise ArgumentError("this loss has a label: give y of length n", param="y")
            y = np.asarray(y, dtype=np.float64).reshape(-1)
            if y.shape[0] != X.shape[0]:
                raise ArgumentError(f"y must have length n = {X.shape[0]} (got {y.shape[0]})", param="y")
        return theta.reshape(-1, self.dim), X, y

    def _eval(self, f, theta, X, y):
        """f on every (theta point, data point) pair: (P, n, outputs)."""
        th, X, y = self._inputs(theta, X, y)
        vals = [th[:, None, i] for i in range(self.dim)] + [X[None, :, i] for i in range(self.dx)]
        if self.label is not None:
            vals.append(y[None, :])
        return f(*vals)

    def losses_at(self, thetas, X, y=None):
        """(P, n) per-example losses at P theta points."""
        return self._eval(self._f_loss, thetas, X, y)[..., 0]

    def grads_at(self, thetas, X, y=None):
        """(P, n, d) per-example gradients dl at P theta points."""
        return self._eval(self._f_grad, thetas, X, y)

    def hessians_at(self, thetas, X, y=None):
        """(P, n, d, d) per-example Hessians d^2 l at P theta points."""
        h = self._eval(self._f_hess, thetas, X, y)
        return h.reshape(h.shape[:-1] + (self.dim, self.dim))

    def loss(self, theta, X, y=None):
        return self.losses_at(np.reshape(theta, (1, -1)), X, y)[0]

    def grads(self, theta, X, y=None):
        return self.grads_at(np.reshape(theta, (1, -1)), X, y)[0]

    def hess_U(self, theta, X, y=None):
        return self.hessians_at(np.reshape(theta, (1, -1)), X, y)[0].mean(axis=0)

    def div_D(self, theta, X, y=None):
        return self.fields(np.reshape(theta, (1, -1)), X, y)["div_D"][0]

    def fields(self, thetas, X, y=None, weights=None):
        """Eq 17 quantities at P theta points for the data set X (weights w_j, default 1/n):
        {"U" (P,), "grad_U" (P, d), "hess_U" (P, d, d), "D" (P, d, d), "div_D" (P, d)}."""
        L = self.losses_at(thetas, X, y)
        G = self.grads_at(thetas, X, y)
        H = self.hessians_at(thetas, X, y)
        w = np.full(G.shape[1], 1.0 / G.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
        return _moments(L, G, H, w)

    def _default_curvature(self):
        rng = np.random.default_rng(np.random.SeedSequence(0x5C0A))
        X = rng.standard_normal((256, self.dx))
        y = None
        if self.label is not None:
            y = np.sign(X[:, 0]) if self.label_kind == "logistic" else X[:, 0].copy()
        with np.errstate(all="ignore"):
            H = self.hess_U(np.zeros(self.dim), X, y)
        if not np.all(np.isfinite(H)):
            return 0.0
        return max(float(np.linalg.eigvalsh(0.5 * (H + H.T)).min()), 0.0)

    # ------------------------------------------------------------ sympy side
    @functools.lru_cache(maxsize=8)  # noqa: B019 - models are few and long-lived
    def symbolic(self, n):
        """Sympy U, grad_U, hess_U, D, div_D for n symbolic data points (symbols x{j}_{i}, y{j}, theta{i})
        and their lambdified evaluators: {name: (expr, f(theta, X[, y]))} (`gapkit.theory._models._derive`)."""
        th = sp.Matrix(sp.symbols(f"theta0:{self.dim}", real=True))
        xs = [sp.Matrix(sp.symbols(f"x{j}_0:{self.dx}", real=True)) for j in range(n)]
        ys = list(sp.symbols(f"y0:{n}", real=True)) if self.label is not None else None
        losses = []
        for j in range(n):
            sub = dict(zip(self.params, th)) | dict(zip(self.data, xs[j]))
            if ys is not None:
                sub[self.label] = ys[j]
            losses.append(self.loss_expr.xreplace(sub))
        return _derive(th, xs, losses, ys)

    def on_data(self, X, y=None):
        """(U, D) as sympy expressions of theta for a numeric data set (entries as exact rationals)."""
        _, X, y = self._inputs(np.zeros(self.dim), X, y)
        n = X.shape[0]
        losses, grads = [], []
        for j in range(n):
            sub = {s: sp.Rational(repr(float(v))) for s, v in zip(self.data, X[j])}
            if self.label is not None:
                sub[self.label] = sp.Rational(repr(float(y[j])))
            losses.append(self.loss_expr.xreplace(sub))
            grads.append(self.grad_expr.xreplace(sub))
        U = sp.Add(*losses) / n
        gU = sp.Add(*grads) / n
        D = (sp.Add(*[g * g.T for g in grads]) / n - gU * gU.T).applyfunc(sp.expand)
        return U, D

    def potentials_1d(self, X, y=None, *, alpha=0.0, beta=0.0):
        """Eqs 19-20 in closed form for d = 1 on a numeric data set: (v, a) sympy expressions of theta
        in the gauge v(0) = a(0) = 0; v is None where sympy finds no antiderivative (use `v`)."""
        if self.dim != 1:
            raise ArgumentError(f"potentials_1d needs d = 1 (got d = {self.dim}); see curl_report", param="params")
        U, D = self.on_data(X, y)
        th, s = self.params[0], sp.Dummy("s", real=True)
        al, be = sp.Rational(repr(float(alpha))), sp.Rational(repr(float(beta)))
        Dt = D[0, 0] + be**2
        a = sp.log(Dt) - sp.log(Dt.subs(th, 0))
        v = sp.integrate(((sp.diff(U, th) + al * th) / Dt).subs(th, s), (s, 0, th))
        return (None if v.has(sp.Integral) else v), a

    def zero_current(self, X, y=None, *, alpha=0.0, beta=0.0):
        """Eqs 47-49 in 1-D on a numeric data set: J / rho of Eq 47 for rho = exp(-(2/T) v - a) with the closed
        forms of `potentials_1d` (sympy, symbol T left free); it simplifies to 0 when they satisfy Eq 49."""
        v, a = self.potentials_1d(X, y, alpha=alpha, beta=beta)
        if v is None:
            raise ArgumentError("sympy found no closed form of v for this loss: check J = 0 numerically with "
                                "fokker_planck", param="loss")
        U, D = self.on_data(X, y)
        th = self.params[0]
        J = zero_current_1d(U, D[0, 0], th, v=v, a=a, simplify=False)[0]
        nums = {sp.Symbol("alpha", real=True): sp.Rational(repr(float(alpha))),
                sp.Symbol("beta", real=True): sp.Rational(repr(float(beta)))}
        return sp.simplify(J.xreplace(nums))

    # ------------------------------------------------------------ Eqs 18-20
    def curl_report(self, thetas, X, y=None, *, alpha=0.0, beta=0.0) -> dict:
        """Curl-free condition of the Eq 19 and Eq 20 integrands at the given theta points.

        Returns {"curl_free_v", "curl_free_a" (bools), "max_v", "max_a" (largest relative curl,
        `curl_asymmetry`), "worst_v", "worst_a" (the theta where it is largest), "tol" (CURL_TOL)}.
        In 1-D every field is a gradient (curl 0 by definition); where div D vanishes to rounding of its
        terms, F_a = 0 (curl 0)."""
        pts = np.asarray(thetas, dtype=np.float64).reshape(-1, self.dim)
        out = {"tol": CURL_TOL}
        # div D = 0 up to rounding of its terms (e.g. a constant D): F_a = 0 is a gradient, and its
        # relative curl would only measure rounding noise
        f = self.fields(pts, X, y)
        G, H = self.grads_at(pts, X, y), self.hessians_at(pts, X, y)
        terms = np.abs(np.einsum("pjik,pjk->pji", H, G)).sum(axis=(1, 2)) / G.shape[1] \
            + np.abs(f["hess_U"]).sum(axis=(1, 2)) * np.abs(f["grad_U"]).sum(axis=1)
        div_zero = np.abs(f["div_D"]).sum(axis=1) <= 1e-12 * np.maximum(terms, np.finfo(float).tiny)
        for which in ("v", "a"):
            if self.dim == 1:
                c = np.zeros(len(pts))
            else:
                c = np.array([0.0 if which == "a" and z else
                              curl_asymmetry(self, p, X, y, alpha=alpha, beta=beta, which=which)
                              for p, z in zip(pts, div_zero)])
            i = int(np.argmax(c))
            out.update({f"max_{which}": float(c[i]), f"worst_{which}": pts[i].tolist(),
                        f"curl_free_{which}": bool(c[i] <= CURL_TOL)})
        return out

    def _line(self, field, theta, X, y, alpha, beta):
        import scipy.integrate

        t = np.asarray(theta, dtype=np.float64).reshape(-1)
        f = lambda s: float(field(s * t, X, y, alpha=alpha, beta=beta) @ t)  # noqa: E731
        return float(scipy.integrate.quad(f, 0.0, 1.0, epsabs=1e-13, epsrel=1e-12, limit=200)[0])

    def v(self, theta, X, y=None, *, alpha=0.0, beta=0.0):
        """Eq 19 from theta_0 = 0: in 1-D the exact integral; in d >= 2 along the straight segment 0 -> theta
        (the stated path; the value depends on it where curl_report finds the field is not curl-free)."""
        if self.dim == 1:
            return super().v(theta, X, y, alpha=alpha, beta=beta)
        return self._line(self.integrand_v, theta, X, y, alpha, beta)

    def a(self, theta, X, y=None, *, alpha=0.0, beta=0.0):
        """Eq 20 from theta_0 = 0: 1-D log(D + beta^2) - log(D(0) + beta^2); d >= 2 straight segment as `v`."""
        if self.dim == 1:
            return super().a(theta, X, y, alpha=alpha, beta=beta)
        return self._line(self.integrand_a, theta, X, y, alpha, beta)

    # ------------------------------------------------------------ universe and Fokker-Planck
    def universe(self, support, theta, *, labels=None, r_l=None, r_e=None) -> "GridUniverse":
        """A finite universe (Eqs 2-9) of this loss: k data support points `support` (k, dx) (or (k,)),
        labels (k,) if the loss has one, probabilities r_l (default uniform) and r_e (default r_l), and a
        theta grid: a 1-D array (d = 1) or a tuple of d axes (a product grid, d = 1 or 2), each equally
        spaced; quadrature weights are the trapezoid rule's. loss[i, j] = l(theta_i, x_j) must be >= 0."""
        axes = (theta,) if not isinstance(theta, tuple) else theta
        if len(axes) != self.dim or self.dim > 2:
            raise ArgumentError(f"theta must be {self.dim} grid axes (d = 1 or 2) for this loss", param="theta")
        axes = [np.asarray(a, dtype=np.float64).reshape(-1) for a in axes]
        for ax in axes:
            if ax.size < 2 or not np.allclose(np.diff(ax), ax[1] - ax[0]) or ax[1] <= ax[0]:
                raise ArgumentError("each theta axis must be increasing and equally spaced, >= 2 points",
                                    param="theta")
        w1 = []
        for ax in axes:
            w = np.full(ax.size, ax[1] - ax[0])
            w[[0, -1]] *= 0.5
            w1.append(w)
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.dim)
        weights = functools.reduce(np.multiply.outer, w1).reshape(-1)
        _, Xs, ys = self._inputs(grid[0], support, labels)
        k = Xs.shape[0]
        r_l = np.full(k, 1.0 / k) if r_l is None else r_l
        loss = self.losses_at(grid, Xs, ys)
        return GridUniverse(loss=loss, r_l=r_l, r_e=r_e, weights=weights,
                            theta=grid if self.dim > 1 else grid[:, 0], x=Xs if self.dx > 1 else Xs[:, 0],
                            axes=tuple(axes), labels=ys)

    def sgd_pieces(self, universe, *, alpha=0.0, beta):
        """(v, a): callables counts (k,) -> (m,) of Eqs 19-20 on a universe built by `universe`, for
        `gapkit.theory.sgd_potential_gap` / `potential_statistics` (g = (2/T) v + a, Eq 18).

        Gauge: v = a = 0 at the grid point nearest theta = 0. Path: 1-D trapezoid rule along the grid
        (a exactly log(D + beta^2) - log at the anchor); 2-D along axis 0 at the anchor's theta_1, then along
        axis 1 (where the fields are not curl-free this is one choice of path, and the algorithm is the
        Boltzmann density of that g). beta must be != 0: a training multiset of one distinct point has D = 0."""
        beta = check_finite("beta", beta)
        alpha = check_nonneg("alpha", alpha)
        if beta == 0:
            raise ArgumentError("beta must be != 0 on a finite universe (a training set of one repeated point has "
                                "D = 0, so Eq 19 diverges)", param="beta")
        if not isinstance(universe, GridUniverse):
            raise ArgumentError("universe must come from SymbolicModel.universe", param="universe")
        axes = universe.axes
        grid = np.asarray(universe.theta, dtype=np.float64).reshape(universe.m, self.dim)
        X = universe.x.reshape(universe.k, -1)
        L, G, H = self.losses_at(grid, X, universe.labels), self.grads_at(grid, X, universe.labels), \
            self.hessians_at(grid, X, universe.labels)
        anchor = tuple(int(np.argmin(np.abs(ax))) for ax in axes)
        shape = tuple(ax.size for ax in axes)

        @functools.lru_cache(maxsize=4096)
        def both(key):
            c = np.array(key, dtype=np.float64)
            f = _moments(L, G, H, c / c.sum())
            K = f["D"] + beta**2 * np.eye(self.dim)
            Fv = np.linalg.solve(K, (f["grad_U"] + alpha * grid)[..., None])[..., 0]
            Fa = np.linalg.solve(K, f["div_D"][..., None])[..., 0]
            if self.dim == 1:
                a = np.log(K[:, 0, 0]) - np.log(K[anchor[0], 0, 0])
                return _path_integral(Fv, axes, anchor, shape), a
            return _path_integral(Fv, axes, anchor, shape), _path_integral(Fa, axes, anchor, shape)

        return (lambda c: both(tuple(int(x) for x in c))[0]), (lambda c: both(tuple(int(x) for x in c))[1])

    def fokker_planck(self, X, y=None, *, T, bounds, n_cells, lam=1.0, alpha=0.0, beta=0.0):
        """Steady state of Eq 47 for the data set X (d = 1 or 2; `gapkit.theory._fokker.sgd_fokker_planck`)."""
        T = check_positive("T", T)

        def grad_U(P):
            return self.fields(P, X, y)["grad_U"]

        def D(P):
            return self.fields(P, X, y)["D"]

        return sgd_fokker_planck(grad_U, D, T=T, lam=lam, alpha=alpha, beta=beta, bounds=bounds, n_cells=n_cells)


def _moments(L, G, H, w):
    """Eq 17 from per-example losses L (P, n), gradients G (P, n, d), Hessians H (P, n, d, d), weights w (n,)."""
    U = L @ w
    g = np.einsum("j,pji->pi", w, G)
    Hb = np.einsum("j,pjik->pik", w, H)
    D = np.einsum("j,pji,pjk->pik", w, G, G) - g[:, :, None] * g[:, None, :]
    trH = np.einsum("pjii->pj", H)
    div = (np.einsum("j,pjik,pjk->pi", w, H, G) + np.einsum("j,pji,pj->pi", w, G, trH)
           - np.einsum("pik,pk->pi", Hb, g) - g * np.einsum("pii->p", Hb)[:, None])
    return {"U": U, "grad_U": g, "hess_U": Hb, "D": D, "div_D": div}


def _cumtrapz(f, dx, i0):
    """Trapezoid integral of samples f (equally spaced by dx) from index i0 to every index."""
    c = np.concatenate([[0.0], np.cumsum(0.5 * dx * (f[1:] + f[:-1]))])
    return c - c[i0]


def _path_integral(F, axes, anchor, shape):
    """Line integral of the field F (m, d) on the grid from the anchor: 1-D along the axis; 2-D along
    axis 0 at theta_1 = anchor, then along axis 1 (`SymbolicModel.sgd_pieces`)."""
    if len(axes) == 1:
        return _cumtrapz(F[:, 0], axes[0][1] - axes[0][0], anchor[0])
    F0 = F[:, 0].reshape(shape)
    F1 = F[:, 1].reshape(shape)
    first = _cumtrapz(F0[:, anchor[1]], axes[0][1] - axes[0][0], anchor[0])
    out = np.stack([first[i] + _cumtrapz(F1[i], axes[1][1] - axes[1][0], anchor[1]) for i in range(shape[0])])
    return out.reshape(-1)


# ---------------------------------------------------------------- the built-in toy losses as instances
def quadratic_model(h=1.0, d=1) -> SymbolicModel:
    """l = (h/2)|theta - x|^2 (the built-in quadratic / quadratic1d, H = h I)."""
    h = check_positive("h", h)
    th, x = sp.symbols(f"theta0:{d}", real=True), sp.symbols(f"x0:{d}", real=True)
    hr = sp.Rational(repr(float(h)))
    return SymbolicModel(hr / 2 * sum((t - xi) ** 2 for t, xi in zip(th, x)), th, x, name=f"quadratic(h={h:g})",
                         curvature=h)


def linreg_model(d=1) -> SymbolicModel:
    """l = (1/2)(w'x - y)^2 (the built-in linreg)."""
    w, x, y = sp.symbols(f"w0:{d}", real=True), sp.symbols(f"x0:{d}", real=True), sp.Symbol("y", real=True)
    return SymbolicModel(sp.Rational(1, 2) * (sum(a * b for a, b in zip(w, x)) - y) ** 2, w, x, y, name="linreg")


def logreg_model(d=1) -> SymbolicModel:
    """l = log(1 + exp(-y w'x)), y = +-1 (the built-in logreg; labels drawn from a logistic teacher)."""
    w, x, y = sp.symbols(f"w0:{d}", real=True), sp.symbols(f"x0:{d}", real=True), sp.Symbol("y", real=True)
    z = sum(a * b for a, b in zip(w, x))
    return SymbolicModel(sp.log(1 + sp.exp(-y * z)), w, x, y, label_kind="logistic", name="logreg")

