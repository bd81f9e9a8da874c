import pytest
import torch

from astae.core.config import ModelConfig
from astae.core.language import check_source
from astae.core.model.autoencoder import ASTAutoencoder
from astae.core.model.decoding import DecodeOptions, beam_decode, decode, greedy_decode, sample_decode


@pytest.fixture(scope="module")
def decoder(tiny_training_data):
    torch.manual_seed(0)
    model = ASTAutoencoder(ModelConfig(hidden_dim=32, latent_dim=8), tiny_training_data.num_features).eval()
    return model.decoder


def codes(n: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 8, generator=torch.Generator().manual_seed(seed))


def test_beam_width_one_is_greedy(decoder):
    z = codes(16)
    greedy = greedy_decode(decoder, z, 60)
    beam = beam_decode(decoder, z, 60, 1)
    assert [d.actions for d in beam] == [d.actions for d in greedy]
    assert [d.log_prob for d in beam] == pytest.approx([d.log_prob for d in greedy], abs=1e-4)


def test_beam_search_never_scores_worse_than_greedy_and_often_better(decoder):
    z = codes(24, seed=2)
    greedy = greedy_decode(decoder, z, 60)
    beam = beam_decode(decoder, z, 60, 4)
    for g, b in zip(greedy, beam):
        assert b.score >= g.score - 1e-5
    assert sum(b.score > g.score + 1e-4 for g, b in zip(greedy, beam)) > 0  # an untrained model is unsure


@pytest.mark.parametrize("strategy", ["beam", "sample"])
def test_every_strategy_returns_complete_checker_valid_programs_within_budget(decoder, strategy):
    z = codes(32, seed=3)
    if strategy == "beam":
        decoded = beam_decode(decoder, z, 30, 3)
    else:
        decoded = sample_decode(decoder, z, 30, 1.5, torch.Generator().manual_seed(0))
    assert len(decoded) == 32
    for d in decoded:
        assert len(d.actions) <= 30
        check_source(d.source)


def test_sampling_is_deterministic_for_a_seed_and_varies_across_seeds(decoder):
    z = codes(16, seed=4)

    def run(seed):
        return [d.source for d in sample_decode(decoder, z, 60, 1.0, torch.Generator().manual_seed(seed))]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_sampling_at_a_tiny_temperature_is_greedy(decoder):
    z = codes(8, seed=7)
    cold = sample_decode(decoder, z, 60, 1e-4, torch.Generator().manual_seed(0))
    assert [d.actions for d in cold] == [d.actions for d in greedy_decode(decoder, z, 60)]


def test_sampled_log_probs_are_the_untempered_model_scores(decoder):
    z = codes(4, seed=8)
    sampled = sample_decode(decoder, z, 60, 3.0, torch.Generator().manual_seed(1))
    forced = [d.actions for d in sampled]
    def replay(scores, rows, step):
        return torch.tensor([forced[r][step] for r in rows])

    replayed = decode(decoder, z, 60, replay)
    assert [d.log_prob for d in sampled] == pytest.approx([d.log_prob for d in replayed], abs=1e-4)


def test_decode_options_choose_the_strategy(decoder):
    z = codes(6, seed=9)
    assert [d.actions for d in DecodeOptions().run(decoder, z, 60)] == [
        d.actions for d in greedy_decode(decoder, z, 60)
    ]
    assert [d.actions for d in DecodeOptions(beam=3).run(decoder, z, 60)] == [
        d.actions for d in beam_decode(decoder, z, 60, 3)
    ]
    first = DecodeOptions(temperature=1.0, seed=3).run(decoder, z, 60)
    again = DecodeOptions(temperature=1.0, seed=3).run(decoder, z, 60)
    assert [d.source for d in first] == [d.source for d in again]
    with pytest.raises(ValueError, match="exclusive"):
        DecodeOptions(beam=2, temperature=1.0)
    with pytest.raises(ValueError):
        beam_decode(decoder, z, 60, 0)
