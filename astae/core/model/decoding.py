"""Batched decoding of latent codes into programs, driven by `DerivationState`.

Each partial program is a `DerivationState` with the `max_decode_steps` budget: it says which
actions are legal (grammar, scope, budget) and builds the source when the derivation is
complete. Because the budget only admits productions whose cheapest completion still fits,
every decode ends in a complete, checker-valid program within `max_decode_steps` actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from astae.core.derivation import DerivationState
from astae.core.grammar import MAX_PARAMS
from astae.core.model.decoder import GrammarDecoder
from astae.core.model.targets import legal_mask, step_inputs


@dataclass
class Decoded:
    """One decoded program: its actions, canonical source and summed log-probability."""

    actions: list[int]
    source: str
    log_prob: float


def _select(state: torch.Tensor | tuple, rows: torch.Tensor) -> torch.Tensor | tuple:
    if isinstance(state, tuple):
        return tuple(s[:, rows] for s in state)
    return state[:, rows]


# (log-probabilities [N, A] of the active programs, their indices into the batch, step) -> actions [N]
Chooser = Callable[[torch.Tensor, list[int], int], torch.Tensor]


@torch.no_grad()
def greedy_decode(decoder: GrammarDecoder, z: torch.Tensor, max_steps: int) -> list[Decoded]:
    """Decode each row of z [B, latent] by taking the most likely legal action at every step."""
    return decode(decoder, z, max_steps, lambda scores, rows, step: scores.argmax(dim=-1))


@torch.no_grad()
def decode(decoder: GrammarDecoder, z: torch.Tensor, max_steps: int, choose: Chooser) -> list[Decoded]:
    """Decode each row of z [B, latent], one `decoder.step` per action; `choose` picks among the
    legal actions' log-probabilities (illegal ones are -inf)."""
    device = z.device
    g = decoder.grammar
    n = z.shape[0]
    states = [DerivationState(max_steps, g) for _ in range(n)]
    log_probs = [0.0] * n
    z_in = decoder.latent_input(z)
    z_out = decoder.output_bias(z)
    rnn_state = decoder.initial_state(z)
    memory = decoder.empty_memory(n)
    active = list(range(n))  # rows of `states` still decoding, aligned with z_in / rnn_state / memory
    step = 0
    while active:
        inputs = np.array([step_inputs(states[i]) for i in active], dtype=np.int64)
        legal = np.stack([legal_mask(states[i], g) for i in active])
        prev, parent, symbol = torch.from_numpy(inputs).to(device).unbind(1)
        logits, out, rnn_state = decoder.step(
            z_in, z_out, prev, parent, symbol, rnn_state, memory, torch.from_numpy(legal).to(device)
        )
        scores = torch.log_softmax(logits, dim=-1)
        best = choose(scores, active, step)
        step += 1
        best_scores = scores.gather(1, best.unsqueeze(1))[:, 0].tolist()
        keep = []
        for row, (i, action) in enumerate(zip(active, best.tolist())):
            state = states[i]
            if action == g.new_action:
                memory[row, MAX_PARAMS + state.num_locals] = out[row]
            state.apply(action, validate=not legal[row, action])
            log_probs[i] += best_scores[row]
            if not state.done:
                keep.append(row)
        if len(keep) < len(active):
            rows = torch.tensor(keep, dtype=torch.long, device=device)
            z_in, memory, rnn_state = z_in[rows], memory[rows], _select(rnn_state, rows)
            z_out = z_out[rows] if z_out is not None else None
            active = [active[r] for r in keep]
    return [Decoded(list(s.actions), s.to_source(), lp) for s, lp in zip(states, log_probs)]
