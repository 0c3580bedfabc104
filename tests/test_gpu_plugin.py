"""Hooks of the torch backend (gapkit.gpu._plugin): the `models` command, the
sweep point (a tiny sweep end to end), the cross-backend check, the bench."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from gapkit.sims.verify._registry import CheckContext, run_checks, select_checks
from gapkit.sims.cli._main import main

torch = pytest.importorskip("torch")

from gapkit.gpu import _plugin  # noqa: E402
from gapkit.gpu._models import PAPER_RESNET_PARAMS, PreActResNet18, count_params  # noqa: E402

pytestmark = pytest.mark.torch


def test_models_json_lists_resnet_k32_with_paper_count(capsys):
    assert main(["models", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    names = {m["name"] for m in out["models"]}
    assert {"linear", "mlp", "cnn", "resnet18"} <= names
    for m in out["models"]:
        assert set(m) >= {"name", "kwargs", "params", "input_shape"}
    r32 = [m for m in out["models"] if m["name"] == "resnet18" and m["kwargs"].get("k") == 32]
    assert r32 and all(m["params"] == PAPER_RESNET_PARAMS for m in r32)


def test_resnet_param_count_explained():
    assert count_params(PreActResNet18(k=32)) == 2_796_202
    assert count_params(PreActResNet18(k=32, norm="batch")) == 2_796_202
    assert count_params(PreActResNet18(k=32, final_norm=True)) == 2_796_202 + 512  # the resnet18k final norm


def test_gapkit_imports_no_torch_until_needed():
    code = ("import sys; from gapkit.sims.cli._main import build_parser; build_parser(); "
            "import gapkit.gpu; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_torch_message(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(ValueError, match=r'pip install -e "\.\[gpu\]"'):
        _plugin.sweep_point({"preset": "smoke"})


def test_cuda_request_without_cuda_is_one_line_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(ValueError, match="--device cuda"):
        _plugin.sweep_point({"preset": "smoke", "device": "cuda"})


def test_sweep_point_smoke_preset():
    from gapkit.sims.stats._results import RunResult, Summary

    r = _plugin.sweep_point({"preset": "smoke", "seed": 3})
    assert isinstance(r, RunResult) and isinstance(r.summary, Summary)
    s, c, ex = r.summary, r.config, r.summary.extras
    for k in ("acc_gap", "acc_gap_ci95", "test_acc", "train_acc", "equilibrated", "equilibrated_method", "sigma_l",
              "fdr1", "dist_init"):
        assert k in ex, k
    assert "wall_seconds" in r.timings and "wall_seconds" in r.record()
    assert c["T"] == pytest.approx(c["lr"] / c["batch"])
    assert c["dtype"] == "float32" and c["device"] == "cpu" and s.diverged == 0
    assert np.isfinite(s.gap) and s.gap == pytest.approx(s.test_loss - s.train_loss, rel=1e-9)
    a = r.arrays
    assert a["trace_train"].shape == (2, 1, 5) and a["gap"].shape == (2, 1)
    assert s.gap == pytest.approx(float(a["gap"].mean()), rel=1e-12)          # per run -> data average
    assert ex["acc_gap"] == pytest.approx(float(a["acc_gap"].mean()), rel=1e-12)
    # 4 epochs are too few for the verdict's drift test (8 records): not steady, not a pass
    assert ex["equilibrated"] is False and "drift_z" not in ex
    again = _plugin.sweep_point({"preset": "smoke", "seed": 3})
    assert again.summary.gap == s.gap  # same seed, same numbers


def test_sweep_point_settings_in_model_kwargs_and_other_model():
    """Settings ride in model_kwargs (the sweep runner's only free field); a model
    other than the preset's drops the preset's model kwargs."""
    r = _plugin.sweep_point({"model": "cnn", "epochs": 2, "model_kwargs": {"preset": "smoke", "width": 4, "n_train": 60},
                             "data_mean": 0.0})
    c = r.config
    assert c["model"] == "cnn" and c["model_kwargs"] == {"width": 4} and c["n"] == 60
    assert c["ignored_keys"] == "data_mean"


@pytest.mark.parametrize("bad,match", [
    ({"lr": -1.0}, "lr"), ({"scheme": "bootstrap"}, "scheme"), ({"colour": 1}, "unknown"),
    ({"algo": "langevin"}, "algo"), ({"T": 99.0}, "T must equal"), ({"preset": "nope"}, "preset"),
])
def test_sweep_point_rejects_bad_config(bad, match):
    with pytest.raises(ValueError, match=match):
        _plugin.sweep_point({"preset": "smoke", **bad})


def test_tiny_torch_sweep_end_to_end(tmp_path, capsys):
    """`gapkit torch-sweep` (smoke preset, 2 grid points): the sweep runner of
    sims/_sweep.py drives sweep_point through the results store, and resumes."""
    argv = ["torch-sweep", "--out", str(tmp_path), "--workers", "1", "--no-figures", "--json", "--lr-grid", "0.1,0.2"]
    assert main(argv) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["runs_total"] == 2 and s["runs_computed"] == 2
    assert (tmp_path / "runs.csv").is_file()
    assert main(argv) == 0
    s2 = json.loads(capsys.readouterr().out)
    assert s2["runs_reused"] == 2 and s2["runs_computed"] == 0


def test_torch_sweep_spec_carries_point_settings():
    spec = _plugin.torch_sweep_spec("mnist1d-cpu")
    # issue 5: at least 48 runs at steady state; the preset runs 72 so that enough pass the drift test
    assert spec.backend == "torch" and len(spec.points()) * spec.seeds == 72
    assert spec.model_kwargs == {"preset": "mnist1d-cpu"} and spec.alpha == 1e-2
    with pytest.raises(ValueError, match="preset"):
        _plugin.torch_sweep_spec("imagenet")


def test_cross_backend_check_passes_and_fails_with_wrong_theory():
    specs = select_checks(["cross_backend"])
    assert any("cross_backend.linreg.torch" in s.ids for s in specs)
    from test_catalogue_all import judged_twice

    rows, bad, _ = judged_twice(specs, prefixes=["cross_backend"])  # one run, judged right and wrong
    judged = [r for r in rows if r.verdict != "INFO"]
    assert len(judged) >= 4 and all(r.verdict == "PASS" for r in judged), [(r.id, r.note) for r in rows]
    assert all(r.verdict == "FAIL" for r in bad if r.verdict != "INFO")


def test_realnet_findings_small():
    """The --full provider of INFO findings on MNIST-1D, at its seconds-long size."""
    rows = run_checks(select_checks(["realnet"], quick=False), CheckContext(seed=0, quick=True), prefixes=["realnet"])
    ids = {r.id for r in rows}
    assert {"realnet.predA.mnist1d", "realnet.predB.mnist1d", "realnet.predC.mnist1d", "realnet.fig07.mnist1d",
            "realnet.eq01_accgap.mnist1d", "realnet.collapse_momentum.mnist1d"} <= ids
    assert all(r.verdict == "INFO" for r in rows), [(r.id, r.note) for r in rows if r.verdict != "INFO"]
    assert not any(s.ids == ("realnet.",) for s in select_checks(["realnet"], quick=True))  # not in the quick catalogue
    by_id = {r.id: r for r in rows}
    a = by_id["realnet.predA.mnist1d"]
    assert "K=2 draws per run (95% intervals on t_1)" in a.note and "paired draws" in a.note
    # 6 epochs: no run passes the equilibration verdict, so no A/B/C verdict is printed (main printed them)
    assert "0/4 runs pass the equilibration verdict" in a.note
    for key in ("A", "B", "C"):
        note = by_id[f"realnet.pred{key}.mnist1d"].note
        assert ": not judged (0 temperature(s)" in note and "not judged (not judged" not in note
    for name in ("sgd", "momentum", "momentum_cosine"):
        note = by_id[f"realnet.collapse_{name}.mnist1d"].note
        assert "|z| < 2" not in note and ("TOST" in note or "not judged" in note)


def test_bench_runs_small_on_cpu():
    import statistics

    r = _plugin.bench({"device": "cpu", "members": 4, "steps": 2, "resnet_steps": 1, "repeats": 3, "threads": 1,
                       "quick": True})
    e = r["ensemble"]
    assert e["vmap"]["samples_per_s"] > 0 and e["loop"]["samples_per_s"] > 0 and e["speedup"] > 0
    # the speed-up is the median of the paired repeats' ratios, not the ratio of the two medians
    assert len(e["pair_speedups"]) == 3 == e["vmap"]["repeats"] == e["loop"]["repeats"]
    assert e["speedup"] == statistics.median(e["pair_speedups"])
    assert r["resnet"]["float32"]["config"]["params"] == PAPER_RESNET_PARAMS


@pytest.mark.gpu
def test_bench_reports_peak_fraction_on_cuda():
    r = _plugin.bench({"device": "cuda", "members": 8, "steps": 5, "resnet_steps": 2, "repeats": 1})
    assert r["resnet"]["bf16"]["achieved_tflops"] > 0


def test_bench_torch_prints_a_readable_summary(capsys):
    from gapkit.sims.cli._main import main

    assert main(["bench", "--backend", "torch", "--quick", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "samples/s" in out and "resnet18" in out


def test_torch_backend_registers_through_its_entry_point_without_importing_torch():
    code = ("import sys; from gapkit.sims._backends import get_backend; b = get_backend('torch'); "
            "print(b.name, b.run_length, b.presets, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "torch epochs ('smoke', 'mnist1d-indicators', 'mnist1d-train-longer', 'mnist1d-cpu', 'paper-digits', 'cifar10-resnet') False" and out.stderr == ""


def test_torch_presets_have_one_home():
    """The sweep preset (grid, replicates, epoch rule, weight decay) is read
    from gapkit.gpu._run.PRESETS, the dict the sweep point reads too."""
    from gapkit.gpu._run import PRESETS

    for name in ("smoke", "mnist1d-cpu", "paper-digits", "cifar10-resnet"):
        p, spec = PRESETS[name], _plugin.torch_sweep_spec(name)
        grid = "T_grid" if "T_grid" in p["sweep"] else "lr_grid"
        assert getattr(spec, grid) == p["sweep"][grid] and spec.batch_grid == p["sweep"]["batch_grid"]
        assert (spec.seeds, spec.ref_epochs, spec.T_ref) == (p["sweep"]["seeds"], p["epochs_ref"], p["T_ref"])
        assert spec.model == p["model"] and spec.alpha == p.get("alpha", 0.0)
        assert spec.variants == p["sweep"].get("variants")


def _parsed(argv):
    from gapkit.sims.cli._main import build_parser

    parser, table = build_parser()
    return parser.parse_args(argv)


def test_torch_sweep_is_an_alias_of_sweep(tmp_path):
    """Same options; `torch-sweep` = `sweep --backend torch --device cpu --dtype
    float32 --model <the preset's>`: the same runs, keys and seeds included."""
    from gapkit.sims.cli._main import build_parser
    from gapkit.sims.cli._sweep import _spec
    from gapkit.sims.sweep._spec import build_runs

    parser, _ = build_parser()
    subs = next(a for a in parser._actions if a.dest == "command").choices
    opts = {name: sorted(o for a in subs[name]._actions for o in a.option_strings) for name in ("sweep", "torch-sweep")}
    assert opts["sweep"] == opts["torch-sweep"] and "--device" in opts["sweep"]
    out = str(tmp_path)
    alias = build_runs(_spec(_parsed(["torch-sweep", "--preset", "mnist1d-cpu", "--seeds", "1", "--out", out])))
    full = build_runs(_spec(_parsed(["sweep", "--backend", "torch", "--model", "mlp", "--preset", "mnist1d-cpu",
                                     "--device", "cpu", "--dtype", "float32", "--seeds", "1", "--out", out])))
    assert alias == full and len(alias) == 12
    assert alias[0]["model_kwargs"] == {"device": "cpu", "dtype": "float32", "preset": "mnist1d-cpu"}
    plain = build_runs(_spec(_parsed(["sweep", "--backend", "torch", "--model", "mlp", "--preset", "mnist1d-cpu",
                                      "--seeds", "1", "--out", out])))
    assert plain[0]["model_kwargs"] == {"preset": "mnist1d-cpu"} and plain[0]["seed"] != alias[0]["seed"]


def test_torch_sweep_spec_takes_model_kwargs_with_device():
    """model_kwargs given by the caller are kept, device/dtype added to them
    (it raised TypeError: multiple values for model_kwargs)."""
    pytest.importorskip("torch")
    from gapkit.gpu._plugin import torch_sweep_spec

    spec = torch_sweep_spec("smoke", model_kwargs={"n_train": 64}, device="cpu")
    assert spec.model_kwargs["n_train"] == 64 and spec.model_kwargs["device"] == "cpu"


def test_rescaled_rule_keeps_equal_time_at_each_T_when_the_epoch_floor_binds():
    """paper-digits: every run at one T (both batch sizes, every variant) has
    the same rescaled time lr_eff x updates up to one epoch of the coarser
    run, also at the hot end where the 200-epoch floor sets the length (the
    collapse's pairing rule, `_same_rescaled_time`). The rule without
    `rescaled_time` (each run max(time, floor) on its own) breaks it there:
    30720 vs 30240 at T_eff = 0.15, more than one epoch (151)."""
    import math

    from gapkit.sims.stats._fit import _same_rescaled_time
    from gapkit.sims.sweep._spec import build_runs, rescaled_time

    spec = _plugin.torch_sweep_spec("paper-digits")
    runs = build_runs(spec)
    n = spec.model_kwargs.get("n_train", spec.n)

    def rec(r, epochs):
        lam = r["lr"] / (1.0 - r["momentum"])
        q = math.ceil(n / r["batch"])
        return {"lam_eff": lam, "time_quantum": q, "rescaled_time": lam * q * epochs, "rescaled_burnin": 0.0}

    by_T = {}
    for r in runs:
        by_T.setdefault(round(r["T_eff"], 9), []).append(r)
    assert len(by_T) == len(spec.T_grid) and all(len(v) == 6 for v in by_T.values())
    floor_bound = 0
    for T, rs in by_T.items():
        assert all(r["epochs"] >= spec.min_epochs for r in rs)
        assert all(_same_rescaled_time(rec(a, a["epochs"]), rec(b, b["epochs"])) for a in rs for b in rs), T
        assert all(rec(r, r["epochs"])["rescaled_time"] >= rescaled_time(T, spec) - 1e-6 for r in rs)
        old = [max(spec.min_epochs, math.ceil(math.ceil((spec.burn_time + spec.time) / (r["lr"] / (1 - r["momentum"])))
                                              / math.ceil(n / r["batch"]))) for r in rs]
        if any(e == spec.min_epochs for e in old):
            floor_bound += 1
            assert not all(_same_rescaled_time(rec(a, ea), rec(b, eb)) for a, ea in zip(rs, old) for b, eb in zip(rs, old)), T
    assert floor_bound >= 1  # the hot end is floor-bound, so the old rule's failure is exercised
