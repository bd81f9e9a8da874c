import numpy as np
import pytest

from astae.core.derivation import IllegalAction, replay
from astae.core.grammar import GRAMMAR, MAX_PARAMS
from astae.core.language import parse_program
from astae.core.model.targets import NO_DECL, START, SYMBOL_ID, build_targets, collate_targets

SOURCE = """
def program(a0: list[int], a1: int) -> list[int]:
    v0 = sorted(a0)
    v1 = [v2 * a1 for v2 in v0 if v2 > 0]
    return v1[:3]
"""


@pytest.fixture
def program():
    return parse_program(SOURCE)


def unpack(targets):
    return np.unpackbits(targets.legal, axis=1, count=GRAMMAR.num_actions).astype(bool)


def test_every_target_action_is_legal_at_its_step(program):
    targets = build_targets(program.actions, max_steps=100)
    legal = unpack(targets)
    assert all(legal[t, a] for t, a in enumerate(program.actions))


def test_legal_sets_equal_the_derivation_states(program):
    targets = build_targets(program.actions, max_steps=100)
    legal = unpack(targets)
    state = replay([], max_actions=100)
    for t, action in enumerate(program.actions):
        assert set(np.flatnonzero(legal[t])) == set(state.legal_actions())
        state.apply(action)


def test_inputs_are_previous_action_parent_and_frontier(program):
    targets = build_targets(program.actions, max_steps=100)
    assert targets.previous[0] == START and targets.parents[0] == START
    assert targets.symbols[0] == SYMBOL_ID["Program"]
    assert list(targets.previous[1:]) == list(program.actions[:-1])
    assert targets.parents[1] == program.actions[0]  # the function production holds the body


def test_declared_at_marks_the_new_action_of_each_local(program):
    targets = build_targets(program.actions, max_steps=100)
    new_steps = [t for t, a in enumerate(program.actions) if a == GRAMMAR.new_action]
    assert list(targets.declared_at[MAX_PARAMS : MAX_PARAMS + 3]) == new_steps
    assert (targets.declared_at[:MAX_PARAMS] == NO_DECL).all()
    assert (targets.declared_at[MAX_PARAMS + 3 :] == NO_DECL).all()


def test_program_over_the_budget_is_refused(program):
    with pytest.raises(IllegalAction):
        build_targets(program.actions, max_steps=len(program.actions) - 1)


def test_collate_pads_with_every_action_legal(program):
    short = parse_program("def program(a0: int) -> int:\n    return a0")
    batch = collate_targets([build_targets(program.actions, 100), build_targets(short.actions, 100)])
    n = len(short.actions)
    assert batch.actions.shape == (2, len(program.actions))
    assert list(batch.lengths) == [len(program.actions), n]
    assert batch.legal[1, n:].all()
    assert not batch.legal[1, : n].all(axis=1).any()
