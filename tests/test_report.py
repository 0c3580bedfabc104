"""The verify report as a reader sees it (issue 16): a contents list, checks
grouped by family with per-family counts and anchors, headline findings with
their numbers, captioned figures, unique ids, no private module paths or
internal document names; the terminal table fits 80 columns.

Rendered from a small real run (two fast providers, one of them drawing a
figure) plus hand-made rows, so each structural claim can also be shown to
fail on a page built wrong.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from gapkit.sims.verify._registry import (FAIL, INFO, PASS, CheckContext, CheckResult, run_checks, select_checks,
                                          summarize)
from gapkit.sims.verify._report import family_title, format_table, write_report

# A private module path (gapkit.theory._lyapunov, theory._momentum.x) or an
# internal document of the developers (DESIGN.md, PAPER.md, ...).
PRIVATE = re.compile(r"\b(gapkit\.)?(theory|sims|gpu)(\.\w+)*\._\w+|\b(DESIGN|PAPER|STATISTICS|INDICATORS|STYLE)\.md\b")


class _Page(HTMLParser):
    """Ids, links, headings, table rows and images of an HTML page."""

    def __init__(self, text):
        super().__init__()
        self.ids, self.links, self.h3, self.rows, self.imgs, self.nav_links = [], [], [], [], [], []
        self._in, self._nav = None, False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "a" and a.get("href", "").startswith("#"):
            self.links.append(a["href"][1:])
            if self._nav:
                self.nav_links.append(a["href"][1:])
        if tag == "nav":
            self._nav = True
        if tag == "tr" and "row" in a.get("class", ""):
            self.rows.append(a)
        if tag == "img":
            self.imgs.append(a)
        if tag == "h3":
            self._in = "h3"
            self.h3.append("")

    def handle_endtag(self, tag):
        if tag == "nav":
            self._nav = False
        if tag == "h3":
            self._in = None

    def handle_data(self, data):
        if self._in == "h3":
            self.h3[-1] += data


def _row(id_, verdict=PASS, note="", **kw):
    d = dict(equation="15", model="m", theory=1.0, measured=1.0, ci95=0.1, tolerance=0.2, tolerance_source="4 SE")
    d.update(kw)
    return CheckResult(id=id_, verdict=verdict, note=note, **d)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A real report: the Eq 25-27 symbolic provider (headline rows) and the
    2-D Fokker-Planck current provider (draws a figure), plus one hand-made FAIL."""
    out = tmp_path_factory.mktemp("report")
    specs = select_checks(["eq25", "fokker.current"])
    ctx = CheckContext(seed=0, quick=True, out=out)
    rows = run_checks(specs, ctx, prefixes=["eq25", "eq26", "eq27", "fokker.current"])
    rows.append(_row("zz99.broken.m", FAIL, note="a made-up failure"))
    payload = {"checks": [r.to_dict() for r in rows], "summary": summarize(rows)}
    ctx.figure_path("made_up.png", caption="A made-up figure: nothing, plotted against nothing.").write_bytes(b"x")
    write_report(out, payload, rows, config={"seed": 0, "quick": True}, figures=ctx.figures)
    return out, rows, (out / "report.html").read_text(), (out / "report.md").read_text()


def test_the_page_has_contents_families_counts_and_anchors(report):
    out, rows, html, md = report
    page = _Page(html)
    families = list(dict.fromkeys(r.id.split(".")[0] for r in rows))
    assert [h.split(" ")[0] for h in page.h3] == [family_title(f).split(" ")[0] for f in families]
    assert "fokker" in families and "eq25" in families
    for f in families:  # a contents entry, a heading and its count per family
        assert f"fam-{f}" in page.nav_links and f"fam-{f}" in page.ids
        mine = [r.verdict for r in rows if r.id.startswith(f + ".")]
        heading = next(h for h in page.h3 if f" {f} " in h)
        assert f"{len(mine)} check" in heading
        for v in set(mine):
            assert f"{mine.count(v)} {v}" in heading
    assert all(link in page.ids for link in page.links), "every internal link has its target"
    assert len(page.ids) == len(set(page.ids)), "anchors are unique"
    assert [r["id"] for r in page.rows] == [r.id for r in rows]  # one row per check, anchored by its id
    assert "failures" in page.nav_links and "zz99.broken.m" in html.split('id="failures"')[1].split("</ul>")[0]
    assert "## Contents" in md and "### Fokker-Planck solver fokker" in md


def test_headline_findings_come_first_with_their_numbers(report):
    out, rows, html, md = report
    head = html.split('id="findings"')[1].split("</ul>")[0]
    assert html.index('id="findings"') < html.index('id="checks"')
    eq25 = next(r for r in rows if r.id == "eq25.coefficient.symbolic")
    assert "eq25.coefficient.symbolic" in head and f"theory {eq25.theory:g}" in head and "2/T" in head
    assert "## Headline findings" in md and md.index("## Headline findings") < md.index("## Checks by family")


def test_figures_have_captions_and_alt_text(report):
    out, rows, html, md = report
    page = _Page(html)
    assert len(page.imgs) == 2
    for img in page.imgs:
        assert (out / img["src"]).exists() and len(img["alt"]) > 40 and ".png" not in img["alt"]
    assert "<b>Figure 2.</b> A made-up figure" in html and "*Figure 2.* A made-up figure" in md


def test_no_private_paths_unique_ids_and_one_equation_form(report):
    out, rows, html, md = report
    for text in (html, md):
        assert not PRIVATE.search(text), PRIVATE.search(text).group(0)
    assert len({r.id for r in rows}) == len(rows)
    assert all(not re.fullmatch(r"\d[\d\s,-]*", r.equation) for r in rows)
    # the pattern catches what it is for (a check that cannot fail is a defect)
    assert PRIVATE.search("see gapkit.theory._momentum.momentum_var_1d") and PRIVATE.search("INDICATORS.md seed 2")
    assert not PRIVATE.search("gapkit.theory.momentum_var_1d, a_b.c")


def test_a_headline_without_numbers_has_no_empty_fragment(tmp_path):
    """A headline row with neither theory nor measured (predB with no optimum found)
    reads '(id, INFO): note', not '(id, INFO): . note'."""
    rows = [_row("predB.finite_t_opt.m", INFO, note="holds: False (no finite optimum)", theory=None, measured=None,
                 ci95=None)]
    write_report(tmp_path, {"checks": [], "summary": summarize(rows)}, rows, config={"seed": 0})
    html = (tmp_path / "report.html").read_text()
    md = (tmp_path / "report.md").read_text()
    head = html.split('id="findings"')[1].split("</ul>")[0]
    assert "holds: False" in head and "INFO): holds: False" in re.sub(r"<[^>]+>", "", head)
    assert "INFO): holds: False" in md and "): . " not in md


def test_a_page_built_wrong_fails_the_structure_checks(tmp_path):
    """The structure checks can fail: a private path in a note shows, and a
    duplicated id gives duplicate anchors."""
    rows = [_row("zz01.a.m", note="from gapkit.theory._lyapunov"), _row("zz01.a.m")]
    write_report(tmp_path, {"checks": [], "summary": summarize(rows)}, rows, config={"seed": 0})
    html = (tmp_path / "report.html").read_text()
    page = _Page(html)
    assert PRIVATE.search(html) and len(page.ids) != len(set(page.ids))


def test_the_terminal_table_fits_80_columns_unless_wide():
    rows = [_row("eq23.sgd_test_loss_bound_cross_anchor.quadratic1d", INFO, theory=-1.234567e-12, measured=-0.00012345),
            _row("sim.sgd_mean_var.quadratic1d.var", model="a long model name, n=400", equation="Eq 6 / Eq 15")]
    narrow, wide = format_table(rows), format_table(rows, wide=True)
    assert max(map(len, narrow.splitlines())) <= 80
    assert max(map(len, wide.splitlines())) > 80 and "a long model name" in wide and "ci95" in wide
