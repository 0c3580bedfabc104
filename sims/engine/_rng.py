"""Keyed random streams for the Numba simulators.

Why not numpy Generators: the simulators run up to ~10^5-10^6 chains in
parallel blocks; spawning one ``numpy.random.Generator`` per chain is far too slow,
and calling a shared one from threads makes results depend on the schedule.
Instead every (purpose, data set, chain) triple owns a xoshiro256+ stream
whose 256-bit state is a pure function of the key:

    h = splitmix64(seed ^ TAG[purpose]); h = splitmix64(h ^ (k * C1)); h = splitmix64(h ^ (m * C2))
    state = four successive splitmix64 outputs from h

so a block of chains run on any thread (one data set, one chain each) computes its own state from
its indices: same seed => same numbers whatever NUMBA_NUM_THREADS is.

Normals come from a 256-layer Ziggurat (Marsaglia & Tsang 2000) driven by one
64-bit draw per normal on the fast path (~99%): bits 0-7 pick the layer, bits
11-63 read as a signed integer give sign and magnitude, so the layer index and
the value use disjoint bits (the correlation Doornik 2005 found in the 32-bit version cannot
arise). Minibatch indices use the two 32-bit halves of one draw, multiply-shift
(``(u32 * n) >> 32``, bias < n / 2^32 per index; callers keep n < 2^20).

All functions pass the state as four uint64 scalars and return the new state,
so it lives in registers inside the kernels.
"""
from __future__ import annotations

import math

import numpy as np
from ._jit import jit

__all__ = [
    "TAG_CHAIN",
    "TAG_DATA",
    "TAG_POOL",
    "TAG_INIT",
    "stream",
    "next_u64",
    "uniform01",
    "std_normal",
    "index_pair",
    "normal_fast",
    "normal_slow",
    "normals",
    "uniforms",
    "seed64",
]

# Purposes of streams: distinct tags keep data, pool and chain streams apart.
TAG_CHAIN = 0x243F6A8885A308D3
TAG_DATA = 0x13198A2E03707344
TAG_POOL = 0xA4093822299F31D0
TAG_INIT = 0x082EFA98EC4E6C89

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_C1 = np.uint64(0xD1B54A32D192ED03)
_C2 = np.uint64(0xABC98388FB8FAC03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S11 = np.uint64(11)
_S17 = np.uint64(17)
_S27 = np.uint64(27)
_S30 = np.uint64(30)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
_S45 = np.uint64(45)
_S19 = np.uint64(19)
_S8 = np.uint64(8)
_I11 = np.int64(11)
_MASK8 = np.uint64(0xFF)
_MASK32 = np.uint64(0xFFFFFFFF)
_ONE = np.uint64(1)
_TWO53 = 1.0 / 9007199254740992.0  # 2^-53


# ------------------------------------------------------------------ Ziggurat
def _ziggurat_tables(nlayers: int = 256):
    """Layer edges x_i and densities f(x_i) = exp(-x_i^2/2) of the 256-layer
    normal Ziggurat: x_1 = r, f(x_{i+1}) = f(x_i) + v / x_i, x_0 = v / f(r)
    (the base layer's equivalent width), x_256 = 0; every layer has area v."""
    r = 3.6541528853610088
    v = 0.00492867323399
    f = lambda x: math.exp(-0.5 * x * x)  # noqa: E731
    x = np.zeros(nlayers + 1)
    x[0] = v / f(r)
    x[1] = r
    for i in range(1, nlayers - 1):
        x[i + 1] = math.sqrt(-2.0 * math.log(f(x[i]) + v / x[i]))
    x[nlayers] = 0.0
    fx = np.exp(-0.5 * x * x)
    ratio = x[1:] / x[:-1]
    # the top 53 bits as a signed integer j in [-2^52, 2^52) (sign included: no
    # unpredictable branch); fast path iff |j| < k_i, then x = j w_i, w_i = x_i 2^-52
    kint = np.floor(ratio * 2.0**52).astype(np.int64)
    w = x[:-1] * 2.0**-52
    return x, fx, ratio, kint, w, r


_ZX, _ZF, _ZR, _ZK, _ZW, _ZTAIL = _ziggurat_tables()


@jit
def _splitmix(z):
    z = z + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit
def stream(seed, tag, k, m):
    """xoshiro256+ state of the stream keyed by (seed, purpose tag, k, m)."""
    h = _splitmix(np.uint64(seed) ^ np.uint64(tag))
    h = _splitmix(h ^ (np.uint64(k) * _C1))
    h = _splitmix(h ^ (np.uint64(m) * _C2))
    s0 = _splitmix(h)
    s1 = _splitmix(s0)
    s2 = _splitmix(s1)
    s3 = _splitmix(s2)
    if (s0 | s1 | s2 | s3) == np.uint64(0):  # the one forbidden state
        s0 = _ONE
    return s0, s1, s2, s3


@jit
def next_u64(s0, s1, s2, s3):
    """One xoshiro256+ step (Blackman & Vigna): (output, new state)."""
    out = s0 + s3
    t = s1 << _S17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << _S45) | (s3 >> _S19)
    return out, s0, s1, s2, s3


@jit
def uniform01(s0, s1, s2, s3):
    """Uniform on [0, 1) from the top 53 bits (xoshiro256+'s weak low bits unused)."""
    u, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    return float(u >> _S11) * _TWO53, s0, s1, s2, s3


@jit
def index_pair(n, s0, s1, s2, s3):
    """Two independent indices uniform on {0..n-1} from one draw (multiply-shift
    on each 32-bit half; bias < n / 2^32 per index)."""
    u, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    nn = np.uint64(n)
    i = ((u >> _S32) * nn) >> _S32
    j = ((u & _MASK32) * nn) >> _S32
    return np.int64(i), np.int64(j), s0, s1, s2, s3


@jit
def std_normal(s0, s1, s2, s3):
    """A standard normal by the 256-layer Ziggurat (see module docstring).

    Only the fast path (~99% of draws) is here, so the compiler inlines it into
    the kernels' loops; rejections go to `normal_slow`."""
    u, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    z, ok = normal_fast(u)
    if ok:
        return z, s0, s1, s2, s3
    return normal_slow(u, s0, s1, s2, s3)


@jit
def normal_fast(u):
    """The Ziggurat's fast path on the draw u: (x, accepted). Bits 0-7 pick the layer,
    bits 11-63 read as a signed integer j give sign and magnitude; accepted iff |j| < k_i."""
    i = u & _MASK8
    j = np.int64(u) >> _I11  # arithmetic shift: signed 53-bit integer
    return float(j) * _ZW[i], abs(j) < _ZK[i]


@jit
def normal_slow(u, s0, s1, s2, s3):
    """Wedges and tail of the Ziggurat for the draw u that missed the fast path;
    on rejection, whole new draws until one is accepted."""
    while True:
        i = u & _MASK8
        j = np.int64(u) >> _I11
        x = float(j) * _ZW[i]
        if abs(j) < _ZK[i]:
            return x, s0, s1, s2, s3
        sign = 1.0 if j >= 0 else -1.0
        if i == np.uint64(0):
            # tail beyond r (Marsaglia 1964): x = -log(U1)/r, accept if -2 log(U2) > x^2
            while True:
                a, s0, s1, s2, s3 = uniform01(s0, s1, s2, s3)
                b, s0, s1, s2, s3 = uniform01(s0, s1, s2, s3)
                xt = -math.log1p(-a) / _ZTAIL
                yt = -math.log1p(-b)
                if 2.0 * yt > xt * xt:
                    return sign * (_ZTAIL + xt), s0, s1, s2, s3
        # wedge between layer i's box and the curve
        w, s0, s1, s2, s3 = uniform01(s0, s1, s2, s3)
        if _ZF[i + 1] + w * (_ZF[i] - _ZF[i + 1]) < math.exp(-0.5 * x * x):
            return x, s0, s1, s2, s3
        u, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)


# ------------------------------------------------------------------ bulk helpers (tests, data)
@jit
def _normals(seed, tag, nstreams, per):
    out = np.empty((nstreams, per))
    for k in range(nstreams):
        s0, s1, s2, s3 = stream(seed, tag, k, np.int64(0))
        for j in range(per):
            z, s0, s1, s2, s3 = std_normal(s0, s1, s2, s3)
            out[k, j] = z
    return out


@jit
def _uniforms(seed, tag, nstreams, per):
    out = np.empty((nstreams, per))
    for k in range(nstreams):
        s0, s1, s2, s3 = stream(seed, tag, k, np.int64(0))
        for j in range(per):
            u, s0, s1, s2, s3 = uniform01(s0, s1, s2, s3)
            out[k, j] = u
    return out


def normals(seed: int, nstreams: int, per: int, *, tag: int = TAG_CHAIN) -> np.ndarray:
    """(nstreams, per) standard normals; row k is stream (seed, tag, k, 0)."""
    return _normals(np.uint64(seed64(seed)), np.uint64(tag), int(nstreams), int(per))


def uniforms(seed: int, nstreams: int, per: int, *, tag: int = TAG_CHAIN) -> np.ndarray:
    """(nstreams, per) uniforms on [0, 1); row k is stream (seed, tag, k, 0)."""
    return _uniforms(np.uint64(seed64(seed)), np.uint64(tag), int(nstreams), int(per))


def seed64(seed) -> int:
    """A user seed (any Python int >= 0) folded to 64 bits."""
    from gapkit.theory._validate import check_int

    s = check_int("seed", seed, 0)
    return s & 0xFFFFFFFFFFFFFFFF
