"""`gapkit figures STORE --out DIR`: redraw a finished sweep's figures and report
from its results store, without running anything (`gapkit.sims.sweep._figures`,
`gapkit.sims.sweep._report`).

Light at import: matplotlib and the store load inside `run`.
"""
from __future__ import annotations

import argparse
import sys

from ._main import Command, emit_json


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", metavar="STORE", help="a sweep's results folder (written by `gapkit sweep --out`)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder for the figures (DIR/figures/*.png) and the report (DIR/report.md, report.html)")
    p.add_argument("--json", action="store_true", help="print one JSON object {figures, markdown, html, regime}")


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gapkit.sims.sweep._report import write_report
    from gapkit.sims.sweep._store import ResultsStore
    from gapkit.theory._validate import ArgumentError

    root = Path(args.store)
    store = ResultsStore(root)
    if not store.runs_dir.is_dir() or not store.keys():
        raise ArgumentError(f"store must be a sweep folder with stored runs (no runs/*.json under {root})",
                            param="store")
    rep = write_report(store, Path(args.out))
    if args.json:
        emit_json(rep)
        return 0
    for p in rep["figures"]:
        sys.stdout.write(f"{p}\n")
    sys.stdout.write(f"report: {rep['markdown']} and {rep['html']}\n")
    return 0


COMMAND = Command(
    name="figures",
    help="redraw a stored sweep's figures (paper-style panels, Figs 7 and 8) and its report, without recomputing",
    add_arguments=_add_arguments,
    run=_run,
    description="Draw from a finished sweep's store: per variant the gap / test / train loss and accuracy "
    "panels against T with the runs' 95% intervals, the Eq 1 fit and T_opt from the stored findings, the "
    "exact theory on toy sweeps, the collapse across variants, Fig 7 (sigma_l), Fig 8 (per-epoch traces) and "
    "the stability-edge plot; then report.md and report.html with the findings and the per-run table.",
)
