"""Registration hooks of the torch backend (imports no torch at module level).

`gapkit.sims` finds this module through the ``gapkit.plugins`` entry point and
calls `register_commands` / `register_checks`. Commands that need torch check
for it when they run and say how to install the extra.
"""
from __future__ import annotations


def register(*_args, **_kwargs):
    """Entry-point target; the hooks below do the work."""
    return None


def register_commands(add_command) -> None:
    return None


def register_checks() -> None:
    return None
