"""`gapkit sweep`: a temperature sweep with the Eq 1 fit and predictions A, B, C,
on any registered backend (`gapkit.sims._backends`): the options common to
every backend are here, each backend adds its own (in its own group of
``--help``) and may add aliases (`sweep_alias`).

Light at import: the simulator, scipy and matplotlib load inside `run`.
"""
from __future__ import annotations

import argparse
import functools
import sys

from ._args import float_list, int_at_least, int_list, limited, unit_interval
from ._main import Command, UsageError, emit_json

from gapkit.sims._settings import ALGOS as _ALGOS
from gapkit.sims._settings import MAX_SEED
from gapkit.sims._settings import MODELS as _MODELS


def _add_arguments(p: argparse.ArgumentParser, *, model_required: bool = True, defaults: dict | None = None) -> None:
    from gapkit.sims._backends import backends

    bks = backends()
    presets = tuple(dict.fromkeys(name for b in bks for name in b.presets))
    p.add_argument("--model", required=model_required, metavar="M",
                   help=f"toy model: {', '.join(_MODELS)} (torch backend: its network, e.g. mlp)"
                   + ("" if model_required else "; default: the preset's"))
    p.add_argument("--algo", choices=_ALGOS, default="sgd",
                   help="sgd (Eq 15), langevin (Eq 17, Euler-Maruyama) or momentum (Eq 16)")
    p.add_argument("--cosine", action="store_true", help="cosine learning-rate schedule (T from the initial lr)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--lr-grid", type=float_list("--lr-grid", key="lr"), metavar="L1,L2,...", help="learning rates (T = lr/B)")
    g.add_argument("--T-grid", type=float_list("--T-grid", key="T"), metavar="T1,T2,...", help="temperatures (lr = T B)")
    p.add_argument("--batch-grid", type=int_list("--batch-grid", key="batch"), metavar="B1,B2,...",
                   help="batch sizes, integers >= 1")
    p.add_argument("--preset", choices=presets, default="smoke",
                   help="grid, replicates and run length (explicit flags override it); smoke: under a minute. "
                   + "; ".join(f"{b.name}: {', '.join(b.presets)}" for b in bks if b.presets))
    p.add_argument("--backend", choices=tuple(b.name for b in bks), default="numba",
                   help="where runs are computed: numba (the toy models) or a registered backend such as torch "
                        "(networks; needs the gpu extra)")
    p.add_argument("--seeds", type=int_at_least("--seeds", 1), help="independent runs per grid point")
    p.add_argument("--datasets", type=int_at_least("--datasets", 2), help="data sets per run (K)")
    p.add_argument("--chains", type=int_at_least("--chains", 1), help="chains per data set (M)")
    p.add_argument("--n", type=int_at_least("--n", 1), help="training examples per data set")
    p.add_argument("--dim", type=int_at_least("--dim", 1), help="parameter dimension")
    p.add_argument("--alpha", type=limited("--alpha", "alpha"), help="weight decay alpha")
    p.add_argument("--beta", type=limited("--beta", "beta"), help="added noise scale beta (Eq 15)")
    p.add_argument("--momentum", type=unit_interval("--momentum"), help="momentum mu (default 0.9 with --algo momentum)")
    p.add_argument("--time", type=limited("--time", "time"), help="rescaled measuring time lr x updates per run")
    p.add_argument("--burn-time", type=limited("--burn-time", "burn_time"), help="rescaled burn-in time lr x updates")
    p.add_argument("--max-steps", type=int_at_least("--max-steps", 1, 400_000_000), help="cap on updates per run (capped runs are marked)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", type=_key_value,
                   help="extra model setting passed to the backend (e.g. h=2, input_dim=5, features=cos; "
                        "torch: dataset=mnist1d, n_train=1000); VALUE is read as JSON when it parses")
    p.add_argument("--indicators", action="store_true",
                   help="also compute the backend's indicators (ind_* columns for `gapkit score`): the toy "
                   "indicators, or the network indicators at each run's end")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask distributed scheduler address (default: local pool)")
    p.add_argument("--workers", type=int_at_least("--workers", 1, 1024),
                   help="local worker processes (default: all cores; 1 runs in this process)")
    p.add_argument("--out", required=True, metavar="DIR", help="results store (resumed if it exists)")
    p.add_argument("--seed", type=int_at_least("--seed", 0, MAX_SEED), default=0, help="root seed")
    p.add_argument("--pairing", choices=("paired", "fresh"), default="paired",
                   help="paired: common random numbers (draw k and chain m the same at every grid point; findings "
                        "on paired differences); fresh: new draws at every grid point (unpaired tests)")
    p.add_argument("--no-figures", action="store_true", help="skip the figure panels")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    owners = {}
    for b in bks:
        if b.sweep_options is not None:
            rec = _Recorder(p.add_argument_group(f"{b.name} backend"))
            b.sweep_options(rec)
            owners[b.name] = rec.actions
    p.set_defaults(backend_options=owners, **(defaults or {}))


class _Recorder:
    """An argparse group that remembers the actions a backend adds to it."""

    def __init__(self, group):
        self.group, self.actions = group, []

    def add_argument(self, *args, **kwargs):
        action = self.group.add_argument(*args, **kwargs)
        self.actions.append(action)
        return action


def _key_value(s: str):
    import json

    key, sep, val = s.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"--set must be KEY=VALUE (got {s!r})")
    try:
        return key.strip(), json.loads(val)
    except ValueError:
        return key.strip(), val


def _spec(args):
    """The sweep spec the arguments ask for, on the backend they name."""
    from gapkit.sims._backends import get_backend
    from gapkit.sims.sweep._spec import make_spec

    b = get_backend(args.backend)
    if args.preset not in b.presets:
        raise UsageError(f"--preset must be one of {', '.join(b.presets)} with --backend {b.name} (got {args.preset})")
    for owner, actions in args.backend_options.items():
        given = [a.option_strings[0] for a in actions if owner != b.name and getattr(args, a.dest) != a.default]
        if given:
            raise UsageError(f"{given[0]} is for --backend {owner} (got --backend {b.name})")
    kw = dict(algo=args.algo, cosine=bool(args.cosine) or None, T_grid=args.T_grid, lr_grid=args.lr_grid,
              batch_grid=args.batch_grid, seeds=args.seeds, datasets=args.datasets, chains=args.chains, n=args.n,
              dim=args.dim, alpha=args.alpha, beta=args.beta, momentum=args.momentum, time=args.time,
              burn_time=args.burn_time, max_steps=args.max_steps, indicators=bool(args.indicators) or None,
              root_seed=args.seed, pairing=args.pairing)
    kwargs = dict(args.set)
    if b.sweep_settings is not None:
        own = dict(b.sweep_settings(args))
        kwargs.update(own.pop("model_kwargs", {}))
        kw.update(own)
    return make_spec(args.model, preset=args.preset, backend=b.name, model_kwargs=kwargs or None, **kw)


def _run(args: argparse.Namespace) -> int:
    from gapkit.sims.sweep._runner import run_sweep

    spec = _spec(args)
    summary = run_sweep(spec, args.out, scheduler=args.scheduler, workers=args.workers,
                        progress=True, figures=not args.no_figures)
    if args.json:
        emit_json(summary)
        return 0
    fit = summary["eq1_fit"]
    w = sys.stdout.write
    w(f"runs: {summary['runs_total']} total, {summary['runs_reused']} reused, {summary['runs_computed']} computed "
      f"({summary['executor']}, {summary['wall_seconds']:.1f} s); not at steady state: {summary['not_steady']} "
      f"(findings judge {summary['temperatures_judged']} temperatures, {summary['pairing']} draws)\n")
    for line in not_steady_lines(args.out):
        w(f"  not steady: {line}\n")
        sys.stderr.write(f"gapkit sweep: warning: not steady: {line}\n")
    if fit["status"] == "ok":
        w(f"Eq 1 fit: a={fit['a']:.4g}±{fit['a_se']:.2g} b={fit['b']:.4g}±{fit['b_se']:.2g} "
          f"c={fit['c']:.4g}±{fit['c_se']:.2g} R^2={fit['r2']:.3f}\n")
    else:
        w(f"Eq 1 fit: {fit['status']} ({fit['reason']})\n")
    for k in ("A", "B", "C", "collapse"):
        f = summary[k]
        how = f"; {f['method']}" if f.get("method") else ""
        w(f"{f['prediction']}: {f['holds']} ({f['reason']}{how})\n")
    t_opt = summary["T_opt"]
    w(f"T_opt (interior test-loss minimum, parabola in log T; only where B holds): "
      f"{'none found on this grid' if t_opt is None else f'{t_opt:.4g}'}; "
      f"table: {summary['table']} (gapkit columns explains its columns)\n")
    return 0


COMMAND = Command(
    name="sweep",
    help="temperature sweep: gap, test and train loss against T = lr/B, Eq 1 fit, predictions A/B/C",
    add_arguments=_add_arguments,
    run=_run,
)


def not_steady_lines(out, limit: int = 10) -> list[str]:
    """One line per reason a stored run is not steady (unstable chains, the
    run-length cap, the verdict's reasons), with the temperatures it applies
    to; at most `limit` lines."""
    from gapkit.sims.sweep._store import ResultsStore

    why: dict[str, list] = {}
    for rec in ResultsStore(out).records():
        res = rec["result"]
        if res.get("steady") is not False:
            continue
        reasons = [res.get("stability")] if res.get("stable") is False else []
        if res.get("capped"):
            reasons.append("the run hit --max-steps before its rescaled time (capped)")
        if not reasons:
            reasons.append(res.get("eq_reasons") or "the drift test or the effective sample size")
        for r in reasons:
            why.setdefault(r, []).append(rec["config"].get("T"))
    lines = [f"{len(Ts)} run(s) at T = {', '.join(f'{t:g}' for t in sorted(set(Ts)) if t is not None)}: {r}"
             for r, Ts in why.items()]
    return lines[:limit] + ([f"... and {len(lines) - limit} more reasons"] if len(lines) > limit else [])


def sweep_alias(name: str, *, backend: str, help: str, description: str = "", **defaults) -> Command:
    """A command that is `gapkit sweep` with other defaults (e.g. `--backend`):
    the same options, run and output; --model defaults to the preset's."""
    return Command(name=name, help=help, description=description, run=_run,
                   add_arguments=functools.partial(_add_arguments, model_required=False,
                                                   defaults={"backend": backend, "model": None, **defaults}))
