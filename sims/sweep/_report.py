"""A finished sweep's findings file and report (Markdown + HTML), from its store.

- `findings_by_variant(store, keys)`: the findings of `gapkit.sims.sweep._findings.sweep_findings`
  (the one home of the statistics) per algorithm variant (plain SGD, momentum,
  momentum + cosine); with one variant its dict unchanged, with several the
  first variant's at the top level and every variant's under "variants".
- `write_findings(store, findings)`: ``DIR/findings.json``, so the findings are
  stored with the sweep (`gapkit figures` reads them instead of recomputing).
- `write_report(store, out)`: ``report.md`` and ``report.html`` holding the
  figures of `gapkit.sims.sweep._figures`, the findings with their numbers, the
  regime (best test accuracy, train/test loss ratio at the cold end) and the
  per-run table.
"""
from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np

from ._figures import figure_caption, figures_from_records, variant_label, variant_order
from ._store import ResultsStore, jsonable, record_column

__all__ = ["findings_by_variant", "write_findings", "read_findings", "write_report", "regime", "FINDINGS_FILE"]

FINDINGS_FILE = "findings.json"

# the per-run table of the report: (record key, header, format)
_TABLE = (("T_eff", "T_eff", "{:.3g}"), ("T", "T", "{:.3g}"), ("batch", "B", "{:.0f}"), ("lr", "lr", "{:.3g}"),
          ("epochs", "epochs", "{:.0f}"), ("extended_epochs", "ext", "{:.0f}"),
          ("train_loss", "train loss", "{:.4f}"), ("test_loss", "test loss", "{:.4f}"),
          ("test_loss_ci95", "±95%", "{:.3f}"), ("gap", "gap", "{:.4f}"), ("gap_ci95", "±95%", "{:.3f}"),
          ("train_acc", "train acc", "{:.4f}"), ("test_acc", "test acc", "{:.4f}"),
          ("acc_gap", "acc gap", "{:.4f}"), ("sigma_l", "sigma_l", "{:.3f}"), ("fdr1", "FDR1", "{:.2f}"),
          ("edge_ratio", "lam_max/edge", "{:.2f}"), ("steady", "steady", "{}"))


def findings_by_variant(store: ResultsStore, keys) -> dict:
    """`sweep_findings` of each variant's runs (module docstring)."""
    from ._findings import sweep_findings

    keys = list(keys)
    groups: dict[str, list] = {}
    for k in keys:
        rec = store.get(k)
        if rec is not None:
            groups.setdefault(variant_label(rec["config"]), []).append(k)
    if len(groups) <= 1:
        return sweep_findings(store, keys)
    per = {v: sweep_findings(store, groups[v]) for v in sorted(groups, key=variant_order)}
    out = dict(next(iter(per.values())))
    out["variants"] = per
    out["variant_of_top_level"] = next(iter(per))
    return out


def write_findings(store: ResultsStore, findings: dict) -> Path:
    """Store the findings with the sweep (``DIR/findings.json``)."""
    from ._store import _atomic_write

    path = store.root / FINDINGS_FILE
    _atomic_write(path, json.dumps(jsonable(findings), sort_keys=True, indent=1, allow_nan=False, default=str))
    return path


def read_findings(store: ResultsStore) -> dict | None:
    """The stored findings (None when the sweep has none or they do not parse)."""
    try:
        f = json.loads((store.root / FINDINGS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return f if isinstance(f, dict) else None


def regime(recs: list) -> dict:
    """The regime numbers of issue 11's "Done means": the best per-run test
    accuracy (and its T), and at the coldest T the train loss over the test
    loss (runs at that T averaged; the paper's regime has it << 1)."""
    if not recs:
        return {}
    x = record_column(recs, "T_eff")
    if not np.isfinite(x).all():
        x = record_column(recs, "T")
    acc = record_column(recs, "test_acc")
    out: dict = {}
    if np.isfinite(acc).any():
        i = int(np.nanargmax(acc))
        out.update(best_test_acc=float(acc[i]), best_test_acc_T=float(x[i]),
                   best_test_acc_ci95=float(record_column(recs, "test_acc_ci95")[i]),
                   best_test_acc_variant=variant_label(recs[i]["config"]))
    cold = x == np.nanmin(x)
    tr, te = record_column(recs, "train_loss")[cold], record_column(recs, "test_loss")[cold]
    ok = np.isfinite(tr) & np.isfinite(te)
    if ok.any():
        out.update(cold_T=float(np.nanmin(x)), cold_train_loss=float(tr[ok].mean()),
                   cold_test_loss=float(te[ok].mean()), cold_train_over_test=float(tr[ok].mean() / te[ok].mean()))
    steady = np.array([r["result"].get("steady") is True for r in recs])
    out.update(runs=len(recs), steady_runs=int(steady.sum()))
    return out


def _fmt(v, f="{:.4g}") -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        return "nan" if isinstance(v, float) and not math.isfinite(v) else f.format(v)
    return str(v)


def _regime_lines(reg: dict) -> list[str]:
    """The regime numbers (`regime`) as Markdown lines a reader can read."""
    lines = []
    if "best_test_acc" in reg:
        lines.append(f"- best test accuracy {_fmt(reg['best_test_acc'], '{:.4f}')} ± "
                     f"{_fmt(reg.get('best_test_acc_ci95'), '{:.4f}')} ({reg.get('best_test_acc_variant')}, "
                     f"T = {_fmt(reg.get('best_test_acc_T'))})")
    if "cold_T" in reg:
        lines.append(f"- at the coldest T = {_fmt(reg['cold_T'])}: train loss {_fmt(reg['cold_train_loss'])}, "
                     f"test loss {_fmt(reg['cold_test_loss'])}, train / test = {_fmt(reg['cold_train_over_test'], '{:.3g}')}"
                     " (the paper's regime has it far below 1)")
    if "runs" in reg:
        lines.append(f"- {reg['runs']} runs, {reg.get('steady_runs')} of them at steady state")
    return lines


# labels of the findings' scalar entries in the report
_SCALARS = (("T_opt", "T_opt (interior test-loss minimum, only where B holds)"),
            ("not_steady", "runs not at steady state (left out of the findings)"),
            ("includes_not_steady", "findings include runs not at steady state"))


def _finding_lines(f: dict) -> list[str]:
    """One Markdown line per finding: its verdict, reason and numbers."""
    lines = []
    fit = f.get("eq1_fit") or {}
    if fit.get("status") == "ok":
        lines.append(f"- Eq 1 fit of the gap: a = {_fmt(fit.get('a'))} ± {_fmt(fit.get('a_se'))}, "
                     f"b = {_fmt(fit.get('b'))} ± {_fmt(fit.get('b_se'))}, c = {_fmt(fit.get('c'))} ± "
                     f"{_fmt(fit.get('c_se'))} (± one standard error), R^2 = {_fmt(fit.get('r2'), '{:.3f}')}")
    elif fit:
        lines.append(f"- Eq 1 fit of the gap: {fit.get('status')} ({fit.get('reason', '')})")
    for k, v in f.items():
        if k.startswith("eq1_fit_") and isinstance(v, dict) and v.get("status") == "ok":
            lines.append(f"- Eq 1 fit of {k[8:]}: a = {_fmt(v.get('a'))} ± {_fmt(v.get('a_se'))}, b = "
                         f"{_fmt(v.get('b'))} ± {_fmt(v.get('b_se'))}, c = {_fmt(v.get('c'))} ± {_fmt(v.get('c_se'))}, "
                         f"R^2 = {_fmt(v.get('r2'), '{:.3f}')}" + (f" ({v['reason']})" if v.get("reason") else ""))
        elif k.startswith("eq1_fit_") and isinstance(v, dict) and v.get("status"):
            lines.append(f"- Eq 1 fit of {k[8:]}: {v.get('status')} ({v.get('reason', '')})")
    for k, v in f.items():
        if isinstance(v, dict) and "holds" in v:
            nums = ", ".join(f"{a} = {_fmt(b)}" for a, b in v.items()
                             if a not in ("holds", "reason", "prediction") and isinstance(b, (int, float, bool))
                             and not isinstance(b, bool))
            pred = str(v.get("prediction") or k)  # "A: the gap falls with T ..." names its letter
            head = f"**{pred}**" if pred.startswith(f"{k}:") or pred == k else f"**{k}** ({pred})"
            lines.append(f"- {head}: {_fmt(v.get('holds'))}: {v.get('reason', '')}" + (f" [{nums}]" if nums else ""))
    for k, label in _SCALARS:  # T, T_opt: lr / B (not T_eff)
        if k in f:
            lines.append(f"- {label}: {'none' if f[k] is None else _fmt(f[k])}")
    return lines


def _table(recs: list) -> list[list[str]]:
    cols = [c for c in _TABLE if any(r["result"].get(c[0], r["config"].get(c[0])) is not None for r in recs)]
    rows = [["variant"] + [h for _, h, _ in cols]]
    order = sorted(range(len(recs)), key=lambda i: (variant_label(recs[i]["config"]),
                                                    float(recs[i]["config"].get("batch", 0)),
                                                    float(recs[i]["config"].get("T", 0))))
    for i in order:
        r = recs[i]
        row = [variant_label(r["config"])]
        for key, _, f in cols:
            v = r["result"].get(key, r["config"].get(key))
            row.append(_fmt(v, f) if not isinstance(v, bool) else str(v))
        rows.append(row)
    return rows


def write_report(store: ResultsStore, out=None, *, keys=None, findings: dict | None = None, draw: bool = True) -> dict:
    """``report.md`` and ``report.html`` of the sweep in `store` (into `out`,
    default the store's folder) of the runs `keys` (default: all), with its figures (drawn into ``out/figures``
    from the records unless `draw` is False), the findings (the stored ones,
    else `findings_by_variant`) and the per-run table. Returns the paths."""
    out = Path(out) if out is not None else store.root
    keys = store.keys() if keys is None else list(keys)
    recs = list(store.records(keys))
    if findings is None:
        findings = read_findings(store) or findings_by_variant(store, keys)
    figs = figures_from_records(recs, findings, out / "figures") if draw else sorted((out / "figures").glob("*.png"))
    reg = regime(recs)
    per = findings.get("variants") or {(variant_label(recs[0]["config"]) if recs else "sweep"): findings}
    md = [f"# Sweep report: {store.root}", ""]
    spec = (store.read_settings() or {}).get("spec") or {}
    if spec:
        md += [f"Preset `{spec.get('preset')}`, backend `{spec.get('backend')}`, model `{spec.get('model')}`, "
               f"root seed {spec.get('root_seed')}.", ""]
    md += ["## Regime", ""]
    md += _regime_lines(reg) + [""]
    md += ["## Findings", "", "Temperatures in the findings are T = lr / B of each run (for momentum "
           "T_eff = T / (1 - mu)); intervals are 95% unless marked.", ""]
    for v, f in per.items():
        md += [f"### {v}", ""] + _finding_lines(f) + [""]
    md += ["## Figures", ""]
    labels = sorted({variant_label(r["config"]) for r in recs}, key=variant_order)
    for k, p in enumerate(figs, 1):
        cap = figure_caption(p.name, labels)
        md += [f"![{cap}](figures/{p.name})", "", f"*Figure {k}.* {cap}", ""]
    md += ["## Runs", ""]
    rows = _table(recs)
    md += ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    md += ["| " + " | ".join(r) + " |" for r in rows[1:]] + [""]
    out.mkdir(parents=True, exist_ok=True)
    md_path = out / "report.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    html_path = out / "report.html"
    html_path.write_text(_html(md, rows, figs), encoding="utf-8")
    return {"markdown": str(md_path), "html": str(html_path), "figures": [str(p) for p in figs], "regime": reg}


_CSS = ("body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em;max-width:1400px;color:#222;"
        "line-height:1.35}h2{margin-top:1.6em;border-bottom:1px solid #ccc}li{margin-bottom:.3em}"
        "table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #ddd;padding:3px 6px;"
        "text-align:right}th{background:#f4f4f4;position:sticky;top:0}td:first-child,th:first-child{text-align:left}"
        "figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}"
        "figcaption{font-size:13px;color:#333;max-width:60em}")


def _inline(text: str) -> str:
    """Escaped text with the Markdown report's `code` and **bold** as HTML."""
    import re

    t = html.escape(text)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", t)


def _html(md: list[str], rows: list[list[str]], figs: list) -> str:
    """The Markdown report as a self-contained HTML page (escaped text; images
    by relative path, each in a figure with its caption as caption and alt text)."""
    body = []
    table_done, in_list = False, False
    for line in md:
        if in_list and not line.startswith("- "):
            body.append("</ul>")
            in_list = False
        if line.startswith("|"):
            if not table_done:
                body.append("<table>")
                body.append("<thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in rows[0]) + "</tr></thead><tbody>")
                body += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:]]
                body.append("</tbody></table>")
                table_done = True
        elif line.startswith("!["):
            alt, src = line[2:line.index("](")], line[line.index("](") + 2:-1]
            body.append(f'<figure><img src="{html.escape(src)}" alt="{html.escape(alt)}">')
        elif line.startswith("*Figure "):
            num, cap = line[1:].split("*", 1)
            body.append(f"<figcaption><b>{html.escape(num)}</b>{html.escape(cap)}</figcaption></figure>")
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line.lstrip('#').strip())}</h{level}>")
        elif line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{_inline(line[2:])}</li>")
        elif line:
            body.append(f"<p>{_inline(line)}</p>")
    if in_list:
        body.append("</ul>")
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>gapkit sweep report</title><style>{_CSS}</style>'
            "</head><body>" + "\n".join(body) + "</body></html>\n")
