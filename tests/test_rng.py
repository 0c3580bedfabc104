"""Keyed random streams (sims/_rng.py): distribution, tails, independence.

Statistical checks use fixed seeds and either KS tests at alpha = 1e-6 or
4-standard-error bounds (two-sided false-failure rate ~6e-5 per check).
"""
import math

import numpy as np
import pytest
from scipy import stats

from gapkit.sims.engine import _rng as _rng
from gapkit.sims.engine._jit import jit


N = 400_000


@pytest.fixture(scope="module")
def z():
    return _rng.normals(12345, 4, N // 4).ravel()


def test_normal_moments(z):
    se = 1 / math.sqrt(z.size)
    assert abs(z.mean()) < 4 * se
    assert abs(z.var() - 1) < 4 * math.sqrt(2) * se
    assert abs(np.mean(z**3)) < 4 * math.sqrt(15) * se
    assert abs(np.mean(z**4) - 3) < 4 * math.sqrt(96) * se


def test_normal_ks_and_tail(z):
    assert stats.kstest(z, "norm").pvalue > 1e-6
    # the Ziggurat's tail (|z| > r) and wedges take separate code paths: check them on their own
    r = _rng._ZTAIL
    tail = np.abs(z) > r
    p = 2 * stats.norm.sf(r)
    assert abs(tail.mean() - p) < 4 * math.sqrt(p / z.size)
    assert stats.kstest(np.abs(z[tail]), stats.truncnorm(r, np.inf).cdf).pvalue > 1e-6
    mid = (np.abs(z) > 1.0) & (np.abs(z) < 2.0)
    assert stats.kstest(np.abs(z[mid]), stats.truncnorm(1.0, 2.0).cdf).pvalue > 1e-6


def test_wrong_normal_is_detected(z):
    # the KS test above can fail: a 5% scale error is rejected at the same alpha
    assert stats.kstest(1.05 * z[:200_000], "norm").pvalue < 1e-6


def test_uniform_ks():
    u = _rng.uniforms(7, 2, 200_000).ravel()
    assert u.min() >= 0 and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > 1e-6


def test_streams_independent():
    u = _rng.uniforms(99, 64, 20_000)
    c = np.corrcoef(u)[np.triu_indices(64, 1)]
    # pairwise correlations of independent streams: ~N(0, 1/N); 4 SE each (2016 pairs: use 5 SE)
    assert np.max(np.abs(c)) < 5 / math.sqrt(u.shape[1])
    # neighbouring keys and seeds give different sequences
    a = _rng.uniforms(99, 2, 8)
    b = _rng.uniforms(100, 2, 8)
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a, b)


def test_same_key_same_numbers():
    assert np.array_equal(_rng.normals(5, 3, 100), _rng.normals(5, 3, 100))


def test_index_pair_uniform():
    @jit
    def draw(n, count):
        s0, s1, s2, s3 = _rng.stream(np.uint64(3), np.uint64(_rng.TAG_CHAIN), 0, 0)
        out = np.zeros(n, dtype=np.int64)
        for _ in range(count):
            i, j, s0, s1, s2, s3 = _rng.index_pair(n, s0, s1, s2, s3)
            out[i] += 1
            out[j] += 1
        return out

    counts = draw(7, 100_000)
    assert counts.sum() == 200_000
    assert stats.chisquare(counts).pvalue > 1e-6


def test_seed_validation():
    with pytest.raises(ValueError, match="seed"):
        _rng.normals(-1, 1, 1)
