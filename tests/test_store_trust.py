"""The results store trusts nothing it reads, and one folder holds one sweep
(issue 12): corrupt records of every kind are moved aside and recomputed,
concurrent writers and a second sweep are refused, files follow the umask,
bad --out folders are one line, SIGTERM and kill -9 leave no pool workers."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import test_store  # noqa: F401 - registers the stand-in backend "fake-toy"
from gapkit.sims._backends import Backend, register_backend
from gapkit.sims.sweep._runner import run_sweep
from gapkit.sims.sweep._spec import make_spec
from gapkit.sims.sweep._store import ResultsStore, _tmp_prefix, config_key
from gapkit.theory._validate import ArgumentError

FAKE = test_store.FAKE
TESTS_DIR = test_store.TESTS_DIR


def _spec(**kw):
    return make_spec("quadratic1d", preset="smoke", backend=FAKE, **{"T_grid": [0.05, 0.1, 0.2], "batch_grid": [1],
                                                                      "seeds": 1, **kw})


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 3-run sweep and its runs.csv bytes (shared: read-only)."""
    out = tmp_path_factory.mktemp("finished")
    run_sweep(_spec(), out, workers=1, progress=False, figures=False)
    return out, (out / "runs.csv").read_bytes()


def _corruptions(path: Path, other: Path):
    rec = json.loads(path.read_text())
    return {
        "truncated": path.read_text()[:40],
        "not json": "\x00\x01 garbage",
        "not utf-8": b"\xff\xfe{".decode("latin-1"),
        "a list": "[1, 2, 3]",
        "no result": json.dumps({"config": rec["config"]}),
        "result not a dict": json.dumps({"config": rec["config"], "result": [1]}),
        "config not a dict": json.dumps({"config": "x", "result": rec["result"]}),
        "config edited": json.dumps({**rec, "config": {**rec["config"], "lr": 99.0}}),
        "another run's record": other.read_text(),
        "deep nesting": "[" * 100000 + "]" * 100000,
    }


_KINDS = ("truncated", "not json", "not utf-8", "a list", "no result", "result not a dict", "config not a dict",
          "config edited", "another run's record", "deep nesting")


@pytest.mark.parametrize("kind", _KINDS)
def test_an_untrusted_record_is_moved_aside_and_recomputed(tmp_path, finished, kind):
    """Each kind of bad record: moved to rejected/ with its reason, recomputed
    once, and runs.csv equals the clean sweep's byte for byte (no run
    duplicated or missing)."""
    import shutil

    src, table = finished
    out = tmp_path / "out"
    shutil.copytree(src, out)
    files = sorted((out / "runs").glob("*.json"))
    victim = files[0]
    text = _corruptions(victim, files[1])[kind]
    victim.write_bytes(text.encode("latin-1") if kind == "not utf-8" else text.encode())
    again = run_sweep(_spec(), out, workers=1, progress=False, figures=False)
    assert again["runs_computed"] == 1 and again["runs_reused"] == 2
    assert (out / "runs.csv").read_bytes() == table
    rejected = sorted(p.name for p in (out / "rejected").iterdir())
    assert rejected == [victim.name, victim.name + ".why"]
    rec = json.loads(victim.read_text())
    assert config_key(rec["config"]) == victim.stem


def test_the_trust_test_can_fail(tmp_path, finished):
    """Without the hash check an edited config would be used: the edited
    record is not the one a clean sweep writes."""
    src, _ = finished
    victim = sorted((src / "runs").glob("*.json"))[0]
    rec = json.loads(victim.read_text())
    assert config_key({**rec["config"], "lr": 99.0}) != victim.stem


def test_a_record_under_a_foreign_name_is_not_listed_as_a_run(tmp_path):
    st = ResultsStore.open(tmp_path)
    (tmp_path / "runs" / "notes.json").write_text(json.dumps({"config": {"a": 1}, "result": {}}))
    assert st.get("notes") is None and list(st.records()) == []
    assert (tmp_path / "rejected" / "notes.json").exists()


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path):
    st = ResultsStore.open(tmp_path)
    with st.lock():
        with pytest.raises(ArgumentError, match="in use by another gapkit sweep") as exc:
            run_sweep(_spec(), tmp_path, workers=1, progress=False, figures=False)
        assert exc.value.param == "out"
    run_sweep(_spec(), tmp_path, workers=1, progress=False, figures=False)  # released: fine


def test_a_different_sweep_into_the_same_folder_is_refused(tmp_path, finished):
    import shutil

    src, table = finished
    out = tmp_path / "out"
    shutil.copytree(src, out)
    with pytest.raises(ArgumentError, match="holds another sweep \\(T_grid") as exc:
        run_sweep(_spec(T_grid=[0.3, 0.4]), out, workers=1, progress=False, figures=False)
    assert exc.value.param == "out" and (out / "runs.csv").read_bytes() == table
    assert run_sweep(_spec(), out, workers=1, progress=False, figures=False)["runs_computed"] == 0


def test_open_keeps_live_writers_and_users_temporaries(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)
    keep = [runs / ".tmp-mine.txt", runs / f"{_tmp_prefix()}live.part", tmp_path / ".tmp-notes"]
    gone = runs / f"{_tmp_prefix(dead)}dead.part"
    for p in [*keep, gone]:
        p.write_text("x")
    ResultsStore.open(tmp_path)
    assert all(p.exists() for p in keep) and not gone.exists()


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        run_sweep(_spec(), tmp_path, workers=1, progress=False, figures=False)
    finally:
        os.umask(old)
    for p in [tmp_path / "runs.csv", tmp_path / "sweep.json", *(tmp_path / "runs").glob("*.json")]:
        assert p.stat().st_mode & 0o777 == 0o666 & ~umask, p


def _bad_outs(tmp_path):
    f = tmp_path / "a_file"
    f.write_text("x")
    ro = tmp_path / "readonly"
    ro.mkdir()
    ro.chmod(0o500)
    return {"an existing file": str(f), "under a file": str(f / "sub"), "/proc": "/proc/gapkit-out",
            "empty": "", "read-only folder": str(ro / "sub"), "a device": "/dev/null"}


@pytest.mark.parametrize("case", ["an existing file", "under a file", "/proc", "empty", "read-only folder",
                                  "a device"])
def test_a_bad_out_folder_is_one_line_exit_2(tmp_path, capsys, case):
    from gapkit.sims.cli._main import main

    if case == "read-only folder" and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    out = _bad_outs(tmp_path)[case]
    rc = main(["sweep", "--model", "quadratic1d", "--backend", FAKE, "--T-grid", "0.1", "--batch-grid", "1",
               "--workers", "1", "--no-figures", "--out", out])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "out must" in err[0] and "Traceback" not in err[0], err


def test_a_full_disk_mid_sweep_keeps_the_finished_runs(tmp_path, monkeypatch):
    real = ResultsStore.put
    calls = []

    def put(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(self, *a, **k)

    monkeypatch.setattr(ResultsStore, "put", put)
    with pytest.raises(ArgumentError, match="No space left on device.*1 finished runs are kept"):
        run_sweep(_spec(), tmp_path, workers=1, progress=False, figures=False)
    assert len(list((tmp_path / "runs").glob("*.json"))) == 1


_SLOW_SWEEP = """
import sys
import test_store_trust
from gapkit.sims.cli._main import main
sys.exit(main(["sweep", "--model", "quadratic1d", "--backend", "marking-toy", "--T-grid", "0.01,0.02,0.05,0.1",
               "--batch-grid", "1,2", "--workers", "2", "--no-figures", "--set", "mark_dir=" + sys.argv[2],
               "--out", sys.argv[1]]))
"""


def _marking_run_point(config):
    """A 30 s run that first leaves its worker's pid in mark_dir (so a test
    knows the workers are inside their runs)."""
    (Path(config["model_kwargs"]["mark_dir"]) / str(os.getpid())).write_text("")
    time.sleep(30)
    return test_store.fake_run_point(config)


register_backend(Backend(name="marking-toy", run_point=_marking_run_point, presets=("smoke",)), replace=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its dead parent's adopter) is gone too
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _start_slow_sweep(out, marks):
    env = dict(os.environ, PYTHONPATH=TESTS_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    marks.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_SWEEP, str(out), str(marks)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    workers: list[int] = []
    while time.monotonic() - t0 < 120 and len(workers) < 2 and proc.poll() is None:
        workers = [int(p.name) for p in marks.iterdir()]
        time.sleep(0.1)
    assert len(workers) >= 2, f"the pool did not start: {proc.stderr.read() if proc.poll() is not None else ''}"
    return proc, workers


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_no_pool_worker_outlives_a_killed_sweep(tmp_path):
    """kill -9 of the sweep: its workers notice their parent is gone and end
    themselves (within the poll interval), long before their 30 s runs finish."""
    proc, workers = _start_slow_sweep(tmp_path / "out", tmp_path / "marks")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=20)
    proc.stderr.close()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10 and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)


def _terminating_run_point(config):
    """A run that is sent SIGTERM in the middle (the second run of a sweep)."""
    if config["T"] > 0.06:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this
    return test_store.fake_run_point(config)


register_backend(Backend(name="sigterm-toy", run_point=_terminating_run_point, presets=("smoke",)), replace=True)


def test_sigterm_is_the_ctrl_c_message_and_keeps_finished_runs(tmp_path, capsys):
    from gapkit.sims.cli._main import main

    before = signal.getsignal(signal.SIGTERM)
    rc = main(["sweep", "--model", "quadratic1d", "--backend", "sigterm-toy", "--T-grid", "0.05,0.1",
               "--batch-grid", "1", "--workers", "1", "--no-figures", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 130 and "gapkit sweep: interrupted (finished results are kept)" in err
    assert len(list((tmp_path / "runs").glob("*.json"))) == 1
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is the sweep's only
