"""Decoder targets: everything teacher forcing needs, precomputed once from a program's actions.

Replaying a program's action sequence through `DerivationState` (with the decoder's
`max_decode_steps` budget) gives, for every step, the frontier symbol, the parent action, the
legal actions, and the step at which each local variable was declared. Training then runs the
decoder over whole sequences in parallel; the masks are the very sets that greedy, sampled and
beam decoding get from the same `DerivationState` step by step.

Pure NumPy and the language modules: no torch, no DGL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from astae.core.derivation import DerivationState
from astae.core.grammar import GRAMMAR, MAX_PARAMS, Grammar

# Decoder input vocabularies: symbols are nonterminals then variable slots; `START` is the
# "previous action" of step 0 and the "parent action" of the root.
SYMBOLS: tuple[str, ...] = (*GRAMMAR.nonterminals, *GRAMMAR.variable_slots)
SYMBOL_ID = {s: i for i, s in enumerate(SYMBOLS)}
START = GRAMMAR.num_actions
NO_DECL = -1
# ProgramTargets holds actions, symbols and steps as int16
assert max(START, len(SYMBOLS)) < 2**15


@dataclass(slots=True)
class ProgramTargets:
    """One program's decoder targets over its T actions, stored compactly (int16 rows and packed
    bits: 27 bytes a step) because training keeps thousands of them in memory."""

    steps: np.ndarray  # int16 [4, T]: action, previous action, parent action, frontier symbol id
    legal: np.ndarray  # uint8 [T, ceil(A/8)]: packed bits of the legal actions
    declared_at: np.ndarray  # int16 [num_variables]: step that declared local j, NO_DECL otherwise

    @property
    def actions(self) -> np.ndarray:
        """[T] the program's actions."""
        return self.steps[0]

    @property
    def previous(self) -> np.ndarray:
        """[T] action t-1, START at t = 0."""
        return self.steps[1]

    @property
    def parents(self) -> np.ndarray:
        """[T] the production that created the frontier, START for the root."""
        return self.steps[2]

    @property
    def symbols(self) -> np.ndarray:
        """[T] frontier symbol id."""
        return self.steps[3]

    @property
    def length(self) -> int:
        """Number of actions."""
        return self.steps.shape[1]


def step_inputs(state: DerivationState) -> tuple[int, int, int]:
    """(previous action, parent action, frontier symbol id) of the next step of `state`."""
    previous = state.actions[-1] if state.actions else START
    frame = state.frontier
    parent = frame.parent_action if frame.parent_action >= 0 else START
    return previous, parent, SYMBOL_ID[frame.symbol]


def legal_mask(state: DerivationState, grammar: Grammar = GRAMMAR) -> np.ndarray:
    """Boolean [A] mask of the actions legal at the next step of `state`."""
    mask = np.zeros(grammar.num_actions, dtype=bool)
    mask[state.legal_actions()] = True
    return mask


def legal_masks(states: Sequence[DerivationState], grammar: Grammar = GRAMMAR) -> np.ndarray:
    """Boolean [N, A] masks of the actions legal at the next step of each state."""
    masks = np.zeros((len(states), grammar.num_actions), dtype=bool)
    for row, state in enumerate(states):
        masks[row, state.legal_actions()] = True
    return masks


def build_targets(actions: Sequence[int], max_steps: int, grammar: Grammar = GRAMMAR) -> ProgramTargets:
    """Replay `actions` under a `max_steps` budget and record every step's decoder targets.

    Raises `IllegalAction` if the program does not fit the budget or is not a derivation.
    """
    state = DerivationState(max_steps, grammar)
    n = len(actions)
    steps = np.empty((4, n), dtype=np.int16)
    legal = np.zeros((n, grammar.num_actions), dtype=bool)
    declared_at = np.full(grammar.num_variables, NO_DECL, dtype=np.int16)
    for t, action in enumerate(actions):
        steps[1:, t] = step_inputs(state)
        legal[t] = legal_mask(state, grammar)
        if action == grammar.new_action:
            declared_at[MAX_PARAMS + state.num_locals] = t
        state.apply(action, validate=not legal[t, action])  # validate only to raise the error
    if not state.done:
        raise ValueError("incomplete action sequence")
    steps[0] = actions
    return ProgramTargets(steps=steps, legal=np.packbits(legal, axis=1), declared_at=declared_at)


@dataclass
class TargetBatch:
    """Padded targets of a batch, as NumPy arrays (the model turns them into tensors)."""

    actions: np.ndarray  # [B, T]
    previous: np.ndarray  # [B, T]
    parents: np.ndarray  # [B, T]
    symbols: np.ndarray  # [B, T]
    legal: np.ndarray  # bool [B, T, A]; padding steps allow every action (their loss is masked)
    declared_at: np.ndarray  # [B, V]
    lengths: np.ndarray  # [B]


def collate_targets(items: Sequence[ProgramTargets], num_actions: int = GRAMMAR.num_actions) -> TargetBatch:
    """Pad a list of targets to the longest sequence."""
    b, t = len(items), max(item.length for item in items)
    batch = TargetBatch(
        actions=np.zeros((b, t), dtype=np.int64),
        previous=np.full((b, t), START, dtype=np.int64),
        parents=np.full((b, t), START, dtype=np.int64),
        symbols=np.zeros((b, t), dtype=np.int64),
        legal=np.ones((b, t, num_actions), dtype=bool),
        declared_at=np.stack([item.declared_at for item in items]).astype(np.int64),
        lengths=np.array([item.length for item in items], dtype=np.int64),
    )
    for i, item in enumerate(items):
        n = item.length
        batch.actions[i, :n] = item.actions
        batch.previous[i, :n] = item.previous
        batch.parents[i, :n] = item.parents
        batch.symbols[i, :n] = item.symbols
        batch.legal[i, :n] = np.unpackbits(item.legal, axis=1, count=num_actions).astype(bool)
    return batch
