"""Batched decoding of latent codes into programs: greedy, sampled and beam search.

One loop (`decode`) drives every strategy. Each live hypothesis is a `DerivationState` with the
`max_decode_steps` budget: it says which actions are legal (grammar, scope, budget) and builds
the source when the derivation is complete. Each step runs `GrammarDecoder.step` once for all
live hypotheses of all programs; the strategy then picks which (hypothesis, action) pairs live
on. Because the budget only admits productions whose cheapest completion still fits, every
result is a complete, checker-valid program within `max_decode_steps` actions.

- greedy: the most likely legal action of each hypothesis;
- sampling: an action drawn from the legal actions' probabilities at temperature T;
- beam search of width K: the K best continuations per program by summed log-probability;
  finished hypotheses are ranked by length-normalised log-probability (mean per action). The
  greedy hypothesis runs beside the beam and joins the ranking, so beam search never returns a
  sequence that scores worse than greedy (plain beam search can prune the greedy path).
"""

from __future__ import annotations

import gc
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from astae.core.derivation import DerivationState
from astae.core.grammar import MAX_PARAMS
from astae.core.model.decoder import GrammarDecoder
from astae.core.model.targets import legal_masks, step_inputs


@dataclass
class Decoded:
    """One decoded program: its actions, canonical source and summed log-probability."""

    actions: list[int]
    source: str
    log_prob: float

    @property
    def score(self) -> float:
        """Length-normalised log-probability: the mean log-probability per action."""
        return length_normalised(self.log_prob, len(self.actions))


def length_normalised(log_prob: float, actions: int) -> float:
    """The mean log-probability per action: what beam search ranks finished programs by."""
    return log_prob / max(1, actions)


@dataclass
class Hypothesis:
    """A partial program being decoded for latent row `program`."""

    program: int
    state: DerivationState
    log_prob: float = 0.0
    greedy: bool = False  # beam search: the greedy companion of the beam

    def decoded(self) -> Decoded:
        """The finished hypothesis as a `Decoded`."""
        return Decoded(list(self.state.actions), self.state.to_source(), self.log_prob)


class Strategy(ABC):
    """Which hypotheses a decode starts with, which continuations it keeps, what it returns
    (abstract: `OneChoice` and `BeamSearch` are the two kinds)."""

    def start(self, n: int, max_steps: int, decoder: GrammarDecoder) -> list[Hypothesis]:
        """One empty hypothesis per latent row."""
        return [Hypothesis(i, DerivationState(max_steps, decoder.grammar)) for i in range(n)]

    @abstractmethod
    def select(self, scores: torch.Tensor, live: list[Hypothesis], step: int) -> list[tuple[int, int]]:
        """(row of `live`, action) pairs to continue with, given log-probabilities [N, A]."""

    @abstractmethod
    def finish(self, hypothesis: Hypothesis) -> None:
        """Take a completed hypothesis."""

    @abstractmethod
    def results(self) -> list[Decoded]:
        """One program per latent row."""


# (log-probabilities [N, A] of the live hypotheses, their latent rows, step) -> actions [N]
Chooser = Callable[[torch.Tensor, list[int], int], torch.Tensor]


class OneChoice(Strategy):
    """One hypothesis per program, continued by `choose` (greedy, sampling, forced)."""

    def __init__(self, choose: Chooser) -> None:
        self.choose = choose
        self.done: dict[int, Decoded] = {}

    def select(self, scores: torch.Tensor, live: list[Hypothesis], step: int) -> list[tuple[int, int]]:
        actions = self.choose(scores, [h.program for h in live], step).tolist()
        return list(enumerate(actions))

    def finish(self, hypothesis: Hypothesis) -> None:
        self.done[hypothesis.program] = hypothesis.decoded()

    def results(self) -> list[Decoded]:
        return [self.done[i] for i in range(len(self.done))]


def _argmax(scores: torch.Tensor, rows: list[int], step: int) -> torch.Tensor:
    return scores.argmax(dim=-1)


class BeamSearch(Strategy):
    """Beam search of `width` per program, with the greedy hypothesis kept beside the beam."""

    def __init__(self, width: int) -> None:
        if width < 1:
            raise ValueError(f"beam width must be at least 1, not {width}")
        self.width = width
        self.finished: dict[int, list[Hypothesis]] = {}  # sources are built only for the winners
        self.beams_done: dict[int, int] = {}
        self.closed: set[int] = set()  # programs with `width` finished beam hypotheses

    def start(self, n: int, max_steps: int, decoder: GrammarDecoder) -> list[Hypothesis]:
        self.finished = {i: [] for i in range(n)}
        self.beams_done = dict.fromkeys(range(n), 0)
        live = super().start(n, max_steps, decoder)
        if self.width > 1:
            g = decoder.grammar
            live += [Hypothesis(i, DerivationState(max_steps, g), greedy=True) for i in range(n)]
        return live

    def select(self, scores: torch.Tensor, live: list[Hypothesis], step: int) -> list[tuple[int, int]]:
        picks: list[tuple[int, int]] = []
        groups: dict[int, list[int]] = {}
        for row, h in enumerate(live):
            if h.greedy:
                picks.append((row, int(scores[row].argmax())))
            elif h.program not in self.closed:
                groups.setdefault(h.program, []).append(row)
        if not groups:
            return picks
        cumulative = torch.tensor([h.log_prob for h in live], dtype=scores.dtype, device=scores.device)
        totals = scores + cumulative.unsqueeze(1)
        num_actions = scores.shape[1]
        # one top-k over [programs, width x actions]: each program's rows, padded with a -inf row
        padding = torch.full((1, num_actions), float("-inf"), dtype=scores.dtype, device=scores.device)
        table = [rows + [len(live)] * (self.width - len(rows)) for rows in groups.values()]
        candidates = torch.cat([totals, padding])[torch.tensor(table, device=scores.device)]
        values, indices = candidates.reshape(len(table), -1).topk(self.width, dim=1)
        for rows, row_values, row_indices in zip(groups.values(), values.tolist(), indices.tolist()):
            for value, index in zip(row_values, row_indices):
                if value == float("-inf"):
                    break
                picks.append((rows[index // num_actions], index % num_actions))
        return picks

    def finish(self, hypothesis: Hypothesis) -> None:
        self.finished[hypothesis.program].append(hypothesis)
        if not hypothesis.greedy:
            self.beams_done[hypothesis.program] += 1
            if self.beams_done[hypothesis.program] >= self.width:
                self.closed.add(hypothesis.program)

    def results(self) -> list[Decoded]:
        def score(h: Hypothesis) -> float:
            return length_normalised(h.log_prob, len(h.state.actions))

        return [max(found, key=score).decoded() for _, found in sorted(self.finished.items())]


def _select_rows(state: torch.Tensor | tuple, rows: torch.Tensor) -> torch.Tensor | tuple:
    if isinstance(state, tuple):
        return tuple(s[:, rows] for s in state)
    return state[:, rows]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: decoding allocates many small acyclic objects, and
    collections triggered by them rescan everything loaded (a dataset's records), which took
    over half of the decoding time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@torch.no_grad()
def decode(
    decoder: GrammarDecoder, z: torch.Tensor, max_steps: int, strategy: Strategy | Chooser
) -> list[Decoded]:
    """Decode each row of z [B, latent] into one program; `strategy` (or a bare chooser of one
    action per hypothesis) decides which continuations survive each step."""
    if not isinstance(strategy, Strategy):
        strategy = OneChoice(strategy)
    with _gc_paused():
        return _decode(decoder, z, max_steps, strategy)


def _decode(decoder: GrammarDecoder, z: torch.Tensor, max_steps: int, strategy: Strategy) -> list[Decoded]:
    device = z.device
    g = decoder.grammar
    live = strategy.start(z.shape[0], max_steps, decoder)
    programs = torch.tensor([h.program for h in live], dtype=torch.long, device=device)
    ctx = decoder.latent_context(z).select(programs)
    rnn_state = _select_rows(decoder.initial_state(z), programs)
    keys = decoder.memory_keys(decoder.empty_memory(len(live)))
    step = 0
    while live:
        inputs = np.array([step_inputs(h.state) for h in live], dtype=np.int64)
        legal = legal_masks([h.state for h in live], g)
        prev, parent, symbol = torch.from_numpy(inputs).to(device).unbind(1)
        logits, out, rnn_state = decoder.step(
            ctx, prev, parent, symbol, rnn_state, keys, torch.from_numpy(legal).to(device)
        )
        scores = torch.log_softmax(logits, dim=-1)
        picks = strategy.select(scores, live, step)
        step += 1
        picked_scores = scores[[r for r, _ in picks], [a for _, a in picks]].tolist() if picks else []
        # fork every state that more than one pick continues, before any of them moves on
        taken: set[int] = set()
        children: list[Hypothesis] = []
        for row, _ in picks:
            h = live[row]
            if row in taken:
                h = Hypothesis(h.program, h.state.fork(), h.log_prob, h.greedy)
            else:  # the first continuation takes the hypothesis itself over
                taken.add(row)
            children.append(h)
        rows = [row for row, _ in picks]
        if rows != list(range(len(live))):
            index = torch.tensor(rows, dtype=torch.long, device=device)
            keys, rnn_state, out = keys[index], _select_rows(rnn_state, index), out[index]
            ctx = ctx.select(index)
        declared = [(i, MAX_PARAMS + child.state.num_locals)
                    for i, (child, (_, action)) in enumerate(zip(children, picks)) if action == g.new_action]
        if declared:  # a new local's key: from the decoder output at the step that declared it
            rows_, slots = zip(*declared)
            keys[list(rows_), list(slots)] = decoder.memory_keys(out[list(rows_)])
        keep = []
        for i, (child, (row, action), score) in enumerate(zip(children, picks, picked_scores)):
            child.state.apply(action, validate=not legal[row, action])
            child.log_prob += score
            if child.state.done:
                strategy.finish(child)
            else:
                keep.append(i)
        live = [children[i] for i in keep]
        if len(keep) < len(children):
            index = torch.tensor(keep, dtype=torch.long, device=device)
            keys, rnn_state, ctx = keys[index], _select_rows(rnn_state, index), ctx.select(index)
    return strategy.results()


def greedy_decode(decoder: GrammarDecoder, z: torch.Tensor, max_steps: int) -> list[Decoded]:
    """Decode each row of z [B, latent] by taking the most likely legal action at every step."""
    return decode(decoder, z, max_steps, _argmax)


def sample_decode(
    decoder: GrammarDecoder, z: torch.Tensor, max_steps: int, temperature: float, generator: torch.Generator
) -> list[Decoded]:
    """Decode each row of z by drawing every action from the legal actions' distribution at
    `temperature` (log-probabilities are reported at temperature 1)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, not {temperature}")

    def draw(scores: torch.Tensor, rows: list[int], step: int) -> torch.Tensor:
        probs = torch.softmax(scores / temperature, dim=-1)
        return torch.multinomial(probs.cpu(), 1, generator=generator)[:, 0].to(scores.device)

    return decode(decoder, z, max_steps, draw)


def beam_decode(decoder: GrammarDecoder, z: torch.Tensor, max_steps: int, width: int) -> list[Decoded]:
    """The best program per row of z by length-normalised beam search of `width` (1 = greedy)."""
    return decode(decoder, z, max_steps, BeamSearch(width))


@dataclass
class DecodeOptions:
    """How to decode: greedy, sampling at a temperature (seeded), or beam search."""

    beam: int = 1
    temperature: float | None = None  # set: sample at this temperature
    seed: int = 0
    generator: torch.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.temperature is not None and self.beam > 1:
            raise ValueError("sampling and beam search are exclusive: give a temperature or a beam width")
        self.generator = torch.Generator().manual_seed(self.seed)

    def run(self, decoder: GrammarDecoder, z: torch.Tensor, max_steps: int) -> list[Decoded]:
        """Decode the rows of z as these options say (sampling continues one seeded stream)."""
        if self.temperature is not None:
            return sample_decode(decoder, z, max_steps, self.temperature, self.generator)
        if self.beam > 1:
            return beam_decode(decoder, z, max_steps, self.beam)
        return greedy_decode(decoder, z, max_steps)
