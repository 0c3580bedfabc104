"""Steady state of the Fokker-Planck equation of SGD (paper Appendix B, Eqs 47-49).

The paper's general diffusion (Appendix A, Eqs 30-31) is

    d rho/dt = -sum_i d_i (f_i rho) + (1/2) sum_ij d_i d_j (C_ij rho) = -div J,
    J_i      = f_i rho - (1/2) sum_j d_j (C_ij rho),

and for plain SGD (Eq 15 -> Eq 47) the drift and diffusion are

    f(theta) = -lam (grad U_l + alpha theta),   C(theta) = lam T (D(theta) + beta^2 I).

Substituting these into Eq 30 gives Eq 47 term by term, factor 1/2 included
(Eq 47 writes it as lam (1/2) T d_i d_j ((D_ij + beta^2 delta_ij) rho)), so
the solver uses the general form with C = lam T (D + beta^2 I). lam sets the
time scale only: the steady state does not depend on it.

The solver is the independent check of the Boltzmann form (Eqs 18-20):
rho ~ exp(-g), g = (2/T) v + a, holds iff J = 0 (Eq 49), which needs the
curl-free condition on (D + beta^2 I)^{-1} (grad U_l + alpha theta). In 1-D
a zero-flux boundary forces J = 0 everywhere; in 2-D it does not, and where
the condition fails the steady state carries a circulating current.

Discretization: cell-centred finite volumes on a box, zero flux through the
box's faces. Face fluxes use central differences (second order in the cell
width h): the advective part takes f at the face times the mean of the two
neighbouring cells; d_a(C_aa rho) is the difference across the face;
the cross term d_b(C_ab rho), b != a, is the mean over the two cells of a
central difference along b (one-sided at the box edge, where the density is
negligible when the box is large enough). The discrete operator conserves
mass exactly (its columns sum to zero), so its null vector is found by
replacing one row with the normalization sum(rho) * cell_volume = 1 and
solving the sparse system (scipy.sparse.linalg.spsolve).

Central differences lose positivity when a cell's Peclet number
h |f| / C exceeds ~2; choose the box and h so that this holds wherever the
density is not negligible (the tests and checks do).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ._validate import ArgumentError, check_finite, check_int, check_nonneg, check_positive

__all__ = [
    "FokkerPlanckSolution",
    "solve_fokker_planck",
    "sgd_fokker_planck",
    "boltzmann_density",
    "cell_average",
]


@dataclasses.dataclass(frozen=True)
class FokkerPlanckSolution:
    """Steady state on a box of cells.

    centers: one 1-D array of cell centres per axis; h: cell widths.
    rho: density at the cell centres, shape n_cells, with sum(rho) * cell_volume = 1.
    J: probability current at the cell centres, shape (d, *n_cells) (the mean of
    the two face fluxes of each cell along each axis).
    J_faces: per axis, the flux through the interior faces (Eq 31 discretized).
    """

    centers: tuple
    h: tuple
    rho: np.ndarray
    J: np.ndarray
    J_faces: tuple

    @property
    def dim(self) -> int:
        return len(self.centers)

    @property
    def cell_volume(self) -> float:
        return float(np.prod(self.h))

    def mesh(self) -> np.ndarray:
        """Cell-centre coordinates, shape (*n_cells, d)."""
        return np.stack(np.meshgrid(*self.centers, indexing="ij"), axis=-1)

    def points(self) -> np.ndarray:
        """Cell-centre coordinates flattened to (P, d), C order (the rho.ravel() order)."""
        return self.mesh().reshape(-1, self.dim)

    def current_magnitude(self) -> np.ndarray:
        return np.sqrt(np.sum(self.J**2, axis=0))


def _check_box(bounds, n_cells):
    bounds = [tuple(b) for b in bounds]
    d = len(bounds)
    if d not in (1, 2):
        raise ArgumentError(f"bounds must give 1 or 2 axes (got {d})")
    if isinstance(n_cells, (int, np.integer)):
        n_cells = (int(n_cells),) * d
    n_cells = tuple(check_int("n_cells", n, 3) for n in n_cells)
    if len(n_cells) != d:
        raise ArgumentError(f"n_cells must have one entry per axis ({d}) (got {len(n_cells)})")
    for lo, hi in bounds:
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise ArgumentError(f"bounds must be finite (lo, hi) pairs with hi > lo (got {(lo, hi)})")
    return bounds, n_cells


def _as_drift(values, P, d):
    f = np.asarray(values, dtype=np.float64)
    if d == 1 and f.shape == (P,):
        f = f[:, None]
    if f.shape != (P, d):
        raise ArgumentError(f"drift must return shape ({P}, {d}) (got {f.shape})")
    if not np.all(np.isfinite(f)):
        raise ArgumentError("drift must return finite values on the grid")
    return f


def _as_diffusion(values, P, d):
    C = np.asarray(values, dtype=np.float64)
    if d == 1 and C.shape in ((P,), (P, 1)):
        C = C.reshape(P, 1, 1)
    if C.shape != (P, d, d):
        raise ArgumentError(f"diffusion must return shape ({P}, {d}, {d}) (got {C.shape})")
    if not np.all(np.isfinite(C)):
        raise ArgumentError("diffusion must return finite values on the grid")
    if np.any(np.abs(C - np.swapaxes(C, 1, 2)) > 1e-12 * (1 + np.abs(C))):
        raise ArgumentError("diffusion must return symmetric matrices")
    if np.any(np.linalg.eigvalsh(C)[:, 0] <= 0):
        raise ArgumentError("diffusion must be positive definite at every cell centre")
    return C


def _kron_axes(mats):
    out = mats[0]
    for m in mats[1:]:
        out = sp.kron(out, m, format="csr")
    return sp.csr_matrix(out)


def solve_fokker_planck(
    drift: Callable[[np.ndarray], np.ndarray],
    diffusion: Callable[[np.ndarray], np.ndarray],
    bounds: Sequence[tuple[float, float]],
    n_cells: int | Sequence[int],
) -> FokkerPlanckSolution:
    """Stationary solution of Eq 30 (d = 1 or 2) with zero flux on the box.

    d rho/dt = -div(f rho) + (1/2) sum_ij d_i d_j (C_ij rho) = 0,
    J_i = f_i rho - (1/2) sum_j d_j (C_ij rho)   (Eq 31),
    normalized so that the integral of rho over the box is 1.

    drift(points (P, d)) -> f, shape (P, d) (or (P,) in 1-D);
    diffusion(points (P, d)) -> C, shape (P, d, d) (or (P,) in 1-D), symmetric
    positive definite. bounds: [(lo, hi)] per axis; n_cells: int or per axis.
    """
    bounds, n_cells = _check_box(bounds, n_cells)
    d = len(bounds)
    h = tuple((hi - lo) / n for (lo, hi), n in zip(bounds, n_cells))
    centers = tuple(lo + (np.arange(n) + 0.5) * hh for (lo, _), n, hh in zip(bounds, n_cells, h))
    mesh = np.stack(np.meshgrid(*centers, indexing="ij"), axis=-1).reshape(-1, d)
    P = mesh.shape[0]
    C = _as_diffusion(diffusion(mesh), P, d)

    eye = [sp.identity(n, format="csr") for n in n_cells]
    avg, dif, div, cen = [], [], [], []
    for n, hh in zip(n_cells, h):
        avg.append(sp.diags([0.5, 0.5], [0, 1], shape=(n - 1, n), format="csr"))
        dif.append(sp.diags([-1.0 / hh, 1.0 / hh], [0, 1], shape=(n - 1, n), format="csr"))
        div.append(sp.diags([-1.0 / hh, 1.0 / hh], [0, -1], shape=(n, n - 1), format="csr"))
        c = sp.diags([-0.5 / hh, 0.5 / hh], [-1, 1], shape=(n, n), format="lil")
        # one-sided at the box edge: the density there is negligible by construction
        c[0, 0], c[0, 1] = -1.0 / hh, 1.0 / hh
        c[n - 1, n - 2], c[n - 1, n - 1] = -1.0 / hh, 1.0 / hh
        cen.append(c.tocsr())

    flux_ops = []
    A = sp.csr_matrix((P, P))
    for a in range(d):
        def along(axis_op, a=a):
            return _kron_axes([axis_op if b == a else eye[b] for b in range(d)])

        face_centers = list(centers)
        lo_a = bounds[a][0]
        face_centers[a] = lo_a + np.arange(1, n_cells[a]) * h[a]
        face_pts = np.stack(np.meshgrid(*face_centers, indexing="ij"), axis=-1).reshape(-1, d)
        f_face = _as_drift(drift(face_pts), face_pts.shape[0], d)[:, a]
        F = sp.diags(f_face) @ along(avg[a]) - 0.5 * along(dif[a]) @ sp.diags(C[:, a, a])
        for b in range(d):
            if b != a:
                cross = _kron_axes([avg[a] if k == a else (cen[b] if k == b else eye[k]) for k in range(d)])
                F = F - 0.5 * cross @ sp.diags(C[:, a, b])
        F = sp.csr_matrix(F)
        flux_ops.append(F)
        A = A + along(div[a]) @ F

    # 1'A = 0 (mass conservation), so any one row may carry the normalization.
    A = sp.lil_matrix(A)
    r = P // 2
    A[r, :] = np.full(P, float(np.prod(h)))
    rhs = np.zeros(P)
    rhs[r] = 1.0
    rho = spla.spsolve(sp.csc_matrix(A), rhs)
    if not np.all(np.isfinite(rho)):
        raise ArgumentError("the discrete Fokker-Planck system is singular: enlarge the box or refine the grid",
                            param="bounds")

    shape = tuple(n_cells)
    J_faces = []
    J = np.zeros((d,) + shape)
    for a in range(d):
        fshape = list(shape)
        fshape[a] -= 1
        Jf = (flux_ops[a] @ rho).reshape(fshape)
        J_faces.append(Jf)
        pad = [(0, 0)] * d
        pad[a] = (1, 1)
        Jp = np.pad(Jf, pad)  # zero flux through the box's faces
        lo_sl = [slice(None)] * d
        hi_sl = [slice(None)] * d
        lo_sl[a] = slice(0, -1)
        hi_sl[a] = slice(1, None)
        J[a] = 0.5 * (Jp[tuple(lo_sl)] + Jp[tuple(hi_sl)])
    return FokkerPlanckSolution(centers=centers, h=h, rho=rho.reshape(shape), J=J, J_faces=tuple(J_faces))


def sgd_fokker_planck(
    grad_U: Callable[[np.ndarray], np.ndarray],
    D: Callable[[np.ndarray], np.ndarray],
    *,
    T: float,
    lam: float = 1.0,
    alpha: float = 0.0,
    beta: float = 0.0,
    bounds: Sequence[tuple[float, float]],
    n_cells: int | Sequence[int],
) -> FokkerPlanckSolution:
    """Steady state of the SGD Fokker-Planck equation, Eq 47 (Appendix B):

    d rho/dt = lam ( sum_i d_i [rho (d_i U_l + alpha theta_i)]
                     + (T/2) sum_ij d_i d_j [(D_ij + beta^2 delta_ij) rho] ),

    i.e. Eq 30 with f = -lam (grad U_l + alpha theta), C = lam T (D + beta^2 I).
    grad_U(points (P, d)) -> (P, d) (or (P,) in 1-D); D(points) -> (P, d, d)
    (or (P,) in 1-D), the per-example gradient covariance of Eq 17.
    """
    T = check_positive("T", T)
    lam = check_positive("lam", lam)
    alpha = check_nonneg("alpha", alpha)
    beta = check_finite("beta", beta)
    d = len(list(bounds))

    def drift(x):
        return -lam * (_as_drift(grad_U(x), x.shape[0], d) + alpha * x)

    def diffusion(x):
        Dm = np.asarray(D(x), dtype=np.float64)
        if d == 1 and Dm.shape in ((x.shape[0],), (x.shape[0], 1)):
            Dm = Dm.reshape(-1, 1, 1)
        return lam * T * (Dm + beta**2 * np.eye(d))

    return solve_fokker_planck(drift, diffusion, bounds, n_cells)


def boltzmann_density(g: np.ndarray, cell_volume: float) -> np.ndarray:
    """rho = exp(-g) / Z on a grid (Eq 8), Z = sum(exp(-g)) * cell_volume,
    by log-sum-exp so a large g (small T) does not underflow."""
    g = np.asarray(g, dtype=np.float64)
    cell_volume = check_positive("cell_volume", cell_volume)
    if not np.all(np.isfinite(g)):
        raise ArgumentError("g must be finite on the grid")
    gmin = g.min()
    w = np.exp(-(g - gmin))
    return w / (w.sum() * cell_volume)


def cell_average(values: np.ndarray, factor: int) -> np.ndarray:
    """Average blocks of `factor` cells along every axis (coarse cells made of fine ones)."""
    factor = check_int("factor", factor, 1)
    v = np.asarray(values, dtype=np.float64)
    for ax in range(v.ndim):
        n = v.shape[ax]
        if n % factor:
            raise ArgumentError(f"factor must divide every axis length (axis {ax} has {n} cells)")
        shape = v.shape[:ax] + (n // factor, factor) + v.shape[ax + 1:]
        v = v.reshape(shape).mean(axis=ax + 1)
    return v
