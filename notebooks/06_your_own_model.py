# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 - Your own model: from a loss formula to its theory and a fast simulation
#
# gapkit's front door for a loss it has never seen. We take a **double well whose gradient noise
# depends on theta**,
#
#     l(t, x) = (t^2 - 1)^2 / 4 + (x t + 1)^2 / 4        (>= 0, x ~ N(0, 1)),
#
# and, with `gapkit.theory.SymbolicModel`:
#
# 1. derive D (Eq 17), v, a and g = (2/T) v + a (Eqs 18-20) in closed form, check the curl-free
#    condition and the zero current (Eqs 47-49);
# 2. build a finite universe on the data and a theta grid, and check Eqs 2-9 and 21 exactly;
# 3. run the approximations (Eqs 10-14, 22-24, 51-53) against the exact gap;
# 4. simulate the Langevin SDE (Eq 17) with Numba (`gapkit.sims.simulate(model=...)`) and compare the
#    stationary train loss with the Fokker-Planck steady state and with the exact engine's Boltzmann density;
# 5. falsify a wrong inequality with `gapkit.testing.falsify`.
#
# The notebook ends by asserting each of these.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sympy as sp

import gapkit.testing as gt
from gapkit.sims import simulate
from gapkit.theory import SymbolicModel, approximations, boltzmann, effective_potential_gap, exact_identities
from gapkit.theory import potential_statistics, sgd_potential_gap

SMALL = bool(os.environ.get("GAPKIT_NOTEBOOK_SMALL"))
CHAINS, STEPS, BURN = (100, 50_000, 10_000) if SMALL else (1000, 200_000, 20_000)
LR, DT, BETA = 0.5, 0.008, 0.5  # Langevin: T = lr / batch = 0.5, time step lam dt = 0.004
K_SE = 4.0  # tolerance in standard errors: false-FAIL ~6e-5 per comparison for a normal statistic
print("small mode" if SMALL else "full mode", "| chains:", CHAINS, "| steps:", STEPS)

# %% [markdown]
# ## 1. The loss, its Eq 17 quantities and the potentials

# %%
t, x = sp.symbols("t x", real=True)
well = SymbolicModel((t**2 - 1) ** 2 / 4 + (x * t + 1) ** 2 / 4, [t], [x], name="double well")
print("per-example gradient:", sp.factor(well.grad_expr[0]))
print("per-example Hessian :", sp.expand(well.hess_expr[0, 0]))
sym = well.symbolic(2)  # two symbolic data points
print("D for n = 2 points  :", sp.factor(sym["D"][0][0, 0]))

# %% [markdown]
# One data set of n = 6 points from the simulator's own draws (seed 1): the simulation below runs on it.

# %%
run = simulate(model=well, algo="langevin", n=6, lr=LR, dt=DT, beta=BETA, datasets=1, chains=CHAINS,
               steps=STEPS, burnin=BURN, seed=1, test_size=64)
X = run.problem.X[0, :, 0]
print("data set:", np.round(X, 3))
v_expr, a_expr = well.potentials_1d(X, beta=BETA)
T = run.config["T"]
g_expr = 2 / sp.Float(T) * v_expr + a_expr
def short(e):
    """e with its exact rationals printed to 4 digits."""
    return e.xreplace({r: sp.Float(r, 4) for r in e.atoms(sp.Rational)})


print("v(t) =", short(sp.N(v_expr, 4)))
print("a(t) =", short(sp.N(a_expr, 4)))
curl = well.curl_report(np.linspace(-2, 2, 9)[:, None], X, beta=BETA)
J = well.zero_current(X, beta=BETA)
print("curl-free (v, a):", curl["curl_free_v"], curl["curl_free_a"], "| J/rho of Eq 47 =", J)

# %% [markdown]
# In 2-D the curl condition can fail; the report says where. A 2-D relative of the same loss:

# %%
t0, t1 = sp.symbols("t0 t1", real=True)
well2 = SymbolicModel((t0**2 + t1**2 - 1) ** 2 / 4 + (x * t0 + t1 + 1) ** 2 / 4, [t0, t1], [x], name="well 2-D")
rep2 = well2.curl_report(np.random.default_rng(0).normal(size=(6, 2)), X, beta=BETA)
print({k: rep2[k] for k in ("curl_free_v", "max_v", "worst_v")})

# %% [markdown]
# ## 2. The finite universe: Eqs 2-9 and 21 exactly
#
# Support: the six data points (uniform r_l), theta on a grid; the algorithm is the SGD-form Boltzmann
# density rho = exp(-(2/T) v - a) / Z with v, a integrated along the grid (`sgd_pieces`), trained on n = 3
# of the six points.

# %%
grid = np.linspace(-3.5, 3.5, 281)
u = well.universe(X, grid)
v, a = well.sgd_pieces(u, beta=BETA)


def g(c):
    return (2 / T) * v(c) + a(c)


ids = exact_identities(u, boltzmann(u, g), 3)
checks = {k: (gt.assert_identity(i) if i.relation == "==" else gt.assert_inequality(i)) for k, i in ids.items()}
checks["eq09"] = gt.assert_inequality(effective_potential_gap(u, g, 3))
checks["eq21"] = gt.assert_inequality(sgd_potential_gap(u, v, a, T, 3))
print(pd.DataFrame({k: {"lhs": c.lhs, "rhs": c.rhs, "rel": c.relation} for k, c in checks.items()}).T)

# %% [markdown]
# ## 3. The approximations against the exact gap

# %%
stats = potential_statistics(u, 3, v=v, a=a, T=T)
approx = approximations(stats)
rows = {k: {"value": ap.value, "defined": ap.defined, "reason": ap.reason[:60]} for k, ap in approx.items()}
print("exact gap <Delta>bar =", stats.gap)
print(pd.DataFrame(rows).T)

# %% [markdown]
# ## 4. Numba simulation vs Fokker-Planck vs the exact engine
#
# Each chain's post-burn-in time average of U_l is one draw (chains have independent streams), so the
# simulated mean has se = std / sqrt(chains). References: the Eq 47 steady state on this data set
# (finite volumes), and the exact engine's rho for the training multiset holding each point once.

# %%
tr = run.arrays["train"][0]
sim, se = float(tr.mean()), float(tr.std(ddof=1) / np.sqrt(tr.size))
fp = well.fokker_planck(X, T=T, lam=LR, beta=BETA, bounds=[(-3.5, 3.5)], n_cells=700)
c = fp.centers[0]
fp_train = float((fp.rho * well.fields(c[:, None], X)["U"]).sum() * fp.h[0])
ones = np.ones(u.k, dtype=np.int64)
rho = boltzmann(u, g)(ones)
engine_train = float(u.integral(rho * (u.loss @ ones) / u.k))
source = f"std over {tr.size} independent chains / sqrt({tr.size})"
print(f"simulation {sim:.5f} +- {se:.5f} | Fokker-Planck {fp_train:.5f} | exact engine {engine_train:.5f}")
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(c, fp.rho, label="Fokker-Planck (Eq 47)")
ax.plot(grid, rho, "--", label="exact engine exp(-g)/Z")
ax.hist(run.arrays["theta_final"][0, :, 0], bins=40, density=True, alpha=0.3, label="chains (final theta)")
ax.set_xlabel("theta")
ax.legend()
plt.show()

# %% [markdown]
# ## 5. Falsify a wrong inequality
#
# Eq 9 says the *effective-potential* gap of any Boltzmann algorithm is >= 0. Does the *loss* gap inherit
# it? `falsify` searches random universes and potentials, and shrinks what it finds.

# %%
def loss_gap_nonnegative(case):
    """The proposed inequality <Delta>bar >= 0, with a rounding allowance of 1e-12 x its largest term."""
    uu, n, gg = case
    e6 = exact_identities(uu, boltzmann(uu, gg), n)["eq06"]
    return e6.lhs >= -1e-12 * e6.scale


ce = gt.falsify(loss_gap_nonnegative, gt.potentials(), max_examples=200)
uu, nn, gg = ce.case
print("counterexample: loss table", uu.loss.tolist(), "r_l", uu.r_l.tolist(), "n", nn,
      "| loss gap", exact_identities(uu, boltzmann(uu, gg), nn)["eq06"].lhs)
print("Eq 9 on it:", effective_potential_gap(uu, gg, nn))

# %% [markdown]
# ## Headline checks

# %%
gt.assert_within_se(sim, se, fp_train, k=K_SE, source=source)
gt.assert_within_se(sim, se, engine_train, k=K_SE, source=source)
assert abs(fp_train - engine_train) < 1e-3 * fp_train  # two discretizations of the same density
assert J == 0 and curl["curl_free_v"] and not rep2["curl_free_v"]
assert ce is not None and exact_identities(uu, boltzmann(uu, gg), nn)["eq06"].lhs < 0
print("all checks passed")
