"""`gapkit verify`: the check catalogue, a table with verdicts, and a report."""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from ._args import int_at_least, prefix_list
from ._main import Command, UsageError, emit_json


def _add(p: argparse.ArgumentParser) -> None:
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="quick", action="store_true", default=True,
                      help="the quick catalogue (default; minutes on 2 cores)")
    mode.add_argument("--full", dest="quick", action="store_false", help="every check, larger ensembles (may take an hour)")
    p.add_argument("--only", type=prefix_list("--only"), default=None, metavar="P1,P2",
                   help="comma-separated check-id prefixes, e.g. eq06,collapse")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="write the report (HTML, Markdown, CSV, JSON, config) here")
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=0, help="root seed (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--list", action="store_true", help="list the selected check ids and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress display on stderr")


def _progress(total: int, enabled: bool):
    state = {"i": 0, "t0": time.perf_counter()}
    tty = sys.stderr.isatty()

    def tick(spec, rows):
        state["i"] += 1
        if not enabled:
            return
        bad = sum(r.verdict == "FAIL" for r in rows)
        msg = (f"[{state['i']}/{total}] {spec.ids[0].rstrip('.')}: {len(rows)} rows"
               f"{f', {bad} FAIL' if bad else ''}  ({time.perf_counter() - state['t0']:.1f}s)")
        if tty:
            sys.stderr.write("\r\033[K" + msg + ("\n" if state["i"] == total else ""))
        else:
            sys.stderr.write(msg + "\n")
        sys.stderr.flush()

    return tick


def run(args: argparse.Namespace) -> int:
    from gapkit.sims.verify._registry import CheckContext, run_checks, run_warmups, select_checks, summarize
    from gapkit.sims.verify._report import format_table, write_report

    specs = select_checks(args.only, quick=args.quick)
    if not specs and not args.only:
        raise UsageError("no checks are registered (is gapkit installed with its catalogue?)")
    if not specs:
        raise UsageError(f"--only matched no check id (got {','.join(args.only or [])}); see gapkit verify --list")
    if args.list:
        ids = [i for s in specs for i in s.ids]
        if args.json:
            emit_json({"ids": ids})
        else:
            print("\n".join(ids))
        return 0
    progress = not args.no_progress
    if progress:
        sys.stderr.write(f"gapkit verify: {len(specs)} providers ({'quick' if args.quick else 'full'}, seed {args.seed})\n")
    # the line shows while a first run compiles (a warm-up that loads from the cache ends before it)
    notice = threading.Timer(1.0, sys.stderr.write, ("gapkit verify: compiling simulators (first run only) ...\n",))
    if progress:
        notice.start()
    try:
        jit_s = run_warmups({s.module for s in specs})
    finally:
        notice.cancel()
    if progress and jit_s > 0.5:
        sys.stderr.write(f"gapkit verify: JIT compilation / warm-up {jit_s:.1f}s (cached after the first run)\n")

    ctx = CheckContext(seed=args.seed, quick=args.quick, out=args.out)
    config = {"command": "gapkit verify", "argv": sys.argv[1:], "seed": args.seed, "quick": args.quick,
              "only": args.only, "providers": [s.ids[0] for s in specs]}
    rows: list = []
    tick = _progress(len(specs), progress)
    t0 = time.perf_counter()

    def on_provider(spec, got):
        rows.extend(got)
        tick(spec, got)
        if args.out is not None:  # keep every finished row if the run is interrupted
            write_report(args.out, _payload(rows, jit_s, time.perf_counter() - t0, summarize), rows, config=config,
                         figures=ctx.figures)

    run_checks(specs, ctx, prefixes=args.only, progress=on_provider)
    payload = _payload(rows, jit_s, time.perf_counter() - t0, summarize)
    if args.out is not None:
        paths = write_report(args.out, payload, rows, config=config, figures=ctx.figures)
        payload["report"] = paths
    if args.json:
        emit_json(payload)
    else:
        print(format_table(rows))
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
