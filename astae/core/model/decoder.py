"""The grammar-constrained decoder: z -> a sequence of grammar actions.

Each step's input is the sum of embeddings of the previous action, the parent action (the
production whose right-hand side holds the frontier symbol) and the frontier symbol, plus a
projection of z; a GRU/LSTM carries the state, initialised from z. With `latent_to_output`, a
second projection of z is added to the recurrent output before the heads, so every prediction
reads z directly rather than only through the recurrent state. Outputs:

- production and `NEW` logits from a linear head;
- `VAR(j)` logits by pointing (the copy mechanism): a query from the current state against a
  key for each variable: a learned vector for parameter a0..a2, and for a local variable the
  decoder state at the step that declared it. Which variables may be pointed at (in scope, right
  type) comes from the legal mask, so a decoded program never reads an undefined name.

With `latent_slots` K > 1, z is also read as K vectors (a fixed-size memory of latent_dim / K
each): every step attends to them twice, with the step's input as the query (the context joins
the recurrent input) and with the recurrent output as the query (the context joins the output
features). Both queries are known from teacher-forced inputs, so training stays parallel. z
remains the only path from the encoder.

Illegal actions are masked to -inf. Training runs the whole target sequence at once
(`forward`); decoding calls `step` once per action for a batch of partial programs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from astae.core.config import ModelConfig
from astae.core.grammar import GRAMMAR, MAX_PARAMS, Grammar
from astae.core.model.targets import NO_DECL, SYMBOLS


@dataclass
class LatentContext:
    """What the decoder reads from z at every step, computed once per decode; rows follow z's."""

    z_in: torch.Tensor  # [B, H] added to every step's input
    z_out: torch.Tensor | None  # [B, 1, H] added to every step's output (latent_to_output)
    slot_keys: torch.Tensor | None  # [B, heads, K, H / heads] (latent_slots > 1)
    slot_values: torch.Tensor | None  # [B, heads, K, H / heads]

    def select(self, rows: torch.Tensor) -> LatentContext:
        """The context of the given rows (hypotheses), in that order."""
        return LatentContext(*(None if t is None else t[rows] for t in
                               (self.z_in, self.z_out, self.slot_keys, self.slot_values)))


class LatentSlots(nn.Module):
    """z [B, D] read as K vectors [B, K, D / K]: multi-head attention of queries [B, T, H] over them."""

    def __init__(self, latent_dim: int, slots: int, dim: int) -> None:
        super().__init__()
        self.slots = slots
        self.heads = 4 if dim % 4 == 0 else 1
        self.slot_embedding = nn.Parameter(torch.randn(slots, dim) * 0.02)
        self.key = nn.Linear(latent_dim // slots, dim)
        self.value = nn.Linear(latent_dim // slots, dim)
        self.input_query = nn.Linear(dim, dim)
        self.output_query = nn.Linear(dim, dim)
        self.input_out = nn.Linear(dim, dim)
        self.output_out = nn.Linear(dim, dim)

    def _split(self, t: torch.Tensor) -> torch.Tensor:  # [B, L, H] -> [B, heads, L, H / heads]
        return t.view(t.shape[0], t.shape[1], self.heads, -1).transpose(1, 2)

    def memory(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values [B, heads, K, H / heads] of z's slots."""
        slots = z.view(z.shape[0], self.slots, -1)
        return (self._split(self.key(slots) + self.slot_embedding),
                self._split(self.value(slots) + self.slot_embedding))

    def attend(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
               side: str) -> torch.Tensor:
        """Context [B, T, H] for queries [B, T, H]; `side` is "input" or "output" (separate weights)."""
        q = self._split((self.input_query if side == "input" else self.output_query)(queries))
        weights = torch.softmax(q @ keys.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        context = (weights @ values).transpose(1, 2).reshape(queries.shape)
        return (self.input_out if side == "input" else self.output_out)(context)


class GrammarDecoder(nn.Module):
    """Autoregressive decoder over grammar actions with a pointer for variables."""

    def __init__(self, cfg: ModelConfig, grammar: Grammar = GRAMMAR) -> None:
        super().__init__()
        dim = cfg.hidden_dim
        self.grammar = grammar
        self.num_layers = cfg.decoder_layers
        self.cell = cfg.decoder_cell
        self.action_embedding = nn.Embedding(grammar.num_actions + 1, dim)  # + START
        self.parent_embedding = nn.Embedding(grammar.num_actions + 1, dim)
        self.symbol_embedding = nn.Embedding(len(SYMBOLS), dim)
        self.latent_input = nn.Linear(cfg.latent_dim, dim)
        self.latent_output = nn.Linear(cfg.latent_dim, dim) if cfg.latent_to_output else None
        self.latent_state = nn.Linear(cfg.latent_dim, cfg.decoder_layers * dim)
        rnn = nn.GRU if cfg.decoder_cell == "gru" else nn.LSTM
        self.rnn = rnn(dim, dim, cfg.decoder_layers, batch_first=True,
                       dropout=cfg.dropout if cfg.decoder_layers > 1 else 0.0)
        self.dropout = nn.Dropout(cfg.dropout)
        self.production_head = nn.Linear(dim, grammar.new_action + 1)  # productions + NEW
        self.param_keys = nn.Parameter(torch.randn(MAX_PARAMS, dim) * 0.02)
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.scale = 1.0 / math.sqrt(dim)
        self.slots = LatentSlots(cfg.latent_dim, cfg.latent_slots, dim) if cfg.latent_slots > 1 else None

    # -- pieces shared by training and decoding -------------------------------------------

    def initial_state(self, z: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Recurrent state from z: [layers, B, H] (a pair for the LSTM)."""
        h = torch.tanh(self.latent_state(z)).view(z.shape[0], self.num_layers, -1).transpose(0, 1)
        h = h.contiguous()
        return (h, torch.zeros_like(h)) if self.cell == "lstm" else h

    def latent_context(self, z: torch.Tensor) -> LatentContext:
        """Everything the steps read from z [B, latent_dim]."""
        z_out = self.latent_output(z).unsqueeze(1) if self.latent_output is not None else None
        keys, values = self.slots.memory(z) if self.slots is not None else (None, None)
        return LatentContext(self.latent_input(z), z_out, keys, values)

    def _inputs(self, ctx: LatentContext, previous: torch.Tensor, parents: torch.Tensor,
                symbols: torch.Tensor) -> torch.Tensor:
        """Step inputs [B, T, H] for action ids [B, T]."""
        x = self.action_embedding(previous) + self.parent_embedding(parents) + self.symbol_embedding(symbols)
        x = x + ctx.z_in.unsqueeze(1)
        if self.slots is not None:
            x = x + self.slots.attend(x, ctx.slot_keys, ctx.slot_values, "input")
        return self.dropout(x)

    def _logits(self, out: torch.Tensor, keys: torch.Tensor, ctx: LatentContext) -> torch.Tensor:
        """out [B, T, H], variable keys [B, V, H] -> logits [B, T, A]."""
        if ctx.z_out is not None:
            out = out + ctx.z_out
        if self.slots is not None:
            out = out + self.slots.attend(out, ctx.slot_keys, ctx.slot_values, "output")
        pointer = torch.einsum("bth,bvh->btv", self.query(out), keys) * self.scale
        return torch.cat([self.production_head(out), pointer], dim=-1)

    def empty_memory(self, batch: int) -> torch.Tensor:
        """Variable memory before any local is declared: parameter keys, zeros elsewhere [B, V, H]."""
        memory = self.param_keys.new_zeros(batch, self.grammar.num_variables, self.param_keys.shape[1])
        memory[:, :MAX_PARAMS] = self.param_keys
        return memory

    def memory_keys(self, memory: torch.Tensor) -> torch.Tensor:
        """The pointer's keys [..., H] for variable memory [..., H] (decoder states of declarations)."""
        return self.key(memory)

    # -- training: whole sequences ----------------------------------------------------------

    def forward(self, z: torch.Tensor, previous: torch.Tensor, parents: torch.Tensor, symbols: torch.Tensor,
                declared_at: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits [B, T, A] for padded targets [B, T]; illegal actions are -inf."""
        ctx = self.latent_context(z)
        out, _ = self.rnn(self._inputs(ctx, previous, parents, symbols), self.initial_state(z))
        out = self.dropout(out)
        # a local's memory is the state at the step that declared it
        steps = declared_at.clamp(min=0)  # [B, V]
        gathered = torch.gather(out, 1, steps.unsqueeze(-1).expand(-1, -1, out.shape[-1]))
        declared = (declared_at != NO_DECL).unsqueeze(-1)
        memory = torch.where(declared, gathered, self.empty_memory(z.shape[0]))
        logits = self._logits(out, self.memory_keys(memory), ctx)
        return logits.masked_fill(~legal, float("-inf"))

    # -- decoding: one step for a batch of partial programs -------------------------------------

    def step(self, ctx: LatentContext, previous: torch.Tensor, parents: torch.Tensor, symbols: torch.Tensor,
             state: torch.Tensor | tuple, keys: torch.Tensor,
             legal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | tuple]:
        """One action for N partial programs: (masked logits [N, A], output [N, H], new state).

        `ctx` is `latent_context(z)` of the N rows, computed once per decode; `previous`, `parents`,
        `symbols` are [N]; `keys` [N, V, H] are `memory_keys` of the variable memory (kept up to
        date by the caller as locals are declared); `legal` is [N, A].
        """
        x = self._inputs(ctx, previous.unsqueeze(1), parents.unsqueeze(1), symbols.unsqueeze(1))
        out, state = self.rnn(x, state)
        out = out[:, 0]
        logits = self._logits(out.unsqueeze(1), keys, ctx)[:, 0]
        return logits.masked_fill(~legal, float("-inf")), out, state
