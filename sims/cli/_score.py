"""`gapkit score`: rank the indicators of a finished sweep against its measured gap.

Reads RESULTS_DIR/runs.csv (the sweep's tidy table: hyperparameter columns, a
`gap` column, indicator columns ``ind_<name>``, bound columns ``bound_<name>``),
prints the ranking table (Kendall tau, granulated tau, PGDL CMI; the temperature
T = lr / batch first, as the baseline every indicator must beat) and, with --out,
writes the table (CSV, Markdown) and figures (indicator-vs-gap scatter per
indicator, the ranking bar chart).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ._main import Command, emit_json
from gapkit.theory._validate import ArgumentError

# Hyperparameter axes recognised when --axes is not given. The seed is not an
# axis (granulated tau compares settings, not replicates) and T = lr / batch is
# derived from two axes, so it is scored as the baseline, not used as an axis;
# steps / epochs are set from T by the sweep's run-length rule (not design axes).
HYPER_AXES = ("lr", "batch", "alpha", "beta", "momentum", "mu", "n", "cosine", "dim",
              "width", "depth", "model", "algo", "dataset", "scheme", "data_std", "noise_std", "ghost_batch",
              "weight_decay", "label_noise")
_NON_INDICATORS = ("ind_status",)


def _add(p: argparse.ArgumentParser) -> None:
    p.add_argument("results", type=Path, metavar="RESULTS_DIR", help="a sweep's results directory (holds runs.csv)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="write table (CSV, Markdown) and figures here")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--gap", default="gap", metavar="COLUMN", help="the gap column (default gap)")
    p.add_argument("--axes", default=None, metavar="A1,A2",
                   help="hyperparameter axes for granulated tau and CMI (default: the known axes that vary)")


def load_runs(results: Path, gap: str = "gap"):
    """runs.csv of a results directory as a DataFrame; ValueError naming the
    path or the missing column."""
    import pandas as pd

    results = Path(results)
    if not results.is_dir():
        raise ArgumentError(f"RESULTS_DIR {results} does not exist or is not a directory", param="RESULTS_DIR")
    path = results / "runs.csv"
    if not path.is_file():
        raise ArgumentError(f"{path} does not exist (is {results} a sweep's results directory?)", param="RESULTS_DIR")
    try:
        df = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        why = "is empty" if isinstance(exc, pd.errors.EmptyDataError) else \
            f"is not a readable CSV table ({type(exc).__name__})"
        raise ArgumentError(f"{path} {why} (a sweep's runs.csv has a header and one row per run)",
                            param="RESULTS_DIR") from None
    if gap not in df.columns:
        raise ArgumentError(f"{path} has no column {gap!r}", param="gap")
    if len(df) == 0:
        raise ArgumentError(f"{path} has a header but no runs", param="RESULTS_DIR")
    if not pd.api.types.is_numeric_dtype(df[gap]):
        raise ArgumentError(f"{path}: column {gap!r} must hold numbers (got {df[gap].dtype} values such as "
                            f"{str(df[gap].iloc[0])[:20]!r})", param="gap")
    return df


def _columns(df, gap, axes_arg):
    # A sweep that prefixes every indicator key with "ind_" turns bound_x into
    # ind_bound_x: still a bound.
    inds = [c for c in df.columns if c.startswith("ind_") and not c.startswith("ind_bound_")
            and c not in _NON_INDICATORS and c != "ind_T" and _numeric(df[c])]
    bounds = [c for c in df.columns if c.startswith(("bound_", "ind_bound_")) and _numeric(df[c])]
    if axes_arg:
        axes = [a.strip() for a in axes_arg.split(",") if a.strip()]
        for a in axes:
            if a not in df.columns:
                raise ArgumentError(f"--axes names column {a!r}, which runs.csv does not have", param="--axes")
    else:
        axes = [a for a in HYPER_AXES if a in df.columns and df[a].nunique(dropna=True) > 1]
    return inds, bounds, axes


def _numeric(s):
    import pandas as pd

    return pd.api.types.is_numeric_dtype(s)


def _fmt(x):
    return "   nan" if x is None or not math.isfinite(x) else f"{x:+.3f}"


def format_table(res: dict) -> str:
    lines = [f"{'indicator':<28} {'tau_a':>7} {'p':>6} {'gran.tau':>8} {'CMI':>7} {'runs':>5}"]
    rows = ([res["baseline"]] if res["baseline"] else []) + res["indicators"]
    for r in rows:
        name = r["name"] + (" (baseline)" if r is res["baseline"] else "")
        p = f"{r['kendall_p']:.3f}" if math.isfinite(r["kendall_p"]) else "nan"
        lines.append(f"{name:<28} {_fmt(r['kendall_tau']):>7} {p:>6} {_fmt(r['granulated_tau']):>8} {_fmt(r['cmi']):>7} "
                     f"{r['runs']:>5}")
    if res["bounds"]:
        lines.append("")
        lines.append(f"{'bound':<28} {'tau':>7} {'holds':>7} {'loose':>9}")
        for r in res["bounds"]:
            lo = f"{r['looseness']:.3g}" if math.isfinite(r["looseness"]) else str(r["looseness"])
            lines.append(f"{r['name']:<28} {_fmt(r['kendall_tau']):>7} {r['holds']:>7.2f} {lo:>9} ({r['runs']} runs)")
    return "\n".join(lines)


def _flat_rows(res):
    out = []
    for kind, rows in (("baseline", [res["baseline"]] if res["baseline"] else []),
                       ("indicator", res["indicators"]), ("bound", res["bounds"])):
        for r in rows:
            out.append({"kind": kind, "name": r["name"], "column": r["column"], "kendall_tau": r["kendall_tau"],
                        "kendall_p": r["kendall_p"], "kendall_tau_b": r["kendall_tau_b"],
                        "granulated_tau": r["granulated_tau"], "cmi": r["cmi"], "cmi_shared": r["cmi_shared"],
                        "runs": r["runs"],
                        "holds": r.get("holds", float("nan")), "looseness": r.get("looseness", float("nan"))})
    return out


def _markdown(rows) -> str:
    cols = ["kind", "name", "kendall_tau", "kendall_p", "kendall_tau_b", "granulated_tau", "cmi", "runs", "holds",
            "looseness"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [("" if math.isnan(r[c]) else f"{r[c]:.3f}") if isinstance(r[c], float) else str(r[c]) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(df, res, gap: str, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    rows = _flat_rows(res)
    paths = [out / "score.csv", out / "score.md"]
    pd.DataFrame(rows).to_csv(paths[0], index=False)
    paths[1].write_text(_markdown(rows))

    cols = [r["column"] for r in rows]
    k = len(cols)
    nc = min(4, k)
    nr = math.ceil(k / nc)
    fig, axs = plt.subplots(nr, nc, figsize=(3.2 * nc, 2.8 * nr), squeeze=False)
    for ax, r in zip(axs.flat, rows):
        x = df["lr"] / df["batch"] if r["column"] not in df.columns else df[r["column"]]
        ax.scatter(x, df[gap], s=10)
        if r.get("kind") == "baseline" and bool((x > 0).all()):  # T = lr / B: a geometric grid
            import matplotlib.ticker as mt

            ax.set_xscale("log")
            grid = sorted(set(float(v) for v in x))
            ax.xaxis.set_major_locator(mt.FixedLocator(grid if len(grid) <= 5 else grid[::2]))
            ax.xaxis.set_major_formatter(mt.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(mt.NullFormatter())
        ax.set_xlabel(r["name"])
        ax.set_ylabel(gap)
        tau = r["kendall_tau"]
        ax.set_title(f"tau-a = {tau:.2f}" if math.isfinite(tau) else "no tau (constant)", fontsize=9)
    for ax in list(axs.flat)[k:]:
        ax.axis("off")
    fig.suptitle(f"{gap} of each run (one point per run) against T and each indicator", fontsize=10)
    fig.tight_layout()
    p = out / "score_scatter.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    paths.append(p)

    fig, ax = plt.subplots(figsize=(6, 0.35 * k + 1.2))
    names = [r["name"] for r in rows]
    taus = [r["kendall_tau"] if math.isfinite(r["kendall_tau"]) else 0.0 for r in rows]
    gran = [r["granulated_tau"] if math.isfinite(r["granulated_tau"]) else 0.0 for r in rows]
    y = range(k)
    ax.barh([i + 0.2 for i in y], taus, height=0.4, label="Kendall tau-a")
    ax.barh([i - 0.2 for i in y], gran, height=0.4, label="granulated tau")
    ax.set_yticks(list(y), names)
    ax.invert_yaxis()
    ax.axvline(0, color="k", lw=0.5)
    ax.legend(fontsize=8)
    ax.set_xlabel(f"rank correlation with {gap}")
    ax.set_title(f"Rank correlation of T and each indicator with {gap}\n(no bar: no tau, the indicator is constant)",
                 fontsize=9)
    fig.tight_layout()
    p = out / "score_ranking.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    paths.append(p)
    return paths


def score_results(results: Path, *, gap: str = "gap", axes: str | None = None) -> tuple:
    """Load a results directory and score it: (DataFrame, result dict)."""
    from gapkit.sims.indicators._scoring import score_table

    df = load_runs(results, gap)
    inds, bounds, ax = _columns(df, gap, axes)
    if "T" not in df.columns and not {"lr", "batch"} <= set(df.columns):
        raise ArgumentError(f"{Path(results) / 'runs.csv'} has no column 'T' (nor 'lr' and 'batch' to derive it)",
                            param="RESULTS_DIR")
    res = score_table(df, gap=gap, indicators=inds, bounds=bounds, axes=ax, baseline="T")
    res["axes"] = ax
    res["runs"] = int(len(df))
    return df, res


def run(args: argparse.Namespace) -> int:
    df, res = score_results(args.results, gap=args.gap, axes=args.axes)
    written = []
    if args.out is not None:
        written = write_outputs(df, res, args.gap, Path(args.out))
        sys.stderr.write(f"gapkit score: wrote {', '.join(str(p) for p in written)}\n")
    if args.json:
        res = dict(res)
        res["written"] = [str(p) for p in written]
        emit_json(res)  # a tau that does not exist (constant column) is null
    else:
        print(f"{res['runs']} runs; axes: {', '.join(res['axes']) or '(none)'}")
        print(format_table(res))
    if not res["indicators"] and not res["bounds"]:
        sys.stderr.write(f"gapkit score: {Path(args.results) / 'runs.csv'} has no indicator columns (ind_*): only the "
                         "baseline T is scored. Rerun the sweep command with --indicators to get them (the "
                         "runs are computed again, with their indicators)\n")
    return 0


COMMAND = Command(
    name="score",
    help="rank generalization indicators of a finished sweep against the measured gap",
    add_arguments=_add,
    run=run,
    description=__doc__.split("\n\n")[1] if __doc__ else "",
)
