"""Shared fixtures: tiny real datasets built once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("WANDB_MODE", "disabled")

from astae.core.config import GeneratorConfig  # noqa: E402
from astae.core.dataset import build_dataset  # noqa: E402

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
