import pytest
import torch

from astae.core.config import ModelConfig
from astae.core.language import check_source
from astae.core.model.autoencoder import ASTAutoencoder
from astae.core.model.decoding import decode, greedy_decode
from astae.core.training_data import make_batch

CPU = torch.device("cpu")


def model_for(data, **kw) -> ASTAutoencoder:
    torch.manual_seed(0)
    cfg = ModelConfig(**{"hidden_dim": 32, "latent_dim": 8, **kw})
    return ASTAutoencoder(cfg, data.num_features).eval()


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_illegal_actions_get_zero_probability(tiny_training_data, cell):
    model = model_for(tiny_training_data, decoder_cell=cell)
    batch = make_batch(tiny_training_data, [0, 1, 2, 3], CPU)
    mu, _ = model.encode(batch.graph)
    logits = model.decoder(mu, batch.previous, batch.parents, batch.symbols, batch.declared_at, batch.legal)
    probs = torch.softmax(logits, dim=-1)
    assert probs[~batch.legal].eq(0).all()
    assert torch.allclose(probs.sum(-1), torch.ones(probs.shape[:2]))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_untrained_greedy_decodes_are_complete_valid_programs(tiny_training_data, cell):
    model = model_for(tiny_training_data, decoder_cell=cell, max_decode_steps=40)
    z = torch.randn(64, 8, generator=torch.Generator().manual_seed(1)) * 5
    for decoded in greedy_decode(model.decoder, z, max_steps=40):
        assert len(decoded.actions) <= 40
        check_source(decoded.source)  # raises if outside the language
        compile(decoded.source, "<decoded>", "exec")


def test_sampled_decodes_are_valid_under_a_tight_budget(tiny_training_data):
    model = model_for(tiny_training_data)
    gen = torch.Generator().manual_seed(2)

    def sample(scores, rows, step):
        return torch.multinomial(scores.exp(), 1, generator=gen)[:, 0]

    for decoded in decode(model.decoder, torch.randn(64, 8, generator=gen), 25, sample):
        assert len(decoded.actions) <= 25
        check_source(decoded.source)


@pytest.mark.parametrize(("cell", "latent_to_output", "slots"), [
    ("gru", True, 1), ("gru", False, 1), ("lstm", True, 1), ("gru", True, 4), ("lstm", False, 2),
])
def test_teacher_forcing_equals_stepwise_decoding_of_the_target(
    tiny_training_data, cell, latent_to_output, slots
):
    """The parallel training pass and the step function score a target identically."""
    data = tiny_training_data
    model = model_for(data, decoder_cell=cell, latent_to_output=latent_to_output, latent_slots=slots)
    ids = [0, 5, 9]
    batch = make_batch(data, ids, CPU)
    mu, _ = model.encode(batch.graph)
    logits = model.decoder(mu, batch.previous, batch.parents, batch.symbols, batch.declared_at, batch.legal)
    log_probs = torch.log_softmax(logits, -1).gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
    gold = [data.targets[i].actions for i in ids]

    def forced(scores, rows, step):
        return torch.tensor([gold[r][step] for r in rows])

    decoded = decode(model.decoder, mu, 100, forced)
    for row, d in enumerate(decoded):
        n = len(gold[row])
        assert d.actions == list(gold[row])
        assert d.log_prob == pytest.approx(log_probs[row, :n].sum().item(), abs=1e-3)
        assert d.source == data.dataset.programs[ids[row]]["source"]


def test_latent_slots_reach_every_step(tiny_training_data):
    """With slots, changing one slot of z changes the step outputs (z is read through attention)."""
    model = model_for(tiny_training_data, latent_slots=4, latent_to_output=False)
    batch = make_batch(tiny_training_data, [0], CPU)
    z = torch.randn(1, 8, generator=torch.Generator().manual_seed(4))
    moved = z.clone()
    moved[0, 6:] += 1.0  # the last slot only
    args = (batch.previous, batch.parents, batch.symbols, batch.declared_at, batch.legal)
    base, other = model.decoder(z, *args), model.decoder(moved, *args)
    legal = batch.legal
    assert not torch.allclose(base[legal], other[legal])


def test_decoding_is_deterministic(tiny_training_data):
    model = model_for(tiny_training_data)
    z = torch.randn(8, 8, generator=torch.Generator().manual_seed(3))
    first = [d.source for d in greedy_decode(model.decoder, z, 100)]
    assert first == [d.source for d in greedy_decode(model.decoder, z, 100)]
