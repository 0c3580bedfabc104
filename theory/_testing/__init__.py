"""gapkit.testing: property-based tests of the paper's identities on *your* problems.

Installed as ``gapkit.testing`` (needs ``hypothesis``, in the ``test`` extra). Three parts:

Random cases (factories take a ``numpy.random.Generator``; never global seeding):
    random_universe, random_algorithm, erm_algorithm, random_potential, loss_potential,
    random_sgd_pieces.

Hypothesis strategies (small, valid cases: probabilities summing to 1, finite losses >= 0, n >= 1,
so exact enumeration stays cheap):
    universes(shift=None)        -> (universe, n, seed)          finite universes, with or without shift
    loss_tables()                -> (m, k) arrays of losses >= 0
    potentials()                 -> (universe, n, g)             g(counts) -> (m,), nonlinear in the data
    algorithms(kind)             -> (universe, n, algorithm)     kind "any" (arbitrary densities, or ERM),
                                                                 "boltzmann" (exp(-g)/Z, Eq 8),
                                                                 "sgd" (g = (2/T) v + a, Eq 18)
    sgd_cases()                  -> (universe, n, v, a, T)       the Eq 18 pieces
    symbolic_models()            -> SymbolicModel                losses >= 0 from a small grammar

Assertions (raise AssertionError with the numbers; return a record of what was checked):
    assert_identity(lhs, rhs, *terms, rtol)   |lhs - rhs| <= rtol * (largest of |lhs|, |rhs|, |terms|)
    assert_inequality(lhs, rhs, scale, rtol)  lhs <= rhs + rtol * scale
    assert_within_se(value, se, truth, k, source)
        a simulated value within k standard errors of a theory value; `source` says where se
        comes from (e.g. "std over 200 data sets / sqrt(200)"): recorded with the verdict.

Search:
    falsify(claim, strategy) -> Counterexample | None: hypothesis searches `strategy` for a case
    where claim(case) is False (or an `Identity` it returns fails), shrinks it and returns it.
"""
from __future__ import annotations

from ._assert import Check as Check
from ._assert import assert_identity as assert_identity
from ._assert import assert_inequality as assert_inequality
from ._assert import assert_within_se as assert_within_se
from ._assert import holds as holds
from ._cases import erm_algorithm as erm_algorithm
from ._cases import loss_potential as loss_potential
from ._cases import random_algorithm as random_algorithm
from ._cases import random_potential as random_potential
from ._cases import random_sgd_pieces as random_sgd_pieces
from ._cases import random_universe as random_universe
from ._falsify import Counterexample as Counterexample
from ._falsify import falsify as falsify
from ._strategies import algorithms as algorithms
from ._strategies import loss_tables as loss_tables
from ._strategies import potentials as potentials
from ._strategies import sgd_cases as sgd_cases
from ._strategies import symbolic_models as symbolic_models
from ._strategies import universes as universes

__all__ = [
    "Check", "assert_identity", "assert_inequality", "assert_within_se", "holds",
    "erm_algorithm", "loss_potential", "random_algorithm", "random_potential", "random_sgd_pieces",
    "random_universe", "Counterexample", "falsify", "algorithms", "loss_tables", "potentials", "sgd_cases",
    "symbolic_models", "universes",
]
