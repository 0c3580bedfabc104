"""Networks of the torch backend: linear, MLP, small CNN, width-k pre-activation ResNet-18.

The ResNet is the width-k PreActResNet-18 of the double-descent work
(Nakkiran et al. 2021, ``resnet18k.py``, itself kuangliu's pytorch-cifar
PreActResNet): a 3x3 stem conv with k filters, four stages of two
pre-activation basic blocks with widths k, 2k, 4k, 8k (strides 1, 2, 2, 2),
global average pooling and a linear classifier; convolutions have no bias.

Parameter count at k = 32 (10 classes): 2,796,202 -- exactly the paper's
number (Figure 1 / Section 3). The paper's text speaks of "32, 64, 128" filters
in the first three layers; the count only matches with the fourth stage of
8k = 256 filters as well, and with *no* normalization after the last stage
(the resnet18k variant with a final norm layer has 512 more parameters,
``final_norm=True``). See `resnet_param_count_note`.

Normalization under vmap: BatchNorm keeps running statistics (in-place buffer
updates) and couples the examples of a batch, so it cannot run inside
torch.func.vmap over members. ``norm="group"`` (default) uses GroupNorm, which
has the same affine parameters per channel (hence the same parameter count)
and no running statistics; ``norm="batch"`` gives the original BatchNorm model
for the sequential (one member at a time) training path; ``norm="none"`` drops
normalization.

Ghost batch norm (Hoffer, Hubara & Soudry 2017, "Train longer, generalize
better"): `GhostBatchNorm1d` / `GhostBatchNorm2d` normalise each chunk of
``ghost_batch`` consecutive examples of a training batch with that chunk's own
statistics (the running statistics are updated once per chunk); at evaluation
they are plain BatchNorm. `use_ghost_batch_norm` swaps every BatchNorm1d/2d of a
model for its ghost version (config key ``ghost_batch`` of the torch backend).

Initialization is PyTorch's default law (weights and biases of linear and conv
layers U(-1/sqrt(fan_in), 1/sqrt(fan_in)); norm scales 1, shifts 0), drawn from
an explicit torch.Generator (`init_params`), never from the global stream.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from gapkit.theory._validate import ArgumentError

__all__ = [
    "MLP",
    "SmallCNN",
    "LinearModel",
    "PreActResNet18",
    "build_model",
    "init_params",
    "count_params",
    "model_catalog",
    "MODEL_NAMES",
    "PAPER_RESNET_PARAMS",
    "resnet_param_count_note",
    "GhostBatchNorm1d",
    "GhostBatchNorm2d",
    "use_ghost_batch_norm",
]

PAPER_RESNET_PARAMS = 2_796_202
MODEL_NAMES = ("linear", "mlp", "cnn", "resnet18")
NORMS = ("group", "batch", "none")


def _flat_dim(shape) -> int:
    return int(math.prod(shape))


class LinearModel(nn.Module):
    """theta' x + b on flattened inputs (out_features=1: regression)."""

    def __init__(self, input_shape, out_features: int = 1, bias: bool = False):
        super().__init__()
        self.fc = nn.Linear(_flat_dim(input_shape), out_features, bias=bias)

    def forward(self, x):
        return self.fc(x.flatten(1))


class MLP(nn.Module):
    """Fully connected ReLU network on flattened inputs. norm="batch" puts a
    BatchNorm1d between each hidden layer and its ReLU (sequential training
    path; the layer `use_ghost_batch_norm` turns into ghost batch norm)."""

    def __init__(self, input_shape, num_classes: int = 10, hidden=(100, 100), norm: str = "none"):
        super().__init__()
        if norm not in ("none", "batch"):
            raise ArgumentError(f"norm must be 'none' or 'batch' for model 'mlp' (got {norm!r})", param="norm")
        dims = [_flat_dim(input_shape), *[int(h) for h in hidden]]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(b) for b in dims[1:]) if norm == "batch" else None
        self.out = nn.Linear(dims[-1], num_classes)

    def forward(self, x):
        h = x.flatten(1)
        for i, lin in enumerate(self.hidden):
            h = lin(h)
            h = F.relu(self.norms[i](h) if self.norms is not None else h)
        return self.out(h)


class SmallCNN(nn.Module):
    """Two ReLU conv layers (1-D for (C, L) inputs, 2-D for (C, H, W)), global
    average pooling, a linear head. No normalization, so it runs under vmap."""

    def __init__(self, input_shape, num_classes: int = 10, width: int = 32, kernel: int = 3):
        super().__init__()
        conv = nn.Conv1d if len(input_shape) == 2 else nn.Conv2d
        c = int(input_shape[0])
        self.conv1 = conv(c, width, kernel, padding=kernel // 2)
        self.conv2 = conv(width, width, kernel, stride=2, padding=kernel // 2)
        self.out = nn.Linear(width, num_classes)

    def forward(self, x):
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        return self.out(h.flatten(2).mean(-1))


class _Ghost:
    """Ghost batch norm forward: in training, BatchNorm over each chunk of
    ghost_batch examples (the last chunk may be smaller); a batch of at most
    ghost_batch examples is one chunk (plain BatchNorm)."""

    ghost_batch: int

    def forward(self, x):
        if not self.training or x.shape[0] <= self.ghost_batch:
            return super().forward(x)
        return torch.cat([super(_Ghost, self).forward(c) for c in x.split(self.ghost_batch)])

    def extra_repr(self):
        return f"{super().extra_repr()}, ghost_batch={self.ghost_batch}"


class GhostBatchNorm1d(_Ghost, nn.BatchNorm1d):
    """BatchNorm1d with statistics per virtual batch of ``ghost_batch`` examples (Hoffer et al. 2017)."""

    def __init__(self, num_features: int, ghost_batch: int, **kwargs):
        from gapkit.theory._validate import check_int

        super().__init__(num_features, **kwargs)
        self.ghost_batch = check_int("ghost_batch", ghost_batch, 1)


class GhostBatchNorm2d(_Ghost, nn.BatchNorm2d):
    """BatchNorm2d with statistics per virtual batch of ``ghost_batch`` examples (Hoffer et al. 2017)."""

    def __init__(self, num_features: int, ghost_batch: int, **kwargs):
        from gapkit.theory._validate import check_int

        super().__init__(num_features, **kwargs)
        self.ghost_batch = check_int("ghost_batch", ghost_batch, 1)


def use_ghost_batch_norm(model: nn.Module, ghost_batch: int) -> nn.Module:
    """`model` with every BatchNorm1d / BatchNorm2d replaced, in place, by its
    ghost version with chunks of ``ghost_batch`` examples (same settings,
    parameters and running statistics). ArgumentError (naming ghost_batch) when
    the model has no BatchNorm layer: there would be nothing to apply it to."""
    from gapkit.theory._validate import check_int

    g = check_int("ghost_batch", ghost_batch, 1)
    swapped = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            kind = {nn.BatchNorm1d: GhostBatchNorm1d, nn.BatchNorm2d: GhostBatchNorm2d}.get(type(child))
            if kind is None:
                continue
            new = kind(child.num_features, g, eps=child.eps, momentum=child.momentum, affine=child.affine,
                       track_running_stats=child.track_running_stats)
            new.load_state_dict(child.state_dict())
            new.to(next(iter(child.state_dict().values())).device if child.state_dict() else "cpu")
            setattr(parent, name, new)
            swapped += 1
    if not swapped and not any(isinstance(m, _Ghost) for m in model.modules()):
        raise ArgumentError("ghost_batch needs a model with BatchNorm layers (e.g. resnet18 with norm='batch')",
                            param="ghost_batch")
    return model


def _norm(kind: str, c: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "group":
        g = min(32, max(1, c // 4))
        while c % g:
            g -= 1
        return nn.GroupNorm(g, c)
    return nn.Identity()


class _PreActBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, norm: str):
        super().__init__()
        self.n1 = _norm(norm, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.n2 = _norm(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride, bias=False) if (stride != 1 or cin != cout) else None

    def forward(self, x):
        out = F.relu(self.n1(x))
        sc = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.n2(out)))
        return out + sc


class PreActResNet18(nn.Module):
    """Width-k pre-activation ResNet-18 (stage widths k, 2k, 4k, 8k)."""

    def __init__(self, input_shape=(3, 32, 32), num_classes: int = 10, k: int = 32, norm: str = "group", final_norm: bool = False):
        super().__init__()
        if norm not in NORMS:
            raise ArgumentError(f"norm must be one of {NORMS} (got {norm!r})")
        k = int(k)
        self.stem = nn.Conv2d(int(input_shape[0]), k, 3, padding=1, bias=False)
        blocks, cin = [], k
        for w, s in ((k, 1), (2 * k, 2), (4 * k, 2), (8 * k, 2)):
            blocks += [_PreActBlock(cin, w, s, norm), _PreActBlock(w, w, 1, norm)]
            cin = w
        self.blocks = nn.Sequential(*blocks)
        self.final = _norm(norm, 8 * k) if final_norm else None
        self.out = nn.Linear(8 * k, num_classes)

    def forward(self, x):
        h = self.blocks(self.stem(x))
        if self.final is not None:
            h = F.relu(self.final(h))
        return self.out(h.flatten(2).mean(-1))


def build_model(name: str, input_shape, num_classes: int = 10, **kwargs) -> nn.Module:
    """A model by name ('linear', 'mlp', 'cnn', 'resnet18') for inputs of shape
    `input_shape` (without the batch axis)."""
    input_shape = tuple(int(s) for s in input_shape)
    # torch's layer constructors draw a throw-away initialization from the global
    # stream; fork it so building a model leaves the caller's stream untouched
    # (the parameters actually used come from `init_params` and a Generator).
    with torch.random.fork_rng(devices=[]):
        return _build(name, input_shape, num_classes, **kwargs)


def _build(name, input_shape, num_classes, **kwargs):
    from ._user import build_user_model, is_user_model

    if is_user_model(name):  # "package.module:Class" or "mem:NAME": your own network (`gapkit.gpu._user`)
        return build_user_model(name, input_shape, num_classes, **kwargs)
    if name == "linear":
        return LinearModel(input_shape, **kwargs)
    if name == "mlp":
        return MLP(input_shape, num_classes, **kwargs)
    if name == "cnn":
        if len(input_shape) not in (2, 3):
            raise ArgumentError(f"input_shape must be (C, L) or (C, H, W) for model 'cnn' (got {input_shape})")
        return SmallCNN(input_shape, num_classes, **kwargs)
    if name == "resnet18":
        if len(input_shape) != 3:
            raise ArgumentError(f"input_shape must be (C, H, W) for model 'resnet18' (got {input_shape})")
        return PreActResNet18(input_shape, num_classes, **kwargs)
    raise ArgumentError(f"model must be one of {MODEL_NAMES} (got {name!r})")


def count_params(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


@torch.no_grad()
def init_params(model: nn.Module, generator: torch.Generator, *, dtype=None, device=None) -> dict:
    """Fresh parameters of `model` under PyTorch's default initialization law,
    drawn from `generator`: {name: tensor} (the model itself is not modified)."""
    out = {}
    for mname, mod in model.named_modules():
        own = dict(mod.named_parameters(recurse=False))
        if not own:
            continue
        pre = f"{mname}." if mname else ""
        is_norm = isinstance(mod, (nn.GroupNorm, nn.BatchNorm2d, nn.BatchNorm1d, nn.LayerNorm))
        fan_in = own["weight"][0].numel() if ("weight" in own and own["weight"].ndim > 1) else None
        for pname, p in own.items():
            dt = dtype or p.dtype
            if is_norm:
                t = torch.ones(p.shape, dtype=dt) if pname == "weight" else torch.zeros(p.shape, dtype=dt)
            else:
                bound = 1.0 / math.sqrt(fan_in) if fan_in else 1.0
                t = (torch.rand(p.shape, generator=generator, dtype=torch.float64) * 2 - 1) * bound
                t = t.to(dt)
            out[pre + pname] = t.to(device) if device is not None else t
    return out


def resnet_param_count_note(k: int = 32) -> str:
    n = count_params(PreActResNet18(k=k))
    return (
        f"PreActResNet-18 k={k}: {n:,} parameters (paper: {PAPER_RESNET_PARAMS:,}); "
        "identical with stage widths k,2k,4k,8k and no norm after the last stage "
        "(+{:,} with final_norm=True); GroupNorm has the same parameter count as BatchNorm".format(
            count_params(PreActResNet18(k=k, final_norm=True)) - n
        )
    )


# name, kwargs, input_shape, what it is for
_CATALOG = (
    ("linear", {}, (8,), "toy linear regression (cross-backend check)"),
    ("mlp", {"hidden": [100, 100]}, (1, 40), "MNIST-1D default"),
    ("mlp", {"hidden": [32]}, (1, 40), "MNIST-1D smoke preset"),
    ("cnn", {"width": 32}, (1, 40), "MNIST-1D small CNN"),
    ("cnn", {"width": 16}, (1, 8, 8), "sklearn digits small CNN"),
    ("resnet18", {"k": 32, "norm": "group"}, (3, 32, 32), "paper's ResNet (k=32), GroupNorm for vmap"),
    ("resnet18", {"k": 32, "norm": "batch"}, (3, 32, 32), "paper's ResNet (k=32), BatchNorm, sequential path"),
    ("resnet18", {"k": 64, "norm": "group"}, (3, 32, 32), "standard width PreActResNet-18"),
)


def model_catalog() -> list[dict]:
    """Every model with its default and documented configurations (for `gapkit models`)."""
    rows = []
    for name, kw, shape, what in _CATALOG:
        m = build_model(name, shape, **kw)
        row = {"name": name, "kwargs": dict(kw), "params": count_params(m), "input_shape": list(shape), "note": what}
        if name == "resnet18" and kw.get("k") == 32:
            row["paper_params"] = PAPER_RESNET_PARAMS
        rows.append(row)
    return rows
