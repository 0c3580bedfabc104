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
# # 04 - A temperature sweep and the Eq 1 fit
#
# Section 3 of the paper sweeps the learning rate lam and batch size B, plots
# the gap, test loss and train loss against T = lam / B, and fits the empirical
# law
#
# **Eq 1**: <Delta>bar(T) = (a/T + b) exp(-T/c),  a, b, c > 0.
#
# It makes three predictions: **A** the gap falls with T and follows Eq 1;
# **B** the test loss has a finite positive optimal T (Eq 26); **C** the train
# loss rises with T (Eq 27).
#
# This notebook (1) checks the fitting procedure (`gapkit.sims.fit_eq1`)
# on synthetic data with known (a, b, c); (2) runs small sweeps
# (`gapkit.sims.run_sweep`) on two toy models: the 1-D quadratic model,
# where theory says the gap is flat in T and the best T is 0, and
# over-parameterized ridge regression (`linreg`, dim 16 > n 8), where the gap
# does fall at large T; (3) draws the paper's panels and prints the A/B/C
# findings. It ends by asserting what is known: the fit recovers the synthetic
# parameters within 4 of its standard errors, and the quadratic sweep matches its
# closed form and does not show prediction A.

# %%
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from gapkit.sims import SerialExecutor, eq1, fit_eq1, make_spec, run_sweep
from gapkit.sims import per_T_means
from gapkit.theory import quadratic1d_steady

SMALL = bool(os.environ.get("GAPKIT_NOTEBOOK_SMALL"))
SEED = 4
K_SE = 4.0  # tolerance in standard errors: false-FAIL ~6e-5 per comparison for a normal statistic
if SMALL:
    # small mode (the test): only the quadratic model is asserted on; linreg is shown, not judged,
    # so it runs 128 draws (a quarter of the time of 512; its findings are illustrative here)
    SWEEPS = {"quadratic1d": dict(T_grid=[0.01, 0.03, 0.1, 0.3], batch_grid=[1, 2], datasets=2048),
              "linreg": dict(T_grid=[0.05, 0.1, 0.2, 0.4, 0.8], batch_grid=[1, 2], datasets=128)}
    PRESET = "smoke"
else:
    SWEEPS = {"quadratic1d": dict(T_grid=[0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4], batch_grid=[1, 2, 4],
                                  datasets=8192),
              "linreg": dict(T_grid=[0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8], batch_grid=[1, 2], datasets=4096)}
    PRESET = "quick"
print("small mode" if SMALL else "paper-like mode", "| preset", PRESET)

# %% [markdown]
# ## 1. The fit on synthetic data
#
# Draw gap values from Eq 1 with a = 2e-3, b = 0.5, c = 0.05 at 12 temperatures,
# add Gaussian noise of known standard deviation (0.1% of the largest value),
# and fit. With the noise level known the fit's standard errors are absolute
# (`absolute_sigma=True`), so the estimates should lie within a few standard
# errors of the truth.

# %%
truth = dict(a=2e-3, b=0.5, c=0.05)
T_syn = np.geomspace(1e-3, 1e-1, 12)
y0 = eq1(T_syn, **truth)
sig = 1e-3 * y0.max()
y_syn = y0 + sig * np.random.default_rng(SEED).standard_normal(T_syn.size)
fit_syn = fit_eq1(T_syn, y_syn, np.full(T_syn.size, sig))
syn = pd.DataFrame({p: {"truth": truth[p], "estimate": fit_syn[p], "se": fit_syn[f"{p}_se"],
                        "z": (fit_syn[p] - truth[p]) / fit_syn[f"{p}_se"]} for p in "abc"}).T
print(f"fit status {fit_syn['status']}, R^2 = {fit_syn['r2']:.6f}")
syn

# %%
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.errorbar(T_syn, y_syn, yerr=sig, fmt="o", ms=4, label="synthetic data")
Tl = np.geomspace(T_syn.min(), T_syn.max(), 200)
ax.plot(Tl, eq1(Tl, **truth), "k:", label="truth")
ax.plot(Tl, eq1(Tl, fit_syn["a"], fit_syn["b"], fit_syn["c"]), "C1-", lw=1, label="Eq 1 fit")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("T")
ax.set_ylabel("gap")
ax.legend()
plt.show()

# %% [markdown]
# ## 2. Sweeps on the toy models
#
# Each grid point (T, B) runs plain SGD (Eq 15) with lam = T B on K data sets x
# 2 chains. Run length follows the equal-rescaled-time rule (Appendix B): the
# same number of relaxation times lam x updates at every point, so every point
# is at the steady state (the equilibration diagnostics are stored per run;
# `steady` below). Seeds come from the root seed and the replicate (common random
# numbers): data draw k and chain m are the same at every (T, B), so the findings
# use paired per-draw differences (`--pairing fresh` gives fresh draws). Results go to a results store
# (one JSON record per run, a tidy `runs.csv`), here in a temporary directory.

# %%
summaries, tables = {}, {}
with tempfile.TemporaryDirectory(prefix="gapkit-nb04-") as tmp:
    for model, grid in SWEEPS.items():
        spec = make_spec(model, preset=PRESET, root_seed=SEED, **grid)
        s = run_sweep(spec, os.path.join(tmp, model), executor=SerialExecutor(), progress=False, figures=False)
        summaries[model] = s
        tables[model] = pd.read_csv(s["table"])
        print(f"{model}: {s['runs_total']} runs in {s['wall_seconds']:.1f} s, {s['not_steady']} not at steady state")
tables["quadratic1d"][["T", "batch", "lr", "steps", "gap", "gap_ci95", "test_loss", "train_loss", "steady"]]

# %% [markdown]
# On the quadratic model the closed form of the *discrete* chain
# (`quadratic1d_steady`, scheme "sgd") is exact, so each run can be judged:

# %%
q = tables["quadratic1d"]
spec_q = make_spec("quadratic1d", preset=PRESET, **SWEEPS["quadratic1d"])
th = [quadratic1d_steady(spec_q.n, spec_q.data_mean, spec_q.data_std, alpha=spec_q.alpha, beta=spec_q.beta,
                         lam=lr, B=int(B), scheme="sgd") for lr, B in zip(q["lr"], q["batch"])]
for key in ("gap", "test_loss", "train_loss"):
    q[f"{key}_theory"] = [t[key] for t in th]
    q[f"{key}_z"] = (q[key] - q[f"{key}_theory"]) / (q[f"{key}_ci95"] / 1.959963984540054)
q[["T", "batch", "gap", "gap_theory", "gap_z", "test_loss_z", "train_loss_z"]]

# %% [markdown]
# ## 3. The paper's panels
#
# Gap, test loss and train loss against T, one point per run coloured by B,
# the mean per T, the Eq 1 fit on the gap panel where the fit is determined, and
# the closed form on the quadratic model.

# %%
for model, df in tables.items():
    s = summaries[model]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), constrained_layout=True)
    Bs = sorted(df["batch"].unique())
    for ax, key in zip(axes, ("gap", "test_loss", "train_loss")):
        for i, B in enumerate(Bs):
            d = df[df.batch == B]
            ax.errorbar(d["T"] * (1 + 0.04 * i), d[key], yerr=d[f"{key}_ci95"], fmt="o", ms=4, capsize=2,
                        color=plt.get_cmap("viridis")(i / max(len(Bs) - 1, 1)), label=f"B={B}")
        pm = per_T_means(df["T"], df[key])
        ax.plot(pm["T"], pm["mean"], "k-", lw=0.8, alpha=0.6, label="mean per T")
        if model == "quadratic1d":
            Tl = np.geomspace(df["T"].min(), df["T"].max(), 50)
            ax.plot(Tl, [quadratic1d_steady(spec_q.n, spec_q.data_mean, spec_q.data_std, lam=t, B=1,
                                            scheme="sgd")[key] for t in Tl], "r--", lw=1, label="closed form, B=1")
        ax.set_xscale("log")
        ax.set_xlabel("T = lam / B")
        ax.set_title(key.replace("_", " "))
    fit = s["eq1_fit"]
    if fit["status"] == "ok":
        Tl = np.geomspace(df["T"].min(), df["T"].max(), 200)
        axes[0].plot(Tl, eq1(Tl, fit["a"], fit["b"], fit["c"]), color="C3", lw=2,
                     label=f"Eq 1 fit, R^2={fit['r2']:.2f}")
    else:
        axes[0].text(0.03, 0.05, f"Eq 1 fit: {fit['status']}", transform=axes[0].transAxes, fontsize=8)
    if np.isfinite(s["B"].get("T_opt") or np.nan):
        axes[1].axvline(s["B"]["T_opt"], color="r", ls=":", lw=1, label=f"T_opt = {s['B']['T_opt']:.3g}")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(f"{model}: plain SGD")
    plt.show()

# %% [markdown]
# ## 4. The findings
#
# `findings` fits Eq 1 to the per-T means (weighted by their standard errors),
# tests the per-draw slopes of the gap and of the train loss on log T (paired t
# intervals), and claims a finite optimal T only when an interior point is
# significantly below both grid edges (paired one-sided tests, Bonferroni over
# the interior points). A fit that does not determine its parameters (a flat
# gap) is reported as degenerate, not forced; one with a pinned at 0 as b exp(-T/c).

# %%
for model, s in summaries.items():
    f = s["eq1_fit"]
    print(f"== {model}")
    print(f"  Eq 1 fit: {f['status']}"
          + (f" ({f['reason']})" if f.get("reason") else "")
          + f"; a = {f['a']:.3g} +- {f['a_se']:.2g}, b = {f['b']:.3g} +- {f['b_se']:.2g}, "
            f"c = {f['c']:.3g} +- {f['c_se']:.2g}, R^2 = {f['r2']:.3f}")
    for k in "ABC":
        extra = f", T_opt = {s['B']['T_opt']} (grid argmin {s['B']['T_opt_grid']})" if k == "B" else ""
        print(f"  {s[k]['prediction']}: holds = {s[k]['holds']} ({s[k]['reason']}; {s[k].get('method')}){extra}")

# %% [markdown]
# What the theory says (notebook 03; `gapkit.theory.quadratic1d_steady`,
# `gapkit.theory.linreg_gap_vs_T`):
#
# * **quadratic1d**: gap = h^2 s^2/(n(h + alpha)) at every T, test loss rising
#   linearly in T: A fails (flat gap, degenerate Eq 1 fit), B fails (best T = 0,
#   the low edge of the grid), C holds.
# * **linreg** (dim > n, ridge alpha): the stationary mean is the ridge solution
#   at every T, so the test loss only gains a thermal term and the best T is 0 as
#   well; but the thermal spread lives in the span of the n inputs, where the
#   train Hessian exceeds the population one, so the train loss rises faster than
#   the test loss and **the gap falls with T** (prediction A's direction, with
#   Eq 1's a/T term undetermined on this grid). Whether the minimum of the test
#   loss looks interior on a finite grid is a matter of noise; theory puts it at 0.
#
# The sweep fixes one teacher for all runs (`problem_seed`) and, by default,
# reuses each replicate's data draws at every grid point, so neighbouring points
# share their data-set noise: the error bars of single points are much wider
# than the paired differences the findings test.
#
# ## Headline
#
# The Eq 1 fit recovers the synthetic (a, b, c) within 4 standard errors; every
# quadratic-model run matches the closed form of its discrete chain within 4
# standard errors; prediction A does not hold on the quadratic model.

# %%
assert fit_syn["status"] == "ok"
assert np.all(np.abs(syn["z"].to_numpy(dtype=float)) < K_SE), syn
zq = q[["gap_z", "test_loss_z", "train_loss_z"]].abs().to_numpy()
print(f"quadratic1d: largest |z| vs closed form over {zq.size} comparisons: {zq.max():.2f}")
assert zq.max() < K_SE
assert summaries["quadratic1d"]["A"]["holds"] is not True
assert summaries["quadratic1d"]["A"].get("eq1_holds") is not True and summaries["quadratic1d"]["B"]["holds"] is not True
