"""The graph encoder: a batched AST graph -> one readout vector per program.

node type + value token (+ pre-order position) embeddings -> `layers` DGL convolutions, each
with a residual connection and LayerNorm -> a readout: mean+max or attention pooling, a
bidirectional GRU over the pre-order node states, or K learned queries attending over the node
states (or over that GRU's outputs), K = `latent_slots`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple

os.environ.setdefault("DGLBACKEND", "pytorch")

import dgl  # noqa: E402
import torch  # noqa: E402
from dgl.nn import GATConv, GINConv, GlobalAttentionPooling, GraphConv, RelGraphConv  # noqa: E402
from torch import nn  # noqa: E402

from astae.core.astgraph import EDGE_TYPES, NODE_TYPES, VALUE_TOKENS  # noqa: E402
from astae.core.config import ModelConfig  # noqa: E402

MAX_POSITION = 256  # positions past this share the last embedding


def _heads(dim: int) -> int:
    """Attention heads for width `dim`: 4 when they divide it, else 1."""
    return 4 if dim % 4 == 0 else 1


def _call(conv: nn.Module, g: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
    """A convolution that takes the graph and node states only."""
    return conv(g, h)


class ConvKind(NamedTuple):
    """One `encoder:` kind: how to build its convolution `dim -> dim` and call it on node states."""

    build: Callable[[int, float], nn.Module]  # (dim, dropout) -> the convolution
    apply: Callable[[nn.Module, dgl.DGLGraph, torch.Tensor], torch.Tensor] = _call


def _rgcn(dim: int, dropout: float) -> nn.Module:
    """A relational convolution, one basis-regularised weight per edge type."""
    return RelGraphConv(dim, dim, len(EDGE_TYPES), regularizer="basis", num_bases=4, self_loop=True,
                        dropout=dropout)


def _gin(dim: int, dropout: float) -> nn.Module:
    """A GIN convolution: sum aggregation, a learned epsilon, a two-layer MLP."""
    mlp = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
    return GINConv(mlp, aggregator_type="sum", learn_eps=True)


CONV_KINDS: dict[str, ConvKind] = {
    "gcn": ConvKind(lambda dim, dropout: GraphConv(dim, dim, allow_zero_in_degree=True)),
    "rgcn": ConvKind(_rgcn, lambda conv, g, h: conv(g, h, g.edata["etype"])),
    "gat": ConvKind(
        lambda dim, dropout: GATConv(dim, dim // _heads(dim), _heads(dim), allow_zero_in_degree=True),
        lambda conv, g, h: conv(g, h).flatten(1),  # the heads' outputs side by side
    ),
    "gin": ConvKind(_gin),
}


class _Conv(nn.Module):
    """One graph convolution of the configured kind, `dim -> dim`."""

    def __init__(self, kind: str, dim: int, dropout: float) -> None:
        super().__init__()
        if kind not in CONV_KINDS:
            raise ValueError(f"unknown encoder kind {kind!r}")
        self.kind = kind
        self.conv = CONV_KINDS[kind].build(dim, dropout)

    def forward(self, g: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
        return CONV_KINDS[self.kind].apply(self.conv, g, h)


class GraphEncoder(nn.Module):
    """Batched AST graphs (ndata `type`, `value`; edata `etype`) -> readout [B, readout_dim]."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        dim = cfg.hidden_dim
        self.type_embedding = nn.Embedding(len(NODE_TYPES), dim)
        self.value_embedding = nn.Embedding(len(VALUE_TOKENS), dim)
        self.position_embedding = nn.Embedding(MAX_POSITION, dim) if cfg.position_features else None
        self.convs = nn.ModuleList(_Conv(cfg.encoder, dim, cfg.dropout) for _ in range(cfg.encoder_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(cfg.encoder_layers))
        self.dropout = nn.Dropout(cfg.dropout)
        if cfg.readout not in READOUTS:
            raise ValueError(f"unknown readout {cfg.readout!r}")
        self.readout_kind = cfg.readout
        readout = READOUTS[cfg.readout]
        for name, module in readout.parts(cfg).items():  # attributes: checkpoints name them
            setattr(self, name, module)
        self.readout_dim = cfg.latent_slots * dim if readout.slots else 2 * dim

    def forward(self, g: dgl.DGLGraph) -> torch.Tensor:
        with g.local_scope():
            h = self.type_embedding(g.ndata["type"]) + self.value_embedding(g.ndata["value"])
            if self.position_embedding is not None:
                h = h + self.position_embedding(node_positions(g).clamp(max=MAX_POSITION - 1))
            for conv, norm in zip(self.convs, self.norms):
                h = norm(h + self.dropout(torch.relu(conv(g, h))))
            return READOUTS[self.readout_kind].read(self, g, h)


class BidirectionalGRU(nn.Module):
    """A bidirectional GRU over padded sequences of different lengths, computed without packing.

    The same function as `nn.GRU(bidirectional=True)` on a packed sequence: the forward
    direction runs over the padded batch (padding comes after every valid step, so it never
    reaches one), the backward direction over each sequence reversed within its own length.
    Packing is avoided because torch's CPU kernel steps a packed batch one slice at a time with
    a backward pass that is quadratic in the length (2.3x slower here on length-bucketed batches).
    Loads the parameters of the `nn.GRU` this replaced (`weight_ih_l0_reverse`, ...).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.forward_gru = nn.GRU(dim, dim, batch_first=True)
        self.backward_gru = nn.GRU(dim, dim, batch_first=True)

    def forward(self, padded: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`padded` [B, T, H], `lengths` [B] (each >= 1) -> (outputs [B, T, 2H], zero past each
        length; final states of both directions [B, 2H])."""
        steps = torch.arange(padded.shape[1], device=padded.device).unsqueeze(0)
        valid = steps < lengths.unsqueeze(1)  # [B, T]
        reverse = torch.where(valid, lengths.unsqueeze(1) - 1 - steps, steps)
        reverse = reverse.unsqueeze(-1).expand(-1, -1, padded.shape[-1])
        forward_out, _ = self.forward_gru(padded)
        backward_out = self.backward_gru(padded.gather(1, reverse))[0].gather(1, reverse)
        last = (lengths - 1).view(-1, 1, 1).expand(-1, 1, forward_out.shape[-1])
        final = torch.cat([forward_out.gather(1, last)[:, 0], backward_out[:, 0]], dim=-1)
        outputs = torch.cat([forward_out, backward_out], dim=-1).masked_fill(~valid.unsqueeze(-1), 0.0)
        return outputs, final

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            if prefix + name in state_dict:
                state_dict[f"{prefix}forward_gru.{name}"] = state_dict.pop(prefix + name)
            if f"{prefix}{name}_reverse" in state_dict:
                state_dict[f"{prefix}backward_gru.{name}"] = state_dict.pop(f"{prefix}{name}_reverse")
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class SlotPooling(nn.Module):
    """K learned queries attend (4 heads) over each graph's node states: [B, N, S] -> [B, K * H]."""

    def __init__(self, source_dim: int, dim: int, slots: int) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.randn(slots, dim) * dim**-0.5)
        self.attention = nn.MultiheadAttention(dim, _heads(dim), kdim=source_dim,
                                               vdim=source_dim, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`states` [B, N, S] with `mask` [B, N] True at padding -> slots flattened [B, K * H]."""
        queries = self.queries.unsqueeze(0).expand(states.shape[0], -1, -1)
        pooled, _ = self.attention(queries, states, states, key_padding_mask=mask, need_weights=False)
        return self.norm(pooled + queries).flatten(1)


def _padded(g: dgl.DGLGraph, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Node states per graph in pre-order, padded: ([B, N, H], mask [B, N] True at padding)."""
    counts = g.batch_num_nodes()
    padded = nn.utils.rnn.pad_sequence(torch.split(h, counts.tolist()), batch_first=True)
    mask = torch.arange(padded.shape[1], device=h.device).unsqueeze(0) >= counts.to(h.device).unsqueeze(1)
    return padded, mask


def node_positions(g: dgl.DGLGraph) -> torch.Tensor:
    """Each node's index within its own graph of the batch (its pre-order position)."""
    counts = g.batch_num_nodes()
    offsets = torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    return torch.arange(g.num_nodes(), device=offsets.device) - offsets


class Readout(NamedTuple):
    """One `readout:` kind: the modules it adds to the encoder (by attribute name, built in this
    order) and how it turns the final node states into one vector per graph."""

    parts: Callable[[ModelConfig], dict[str, nn.Module]]
    read: Callable[[GraphEncoder, dgl.DGLGraph, torch.Tensor], torch.Tensor]
    slots: bool = False  # one vector per latent slot (latent_slots * hidden_dim), else 2 * hidden_dim


def _mean_max(encoder: GraphEncoder, g: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
    """Mean and max of each graph's node states, side by side."""
    g.ndata["h"] = h
    return torch.cat([dgl.mean_nodes(g, "h"), dgl.max_nodes(g, "h")], dim=-1)


def _attention_parts(cfg: ModelConfig) -> dict[str, nn.Module]:
    """Attention pooling: a gate score per node, a 2 * hidden_dim value."""
    dim = cfg.hidden_dim
    return {"pool": GlobalAttentionPooling(nn.Linear(dim, 1), nn.Linear(dim, 2 * dim))}


def _sequence(encoder: GraphEncoder, g: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
    """A bidirectional GRU over each graph's nodes in pre-order; final states of both directions."""
    padded, _ = _padded(g, h)
    return encoder.sequence(padded, g.batch_num_nodes().to(h.device))[1]


def _sequence_slots_parts(cfg: ModelConfig) -> dict[str, nn.Module]:
    """The GRU of `sequence` and slots attending over its outputs."""
    dim = cfg.hidden_dim
    return {"sequence": BidirectionalGRU(dim), "slot_pool": SlotPooling(2 * dim, dim, cfg.latent_slots)}


def _sequence_slots(encoder: GraphEncoder, g: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
    """Slots attending over the GRU outputs of each graph's nodes in pre-order."""
    padded, mask = _padded(g, h)
    states, _ = encoder.sequence(padded, g.batch_num_nodes().to(h.device))
    return encoder.slot_pool(states, mask)


def _transformer_slots_parts(cfg: ModelConfig) -> dict[str, nn.Module]:
    """One Transformer layer over the node states and slots attending over its outputs."""
    dim = cfg.hidden_dim
    layer = nn.TransformerEncoderLayer(dim, _heads(dim), 2 * dim, cfg.dropout, batch_first=True)
    return {"transformer": layer, "slot_pool": SlotPooling(dim, dim, cfg.latent_slots)}


def _transformer_slots(encoder: GraphEncoder, g: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
    """Slots attending over a Transformer layer's outputs for each graph's nodes."""
    padded, mask = _padded(g, h)
    return encoder.slot_pool(encoder.transformer(padded, src_key_padding_mask=mask), mask)


READOUTS: dict[str, Readout] = {
    "mean_max": Readout(lambda cfg: {}, _mean_max),
    "attention": Readout(_attention_parts, lambda encoder, g, h: encoder.pool(g, h)),
    "sequence": Readout(lambda cfg: {"sequence": BidirectionalGRU(cfg.hidden_dim)}, _sequence),
    "slots": Readout(
        lambda cfg: {"slot_pool": SlotPooling(cfg.hidden_dim, cfg.hidden_dim, cfg.latent_slots)},
        lambda encoder, g, h: encoder.slot_pool(*_padded(g, h)),
        slots=True,
    ),
    "sequence_slots": Readout(_sequence_slots_parts, _sequence_slots, slots=True),
    "transformer_slots": Readout(_transformer_slots_parts, _transformer_slots, slots=True),
}
