"""gapkit.testing: strategies draw valid cases, the assertions fail on wrong answers, falsify finds and
shrinks a known counterexample (Eq 9's positivity does not carry over to the loss gap) and finds none
for a theorem."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import gapkit.testing as gt
from gapkit.theory import ArgumentError, boltzmann, effective_potential_gap, exact_identities


def _loss_gap_nonnegative(case):
    """<Delta>bar >= 0 up to rounding (1e-12 of its largest term: a rounding-level 'counterexample' is none)."""
    u, n, g = case
    e6 = exact_identities(u, boltzmann(u, g), n)["eq06"]
    return e6.lhs >= -1e-12 * e6.scale


def test_falsify_finds_and_shrinks_the_negative_loss_gap():
    ce = gt.falsify(_loss_gap_nonnegative, gt.potentials(), max_examples=200, seed=0)
    assert ce is not None and ce.result is False
    u, n, g = ce.case
    e6 = exact_identities(u, boltzmann(u, g), n)["eq06"]
    assert e6.lhs < -1e-9 * e6.scale
    assert n == 1 and u.m <= 2 and u.k <= 2  # shrunk to the smallest universe that can show it


def test_falsify_finds_nothing_against_eq9():
    """Eq 9 is a theorem: no counterexample (claims may return an Identity)."""
    assert gt.falsify(lambda c: effective_potential_gap(c[0], c[2], c[1]), gt.potentials(), max_examples=40) is None


def test_assertions_fail_on_wrong_answers_and_record_their_tolerance():
    assert gt.assert_identity(1.0, 1.0 + 1e-15, 0.5).passed
    with pytest.raises(AssertionError, match="largest term"):
        gt.assert_identity(1.0, 1.0 + 1e-6)
    assert gt.assert_inequality(1.0, 1.0 - 1e-14).passed  # rounding allowance
    with pytest.raises(AssertionError):
        gt.assert_inequality(1.0, 0.9)
    ok = gt.assert_within_se(1.02, 0.01, 1.0, k=4, source="std over 100 chains / 10")
    assert ok.passed and "100 chains" in ok.tolerance_source
    with pytest.raises(AssertionError, match="standard errors"):
        gt.assert_within_se(1.0, 0.01, 1.2, k=4, source="std over 100 chains / 10")  # truth 20% off
    with pytest.raises(ArgumentError):
        gt.assert_within_se(1.0, 0.01, 1.0, source="")


@settings(max_examples=15, deadline=None)
@given(gt.algorithms("any") | gt.algorithms("boltzmann") | gt.algorithms("sgd"))
def test_algorithm_strategies_satisfy_eq3(case):
    u, n, alg = case
    gt.assert_identity(exact_identities(u, alg, n)["eq03"])


@settings(max_examples=3, deadline=None)
@given(gt.symbolic_models())
def test_symbolic_model_strategy_gives_valid_universes(model):
    u = model.universe([-1.0, 0.5], np.linspace(-2, 2, 9))
    assert u.loss.min() >= 0
    v, a = model.sgd_pieces(u, beta=0.5)
    gt.assert_inequality(effective_potential_gap(u, lambda c: 4.0 * v(c) + a(c), 2))
