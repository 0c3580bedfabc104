"""Shared pytest configuration.

Hypothesis: a 'ci' profile (derandomized: the same examples every run, so CI
is reproducible; no deadline because the first call of a Numba kernel compiles).
"""
from __future__ import annotations

import os

# Under pytest-xdist (the README's test command runs 2 workers) each worker keeps BLAS, OpenMP and
# torch to one thread: two workers with two spinning pool threads each would oversubscribe the cores
# (measured: the suite's CPU time rose from 319 s to 563 s). Numba's kernel threads are set apart
# (NUMBA_NUM_THREADS, untouched); no result depends on any thread count.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("GAPKIT_HYPOTHESIS_PROFILE", "ci"))


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


# Parallel runs (pytest-xdist, `-n 2 --dist loadgroup`, the README's test command): the catalogue
# providers run once per session and their rows are shared by every test that judges them
# (`test_catalogue_all.judged_twice`); those tests form one group, so one worker runs the providers
# once and the others take the rest. Two more groups share work the same way, marked in their files:
# "symbolic-kernels" (SymbolicModel kernels compiled once per process, `_symbolic._by_source`) and
# "notebooks" (one Jupyter kernel).
CATALOGUE_GROUP = "catalogue-providers"


def _runs_catalogue_providers(item) -> bool:
    """Whether the test, or a fixture it uses, calls `judged_twice` (it names it in its code)."""
    fns = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info is not None else ()):
        fns.extend(d.func for d in defs)
    return any("judged_twice" in getattr(getattr(f, "__code__", None), "co_names", ()) for f in fns)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the group marks (tests/conftest.py is
def pytest_collection_modifyitems(config, items):  # loaded before xdist's worker plugin, so it would run after it)
    grouped = {id(item) for item in items if _runs_catalogue_providers(item)}
    for item in items:
        if id(item) in grouped:
            item.add_marker(pytest.mark.xdist_group(CATALOGUE_GROUP))
    # the groups first, the catalogue's before the others (stable: the rest keeps its order): they are the
    # longest units of work (the catalogue providers, the symbolic kernels, the notebooks' kernel), and a
    # worker that starts one last would leave the other idle at the end. Within a group, tests marked `late` run
    # last (the symbolic group's tests that run the hand-written quad1d kernels: by then the other worker's
    # catalogue has put them in the on-disk cache; otherwise both compile them at once on a cold cache)
    items.sort(key=lambda item: (0 if id(item) in grouped else 1 if item.get_closest_marker("xdist_group") else 2,
                                 item.get_closest_marker("late") is not None))
    skip_gpu = pytest.mark.skip(reason="needs CUDA (torch.cuda.is_available() is False)")
    have_cuda = None
    for item in items:
        if "gpu" in item.keywords:
            if have_cuda is None:
                have_cuda = _cuda_available()
            if not have_cuda:
                item.add_marker(skip_gpu)


_GROUPS_SEEN: list = []


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook (the controller): what a worker collected
def pytest_xdist_node_collection_finished(node, ids):
    """Say so when `--dist loadgroup` had no effect: xdist tags a grouped test's id with "@group" and
    sends each group to one worker; if the tags are missing, the catalogue providers run on every worker
    (pytest 9.2 with pytest-xdist 3.8 loses the tags: constraints.txt keeps pytest below 9.2)."""
    if _GROUPS_SEEN or node.config.getoption("dist", None) != "loadgroup":
        return
    _GROUPS_SEEN.append(True)
    if any("test_catalogue_all.py::" in i for i in ids) and not any("@" + CATALOGUE_GROUP in i for i in ids):
        node.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"WARNING: --dist loadgroup did not group the tests (pytest {pytest.__version__} with this "
            "pytest-xdist drops the group tags): the catalogue providers will run on every worker. "
            "Install with `-c constraints.txt` (pytest < 9.2).", yellow=True, bold=True)
