"""The layout the README's Architecture section describes, checked from the source.

Rooms and the direction of imports (theory <- sims <- gpu; inside sims:
stats <- engine <- sweep, indicators <- verify <- cli), sims' root holding only
its entry points and two small modules, no sims module naming the torch
backend, and the size limits of STYLE (functions <= 100 lines outside the
check catalogue, Numba kernels <= 12 parameters).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIMS = ROOT / "sims"
# rank of each sims sub-package: a module may import only from ranks <= its own
# (the root modules _settings and _backends sit at rank 0 / the registry level;
# the indicators import only theory and sit at the registry level too, since
# the numba backend's indicator hook computes them)
RANK = {"_settings": 0, "stats": 1, "engine": 2, "_backends": 3, "indicators": 3, "sweep": 4, "verify": 5, "cli": 6}


def _modules(folder: Path):
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> list[str]:
    """Absolute names of every gapkit module `path` imports (relative ones resolved)."""
    rel = path.relative_to(ROOT).with_suffix("")
    pkg = ["gapkit", *rel.parts[:-1]]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.append(name)
            out += [f"{name}.{a.name}" for a in node.names]
    return [n for n in out if n.startswith("gapkit.")]


def _room(name: str) -> str | None:
    parts = name.split(".")
    if parts[:2] != ["gapkit", "sims"] or len(parts) < 3:
        return None
    return parts[2] if parts[2] in RANK else None


def test_sims_root_holds_only_entry_points_and_two_small_modules():
    files = sorted(p.name for p in SIMS.iterdir() if p.suffix == ".py")
    assert files == ["__init__.py", "__main__.py", "_backends.py", "_settings.py"]
    for name in ("_backends.py", "_settings.py"):
        assert len((SIMS / name).read_text().splitlines()) < 300, name
    subs = sorted(p.name for p in SIMS.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert subs == ["cli", "engine", "indicators", "stats", "sweep", "verify"]
    for s in subs:
        doc = ast.get_docstring(ast.parse((SIMS / s / "__init__.py").read_text()))
        assert doc and "one job" in doc, f"sims/{s}/__init__.py must say its one job"


def test_no_sims_module_names_the_torch_backend():
    offenders = [str(p.relative_to(ROOT)) for p in _modules(SIMS) if "gapkit.gpu" in p.read_text()]
    assert offenders == []


def test_theory_imports_nothing_from_sims_or_gpu():
    for p in _modules(ROOT / "theory"):
        bad = [n for n in _imports(p) if n.startswith(("gapkit.sims", "gapkit.gpu"))]
        assert bad == [], (p, bad)


@pytest.mark.parametrize("path", _modules(SIMS), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_flow_one_way_inside_sims(path):
    rel = path.relative_to(SIMS)
    room = rel.parts[0].removesuffix(".py")
    if room not in RANK:  # __init__ / __main__ of sims itself re-export everything
        return
    for name in _imports(path):
        other = _room(name)
        if other is not None and other != room:
            assert RANK[other] <= RANK[room], f"{rel} ({room}) imports {name} ({other}), against the flow"


def _functions(folder: Path):
    for p in _modules(folder):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield p, node


def test_function_length_and_kernel_width():
    long_, wide = [], []
    for folder in (SIMS, ROOT / "gpu", ROOT / "theory"):
        for p, fn in _functions(folder):
            where = f"{p.relative_to(ROOT)}:{fn.lineno} {fn.name}"
            if "catalogue" not in p.parts and fn.end_lineno - fn.lineno + 1 > 100:
                long_.append(where)
            jit = any("jit" in ast.unparse(d) for d in fn.decorator_list)
            a = fn.args
            if jit and len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) > 12:
                wide.append(where)
    assert long_ == [], "functions over 100 lines"
    assert wide == [], "Numba kernels over 12 parameters"


def test_the_layout_checks_can_fail(tmp_path):
    """The import-flow and length rules catch a violation (a fabricated module)."""
    bad = tmp_path / "sims" / "stats" / "_bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("from gapkit.sims.cli._main import main\n\n\ndef f():\n" + "    x = 1\n" * 120)
    rel_room = "stats"
    names = [n for n in _imports_at(bad, tmp_path)]
    assert any(_room(n) == "cli" and RANK["cli"] > RANK[rel_room] for n in names)
    (node,) = [n for n in ast.walk(ast.parse(bad.read_text())) if isinstance(n, ast.FunctionDef)]
    assert node.end_lineno - node.lineno + 1 > 100


def _imports_at(path: Path, root: Path) -> list[str]:
    global ROOT
    saved, ROOT = ROOT, root
    try:
        return _imports(path)
    finally:
        ROOT = saved
