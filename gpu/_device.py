"""Device and dtype policy of the torch backend (DESIGN.md, "dtype").

- ``--device auto|cpu|cuda``: ``auto`` takes CUDA when torch sees a GPU, else
  the CPU; asking for ``cuda`` where there is none is an error, never a silent
  fallback.
- dtype: networks train in float32 by default; ``tf32`` (float32 storage,
  TensorFloat-32 matmuls on CUDA) and ``bf16`` (bfloat16 autocast of the forward
  pass, float32 parameters and updates) are explicit speed options; ``float64``
  is what the checks against sims/ use. Every result records the dtype used.
"""
from __future__ import annotations

import contextlib

import torch

from gapkit.theory._validate import ArgumentError

__all__ = ["DEVICES", "DTYPES", "resolve_device", "resolve_dtype", "precision_context", "torch_generator", "torch_threads"]

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("float32", "float64", "tf32", "bf16")


def resolve_device(device: str = "auto") -> torch.device:
    """Map ``auto|cpu|cuda`` (or ``cuda:N``) to a `torch.device`.

    Raises ValueError naming --device when CUDA is asked for and absent.
    """
    if not isinstance(device, str):
        raise ArgumentError(f"--device must be one of {DEVICES} (got {device!r})")
    d = device.strip().lower()
    if d == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if d == "cpu":
        return torch.device("cpu")
    if d == "cuda" or d.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ArgumentError(f"--device {device}: CUDA is not available here (torch {torch.__version__}); use --device cpu or auto",
                                param="--device")
        return torch.device(d)
    raise ArgumentError(f"--device must be one of {DEVICES} (got {device!r})")


def resolve_dtype(dtype: str = "float32") -> torch.dtype:
    """Storage dtype of parameters for a dtype option (tf32 and bf16 store float32)."""
    if dtype not in DTYPES:
        raise ArgumentError(f"dtype must be one of {DTYPES} (got {dtype!r})")
    return torch.float64 if dtype == "float64" else torch.float32


@contextlib.contextmanager
def precision_context(dtype: str, device: torch.device):
    """Enable the speed option of `dtype` for the forward/backward passes inside.

    tf32: allow TF32 matmuls/convolutions (CUDA only; restored afterwards).
    bf16: autocast to bfloat16 (the parameters and the SGD update stay float32).
    """
    resolve_dtype(dtype)
    if dtype == "tf32" and device.type == "cuda":
        old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old
    elif dtype == "bf16":
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            yield
    else:
        yield


def torch_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """An explicit torch.Generator (library code never seeds torch globally)."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed) & ((1 << 63) - 1))
    return g


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run the body with `n` intra-op CPU threads (None: leave torch's setting), restoring it after.

    Tiny per-member networks are dominated by thread-pool hand-offs: on a busy
    2-core machine one thread is ~100x faster per small op than two.
    """
    if n is None:
        yield
        return
    from gapkit.theory._validate import check_int

    n = check_int("threads", n, 1)
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
