import pytest
import torch

from astae.core.checkpoint import load_model
from astae.core.latent import MIN_SIGNATURE_PROGRAMS, LatentPrior, pca_2d, program_signatures
from astae.core.training_data import checkpoint_data


def clustered(seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(40, 4, generator=g) * 0.1 + torch.tensor([3.0, 0, 0, 0])
    b = torch.randn(30, 4, generator=g) * 0.1 - torch.tensor([3.0, 0, 0, 0])
    rare = torch.randn(1, 4, generator=g)
    return torch.cat([a, b, rare]), ["A"] * 40 + ["B"] * 30 + ["R"]


def test_each_common_signature_gets_its_own_gaussian():
    codes, sigs = clustered()
    prior = LatentPrior.fit(codes, sigs)
    assert set(prior.by_signature) == {"A", "B"}  # "R" has too few programs
    assert torch.allclose(prior.for_signature("A").mean, codes[:40].mean(0), atol=1e-5)
    assert torch.allclose(prior.for_signature("B").mean, codes[40:70].mean(0), atol=1e-5)
    assert prior.for_signature("R") is prior and prior.for_signature("unseen") is prior
    # a signature's spread is its own codes' plus a pull towards the aggregate: between the two
    own, whole = codes[:40].std(0)[0], prior.std[0]
    assert own < prior.for_signature("A").std[0] < whole
    draws = prior.for_signature("A").sample(500, torch.Generator().manual_seed(1))
    assert draws[:, 0].mean() == pytest.approx(3.0, abs=0.3)


def test_the_payload_round_trips_and_old_payloads_still_load():
    codes, sigs = clustered()
    prior = LatentPrior.fit(codes, sigs)
    back = LatentPrior.from_payload(prior.to_payload())
    assert set(back.by_signature) == {"A", "B"}
    for sig in ("A", "B"):
        assert torch.equal(back.for_signature(sig).scale_tril, prior.for_signature(sig).scale_tril)
    old = {"mean": prior.mean, "scale_tril": prior.scale_tril}
    assert LatentPrior.from_payload(old).by_signature == {}
    assert LatentPrior.fit(codes).by_signature == {}


def test_training_stores_signature_priors_of_its_training_programs(tiny_run):
    _, cfg, payload = load_model(tiny_run / "final_model.pt")
    data = checkpoint_data(cfg, payload)
    stored = payload["latent_prior"]["signatures"]
    sigs = list(program_signatures(data, data.train_ids))
    common = {s for s in set(sigs) if sigs.count(s) >= MIN_SIGNATURE_PROGRAMS}
    assert common and set(stored) == common


def test_signatures_are_read_as_they_are_consumed_in_the_order_asked(tiny_training_data):
    data = tiny_training_data
    programs = data.dataset.programs
    ids = [7, 3, 3, 40, 0, -1]
    signatures = program_signatures(data, ids)
    assert not isinstance(signatures, list | tuple)  # an iterator: nothing held per program
    assert list(signatures) == [programs[i]["signature"] for i in ids]
    assert list(program_signatures(data, data.val_ids)) == [programs[i]["signature"] for i in data.val_ids]


def test_pca_2d_finds_the_direction_of_largest_spread():
    g = torch.Generator().manual_seed(0)
    codes = torch.randn(200, 3, generator=g) * torch.tensor([5.0, 1.0, 0.1])
    points, shares = pca_2d(codes)
    assert points.shape == (200, 2)
    assert shares[0] > 0.9 and shares[0] > shares[1] > 0
    assert abs(torch.corrcoef(torch.stack([points[:, 0], codes[:, 0]]))[0, 1]) > 0.99
    one, none = pca_2d(codes[:1])
    assert one.shape == (1, 2) and none == [0.0, 0.0]
