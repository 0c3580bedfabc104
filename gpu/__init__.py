"""gapkit.gpu: the torch backend (real networks, CPU or CUDA).

The public names below are re-exported lazily (PEP 562): importing
``gapkit.gpu`` (which the CLI does when the torch backend registers) must not import
torch, so gapkit works without it. Touching a torch-backed name imports torch
then; without torch installed that raises ImportError saying how to install it.
"""
from __future__ import annotations

import importlib
import importlib.util

# public name -> private module holding it
_EXPORTS = {
    # the backend's entry points and sweep presets (no torch at import)
    "sweep_point": "_plugin",
    "bench": "_plugin",
    "torch_sweep_spec": "_plugin",
    "SWEEP_PRESETS": "_plugin",
    "sweep_preset": "_plugin",
    # device / dtype policy
    "resolve_device": "_device",
    "resolve_dtype": "_device",
    "torch_threads": "_device",
    "torch_generator": "_device",
    # data
    "load_mnist1d": "_data",
    "load_digits": "_data",
    "load_cifar10": "_data",
    "load_dataset": "_data",
    "draw_split": "_data",
    # models
    "MLP": "_models",
    "SmallCNN": "_models",
    "LinearModel": "_models",
    "PreActResNet18": "_models",
    "build_model": "_models",
    "init_params": "_models",
    "count_params": "_models",
    "model_catalog": "_models",
    "PAPER_RESNET_PARAMS": "_models",
    "resnet_param_count_note": "_models",
    # your own network and data
    "register_data": "_user",
    "register_model": "_user",
    "load_user_data": "_user",
    # training
    "SGDConfig": "_train",
    "train_ensemble": "_train",
    "per_example_loss": "_train",
    # estimators
    "per_example_losses": "_estimators",
    "per_example_grads": "_estimators",
    "grad_noise_stats": "_estimators",
    "hessian_trace": "_estimators",
    "hessian_top_eigs": "_estimators",
    "hessian_esd": "_estimators",
    "hessian_diag": "_estimators",
    "ggn_diag": "_estimators",
    "layer_traces": "_estimators",
    "hessian_operator": "_estimators",
    "member_params": "_estimators",
    # summaries, sweep points, presets
    "paper_epochs": "_summary",
    "steady_value": "_summary",
    "summarize_ensemble": "_summary",
    "run_point": "_run",
    "PRESETS": "_run",
    "linreg_sgd_moments": "_cross_backend",
    # indicators of the related papers on networks (issue 6)
    "hessian_slq": "_indicators",
    "sharpness_dimension_slq": "_indicators",
    "gradient_noise_stats": "_indicators",
    "inconsistency_logits": "_indicators",
    "instability_logits": "_indicators",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if mod != "_plugin" and importlib.util.find_spec("torch") is None:
        from gapkit.sims._settings import install_hint

        raise ImportError(f"gapkit.gpu.{name} needs torch: {install_hint('torch')}")
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
