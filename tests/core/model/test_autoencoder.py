import pytest
import torch

from astae.core.config import ModelConfig
from astae.core.model.autoencoder import ASTAutoencoder
from astae.core.model.decoding import greedy_decode
from astae.core.training_data import make_batch

CPU = torch.device("cpu")


def test_plain_autoencoder_uses_the_mean_and_reports_no_kl(tiny_training_data):
    torch.manual_seed(0)
    cfg = ModelConfig(hidden_dim=16, latent_dim=4, kl_weight=0.0, dropout=0.0)
    model = ASTAutoencoder(cfg, tiny_training_data.num_features)
    batch = make_batch(tiny_training_data, [0, 1], CPU)
    first, second = model(batch), model(batch)
    assert torch.equal(first.reconstruction, second.reconstruction)
    assert first.kl.eq(0).all()


def test_vae_samples_z_in_training_and_penalises_kl(tiny_training_data):
    torch.manual_seed(0)
    cfg = ModelConfig(hidden_dim=16, latent_dim=4, kl_weight=1.0, semantic_weight=0.0, dropout=0.0)
    model = ASTAutoencoder(cfg, tiny_training_data.num_features)
    batch = make_batch(tiny_training_data, [0, 1], CPU)
    first, second = model(batch), model(batch)
    assert not torch.equal(first.reconstruction, second.reconstruction)
    assert (first.kl > 0).all()
    model.eval()
    assert torch.equal(model(batch).reconstruction, model(batch).reconstruction)


def test_kl_scale_weights_only_the_kl_term(tiny_training_data):
    torch.manual_seed(0)
    cfg = ModelConfig(hidden_dim=16, latent_dim=4, kl_weight=0.5, semantic_weight=0.0)
    model = ASTAutoencoder(cfg, tiny_training_data.num_features).eval()  # z = mu: same z both times
    batch = make_batch(tiny_training_data, [0, 1, 2], CPU)
    full, none = model(batch, kl_scale=1.0), model(batch, kl_scale=0.0)
    expected = 0.5 * full.kl.mean()
    assert (full.loss - none.loss).item() == pytest.approx(expected.item(), rel=1e-4)


@pytest.mark.slow
def test_tiny_set_overfits_to_exact_reconstruction(tiny_training_data):
    data = tiny_training_data
    ids = data.train_ids[:16]
    torch.manual_seed(0)
    model = ASTAutoencoder(ModelConfig(hidden_dim=64, latent_dim=16), data.num_features)
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    batch = make_batch(data, ids, CPU)
    for _ in range(300):
        out = model(batch)
        if out.exact.all():
            break
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    assert out.exact.all(), f"teacher-forced exact match {out.exact.float().mean():.2f} after 300 steps"
    model.eval()
    mu, _ = model.encode(batch.graph)
    decoded = greedy_decode(model.decoder, mu, 100)
    assert [d.source for d in decoded] == [data.dataset.programs[i]["source"] for i in ids]
