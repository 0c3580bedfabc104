"""The verify report: a page a person would rather look at than read.

Writes into the --out directory:
- ``report.html`` and ``report.md``: summary, the table of checks with verdicts,
  and every figure the checks drew;
- ``checks.csv``: one tidy row per check (pandas reads it directly);
- ``checks.json``: the same object ``gapkit verify --json`` prints;
- ``config.json``: seed, mode, arguments, versions, and the command that
  reruns each row.

Files are written atomically (temporary file + rename) and rewritten after
every provider, so an interrupted run keeps every row it finished.
"""
from __future__ import annotations

import csv
import html
import io
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

from ._registry import FAIL, INFO, PASS, SKIP, CheckResult
from gapkit.sims.stats._results import to_jsonable
from gapkit.sims.sweep._store import _atomic_write as atomic_write_text  # tmp + fsync + rename, one implementation

__all__ = ["write_report", "atomic_write_text", "format_table", "fmt"]

_COLUMNS = ("id", "equation", "model", "theory", "measured", "ci95", "tolerance", "tolerance_source", "verdict", "note")


def fmt(x, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    if xf != xf:
        return "nan"
    if xf == 0:
        return "0"
    a = abs(xf)
    if 1e-3 <= a < 1e5:
        return f"{xf:.{digits}g}"
    return f"{xf:.{max(digits - 1, 1)}e}"


def format_table(rows: Sequence[CheckResult], *, width: int = 150) -> str:
    """A plain-text table for the terminal (stderr)."""
    head = ("verdict", "id", "model", "theory", "measured", "ci95", "tolerance")
    body = [
        (r.verdict, r.id, r.model, fmt(r.theory), fmt(r.measured), fmt(r.ci95), fmt(r.tolerance))
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
    out = [line, "-" * min(len(line), width)]
    out += ["  ".join(c.ljust(w) for c, w in zip(b, widths)) for b in body]
    return "\n".join(out)


def _csv(rows: Sequence[CheckResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(_COLUMNS + ("seconds",))
    for r in rows:
        d = r.to_dict()
        w.writerow([d[c] if d[c] is not None else "" for c in _COLUMNS] + [d["seconds"]])
    return buf.getvalue()


def _dumps(obj, **kw) -> str:
    # gapkit's one JSON convention (non-finite numbers are null), strict JSON; paths as their str
    return json.dumps(to_jsonable(obj), allow_nan=False, default=str, **kw)


def _versions() -> dict:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for mod in ("numpy", "scipy", "sympy", "numba", "torch"):
        m = sys.modules.get(mod)
        if m is not None:
            out[mod] = getattr(m, "__version__", "?")
    try:
        from importlib.metadata import version

        out["gapkit"] = version("gapkit")
    except Exception:  # noqa: BLE001 - running from a source tree
        pass
    return out


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0}
td.num{font-family:ui-monospace,monospace;text-align:right;white-space:nowrap}
.PASS{background:#e3f6e3;font-weight:600}.FAIL{background:#fbdada;font-weight:700}
.INFO{background:#e6eefb}.SKIP{background:#eee}
.note{color:#555;font-size:12px}
figure{display:inline-block;margin:8px;vertical-align:top;max-width:100%}figure img{max-width:100%;max-height:720px;height:auto}
figcaption{font-size:12px;color:#444}
"""


def write_report(out: Path, payload: dict, rows: Sequence[CheckResult], *, config: dict, figures: Sequence[Path] = ()) -> dict:
    """Write the report files; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figs = [Path(f) for f in figures if Path(f).exists()]
    seed = config.get("seed")
    rerun = {r.id: f"gapkit verify --only {r.id} --seed {seed}" + ("" if config.get("quick", True) else " --full") for r in rows}
    cfg = dict(config)
    cfg["versions"] = _versions()
    cfg["rerun"] = rerun
    atomic_write_text(out / "config.json", _dumps(cfg, indent=2))
    atomic_write_text(out / "checks.json", _dumps(payload, indent=1))
    atomic_write_text(out / "checks.csv", _csv(rows))
    atomic_write_text(out / "report.md", _markdown(payload, rows, cfg, figs, out))
    atomic_write_text(out / "report.html", _html(payload, rows, cfg, figs, out))
    return {k: str(out / k) for k in ("report.html", "report.md", "checks.csv", "checks.json", "config.json")}


# INFO rows whose notes are findings a reader wants first (the paper's
# predictions and where its approximations miss), listed above the table.
_FINDING_PREFIXES = ("predA", "predB", "predC", "eq26.t_opt.", "momentum.noncollapse", "eq13.gauge_shift",
                     "eq01.fit.", "realnet.")


def _findings(rows) -> list[CheckResult]:
    return [r for r in rows if r.verdict == INFO and r.id.startswith(_FINDING_PREFIXES) and r.note]


def _summary_line(s: dict) -> str:
    return f"{s['total']} checks: {s['pass']} PASS, {s['fail']} FAIL, {s['info']} INFO, {s['skip']} SKIP"


def _markdown(payload, rows, cfg, figs, out) -> str:
    s = payload["summary"]
    lines = [
        "# gapkit verify report",
        "",
        f"**{_summary_line(s)}** — mode `{'quick' if cfg.get('quick', True) else 'full'}`, seed `{cfg.get('seed')}`.",
        "",
        "PASS/FAIL: the truth is known (exact identity, closed form, a simulator against its own exact law). "
        "INFO: an approximation or an empirical prediction is measured, not judged.",
        "",
        "| verdict | id | equation | model | theory | measured | ci95 | tolerance | tolerance source | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    found = _findings(rows)
    if found:
        lines[6:6] = ["## Findings (INFO)", ""] + [f"- `{r.id}`: {r.note}" for r in found] + ["", "## Checks", ""]
    for r in rows:
        cells = [r.verdict, f"`{r.id}`", r.equation, r.model, fmt(r.theory), fmt(r.measured), fmt(r.ci95),
                 fmt(r.tolerance), r.tolerance_source, r.note]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    if figs:
        lines += ["", "## Figures", ""]
        for f in figs:
            rel = os.path.relpath(f, out)
            lines += [f"![{f.stem}]({rel})", ""]
    lines += ["", "Rerun any row: `gapkit verify --only ID --seed SEED` (config.json lists each)."]
    return "\n".join(lines) + "\n"


def _html(payload, rows, cfg, figs, out) -> str:
    s = payload["summary"]
    e = html.escape
    trs = []
    for r in rows:
        num = lambda x: f'<td class="num">{e(fmt(x))}</td>'  # noqa: E731
        trs.append(
            f'<tr><td class="{r.verdict}">{r.verdict}</td><td><code>{e(r.id)}</code></td><td>{e(r.equation)}</td>'
            f"<td>{e(r.model)}</td>{num(r.theory)}{num(r.measured)}{num(r.ci95)}{num(r.tolerance)}"
            f'<td class="note">{e(r.tolerance_source)}</td><td class="note">{e(r.note)}</td></tr>'
        )
    figure_html = "".join(
        f'<figure><img src="{e(os.path.relpath(f, out))}" alt="{e(f.stem)}"><figcaption>{e(f.stem)}</figcaption></figure>'
        for f in figs
    )
    mode = "quick" if cfg.get("quick", True) else "full"
    found = _findings(rows)
    findings_html = ("<h2>Findings (INFO)</h2><ul>" + "".join(
        f"<li><code>{e(r.id)}</code>: {e(r.note)}</li>" for r in found) + "</ul>") if found else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>gapkit verify</title><style>{_CSS}</style></head>
<body><h1>gapkit verify</h1>
<p><b>{e(_summary_line(s))}</b> &mdash; mode <code>{mode}</code>, seed <code>{e(str(cfg.get('seed')))}</code>.
 PASS/FAIL where the truth is known (exact identities, closed forms, a simulator against its own exact law);
 INFO where an approximation or an empirical prediction is measured (never fails the run).</p>
{findings_html}
{'<h2>Figures</h2>' + figure_html if figs else ''}
<h2>Checks</h2>
<table><thead><tr><th>verdict</th><th>id</th><th>equation</th><th>model</th><th>theory</th><th>measured</th>
<th>ci95</th><th>tolerance</th><th>tolerance source</th><th>note</th></tr></thead><tbody>
{''.join(trs)}
</tbody></table>
<p class="note">Rerun a row: <code>gapkit verify --only ID --seed {e(str(cfg.get('seed')))}</code>. Numbers: checks.csv; configuration: config.json.</p>
</body></html>
"""


__all__ += ["PASS", "FAIL", "INFO", "SKIP"]
