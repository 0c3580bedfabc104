"""``gapkit bench --backend torch``: throughput of the torch backend on whatever device is present.

1. Ensemble speed-up: samples/s of E MLP members on MNIST-1D trained as one
   vmap ensemble vs the same members one at a time (the sequential path), for
   the same steps (issue 5's target on a GPU: >= 10x at E = 64).
2. The width-32 pre-activation ResNet-18 on CIFAR-sized random tensors: time
   of a fixed number of SGD steps (momentum 0.9), samples/s, and on CUDA the
   achieved fraction of the device's bf16 / TF32 dense peak (FLOPs of one step
   counted by torch.utils.flop_counter; peaks from a small table of known
   devices, None when the device is not in it).

3. When torchsde is installed: the W1 workload of ``gapkit bench`` (1-D Langevin,
   Euler-Maruyama, Eq 17) on torchsde's ``sdeint`` (method "euler", diagonal Ito
   noise, float64, torch's CPU threads; 20,000 chains x W1's 2,000 steps) against the
   Numba kernel on the same chains and steps, with torchsde's default Brownian motion and with a
   tuned one; the record states torchsde's version and settings. Skipped (None) otherwise.

Warm-up (JIT, first vmap call, cuDNN autotuning) stays out of the timed region;
each figure is the median over `repeats` timed runs, with min and max, and the
configuration is recorded next to the numbers. The two ratios (the ensemble's speed-up,
Numba over torchsde) come from paired repeats, the sides timed back to back in each: a
ratio is the median of the repeats' own ratios, so a slow spell of the machine (this
kind of VM drifts 2-3x in single-thread speed over minutes) falls on both of its sides.
"""
from __future__ import annotations

import math
import statistics
import time

import numpy as np
import torch

__all__ = ["run_bench", "PEAK_TFLOPS"]

# Dense peak TFLOP/s (no sparsity) by device-name substring: (bf16, tf32).
PEAK_TFLOPS = {
    "H200": (989.0, 494.7),
    "H100 SXM": (989.0, 494.7),
    "H100 PCIe": (756.0, 378.0),
    "H100": (989.0, 494.7),
    "A100": (312.0, 156.0),
    "L40S": (362.0, 183.0),
    "RTX 3080": (119.0, 59.5),
}


def _opt(args, name, default):
    if isinstance(args, dict):
        v = args.get(name, default)
    else:
        v = getattr(args, name, default)
    return default if v is None else v


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _seconds(fn, device):
    """Wall seconds of one call of fn, the device's queued work included."""
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def _timed(fn, device, repeats):
    fn()  # warm-up
    return [_seconds(fn, device) for _ in range(repeats)]


def _stats(ts, samples):
    med = statistics.median(ts)
    return {"seconds_median": med, "seconds_min": min(ts), "seconds_max": max(ts),
            "samples_per_s": samples / med, "repeats": len(ts)}


def _ensemble_bench(device, dtype, E, steps, B, repeats, seed):
    from ._data import load_mnist1d
    from ._device import torch_generator
    from ._models import build_model, init_params
    from ._train import SGDConfig, _LoopRunner, _Members, _VmapRunner

    X, y = load_mnist1d(4000, seed=0)
    n = steps * B
    rng = np.random.default_rng(seed)
    tr = np.stack([rng.choice(len(y), n, replace=False) for _ in range(E)])
    te = tr[:, :B]
    cfg = SGDConfig(lr=0.05, batch=B, epochs=1, dtype=dtype, device=str(device))
    pdt = torch.float64 if dtype == "float64" else torch.float32
    Xt = torch.as_tensor(X, dtype=pdt, device=device)
    yt = torch.as_tensor(y, device=device)
    model = build_model("mlp", X.shape[1:], 10, hidden=[100, 100]).to(device=device, dtype=pdt)
    seeds = list(range(seed, seed + E))
    runs = {}
    for name, cls in (("vmap", _VmapRunner), ("loop", _LoopRunner)):
        mem = _Members(seeds, device)
        inits = [init_params(model, torch_generator(s["init"]), dtype=pdt, device=device) for s in mem.streams]
        r = cls(model, Xt, yt, torch.as_tensor(tr, device=device), torch.as_tensor(te, device=device), cfg, mem, inits, device)
        r.setup()
        idx = torch.randint(n, (E, r.S, B), generator=torch_generator(seed))
        runs[name] = (r, idx)
    # paired repeats (module docstring): vmap then loop, back to back, after a warm-up of each
    ts = {name: _timed(lambda r=r, idx=idx: r.epoch(0, idx), device, 0) for name, (r, idx) in runs.items()}
    for _ in range(repeats):
        for name, (r, idx) in runs.items():
            ts[name].append(_seconds(lambda r=r, idx=idx: r.epoch(0, idx), device))
    out = {}
    for name, (r, _) in runs.items():
        out[name] = _stats(ts[name], E * r.S * B)
        out[name]["gradient"] = getattr(r, "gradient", "autograd, one member at a time")
    out["pair_speedups"] = [lo / vm for vm, lo in zip(ts["vmap"], ts["loop"])]
    out["speedup"] = statistics.median(out["pair_speedups"])
    out["config"] = {"model": "mlp", "hidden": [100, 100], "dataset": "mnist1d", "members": E, "batch": B,
                     "steps": steps, "dtype": dtype}
    return out


def _resnet_bench(device, dtype, steps, B, repeats, seed, k=32):
    from ._device import precision_context, torch_generator
    from ._models import PreActResNet18, count_params, init_params

    g = torch_generator(seed)
    model = PreActResNet18(k=k, norm="group").to(device)
    with torch.no_grad():
        for name, p in init_params(model, g, device=device).items():
            model.get_parameter(name).copy_(p)
    x = torch.randn(B, 3, 32, 32, generator=g).to(device)
    yb = torch.randint(0, 10, (B,), generator=g).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), yb)
        loss.backward()
        opt.step()

    def run():
        with precision_context(dtype, device):
            for _ in range(steps):
                step()

    ts = _timed(run, device, repeats)
    res = _stats(ts, steps * B)
    res["seconds_per_step"] = res["seconds_median"] / steps
    res["config"] = {"model": "resnet18", "k": k, "norm": "group", "params": count_params(model), "batch": B,
                     "steps": steps, "dtype": dtype, "input": [3, 32, 32], "data": "random tensors"}
    if device.type == "cuda":
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as fc, precision_context(dtype, device):
            step()
        flops = fc.get_total_flops()
        name = torch.cuda.get_device_name(device)
        peak = next((v for key, v in PEAK_TFLOPS.items() if key in name), None)
        res["device_name"] = name
        res["flops_per_step"] = flops
        achieved = flops / res["seconds_per_step"] / 1e12
        res["achieved_tflops"] = achieved
        if peak is not None:
            ref = peak[0] if dtype == "bf16" else peak[1]
            res["peak_tflops"] = ref
            res["peak_kind"] = "bf16 dense" if dtype == "bf16" else "TF32 dense"
            res["fraction_of_peak"] = achieved / ref
    return res


NUMBA_PER_PAIR = 5  # the Numba side of one paired repeat of the torchsde comparison: the median of this many runs
QUIET_S = 0.25  # pause before Numba's runs: torch's OpenMP threads spin on after a parallel region (10 ms measured)
TORCHSDE_CHAINS = 20_000  # torchsde's chain-steps/s at W1's 2,000 steps: 2.16 / 2.18 / 2.37 M at 20k / 50k / 100k


def _torchsde_bench(repeats, seed, quick):
    """W1 (see `gapkit.sims.engine._bench.WORKLOADS`) on torchsde vs the Numba kernel: chain-steps/s of
    each and numba / torchsde, at W1's step count (2,000) on `TORCHSDE_CHAINS` chains (W1's 200,000 would
    take minutes per run; torchsde's throughput is within 10% of flat from 20k chains up, measured).

    The headline is `sdeint` as its documentation calls it: the default Brownian motion, a
    `BrownianInterval` with an LRU cache of 45 intervals, whose cost per step grows with the number of
    steps (20,000 chains: 6.3 M chain-steps/s at 50 steps, 2.8 M at 500, 2.0 M at 1,000 and 2,000). The
    record also times a tuned Brownian motion, `BrownianInterval(cache_size=None, dt=dt)` (unbounded
    cache, tree pre-split at the step), about 4x faster; its ratio is the one to quote against a torchsde
    user who tunes it. torchsde integrates to the last step only (no time averages; the Numba kernel
    accumulates them too, so both ratios understate Numba's lead)."""
    import importlib.util

    if importlib.util.find_spec("torchsde") is None:
        return None
    import numba
    import torchsde

    from gapkit.sims.engine import _bench as nb

    steps = 50 if quick else nb.WORKLOADS["W1"]["steps"]
    w = {**nb.WORKLOADS["W1"], "K": (250 if quick else TORCHSDE_CHAINS) // nb.WORKLOADS["W1"]["M"], "steps": steps,
         "burnin": steps // 4}
    data = nb._w1_data(w, seed)
    _, xbar, trs = data
    lam, a, dt = w["lam"], w["alpha"], w["dt"]
    xb = torch.as_tensor(np.repeat(xbar, w["M"]), dtype=torch.float64)[:, None]
    sd = torch.as_tensor(lam * np.sqrt(np.repeat(trs, w["M"]) + w["beta"] ** 2), dtype=torch.float64)[:, None]

    class Langevin(torch.nn.Module):  # d theta = -lam((theta - xbar) + alpha theta) ds + lam sqrt(S^2 + beta^2) dW
        noise_type, sde_type = "diagonal", "ito"

        def f(self, t, y):
            return -lam * ((y - xb) + a * y)

        def g(self, t, y):
            return sd

    sde, y0 = Langevin(), torch.zeros_like(xb)
    t1 = w["steps"] * dt

    def go(tuned, end=t1):
        span = torch.tensor([0.0, end], dtype=torch.float64)
        bm = (torchsde.BrownianInterval(t0=0.0, t1=end, size=tuple(y0.shape), dtype=torch.float64, cache_size=None,
                                        dt=dt) if tuned else None)
        with torch.no_grad():
            return torchsde.sdeint(sde, y0, span, method="euler", dt=dt, bm=bm)

    def seconds(fn):
        return _seconds(fn, torch.device("cpu"))

    # Paired repeats (module docstring): each times Numba (the median of NUMBA_PER_PAIR runs: one takes 0.1-0.3 s)
    # and then both torchsde solves back to back. Numba runs on quiet cores: after a pause (QUIET_S) for torch's OpenMP threads, which spin on for about 10 ms of
    # CPU after a parallel region
    work = w["K"] * w["M"] * w["steps"]
    go_nb = nb._w1_numba(w, data, seed, None)
    go_nb(), go(False, end=10 * dt), go(True, end=10 * dt)  # warm-up: JIT, torchsde's code paths
    runs = []
    for _ in range(repeats):
        time.sleep(QUIET_S)
        rnb = work / statistics.median(seconds(go_nb) for _ in range(NUMBA_PER_PAIR))
        runs.append((rnb, work / seconds(lambda: go(False)), work / seconds(lambda: go(True))))
    nbr, dflt, tuned = (statistics.median(r[i] for r in runs) for i in range(3))
    return {"torchsde": torchsde.__version__, "method": "euler", "noise_type": "diagonal", "sde_type": "ito",
            "brownian": "default (BrownianInterval, cache_size 45)", "dt": dt, "dtype": "float64",
            "threads": torch.get_num_threads(), "chains": w["K"] * w["M"], "steps": w["steps"],
            "torchsde_chain_steps_per_s": dflt, "numba_chain_steps_per_s": nbr,
            "numba_threads": numba.get_num_threads(),
            "numba_over_torchsde": statistics.median(r[0] / r[1] for r in runs),
            "tuned_brownian": "BrownianInterval(cache_size=None, dt=dt)", "tuned_chain_steps_per_s": tuned,
            "numba_over_tuned": statistics.median(r[0] / r[2] for r in runs), "repeats": repeats,
            "numba_repeats": NUMBA_PER_PAIR, "pairs": [dict(zip(("numba", "torchsde", "tuned"), r)) for r in runs]}


def run_bench(args) -> dict:
    """Run both benchmarks; `args` fields (all optional): device, dtype (default
    float32 on CPU; on CUDA the ResNet runs in tf32 and bf16), members (64),
    steps (ensemble steps; CPU default 10), resnet_steps (CPU default 2),
    repeats (3), seed (0), threads (CPU intra-op threads; default torch's), quick (smaller sizes)."""
    from ._device import resolve_device, torch_threads

    device = resolve_device(str(_opt(args, "device", "auto")))
    quick = bool(_opt(args, "quick", False))
    cuda = device.type == "cuda"
    E = int(_opt(args, "members", 8 if quick else 64))
    steps = int(_opt(args, "steps", 5 if quick else (50 if cuda else 10)))
    rsteps = int(_opt(args, "resnet_steps", 1 if quick else (20 if cuda else 2)))
    repeats = int(_opt(args, "repeats", 2 if quick else 3))
    seed = int(_opt(args, "seed", 0))
    dtype = str(_opt(args, "dtype", "float32"))
    threads = _opt(args, "threads", None)
    t0 = time.perf_counter()
    with torch_threads(None if threads is None else int(threads)):
        out = _run(device, dtype, E, steps, rsteps, repeats, seed, quick)
    out["wall_seconds"] = time.perf_counter() - t0
    return out


def _run(device, dtype, E, steps, rsteps, repeats, seed, quick):
    cuda = device.type == "cuda"
    out = {"backend": "torch", "device": str(device), "torch": torch.__version__,
           "threads": torch.get_num_threads()}
    out["ensemble"] = _ensemble_bench(device, dtype, E, steps, 32, repeats, seed)
    rb = 32 if not cuda else 256
    if cuda:
        out["resnet"] = {dt: _resnet_bench(device, dt, rsteps, rb, repeats, seed) for dt in ("tf32", "bf16")}
    else:
        out["resnet"] = {dtype: _resnet_bench(device, dtype, rsteps, 8 if quick else rb, repeats, seed)}
    out["torchsde_w1"] = _torchsde_bench(repeats, seed, quick)
    if not math.isfinite(out["ensemble"]["speedup"]):  # pragma: no cover
        out["ensemble"]["speedup"] = None
    return out
