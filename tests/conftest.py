"""Shared fixtures: tiny real datasets built once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("WANDB_MODE", "disabled")

from astae.core.config import GeneratorConfig  # noqa: E402
from astae.core.dataset_build import build_dataset  # noqa: E402

TINY = GeneratorConfig(chunk_size=32)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 50-program dataset built with seed 7 and one worker."""
    out = tmp_path_factory.mktemp("data") / "tiny"
    build_dataset(out, 50, seed=7, cfg=TINY, workers=1)
    return out


@pytest.fixture(scope="session")
def tiny_training_data(tiny_dataset: Path):
    """The tiny dataset prepared for the model (targets, features, split)."""
    from astae.core.training_data import prepare_data

    return prepare_data(tiny_dataset, max_decode_steps=100, seed=0, val_fraction=0.2)


TINY_MODEL = {"hidden_dim": 16, "latent_dim": 8, "encoder_layers": 1}


def train_tiny(data_dir: Path, artifacts: Path, epochs: int, **sections) -> Path:
    """Train a tiny model on `data_dir` with the core loop; returns its run directory."""
    from astae.core.config import TrainConfig
    from astae.core.training import train

    cfg = TrainConfig.model_validate({
        "data": {"data_dir": str(data_dir), **sections.get("data", {})},
        "model": {**TINY_MODEL, **sections.get("model", {})},
        "training": {"epochs": epochs, "batch_size": 16, "eval_workers": 1, "threads": 1,
                     "eval_interval": epochs, **sections.get("training", {})},
        "tracking": {"wandb": False, "artifacts_dir": str(artifacts)},
    })
    return train(cfg).run_dir


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run directory of a tiny model trained 2 epochs on `tiny_dataset` (best/final models,
    metrics.jsonl, an aggregate prior in both checkpoints)."""
    return train_tiny(tiny_dataset, tmp_path_factory.mktemp("runs"), epochs=2)


@pytest.fixture(scope="session")
def overfit_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained 200 epochs on 8 programs (all but one in the training split), so that it
    reconstructs most of them exactly; returns its run directory."""
    root = tmp_path_factory.mktemp("overfit")
    build_dataset(root / "data", 8, seed=3, cfg=TINY, workers=1)
    return train_tiny(
        root / "data", root / "runs", 200,
        model={"hidden_dim": 32, "latent_dim": 16, "dropout": 0.0},
        training={"lr_schedule": "constant", "batch_size": 8, "warmup_steps": 0},
        data={"val_fraction": 0.01},
    )
