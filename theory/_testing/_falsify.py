"""`falsify`: search random cases for a counterexample to a claim, shrink it, return it."""
from __future__ import annotations

import random
from typing import Any, NamedTuple

from gapkit.theory._validate import check_int

from ._assert import RTOL, holds

__all__ = ["Counterexample", "falsify"]


class Counterexample(NamedTuple):
    """A shrunk case where the claim fails, and what the claim returned on it."""

    case: Any
    result: Any


def falsify(claim, strategy, *, max_examples: int = 300, seed: int = 0, rtol: float = RTOL):
    """A counterexample to `claim` over `strategy`, shrunk by hypothesis, or None if none was found.

    claim(case) returns a bool (True: holds) or an `Identity` / `Check` (judged by `holds`, to rtol of
    its scale). The search is hypothesis' (`hypothesis.find`: random generation, then shrinking to a
    minimal failing case), driven by random.Random(seed) so a run is reproducible. None means no
    counterexample in `max_examples` cases, which is not a proof that the claim holds.
    """
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    max_examples = check_int("max_examples", max_examples, 1)
    seed = check_int("seed", seed, 0)
    cfg = settings(max_examples=max_examples, database=None, deadline=None,
                   phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))

    def fails(case):
        return not holds(claim(case), rtol)

    try:
        case = find(strategy, fails, settings=cfg, random=random.Random(seed))
    except NoSuchExample:
        return None
    return Counterexample(case, claim(case))
