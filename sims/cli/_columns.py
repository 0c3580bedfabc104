"""`gapkit columns`: the column dictionary of a sweep's runs.csv (unit and
meaning of every column), for a given results directory or in full."""
from __future__ import annotations

import argparse
import csv
import textwrap
from pathlib import Path

from ._main import Command, emit_json
from gapkit.theory._validate import ArgumentError


def _add(p: argparse.ArgumentParser) -> None:
    p.add_argument("results", type=Path, nargs="?", default=None, metavar="RESULTS_DIR",
                   help="a sweep's results directory: describe the columns of its runs.csv "
                        "(default: the whole dictionary)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _header(results: Path) -> list[str]:
    path = results / "runs.csv"
    if not path.is_file():
        raise ArgumentError(f"{path} does not exist (is {results} a sweep's results directory?)", param="RESULTS_DIR")
    with path.open(newline="") as f:
        return next(csv.reader(f), [])


def _run(args: argparse.Namespace) -> int:
    from gapkit.sims.sweep._columns import column_table

    rows = column_table(_header(args.results) if args.results is not None else None)
    if args.json:
        emit_json({"columns": rows})
        return 0
    width = max(len(r["column"]) for r in rows)
    for r in rows:
        head = f"{r['column']:<{width}}  [{r['unit']}; {r['backend']}]"
        print(head)
        print(textwrap.indent(textwrap.fill(r["meaning"], 76), "    "))
    return 0


COMMAND = Command(
    name="columns",
    help="what each column of a sweep's runs.csv means (unit, which backend has it)",
    add_arguments=_add,
    run=_run,
    description=__doc__.replace("\n", " "),
)
