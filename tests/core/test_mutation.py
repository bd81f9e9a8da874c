import random

import pytest

from astae.core.config import GeneratorConfig
from astae.core.generator import sample_program
from astae.core.language import parse_program, program_from_actions
from astae.core.mutation import mutate, subtree_ends

CFG = GeneratorConfig()


@pytest.fixture(scope="module")
def programs() -> list[list[int]]:
    return [sample_program(random.Random(seed), CFG).actions for seed in range(200)]


def test_mutants_are_valid_distinct_neighbours_with_the_same_signature(programs):
    made = 0
    for seed, actions in enumerate(programs):
        original = program_from_actions(actions)
        rng = random.Random(seed)
        for _ in range(3):
            state = mutate(actions, rng, CFG, CFG.max_actions)
            if state is None:
                continue
            made += 1
            assert state.done
            assert state.signature == original.signature
            assert state.actions[0] == actions[0]
            assert len(state.actions) <= CFG.max_actions
            source = state.to_source()
            assert source != original.source
            assert list(parse_program(source).actions) == state.actions
    assert made > 0.95 * 3 * len(programs)


def test_same_seed_same_mutant(programs):
    for actions in programs[:20]:
        a = mutate(actions, random.Random(7), CFG, CFG.max_actions)
        b = mutate(actions, random.Random(7), CFG, CFG.max_actions)
        assert (a and a.actions) == (b and b.actions)


def test_mutation_reaches_many_neighbours_including_point_changes():
    actions = list(parse_program("def f(a: int, b: int) -> int:\n    return a + b").actions)
    rng = random.Random(0)
    sources = {mutate(actions, rng, CFG, CFG.max_actions).to_source() for _ in range(200)}
    assert len(sources) > 10
    assert "def program(a0: int, a1: int) -> int:\n    return a0 - a1" in sources  # operator swapped
    assert "def program(a0: int, a1: int) -> int:\n    return a1 + a1" in sources  # variable swapped


def test_mutants_stay_within_a_tighter_budget(programs):
    rng = random.Random(1)
    for actions in programs[:50]:
        budget = len(actions) + 2
        state = mutate(actions, rng, CFG, budget)
        assert state is None or (state.done and len(state.actions) <= budget)


def test_program_over_the_budget_gives_none_or_a_mutant_within_it(programs):
    rng = random.Random(2)
    for actions in programs[:50]:
        budget = max(10, len(actions) - 3)
        state = mutate(actions, rng, CFG, budget)
        assert state is None or (state.done and len(state.actions) <= budget)


def test_program_that_cannot_change_gives_none():
    # With no spare action, `return a0` has no other form the generator would draw.
    actions = list(parse_program("def f(a: int) -> int:\n    return a").actions)
    assert mutate(actions, random.Random(0), CFG, max_actions=len(actions)) is None


def test_subtree_ends_are_preorder_spans():
    actions = list(parse_program("def f(a: int) -> int:\n    return a + 1").actions)
    # function, return, binop, var, a0, const
    assert subtree_ends(actions) == [6, 6, 6, 5, 5, 6]
