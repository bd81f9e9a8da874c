import random

from hypothesis import given, settings
from hypothesis import strategies as st

from astae.core.derivation import EXPRESSION_SYMBOLS, DerivationState
from astae.core.grammar import GRAMMAR, MAX_EXPRESSION_DEPTH
from astae.core.language import check_source


def deepest_program(prefer: str, max_actions: int = 400) -> DerivationState:
    """Take a legal production of kind `prefer` whenever there is one; else head for an
    expression (`return`, then `ifexp`), else the first legal action."""
    state = DerivationState(max_actions)
    while not state.done:
        legal = state.legal_actions()
        kinds = [GRAMMAR.productions[a].kind if a < GRAMMAR.new_action else "" for a in legal]
        choice = next((kinds.index(k) for k in (prefer, "return", "ifexp") if k in kinds), 0)
        state.apply(legal[choice])
    return state


def test_depth_cap_keeps_runaway_nesting_inside_the_checker():
    for kind in ("not", "neg", "reverse", "ifexp"):
        state = deepest_program(kind)
        check_source(state.to_source())  # raises if nested past the checker's limit


def test_depth_cap_leaves_only_shallow_productions():
    state = deepest_program("not")
    assert state.to_source().count("not ") >= MAX_EXPRESSION_DEPTH - 2
    assert all(
        not {"Int", "Bool", "List"} & set(GRAMMAR.productions[p].rhs)
        for p in GRAMMAR.shallow_by_lhs["Bool"]
    )


def test_fork_is_an_independent_copy():
    from astae.core.language import parse_program

    actions = parse_program("def f(a: list[int]) -> int:\n    x = len(a)\n    return x + 1\n").actions
    state = DerivationState(60)
    for action in actions[:6]:
        state.apply(action)
    copy = state.fork()
    assert copy.actions == state.actions and copy.legal_actions() == state.legal_actions()
    for action in actions[6:]:
        copy.apply(action)
    assert copy.done and not state.done and len(state.actions) == 6
    assert copy.max_actions == 60


def test_fork_at_every_step_of_generated_programs_continues_to_the_same_program(tiny_dataset):
    import json

    records = [json.loads(line) for line in (tiny_dataset / "programs.jsonl").read_text().splitlines()]
    for record in records[:25]:
        actions = record["actions"]
        state = DerivationState(100)
        for k, action in enumerate(actions):
            twin = state.fork()
            for rest in actions[k:]:
                assert twin.legal_actions() == _legal_after(actions[: len(twin.actions)])
                twin.apply(rest)
            assert twin.to_source() == record["source"]
            state.apply(action)
            assert state.actions == actions[: k + 1]
        assert state.to_source() == record["source"]


def _legal_after(prefix: list[int]) -> list[int]:
    state = DerivationState(100)
    for action in prefix:
        state.apply(action)
    return state.legal_actions()


def _legal_by_definition(state: DerivationState) -> list[int]:
    """Legal actions computed from scratch: the frontier's productions that fit the budget and
    whose first variable slot has a candidate (the memoised `legal_actions` must agree)."""
    g, frame = GRAMMAR, state.frontier
    if frame.symbol in g.slot_set:
        return state.slot_actions(frame.symbol)
    deep = frame.symbol in EXPRESSION_SYMBOLS and frame.depth >= MAX_EXPRESSION_DEPTH
    room = state._budget_left() - (state._rest_cost - g.min_cost[frame.symbol])
    return [
        p for p in (g.shallow_by_lhs if deep else g.by_lhs)[frame.symbol]
        if g.production_cost[p] <= room
        and (g.first_slot[p] is None or state.slot_actions(g.first_slot[p]))
    ]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([12, 25, 40, 90, 200]))
def test_memoised_legal_actions_equal_the_definition_at_every_step(seed, max_actions):
    rng = random.Random(seed)
    state = DerivationState(max_actions=max_actions)
    while not state.done:
        legal = state.legal_actions()
        assert legal == _legal_by_definition(state)
        state.apply(rng.choice(legal))
