"""The verify report: a page a person would rather look at than read.

Writes into the --out directory:
- ``report.html`` and ``report.md``: the summary, the headline findings with
  their numbers, a contents list, the checks grouped by family (a PASS / FAIL /
  INFO / SKIP count per family, an anchor per family and per check, a filter in
  the HTML page), and every figure the checks drew with a caption saying what
  it shows;
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
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from ._registry import FAIL, INFO, PASS, SKIP, VERDICTS, CheckResult, Figure
from gapkit.sims.stats._results import to_jsonable
from gapkit.sims.sweep._store import _atomic_write as atomic_write_text  # tmp + fsync + rename, one implementation

__all__ = ["write_report", "atomic_write_text", "format_table", "fmt", "family_of", "family_title"]

_COLUMNS = ("id", "equation", "model", "theory", "measured", "ci95", "tolerance", "tolerance_source", "verdict", "note")


def fmt(x, digits: int = 4) -> str:
    """A number as the table prints it: 4 significant digits, scientific
    notation outside [1e-3, 1e5), "-" for a missing value."""
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


_NARROW = ("verdict", "id", "theory", "measured")
_WIDE = ("verdict", "id", "equation", "model", "theory", "measured", "ci95", "tolerance")


def format_table(rows: Sequence[CheckResult], *, wide: bool = False) -> str:
    """The plain-text table of the terminal: verdict, id, theory and measured
    to 3 significant digits (fits 80 columns for ids up to 50 characters);
    ``wide`` adds the equation, model, ci95 (half-width of the 95% interval)
    and tolerance, with 4 digits."""
    head = _WIDE if wide else _NARROW
    d = 4 if wide else 3
    cell = {"verdict": lambda r: r.verdict, "id": lambda r: r.id, "equation": lambda r: r.equation,
            "model": lambda r: r.model, "theory": lambda r: fmt(r.theory, d), "measured": lambda r: fmt(r.measured, d),
            "ci95": lambda r: fmt(r.ci95, d), "tolerance": lambda r: fmt(r.tolerance, d)}
    body = [tuple(cell[h](r) for h in head) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()
    out = [line, "-" * len(line)]
    out += ["  ".join(c.ljust(w) for c, w in zip(b, widths)).rstrip() for b in body]
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


def write_report(out: Path, payload: dict, rows: Sequence[CheckResult], *, config: dict,
                 figures: Sequence[Figure | Path] = ()) -> dict:
    """Write the report files; returns their paths. figures: what the checks
    drew (`CheckContext.figures`); a bare path gets its file name as caption."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figs = [f if isinstance(f, Figure) else Figure(Path(f), Path(f).stem.replace("_", " ")) for f in figures]
    figs = [f for f in figs if Path(f.path).exists()]
    seed = config.get("seed")
    rerun = {r.id: f"gapkit verify --only {r.id} --seed {seed}" + ("" if config.get("quick", True) else " --full") for r in rows}
    cfg = dict(config)
    cfg["versions"] = _versions()
    cfg["rerun"] = rerun
    atomic_write_text(out / "config.json", _dumps(cfg, indent=2))
    atomic_write_text(out / "checks.json", _dumps(payload, indent=1))
    atomic_write_text(out / "checks.csv", _csv(rows))
    page = _Page(payload, rows, cfg, figs, out)
    atomic_write_text(out / "report.md", page.markdown())
    atomic_write_text(out / "report.html", page.html())
    return {k: str(out / k) for k in ("report.html", "report.md", "checks.csv", "checks.json", "config.json")}


# --------------------------------------------------------------------- families
_FAMILY_TITLES = {
    "closedform": "Closed forms against Lyapunov solves",
    "sim": "Simulators against their exact discrete laws",
    "fokker": "Fokker-Planck solver",
    "collapse": "Collapse onto the temperature T = lr / B (plain SGD)",
    "momentum": "Momentum: exact law and departure from collapse",
    "theta_grid": "Closed form vs simulation on a theta grid",
    "indicators": "Indicators of related papers on known cases",
    "cross_backend": "Backends agree (numba, torch)",
    "predA": "Prediction A: the gap falls with T",
    "predB": "Prediction B: a finite best temperature",
    "predC": "Prediction C: the train loss rises with T",
    "realnet": "Real networks",
    "plugin": "Plugins",
}


def family_of(check_id: str) -> str:
    """The family of a check id: its first part (``eq06``, ``fokker``)."""
    return check_id.split(".", 1)[0]


def family_title(family: str) -> str:
    """A family's heading: "Eq 6" for ``eq06``, a phrase for a named family."""
    m = re.fullmatch(r"eq(\d+)", family)
    if m:
        return f"Eq {int(m.group(1))}"
    return _FAMILY_TITLES.get(family, family)


def _families(rows) -> dict[str, list[CheckResult]]:
    """Rows by family: the paper's equations in order (eq01, eq02, ...), then
    the named families in catalogue order; rows keep their order inside."""
    groups: dict[str, list[CheckResult]] = {}
    for r in rows:
        groups.setdefault(family_of(r.id), []).append(r)
    order = {f: k for k, f in enumerate(groups)}

    def key(f):
        m = re.fullmatch(r"eq(\d+)", f)
        return (0, int(m.group(1))) if m else (1, order[f])

    return {f: groups[f] for f in sorted(groups, key=key)}


def _counts(rows) -> str:
    """'4 checks: 3 PASS, 1 INFO' (verdicts that occur)."""
    n = {v: sum(r.verdict == v for r in rows) for v in VERDICTS}
    return f"{len(rows)} check{'s' if len(rows) != 1 else ''}: " + ", ".join(f"{n[v]} {v}" for v in VERDICTS if n[v])


def _summary_line(s: dict) -> str:
    return f"{s['total']} checks: {s['pass']} PASS, {s['fail']} FAIL, {s['info']} INFO, {s['skip']} SKIP"


# --------------------------------------------------------------------- headline findings
# Rows a reader wants first: where the paper's derivations or approximations
# miss, and its predictions measured on toy models and networks (in this order).
_HEADLINE_PREFIXES = (
    "eq25.coefficient.", "eq41.paper_sign.", "eq26.t_opt.quadratic1d", "eq26.t_opt.linreg", "eq13.gauge_shift.",
    "momentum.noncollapse.", "eq01.fit.", "predA.", "predB.", "predC.", "realnet.",
)


def _headlines(rows) -> list[CheckResult]:
    out = []
    for p in _HEADLINE_PREFIXES:
        out += [r for r in rows if r.id.startswith(p) and r not in out]
    return out


def _numbers(r: CheckResult) -> str:
    """'theory 2.429, measured 0.01 ± 0.002' (the ± is the 95% half-width)."""
    parts = []
    if r.theory is not None:
        parts.append(f"theory {fmt(r.theory)}")
    if r.measured is not None:
        parts.append(f"measured {fmt(r.measured)}" + (f" ± {fmt(r.ci95)}" if r.ci95 is not None else ""))
    return ", ".join(parts)


def _breakable(check_id: str) -> str:
    """An id, HTML-escaped, that wraps after its dots and underscores."""
    return re.sub(r"([._])", r"\1<wbr>", html.escape(check_id))


def _anchor(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", s)


# --------------------------------------------------------------------- the page
_LEGEND = ("PASS/FAIL where the truth is known (exact identities, closed forms, a simulator against its own exact "
           "law); INFO where an approximation or an empirical prediction is measured (never fails the run); SKIP "
           "where an optional package is missing. ci95: half-width of the 95% interval of the measured value.")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em;max-width:1400px;color:#222;line-height:1.35}
h2{margin-top:1.6em;border-bottom:1px solid #ccc}h3{margin:1.4em 0 .3em}
nav ol{columns:3;column-gap:2.5em;font-size:14px;list-style:none;padding-left:0}nav li{break-inside:avoid;margin-bottom:2px}
table{border-collapse:collapse;font-size:13px;width:100%;table-layout:fixed}
th,td{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0}
td{overflow-wrap:break-word}
td.num{font-family:ui-monospace,monospace;text-align:right;font-size:12px}th.num{text-align:right}
col.v{width:4.5em}col.id{width:17em}col.eq{width:7em}col.model{width:8em}col.num{width:6.5em}
.PASS{background:#e3f6e3;font-weight:600}.FAIL{background:#fbdada;font-weight:700}
.INFO{background:#e6eefb}.SKIP{background:#eee}
details summary{cursor:pointer}details div{color:#555;font-size:12px;margin-top:2px}
.counts{font-size:14px;color:#444}
#filter{margin:.5em 0 1em;font-size:14px}#filter input[type=search]{width:22em}
ul.headline li{margin-bottom:.4em}.nums{font-family:ui-monospace,monospace;font-size:13px}
figure{margin:1em 0;max-width:100%}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:13px;color:#333;max-width:60em}
"""

_JS = """
function gkFilter(){const q=document.getElementById('q').value.toLowerCase();
const on=new Set([...document.querySelectorAll('#filter input[type=checkbox]')].filter(c=>c.checked).map(c=>c.value));
document.querySelectorAll('tr.row').forEach(tr=>{const ok=on.has(tr.dataset.verdict)&&tr.textContent.toLowerCase().includes(q);
tr.style.display=ok?'':'none'});}
"""

_NOTE_SHORT = 90


class _Page:
    """The report's content, rendered as HTML (`html`) or Markdown (`markdown`)."""

    def __init__(self, payload, rows, cfg, figs, out):
        self.s = payload["summary"]
        self.rows, self.cfg, self.figs, self.out = list(rows), cfg, figs, out
        self.groups = _families(self.rows)
        self.heads = _headlines(self.rows)
        self.fails = [r for r in self.rows if r.verdict == FAIL]
        self.mode = "quick" if cfg.get("quick", True) else "full"
        self.seed = str(cfg.get("seed"))

    def _fig_src(self, f: Figure) -> str:
        return os.path.relpath(f.path, self.out)

    # ------------------------------------------------------------- HTML
    def html(self) -> str:
        e = html.escape
        toc = ['<li><a href="#findings">Headline findings</a></li>'] if self.heads else []
        if self.fails:
            toc.insert(0, '<li><a href="#failures">Failures</a></li>')
        toc += [f'<li><a href="#fam-{_anchor(f)}">{e(family_title(f))}</a> <span class="counts">({_counts(rs)})</span></li>'
                for f, rs in self.groups.items()]
        if self.figs:
            toc.append('<li><a href="#figures">Figures</a></li>')
        parts = [
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>gapkit verify report</title><style>{_CSS}</style>'
            f"<script>{_JS}</script></head><body>",
            "<h1>gapkit verify report</h1>",
            f"<p><b>{e(_summary_line(self.s))}</b> &mdash; mode <code>{self.mode}</code>, seed <code>{e(self.seed)}</code>. "
            f"{e(_LEGEND)}</p>",
            f'<nav aria-label="contents"><h2>Contents</h2><ol>{"".join(toc)}</ol></nav>',
        ]
        if self.fails:
            parts.append('<h2 id="failures">Failures</h2><ul>' + "".join(
                f'<li><a href="#{_anchor(r.id)}"><code>{e(r.id)}</code></a>: {e(r.note)}</li>' for r in self.fails)
                + "</ul>")
        if self.heads:
            parts.append('<h2 id="findings">Headline findings</h2><ul class="headline">' + "".join(
                f'<li><b>{e(r.equation or family_title(family_of(r.id)))}</b>, {e(r.model)} '
                f'(<a href="#{_anchor(r.id)}"><code>{e(r.id)}</code></a>, {r.verdict}): '
                + (f'<span class="nums">{e(_numbers(r))}</span>. ' if _numbers(r) else "") + f'{e(r.note)}</li>' for r in self.heads) + "</ul>")
        parts.append('<h2 id="checks">Checks by family</h2>')
        parts.append('<div id="filter">Filter: <input type="search" id="q" placeholder="id, model, equation or note" '
                     'oninput="gkFilter()" aria-label="filter the checks"> '
                     + " ".join(f'<label><input type="checkbox" value="{v}" checked onchange="gkFilter()"> {v}</label>'
                                for v in VERDICTS) + "</div>")
        for fam, rs in self.groups.items():
            parts.append(f'<h3 id="fam-{_anchor(fam)}">{e(family_title(fam))} <span class="counts">'
                         f'<code>{e(fam)}</code> &middot; {_counts(rs)}</span></h3>')
            parts.append(self._table(rs))
        if self.figs:
            parts.append('<h2 id="figures">Figures</h2>')
            for k, f in enumerate(self.figs, 1):
                parts.append(f'<figure id="figure-{k}"><img src="{e(self._fig_src(f))}" alt="{e(f.caption)}">'
                             f"<figcaption><b>Figure {k}.</b> {e(f.caption)}</figcaption></figure>")
        parts.append(f'<p class="counts">Rerun a row: <code>gapkit verify --only ID --seed {e(self.seed)}</code>'
                     f'{" --full" if self.mode == "full" else ""}. All numbers: checks.csv; configuration and '
                     "the rerun command of each row: config.json.</p></body></html>\n")
        return "\n".join(parts)

    def _table(self, rs) -> str:
        e = html.escape
        num = lambda x: f'<td class="num">{e(fmt(x))}</td>'  # noqa: E731
        trs = []
        for r in rs:
            note = r.note or ""
            short = note if len(note) <= _NOTE_SHORT else note[:_NOTE_SHORT].rsplit(" ", 1)[0] + " …"
            body = (note if short != note else "") + f" Tolerance: {r.tolerance_source or '-'}."
            trs.append(
                f'<tr class="row" id="{_anchor(r.id)}" data-verdict="{r.verdict}"><td class="{r.verdict}">{r.verdict}</td>'
                f"<td><code>{_breakable(r.id)}</code></td><td>{e(r.equation)}</td><td>{e(r.model)}</td>"
                f"{num(r.theory)}{num(r.measured)}{num(r.ci95)}{num(r.tolerance)}"
                f"<td><details><summary>{e(short) or 'details'}</summary><div>{e(body.strip())}</div></details></td></tr>")
        return ('<table><colgroup><col class="v"><col class="id"><col class="eq"><col class="model">'
                '<col class="num"><col class="num"><col class="num"><col class="num"><col></colgroup>'
                "<thead><tr><th>verdict</th><th>id</th><th>equation</th><th>model</th><th class=num>theory</th>"
                "<th class=num>measured</th><th class=num>ci95</th><th class=num>tolerance</th><th>note (click for the tolerance's source)</th></tr></thead><tbody>"
                + "".join(trs) + "</tbody></table>")

    # ------------------------------------------------------------- Markdown
    def markdown(self) -> str:
        cell = lambda c: str(c).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines = ["# gapkit verify report", "",
                 f"**{_summary_line(self.s)}** — mode `{self.mode}`, seed `{self.seed}`.", "", _LEGEND, "",
                 "## Contents", ""]
        if self.fails:
            lines.append("- [Failures](#failures)")
        if self.heads:
            lines.append("- [Headline findings](#headline-findings)")
        for fam, rs in self.groups.items():
            lines.append(f"- [{family_title(fam)}](#{_md_slug(family_title(fam) + ' ' + fam)}) ({_counts(rs)})")
        if self.figs:
            lines.append("- [Figures](#figures)")
        if self.fails:
            lines += ["", "## Failures", ""] + [f"- `{r.id}`: {r.note}" for r in self.fails]
        if self.heads:
            lines += ["", "## Headline findings", ""]
            lines += [f"- **{r.equation or family_title(family_of(r.id))}**, {r.model} (`{r.id}`, {r.verdict}): "
                      + (f"{_numbers(r)}. " if _numbers(r) else "") + f"{r.note}" for r in self.heads]
        lines += ["", "## Checks by family"]
        for fam, rs in self.groups.items():
            lines += ["", f"### {family_title(fam)} {fam}", "", f"{_counts(rs)}", "",
                      "| verdict | id | equation | model | theory | measured | ci95 | tolerance | tolerance source | note |",
                      "|---|---|---|---|---|---|---|---|---|---|"]
            for r in rs:
                cells = [r.verdict, f"`{r.id}`", r.equation, r.model, fmt(r.theory), fmt(r.measured), fmt(r.ci95),
                         fmt(r.tolerance), r.tolerance_source, r.note]
                lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
        if self.figs:
            lines += ["", "## Figures", ""]
            for k, f in enumerate(self.figs, 1):
                lines += [f"![{f.caption}]({self._fig_src(f)})", "", f"*Figure {k}.* {f.caption}", ""]
        lines += ["", f"Rerun any row: `gapkit verify --only ID --seed {self.seed}` (config.json lists each)."]
        return "\n".join(lines) + "\n"


def _md_slug(title: str) -> str:
    """The anchor GitHub-style Markdown gives a heading."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


__all__ += ["PASS", "FAIL", "INFO", "SKIP"]
