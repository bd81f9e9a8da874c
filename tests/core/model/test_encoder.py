from typing import get_args

import dgl
import pytest
import torch

from astae.core.config import ModelConfig
from astae.core.model.encoder import CONV_KINDS, READOUTS, BidirectionalGRU, GraphEncoder, node_positions


@pytest.mark.parametrize("kind", list(CONV_KINDS))
@pytest.mark.parametrize("readout", ["mean_max", "attention", "sequence"])
def test_encoder_gives_one_readout_per_graph(tiny_training_data, kind, readout):
    torch.manual_seed(0)
    encoder = GraphEncoder(ModelConfig(hidden_dim=16, encoder=kind, readout=readout, encoder_layers=2))
    graph = tiny_training_data.graphs.batch([0, 1, 2])
    out = encoder(graph)
    assert out.shape == (3, encoder.readout_dim) == (3, 32)
    assert torch.isfinite(out).all()
    assert set(graph.ndata.keys()) == {"type", "value"}  # the caller's graph is untouched


@pytest.mark.parametrize("readout", ["slots", "sequence_slots", "transformer_slots"])
def test_slot_readouts_give_one_vector_per_slot(tiny_training_data, readout):
    torch.manual_seed(0)
    encoder = GraphEncoder(ModelConfig(hidden_dim=16, readout=readout, latent_slots=4, latent_dim=32))
    out = encoder(tiny_training_data.graphs.batch([0, 1, 2]))
    assert out.shape == (3, encoder.readout_dim) == (3, 4 * 16)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(("readout", "slots"), [
    ("sequence", 1), ("slots", 4), ("sequence_slots", 4), ("transformer_slots", 4),
])
def test_encoding_a_graph_alone_or_in_a_batch_is_the_same(tiny_training_data, readout, slots):
    """Padding never leaks into a graph's readout (masks, per-length reversal)."""
    torch.manual_seed(0)
    cfg = ModelConfig(hidden_dim=16, readout=readout, latent_slots=slots, latent_dim=32)
    encoder = GraphEncoder(cfg).eval()
    alone = encoder(tiny_training_data.graphs.batch([4]))
    batched = encoder(tiny_training_data.graphs.batch([1, 4, 2]))
    assert torch.allclose(alone[0], batched[1], atol=1e-5)


def test_every_encoder_kind_and_readout_of_the_config_has_one_table_entry():
    fields = ModelConfig.model_fields
    assert set(CONV_KINDS) == set(get_args(fields["encoder"].annotation))
    assert set(READOUTS) == set(get_args(fields["readout"].annotation))


def test_an_unknown_encoder_kind_or_readout_is_refused():
    with pytest.raises(ValueError, match="unknown encoder kind 'gru'"):
        GraphEncoder(ModelConfig.model_construct(**{**ModelConfig().model_dump(), "encoder": "gru"}))
    with pytest.raises(ValueError, match="unknown readout 'sum'"):
        GraphEncoder(ModelConfig.model_construct(**{**ModelConfig().model_dump(), "readout": "sum"}))


def test_node_positions_restart_in_each_graph():
    g = dgl.batch([dgl.graph(([0], [1]), num_nodes=2), dgl.graph(([0, 1], [1, 2]), num_nodes=3)])
    assert node_positions(g).tolist() == [0, 1, 0, 1, 2]


def test_bidirectional_gru_equals_torch_on_a_packed_batch():
    """Same outputs, final states and gradients as `nn.GRU(bidirectional=True)` on packed input,
    from that module's own parameters (old checkpoints load)."""
    torch.manual_seed(0)
    reference = torch.nn.GRU(8, 8, batch_first=True, bidirectional=True)
    ours = BidirectionalGRU(8)
    ours.load_state_dict(reference.state_dict())
    lengths = torch.tensor([5, 2, 7, 1])
    x = torch.randn(4, 7, 8)
    x_ref, x_ours = x.clone().requires_grad_(), x.clone().requires_grad_()
    packed = torch.nn.utils.rnn.pack_padded_sequence(x_ref, lengths, batch_first=True, enforce_sorted=False)
    out, last = reference(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=7)
    ours_out, ours_final = ours(x_ours, lengths)
    assert torch.allclose(ours_out, out, atol=1e-6)
    assert torch.allclose(ours_final, torch.cat([last[0], last[1]], dim=-1), atol=1e-6)
    (out * torch.arange(16.0)).sum().backward()
    (ours_out * torch.arange(16.0)).sum().backward()
    assert torch.allclose(x_ours.grad, x_ref.grad, atol=1e-5)
    assert torch.allclose(ours.backward_gru.weight_hh_l0.grad, reference.weight_hh_l0_reverse.grad, atol=1e-5)
