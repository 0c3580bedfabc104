"""`gapkit verify`: the check catalogue, a table with verdicts, and a report."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ._args import int_at_least, prefix_list
from ._main import Command, UsageError, emit_json


def _add(p: argparse.ArgumentParser) -> None:
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="quick", action="store_true", default=True,
                      help="the quick catalogue (the default; about a minute on 2 cores after the first compile)")
    mode.add_argument("--full", dest="quick", action="store_false", help="every check, larger ensembles (may take an hour)")
    p.add_argument("--only", type=prefix_list("--only"), default=None, metavar="P1,P2",
                   help="comma-separated check-id prefixes, e.g. eq06,collapse (default: every check)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="write the report (HTML, Markdown, CSV, JSON, config) here (default: no report)")
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=0, help="root seed")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--list", action="store_true",
                   help="list the selected providers and the check ids each gives, then exit (a prefix ending "
                        "in * stands for ids the provider builds from its grid)")
    p.add_argument("--wide", action="store_true",
                   help="the terminal table with equation, model, ci95 and tolerance (default: verdict, id, "
                        "theory, measured; fits 80 columns)")
    p.add_argument("--no-progress", action="store_true", help="no progress display on stderr")


class _Progress:
    """Progress over the selected providers on stderr, naming the one running
    and counting the checks (rows) done and failed: a tqdm bar with an ETA on a
    terminal, one line per provider otherwise (a log file)."""

    def __init__(self, total: int, enabled: bool):
        from tqdm import tqdm

        self.total, self.enabled, self.i, self.checks, self.fails = total, enabled, 0, 0, 0
        self.t0 = time.perf_counter()
        self.bar = tqdm(total=total, unit="provider", file=sys.stderr, dynamic_ncols=True, leave=True,
                        disable=not (enabled and sys.stderr.isatty()))

    def starting(self, spec) -> None:
        self.bar.set_description_str(spec.name, refresh=True)

    def done(self, spec, rows) -> None:
        self.i += 1
        self.checks += len(rows)
        self.fails += sum(r.verdict == "FAIL" for r in rows)
        self.bar.set_postfix_str(f"{self.checks} checks, {self.fails} FAIL", refresh=False)
        self.bar.update(1)
        if self.enabled and self.bar.disable:
            sys.stderr.write(f"[{self.i}/{self.total}] {spec.name}: {len(rows)} check{'' if len(rows) == 1 else 's'}"
                             f"{f', {self.fails} FAIL so far' if self.fails else ''}"
                             f"  ({time.perf_counter() - self.t0:.1f}s)\n")
            sys.stderr.flush()

    def close(self) -> None:
        self.bar.set_description_str("done", refresh=False)
        self.bar.close()


def _listing(specs) -> list[dict]:
    """Per provider: its name, module, quick or full only, and the ids it
    gives (a declared prefix shows as ``prefix*``)."""
    from gapkit.sims.verify._registry import _is_full_id

    return [{"provider": s.name, "quick": s.quick, "requires": list(s.requires),
             "ids": [i if _is_full_id(i) else i.rstrip(".") + ".*" for i in s.ids]} for s in specs]


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from gapkit.sims.verify._registry import CheckContext, Warmups, run_checks, select_checks, summarize
    from gapkit.sims.verify._report import format_table, write_report

    specs = select_checks(args.only, quick=args.quick)
    if not specs and not args.only:
        raise UsageError("no checks are registered (is gapkit installed with its catalogue?)")
    if not specs:
        raise UsageError(f"--only matched no check id (got {','.join(args.only or [])}); see gapkit verify --list")
    if args.list:
        listing = _listing(specs)
        if args.json:
            emit_json({"providers": listing, "ids": [i for p in listing for i in p["ids"]]})
        else:
            for p in listing:
                print(f"{p['provider']}{'' if p['quick'] else '  (--full only)'}"
                      f"{'  needs ' + ', '.join(p['requires']) if p['requires'] else ''}")
                print("".join(f"  {i}\n" for i in p["ids"]), end="")
        return 0
    progress = not args.no_progress
    if progress:
        sys.stderr.write(f"gapkit verify: {len(specs)} providers ({'quick' if args.quick else 'full'}, seed {args.seed})\n")
        sys.stderr.flush()

    def say(msg: str) -> None:  # a line on stderr, above the progress bar on a terminal
        if progress:
            tqdm.write(f"gapkit verify: {msg}", file=sys.stderr)

    # each warm-up runs before the first check that needs its kernels; on a first run they compile in helper
    # processes meanwhile, and the checks' wait for them is the run's JIT time
    warm = Warmups({s.module for s in specs},
                   notice=lambda: say("waiting for the simulators to compile (first run only) ..."),
                   ready=lambda dt: say(f"simulators compiled / loaded: the checks waited {dt:.1f}s for them "
                                        "(cached after the first run)") if dt >= 1.0 else None)
    if warm.start():
        say("compiling simulators in the background (first run only); the checks that need them wait for it")
    ctx = CheckContext(seed=args.seed, quick=args.quick, out=args.out)
    config = {"command": "gapkit verify", "argv": sys.argv[1:], "seed": args.seed, "quick": args.quick,
              "only": args.only, "providers": [s.ids[0] for s in specs]}
    done: dict[int, tuple[list, list]] = {}  # provider -> (its rows, its figures), whatever order they ran in
    bar = _Progress(len(specs), progress)
    t0 = time.perf_counter()

    def checks_s() -> float:  # the checks' own time: the run's, less the waits for warm-ups
        return time.perf_counter() - t0 - warm.seconds

    def in_order(i: int) -> list:  # rows (0) or figures (1) of the providers done, in the catalogue's order
        return [x for s in specs if id(s) in done for x in done[id(s)][i]]

    def on_provider(spec, got):
        done[id(spec)] = (got, ctx.figures[sum(len(f) for _, f in done.values()):])
        bar.done(spec, got)
        if args.out is not None:  # keep every finished row if the run is interrupted
            rows = in_order(0)
            write_report(args.out, _payload(rows, warm.seconds, checks_s(), summarize), rows, config=config,
                         figures=in_order(1))

    try:
        rows = run_checks(specs, ctx, prefixes=args.only, progress=on_provider, starting=bar.starting, warmups=warm)
    finally:
        warm.close()
        bar.close()
    jit_s = warm.seconds
    payload = _payload(rows, jit_s, checks_s(), summarize)
    if args.out is not None:
        paths = write_report(args.out, payload, rows, config=config, figures=in_order(1))
        payload["report"] = paths
    if args.json:
        emit_json(payload)
    else:
        print(format_table(rows, wide=args.wide))
        s = payload["summary"]
        print(f"\n{s['total']} checks: {s['pass']} PASS, {s['fail']} FAIL, {s['info']} INFO, {s['skip']} SKIP"
              f"  ({payload['summary']['seconds']:.1f}s checks, {jit_s:.1f}s JIT)")
        if args.out is not None:
            print(f"report: {payload['report']['report.html']}")
    return 1 if payload["summary"]["fail"] else 0


def _payload(rows, jit_s, seconds, summarize):
    s = summarize(rows)
    s["seconds"] = round(seconds, 3)
    s["jit_seconds"] = round(jit_s, 3)
    return {"checks": [r.to_dict() for r in rows], "summary": s}


COMMAND = Command(
    name="verify",
    help="run the check catalogue: exact identities, closed forms, simulators, approximations",
    add_arguments=_add,
    run=run,
)
