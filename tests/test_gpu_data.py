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
