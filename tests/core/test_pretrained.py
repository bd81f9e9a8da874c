"""The model shipped with astae, and which checkpoint a command uses when none is given."""

from __future__ import annotations

import json
import os
import time

import pytest
import torch

from astae.core.checkpoint import load_checkpoint, read_checkpoint
from astae.core.errors import CheckpointError
from astae.core.grammar import GRAMMAR
from astae.core.latent import LatentPrior
from astae.core.pretrained import (
    SHIPPED,
    default_checkpoint,
    newest_checkpoint,
    ship_checkpoint,
    shipped_card,
)


def test_newest_checkpoint_takes_the_newest_best_model(tmp_path):
    assert newest_checkpoint(tmp_path) is None and newest_checkpoint(tmp_path / "absent") is None
    old, new = tmp_path / "run_a" / "best_model.pt", tmp_path / "run_b" / "best_model.pt"
    for path in (new, old):
        path.parent.mkdir()
        path.write_bytes(b"x")
    now = time.time()
    os.utime(old, (now - 100, now - 100))
    assert newest_checkpoint(tmp_path) == new


def test_default_checkpoint_is_the_newest_trained_then_the_shipped_one(tmp_path):
    shipped = tmp_path / "shipped.pt"
    with pytest.raises(CheckpointError, match="no best_model.pt found .*no model is shipped"):
        default_checkpoint(tmp_path / "runs", shipped)
    shipped.write_bytes(b"x")
    path, which = default_checkpoint(tmp_path / "runs", shipped)
    assert path == shipped and "the model shipped with astae" in which
    trained = tmp_path / "runs" / "run_a" / "best_model.pt"
    trained.parent.mkdir(parents=True)
    trained.write_bytes(b"x")
    path, which = default_checkpoint(tmp_path / "runs", shipped)
    assert path == trained and "the newest best_model.pt" in which


def test_a_shipped_checkpoint_keeps_the_weights_and_prior_and_drops_the_training_state(tiny_run, tmp_path):
    out = ship_checkpoint(tiny_run / "best_model.pt", {"recipe": "tiny"}, tmp_path / "model.pt")
    original, shipped = load_checkpoint(tiny_run / "best_model.pt"), load_checkpoint(out)
    assert "optimizer" not in shipped and "scheduler" not in shipped and "rng" not in shipped
    assert shipped["model"].keys() == original["model"].keys()
    assert all(torch.equal(shipped["model"][k], original["model"][k]) for k in original["model"])
    assert shipped["latent_prior"].keys() == original["latent_prior"].keys()
    half, full = shipped["latent_prior"]["scale_tril"], original["latent_prior"]["scale_tril"]
    assert half.dtype == torch.float16 and torch.allclose(half.float(), full, rtol=1e-2, atol=1e-3)
    assert LatentPrior.from_payload(shipped["latent_prior"]).mean.dtype == torch.float32
    assert shipped["config"] == original["config"]
    assert out.stat().st_size < (tiny_run / "best_model.pt").stat().st_size
    assert json.loads((tmp_path / "model.json").read_text()) == {"recipe": "tiny"}
    assert shipped_card(out) == {"recipe": "tiny"}


def test_the_shipped_model_fits_this_grammar_and_has_its_card():
    # Fails when the grammar changes without a model trained for it: re-train and re-ship then
    # (benchmarks/ship_model.py).
    assert SHIPPED.is_file(), f"{SHIPPED}: the model shipped with astae is missing"
    payload = read_checkpoint(SHIPPED)
    assert payload["grammar_fingerprint"] == GRAMMAR.fingerprint
    load_checkpoint(SHIPPED)  # vocabularies too
    card = shipped_card()
    assert card is not None and {"recipe", "numbers", "commit"} <= card.keys()


def test_a_checkpoint_without_its_prior_is_shipped_with_one_fitted_to_its_training_split(tiny_run, tmp_path):
    from astae.core.checkpoint import save_checkpoint

    payload = load_checkpoint(tiny_run / "best_model.pt")
    stored = payload.pop("latent_prior")
    stopped = save_checkpoint(tmp_path / "stopped.pt", payload)
    shipped = load_checkpoint(ship_checkpoint(stopped, {}, tmp_path / "model.pt"))
    fitted = LatentPrior.from_payload(shipped["latent_prior"])
    assert torch.allclose(fitted.mean, LatentPrior.from_payload(stored).mean, atol=1e-2)
    assert fitted.by_signature.keys() == LatentPrior.from_payload(stored).by_signature.keys()
