"""Scoring of indicators against the gap, and `gapkit score` end to end."""
from __future__ import annotations

import json
import math

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
    g = sc.granulated_tau(b.astype(float), gap, hyper)
    assert g["per_axis"]["batch"] == pytest.approx(1.0)
    assert math.isnan(g["per_axis"]["lr"])
    assert g["granulated"] == pytest.approx(1.0)
    g2 = sc.granulated_tau(-lr, gap, hyper)
    assert g2["per_axis"]["lr"] == pytest.approx(1.0)


def test_cmi_planted_and_random():
    rng = np.random.default_rng(1)
    lr, b, seed, gap = _grid(rng, noise=0.01)
    hyper = {"lr": lr, "batch": b, "seed": seed}
    assert sc.cmi_score(np.exp(gap), gap, hyper)["cmi"] == pytest.approx(1.0, abs=1e-12)
    assert sc.cmi_score(-gap, gap, hyper)["cmi"] == pytest.approx(1.0, abs=1e-12)  # MI ignores direction
    assert set(sc.cmi_score(-gap, gap, hyper)["per_condition"]) == {"lr,batch", "lr,seed", "batch,seed"}
    # A random indicator: small, but the plug-in MI is biased upwards in small
    # groups (2 runs per group gives I = H exactly), so score on groups of 6 runs.
    r = sc.cmi_score(rng.random(gap.size), gap, {"lr": lr, "batch": b})
    assert 0.0 <= r["cmi"] < 0.15
    # one axis: unconditional MI / H
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
