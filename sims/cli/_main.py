"""The `gapkit` command line.

Subcommands live in their own modules (``_<name>.py``) and each exposes a
`Command`. Backends add theirs through the backend registry
(`gapkit.sims._backends`, ``Backend.commands``; the torch backend's arrive with
its ``gapkit.plugins`` entry point). Modules imported here must stay light:
heavy imports (numba kernels, torch) happen inside ``run``.

Contract (DESIGN.md): every subcommand has --help; --seed where anything is
random; --out DIR where it writes files; --json where it prints results (one
JSON object on stdout, nothing else there). Bad arguments: one line on stderr
naming the parameter, exit status 2, no traceback.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
from collections.abc import Callable

from gapkit.theory._validate import ArgumentError

__all__ = ["Command", "main", "build_parser", "UsageError", "emit_json"]

# Built-in command modules, in help order.
_BUILTIN = ("verify", "simulate", "sweep", "score", "columns", "bench", "figures")


class UsageError(ArgumentError):
    """Bad input found after parsing (e.g. an impossible grid): exit status 2."""


@dataclasses.dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str = ""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's defaults formatter: every option's help ends with its
    default, except where there is none to show (a flag, an unset option, a
    help that already names it)."""

    def _get_help_string(self, action):
        h = action.help or ""
        unset = action.default is None or action.default is False or action.default == [] \
            or action.default == argparse.SUPPRESS
        if unset or action.nargs == 0 or "default" in h:
            return h
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return h + " (default: %(default)s)"
        return h


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage + message)
        self.exit(2, f"{self.prog}: error: {message}\n")


def emit_json(obj) -> None:
    """The one JSON object a --json command prints on stdout: gapkit's one JSON
    convention (`to_jsonable`: non-finite numbers are null); objects JSON does
    not know (paths) print as their str."""
    from gapkit.sims.stats._results import to_jsonable

    sys.stdout.write(json.dumps(to_jsonable(obj), indent=None, sort_keys=False, allow_nan=False, default=str))
    sys.stdout.write("\n")
    sys.stdout.flush()


def _commands() -> list[Command]:
    cmds: list[Command] = []
    for name in _BUILTIN:
        cmds.append(importlib.import_module(f"{__package__}._{name}").COMMAND)
    from gapkit.sims._backends import backends

    for b in backends():
        if b.commands is not None:
            cmds.extend(b.commands())
    return cmds


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    from gapkit import __version__

    parser = _Parser(
        prog="gapkit",
        description="Numerical theory toolkit for 'Studying Generalization Through Data Averaging'.",
        epilog="Run 'gapkit COMMAND --help' for a command's options. Also: python -m gapkit.",
    )
    parser.add_argument("--version", action="version", version=f"gapkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    table = {}
    for cmd in _commands():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.description or cmd.help,
                           formatter_class=_HelpFormatter)
        cmd.add_arguments(p)
        table[cmd.name] = cmd
    return parser, table


def main(argv: list[str] | None = None) -> int:
    parser, table = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(table[args.command].run(args) or 0)
    except ArgumentError as exc:  # bad input (UsageError is one); anything else is a bug and shows its traceback
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"gapkit {args.command}: error: {msg}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"gapkit {args.command}: interrupted (finished results are kept)\n")
        return 130


def _entry() -> None:  # pragma: no cover
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
