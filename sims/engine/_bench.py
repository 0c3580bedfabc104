"""`gapkit bench`: the Numba simulators against NumPy and a C reference, same workloads.

Workloads (issue 3, "Speed"):
  W1  1-D Langevin (Euler-Maruyama of Eq 17) on the quadratic model,
      200,000 chains (100,000 data sets x 2) x 2,000 steps, time-averaged losses after 500.
  W2  plain SGD (Eq 15) on linear regression, d = 10, n = 100, B = 8, beta = 0
      (the issue's workload: minibatch indices are the only random numbers),
      256 data sets x 16 chains x 2,000 steps. (With beta > 0 each step also
      draws d normals; both implementations skip them at beta = 0.)
Each implementation runs the same update rule on the same prepared data; only
the simulation loop is timed (data preparation, compilation and one warm-up
run are outside the timed region). Throughput = chain-steps per second; the
median over `repeats` runs is reported with the min and max. Numba and C run in
`repeats` paired rounds (Numba, then C, back to back); the ratio against C is the
median of the rounds' own ratios, so a slow spell of the machine, which lasts
longer than a round, falls on both sides of it (the torch bench pairs the same
way). NumPy, the slow one, runs once per workload (full mode), after them.

The C reference (sims/csrc/bench_ref.c) is compiled at benchmark time with
``gcc -O3 -march=native -ffast-math -fopenmp`` (libmvec supplies SIMD log/cos
for its Box-Muller normals); it is skipped, with a message, when no compiler
is found. W1's C normals are a SIMD Box-Muller (the fastest C route for
one-normal-per-step lanes); W2's are the same Ziggurat as the Numba kernels.
W1's Numba kernel (`_kernels._quad1d_langevin_lanes`) advances 32 chains in lockstep per group,
IEEE arithmetic (no fastmath), the same bits as chain by chain. W2's runs chain by chain in the
kernel `_kernels.glm` picks for this run (`glm_kernel`, recorded as "kernel"): `_glm_minibatch_fixed`,
compiled for p = 10 (parameters in registers, SLP-vectorised, the same bits as the generic kernel).
"""
from __future__ import annotations

import ctypes
import math
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from importlib import resources

import numpy as np

__all__ = ["WORKLOADS", "run_bench", "compile_reference"]

WORKLOADS = {
    "W1": dict(desc="1-D Langevin (Eq 17, Euler-Maruyama), quadratic model", K=100_000, M=2, steps=2000, burnin=500,
               n=50, lam=0.1, alpha=0.05, beta=0.2, dt=1.0),
    "W2": dict(desc="plain SGD (Eq 15), linear regression d=10, n=100, B=8", K=256, M=16, steps=2000, n=100, d=10,
               B=8, lam=0.01, alpha=0.01, beta=0.0),
}
QUICK = {"W1": dict(K=10_000, steps=200, burnin=50), "W2": dict(K=32, M=4, steps=200)}

CFLAGS = ["-O3", "-march=native", "-ffast-math", "-fopenmp", "-fPIC"]
# Link WITHOUT -ffast-math: with it gcc links crtfastmath.o, whose constructor
# turns on flush-to-zero / denormals-are-zero for the whole process that loads
# the library -- silently changing the float semantics of numpy and Numba in
# `gapkit bench` (and in any test process). Compile-time fast math is kept.
LDFLAGS = ["-shared", "-fopenmp"]


def compile_reference(outdir: str) -> tuple[ctypes.CDLL | None, str]:
    """Compile the C reference; (library, message). library is None when no compiler works."""
    cc = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")
    if cc is None:
        return None, "C reference skipped: no C compiler (gcc/cc) on PATH"
    src = resources.files("gapkit.sims.engine").joinpath("csrc/bench_ref.c")
    so = os.path.join(outdir, "bench_ref.so")
    obj = os.path.join(outdir, "bench_ref.o")
    with resources.as_file(src) as path:
        p = subprocess.run([cc, *CFLAGS, "-c", "-o", obj, str(path)], capture_output=True, text=True)
        if p.returncode == 0:
            p = subprocess.run([cc, *LDFLAGS, "-o", so, obj, "-lmvec", "-lm"], capture_output=True, text=True)
            if p.returncode != 0:  # no libmvec (non-glibc): scalar math, still a valid reference
                p = subprocess.run([cc, *LDFLAGS, "-o", so, obj, "-lm"], capture_output=True, text=True)
        if p.returncode != 0:
            return None, f"C reference skipped: compile failed ({p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode})"
    lib = ctypes.CDLL(so)
    P = ctypes.POINTER(ctypes.c_double)
    i64, f64, u64 = ctypes.c_int64, ctypes.c_double, ctypes.c_uint64
    lib.w1_langevin.argtypes = [i64, i64, P, P] + [f64] * 8 + [i64, i64, u64, ctypes.c_int, P, P]
    lib.w1_langevin.restype = None
    lib.w2_sgd.argtypes = [i64, i64, i64, i64, P, P, f64, i64, f64, f64, i64, u64, ctypes.c_int, P]
    lib.w2_sgd.restype = None
    from . import _rng

    zk = np.ascontiguousarray(_rng._ZK, dtype=np.int64)
    zw = np.ascontiguousarray(_rng._ZW)
    zf = np.ascontiguousarray(_rng._ZF)
    lib.zig_init.argtypes = [ctypes.POINTER(ctypes.c_int64), P, P, f64]
    lib.zig_init(zk.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), _ptr(zw), _ptr(zf), float(_rng._ZTAIL))
    return lib, " ".join(["gcc", *CFLAGS, "(link:", *LDFLAGS, ")"])


def _ptr(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))


# ------------------------------------------------------------------ W1
def _w1_data(w, seed):
    from . import _data

    X = _data.gaussian_inputs(seed, w["K"], w["n"], 1, 0.0, 1.0)[:, :, 0]
    xbar = X.mean(axis=1)
    trs = X.var(axis=1)
    return X, xbar, trs


def _w1_numba(w, data, seed, threads):
    from . import _kernels, _rng

    X, xbar, trs = data
    K, M, steps = w["K"], w["M"], w["steps"]
    sdl = np.sqrt(trs + w["beta"] ** 2)
    lams = np.full(steps, w["lam"])
    kin = _kernels.QuadData(X, xbar, trs, sdl, np.zeros(1), np.ones(1), np.zeros(K, np.int64), 1.0)
    upd = _kernels.Update(0, lams, 1, w["alpha"], w["beta"], 0.0, w["dt"])
    meas = _kernels.Measure(w["burnin"], 1, 1, np.uint64(_rng.seed64(seed)), M)
    out = _kernels.Outputs(np.empty((K, M)), np.empty((K, M)), np.zeros((K, M), np.bool_), np.empty((K, M, 1)),
                           np.empty((K, M, 0)), np.empty((K, M, 0)), np.empty((K, M, 0, 1)))

    def go():
        _kernels.quad1d(kin, upd, meas, out)
        return out.train

    return go


def _w1_numpy(w, data, seed, threads):
    X, xbar, trs = data
    M, steps, burn = w["M"], w["steps"], w["burnin"]
    lam, a, dt = w["lam"], w["alpha"], w["dt"]
    xb = np.repeat(xbar, M)
    ts = np.repeat(trs, M)
    sd = np.sqrt(lam * lam * dt * (ts + w["beta"] ** 2))  # sqrt(lam T dt (D + beta^2)), T = lam, h = 1

    def go():
        rng = np.random.default_rng(seed)
        th = np.zeros_like(xb)
        atr = np.zeros_like(xb)
        ate = np.zeros_like(xb)
        z = np.empty_like(xb)
        for t in range(steps):
            rng.standard_normal(out=z)
            th += -lam * dt * ((th - xb) + a * th) + sd * z
            if t >= burn:
                atr += (th - xb) ** 2
                ate += th**2
        return 0.5 * (atr / (steps - burn) + ts)

    return go


def _w1_c(w, data, seed, threads, lib):
    X, xbar, trs = data
    K, M = w["K"], w["M"]
    tr, te = np.empty(K * M), np.empty(K * M)
    xbar = np.ascontiguousarray(xbar)
    trs = np.ascontiguousarray(trs)

    def go():
        lib.w1_langevin(K, M, _ptr(xbar), _ptr(trs), 0.0, 1.0, 1.0, w["lam"], w["lam"], w["alpha"], w["beta"],
                        w["dt"], w["steps"], w["burnin"], seed, threads, _ptr(tr), _ptr(te))
        return tr

    return go


# ------------------------------------------------------------------ W2
def _w2_data(w, seed):
    from . import _data

    X = _data.gaussian_inputs(seed, w["K"], w["n"], w["d"], 0.0, 1.0)
    wst = _data.teacher(seed, w["d"])
    y = _data.labels(seed, X, wst, noise_std=0.5)
    return np.ascontiguousarray(X), np.ascontiguousarray(y)


def _w2_numba(w, data, seed, threads):
    from . import _kernels, _rng

    X, y = data
    K, M, d, steps = w["K"], w["M"], w["d"], w["steps"]
    lams = np.full(steps, w["lam"])
    z3, z2, z1 = np.zeros((1, 1, 1)), np.zeros((1, 1)), np.zeros(1)
    kin = _kernels.GlmData(X, y, False, z3, z2, z1, z3, z2, z1, np.zeros((1, 1, d)), z2, np.zeros(K, np.int64))
    upd = _kernels.Update(1, lams, w["B"], w["alpha"], w["beta"], 0.0, 1.0)
    # burnin = steps: no loss evaluation (the other implementations do none either)
    meas = _kernels.Measure(steps, 1, 1, np.uint64(_rng.seed64(seed)), M)
    out = _kernels.Outputs(np.empty((K, M)), np.empty((K, M)), np.zeros((K, M), np.bool_), np.empty((K, M, d)),
                           np.empty((K, M, 0)), np.empty((K, M, 0)), np.empty((K, M, 0, d)))

    def go():
        _kernels.glm(kin, upd, meas, out)
        return out.theta

    return go


def _w2_numpy(w, data, seed, threads):
    X, y = data
    K, M, n, d, B, steps = w["K"], w["M"], w["n"], w["d"], w["B"], w["steps"]
    lam, a, beta = w["lam"], w["alpha"], w["beta"]
    kk = np.repeat(np.arange(K), M)[:, None]
    sn = math.sqrt(lam * lam / B) * beta

    def go():
        rng = np.random.default_rng(seed)
        th = np.zeros((K * M, d))
        for _ in range(steps):
            idx = rng.integers(0, n, size=(K * M, B))
            Xb = X[kk, idx]  # (C, B, d)
            r = np.einsum("cbd,cd->cb", Xb, th) - y[kk, idx]
            g = np.einsum("cb,cbd->cd", r, Xb) / B
            th = (1 - lam * a) * th - lam * g + sn * rng.standard_normal((K * M, d))
        return th

    return go


def _w2_c(w, data, seed, threads, lib):
    X, y = data
    K, M, d = w["K"], w["M"], w["d"]
    th = np.empty(K * M * d)

    def go():
        lib.w2_sgd(K, M, w["n"], d, _ptr(X), _ptr(y), w["lam"], w["B"], w["alpha"], w["beta"], w["steps"], seed,
                   threads, _ptr(th))
        return th

    return go


def _kernel_name(name, w):
    """The Numba kernel a workload runs."""
    from . import _kernels

    if name == "W1":
        return "_quad1d_langevin_lanes (32 chains in lockstep)"
    pick = _kernels.glm_kernel(w["d"], _kernels.ALGOS["sgd"], w["K"] * w["M"] * w["steps"])
    return f"_glm_minibatch_fixed (compiled for p = {w['d']})" if pick == "fixed" else "_glm_chains (generic p)"


_IMPL = {"W1": (_w1_data, _w1_numba, _w1_numpy, _w1_c), "W2": (_w2_data, _w2_numba, _w2_numpy, _w2_c)}


def _once(go) -> float:
    t0 = time.perf_counter()
    go()
    return time.perf_counter() - t0


def _time(go, repeats):
    go()  # warm-up: JIT compilation / caches / page faults stay out of the timings
    return [_once(go) for _ in range(repeats)]


def _time_paired(go_a, go_b, repeats):
    """(times of a, times of b): both warmed up, then `repeats` rounds of a and b back to back, so a slow
    spell of the machine (this VM's speed drifts by up to 2x within minutes) falls on both sides of a round."""
    go_a()
    go_b()
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(_once(go_a))
        tb.append(_once(go_b))
    return ta, tb


def paired_ratio(t_ref, t_own) -> float:
    """Throughput of `own` over that of `ref`: the median of the rounds' own ratios t_ref / t_own."""
    return statistics.median(r / o for r, o in zip(t_ref, t_own, strict=True))


def _stats(ts, work):
    thr = [work / t for t in ts]
    return {"throughput": statistics.median(thr), "throughput_min": min(thr), "throughput_max": max(thr),
            "seconds_median": statistics.median(ts)}


def run_bench(*, quick=False, repeats=3, threads=2, seed=0, numpy=True, c=True, log=None, symbolic=False) -> dict:
    """Run W1 and W2 with every implementation; return the JSON-ready record.

    Both the C reference and Numba (threading layer 'omp') run on libgomp. Its
    default lets idle worker threads spin after a parallel region, so whichever
    implementation runs next loses the cores to the other's spinning workers
    (measured: Numba W2 swung between 14 and 22 M chain-steps/s). Unless the
    user set OMP_WAIT_POLICY, the benchmark asks for passive waiting; it must be
    set before libgomp starts, so a process that already ran parallel code keeps
    its policy (recorded as omp_wait_policy)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import numba

    threads = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(threads)
    say = log or (lambda s: None)
    lib, cmsg = (None, "C reference not requested")
    tmp = tempfile.TemporaryDirectory(prefix="gapkit-bench-")
    if c:
        lib, cmsg = compile_reference(tmp.name)
        say(cmsg if lib is None else f"C reference compiled: {cmsg}")
    out = []
    try:
        for name, base in WORKLOADS.items():
            w = {**base, **(QUICK[name] if quick else {})}
            work = w["K"] * w["M"] * w["steps"]
            mk_data, f_nb, f_np, f_c = _IMPL[name]
            data = mk_data(w, seed)
            rec = {"name": name, "desc": w["desc"], "config": {k: v for k, v in w.items() if k != "desc"},
                   "chain_steps": work, "kernel": _kernel_name(name, w)}
            say(f"{name}: numba ...")
            go_nb = f_nb(w, data, seed, threads)
            if lib is not None:  # Numba and C timed in paired rounds (`_time_paired`), the ratio the rounds' median
                t_nb, t_c = _time_paired(go_nb, f_c(w, data, seed, threads, lib), repeats)
            else:
                t_nb, t_c = _time(go_nb, repeats), None
            nb = _stats(t_nb, work)
            rec.update(nb)
            rec["numba"] = nb
            rec["numpy"] = _stats(_time(f_np(w, data, seed, threads), max(1, repeats if quick else 1)), work) if numpy else None
            rec["c"] = _stats(t_c, work) if t_c is not None else None
            rec["ratio_vs_numpy"] = nb["throughput"] / rec["numpy"]["throughput"] if rec["numpy"] else None
            rec["ratio_vs_c"] = paired_ratio(t_c, t_nb) if t_c is not None else None
            say(f"{name}: numba {nb['throughput'] / 1e6:.1f} M chain-steps/s"
                + (f", numpy x{rec['ratio_vs_numpy']:.2f}" if rec["ratio_vs_numpy"] else "")
                + (f", C x{rec['ratio_vs_c']:.2f}" if rec["ratio_vs_c"] else ""))
            out.append(rec)
    finally:
        tmp.cleanup()
    if symbolic:  # a SymbolicModel's compiled kernel against the hand-written one (`_symbolic.bench_vs_builtin`)
        from ._symbolic import bench_vs_builtin

        for rec in bench_vs_builtin(quick=quick, repeats=repeats, seed=seed):
            say(f"{rec['name']}: SymbolicModel {rec['config']['model']} / built-in quad1d = x{rec['ratio']:.2f}")
            out.append(rec)
    return {
        "workloads": out,
        "backend": "numba",
        "threads": threads,
        "repeats": repeats,
        "quick": bool(quick),
        "c_reference": cmsg,
        "ratio_vs_c_method": "Numba and C timed in paired rounds (Numba, then C); the median of the rounds' ratios",
        "numpy_note": "NumPy: vectorised over chains, numpy Generator (PCG64, Ziggurat normals); "
                      "timed once per workload in full mode (it is the slow one)",
        "numba": numba.__version__,
        "numpy_version": np.__version__,
        "cpu_count": os.cpu_count(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }
