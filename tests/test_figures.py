"""The sweep figures and report (issue 11): files written, panels present, error
bars drawn with the stored intervals, exact theory on toy sweeps, T_opt only
where B holds, `gapkit figures` redraws from a store without recomputing, and the
variant / rescaled-time run list of the paper-digits preset."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gapkit.sims.sweep._figures import PANELS, panels_figure, variant_label
from gapkit.sims.sweep._report import read_findings
from gapkit.sims.sweep._spec import build_runs, make_spec
from gapkit.sims.sweep._store import ResultsStore, record_column


@pytest.fixture(scope="module")
def toy_store(tmp_path_factory):
    """A finished toy sweep (quadratic1d, 2 B x 4 T, exact theory per run), figures and report drawn."""
    from gapkit.sims.sweep._runner import run_sweep

    out = tmp_path_factory.mktemp("toy")
    spec = make_spec("quadratic1d", preset="smoke", datasets=8, chains=2, time=10.0, burn_time=5.0)
    summary = run_sweep(spec, out, workers=1, progress=False, figures=True)
    return out, summary


def _halfwidths(container) -> np.ndarray:
    """Half-lengths of the vertical error bars of one matplotlib ErrorbarContainer."""
    segs = container.lines[2][0].get_segments()
    return np.array([abs(s[1, 1] - s[0, 1]) / 2 for s in segs])


def test_toy_sweep_writes_figures_findings_and_report(toy_store):
    out, summary = toy_store
    assert (out / "figures" / "panels_sgd.png").stat().st_size > 10_000
    assert (out / "figures" / "fig8_traces.png").stat().st_size > 10_000
    stored = read_findings(ResultsStore(out))
    assert stored is not None and stored["eq1_fit"]["status"] == summary["eq1_fit"]["status"]
    md = (out / "report.md").read_text()
    assert "## Findings" in md and "## Runs" in md and "panels_sgd.png" in md
    assert md.count("\n| sgd |") == summary["runs_total"]  # one table row per run
    assert "<table" in (out / "report.html").read_text()


def test_sweep_report_captions_every_figure_and_reads_as_text(toy_store):
    """Each figure of the sweep report is in a <figure> with a caption saying
    what it shows (also its alt text), lists are lists, the regime is in words
    and a prediction's letter is not repeated ("A (A: ...)")."""
    import re

    out, _ = toy_store
    page, md = (out / "report.html").read_text(), (out / "report.md").read_text()
    imgs = re.findall(r'<figure><img src="([^"]+)" alt="([^"]*)">', page)
    assert sorted(src for src, _ in imgs) == sorted(f"figures/{p.name}" for p in (out / "figures").glob("*.png"))
    assert page.count("<figcaption>") == len(imgs) == md.count("*Figure ")
    for src, alt in imgs:
        assert len(alt) > 60 and ".png" not in alt and "_" not in alt.split(":")[0], (src, alt)
    assert "temperature" in dict((s, a) for s, a in imgs)["figures/fig8_traces.png"]
    body = re.sub(r"<ul>.*?</ul>", "", page, flags=re.S)
    assert "<li>" in page and "<li>" not in body, "every list item is inside a list"
    assert "`" not in re.sub(r"<[^>]+>", "", page), "Markdown code marks are rendered, not printed"
    assert "cold_T" not in md and "at the coldest T" in md
    assert "**A: " in md and "(A: " not in md
    from test_report import PRIVATE  # private module paths and internal document names

    assert not PRIVATE.search(page) and not PRIVATE.search(md)


def test_panels_error_bars_are_the_stored_intervals(toy_store):
    """Each panel has one error-bar set per B, with half-widths equal to the
    runs' stored 95% half-widths; a 20% wider interval does not match."""
    out, summary = toy_store
    recs = list(ResultsStore(out).records())
    fig = panels_figure(recs, summary)
    axes = fig.axes
    assert len(axes) == 3  # toy runs have no accuracies: the left column only
    B = record_column(recs, "batch")
    for ax, ((key, label), _) in zip(axes, PANELS):
        assert ax.get_ylabel() == label and ax.get_xscale() == "log"
        bars = [c for c in ax.containers if c.has_yerr]
        assert len(bars) >= 2  # one per B (steady and not-steady runs are drawn apart)
        drawn = np.sort(np.concatenate([_halfwidths(c) for c in bars]))
        want = np.sort(record_column(recs, key + "_ci95")[np.isfinite(record_column(recs, key))])
        np.testing.assert_allclose(drawn, want, rtol=1e-9)
        assert not np.allclose(drawn, 1.2 * want, rtol=1e-3)
        # the exact theory: one line per B through every run's stored value
        theory = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-" and len(ln.get_xdata()) == 4]
        assert len(theory) == len(np.unique(B))
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_T_opt_marked_only_where_B_holds(toy_store):
    out, summary = toy_store
    recs = list(ResultsStore(out).records())
    import matplotlib.pyplot as plt

    def vlines(holds):
        f = dict(summary, B={**summary["B"], "holds": holds, "T_opt": 0.05})
        fig = panels_figure(recs, f)
        n = sum(1 for ln in fig.axes[1].get_lines() if list(ln.get_xdata()) == [0.05, 0.05])
        plt.close(fig)
        return n

    assert vlines(True) == 1
    assert vlines("inconclusive") == 0 and vlines(False) == 0


def test_legend_is_outside_the_axes(toy_store):
    out, summary = toy_store
    fig = panels_figure(list(ResultsStore(out).records()), summary, title="t")
    fig.canvas.draw()
    leg = fig.legends[0].get_window_extent()
    for ax in fig.axes:
        box = ax.get_window_extent()
        assert leg.y1 <= box.y0 + 1 or leg.x1 <= box.x0 or leg.x0 >= box.x1  # below or beside, never on top
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_gapkit_figures_redraws_without_recomputing(toy_store, tmp_path, capsys):
    from gapkit.sims.cli import main

    out, _ = toy_store
    before = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    assert main(["figures", str(out), "--out", str(tmp_path / "re"), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert {p.split("/")[-1] for p in rep["figures"]} >= {"panels_sgd.png", "fig8_traces.png"}
    assert (tmp_path / "re" / "report.html").exists()
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")} == before
    assert main(["figures", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "store" in err[0]


def test_variants_scale_lr_and_share_rescaled_time():
    """paper-digits: every (T_eff, B) runs plain SGD, momentum (lr = lr_eff (1 - mu))
    and momentum + cosine with the same epochs; lr_eff x updates >= the spec's time."""
    pytest.importorskip("torch")
    spec = make_spec(None, preset="paper-digits", backend="torch")
    runs = build_runs(spec)
    labels = {variant_label(c) for c in runs}
    assert labels == {"sgd", "momentum 0.9", "momentum 0.9 + cosine"}
    by_point = {}
    for c in runs:
        by_point.setdefault((round(c["T_eff"], 12), c["batch"]), []).append(c)
    assert len(by_point) == len(spec.T_grid) * len(spec.batch_grid) and sorted(spec.batch_grid)[-1] == 4 * sorted(spec.batch_grid)[0]
    for (T_eff, B), cs in by_point.items():
        assert len(cs) == 3 and len({c["epochs"] for c in cs}) == 1
        for c in cs:
            assert math.isclose(c["lr"], T_eff * B * (1 - c["momentum"]), rel_tol=1e-10)
            assert math.isclose(c["T"], c["lr"] / B, rel_tol=1e-12)
        updates = cs[0]["epochs"] * math.ceil(1000 / B)
        assert T_eff * B * updates >= spec.time and cs[0]["epochs"] >= spec.min_epochs
    # a sweep without variants keeps its run configurations (and so its stored keys)
    plain = build_runs(make_spec("quadratic1d", preset="smoke"))
    assert all("T_eff" not in c for c in plain)


@pytest.mark.torch
def test_paper_digits_smoke_sweep_and_figures(tmp_path):
    """CI smoke of the preset (tiny override): records carry T_eff, the Hessian
    edge and the traces; findings per variant stored; every figure drawn."""
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from gapkit.sims.sweep._runner import run_sweep

    spec = make_spec(None, preset="paper-digits", backend="torch", T_grid=[0.012, 0.1], batch_grid=[64],
                     time=40.0, min_epochs=6,
                     model_kwargs={"n_train": 200, "n_test": 100, "window": 3, "max_epoch_factor": 1.5})
    s = run_sweep(spec, tmp_path, workers=1, progress=False, figures=True)
    assert s["runs_total"] == 6 and set(s["variants"]) == {"sgd", "momentum 0.9", "momentum 0.9 + cosine"}
    recs = list(ResultsStore(tmp_path).records())
    for r in recs:
        res = r["result"]
        assert res["stability_edge"] == pytest.approx(2 * (1 + r["config"]["momentum"]) / r["config"]["lr"])
        assert math.isfinite(res["hess_top"]) and res["T_eff"] == pytest.approx(r["config"]["T_eff"])
        tr = np.asarray(res["traces"]["trace_train"])
        assert tr.shape == (4, 1, res["epochs"] + 1)
        assert res["epochs"] == res["epochs_planned"] + res["extended_epochs"]
    assert "traces" not in (tmp_path / "runs.csv").read_text().splitlines()[0]
    names = {p.split("/")[-1] for p in s["figures"]}
    assert names == {"panels_sgd.png", "panels_momentum_0_9.png", "panels_momentum_0_9_cosine.png",
                     "collapse.png", "fig7_sigma.png", "fig8_traces.png", "edge.png"}
    fig = panels_figure([r for r in recs if variant_label(r["config"]) == "sgd"], s["variants"]["sgd"])
    assert len(fig.axes) == 6 and fig.axes[1].get_ylabel() == PANELS[0][1][1]
    assert all(any(c.has_yerr for c in ax.containers) for ax in fig.axes)
    import matplotlib.pyplot as plt

    plt.close(fig)


def _fake_cifar(root, n_per_file=8, seed=0):
    """CIFAR-10 python-pickle files (data_batch_1..5, test_batch) of random images, in the real layout."""
    import pickle

    rng = np.random.default_rng(seed)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {b"batch_label": name.encode(), b"labels": rng.integers(0, 10, n_per_file).tolist(),
             b"data": rng.integers(0, 256, (n_per_file, 3072), dtype=np.uint8),
             b"filenames": [f"{name}_{i}.png".encode() for i in range(n_per_file)]}
        with open(root / name, "wb") as fh:
            pickle.dump(d, fh, protocol=2)


@pytest.mark.torch
def test_cifar10_resnet_preset_on_fabricated_cifar_files(tmp_path):
    """The GPU preset's protocol (paper epochs N(T), raw T = lr / B for both
    variants, BatchNorm on the sequential path, augmentation, spike cut from
    B = 1000) and a CPU smoke run of it on fabricated CIFAR-format files."""
    pytest.importorskip("torch")
    from gapkit.gpu._run import run_point
    from gapkit.sims.stats._steady import paper_epochs

    spec = make_spec(None, preset="cifar10-resnet", backend="torch")
    runs = build_runs(spec)
    assert {variant_label(c) for c in runs} == {"momentum 0.9 + cosine", "sgd"}
    assert len(runs) == 2 * 5 * 5 and all("T_eff" not in c for c in runs)
    for c in runs:
        assert c["T"] == pytest.approx(c["lr"] / c["batch"]) and c["epochs"] == paper_epochs(c["T"])
    _fake_cifar(tmp_path)
    r = run_point({"preset": "cifar10-resnet", "data_root": str(tmp_path), "n_train": 24, "n_test": 12,
                   "model_kwargs": {"k": 2, "norm": "batch"}, "epochs": 2, "window": 2, "device": "cpu",
                   "lr": 0.05, "batch": 8, "threads": 1})
    assert r.config["path"] == "loop" and r.config["dataset"] == "cifar10" and r.config["cosine"] is True
    assert r.config["momentum"] == 0.9 and np.isfinite(r.summary.test_loss)
    assert r.arrays["trace_train"].shape == (2, 1, 3)


@pytest.mark.parametrize("lo, hi, most", [(1.95, 2.17, 12), (6e-2, 0.2, 12), (1e-3, 10.0, 5)])
def test_log_axes_of_fig7_and_fig8_read_as_plain_numbers(lo, hi, most):
    """Fig 7 and Fig 8's log axes label ticks 2, 0.05 (not 2 x 10^0); a wide
    range still labels only the decades, so the labels never crowd."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gapkit.sims.sweep._figures import _plain_log_labels

    fig, ax = plt.subplots()
    ax.plot([lo, hi], [lo, hi])
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_labels(ax)
    fig.canvas.draw()
    lo_v, hi_v = ax.get_ylim()
    ticks = [(t, lab.get_text()) for minor in (False, True)
             for t, lab in zip(ax.get_yticks(minor=minor), ax.get_yticklabels(minor=minor)) if lo_v <= t <= hi_v]
    labels = [text for _, text in ticks if text]
    assert labels and all(math.isclose(float(text), t, rel_tol=1e-6) for t, text in ticks if text), ticks
    assert len(labels) <= most, labels
    plt.close(fig)


def test_panel_legend_has_one_entry_per_B_and_one_for_open_markers(toy_store):
    """Runs not at steady state are drawn open and explained once in the
    legend (not once per B); with mu = 0 everywhere the axis reads T = lr / B
    even where the records carry T_eff."""
    import copy

    import matplotlib.pyplot as plt

    out, summary = toy_store
    recs = copy.deepcopy(list(ResultsStore(out).records()))
    for r in recs[::3]:
        r["result"]["steady"] = False
    for r in recs:
        r["result"]["T_eff"] = r["config"]["T"]
    fig = panels_figure(recs, summary)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    Bs = sorted({int(r["config"]["batch"]) for r in recs})
    assert [lab for lab in labels if lab.startswith("B=")] == [f"B={b}" for b in Bs]
    assert labels.count("open markers: not at steady state") == 1 and not any("not steady" in lab for lab in labels)
    assert all(ax.get_xlabel() == "T = lr / B" for ax in fig.axes)
    plt.close(fig)
