"""Every notebook in notebooks/ runs top to bottom with small parameters.

Notebooks are jupytext 'percent' scripts (notebooks/*.py) paired with .ipynb
files. The test converts the script (the source of truth), sets
GAPKIT_NOTEBOOK_SMALL=1 so the notebook picks its small parameters, and
executes it with nbclient. It also checks the .ipynb pair matches the script.
"""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    nb = jupytext.read(path)
    monkeypatch.setenv("GAPKIT_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # each notebook ends by asserting its own headline result; reaching here means it held


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
