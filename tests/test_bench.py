"""`gapkit bench --quick`: JSON shape and ratios present (no timing assertions)."""
import json

import numpy as np
import pytest

from gapkit.sims.engine import _bench as _bench
from gapkit.sims.cli._main import main



def test_bench_quick_json(capsys):
    rc = main(["bench", "--quick", "--repeats", "1", "--json"])
    out, err = capsys.readouterr()
    assert rc == 0
    d = json.loads(out)
    names = [w["name"] for w in d["workloads"]]
    assert names == ["W1", "W2"]
    for w in d["workloads"]:
        assert w["throughput"] > 0 and w["ratio_vs_numpy"] > 0
        assert w["chain_steps"] == w["config"]["K"] * w["config"]["M"] * w["config"]["steps"]
        if d["c_reference"].startswith("C reference skipped"):
            assert w["ratio_vs_c"] is None
        else:
            assert w["ratio_vs_c"] > 0
    assert d["quick"] is True and d["threads"] >= 1


def test_numba_and_c_are_timed_in_paired_rounds_and_the_ratio_is_the_rounds_median():
    """`_time_paired` runs a, b, a, b, ... after one warm-up of each; `paired_ratio` is the median of the
    rounds' ratios, not the ratio of the medians (those differ when a slow spell hits one round)."""
    calls = []
    ta, tb = _bench._time_paired(lambda: calls.append("a"), lambda: calls.append("b"), 3)
    assert calls == ["a", "b"] * 4 and len(ta) == len(tb) == 3
    # per-round ratios t_ref / t_own: 2, 1, 3 -> 2; the ratio of the medians would read 10 / 10 = 1
    assert _bench.paired_ratio([2.0, 10.0, 30.0], [1.0, 10.0, 10.0]) == 2.0
    with pytest.raises(ValueError):
        _bench.paired_ratio([1.0, 2.0], [1.0])


@pytest.mark.xdist_group("symbolic-kernels")  # its models are tests/test_symbolic_sim.py's: compiled once
@pytest.mark.late  # after them (tests/conftest.py)
def test_symbolic_bench_records():
    """`gapkit bench --symbolic`: S1-S4 (quadratic and double well, SGD and Langevin), each with its ratio to
    the hand-written quad1d and its configuration (no timing assertions)."""
    from gapkit.sims.engine._symbolic import bench_vs_builtin

    recs = bench_vs_builtin(quick=True, repeats=1)
    assert [r["name"] for r in recs] == ["S1", "S2", "S3", "S4"]
    assert {r["config"]["model"] for r in recs} == {"quadratic", "double well"}
    for r in recs:
        assert r["ratio"] == r["symbolic"]["throughput"] / r["builtin"]["throughput"] > 0
        assert r["chain_steps"] == r["config"]["datasets"] * r["config"]["chains"] * r["config"]["steps"]
        assert r["config"]["algo"] in r["desc"] and "median of 1" in r["desc"]


def test_implementations_agree_on_w1():
    # the three implementations run the same chain law: their time-averaged train losses agree in mean
    w = {**_bench.WORKLOADS["W1"], **_bench.QUICK["W1"]}
    data = _bench._w1_data(w, 0)
    a = np.asarray(_bench._w1_numba(w, data, 0, 2)()).ravel()
    b = np.asarray(_bench._w1_numpy(w, data, 0, 2)()).ravel()
    se = np.hypot(a.std(), b.std()) / np.sqrt(a.size)
    assert abs(a.mean() - b.mean()) < 4 * se


def fake_bench(args):
    return {"backend": "fake", "quick": bool(args.quick), "repeats": args.repeats, "rate": 1.5}


def print_fake_bench(res):
    print(f"fake bench: {res['rate']} runs/s")


def test_bench_comes_from_the_backend_registry(capsys, monkeypatch):
    """`gapkit bench --backend B` runs B's registered benchmark and its printer;
    a backend without one is a one-line error (exit 2)."""
    from gapkit.sims import _backends
    from gapkit.sims._backends import Backend

    def run_point(config):  # never called
        raise AssertionError

    monkeypatch.setitem(_backends._REGISTRY, "fake-nobench", Backend(name="fake-nobench", run_point=run_point))
    monkeypatch.setitem(_backends._REGISTRY, "fake-bench", Backend(name="fake-bench", run_point=run_point,
                                                                     bench=fake_bench, print_bench=print_fake_bench))
    assert main(["bench", "--backend", "fake-nobench"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fake-nobench has no benchmark" in err[0]
    assert main(["bench", "--backend", "fake-bench", "--repeats", "4"]) == 0
    assert capsys.readouterr().out == "fake bench: 1.5 runs/s\n"
    assert main(["bench", "--backend", "fake-bench", "--quick", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"backend": "fake", "quick": True, "repeats": 3, "rate": 1.5}


def test_c_reference_matches_numba_on_w2(tmp_path):
    # W2's C reference uses the same keyed xoshiro256+ streams, index draws and Ziggurat
    # as the Numba kernel, so the two give the same parameters (up to -ffast-math rounding)
    lib, msg = _bench.compile_reference(str(tmp_path))
    if lib is None:
        pytest.skip(msg)
    w = {**_bench.WORKLOADS["W2"], **_bench.QUICK["W2"]}
    data = _bench._w2_data(w, 0)
    a = np.asarray(_bench._w2_numba(w, data, 0, 2)()).ravel()
    c = np.asarray(_bench._w2_c(w, data, 0, 2, lib)()).ravel()
    np.testing.assert_allclose(a, c, rtol=1e-9, atol=1e-12)


def test_loading_the_c_reference_keeps_ieee_subnormals(tmp_path):
    """The C reference is compiled with -ffast-math; linking with it would pull
    in crtfastmath.o and switch the whole process to flush-to-zero. The
    reference must not change this process's float semantics."""
    import numpy as np

    tiny = np.finfo(np.float64).smallest_subnormal
    lib, msg = _bench.compile_reference(str(tmp_path))
    if lib is None:
        pytest.skip(msg)
    assert np.float64(tiny) * np.float64(1.0) > 0.0
    assert np.float64(2.0**-1070) / np.float64(2.0) > 0.0


def test_torchsde_comparison_states_its_settings():
    pytest.importorskip("torch")
    pytest.importorskip("torchsde")
    from gapkit.gpu._bench import _torchsde_bench

    import statistics

    r = _torchsde_bench(3, 0, True)
    assert r["method"] == "euler" and r["dtype"] == "float64" and r["torchsde"] and r["threads"] >= 1
    assert "cache_size=None" in r["tuned_brownian"] and "default" in r["brownian"] and len(r["pairs"]) == 3
    # each ratio is the median of the paired repeats' own ratios; each rate the median of its side
    for key, side in (("numba_over_torchsde", "torchsde"), ("numba_over_tuned", "tuned")):
        assert r[key] == statistics.median(q["numba"] / q[side] for q in r["pairs"])
    assert r["numba_chain_steps_per_s"] == statistics.median(q["numba"] for q in r["pairs"])
    assert r["torchsde_chain_steps_per_s"] == statistics.median(q["torchsde"] for q in r["pairs"])


def test_torchsde_comparison_is_skipped_without_torchsde(monkeypatch):
    pytest.importorskip("torch")
    import importlib.util

    from gapkit.gpu import _bench as gb

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torchsde" else real(name, *a))
    assert gb._torchsde_bench(1, 0, True) is None
