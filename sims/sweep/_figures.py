"""Figure panels of a temperature sweep (the paper's Figs. 1, 3-6).

Gap, test loss and train loss against T = lam / B: one point per run coloured
by B, the mean per T as a line, the Eq 1 fit on the gap panel, T_opt marked on
the test-loss panel. Runs not at steady state are drawn as open markers
(crosses when the run length was capped).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ._store import record_column

__all__ = ["sweep_figure", "draw_panels"]


def _records_arrays(store, keys):
    recs = list(store.records(keys))

    def col(name):
        return record_column(recs, name)

    steady = np.array([r["result"].get("steady") is not False for r in recs], dtype=bool)
    capped = np.array([bool(r["config"].get("capped", False)) for r in recs], dtype=bool)
    title = ""
    if recs:
        c = recs[0]["config"]
        title = f"{c.get('model')} / {c.get('algo')}{' + cosine' if c.get('cosine') else ''}"
    return {"T": col("T"), "B": col("batch"), "gap": col("gap"), "train": col("train_loss"),
            "test": col("test_loss"), "steady": steady, "capped": capped, "title": title}


def draw_panels(data: dict, summary: dict, path: Path) -> Path:
    """Draw the three panels from per-run arrays into `path` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    from gapkit.sims.stats._fit import eq1, per_T_means

    T, B = data["T"], data["B"]
    Bs = np.unique(B[np.isfinite(B)])
    cmap = plt.get_cmap("viridis")
    colours = {b: cmap(i / max(len(Bs) - 1, 1)) for i, b in enumerate(Bs)}
    markers = {b: "osD^v<>"[i % 7] for i, b in enumerate(Bs)}  # points of equal T overlap when they collapse
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    panels = (("gap", "gap  <U_e - U_l>"), ("test", "test loss"), ("train", "train loss"))
    for ax, (key, label) in zip(axes, panels):
        y = data[key]
        for b in Bs:
            m = (B == b) & data["steady"]
            ax.scatter(T[m], y[m], s=22, color=colours[b], marker=markers[b], alpha=0.75, label=f"B={int(b)}")
            m = (B == b) & ~data["steady"]
            if m.any():
                ax.scatter(T[m], y[m], s=30, facecolors="none", edgecolors=colours[b],
                           marker=markers[b], label=f"B={int(b)} not steady")
        cm = data["capped"]
        if cm.any():
            ax.scatter(T[cm], y[cm], s=40, color="k", marker="x", label="run length capped")
        pm = per_T_means(T[data["steady"]], y[data["steady"]])
        if pm["T"].size:
            ax.plot(pm["T"], pm["mean"], "k-", lw=1, alpha=0.7, label="mean per T")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # minor labels overlap on short ranges
        ax.set_xlabel("T = lr / B")
        ax.set_ylabel(label)
    fit = summary.get("eq1_fit") or {}
    if fit.get("status") == "ok" and np.isfinite(T).any():
        Tl = np.geomspace(np.nanmin(T), np.nanmax(T), 200)
        axes[0].plot(Tl, eq1(Tl, fit["a"], fit["b"], fit["c"]), color="0.5", lw=2,
                     label=f"Eq 1 fit, R^2={fit['r2']:.2f}")
    elif fit:
        axes[0].text(0.02, 0.02, f"Eq 1 fit: {fit.get('status')}", transform=axes[0].transAxes, fontsize=8)
    B_ = summary.get("B") or {}
    t_opt = B_.get("T_opt")
    if isinstance(t_opt, (int, float)) and math.isfinite(t_opt):
        axes[1].axvline(t_opt, color="r", ls="--", lw=1,
                        label=f"T_opt={t_opt:.3g}" + (f" (grid edge: {B_.get('at_grid_edge')})"
                                                      if B_.get("at_grid_edge") not in (None, "no") else ""))
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(data.get("title", ""))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sweep_figure(store, keys, summary: dict, out: Path) -> list[Path]:
    """Draw the panels of the runs `keys` into ``out/figures/sweep.png``."""
    data = _records_arrays(store, keys)
    return [draw_panels(data, summary, Path(out) / "figures" / "sweep.png")]
