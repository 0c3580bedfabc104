"""Scoring of indicators against the gap, and `gapkit score` end to end."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gapkit.sims.indicators import _scoring as sc
from gapkit.sims.cli._main import main


def test_kendall_tau_known_and_degenerate():
    gap = np.arange(10.0)
    ind = gap.copy()
    ind[[2, 3]] = ind[[3, 2]]
    assert sc.kendall_tau(ind, gap) == pytest.approx(1 - 4 / 90, abs=1e-12)
    assert sc.kendall_tau(-gap, gap) == pytest.approx(-1.0)
    assert math.isnan(sc.kendall_tau(np.ones(5), np.arange(5.0)))
    assert sc.kendall_tau([1.0, np.nan, 2.0, 3.0], [1.0, 5.0, 2.0, 3.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same length"):
        sc.kendall_tau([1.0, 2.0], [1.0])


def _grid(rng, noise=0.0):
    lr, b, seed = np.meshgrid([0.01, 0.02, 0.05, 0.1], [1, 4, 16], [0, 1], indexing="ij")
    lr, b, seed = lr.ravel(), b.ravel(), seed.ravel()
    gap = 1.0 / (1.0 + 100 * lr / b) + noise * rng.standard_normal(lr.size)
    return lr, b, seed, gap


def test_granulated_tau_per_axis():
    rng = np.random.default_rng(0)
    lr, b, _, gap = _grid(rng)
    hyper = {"lr": lr, "batch": b}
    # indicator = batch only: perfectly concordant along batch, constant (tau nan) along lr
    # (two seeds per point tie the indicator and the gap: tau-a = 12 / 15 per lr group, tau-b = 1)
    g = sc.granulated_tau(b.astype(float), gap, hyper)
    assert g["per_axis"]["batch"] == pytest.approx(0.8)
    assert math.isnan(g["per_axis"]["lr"])
    assert g["granulated"] == pytest.approx(0.8)
    assert sc.granulated_tau(b.astype(float), gap, hyper, variant="b")["granulated"] == pytest.approx(1.0)
    g2 = sc.granulated_tau(-lr, gap, hyper)
    assert g2["per_axis"]["lr"] == pytest.approx(24 / 28)  # 8 runs per batch group, 4 tied seed pairs
    assert sc.granulated_tau(-lr, gap, hyper, variant="b")["per_axis"]["lr"] == pytest.approx(1.0)


def test_cmi_planted_and_random():
    rng = np.random.default_rng(1)
    lr, b, seed, gap = _grid(rng, noise=0.01)
    hyper = {"lr": lr, "batch": b, "seed": seed}
    assert sc.cmi_score(np.exp(gap), gap, hyper)["cmi"] == pytest.approx(1.0, abs=1e-12)
    assert set(sc.cmi_score(-gap, gap, hyper)["per_condition"]) == {"lr,batch", "lr,seed", "batch,seed"}
    # PGDL counts (i, i) pairs and ties as "not greater": -gap is not a perfect score there,
    # while the shared-values variant (pairs i != j only) ignores direction
    assert sc.cmi_score(-gap, gap, hyper)["cmi"] < 0.5
    assert sc.cmi_shared_score(-gap, gap, hyper)["cmi"] == pytest.approx(1.0, abs=1e-12)
    assert sc.cmi_shared_score(np.exp(gap), gap, hyper)["cmi"] == pytest.approx(1.0, abs=1e-12)
    # A random indicator: small, but the plug-in MI is biased upwards in small
    # groups (2 runs per group gives I = H exactly), so score on groups of 6 runs.
    r = sc.cmi_shared_score(rng.random(gap.size), gap, {"lr": lr, "batch": b})
    assert 0.0 <= r["cmi"] < 0.15
    # one axis: unconditional MI / H
    assert sc.cmi_shared_score(np.exp(gap), gap, {"lr": lr})["cmi"] == pytest.approx(1.0)
    assert sc.cmi_score(np.exp(gap), gap, {"lr": lr})["cmi"] == pytest.approx(1.0)


def test_bound_tightness():
    gap = np.array([1.0, 2.0, 4.0, -1.0])
    out = sc.bound_tightness([2.0, 4.0, 3.0, 0.0], gap)
    assert out["holds"] == pytest.approx(0.75)
    assert out["looseness"] == pytest.approx(2.0)
    assert out["runs"] == 4
    inf = sc.bound_tightness([np.inf, np.nan, 1.0], [1.0, 1.0, 2.0])
    assert inf["holds"] == pytest.approx(0.5) and inf["runs"] == 2


def _write_runs(tmp_path, n_seeds=3):
    rng = np.random.default_rng(5)
    rows = []
    for lr in (0.01, 0.02, 0.05, 0.1, 0.2):
        for batch in (1, 2, 8, 32):
            for seed in range(n_seeds):
                T = lr / batch
                gap = 0.2 / (1 + 50 * T) + 0.002 * rng.standard_normal()
                rows.append({"model": "quadratic1d", "lr": lr, "batch": batch, "T": T, "seed": seed, "gap": gap,
                             "gap_ci95": 0.01, "ind_planted": 3 * gap + 1, "ind_random": rng.random(),
                             "ind_status": "ok", "bound_loose": 2 * abs(gap) + 0.01,
                             "ind_bound_prefixed": abs(gap) / 2})
    df = pd.DataFrame(rows)
    d = tmp_path / "res"
    d.mkdir()
    df.to_csv(d / "runs.csv", index=False)
    return d, len(df)


def test_cmd_score_end_to_end(tmp_path, capsys):
    d, n = _write_runs(tmp_path)
    out = tmp_path / "out"
    assert main(["score", str(d), "--out", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    byname = {r["name"]: r for r in res["indicators"]}
    assert byname["planted"]["kendall_tau"] == pytest.approx(1.0)
    assert byname["planted"]["granulated_tau"] == pytest.approx(1.0)
    assert byname["planted"]["cmi"] == pytest.approx(1.0)
    # null distribution of tau-b: SE = sqrt(2 (2n + 5) / (9 n (n - 1))); 4 SE (false-FAIL ~6e-5)
    se = math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))
    assert abs(byname["random"]["kendall_tau"]) < 4 * se
    assert res["baseline"]["name"] == "T" and res["baseline"]["kendall_tau"] < -0.8
    bounds = {r["name"]: r for r in res["bounds"]}
    assert bounds["loose"]["holds"] == pytest.approx(1.0) and bounds["loose"]["looseness"] > 2.0
    assert bounds["prefixed"]["looseness"] == pytest.approx(0.5, rel=0.05)  # ind_bound_* is a bound too
    assert "bound_prefixed" not in byname and "prefixed" not in byname
    assert set(res["axes"]) == {"lr", "batch"}
    for f in ("score.csv", "score.md", "score_scatter.png", "score_ranking.png"):
        assert (out / f).stat().st_size > 0
    table = pd.read_csv(out / "score.csv")
    assert table["kind"].iloc[0] == "baseline"
    assert main(["score", str(d)]) == 0
    text = capsys.readouterr().out
    assert "T (baseline)" in text and text.index("T (baseline)") < text.index("planted")


def test_cmd_score_errors(tmp_path, capsys):
    assert main(["score", str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
    assert main(["score", str(tmp_path)]) == 2
    assert "runs.csv" in capsys.readouterr().err
    pd.DataFrame({"lr": [0.1], "batch": [1]}).to_csv(tmp_path / "runs.csv", index=False)
    assert main(["score", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'gap'" in err and len(err.strip().splitlines()) == 1
    d, _ = _write_runs(tmp_path)
    assert main(["score", str(d), "--axes", "lr,nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_kendall_tau_a_counts_ties_and_b_does_not():
    """Jiang et al. 2019 Eq 3 (tau-a): (1 / (N (N - 1))) sum over ordered pairs of sign x sign,
    by brute force; tau-b (scipy) divides by the untied pairs instead."""
    import scipy.stats

    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, 15).astype(float)  # few distinct values, like T on a grid
    y = x + rng.random(15)
    brute = np.sum(np.sign(x[:, None] - x[None, :]) * np.sign(y[:, None] - y[None, :])) / (15 * 14)
    assert sc.kendall_tau(x, y) == pytest.approx(brute, abs=1e-12)
    assert sc.kendall_tau(x, y, variant="b") == pytest.approx(scipy.stats.kendalltau(x, y).statistic, abs=1e-12)
    assert sc.kendall_tau(x, y, variant="b") > sc.kendall_tau(x, y) * 1.2  # ties: tau-b is larger here
    with pytest.raises(ValueError, match="variant"):
        sc.kendall_tau(x, y, variant="c")


def test_kendall_permutation_p_value_level_and_power():
    """Under independence the permutation p-value is uniform: over 200 independent null data
    sets P(p <= 0.05) <= 0.05 (binomial 99.9% bound: <= 21 of 200); a planted relation gets
    p = 1 / 1000 (the smallest possible)."""
    rng = np.random.default_rng(4)
    ps = [sc.kendall_test(rng.random(12), rng.random(12), permutations=199, seed=k)["p_value"] for k in range(200)]
    assert sum(p <= 0.05 for p in ps) <= 21
    planted = sc.kendall_test(np.arange(20.0), np.arange(20.0) + rng.random(20))
    assert planted["p_value"] == pytest.approx(1 / 1000) and planted["tau"] > 0.8
    big = sc.kendall_test(np.arange(300.0), rng.random(300))
    assert big["p_method"].startswith("normal") and 0 <= big["p_value"] <= 1


def test_cmi_follows_pgdl_conditioning_on_both_runs_values():
    """PGDL bins a pair (i, j) by the hyperparameter values of both runs. Brute force on a small
    grid: one cell per (lr_i, lr_j, b_i, b_j), unweighted means over cells."""
    rng = np.random.default_rng(6)
    lr, b, seed, gap = _grid(rng, noise=0.05)
    ind = gap + 0.05 * rng.standard_normal(gap.size)
    cells: dict = {}
    for i in range(gap.size):
        for j in range(gap.size):
            cells.setdefault((lr[i], lr[j], b[i], b[j]), []).append((gap[i] > gap[j], ind[i] > ind[j]))
    mis, hs = [], []
    for pairs in cells.values():
        t = np.zeros((2, 2))
        for g, m in pairs:
            t[int(g), int(m)] += 1
        p = t / t.sum()
        pg, pm = p.sum(1), p.sum(0)
        mis.append(sum(p[u, v] * math.log(p[u, v] / (pg[u] * pm[v])) for u in range(2) for v in range(2) if p[u, v]))
        hs.append(-sum(q * math.log(q) for q in pg if q > 0))
    want = np.mean(mis) / np.mean(hs)
    got = sc.cmi_score(ind, gap, {"lr": lr, "batch": b})
    assert got["cmi"] == pytest.approx(want, rel=1e-12)
    assert abs(sc.cmi_shared_score(ind, gap, {"lr": lr, "batch": b})["cmi"] - want) > 0.01  # the old reading differs


def test_score_figures_say_what_they_show(tmp_path, monkeypatch, capsys):
    """The scatter panel of T is on a log axis with plain tick labels, every
    panel names tau-a (a constant indicator: "no tau"), and both figures have titles."""
    import matplotlib.figure

    seen = {}

    def capture(fig, path, *a, **k):
        seen[Path(path).name] = ([ax.get_title() for ax in fig.axes], [ax.get_xscale() for ax in fig.axes],
                                 fig._suptitle.get_text() if fig._suptitle else "",
                                 [t.get_text() for t in fig.axes[0].get_legend().get_texts()] if fig.axes[0].get_legend() else [])

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", capture)
    d, _ = _write_runs(tmp_path)
    assert main(["score", str(d), "--out", str(tmp_path / "out")]) == 0
    titles, scales, sup, _ = seen["score_scatter.png"]
    assert scales[0] == "log" and titles[0].startswith("tau-a = ") and "against T and each indicator" in sup
    assert all(t.startswith("tau-a = ") or t == "no tau (constant)" for t in titles if t)
    rtitles, _, _, legend = seen["score_ranking.png"]
    assert "Rank correlation" in rtitles[0] and "Kendall tau-a" in legend
