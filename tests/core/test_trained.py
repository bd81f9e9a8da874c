"""TrainedModel: a checkpoint opened once, its data, priors and generator config on demand."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

import astae.core.trained as trained_module
from astae.core.checkpoint import load_checkpoint, save_checkpoint
from astae.core.config import ConfigError, GeneratorConfig
from astae.core.dataset import MANIFEST, DatasetError
from astae.core.errors import CheckpointError
from astae.core.trained import TrainedModel
from astae.core.training_data import SplitRule, prepare_data


def test_the_checkpoint_is_read_once_and_its_data_split_as_in_training(tiny_run, tiny_dataset, monkeypatch):
    loads = []
    real = trained_module.load_model
    monkeypatch.setattr(trained_module, "load_model", lambda *a: loads.append(a) or real(*a))
    trained = TrainedModel(tiny_run / "best_model.pt")
    data = trained.data()
    assert trained.data() is data and len(loads) == 1
    rule = trained.split_rule
    assert rule == SplitRule.of(trained.cfg)
    again = prepare_data(tiny_dataset, rule.max_decode_steps, rule.seed, rule.val_fraction, rule.max_programs)
    assert np.array_equal(data.train_ids, again.train_ids) and np.array_equal(data.val_ids, again.val_ids)
    assert not trained.model.training


def test_codes_refuse_an_unknown_program(tiny_run):
    trained = TrainedModel(tiny_run / "best_model.pt")
    data = trained.data()
    assert trained.codes(data, [0, 1]).shape == (2, trained.cfg.model.latent_dim)
    with pytest.raises(DatasetError, match="no program 50"):
        trained.codes(data, [50])


def test_priors_stored_fitted_or_refused(tiny_run, tmp_path):
    trained = TrainedModel(tiny_run / "best_model.pt")
    stored = trained.prior("aggregate")
    assert trained.prior("standard").name == "standard" and trained.notes == []
    with pytest.raises(ConfigError, match="^prior: 'uniform' is not one of"):
        trained.prior("uniform")
    payload = load_checkpoint(tiny_run / "best_model.pt")
    del payload["latent_prior"]
    bare = TrainedModel(save_checkpoint(tmp_path / "bare.pt", payload))
    with pytest.raises(CheckpointError, match="no aggregate prior stored"):
        bare.prior("aggregate")
    fitted = bare.prior("aggregate", bare.data())
    assert torch.allclose(fitted.mean, stored.mean, atol=1e-5)
    assert any("fitted now" in note for note in bare.notes)


def test_the_generator_config_is_the_datasets_or_the_defaults(tiny_run, tiny_dataset, tmp_path):
    built = json.loads((tiny_dataset / MANIFEST).read_text())["generator"]
    trained = TrainedModel(tiny_run / "best_model.pt")
    assert trained.generator_config() == GeneratorConfig.model_validate(built)
    assert trained.generator_config() != GeneratorConfig()  # the tiny dataset's own ranges
    copy = tmp_path / "copy"
    shutil.copytree(tiny_dataset, copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["generator"] = {"max_actions": "many"}
    (copy / MANIFEST).write_text(json.dumps(manifest))
    assert trained.generator_config(copy) == GeneratorConfig()
    payload = load_checkpoint(tiny_run / "best_model.pt")
    payload["dataset"] = {"path": str(tmp_path / "gone")}
    moved = TrainedModel(save_checkpoint(tmp_path / "moved.pt", payload))
    assert moved.generator_config() == GeneratorConfig()
