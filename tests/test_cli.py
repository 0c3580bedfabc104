"""Command-line contract: one-line errors with exit status 2, --json purity."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gapkit.sims.cli._main import main


def _gapkit(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "gapkit.sims", *args], capture_output=True, text=True, timeout=timeout)


def test_help_lists_verify():
    r = _gapkit("--help")
    assert r.returncode == 0 and "verify" in r.stdout


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["verify", "--seed", "-1"], "--seed"),
        (["verify", "--only", ""], "--only"),
        (["verify", "--only", "nosuchfamily"], "--only"),
        (["verify", "--bogus"], "unrecognized"),
        (["nosuchcommand"], "invalid choice"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(argv, needle, capsys):
    with pytest.raises(SystemExit) as e:
        rc = main(argv)
        raise SystemExit(rc)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and "Traceback" not in err[0]


def test_verify_json_is_one_object(tmp_path):
    r = _gapkit("verify", "--only", "eq02", "--json", "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert set(obj) >= {"checks", "summary"}
    assert obj["checks"] and all(c["id"].startswith("eq02") for c in obj["checks"])
    keys = {"id", "equation", "model", "theory", "measured", "ci95", "tolerance", "tolerance_source", "verdict"}
    assert all(keys <= set(c) for c in obj["checks"])
    for f in ("report.html", "report.md", "checks.csv", "checks.json", "config.json"):
        assert (tmp_path / "rep" / f).exists()


# gapkit with torch hidden as if it were not installed: no finder finds it, so
# find_spec("torch") is None and `import torch` fails. (sys.modules["torch"] =
# None would also break scipy, which probes sys.modules for torch arrays.)
_NO_TORCH = """
import sys

class _Hide:
    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            return None
        return self.finder.find_spec(name, path, target)

    def __getattr__(self, attr):
        return getattr(self.finder, attr)

sys.meta_path[:] = [_Hide(f) for f in sys.meta_path]
from gapkit.sims.cli._main import main
code = main(sys.argv[1:])
assert "torch" not in sys.modules
sys.exit(code)
"""


def _gapkit_without_torch(*args, timeout=300):
    return subprocess.run([sys.executable, "-c", _NO_TORCH, *args], capture_output=True, text=True, timeout=timeout)


def test_gapkit_works_without_torch(tmp_path):
    r = _gapkit_without_torch("--help")
    assert r.returncode == 0 and "sweep" in r.stdout and "torch-sweep" in r.stdout, r.stderr
    assert "warning" not in r.stderr  # the torch backend registers without torch
    r = _gapkit_without_torch("sweep", "--model", "quadratic1d", "--T-grid", "0.1", "--batch-grid", "1",
                              "--datasets", "4", "--workers", "1", "--no-figures", "--json", "--out", str(tmp_path / "s"))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["runs_computed"] == 1
    r = _gapkit_without_torch("verify", "--only", "eq02", "--no-progress")
    assert r.returncode == 0 and "eq02" in r.stdout, r.stderr
    # the torch backend's commands say what is missing, in one line
    r = _gapkit_without_torch("torch-sweep", "--workers", "1", "--out", str(tmp_path / "t"))
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1 and 'pip install -e ".[gpu]"' in err[0], r.stderr


class _BrokenEntryPoint:
    name, value = "broken", "nosuch_module_xyz:register"

    def load(self):
        raise ModuleNotFoundError("No module named 'nosuch_module_xyz'")


class _FailingEntryPoint:
    name, value = "failing", "gapkit.sims._backends:backends"

    def load(self):
        return lambda: 1 / 0


def test_a_broken_plugin_is_reported_not_hidden(monkeypatch, capsys):
    from gapkit.sims import _backends
    from gapkit.sims.verify import _registry
    from gapkit.sims.verify._registry import CheckContext, run_checks

    monkeypatch.setattr(_backends, "_PLUGINS", None)
    monkeypatch.setattr(_backends.metadata, "entry_points",
                        lambda group: [_BrokenEntryPoint(), _FailingEntryPoint()] if group == _backends.GROUP else [])
    _backends.load_plugins()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert "'broken'" in err[0] and "ModuleNotFoundError" in err[0] and "nosuch_module_xyz" in err[0]
    assert "'failing'" in err[1] and "ZeroDivisionError" in err[1]
    errors = _backends.plugin_errors()
    assert set(errors) == {"broken", "failing"}
    _backends.load_plugins()  # loaded once: no second warning
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(_registry, "_REGISTRY", {})
    _registry.register_plugin_failure("broken", errors["broken"])
    rows = run_checks(list(_registry._REGISTRY.values()), CheckContext())
    assert [(r.id, r.verdict) for r in rows] == [("plugin.broken.load", "SKIP")]
    assert "nosuch_module_xyz" in rows[0].note


_BROKEN_PLUGIN = """
import sys
from importlib import metadata
real = metadata.entry_points

class EP:
    name, value = "broken", "nosuch_module_xyz:register"
    def load(self):
        raise ModuleNotFoundError("No module named 'nosuch_module_xyz'")

metadata.entry_points = lambda group=None, **kw: [EP()] if group == "gapkit.plugins" else real(group=group, **kw)
from gapkit.sims.cli._main import main
sys.exit(main(sys.argv[1:]))
"""


def test_verify_shows_a_broken_plugin():
    r = subprocess.run([sys.executable, "-c", _BROKEN_PLUGIN, "verify", "--only", "plugin,eq02", "--json",
                        "--no-progress"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = {c["id"]: c for c in json.loads(r.stdout)["checks"]}
    assert rows["plugin.broken.load"]["verdict"] == "SKIP" and "nosuch_module_xyz" in rows["plugin.broken.load"]["note"]
    assert any(i.startswith("eq02") for i in rows)
    assert "warning: plugin 'broken'" in r.stderr
    # without the torch plugin, its commands are gone but gapkit runs
    r = subprocess.run([sys.executable, "-c", _BROKEN_PLUGIN, "--help"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "torch-sweep" not in r.stdout and r.stderr.count("warning: plugin 'broken'") == 1
