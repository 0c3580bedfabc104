"""The paper's figures from a finished sweep's store (Figs 1, 3, 5-12 panels; Figs 7, 8).

Everything is drawn from the stored records (and the stored findings), so
`gapkit figures STORE --out DIR` redraws a sweep without running anything.

- ``panels_<variant>.png``, one per algorithm variant (plain SGD, momentum,
  momentum + cosine): left column gap <U_e - U_l>, test loss, train loss;
  right column accuracy gap, test accuracy, train accuracy (networks only),
  against T (T_eff = lr / ((1 - mu) B) where the sweep has variants). One
  marker and colour per batch size B, so runs at equal T and different
  (lr, B) are told apart; the points of one B are offset by a few percent in
  x so that pairs at equal T do not hide each other. Error bars: each run's
  95% interval over its data draws (the stored ``*_ci95``). Open markers: runs
  not at steady state. The Eq 1 fit of the findings with its parameters
  (gap; the other panels too where the findings hold a fit ``eq1_fit_<panel>``);
  T_opt only where finding B holds. The findings are in T = lr / B; on a T_eff
  axis their fit and T_opt are drawn at T_eff = T / (1 - mu). On toy sweeps, the exact theory of each
  run (the stored ``theory``: exact stationary law of the discrete chain) as
  a line per B.
- ``collapse.png`` (sweeps with variants): gap, test loss and test accuracy
  of every variant and B against T_eff on shared axes.
- ``fig7_sigma.png``: Fig 7, the per-example test-loss spread sigma_l against
  the test loss at 20 epochs of the last quarter of each run.
- ``fig8_traces.png``: Fig 8, per-epoch train loss of one member per run
  (log scale), the last 50-epoch window shaded.
- ``edge.png`` (where recorded): top Hessian eigenvalue over the stability
  edge 2 (1 + mu) / lr against T.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ._store import record_column

__all__ = ["sweep_figure", "draw_panels", "panels_figure", "figures_from_records", "figure_caption", "variant_label",
           "variant_order", "PANELS"]

# (record key, axis label, CI key) per panel: left column losses, right column accuracies
PANELS = (
    (("gap", "gap  <U_e - U_l>"), ("acc_gap", "accuracy gap (train - test)")),
    (("test_loss", "test loss <U_e>"), ("test_acc", "test accuracy")),
    (("train_loss", "train loss <U_l>"), ("train_acc", "train accuracy")),
)
_MARKERS = "osD^v<>"
_WINDOW = 50  # the paper's steady-state window (epochs), shaded on Fig 8


def variant_label(config: dict) -> str:
    """'sgd', 'momentum 0.9', 'momentum 0.9 + cosine' (langevin, ...) of a run's config."""
    algo = str(config.get("algo", "sgd"))
    mu = float(config.get("momentum") or 0.0)
    label = f"{algo} {mu:g}" if algo == "momentum" else algo
    return label + (" + cosine" if config.get("cosine") else "")


def _slug(label: str) -> str:
    """'momentum 0.9 + cosine' -> 'momentum_0_9_cosine' (a file name)."""
    return "_".join("".join(c if c.isalnum() else " " for c in label).split())


def _x(recs) -> tuple[np.ndarray, str]:
    """x values: T_eff where every record has it, else T = lr / B."""
    t_eff, T = record_column(recs, "T_eff"), record_column(recs, "T")
    if recs and np.isfinite(t_eff).all() and not np.allclose(t_eff, T, rtol=1e-12, atol=0.0):
        return t_eff, "T_eff = lr / ((1 - mu) B)"
    return T, "T = lr / B"  # also where every run has mu = 0 (T_eff = T)


def _theory(recs, key: str) -> np.ndarray:
    """The stored exact theory value of `key` per run (nan where none)."""
    out = []
    for r in recs:
        th = r["result"].get("theory") or {}
        v = th.get(key, (th.get("conditional") or {}).get(key) if isinstance(th.get("conditional"), dict) else None)
        out.append(float(v) if isinstance(v, (int, float)) else math.nan)
    return np.array(out, dtype=np.float64)


def _log_axis(ax, x=None) -> None:
    """Log x axis with plain-number labels: at the grid's own values `x` when
    they are at most 10 spanning under two decades, else at 1, 2, 5 x 10^k."""
    import matplotlib.ticker as mt

    ax.set_xscale("log")
    grid = np.unique(np.asarray(x, dtype=np.float64)[np.isfinite(x)]) if x is not None else np.array([])
    if 1 < grid.size <= 10 and grid[-1] / grid[0] < 100:
        ax.xaxis.set_major_locator(mt.FixedLocator(grid))
    else:
        ax.xaxis.set_major_locator(mt.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(mt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(mt.NullFormatter())


def _plain_log_labels(ax, axes: str = "xy") -> None:
    """Plain numbers (2, 0.05) instead of 2 x 10^0 on log axes: matplotlib's
    choice of which major and minor ticks to label, in `{:g}` form."""
    import matplotlib.ticker as mt

    for name in axes:
        axis = ax.xaxis if name == "x" else ax.yaxis
        for minor in (False, True):
            base = mt.LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(2, 0.5))
            base.axis = axis
            fmt = mt.FuncFormatter(lambda v, pos, b=base: f"{v:g}" if b(v, pos) else "")
            fmt.set_locs = base.set_locs  # the base formatter picks the labelled ticks from the view
            (axis.set_minor_formatter if minor else axis.set_major_formatter)(fmt)


def _wrap(title: str, width: int) -> str:
    """A title broken into lines of at most `width` characters (a figure's width)."""
    import textwrap

    return "\n".join(textwrap.wrap(title, width)) if title else title


def _auto_log_y(ax, y) -> None:
    """Log y axis for a positive quantity spanning more than 1.5 decades (a
    loss from an interpolating run to a chance-level one), else linear."""
    y = np.asarray(y, dtype=np.float64)
    y = y[np.isfinite(y)]
    if y.size and y.min() > 0 and y.max() / y.min() > 10**1.5:
        ax.set_yscale("log")


def _settings_line(recs) -> str:
    """Model, data, parameters, n, alpha, K and the rescaled time of the runs."""
    if not recs:
        return ""
    c, r = recs[0]["config"], recs[0]["result"]
    mk = c.get("model_kwargs") or {}
    parts = [f"{c.get('model')}" + (f" {mk.get('hidden') or r.get('model_kwargs', {}).get('hidden')}"
                                    if c.get("backend") == "torch" else "")]
    if r.get("dataset"):
        parts.append(str(r["dataset"]))
    if r.get("n_params"):
        parts.append(f"{int(r['n_params']):,} params")
    n = r.get("n", c.get("n"))
    if n is not None:
        parts.append(f"n={n}")
    parts.append(f"alpha={float(c.get('alpha', 0.0)):g}")
    K = r.get("datasets", c.get("datasets"))
    if K is not None:
        parts.append(f"K={K}" + (f" x M={r.get('chains')}" if r.get("chains", 1) not in (None, 1) else ""))
    lr_eff = record_column(recs, "lr_eff")
    lr_eff = np.where(np.isfinite(lr_eff), lr_eff, record_column(recs, "lr"))
    tau = lr_eff * record_column(recs, "steps")
    tau = tau[np.isfinite(tau)]
    if tau.size:
        lo, hi = float(tau.min()), float(tau.max())
        parts.append(f"lr_eff x updates = {lo:.3g}" + (f"-{hi:.3g}" if hi > 1.01 * lo else ""))
    return ", ".join(parts)


def variant_order(label: str) -> tuple:
    """Sort key of variant labels: plain SGD first, then momentum, then with cosine."""
    return ("cosine" in label, label != "sgd", label)


def _group_keys(recs, key):
    """(distinct group labels in variant order, the label of each record)."""
    vals = [key(r) for r in recs]
    return sorted(dict.fromkeys(vals), key=variant_order), vals


def _fit_label(fit: dict) -> str:
    return (f"Eq 1 fit a={fit['a']:.3g} b={fit['b']:.3g} c={fit['c']:.3g}"
            + (f", R^2={fit['r2']:.2f}" if isinstance(fit.get("r2"), (int, float)) else ""))


def draw_panels(recs: list, findings: dict, path, *, title: str = "") -> Path:
    """The six panels (PANELS) of one variant's runs `recs` into `path` (PNG);
    the accuracy column only when the runs have accuracies (`panels_figure`)."""
    return _save(panels_figure(recs, findings, title=title), path)


def panels_figure(recs: list, findings: dict, *, title: str = ""):
    """The matplotlib Figure of `draw_panels` (3 x 2 axes, or 3 x 1 without accuracies)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gapkit.sims.stats._fit import eq1

    x, xlabel = _x(recs)
    # the findings are in T = lr / B; x may be T_eff = T / (1 - mu) (one mu per variant)
    ratio = x / record_column(recs, "T")
    to_x = float(np.nanmedian(ratio)) if np.isfinite(ratio).any() else 1.0
    B = record_column(recs, "batch")
    steady = np.array([r["result"].get("steady") is True for r in recs], dtype=bool)
    has_acc = np.isfinite(record_column(recs, "test_acc")).any()
    cols = 2 if has_acc else 1
    fig, axes = plt.subplots(3, cols, figsize=(6.2 * cols, 9.6), squeeze=False, layout="constrained")
    Bs = [b for b in np.unique(B[np.isfinite(B)])]
    cmap = plt.get_cmap("viridis")
    colour = {b: cmap(0.85 * i / max(len(Bs) - 1, 1)) for i, b in enumerate(Bs)}
    shift = {b: 1.04 ** (i - (len(Bs) - 1) / 2) for i, b in enumerate(Bs)}
    handles = {}
    for row, pair in enumerate(PANELS):
        for col, (key, label) in enumerate(pair[:cols]):
            ax = axes[row, col]
            y, ci = record_column(recs, key), record_column(recs, key + "_ci95")
            for i, b in enumerate(Bs):
                for ok in (True, False):
                    m = (B == b) & (steady == ok) & np.isfinite(y)
                    if not m.any():
                        continue
                    h = ax.errorbar(x[m] * shift[b], y[m], yerr=np.where(np.isfinite(ci[m]), ci[m], 0.0),
                                    fmt=_MARKERS[i % len(_MARKERS)], color=colour[b], ms=5, capsize=2, lw=1,
                                    mfc=colour[b] if ok else "none", alpha=0.9)
                    if ok:
                        handles.setdefault(f"B={int(b)}", h)
                    elif "open markers: not at steady state" not in handles:  # one entry, not one per B
                        handles["open markers: not at steady state"] = ax.errorbar(
                            [], [], yerr=[], fmt="o", color="0.3", mfc="none", ms=5, capsize=2, lw=1)
                th = _theory(recs, key)
                mt = (B == b) & np.isfinite(th)
                if mt.any():
                    o = np.argsort(x[mt])
                    h = ax.plot(x[mt][o], th[mt][o], "-", color=colour[b], lw=1.2, alpha=0.8)[0]
                    handles.setdefault(f"exact theory B={int(b)}", h)
            fit = findings.get("eq1_fit" if key == "gap" else f"eq1_fit_{key}") or {}
            if fit.get("status") == "ok" and np.isfinite(x).any():
                Tl = np.geomspace(np.nanmin(x), np.nanmax(x), 200)
                h = ax.plot(Tl, eq1(Tl / to_x, fit["a"], fit["b"], fit["c"]), color="0.45", lw=2, zorder=0)[0]
                handles.setdefault(f"{key}: {_fit_label(fit)}" + ("" if to_x == 1.0 else " (in T = lr/B)"), h)
            elif fit and key == "gap":
                ax.set_title(f"Eq 1 fit: {fit.get('status')}", fontsize=8, loc="left")
            if key in ("test_loss", "test_acc"):
                _mark_T_opt(ax, findings, handles, to_x)
            _log_axis(ax, x)
            _auto_log_y(ax, y)
            if key in ("test_acc", "train_acc"):  # a t interval of bimodal draws can pass 0 or 1: clip the view
                ax.set_ylim(max(ax.get_ylim()[0], -0.02), min(ax.get_ylim()[1], 1.02))
            ax.set_xlabel(xlabel)
            ax.set_ylabel(label)
            ax.grid(alpha=0.3, which="major")
    fig.suptitle(title, fontsize=10)
    order = sorted(handles, key=lambda k: (not k.startswith("B="), not k.startswith("open")))  # B, open, lines
    fig.legend([handles[k] for k in order], order, loc="outside lower center", ncol=min(cols + 1, len(handles)),
               fontsize=8, frameon=False)
    return fig


def _mark_T_opt(ax, findings: dict, handles: dict, to_x: float = 1.0) -> None:
    """T_opt (the findings' T = lr / B, drawn at to_x T on the x axis) as a
    dashed line, only where finding B holds."""
    fb = findings.get("B") or {}
    t_opt = fb.get("T_opt")
    if fb.get("holds") is True and isinstance(t_opt, (int, float)) and math.isfinite(t_opt):
        h = ax.axvline(t_opt * to_x, color="r", ls="--", lw=1)
        handles.setdefault(f"T_opt = {t_opt * to_x:.3g} (B holds)", h)


def _save(fig, path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def draw_collapse(recs: list, path, *, title: str = "") -> Path:
    """Gap, test loss and test accuracy of every variant and B against T_eff."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, xlabel = _x(recs)
    labels, lab = _group_keys(recs, lambda r: variant_label(r["config"]))
    B = record_column(recs, "batch")
    Bs = list(np.unique(B[np.isfinite(B)]))
    keys = [("gap", "gap"), ("test_loss", "test loss"), ("test_acc", "test accuracy")]
    keys = [k for k in keys if np.isfinite(record_column(recs, k[0])).any()]
    fig, axes = plt.subplots(1, len(keys), figsize=(5.2 * len(keys), 4.2), squeeze=False, layout="constrained")
    colours = plt.get_cmap("tab10")
    lab = np.array(lab)
    n_groups = len(labels) * len(Bs)
    handles = {}
    for ax, (key, ylabel) in zip(axes[0], keys):
        y, ci = record_column(recs, key), record_column(recs, key + "_ci95")
        g = 0
        for i, v in enumerate(labels):
            for j, b in enumerate(Bs):
                m = (lab == v) & (B == b) & np.isfinite(y)
                s = 1.03 ** (g - (n_groups - 1) / 2)
                g += 1
                if not m.any():
                    continue
                o = np.argsort(x[m])
                h = ax.errorbar(x[m][o] * s, y[m][o], yerr=np.where(np.isfinite(ci[m][o]), ci[m][o], 0.0),
                                fmt=_MARKERS[j % len(_MARKERS)] + "-", color=colours(i), ms=4, capsize=2, lw=0.8,
                                mfc=colours(i) if j == 0 else "none")
                handles.setdefault(f"{v}, B={int(b)}", h)
        _log_axis(ax, x)
        _auto_log_y(ax, y)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncol=min(3, len(handles)),
               fontsize=8, frameon=False)
    return _save(fig, path)


def _traces(r, name):
    t = (r["result"].get("traces") or {}).get(name)
    return None if t is None else np.asarray(t, dtype=np.float64)


def draw_fig7(recs: list, path, *, title: str = "") -> Path | None:
    """Fig 7: sigma_l (per-example test-loss std) against the test loss at 20
    epochs of the last quarter of each run, coloured by log T; None without traces."""
    pts = [(_traces(r, "fig7_test_loss"), _traces(r, "fig7_sigma_l")) for r in recs]
    if not any(a is not None for a, _ in pts):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors as mc
    import matplotlib.pyplot as plt

    x, xlabel = _x(recs)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    norm = mc.LogNorm(vmin=np.nanmin(x), vmax=np.nanmax(x) * (1 + 1e-9))
    sc = None
    for (tl, sg), t in zip(pts, x):
        if tl is None:
            continue
        m = np.isfinite(tl) & np.isfinite(sg)
        sc = ax.scatter(tl[m], sg[m], c=np.full(m.sum(), t), cmap="plasma", norm=norm, s=8, alpha=0.6)
    if sc is not None:
        fig.colorbar(sc, ax=ax, label=xlabel)
    ax.set_xlabel("test loss (per member, one of 20 late epochs)")
    ax.set_ylabel("sigma_l: std of the per-example test loss")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_labels(ax)
    ax.grid(alpha=0.3, which="both")
    ax.set_title(_wrap(("Fig 7: " + title) if title else "Fig 7", 75), fontsize=8)
    return _save(fig, path)


def draw_fig8(recs: list, path, *, title: str = "") -> Path | None:
    """Fig 8: per-epoch train loss of the first member of each run (log y),
    one line per run coloured by log T; the last 50-epoch window (the steady
    value's) shaded. None without traces."""
    runs = [(r, _traces(r, "trace_train")) for r in recs]
    runs = [(r, t) for r, t in runs if t is not None and t.size]
    if not runs:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors as mc
    import matplotlib.pyplot as plt

    x, xlabel = _x([r for r, _ in runs])
    labels, lab = _group_keys([r for r, _ in runs], lambda r: variant_label(r["config"]))
    fig, axes = plt.subplots(len(labels), 1, figsize=(8, 3.0 * len(labels)), squeeze=False, layout="constrained")
    norm = mc.LogNorm(vmin=np.nanmin(x), vmax=np.nanmax(x) * (1 + 1e-9))
    cmap = plt.get_cmap("plasma")
    for ax, v in zip(axes[:, 0], labels):
        windows: dict = {}  # (first, last epoch) -> the temperatures of the runs that end there
        for (r, t), T, lv in zip(runs, x, lab):
            if lv != v:
                continue
            tr = t.reshape(-1, t.shape[-1])[0]
            ep = np.arange(tr.size)
            ax.plot(ep[1:], tr[1:], color=cmap(norm(T)), lw=0.7, alpha=0.85)
            windows.setdefault((max(1, tr.size - 1 - _WINDOW), tr.size - 1), []).append(T)
        for (a, b), Ts in windows.items():  # one band per distinct window (runs of one length share it)
            ax.axvspan(a, b, color=cmap(norm(float(np.median(Ts)))), alpha=0.12, lw=0, zorder=0)
        ax.set_yscale("log")
        _plain_log_labels(ax, "y")
        ax.set_xlabel("epoch")
        ax.set_ylabel("train loss (member 1)")
        ax.set_title(f"{v}: train loss per epoch; shaded: the last {_WINDOW} epochs of each run", fontsize=9, loc="left")
        ax.grid(alpha=0.3)
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes[:, 0].tolist(), label=xlabel)
    fig.suptitle(_wrap(("Fig 8: " + title) if title else "Fig 8", 100), fontsize=9)
    return _save(fig, path)


def draw_edge(recs: list, path, *, title: str = "") -> Path | None:
    """Top Hessian eigenvalue / stability edge 2 (1 + mu) / lr against T, per
    variant; a line at 1 (above it the minimum is linearly unstable). None
    when not recorded."""
    ratio = record_column(recs, "edge_ratio")
    if not np.isfinite(ratio).any():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, xlabel = _x(recs)
    labels, lab = _group_keys(recs, lambda r: variant_label(r["config"]))
    lab = np.array(lab)
    B = record_column(recs, "batch")
    Bs = list(np.unique(B[np.isfinite(B)]))
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    cols = plt.get_cmap("tab10")
    for i, v in enumerate(labels):
        for j, b in enumerate(Bs):
            m = (lab == v) & (B == b) & np.isfinite(ratio)
            if m.any():
                o = np.argsort(x[m])
                ax.plot(x[m][o], ratio[m][o], _MARKERS[j % len(_MARKERS)] + "-", color=cols(i), ms=4, lw=0.8,
                        mfc=cols(i) if j == 0 else "none", label=f"{v}, B={int(b)}")
    ax.axhline(1.0, color="k", ls="--", lw=1, label="stability edge")
    _log_axis(ax, x)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("lambda_max(H) / (2 (1 + mu) / lr)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(_wrap(title, 75), fontsize=8)
    return _save(fig, path)


def figure_caption(name: str, labels=()) -> str:
    """What the figure file `name` of `figures_from_records` shows, in a
    sentence (a report's caption and alt text); `labels` are the sweep's
    variant labels, to name the variant of a ``panels_<variant>.png``."""
    if name.startswith("panels_"):
        slug = name[len("panels_"):].rsplit(".", 1)[0]
        v = next((lv for lv in labels if _slug(lv) == slug), slug.replace("_", " "))
        return (f"{v}: the data-averaged gap <U_e - U_l>, test loss and train loss (networks: also the accuracy "
                "gap, test and train accuracy) of every run against the temperature, one marker and colour per "
                "batch size B. Error bars: each run's 95% interval over its data draws; open markers: runs not at "
                "steady state; lines: the exact theory of the discrete chain (toy models, where known) and the "
                "Eq 1 fit of the findings where it is determined.")
    captions = {
        "collapse.png": "Every variant on shared axes: gap, test loss and test accuracy against T_eff = lr / "
                        "((1 - mu) B), one colour per variant, filled markers for the smallest B and open ones for "
                        "the others. Where the runs collapse onto T, the curves of one variant at different B coincide.",
        "fig7_sigma.png": "Fig 7: sigma_l, the standard deviation of the per-example test loss, against the test loss, "
                          "one point per member at each of 20 epochs of the last quarter of each run, coloured by "
                          "the temperature (colour bar).",
        "fig8_traces.png": f"Fig 8: the per-epoch train loss (log scale) of one member of each run, one line per run "
                           f"coloured by the temperature (colour bar); the shaded band is each run's last {_WINDOW} "
                           "epochs (the paper's steady-state window).",
        "edge.png": "The top Hessian eigenvalue at the end of each run over the stability edge 2 (1 + mu) / lr, "
                    "against the temperature; above the dashed line at 1 the minimum is linearly unstable.",
    }
    return captions.get(name, name.rsplit(".", 1)[0].replace("_", " "))


def figures_from_records(recs: list, findings: dict, out) -> list[Path]:
    """Every figure of the module docstring from stored records and findings
    (the one-variant findings dict, or {"variants": {label: findings}}) into
    the folder `out`; returns the files written."""
    out = Path(out)
    labels, lab = _group_keys(recs, lambda r: variant_label(r["config"]))
    per = findings.get("variants") or {}
    settings = _settings_line(recs)
    paths = []
    for v in labels:
        group = [r for r, lv in zip(recs, lab) if lv == v]
        f = per.get(v, findings if len(labels) == 1 else {})
        paths.append(draw_panels(group, f, out / f"panels_{_slug(v)}.png", title=f"{v}: {settings}"))
    if len(labels) > 1:
        paths.append(draw_collapse(recs, out / "collapse.png", title=f"all variants: {settings}"))
    for draw, name in ((draw_fig7, "fig7_sigma.png"), (draw_fig8, "fig8_traces.png"), (draw_edge, "edge.png")):
        p = draw(recs, out / name, title=settings)
        if p is not None:
            paths.append(p)
    return paths


def sweep_figure(store, keys, summary: dict, out: Path) -> list[Path]:
    """Draw the figures of the runs `keys` into ``out/figures/`` (the sweep runner's call)."""
    return figures_from_records(list(store.records(keys)), summary, Path(out) / "figures")
