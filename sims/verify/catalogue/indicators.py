"""Checks of the related papers' indicators on cases with a known answer
(Fu et al.; Tuci et al., Birdal et al., Johnson & Zhang; Wang & Mao), and of the
scoring code.

Every PASS/FAIL row compares against a truth known in advance: a dimension of a
set, a spectrum chosen by hand, scipy's Lyapunov solver, a closed-form KL, a
Kendall tau counted by hand. Statistical rows state their tolerance's source.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from gapkit.sims.verify._registry import register_check

_EQ = "indicator:"
# compare_max gets flattened arrays: it reports one element by flat index.


def _rot(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


# Reference finite-sample bias of ph_dimension at N = 400 uniform points,
# reps = 3, default size grid, measured once on 40 clouds per set (seeds
# 1000..1039, one Generator per cloud also drawing the subsamples):
#   line (segment in R^3): mean dim - 1 = +0.0190 +- 0.0009 (SE)
#   square [0,1]^2:        mean dim - 2 = -0.0439 +- 0.0075 (SE)
# (E(m) of a segment is 1 - O(1/m); of a square c sqrt(m) (1 - O(m^-1/2)) from the boundary.)
_PH_BIAS = {"line": (0.0190, 0.0009), "square": (-0.0439, 0.0075)}


@register_check(ids=["indicators.ph_dim.line", "indicators.ph_dim.square"], quick=True)
def _ph_dim(ctx):
    from gapkit.sims.indicators._dimensions import ph_dimension

    rows = []
    clouds = 4 if ctx.quick else 20
    for name, truth in (("line", 1.0), ("square", 2.0)):
        rng = ctx.rng(f"indicators.ph_dim.{name}")
        dims = []
        for _ in range(clouds):
            if name == "line":
                u = rng.standard_normal(3)
                x = rng.random((400, 1)) * (u / np.linalg.norm(u))
            else:
                x = rng.random((400, 2))
            dims.append(ph_dimension(x, reps=3, seed=rng)["dim"])
        dims = np.array(dims)
        se = float(dims.std(ddof=1) / math.sqrt(clouds))
        bias, bias_se = _PH_BIAS[name]
        tol = abs(bias) + 4.0 * math.hypot(se, bias_se)
        rows.append(ctx.compare(
            f"indicators.ph_dim.{name}", equation=_EQ + " PH0 dim (Birdal 2021)", model=f"uniform {name}, N=400",
            theory=truth, measured=float(dims.mean()), tolerance=tol, ci95=1.96 * se,
            tolerance_source=(f"|reference finite-sample bias| {abs(bias):.4f} (40 clouds) + 4 x sqrt(SE_run^2 + SE_ref^2)"
                              f" (SE_run from {clouds} clouds)"),
            extra={"dims": dims}))
    return rows


@register_check(ids=["indicators.sharpness_dim.quadratic"], quick=True)
def _sharpness(ctx):
    from gapkit.sims.indicators._dimensions import sharpness_dimension_from_hessians

    rng = ctx.rng("indicators.sharpness_dim.quadratic")
    # eta = 1: sigma_i = |1 - h_i| = exp(lambda_i) with lambda = (1, 0.5, -1, -2):
    # partial sums 1, 1.5, 0.5, -1.5 -> j* = 3, dim = 3 + 0.5 / 2 = 3.25.
    lam = np.array([1.0, 0.5, -1.0, -2.0])
    h = 1.0 + np.exp(lam) * np.array([1, -1, 1, -1])
    Q = _rot(rng, 4)
    H = Q @ np.diag(h) @ Q.T
    # A quadratic's minibatch Hessians all equal H.
    got = sharpness_dimension_from_hessians(np.stack([H] * 5), 1.0)
    return [ctx.compare(
        "indicators.sharpness_dim.quadratic", equation=_EQ + " sharpness dimension (Tuci et al.)",
        model="quadratic, spectrum chosen so lambda = (1, .5, -1, -2)", theory=3.25, measured=got["dim"],
        tolerance=1e-10, tolerance_source="exact up to rounding (eigvalsh of a 4x4 rotated diagonal)",
        extra={"lyapunov": got["lyapunov"]})]


@register_check(ids=["indicators.lyapunov.quadratic", "indicators.kl.gaussian1d"], quick=True)
def _lyap(ctx):
    from gapkit.sims.indicators._sde_bounds import gaussian_kl, lyapunov_continuous, lyapunov_discrete

    rng = ctx.rng("indicators.lyapunov.quadratic")
    d, eta, b = 5, 0.1, 4
    Q0 = _rot(rng, d)
    h = rng.uniform(0.5, 3.0, d)
    H = Q0 @ np.diag(h) @ Q0.T
    G = rng.standard_normal((d, d))
    D = G @ G.T / d
    Q = (eta / b) * D
    rows = []
    disc = lyapunov_discrete(H, Q, eta)
    # Lambda = A Lambda A' + eta^2 D / b, A = I - eta H  <=>  H L + L H - eta H L H = (eta/b) D.
    ref = scipy.linalg.solve_discrete_lyapunov(np.eye(d) - eta * H, eta * Q)
    rows.append(ctx.compare_max(
        "indicators.lyapunov.quadratic", equation=_EQ + " discrete Lyapunov (Wang & Mao)", model=f"quadratic d={d}",
        theory=ref.ravel(), measured=disc.ravel(), tolerance=1e-10 * max(1.0, float(np.abs(ref).max())),
        tolerance_source="1e-10 x max|Lambda| (vec solve in the H form vs scipy's solver in the A form)",
        note="vec solve vs scipy.linalg.solve_discrete_lyapunov"))
    cont = lyapunov_continuous(H, Q)
    Qt = Q0.T @ Q @ Q0
    closed = Q0 @ (Qt / (h[:, None] + h[None, :])) @ Q0.T
    rows.append(ctx.compare_max(
        "indicators.lyapunov.quadratic_continuous", equation=_EQ + " continuous Lyapunov (Wang & Mao)",
        model=f"quadratic d={d}", theory=closed.ravel(), measured=cont.ravel(),
        tolerance=1e-10 * max(1.0, float(np.abs(closed).max())),
        tolerance_source="1e-10 x max|Lambda| (eigenbasis closed form Q_ij / (h_i + h_j))"))
    from gapkit.theory._lyapunov import quadratic_sgd_stationary

    # theory's quadratic SGD (D = H Sx H, T = eta / b; the same solver as `lyapunov_discrete`)
    # against the eigenbasis closed form of H L + L H - eta H L H = (eta/b) D, which
    # shares no code with the library's vec solve.
    Sx = D
    _, cov = quadratic_sgd_stationary(H, np.zeros(d), Sx, lam=eta, B=b)
    Qs = Q0.T @ ((eta / b) * H @ Sx @ H) @ Q0
    closed_sgd = Q0 @ (Qs / (h[:, None] + h[None, :] - eta * np.outer(h, h))) @ Q0.T
    rows.append(ctx.compare_max(
        "indicators.lyapunov.quadratic_sgd", equation=_EQ + " discrete Lyapunov, quadratic SGD closed form",
        model=f"quadratic d={d}", theory=closed_sgd.ravel(), measured=cov.ravel(),
        tolerance=1e-10 * max(1.0, float(np.abs(closed_sgd).max())),
        tolerance_source="1e-10 x max|Lambda| (eigenbasis closed form Q_ij / (h_i + h_j - eta h_i h_j))"))
    m0, s0, m1, s1 = 0.3, 0.7, -0.5, 1.9
    kl = math.log(s1 / s0) + (s0**2 + (m0 - m1) ** 2) / (2 * s1**2) - 0.5
    rows.append(ctx.compare(
        "indicators.kl.gaussian1d", equation=_EQ + " KL of Gaussians (Wang & Mao)", model="1-D Gaussians",
        theory=kl, measured=gaussian_kl([m0], [[s0**2]], [m1], [[s1**2]]), tolerance=1e-12,
        tolerance_source="closed form log(s1/s0) + (s0^2 + dm^2)/(2 s1^2) - 1/2, rounding"))
    return rows


@register_check(ids=["indicators.inconsistency.identical", "indicators.inconsistency.bernoulli"], quick=True)
def _incons(ctx):
    from gapkit.sims.indicators._predictions import inconsistency, instability

    rng = ctx.rng("indicators.inconsistency")
    one = rng.standard_normal((1, 1, 50, 10))
    same = np.broadcast_to(one, (3, 4, 50, 10)).copy()
    rows = [ctx.compare(
        "indicators.inconsistency.identical", equation=_EQ + " inconsistency (Johnson & Zhang)",
        model="identical runs", theory=0.0, measured=inconsistency(same), tolerance=1e-12,
        tolerance_source="exactly 0 (KL of a distribution with itself)",
        extra={"instability": instability(same)})]
    p, q = 0.8, 0.3
    kl_pq = p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))
    kl_qp = q * math.log(q / p) + (1 - q) * math.log((1 - q) / (1 - p))
    probs = np.array([[[[p, 1 - p]], [[q, 1 - q]]]])
    rows.append(ctx.compare(
        "indicators.inconsistency.bernoulli", equation=_EQ + " inconsistency (Johnson & Zhang)",
        model="two seeds, Bernoulli(0.8) vs Bernoulli(0.3)", theory=0.5 * (kl_pq + kl_qp),
        measured=inconsistency(probs, logits=False), tolerance=1e-12,
        tolerance_source="closed form, mean of the two ordered KLs; rounding"))
    return rows


@register_check(ids=["indicators.slq.spectrum", "indicators.slq.trace", "indicators.slq.top",
                     "indicators.slq.sharpness_dim"], quick=True)
def _slq(ctx):
    from gapkit.sims.indicators._dimensions import lanczos, slq

    rng = ctx.rng("indicators.slq")
    d = 120
    ev = np.concatenate([rng.uniform(0.0, 1.0, d - 3), [2.0, 3.0, 5.0]])
    Q = _rot(rng, d)
    A = Q @ np.diag(ev) @ Q.T
    th, _ = lanczos(lambda v: A @ v, rng.standard_normal(d), d)
    rows = [ctx.compare_max(
        "indicators.slq.spectrum", equation=_EQ + " Lanczos (SLQ nodes)", model=f"symmetric d={d}, known spectrum",
        theory=np.sort(ev), measured=np.sort(th), tolerance=1e-8,
        tolerance_source="full Lanczos (m = d, full reorthogonalisation) is exact up to rounding; 1e-8 absolute")]
    probes = 60 if ctx.quick else 400
    s = slq(lambda v: A @ v, d, m=40, probes=probes, seed=rng)
    rows.append(ctx.compare(
        "indicators.slq.trace", equation=_EQ + " SLQ trace estimate", model=f"symmetric d={d}",
        theory=float(ev.sum()), measured=s["trace"], ci95=1.96 * s["trace_se"],
        tolerance=4.0 * s["trace_se"] + 1e-9,
        tolerance_source=f"4 x standard error across {probes} Rademacher probes (false-FAIL ~6e-5)"))
    rows.append(ctx.compare(
        "indicators.slq.top", equation=_EQ + " SLQ top Ritz value", model=f"symmetric d={d}, top gap 2",
        theory=5.0, measured=s["top"], tolerance=1e-8,
        tolerance_source="40 Lanczos steps with a relative gap 0.4 converge the top Ritz value far below 1e-8"))
    from gapkit.sims.indicators._dimensions import eigs_from_slq, lyapunov_exponents, sharpness_dimension

    eta = 0.9  # puts the top eigenvalues past the edge of stability (eta h > 2)
    exact = sharpness_dimension(lyapunov_exponents(ev, eta))
    approx = sharpness_dimension(lyapunov_exponents(eigs_from_slq(s["nodes"], s["weights"], d), eta))
    rows.append(ctx.info(
        "indicators.slq.sharpness_dim", equation=_EQ + " sharpness dimension from an SLQ spectrum",
        model=f"symmetric d={d}, eta={eta}", theory=exact, measured=approx,
        note="stated approximation: spectrum = quantiles of the pooled SLQ density"))
    return rows


@register_check(ids=["indicators.kendall.synthetic", "indicators.granulated.synthetic", "indicators.cmi.synthetic"],
                quick=True)
def _kendall(ctx):
    from gapkit.sims.indicators._scoring import cmi_score, granulated_tau, kendall_tau

    rng = ctx.rng("indicators.kendall.synthetic")
    n = 12
    gap = np.sort(rng.uniform(0, 1, n))
    ind = np.arange(n, dtype=float)
    ind[[3, 4]] = ind[[4, 3]]  # one discordant pair of n(n-1)/2
    ind[[8, 9]] = ind[[9, 8]]  # a second
    truth = 1.0 - 4.0 * 2 / (n * (n - 1))
    rows = [ctx.compare(
        "indicators.kendall.synthetic", equation="Kendall tau (scoring)", model="12 runs, 2 discordant pairs",
        theory=truth, measured=kendall_tau(ind, gap), tolerance=1e-12,
        tolerance_source="tau = 1 - 4 (discordant pairs) / (n (n - 1)), no ties; rounding")]
    lr, bs = np.meshgrid([0.01, 0.02, 0.05, 0.1], [1, 4, 16], indexing="ij")
    lr, bs = lr.ravel(), bs.ravel()
    g = np.log(lr) - 0.7 * np.log(bs) + 0.01 * rng.standard_normal(lr.size)
    hyper = {"lr": lr, "batch": bs}
    rows.append(ctx.compare(
        "indicators.granulated.synthetic", equation="granulated Kendall tau (Jiang et al. 2019)",
        model="4x3 grid, indicator = exp(gap)", theory=1.0, measured=granulated_tau(np.exp(g), g, hyper)["granulated"],
        tolerance=1e-12, tolerance_source="a monotone transform of the gap has tau = 1 on every axis; rounding"))
    # PGDL bins pairs by both runs' values of two axes: with only (lr, batch) every cell holds one
    # pair (H = 0), so the CMI grid has a third axis (2 seeds per point)
    lr3, bs3, sd3 = (a.ravel() for a in np.meshgrid([0.01, 0.02, 0.05, 0.1], [1, 4, 16], [0, 1], indexing="ij"))
    g3 = np.log(lr3) - 0.7 * np.log(bs3) + 0.01 * rng.standard_normal(lr3.size)
    rows.append(ctx.compare(
        "indicators.cmi.synthetic", equation="PGDL conditional mutual information",
        model="4x3x2 grid, indicator = exp(gap)", theory=1.0,
        measured=cmi_score(np.exp(g3), g3, {"lr": lr3, "batch": bs3, "seed": sd3})["cmi"],
        tolerance=1e-12, tolerance_source="V_ind = V_gap on every pair: I = H exactly; rounding"))
    return rows


@register_check(ids=["indicators.gen_first_order.quartic"], quick=True)
def _first_order_quartic(ctx):
    """Fu et al.'s first-order gen where linearisation is NOT exact: l = r^4/4 + r^2/2,
    r = theta - x, x_i ~ N(0, 1), full-batch GD. gen = F_mu - F_S is then a cubic in
    theta (the quartic terms cancel), so each step's first-order error is exactly
    its Taylor remainder -(g2 d^2 / 2 + g3 d^3 / 6), d = theta_t - theta_{t-1}, with
    the second and third derivatives of gen g2 = 3 theta^2 + 4 - mean(3 r^2 + 1) and
    g3 = 6 xbar."""
    from gapkit.sims.indicators._trajectory import gen_first_order

    rng = ctx.rng("indicators.gen_first_order.quartic")
    x = rng.standard_normal(30)
    lr = 0.05
    th = np.empty(41)
    th[0] = 2.0
    for t in range(th.size - 1):
        r = th[t] - x
        th[t + 1] = th[t] - lr * np.mean(r**3 + r)
    r = th[:, None] - x[None]
    tr = np.mean(r**4 / 4 + r**2 / 2, axis=1)
    po = (th**4 + 6 * th**2 + 3) / 4 + (th**2 + 1) / 2
    fo = gen_first_order(tr, po, th[:, None], np.mean(r**3 + r, axis=1)[:, None], (th**3 + 4 * th)[:, None])
    d = np.diff(th)
    g2 = 3 * th[:-1] ** 2 + 4 - np.mean(3 * r[:-1] ** 2 + 1, axis=1)
    truth = -float(np.sum(0.5 * g2 * d**2 + x.mean() * d**3))
    return [ctx.compare(
        "indicators.gen_first_order.quartic", equation=_EQ + " first-order gen (Fu et al.), nonlinear case",
        model="1-D quartic, GD path (40 steps, lr 0.05)", theory=truth, measured=float(fo["error"][-1]),
        tolerance=1e-9 * max(1.0, float(np.abs(po).max())),
        tolerance_source="exact Taylor remainder of a cubic gen; rounding of losses of size max|F_mu|",
        extra={"rel_error": fo["rel_error"]})]


@register_check(ids=["indicators.gen_first_order.quadratic", "indicators.rfridge."], quick=True)
def _traj_rf(ctx):
    from gapkit.theory._rfridge import finite_width_deviation

    from gapkit.sims.indicators._trajectory import gen_first_order

    rng = ctx.rng("indicators.gen_first_order.quadratic")
    # 1-D quadratic l = (h/2)(theta - x)^2: F_mu - F_S is affine in theta, so the
    # first-order sum equals the exact gen along ANY path.
    h, m, s, n, lr, B = 1.5, 0.4, 1.0, 20, 0.2, 2
    x = m + s * rng.standard_normal(n)
    th = np.empty(200)
    th[0] = 3.0
    for t in range(1, th.size):
        th[t] = th[t - 1] - lr * h * (th[t - 1] - x[rng.integers(0, n, B)]).mean()
    tr = 0.5 * h * ((th[:, None] - x[None]) ** 2).mean(axis=1)
    po = 0.5 * h * ((th - m) ** 2 + s * s)
    fo = gen_first_order(tr, po, th[:, None], (h * (th - x.mean()))[:, None], (h * (th - m))[:, None])
    rows = [ctx.compare(
        "indicators.gen_first_order.quadratic", equation=_EQ + " first-order gen (Fu et al.)",
        model="1-D quadratic, SGD path", theory=float(fo["gen"][-1]), measured=float(fo["gen_first_order"][-1]),
        tolerance=1e-10 * max(1.0, float(np.abs(fo["gen"]).max())),
        tolerance_source="exact for quadratics of equal curvature (gen affine in theta); rounding",
        extra={"max_abs_error": fo["max_abs_error"]})]
    rows.append(rfridge_mean_kernel_row(ctx))
    rng = ctx.rng("indicators.rfridge.finite_width")
    X = rng.standard_normal((8, 3))
    Xt = rng.standard_normal((10, 3))
    y = np.sin(X[:, 0])
    fw = finite_width_deviation(X, y, Xt, [50, 200, 800], ridge=1e-2, kind="cos", reps=10, seed=ctx.seed_for("rf"))
    rows.append(ctx.info(
        "indicators.rfridge.finite_width", equation=_EQ + " random-feature ridge, finite width",
        model="cos features, widths 50/200/800", theory=-1.0, measured=fw["slope"],
        note="slope of log E(f_P - f_K)^2 on log P (a 1/P deviation gives -1)",
        extra={"deviation": fw["deviation"], "bias2": fw["bias2"]}))
    return rows


RF_POINTS, RF_SCALE, RF_FEATURES = 8, 0.4, 50_000


def rfridge_mean_kernel_row(ctx):
    """Random features: Phi Phi' -> E[Phi Phi'] = k (the Gaussian kernel) entry by entry, within
    5 per-entry standard errors. Inputs 0.4 x N(0, I_3), so every entry is >= ~0.2 and with
    P = 50,000 features every tolerance is below 10% of its entry (`extra["max_tol_over_entry"]`):
    a 20% error in any entry fails."""
    from gapkit.theory._rfridge import mean_kernel, random_features

    rng = ctx.rng("indicators.rfridge")
    X = RF_SCALE * rng.standard_normal((RF_POINTS, 3))
    P = RF_FEATURES
    Phi, _ = random_features(X, P, kind="cos", seed=rng)
    K = mean_kernel(X, X, kind="cos")
    # Each entry of Phi Phi' is a mean of P i.i.d. terms: its SE from the terms themselves.
    terms = P * Phi[:, None, :] * Phi[None, :, :]
    tol = 5.0 * terms.std(axis=2, ddof=1) / math.sqrt(P) + 1e-12
    return ctx.compare_max(
        "indicators.rfridge.mean_kernel", equation=_EQ + " random features: E[Phi Phi'] = k",
        model=f"cos features P={P}, Gaussian kernel", theory=K.ravel(), measured=(Phi @ Phi.T).ravel(),
        tolerance=tol.ravel(),
        tolerance_source="5 x per-entry standard error of the P-term mean (36 distinct entries; family-wise false-FAIL ~2e-5)",
        extra={"max_tol_over_entry": float(np.max(tol / np.abs(K)))})
