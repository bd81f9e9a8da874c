"""Grammar-aware random neighbours of a program, for local search over program space.

A program's action sequence is its derivation tree in pre-order, so every subtree is a
contiguous span of actions. A mutation rewrites one subtree (never the root, so the
signature stays) and replays the rest of the program after it:

- *subtree* mutation: the span is replaced by a fresh subtree of the same symbol, drawn with
  the generator's weighted choices (`generator.Sampler`). The node is drawn with weight
  1 / (its size in actions): leaves and small expressions change most, whole blocks rarely.
- *point* mutation (probability `POINT_PROBABILITY`): one production is swapped for another
  of the same left-hand side and the same children (`+` -> `-`, `<` -> `<=`, `len` -> `sum`,
  `3` -> `7`), its children kept. A variable leaf's subtree mutation is the variable analogue.

The actions after the rewritten node are replayed as they were. Variables declared after it
keep their identity (their indices shift with the number of locals the rewrite declared); a
variable action that is no longer legal (its variable was declared inside the old subtree)
is redrawn by the generator; a production that no longer fits the action budget or scope
fails the attempt.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from astae.core.config import GeneratorConfig
from astae.core.derivation import DerivationState, IllegalAction
from astae.core.grammar import GRAMMAR, MAX_PARAMS
from astae.core.sampler import Sampler, subtree_ends

POINT_PROBABILITY = 0.3
ATTEMPTS = 8

_NEW = GRAMMAR.new_action
# For each production, the others with the same left-hand side and children (point mutations).
_SAME_SHAPE: tuple[tuple[int, ...], ...] = tuple(
    tuple(
        q.id for q in GRAMMAR.productions
        if q.id != p.id and q.lhs == p.lhs and q.rhs == p.rhs and p.lhs != "Program"
    )
    for p in GRAMMAR.productions
)


def mutate(
    actions: Sequence[int], rng: random.Random, cfg: GeneratorConfig, max_actions: int
) -> DerivationState | None:
    """A random grammar-aware neighbour of the program `actions` (a complete derivation): one
    subtree replaced by a fresh random subtree of the same symbol, or one production swapped for a
    same-shaped one; None if no valid, different neighbour was made in `ATTEMPTS` tries."""
    actions = list(actions)
    ends = subtree_ends(actions)
    nodes = range(1, len(actions))
    node_weights = [1.0 / (ends[i] - i) for i in nodes]
    points = [i for i in nodes if actions[i] < _NEW and _SAME_SHAPE[actions[i]]]
    for _ in range(ATTEMPTS):
        if points and rng.random() < POINT_PROBABILITY:
            i = rng.choice(points)
            state = _rewrite(actions, i, i + 1, rng, cfg, max_actions, point=True)
        else:
            i = rng.choices(nodes, weights=node_weights)[0]
            state = _rewrite(actions, i, ends[i], rng, cfg, max_actions, point=False)
        if state is not None and state.actions != actions:
            return state
    return None


def _rewrite(
    actions: list[int], start: int, end: int, rng: random.Random, cfg: GeneratorConfig,
    max_actions: int, point: bool,
) -> DerivationState | None:
    """`actions` with the subtree at `start:end` redrawn (or, for a point mutation, the one
    production at `start` swapped); None if the rest no longer fits."""
    sampler = Sampler(rng, cfg)
    state = DerivationState(max_actions=max_actions)
    # A prefix of a program that fits the budget is legal as it stands; check only one that may not.
    check = len(actions) > max_actions
    try:
        for action in actions[:start]:
            sampler.apply(state, action, validate=check)
    except IllegalAction:
        return None
    if point:
        sampler.apply(state, sampler.pick(list(_SAME_SHAPE[actions[start]])))
    else:
        sampler.subtree(state)
    suffix = actions[end:]
    if len(state.actions) + len(suffix) > max_actions:
        return None
    # The suffix expands the same symbols as before, at the same depths, and fits the budget, so
    # its productions stay legal; only its variables may not be (an empty slot fails the attempt).
    # Locals declared after the rewrite keep their identity: shift by the change in their number.
    old_locals = sum(1 for a in actions[:end] if a == _NEW)
    shift = state.num_locals - old_locals
    first_later = GRAMMAR.var_action(MAX_PARAMS + old_locals)
    for action in suffix:
        slot = state.frontier.symbol
        if slot in GRAMMAR.slot_set:
            legal = state.slot_actions(slot)
            if action >= first_later:
                action += shift
            if action not in legal:
                if not legal:
                    return None
                action = sampler.choose(state)
        sampler.apply(state, action)
    return state if state.done else None
