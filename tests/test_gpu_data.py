"""Data of the torch backend (gapkit.gpu._data): loaders with no download,
the paper's two data-set draw schemes, the CIFAR-10 pickle reader on a
fabricated file, augmentation."""
from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from gapkit.gpu._data import draw_split, load_cifar10, load_dataset, load_digits, load_mnist1d

pytestmark = pytest.mark.torch


def test_split_scheme_is_disjoint_and_seeded():
    tr, te = draw_split(100, 60, 30, scheme="split", seed=3)
    assert len(tr) == 60 and len(te) == 30 and not set(tr) & set(te)
    tr2, te2 = draw_split(100, 60, 30, scheme="split", seed=3)
    assert np.array_equal(tr, tr2) and np.array_equal(te, te2)
    assert not np.array_equal(tr, draw_split(100, 60, 30, scheme="split", seed=4)[0])


def test_sample_scheme_draws_train_and_test_independently():
    # with n_train = n_test = 60 of 100, independent draws overlap in 36 points on average
    overlaps = [len(set(a) & set(b)) for a, b in (draw_split(100, 60, 60, scheme="sample", seed=s) for s in range(200))]
    assert np.mean(overlaps) == pytest.approx(36.0, abs=4 * np.std(overlaps) / np.sqrt(200))
    tr, _ = draw_split(100, 60, 60, scheme="sample", seed=0)
    assert len(set(tr)) == 60  # without replacement within a side


@pytest.mark.parametrize("kw,match", [
    (dict(n_pool=10, n_train=8, n_test=5, scheme="split"), "n_train \\+ n_test"),
    (dict(n_pool=10, n_train=11, n_test=5, scheme="sample"), "n_train"),
    (dict(n_pool=10, n_train=5, n_test=5, scheme="bootstrap"), "scheme"),
])
def test_draw_split_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        draw_split(kw.pop("n_pool"), kw.pop("n_train"), kw.pop("n_test"), seed=0, **kw)


def test_mnist1d_generated_locally_seeded_without_touching_global_state():
    np_state, py_state = np.random.get_state(), random.getstate()
    X, y = load_mnist1d(200, seed=5)  # the generator seeds numpy/python globally; the loader restores them
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(np_state, after)) and random.getstate() == py_state
    assert X.shape == (200, 1, 40) and y.shape == (200,) and set(np.unique(y)) == set(range(10))
    X2, _ = load_mnist1d(200, seed=5)
    assert np.array_equal(X, X2)
    assert not np.array_equal(X, load_mnist1d(200, seed=6)[0])


def test_digits():
    X, y = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.min() >= 0 and X.max() <= 1 and y.max() == 9


def _fake_cifar(root, per_file=3):
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {b"data": rng.integers(0, 256, (per_file, 3072), dtype=np.uint8),
             b"labels": list(rng.integers(0, 10, per_file)), b"batch_label": name.encode()}
        with open(root / name, "wb") as fh:
            pickle.dump(d, fh)


def test_cifar10_reader_on_fabricated_files(tmp_path):
    _fake_cifar(tmp_path)
    X, y = load_cifar10(tmp_path, normalize=False)
    assert X.shape == (18, 3, 32, 32) and y.shape == (18,)
    with open(tmp_path / "data_batch_1", "rb") as fh:
        raw = pickle.load(fh, encoding="bytes")
    # row layout of the format: 1024 red, 1024 green, 1024 blue values, row-major
    assert X[0, 1, 0, 5] == pytest.approx(raw[b"data"][0, 1024 + 5] / 255.0)
    Xn, _ = load_dataset("cifar10", root=tmp_path)
    assert Xn.shape == X.shape and abs(Xn.mean()) < abs(X.mean())


def test_cifar10_missing_paths_are_named(tmp_path):
    with pytest.raises(ValueError, match="not found: .*nowhere"):
        load_cifar10(tmp_path / "nowhere")
    _fake_cifar(tmp_path)
    (tmp_path / "test_batch").unlink()
    with pytest.raises(ValueError, match="test_batch"):
        load_cifar10(tmp_path)
    with pytest.raises(ValueError, match="cifar10 needs a local directory"):
        load_dataset("cifar10")
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_dataset("imagenet")


def test_augmentation_shapes_and_content():
    torch = pytest.importorskip("torch")
    from gapkit.gpu._device import torch_generator
    from gapkit.gpu._train import _augment

    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float64).reshape(2, 3, 8, 8)
    a = _augment(x, torch_generator(0))
    assert a.shape == x.shape
    # every output pixel is zero padding or an input pixel of the same image/channel
    for i in range(2):
        vals = set(x[i].flatten().tolist()) | {0.0}
        assert set(a[i].flatten().tolist()) <= vals
    s = torch.arange(40, dtype=torch.float64).reshape(1, 1, 40) + 1
    b = _augment(s, torch_generator(1))
    nz = b[0, 0][b[0, 0] != 0]
    assert torch.all(nz[1:] - nz[:-1] == 1)  # a shift keeps the signal's order


# ---------------------------------------------------------------- crafted CIFAR files (issue 12)
class _Payload:
    """Unpickling this runs `fn(*args)`: the classic pickle code-execution attack."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


class _Custom:  # any class outside the format: refused even when harmless
    pass


def _payloads(marker):
    import builtins
    import os
    import subprocess

    touch = f"__import__('pathlib').Path({str(marker)!r}).write_text('pwned')"
    return {
        "os.system": _Payload(os.system, f"touch {marker}"),
        "builtins.exec": _Payload(builtins.exec, touch),
        "builtins.eval": _Payload(builtins.eval, touch),
        "subprocess.call": _Payload(subprocess.call, ["touch", str(marker)]),
        "custom class": _Custom(),
    }


_PAYLOAD_NAMES = ("os.system", "builtins.exec", "builtins.eval", "subprocess.call", "custom class")
_PLACES = ("whole file", "data entry", "inside labels", "extra key")


def _malicious_batch(payload, place, rng):
    d = {b"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8), b"labels": [1, 2, 3], b"batch_label": b"x"}
    if place == "whole file":
        return payload
    if place == "data entry":
        d[b"data"] = payload
    elif place == "inside labels":
        d[b"labels"] = [1, payload, 3]
    else:
        d[b"filenames"] = [b"a.png", payload]
    return d


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("place", _PLACES)
@pytest.mark.parametrize("name", _PAYLOAD_NAMES)
def test_a_crafted_cifar_file_never_runs_code(tmp_path, name, place, protocol):
    """Every payload, wherever it sits in the batch, is refused with an error
    naming the file, and the payload (which would create `marker`) never ran."""
    marker = tmp_path / "marker"
    _fake_cifar(tmp_path)
    rng = np.random.default_rng(1)
    with open(tmp_path / "data_batch_3", "wb") as fh:
        pickle.dump(_malicious_batch(_payloads(marker)[name], place, rng), fh, protocol=protocol)
    with pytest.raises(ValueError, match="data_batch_3 is not a CIFAR-10 python-pickle batch") as exc:
        load_cifar10(tmp_path)
    assert exc.value.param == "data_root"
    assert not marker.exists()


def test_the_restricted_reader_would_fail_without_the_allow_list(tmp_path, monkeypatch):
    """The payload test can fail: with plain pickle.load the payload runs."""
    marker = tmp_path / "marker"
    payload = _payloads(marker)["builtins.exec"]
    with open(tmp_path / "evil", "wb") as fh:
        pickle.dump(payload, fh)
    with open(tmp_path / "evil", "rb") as fh:
        pickle.load(fh)
    assert marker.exists()


@pytest.mark.parametrize("entry,value,why", [
    (b"data", np.zeros((3, 3072), dtype=np.float64), "uint8"),
    (b"data", np.zeros((3, 100), dtype=np.uint8), "3072"),
    (b"data", np.array([[None] * 3072] * 3, dtype=object), "uint8"),
    (b"labels", [1, 2], "labels"),
    (b"labels", [1, 2, 99], "labels"),
    (b"labels", "abc", "labels"),
])
def test_a_malformed_cifar_batch_is_named(tmp_path, entry, value, why):
    _fake_cifar(tmp_path)
    rng = np.random.default_rng(2)
    d = _malicious_batch(None, "extra key", rng)
    d[b"filenames"] = [b"a.png"]
    d[entry] = value
    with open(tmp_path / "test_batch", "wb") as fh:
        pickle.dump(d, fh)
    with pytest.raises(ValueError, match=f"test_batch is not a CIFAR-10.*{why}"):
        load_cifar10(tmp_path)


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", b"\x80\x04\x95"])
def test_a_truncated_or_garbage_cifar_file_is_named(tmp_path, content):
    _fake_cifar(tmp_path)
    (tmp_path / "data_batch_1").write_bytes(content)
    with pytest.raises(ValueError, match="data_batch_1 is not a CIFAR-10"):
        load_cifar10(tmp_path)


@pytest.mark.parametrize("how", ["--data-root", "--set"])
def test_a_sweep_on_a_crafted_cifar_dir_stops_with_one_line(tmp_path, capsys, how):
    """Through the command line (both ways of naming the folder): exit 2, one
    line naming the file, the payload never ran."""
    from gapkit.sims.cli._main import main

    marker = tmp_path / "marker"
    data = tmp_path / "cifar"
    data.mkdir()
    _fake_cifar(data)
    with open(data / "data_batch_2", "wb") as fh:
        pickle.dump(_malicious_batch(_payloads(marker)["os.system"], "extra key", np.random.default_rng(3)), fh)
    where = ["--data-root", str(data)] if how == "--data-root" else ["--set", f"data_root={data}"]
    rc = main(["sweep", "--backend", "torch", "--model", "mlp", "--dataset", "cifar10", *where, "--T-grid", "0.1",
               "--batch-grid", "8", "--workers", "1", "--no-figures", "--out", str(tmp_path / "out")])
    err = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("sweep: ")]
    assert rc == 2 and len(err) == 1 and "data_batch_2 is not a CIFAR-10" in err[0], err
    assert not marker.exists()


# ---- label noise (Fu et al.'s experiments): gapkit.gpu._data.flip_labels / noisy_training_pool

def test_flipped_fraction_is_binomial_and_flips_change_the_label():
    from gapkit.gpu._data import flip_labels

    n, p, C = 20000, 0.2, 10
    y = np.random.default_rng(1).integers(0, C, n)
    noisy, flip = flip_labels(y, p, C, seed=7)
    se = np.sqrt(p * (1 - p) / n)  # standard error of the flipped fraction, Binomial(n, p) / n
    assert abs(flip.mean() - p) < 4 * se
    assert np.all(noisy[flip] != y[flip]) and np.all(noisy[~flip] == y[~flip])
    # the replacement class is uniform over the C - 1 others: each offset's share within 4 SE of 1/(C-1)
    off = ((noisy - y) % C)[flip]
    q, m = 1 / (C - 1), flip.sum()
    shares = np.bincount(off, minlength=C)[1:] / m
    assert np.all(np.abs(shares - q) < 4 * np.sqrt(q * (1 - q) / m))
    again, _ = flip_labels(y, p, C, seed=7)
    assert np.array_equal(again, noisy)


def test_noisy_pool_one_copy_per_draw_test_rows_keep_true_labels():
    from gapkit.gpu._data import noisy_training_pool

    X = np.arange(60, dtype=np.float64).reshape(30, 2)
    y = np.arange(30) % 3
    sets = np.array([[0, 1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 8]])
    X2, y2, sets2, origin = noisy_training_pool(X, y, sets, 0.5, seed=11)
    assert X2.shape == (30 + 12, 2) and np.array_equal(y2[:30], y)  # original rows (test rows) untouched
    assert np.array_equal(origin[sets2], sets) and np.array_equal(X2[sets2], X[sets])
    assert np.any(y2[sets2] != y[sets])
    # the same root seed gives the same noise; draw k's noise depends on (seed, k) only
    _, y3, s3, _ = noisy_training_pool(X, y, sets[:1], 0.5, seed=11)
    assert np.array_equal(y3[s3[0]], y2[sets2[0]])
    _, y4, s4, _ = noisy_training_pool(X, y, sets, 0.5, seed=12)
    assert not np.array_equal(y4[s4], y2[sets2])
    Xz, yz, sz, oz = noisy_training_pool(X, y, sets, 0.0, seed=11)
    assert Xz is X and np.array_equal(sz, sets) and np.array_equal(oz, np.arange(30))


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan"), "a"])
def test_label_noise_out_of_range_is_refused_by_name(p):
    from gapkit.gpu._data import flip_labels, noisy_training_pool
    from gapkit.gpu._run import normalize_config
    from gapkit.theory._validate import ArgumentError

    for call in (lambda: flip_labels([0, 1], p, 2, seed=0),
                 lambda: noisy_training_pool(np.zeros((2, 1)), np.array([0, 1]), [[0]], p, seed=0),
                 lambda: normalize_config({"label_noise": p})):
        with pytest.raises(ArgumentError, match="label_noise") as e:
            call()
        assert e.value.param == "label_noise"


def test_run_point_trains_on_noisy_labels_and_records_the_fraction():
    from gapkit.gpu._run import run_point

    cfg = {"dataset": "digits", "model": "mlp", "model_kwargs": {"hidden": [8]}, "n_train": 200, "n_test": 100,
           "datasets": 2, "seeds": 2, "epochs": 1, "batch": 50, "lr": 0.1, "seed": 3, "window": 1}
    clean = run_point(cfg)
    noisy = run_point({**cfg, "label_noise": 0.5})
    assert clean.config["label_noise"] == 0.0 and noisy.config["label_noise"] == 0.5
    # test losses at initialisation (same seeds, same init) agree; the training ones see other labels
    assert np.allclose(clean.arrays["trace_test"][..., 0], noisy.arrays["trace_test"][..., 0])
    assert not np.allclose(clean.arrays["trace_train"][..., 0], noisy.arrays["trace_train"][..., 0])


def test_a_bad_label_noise_stops_a_sweep_before_any_run(tmp_path):
    from gapkit.gpu import _plugin
    from gapkit.sims.sweep._spec import make_spec
    from gapkit.theory._validate import ArgumentError

    _plugin._preflight(make_spec(None, preset="smoke", backend="torch", model_kwargs={"label_noise": 0.3}))
    with pytest.raises(ArgumentError, match="label_noise"):
        _plugin._preflight(make_spec(None, preset="smoke", backend="torch", model_kwargs={"label_noise": 1.0}))
