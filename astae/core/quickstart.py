"""`astae quickstart`: the training config of the small end-to-end run."""

from __future__ import annotations

from pathlib import Path

from astae.core.config import TrainConfig, merge, validate

# The keys of configs/quickstart.yaml (tests/core/test_quickstart.py keeps the two equal).
QUICKSTART_CONFIG: dict = {
    "data": {"val_fraction": 0.1},
    "model": {"dropout": 0.0},
    "training": {
        "epochs": 10, "lr_schedule": "cosine", "eval_interval": 5, "log_interval": 50,
        "checkpoint_interval": 5,
    },
    "tracking": {"wandb": False, "artifacts_dir": "training_artifacts"},
}

def quickstart_config(data_dir: Path, overrides: dict | None = None) -> TrainConfig:
    """The quickstart training config for a dataset at `data_dir`."""
    data = merge(QUICKSTART_CONFIG, {"data": {"data_dir": str(data_dir)}, **(overrides or {})})
    return validate(TrainConfig, data, "quickstart config")
