"""The numba backend's warm-up: compile (or load from Numba's on-disk cache) every simulator kernel on tiny
runs, in this process or, on a first run, in helper processes that write the cache while `gapkit verify`
runs the checks that need no kernel (`start_kernels`, then `compile_kernels`; `gapkit.sims._backends` hands
them to the check registry as the backend's `warmup_start` and `warmup`)."""
from __future__ import annotations

import subprocess
import sys

from . import _jit, _kernels
from ._simulate import simulate

__all__ = ["HELPER_CODE", "Helpers", "compile_model", "compile_kernels", "compile_glm_fixed", "start_kernels",
           "uncached_parts"]


def compile_model(model: str, dim: int) -> None:
    """Compile (or load from Numba's cache) the kernels of `model` for every algorithm, on tiny runs: the
    minibatch ones with records, Langevin without (quadratic1d's lane kernel; the others' one kernel serves
    both)."""
    for algo in ("sgd", "langevin", "momentum"):
        simulate(model=model, algo=algo, n=4, dim=dim, lr=0.1, batch=2, momentum=0.5 if algo == "momentum" else 0.0,
                 datasets=2, chains=1, steps=4, burnin=1, record_every=0 if algo == "langevin" else 2, seed=0)


# what each helper process of a first run compiles into Numba's on-disk cache (Numba compiles one function at a
# time per process, so two processes compile side by side)
HELPER_CODE = {
    "quadratic": "b.compile_model('quadratic1d', 1); b.compile_model('quadratic', 2)",
    "glm": "b.compile_model('linreg', 2); b.compile_glm_fixed()",
}


HELPER_TIMEOUT_S = 600.0  # a helper compiles in seconds; one still running after this is stuck


class Helpers:
    """Helper processes compiling kernels into Numba's on-disk cache: `wait()` for them, or `cancel()` them.
    nice: their scheduling niceness (background helpers take the cores the checks leave idle)."""

    def __init__(self, parts, nice: int = 0):
        self.procs = [subprocess.Popen([sys.executable, "-c", f"import os; os.nice({nice}); "
                                        "from gapkit.sims.engine import _warmup as b; " + HELPER_CODE[p]],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                      for p in parts]

    def wait(self, timeout: float = HELPER_TIMEOUT_S) -> None:
        """Wait for the helpers; one still running after `timeout` seconds is stopped (never a hang: what it
        did not compile, `compile_kernels` then compiles in this process)."""
        for p in self.procs:
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def cancel(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        self.wait()


def uncached_parts() -> list[str]:
    """The `HELPER_CODE` parts whose kernels are not in Numba's cache yet (`_jit.first_compile`)."""
    return [p for p, k in (("quadratic", _kernels._quad1d_chains), ("glm", _kernels._glm_chains))
            if _jit.first_compile(k)]


def start_kernels() -> Helpers | None:
    """On a first run (kernels not in Numba's cache), start compiling the simulator kernels into the cache in
    two helper processes at niceness 10: they take the core the checks leave idle (the checks run in one
    process), and both cores once the checks wait for them; `compile_kernels` (after `Helpers.wait`)
    then loads them. None when cached."""
    parts = uncached_parts()
    return Helpers(parts, nice=10) if parts else None


def compile_kernels() -> None:
    """Compile (or load from Numba's cache) every simulator kernel on a tiny run, and the fixed-p GLM
    kernel of the quick catalogue's linreg checks (`compile_glm_fixed`). On a first run (the GLM kernel
    not yet in Numba's cache, and no `start_kernels` before) a helper process compiles the GLM kernels
    into the cache while this one compiles the quadratic ones; this process then loads them."""
    helper = Helpers(["glm"]) if "glm" in uncached_parts() else None
    compile_model("quadratic1d", 1)
    compile_model("quadratic", 2)
    if helper is not None:
        helper.wait()
    compile_model("linreg", 2)
    compile_glm_fixed()


def compile_glm_fixed() -> None:
    """Compile (or load) the fixed-p GLM kernel of the quick catalogue's `sim.linreg_moments` (plain SGD
    with beta noise on linreg, dim 3; `_kernels.glm_kernel`)."""
    _kernels.compile_fixed(3, logistic=False, noisy=True)
