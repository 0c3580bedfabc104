"""simulate(model=SymbolicModel) (sims/engine/_symbolic.py): the compiled chain == the built-in kernel on
the quadratic; a double well against its Fokker-Planck steady state; validation, divergence, JSON.

Equality: the generic kernel makes the same draws as quad1d and the same arithmetic up to its order, so
states and losses agree to a few ulps of O(1) numbers: tolerance 1e-12 absolute (measured <= 2e-15).

Fokker-Planck: M independent chains on one data set; each chain's post-burn-in time average of U_l is
one draw, so se = std / sqrt(M) over chains (independent streams) and the check is |sim - FP| <= 4 se
(false-failure rate ~6e-5 if se is right and the biases are small). Biases, both below 1 se: Euler-
Maruyama's O(lam dt) = 0.004 in the stationary law (relative ~1e-3) and the grid's O(h^2) (~1e-5).
A 20% wrong temperature in the Fokker-Planck reference moves it by > 10 se: the check fails then.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from gapkit.sims import simulate
from gapkit.testing import assert_within_se
from gapkit.theory import ArgumentError
from gapkit.theory._symbolic import SymbolicModel, quadratic_model

t, x = sp.symbols("t x", real=True)

# one worker runs the module (and the symbolic bench, tests/test_bench.py): a model compiled for one test is
# reused by the next that builds the same one (`_symbolic._by_source`), instead of compiled on both workers
pytestmark = pytest.mark.xdist_group("symbolic-kernels")


@pytest.fixture(scope="module")
def quad():
    return quadratic_model(1.0)


def _well():
    return SymbolicModel((t**2 - 1) ** 2 / 4 + (x * t + 1) ** 2 / 4, [t], [x], name="double well")


@pytest.fixture(scope="module")
def shared():
    """shared(make, kind): one model object per (maker, kind) for the module. `compiled` keeps a model object's
    kernels (one for sgd and momentum, one for Langevin), so the cases below compile each kernel once instead of
    once per case (issue 15: the module's time was compilation). kind "generic" objects are only ever run with the
    per-model kernel switched off (the tests assert it), "per-model" ones never."""
    cache: dict = {}
    return lambda make, kind: cache.setdefault((make, kind), make())


@pytest.mark.late  # runs the hand-written quad1d kernel: by then on disk from the other worker (conftest.py)
@pytest.mark.parametrize("algo,kw", [("sgd", dict(batch=3, beta=0.3)), ("momentum", dict(momentum=0.5, batch=2)),
                                     ("langevin", dict(beta=0.2, dt=0.5))], ids=["sgd", "momentum", "langevin"])
def test_compiled_chain_equals_builtin_quadratic1d(quad, algo, kw):
    common = dict(algo=algo, n=8, lr=0.1, datasets=5, chains=2, seed=3, steps=300, record_every=10, **kw)
    ref = simulate(model="quadratic1d", **common)
    got = simulate(model=quad, loss_stride=1, test_size=8, **common)
    for key in ("theta_final", "trace_theta", "train", "trace_train"):
        assert np.abs(got.arrays[key] - ref.arrays[key]).max() <= 1e-12, key
    assert got.config["burnin"] == ref.config["burnin"] and got.config["model"].startswith("symbolic:")
    json.dumps(got.to_json())


@pytest.mark.late  # the hand-written quad1d kernel (see above)
def test_a_different_chain_is_told_apart(quad):
    """The equality check can fail: another seed's chain differs at O(1)."""
    common = dict(algo="sgd", n=8, lr=0.1, datasets=5, chains=2, steps=300)
    a = simulate(model="quadratic1d", seed=3, **common)
    b = simulate(model=quad, seed=4, loss_stride=1, test_size=8, **common)
    assert np.abs(a.arrays["theta_final"] - b.arrays["theta_final"]).max() > 1e-2


def test_bad_options_and_divergence(quad):
    with pytest.raises(ArgumentError) as e:
        simulate(model=quad, algo="sgd", n=4, lr=0.1, colour=1)
    assert e.value.param == "model_kwargs"
    with pytest.raises(ArgumentError) as e:
        simulate(model=quad, algo="sgd", n=4, lr=0.1, dim=3)
    assert e.value.param == "dim"
    with pytest.raises(ArgumentError) as e:
        simulate(model=quad, algo="sgd", n=4, lr=-1.0)
    assert e.value.param == "lr"
    r = simulate(model=quad, algo="sgd", n=4, lr=2.5, datasets=3, chains=2, steps=2000, test_size=4)
    assert r.arrays["diverged"].all() and np.isnan(r.arrays["train"]).all()


def test_double_well_matches_fokker_planck(shared):
    """A loss no built-in model has (double well, theta-dependent gradient noise): the Langevin chains'
    stationary train loss on one data set equals the Eq 47 steady state's (module docstring)."""
    well = shared(_well, "per-model")
    lr, dt, beta = 0.5, 0.008, 0.5
    r = simulate(model=well, algo="langevin", n=6, lr=lr, dt=dt, beta=beta, datasets=1, chains=100, steps=50_000,
                 burnin=10_000, seed=1, test_size=64)
    X = r.problem.X[0]
    fp = well.fokker_planck(X, T=lr, lam=lr, beta=beta, bounds=[(-3.5, 3.5)], n_cells=700)
    c = fp.centers[0][:, None]
    h = fp.h[0]
    tr = r.arrays["train"][0]
    se = float(tr.std(ddof=1) / np.sqrt(tr.size))
    src = f"std over {tr.size} independent chains / sqrt({tr.size})"

    def fp_train(T):
        f = fp if T == lr else well.fokker_planck(X, T=T, lam=lr, beta=beta, bounds=[(-3.5, 3.5)], n_cells=700)
        return float((f.rho * well.fields(c, X)["U"]).sum() * h)

    assert_within_se(float(tr.mean()), se, fp_train(lr), k=4, source=src)
    with pytest.raises(AssertionError):
        assert_within_se(float(tr.mean()), se, fp_train(1.2 * lr), k=4, source=src)


# ---------------------------------------------------------------- the per-model kernel (sims/engine/_symgen.py)
# `compiled` prints a chain loop for each model (scalar coordinates; a separable gradient summed by its data
# coefficients; Langevin's D and the losses from per-data-set moments) and falls back to the generic kernel
# where that does not apply. Both make the same draws; they differ only in summation order, so the chains
# agree to a few ulps of O(1) numbers: tolerance 1e-12 absolute (measured <= 1e-15 on all cases below).
def _softplus():  # no separable gradient: the printed gradient inlined (minibatch), the generic kernel (Langevin)
    return SymbolicModel(sp.log(1 + sp.exp(x * t)) + t**2 / 2, [t], [x], name="softplus")


def _linreg2():  # two parameters, two inputs and a label: the unrolled 2x2 Cholesky of D(theta)
    from gapkit.theory._symbolic import linreg_model

    return linreg_model(2)


@pytest.mark.parametrize("make", [_well, _softplus, _linreg2], ids=["double-well", "softplus", "linreg-2d"])
@pytest.mark.parametrize("algo,kw", [("sgd", dict(batch=3, beta=0.3)), ("momentum", dict(momentum=0.5, batch=2)),
                                     ("langevin", dict(beta=0.2, dt=0.5))], ids=["sgd", "momentum", "langevin"])
def test_per_model_kernel_equals_generic_kernel(make, algo, kw, monkeypatch, shared):
    from gapkit.sims.engine import _symbolic

    common = dict(algo=algo, n=8, lr=0.1, datasets=5, chains=2, seed=3, steps=300, record_every=10, loss_stride=1,
                  test_size=8, **kw)
    model = shared(make, "per-model")
    got = simulate(model=model, **common)
    kind = _symbolic.compiled(model, langevin=algo == "langevin").__qualname__
    assert kind.startswith("_specialised") == (make is not _softplus or algo != "langevin"), kind
    monkeypatch.setattr(_symbolic, "_specialised", lambda *a, **k: None)
    generic = shared(make, "generic")
    ref = simulate(model=generic, **common)
    assert not _symbolic.compiled(generic, langevin=algo == "langevin").__qualname__.startswith("_specialised")
    for key in ("theta_final", "trace_theta", "train", "trace_train", "test"):
        assert np.abs(got.arrays[key] - ref.arrays[key]).max() <= 1e-12, key


def test_per_model_kernel_diverging_lanes_equal_generic_kernel(monkeypatch, shared):
    """Langevin runs 4 chains side by side (lanes); with dt = 9, 9 of these 15 chains diverge at different
    steps (the rest do not): each lane stops on its own, as the generic kernel's chain does."""
    from gapkit.sims.engine import _symbolic

    common = dict(algo="langevin", n=8, lr=0.1, dt=9.0, beta=1.0, datasets=5, chains=3, seed=3, steps=300,
                  loss_stride=1, test_size=8)
    got = simulate(model=shared(_well, "per-model"), **common).arrays
    assert _symbolic.compiled(shared(_well, "per-model"), langevin=True).__qualname__.startswith("_specialised")
    monkeypatch.setattr(_symbolic, "_specialised", lambda *a, **k: None)
    generic = shared(_well, "generic")
    ref = simulate(model=generic, **common).arrays
    assert not _symbolic.compiled(generic, langevin=True).__qualname__.startswith("_specialised")
    assert 0 < got["diverged"].sum() < got["diverged"].size
    assert np.array_equal(got["diverged"], ref["diverged"])
    ok = ~ref["diverged"]
    for key in ("theta_final", "train", "test"):
        assert np.abs(got[key][ok] - ref[key][ok]).max() <= 1e-12, key
    assert np.isnan(got["train"][~ok]).all() and np.isnan(got["test"][~ok]).all()


@pytest.mark.late  # the hand-written quad1d kernel (see above)
def test_loss_moments_fall_back_where_they_cancel(monkeypatch, quad):
    """Data at 1e6: the expanded quadratic loss p^2/2 - p x + x^2/2 cancels ~1e12-fold, so the moment form is
    refused (GUARD) and the per-example mean is used. Both sides then form theta - x of numbers ~1e6 (rounding
    1e6 * 2^-53 ~ 1e-10 on an O(1) difference): the losses agree to 1e-8 relative (100x margin). Without the
    guard (GUARD = inf) the moment form is off by ~1e12 * 1e-16 relative: the check fails."""
    from gapkit.sims.engine import _symgen

    common = dict(algo="sgd", n=8, lr=0.1, datasets=5, chains=2, seed=3, steps=300, data_mean=1e6, batch=3)
    ref = simulate(model="quadratic1d", **common).arrays["train"]

    def rel_err(model):
        got = simulate(model=model, loss_stride=1, test_size=8, **common).arrays["train"]
        return float(np.abs(got / ref - 1).max())

    assert rel_err(quad) <= 1e-8  # the module's quadratic (its minibatch kernel is compiled once, with GUARD)
    monkeypatch.setattr(_symgen, "GUARD", np.inf)
    assert rel_err(quadratic_model(1.0)) > 1e-8  # GUARD is read when a kernel compiles: a new model object


def test_the_same_model_built_again_reuses_its_compiled_chain_loop(quad):
    """A second model object with the same printout (the same model built again) runs the chain loop compiled
    for the first (`_symbolic._by_source`), with the same numbers; a different model compiles its own."""
    from gapkit.sims.engine import _symbolic

    common = dict(algo="sgd", n=8, lr=0.1, datasets=3, chains=2, seed=3, steps=50, test_size=8)
    first = simulate(model=quad, **common).arrays["theta_final"]
    before = {id(v) for v in _symbolic._BY_SOURCE.values()}
    again = simulate(model=quadratic_model(1.0), **common).arrays["theta_final"]
    assert {id(v) for v in _symbolic._BY_SOURCE.values()} <= before
    assert np.array_equal(first, again)
    simulate(model=quadratic_model(2.0), **common)
    assert {id(v) for v in _symbolic._BY_SOURCE.values()} - before


# ---------------------------------------------------------------- the per-model loop's on-disk cache (_gencache)
def test_a_per_model_chain_loop_is_cached_on_disk_and_loads_in_a_new_dispatcher(quad):
    """The per-model loop is compiled from a file holding exactly its printout, so Numba caches it: a fresh
    dispatcher of the same function (what a new process builds) loads it from the cache instead of compiling,
    and runs the same numbers."""
    import numba

    from gapkit.sims.engine import _gencache, _symbolic

    common = dict(algo="sgd", n=8, lr=0.1, datasets=3, chains=2, seed=3, steps=50, test_size=8)
    first = simulate(model=quad, **common).arrays["theta_final"]
    (key, chains), = [(k, v) for k, v in _symbolic._BY_SOURCE.items()  # the minibatch loop draws indices
                      if k[0] == "per-model" and f"SymbolicModel {quad.name!r}" in k[1] and "index_pair" in k[1]]
    path = chains.py_func.__code__.co_filename
    assert path.startswith(str(_gencache.generated_dir())) and Path(path).read_text() == key[1]
    assert Path(chains._cache._cache_file._index_path).is_file()  # compiled with Numba's cache on (not in memory)
    sig = chains.signatures[0]
    fresh = numba.njit(cache=True, error_model="numpy", nogil=True)(chains.py_func)
    fresh.compile(sig)
    assert fresh.stats.cache_hits.get(sig, 0) == 1 and not fresh.stats.cache_misses.get(sig, 0)
    _symbolic._BY_SOURCE[key] = fresh  # the loaded loop runs the chains
    try:
        again = simulate(model=quadratic_model(1.0), **common).arrays["theta_final"]
    finally:
        _symbolic._BY_SOURCE[key] = chains
    assert np.array_equal(first, again)


def test_the_generated_file_is_rewritten_when_it_differs_and_skipped_where_unwritable(tmp_path, monkeypatch):
    """Nothing read from disk runs: a file whose bytes differ from the printout (edited) is rewritten with the
    printout (a new hash, so Numba's cache for the edited bytes is not used); where the folder cannot be
    written there is no file and the loop compiles in memory, from the printout."""
    from gapkit.sims.engine import _gencache, _symbolic

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "nb"))
    text = "def f():\n    return 1\n"
    path = _gencache.source_file(text, "t")
    assert path is not None and Path(path).read_text() == text
    Path(path).write_text("import os\nos.system('echo edited')\n")
    assert _gencache.source_file(text, "t") == path and Path(path).read_text() == text
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(blocker))  # a folder under a file cannot be made
    assert _gencache.source_file(text, "t") is None
    ns = _symbolic._compile_module(_symbolic._module_text("m", "def loss(th, X, Y, k, j):\n    return 0.0\n",
                                                          "def chains(c0, c1):\n    return mean_loss\n"))
    assert ns["chains"].py_func.__code__.co_filename.startswith("<") and not ns["chains"]._cache_hits
