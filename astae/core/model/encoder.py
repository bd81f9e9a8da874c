"""The graph encoder: a batched AST graph -> one readout vector per program.

node type + value token (+ pre-order position) embeddings -> `layers` DGL convolutions, each
with a residual connection and LayerNorm -> a readout: mean+max or attention pooling, a
bidirectional GRU over the pre-order node states, or K learned queries attending over the node
states (or over that GRU's outputs), K = `latent_slots`.
"""

from __future__ import annotations

import os

os.environ.setdefault("DGLBACKEND", "pytorch")

import dgl  # noqa: E402
import torch  # noqa: E402
from dgl.nn import GATConv, GINConv, GlobalAttentionPooling, GraphConv, RelGraphConv  # noqa: E402
from torch import nn  # noqa: E402

from astae.core.astgraph import EDGE_TYPES, NODE_TYPES, VALUE_TOKENS  # noqa: E402
from astae.core.config import ModelConfig  # noqa: E402

MAX_POSITION = 256  # positions past this share the last embedding


class _Conv(nn.Module):
    """One graph convolution of the configured kind, `dim -> dim`."""

    def __init__(self, kind: str, dim: int, dropout: float) -> None:
        super().__init__()
        self.kind = kind
        if kind == "gcn":
            self.conv = GraphConv(dim, dim, allow_zero_in_degree=True)
        elif kind == "rgcn":
            self.conv = RelGraphConv(
                dim, dim, len(EDGE_TYPES), regularizer="basis", num_bases=4, self_loop=True, dropout=dropout
            )
        elif kind == "gat":
            heads = 4 if dim % 4 == 0 else 1
            self.conv = GATConv(dim, dim // heads, heads, allow_zero_in_degree=True)
        elif kind == "gin":
            mlp = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
            self.conv = GINConv(mlp, aggregator_type="sum", learn_eps=True)
        else:
            raise ValueError(f"unknown encoder kind {kind!r}")

    def forward(self, g: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
        if self.kind == "rgcn":
            return self.conv(g, h, g.edata["etype"])
        out = self.conv(g, h)
        return out.flatten(1) if self.kind == "gat" else out


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
        self.readout_kind = cfg.readout
        if cfg.readout == "attention":
            self.pool = GlobalAttentionPooling(nn.Linear(dim, 1), nn.Linear(dim, 2 * dim))
        elif cfg.readout in ("sequence", "sequence_slots"):
            self.sequence = nn.GRU(dim, dim, batch_first=True, bidirectional=True)
        self.readout_dim = 2 * dim
        if cfg.readout == "transformer_slots":
            heads = 4 if dim % 4 == 0 else 1
            self.transformer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, cfg.dropout, batch_first=True)
        if cfg.readout in ("slots", "sequence_slots", "transformer_slots"):
            source_dim = 2 * dim if cfg.readout == "sequence_slots" else dim
            self.slot_pool = SlotPooling(source_dim, dim, cfg.latent_slots)
            self.readout_dim = cfg.latent_slots * dim

    def forward(self, g: dgl.DGLGraph) -> torch.Tensor:
        with g.local_scope():
            h = self.type_embedding(g.ndata["type"]) + self.value_embedding(g.ndata["value"])
            if self.position_embedding is not None:
                h = h + self.position_embedding(node_positions(g).clamp(max=MAX_POSITION - 1))
            for conv, norm in zip(self.convs, self.norms):
                h = norm(h + self.dropout(torch.relu(conv(g, h))))
            if self.readout_kind == "attention":
                return self.pool(g, h)
            if self.readout_kind == "sequence":
                return self._sequence_readout(g, h)
            if self.readout_kind == "slots":
                return self.slot_pool(*_padded(g, h))
            if self.readout_kind == "transformer_slots":
                padded, mask = _padded(g, h)
                return self.slot_pool(self.transformer(padded, src_key_padding_mask=mask), mask)
            if self.readout_kind == "sequence_slots":
                padded, mask = _padded(g, h)
                packed = nn.utils.rnn.pack_padded_sequence(
                    padded, g.batch_num_nodes().cpu(), batch_first=True, enforce_sorted=False
                )
                states, _ = nn.utils.rnn.pad_packed_sequence(
                    self.sequence(packed)[0], batch_first=True, total_length=padded.shape[1]
                )
                return self.slot_pool(states, mask)
            g.ndata["h"] = h
            return torch.cat([dgl.mean_nodes(g, "h"), dgl.max_nodes(g, "h")], dim=-1)

    def _sequence_readout(self, g: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
        """A bidirectional GRU over each graph's nodes in pre-order; final states of both directions."""
        counts = g.batch_num_nodes()
        padded = nn.utils.rnn.pad_sequence(torch.split(h, counts.tolist()), batch_first=True)
        packed = nn.utils.rnn.pack_padded_sequence(
            padded, counts.cpu(), batch_first=True, enforce_sorted=False
        )
        _, last = self.sequence(packed)  # [2, B, H]
        return torch.cat([last[0], last[1]], dim=-1)


class SlotPooling(nn.Module):
    """K learned queries attend (4 heads) over each graph's node states: [B, N, S] -> [B, K * H]."""

    def __init__(self, source_dim: int, dim: int, slots: int) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.randn(slots, dim) * dim**-0.5)
        self.attention = nn.MultiheadAttention(dim, 4 if dim % 4 == 0 else 1, kdim=source_dim,
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
