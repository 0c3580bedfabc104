"""Every notebook in notebooks/ runs top to bottom with small parameters.

Notebooks are jupytext 'percent' scripts (notebooks/*.py) paired with .ipynb
files. The test converts the script (the source of truth), sets
GAPKIT_NOTEBOOK_SMALL=1 so the notebook picks its small parameters, and
executes it with nbclient, in one Jupyter kernel shared by the notebooks
(`run_notebook`). It also checks the .ipynb pair matches the script.
"""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.py"))


# Each notebook starts from an empty namespace in its own folder: the cell run before its first one.
_FRESH = """%reset -f
import os as _os
import matplotlib.pyplot as _plt
_plt.close("all")
_os.chdir({where!r})
del _os, _plt
"""


@pytest.fixture(scope="module")
def run_notebook(tmp_path_factory):
    """run(path, where): execute the notebook at `path` in `where`; returns the executed notebook.

    The module's notebooks share one Jupyter kernel (issue 15: a fresh kernel's start and imports cost about
    4 s a notebook), and the xdist group below keeps them on one worker. Each notebook runs after `_FRESH`
    (%reset -f: no name a notebook defined reaches the next; imported modules stay loaded, as in any
    kernel that runs a second notebook)."""
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    state: dict = {"km": None}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GAPKIT_NOTEBOOK_SMALL", "1")  # read by the kernel when it starts (the first notebook)
        mp.setenv("MPLBACKEND", "Agg")

        def run(path, where):
            nb = jupytext.read(path)
            nb.cells.insert(0, nbformat.v4.new_code_cell(_FRESH.format(where=str(where))))
            client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", km=state["km"],
                                             resources={"metadata": {"path": str(where)}})
            try:
                client.execute(cleanup_kc=False)  # the kernel stays up for the next notebook
            finally:
                state["km"] = client.km
                if client.kc is not None:  # this notebook's client: its sockets closed now
                    client.kc.stop_channels()
                    client.kc = None
            return nb

        yield run
    if state["km"] is not None:
        nbclient.util.run_sync(state["km"].shutdown_kernel)(now=True)


@pytest.mark.slow
@pytest.mark.xdist_group("notebooks")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, run_notebook):
    nb = run_notebook(path, tmp_path)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # each notebook ends by asserting its own headline result; reaching here means it held


@pytest.mark.xdist_group("notebooks")
def test_a_notebook_starts_from_an_empty_namespace(tmp_path, run_notebook):
    """The shared kernel cannot carry one notebook's names into the next: a name defined by one notebook
    is gone in the next one (a NameError fails the run)."""
    nbclient = pytest.importorskip("nbclient")
    one, two = tmp_path / "one.py", tmp_path / "two.py"
    one.write_text("# %%\nleft_over = 1\n")
    two.write_text("# %%\nimport os\nassert os.getcwd() == {!r}\nleft_over\n".format(str(tmp_path)))
    run_notebook(one, tmp_path)
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="NameError"):
        run_notebook(two, tmp_path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_pair_in_sync(path):
    jupytext = pytest.importorskip("jupytext")
    ipynb = path.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} missing: run `jupytext --sync {path.name}`"
    a = [c.source.strip() for c in jupytext.read(path).cells]
    b = [c.source.strip() for c in jupytext.read(ipynb).cells]
    assert a == b, f"{path.name} and {ipynb.name} differ: run `jupytext --sync`"


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5, [p.name for p in NOTEBOOKS]
