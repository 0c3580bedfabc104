"""`gapkit simulate`: one ensemble (K data sets x M chains) to the steady state.

Prints the data-averaged train loss, test loss and gap with 95% half-widths,
the exact theory where known, and the diverged count (divergence is reported,
not an error: a warning goes to stderr).
"""
from __future__ import annotations

import argparse
import sys

from ._args import int_at_least, limited, unit_interval
from ._main import Command, UsageError, emit_json
from gapkit.sims._settings import ALGOS, MAX_SEED, MODELS, QUADRATIC_MODELS, SCHEMES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=MODELS, default="quadratic1d", help="toy model (default quadratic1d)")
    p.add_argument("--algo", choices=ALGOS, default="sgd", help="langevin (Eq 17, Euler-Maruyama), sgd (Eq 15), momentum (Eq 16)")
    p.add_argument("--cosine", action="store_true", help="cosine schedule lam_t = lr cos(pi t / (2 t_f))")
    p.add_argument("--n", type=int_at_least("--n", 1), default=50, help="training set size n")
    p.add_argument("--dim", type=int_at_least("--dim", 1), default=1, help="parameter dimension d (rfridge: features)")
    p.add_argument("--data-mean", type=limited("--data-mean", "data_mean"), default=0.0, help="mean of each input coordinate")
    p.add_argument("--data-std", type=limited("--data-std", "data_std"), default=1.0, help="std of each input coordinate")
    p.add_argument("--noise-std", type=limited("--noise-std", "noise_std"), default=0.5, help="label noise std (linreg, rfridge)")
    p.add_argument("--alpha", type=limited("--alpha", "alpha"), default=0.0, help="weight decay alpha")
    p.add_argument("--beta", type=limited("--beta", "beta"), default=0.0, help="isotropic noise scale beta (Eq 15)")
    p.add_argument("--lr", type=limited("--lr", "lr"), default=0.1, help="learning rate lam (> 0)")
    p.add_argument("--batch", type=limited("--batch", "batch"), default=1, help="minibatch size B (>= 1); T = lr / B")
    p.add_argument("--momentum", type=unit_interval("--momentum"), default=0.0, help="mu in [0, 1) (algo momentum)")
    p.add_argument("--dt", type=limited("--dt", "dt"), default=1.0, help="Euler-Maruyama step in update units (langevin)")
    p.add_argument("--datasets", type=int_at_least("--datasets", 1), default=1000, help="data sets K")
    p.add_argument("--chains", type=int_at_least("--chains", 1), default=2, help="chains per data set M")
    p.add_argument("--steps", type=int_at_least("--steps", 1), default=None,
                   help="updates per chain (default: burn-in + 2 x burn-in, rescaling rule)")
    p.add_argument("--burnin", type=int_at_least("--burnin", 0), default=None,
                   help="updates left out of the time average (default: 10 / (lr (curvature + alpha)))")
    p.add_argument("--pool", type=int_at_least("--pool", 2), default=None,
                   help="draw train/test sets from a finite pool of this many points")
    p.add_argument("--scheme", choices=SCHEMES, default="iid", help="pool draws: iid random sampling or split")
    p.add_argument("--h", type=limited("--h", "h"), default=None, help="curvature h of the quadratic models")
    p.add_argument("--seed", type=int_at_least("--seed", 0, MAX_SEED), default=0, help="root seed")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    from gapkit.sims.engine._simulate import simulate

    kw = {}
    if args.h is not None:
        if args.model not in QUADRATIC_MODELS:
            raise UsageError(f"--h applies to the quadratic models only (got --model {args.model})")
        kw["h"] = args.h
    res = simulate(model=args.model, algo=args.algo, cosine=args.cosine, n=args.n, dim=args.dim,
                   data_mean=args.data_mean, data_std=args.data_std, noise_std=args.noise_std, alpha=args.alpha,
                   beta=args.beta, lr=args.lr, batch=args.batch, momentum=args.momentum, dt=args.dt,
                   datasets=args.datasets, chains=args.chains, steps=args.steps, burnin=args.burnin,
                   pool=args.pool, scheme=args.scheme, seed=args.seed, **kw)
    c, s = res.config, res.summary
    total = c["datasets"] * c["chains"]
    left_out = s.extras.get("unstable_datasets", 0) * c["chains"]
    if s.diverged > left_out:
        sys.stderr.write(f"gapkit simulate: warning: {s.diverged - left_out} of {total} chains diverged "
                         f"(non-finite or |theta| > 1e30); left out of the averages\n")
    reasons = not_steady_reasons(res)
    for why in reasons:
        sys.stderr.write(f"gapkit simulate: warning: not steady: {why}\n")
    if args.json:
        emit_json(res.to_json())  # a statistic that does not exist (every chain diverged) is null
        return 0
    print(f"{c['model']} / {c['algo']}{' + cosine' if c['cosine'] else ''}: K={c['datasets']} data sets x "
          f"M={c['chains']} chains, {c['steps']} steps (burn-in {c['burnin']}: {c['burnin_rule']}), T={c['T']:.6g}")
    for key in ("gap", "train_loss", "test_loss"):
        t = res.theory.get(key)
        ts = f"   theory {t:.6g}" if isinstance(t, float) else ""
        print(f"  {key:<11s} {getattr(s, key):.6g} +- {getattr(s, key + '_ci95'):.2g}{ts}")
    print(f"  test loss: {c['test_loss_source']}")
    print(f"  diverged: {s.diverged} of {total}   wall {res.timings['wall_seconds']:.2f} s")
    for why in reasons:
        print(f"  not steady: {why}")
    return 0


def not_steady_reasons(res) -> list[str]:
    """Why a `simulate` run's numbers may not be steady-state values, in words:
    an unstable or non-stationary chain (`gapkit.sims.engine._stability`), a
    burn-in cut short of its rule (the cap, or --steps shorter than the rule
    asks), and a model with no stationary law (the theory's note)."""
    out = []
    stab = res.summary.extras.get("stability") or ""
    if stab and not stab.startswith("stability not"):
        out.append(stab)
    rule = str(res.config.get("burnin_rule", ""))
    if "capped" in rule or "no curvature" in rule:
        out.append(f"burn-in {res.config['burnin']} updates: {rule}")
    note = str((res.theory or {}).get("note", ""))
    if note.startswith("no stationary law") and not stab:
        out.append(note)
    return out


COMMAND = Command(
    name="simulate",
    help="simulate an ensemble of data sets x chains (Langevin, SGD, momentum) to the steady state",
    add_arguments=add_arguments,
    run=run,
    description=__doc__.splitlines()[0],
)
