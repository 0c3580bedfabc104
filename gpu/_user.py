"""Your own network and data in the torch backend's data-averaged sweep.

Models. A sweep point's ``model`` is a built-in name (`gapkit.gpu._models.MODEL_NAMES`) or
- ``"package.module:Class"``: the class is imported by that name (the one place gapkit imports a
  module the user names, because the user asked for it with ``--model``) and built as
  ``Class(**model_kwargs)`` (JSON values: ``--set key=value``); ``input_shape`` and ``num_classes``
  are passed too when its constructor takes parameters of those names and model_kwargs does not;
- ``"mem:NAME"``: a class or factory registered in this process with `register_model`.
The module must be vmap-compatible (torch.func) to train on the vectorized path; modules with
BatchNorm train on the sequential path (one member at a time), as the built-in BatchNorm ResNet.

Data. A sweep point's ``dataset`` is a built-in name, or
- a path ending in ``.npz`` holding arrays ``X`` (N, ...) float and ``y`` (N,) integer class labels
  0..C-1; read with ``allow_pickle=False`` (no object arrays: nothing read from disk executes code);
- ``"mem:NAME"``: arrays (numpy or torch tensors) registered in this process with `register_data`.
Either is the *pool* the sweep draws its train/test sets from (scheme split or sample, n_train,
n_test). ``mem:`` names live in the registering process only: run such sweeps with ``workers=1``.
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import re
from pathlib import Path

import numpy as np

from gapkit.theory._validate import ArgumentError

__all__ = ["is_user_model", "is_user_dataset", "register_data", "register_model", "load_user_data",
           "build_user_model", "has_batchnorm"]

_SPEC = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
_MEM = re.compile(r"^mem:[\w.-]+$")
_DATA: dict = {}
_MODELS: dict = {}


def is_user_model(name) -> bool:
    """True for "package.module:Class" or "mem:NAME" (else a built-in name)."""
    return isinstance(name, str) and ":" in name


def is_user_dataset(name) -> bool:
    """True for a path ending in .npz or "mem:NAME" (else a built-in name)."""
    return isinstance(name, (str, Path)) and (str(name).endswith(".npz") or str(name).startswith("mem:"))


def _checked_arrays(X, y, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(X float64, y int64) after the checks every pool passes: finite X with >= 2 axes, integer y >= 0."""
    X = np.asarray(X.detach().cpu().numpy() if hasattr(X, "detach") else X)
    y = np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y)
    if X.dtype.kind not in "fiu" or y.dtype.kind not in "fiu":
        raise ArgumentError(f"{where}: X and y must be numeric arrays (got {X.dtype}, {y.dtype})", param="dataset")
    if X.ndim < 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] < 2:
        raise ArgumentError(f"{where}: X must be (N, ...) with N >= 2 and y (N,) (got {X.shape}, {y.shape})",
                            param="dataset")
    X = X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise ArgumentError(f"{where}: X must be finite", param="dataset")
    if not np.all(np.isfinite(y)) or np.any(y < 0) or np.any(y != np.round(y)):
        raise ArgumentError(f"{where}: y must hold integer class labels 0..C-1", param="dataset")
    if X.ndim == 2:
        X = X[:, None, :]  # the channel axis the built-in pools have
    return X, y.astype(np.int64)


def register_data(X, y, name: str | None = None) -> str:
    """Register an in-memory pool (numpy arrays or torch tensors) and return its dataset name "mem:NAME"
    (default NAME: a hash of the contents)."""
    Xc, yc = _checked_arrays(X, y, "register_data")
    if name is None:
        name = hashlib.sha256(Xc.tobytes() + yc.tobytes()).hexdigest()[:12]
    key = f"mem:{name}"
    if not _MEM.match(key):
        raise ArgumentError(f"name must be letters, digits, '_', '.', '-' (got {name!r})", param="name")
    _DATA[key] = (Xc, yc)
    return key


def register_model(factory, name: str | None = None) -> str:
    """Register a model class (or any callable returning an nn.Module) and return its model name "mem:NAME"."""
    if not callable(factory):
        raise ArgumentError("factory must be an nn.Module class or a callable returning one", param="model")
    key = f"mem:{name or getattr(factory, '__name__', 'model')}"
    if not _MEM.match(key):
        raise ArgumentError(f"name must be letters, digits, '_', '.', '-' (got {name!r})", param="name")
    _MODELS[key] = factory
    return key


def load_user_data(name) -> tuple[np.ndarray, np.ndarray]:
    """The pool (X float64 with a channel axis, y int64) of a ".npz" path or a "mem:NAME" registration."""
    name = str(name)
    if name.startswith("mem:"):
        if name not in _DATA:
            raise ArgumentError(f"dataset {name!r} is not registered in this process (register_data; run the sweep "
                                "with workers=1)", param="dataset")
        return _DATA[name]
    path = Path(name)
    if not path.is_file():
        raise ArgumentError(f"dataset file {name!r} does not exist", param="dataset")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = {"X", "y"} - set(f.files)
            if missing:
                raise ArgumentError(f"{name}: the .npz must hold arrays X and y (missing {sorted(missing)})",
                                    param="dataset")
            X, y = f["X"], f["y"]
    except ValueError as exc:  # object arrays need pickle: refused
        if isinstance(exc, ArgumentError):
            raise
        raise ArgumentError(f"{name}: not a plain-array .npz ({exc})", param="dataset") from None
    except (OSError, EOFError) as exc:
        raise ArgumentError(f"{name}: unreadable .npz ({exc})", param="dataset") from None
    return _checked_arrays(X, y, name)


def _factory(name: str):
    if name.startswith("mem:"):
        if name not in _MODELS:
            raise ArgumentError(f"model {name!r} is not registered in this process (register_model; run the sweep "
                                "with workers=1)", param="model")
        return _MODELS[name]
    if not _SPEC.match(name):
        raise ArgumentError(f"model must be a built-in name or 'package.module:Class' (got {name!r})", param="model")
    mod_name, cls_name = name.split(":")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ArgumentError(f"model {name!r}: cannot import {mod_name!r} ({exc})", param="model") from None
    if not hasattr(mod, cls_name):
        raise ArgumentError(f"model {name!r}: {mod_name!r} has no {cls_name!r}", param="model")
    return getattr(mod, cls_name)


def build_user_model(name: str, input_shape, num_classes: int, **kwargs):
    """The nn.Module of a user model name (module docstring), built with kwargs (plus input_shape /
    num_classes where its constructor takes them)."""
    from torch import nn

    factory = _factory(name)
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    extra = {"input_shape": tuple(input_shape), "num_classes": int(num_classes)}
    kwargs = {**{k: v for k, v in extra.items() if k in params and k not in kwargs}, **kwargs}
    try:
        model = factory(**kwargs)
    except TypeError as exc:
        raise ArgumentError(f"model {name!r}: {exc}", param="model_kwargs") from None
    if not isinstance(model, nn.Module):
        raise ArgumentError(f"model {name!r} must build a torch.nn.Module (got {type(model).__name__})", param="model")
    return model


def has_batchnorm(model) -> bool:
    """True when the module holds BatchNorm layers (they train on the sequential path)."""
    from torch.nn.modules.batchnorm import _BatchNorm

    return any(isinstance(m, _BatchNorm) for m in model.modules())
