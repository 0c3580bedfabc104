"""Your own network and data in the torch sweep (gpu/_user.py): a user module by "package.module:Class"
and an .npz pool through a smoke sweep (API and CLI); in-memory registrations; bad inputs refused."""
from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gapkit.gpu import _plugin, _user  # noqa: E402
from gapkit.sims.cli._main import main  # noqa: E402
from gapkit.theory import ArgumentError  # noqa: E402

pytestmark = pytest.mark.torch

USER_MODULE = """
import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self, input_shape, num_classes, hidden=8):
        super().__init__()
        d = 1
        for s in input_shape:
            d *= s
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(d, hidden), nn.Tanh(), nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.net(x)


class WithBN(nn.Module):
    def __init__(self, input_shape, num_classes):
        super().__init__()
        self.bn = nn.BatchNorm1d(input_shape[0])
        self.fc = nn.Linear(input_shape[0] * input_shape[1], num_classes)

    def forward(self, x):
        return self.fc(self.bn(x).flatten(1))
"""
POINT = {"epochs": 2, "window": 1, "n_train": 40, "n_test": 40, "batch": 8, "lr": 0.1, "datasets": 2, "seeds": 1,
         "threads": 1}


@pytest.fixture
def user_files(tmp_path, monkeypatch):
    (tmp_path / "gk_user_mod.py").write_text(textwrap.dedent(USER_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 6))
    y = (X[:, 0] + 0.3 * rng.standard_normal(120) > 0).astype(np.int64)
    path = tmp_path / "pool.npz"
    np.savez(path, X=X, y=y)
    yield path
    sys.modules.pop("gk_user_mod", None)


def test_user_module_and_npz_through_a_sweep_point(user_files):
    r = _plugin.sweep_point({**POINT, "model": "gk_user_mod:TinyNet", "dataset": str(user_files),
                             "model_kwargs": {"hidden": 5}})
    assert r.config["model"] == "gk_user_mod:TinyNet" and r.config["model_kwargs"] == {"hidden": 5}
    assert r.config["n_params"] == 6 * 5 + 5 + 5 * 2 + 2 and r.config["path"] != "loop"
    assert np.isfinite(r.summary.gap) and r.summary.diverged == 0


def test_batchnorm_module_takes_the_sequential_path(user_files):
    r = _plugin.sweep_point({**POINT, "model": "gk_user_mod:WithBN", "dataset": str(user_files)})
    assert r.config["path"] == "loop" and np.isfinite(r.summary.gap)


def test_in_memory_tensors_and_model_class(user_files):
    import gk_user_mod

    rng = np.random.default_rng(1)
    X = torch.as_tensor(rng.standard_normal((100, 1, 4)))
    y = torch.as_tensor((rng.random(100) < 0.5).astype(np.int64))
    data = _user.register_data(X, y, name="toy")
    model = _user.register_model(gk_user_mod.TinyNet)
    r = _plugin.sweep_point({**POINT, "model": model, "dataset": data})
    assert r.config["dataset"] == "mem:toy" and np.isfinite(r.summary.gap)


def test_cli_sweep_with_user_module_and_npz(user_files, tmp_path, capsys):
    argv = ["sweep", "--backend", "torch", "--model", "gk_user_mod:TinyNet", "--dataset", str(user_files),
            "--set", "hidden=4", "--set", "n_train=40", "--set", "n_test=40",
            "--set", "window=1", "--lr-grid", "0.1", "--batch-grid", "8", "--seeds", "1", "--datasets", "2",
            "--out", str(tmp_path / "store"), "--workers", "1", "--no-figures", "--json"]
    assert main(argv) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["runs_total"] == 1 and s["runs_computed"] == 1


@pytest.mark.parametrize("spec", ["os.system", "gk_user_mod:Missing", "no_such_mod_xyz:Net", "a b:C"])
def test_bad_model_names_are_one_line_errors(user_files, spec):
    with pytest.raises(ArgumentError) as e:
        _user.build_user_model(spec if ":" in spec else spec + ":x", (1, 6), 2)
    assert e.value.param == "model"


def test_npz_that_needs_pickle_or_lacks_arrays_is_refused(tmp_path):
    bad = tmp_path / "obj.npz"
    np.savez(bad, X=np.array([{"a": 1}, {"b": 2}], dtype=object), y=np.array([0, 1]))
    with pytest.raises(ArgumentError, match="plain-array"):
        _user.load_user_data(str(bad))
    nolab = tmp_path / "nolab.npz"
    np.savez(nolab, X=np.zeros((4, 2)))
    with pytest.raises(ArgumentError, match="missing"):
        _user.load_user_data(str(nolab))
    frac = tmp_path / "frac.npz"
    np.savez(frac, X=np.zeros((4, 2)), y=np.array([0.5, 1, 0, 1]))
    with pytest.raises(ArgumentError, match="integer class labels"):
        _user.load_user_data(str(frac))
