"""Random-feature ridge regression: mean kernel, infinite-width limit, finite width."""
from __future__ import annotations

import math

import numpy as np
import pytest

from gapkit.theory import _rfridge as rf


@pytest.mark.parametrize("kind", rf.RF_KINDS)
def test_feature_kernel_matches_mean_kernel(kind):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3))
    P = 40000
    Phi, _ = rf.random_features(X, P, kind=kind, seed=1)
    K = rf.mean_kernel(X, X, kind=kind)
    terms = P * Phi[:, None, :] * Phi[None, :, :]
    se = terms.std(axis=2, ddof=1) / math.sqrt(P)
    # 5 SE per entry (21 distinct entries; family-wise false-FAIL ~1e-5)
    assert np.all(np.abs(Phi @ Phi.T - K) <= 5 * se)
    assert not np.all(np.abs(Phi @ Phi.T - 1.2 * K) <= 5 * se)  # a 20% wrong kernel is caught


def test_mean_kernel_closed_values():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.0]])
    K = rf.mean_kernel(x, x, kind="relu")
    # diagonal ||x||^2 / 2; orthogonal: ||x|| ||y|| / (2 pi); opposite: 0
    np.testing.assert_allclose(np.diag(K), [0.5, 2.0, 0.5], rtol=1e-14)
    assert K[0, 1] == pytest.approx(2.0 / (2 * math.pi), rel=1e-14)
    assert K[0, 2] == pytest.approx(0.0, abs=1e-15)
    G = rf.mean_kernel(x, x, kind="cos", ell=2.0)
    assert G[0, 2] == pytest.approx(math.exp(-4 / 8), rel=1e-14)
    assert np.all(np.linalg.eigvalsh(G) > 0)


def test_wide_features_approach_kernel_ridge_and_deviation_scales_like_one_over_P():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((25, 2))
    y = np.sin(2 * X[:, 0])
    Xt = rng.standard_normal((15, 2))
    fw = rf.finite_width_deviation(X, y, Xt, [50, 200, 800], ridge=1e-2, kind="cos", reps=12, seed=4)
    assert np.all(np.diff(fw["deviation"]) < 0)
    assert -1.4 < fw["slope"] < -0.7  # 1/P (measured, not a claim about Kim's correction)
    np.testing.assert_allclose(fw["deviation"], fw["bias2"] + fw["variance"] * (11 / 12), rtol=1e-10)
    fK = rf.kernel_ridge_predict(X, y, Xt, ridge=1e-2, kind="cos")
    np.testing.assert_allclose(fw["kernel_prediction"], fK)
    # kernel ridge equals the readout solved in feature space (push-through identity)
    Phi, feat = rf.random_features(X, 30, kind="relu", seed=2)
    a = np.linalg.solve(Phi.T @ Phi + 25 * 1e-2 * np.eye(30), Phi.T @ y)
    np.testing.assert_allclose(rf.rf_ridge_predict(X, y, Xt, 30, ridge=1e-2, kind="relu", seed=2), feat(Xt) @ a,
                               rtol=1e-9, atol=1e-12)


def test_seeded_and_validated():
    X = np.ones((3, 2))
    a = rf.random_features(X, 5, seed=7)[0]
    b = rf.random_features(X, 5, seed=7)[0]
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="kind"):
        rf.mean_kernel(X, X, kind="tanh")
    with pytest.raises(ValueError, match="P"):
        rf.random_features(X, 0)
    with pytest.raises(ValueError, match="ridge"):
        rf.kernel_ridge_predict(X, np.ones(3), X, ridge=0.0)
    with pytest.raises(ValueError, match="reps"):
        rf.finite_width_deviation(X, np.ones(3), X, [5], ridge=1.0, reps=1)
