import random

import pytest

from astae.core.derivation import DerivationState, IllegalAction, replay
from astae.core.grammar import GRAMMAR, Signature, all_signatures, is_variable_slot


def test_every_symbol_on_a_right_hand_side_is_a_nonterminal_or_variable_slot():
    for p in GRAMMAR.productions:
        for symbol in p.rhs:
            assert symbol in GRAMMAR.by_lhs or is_variable_slot(symbol), p.label


def test_every_nonterminal_has_a_finite_derivation():
    assert all(cost >= 1 for cost in GRAMMAR.min_cost.values())
    assert GRAMMAR.min_cost["Program"] == 3  # function, return, a constant


def test_fingerprint_is_stable_and_short():
    assert GRAMMAR.fingerprint == GRAMMAR.fingerprint
    assert len(GRAMMAR.fingerprint) == 16
    int(GRAMMAR.fingerprint, 16)


def test_action_space_is_productions_then_new_then_variables():
    assert GRAMMAR.new_action == len(GRAMMAR.productions)
    assert GRAMMAR.action_label(GRAMMAR.new_action) == "NEW"
    assert GRAMMAR.action_label(GRAMMAR.var_action(0)) == "VAR(a0)"
    assert GRAMMAR.action_label(GRAMMAR.var_action(3)) == "VAR(v0)"
    assert GRAMMAR.num_actions == GRAMMAR.var_base + GRAMMAR.num_variables


def test_signature_display_round_trips():
    for sig in all_signatures():
        assert Signature.from_display(sig.display) == sig
    assert len(all_signatures()) == 28


@pytest.mark.parametrize("budget", [3, 5, 8, 20, 60])
def test_random_derivations_always_finish_within_the_budget(budget):
    rng = random.Random(budget)
    for _ in range(200):
        state = DerivationState(max_actions=budget)
        while not state.done:
            legal = state.legal_actions()
            assert legal, "a derivation must never dead-end"
            state.apply(rng.choice(legal))
        assert len(state.actions) <= budget
        compile(state.to_source(), "<program>", "exec")


def test_an_illegal_action_is_refused_with_the_frontier():
    state = DerivationState()
    with pytest.raises(IllegalAction) as e:
        state.apply(GRAMMAR.production("Int", "const", 3))
    assert e.value.frontier == "Program"


def test_a_variable_that_is_not_in_scope_cannot_be_read():
    sig = Signature(("int",), "int")
    actions = [
        GRAMMAR.production("Program", "function", sig),
        GRAMMAR.production("Body:int", "return"),
        GRAMMAR.production("Int", "var"),
    ]
    state = replay(actions)
    assert state.legal_actions() == [GRAMMAR.var_action(0)]
    with pytest.raises(IllegalAction):
        state.apply(GRAMMAR.var_action(1))
