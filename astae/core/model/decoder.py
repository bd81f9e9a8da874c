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

Illegal actions are masked to -inf. Training runs the whole target sequence at once
(`forward`); decoding calls `step` once per action for a batch of partial programs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from astae.core.config import ModelConfig
from astae.core.grammar import GRAMMAR, MAX_PARAMS, Grammar
from astae.core.model.targets import NO_DECL, SYMBOLS


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

    # -- pieces shared by training and decoding -------------------------------------------

    def initial_state(self, z: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Recurrent state from z: [layers, B, H] (a pair for the LSTM)."""
        h = torch.tanh(self.latent_state(z)).view(z.shape[0], self.num_layers, -1).transpose(0, 1)
        h = h.contiguous()
        return (h, torch.zeros_like(h)) if self.cell == "lstm" else h

    def _inputs(self, z_in: torch.Tensor, previous: torch.Tensor, parents: torch.Tensor,
                symbols: torch.Tensor) -> torch.Tensor:
        x = self.action_embedding(previous) + self.parent_embedding(parents) + self.symbol_embedding(symbols)
        return self.dropout(x + z_in)

    def _logits(self, out: torch.Tensor, keys: torch.Tensor, z_out: torch.Tensor | None) -> torch.Tensor:
        """out [B, T, H], variable keys [B, V, H], z_out [B, 1, H] or None -> logits [B, T, A]."""
        if z_out is not None:
            out = out + z_out
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
        z_in = self.latent_input(z).unsqueeze(1)
        out, _ = self.rnn(self._inputs(z_in, previous, parents, symbols), self.initial_state(z))
        out = self.dropout(out)
        # a local's memory is the state at the step that declared it
        steps = declared_at.clamp(min=0)  # [B, V]
        gathered = torch.gather(out, 1, steps.unsqueeze(-1).expand(-1, -1, out.shape[-1]))
        declared = (declared_at != NO_DECL).unsqueeze(-1)
        memory = torch.where(declared, gathered, self.empty_memory(z.shape[0]))
        logits = self._logits(out, self.memory_keys(memory), self.output_bias(z))
        return logits.masked_fill(~legal, float("-inf"))

    # -- decoding: one step for a batch of partial programs -------------------------------------

    def output_bias(self, z: torch.Tensor) -> torch.Tensor | None:
        """z's direct contribution to every step's output features [B, 1, H] (None if disabled)."""
        return self.latent_output(z).unsqueeze(1) if self.latent_output is not None else None

    def step(self, z_in: torch.Tensor, z_out: torch.Tensor | None, previous: torch.Tensor,
             parents: torch.Tensor, symbols: torch.Tensor, state: torch.Tensor | tuple, keys: torch.Tensor,
             legal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | tuple]:
        """One action for N partial programs: (masked logits [N, A], output [N, H], new state).

        `z_in` is `latent_input(z)` [N, H] and `z_out` is `output_bias(z)`, computed once per decode;
        `previous`, `parents`, `symbols` are [N]; `keys` [N, V, H] are `memory_keys` of the variable
        memory (kept up to date by the caller as locals are declared); `legal` is [N, A].
        """
        x = self._inputs(z_in, previous, parents, symbols).unsqueeze(1)
        out, state = self.rnn(x, state)
        out = out[:, 0]
        logits = self._logits(out.unsqueeze(1), keys, z_out)[:, 0]
        return logits.masked_fill(~legal, float("-inf")), out, state
