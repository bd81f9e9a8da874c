"""`astae quickstart`: the small end-to-end run (build a dataset, train, sample) and its config."""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from astae.core.config import ConfigError, GeneratorConfig, TrainConfig, merge, validate
from astae.core.dataset import MANIFEST
from astae.core.dataset_build import BuildReport, Progress, build_dataset
from astae.core.training_events import TrainCallbacks, TrainResult

if TYPE_CHECKING:
    from astae.core.sampling import SampleReport

# The keys of configs/quickstart.yaml. configs/ is not shipped in the wheel, so the installed
# package keeps them here, as TrainConfig keeps configs/default.yaml's;
# tests/core/test_train_config.py keeps the two equal.
QUICKSTART_CONFIG: dict = {
    "data": {"val_fraction": 0.1},
    "model": {"dropout": 0.0},
    "training": {
        "epochs": 10, "lr_schedule": "cosine", "eval_interval": 5, "log_interval": 50,
        "checkpoint_interval": 5,
    },
    "tracking": {"wandb": False, "artifacts_dir": "training_artifacts"},
}
QUICKSTART_SAMPLES = 5  # programs drawn from the trained latent space


def quickstart_config(data_dir: Path, overrides: dict | None = None) -> TrainConfig:
    """The quickstart training config for a dataset at `data_dir`."""
    data = merge(QUICKSTART_CONFIG, {"data": {"data_dir": str(data_dir)}, **(overrides or {})})
    return validate(TrainConfig, data, "quickstart config")


def check_replaceable(out: Path, name: str = "out") -> Path:
    """Refuse an `out` that holds anything but an astae dataset (a ConfigError naming `name`):
    the quickstart rebuilds its dataset in place, and replaces only a dataset."""
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise ConfigError(f"{name} {out}: exists and is not an astae dataset; quickstart replaces only "
                          "a dataset")
    return out


class QuickstartCallbacks:
    """What `run_quickstart` reports between its stages; the CLI renders it. Every method is optional."""

    def build_progress(self, n: int) -> AbstractContextManager[Progress | None]:
        """A context open while the `n` programs are built; it yields `build_dataset`'s progress."""
        return contextlib.nullcontext(None)

    def built(self, report: BuildReport) -> None:
        """The dataset is written."""

    def train_progress(self) -> AbstractContextManager[TrainCallbacks]:
        """A context open while the model trains; it yields the training callbacks."""
        return contextlib.nullcontext(TrainCallbacks())

    def trained(self, result: TrainResult) -> None:
        """Training finished or was interrupted (then nothing follows)."""

    def sampling(self, n: int) -> None:
        """Decoding `n` programs drawn from the trained latent space begins."""


@dataclass
class QuickstartResult:
    """What a quickstart run produced."""

    build: BuildReport
    train: TrainResult
    samples: SampleReport | None  # None when training was interrupted

    @property
    def best(self) -> Path:
        """The checkpoint with the lowest validation loss."""
        return self.train.run_dir / "best_model.pt"


def run_quickstart(
    out: Path,
    n: int = 10_000,
    workers: int = 2,
    epochs: int | None = None,
    artifacts_dir: Path | None = None,
    callbacks: QuickstartCallbacks | None = None,
) -> QuickstartResult:
    """Build `n` programs into `out` (replacing the dataset there), train an autoencoder on them with
    the quickstart config and draw a few programs from its latent space."""
    callbacks = callbacks or QuickstartCallbacks()
    overrides: dict = {"training": {"epochs": epochs}} if epochs is not None else {}
    if artifacts_dir is not None:
        overrides["tracking"] = {"artifacts_dir": str(artifacts_dir)}
    cfg = quickstart_config(out, overrides)
    check_replaceable(out)
    with callbacks.build_progress(n) as progress:
        report = build_dataset(out, n, seed=0, cfg=GeneratorConfig(), workers=workers, force=True,
                               progress=progress)
    callbacks.built(report)
    from astae.core.training import train  # the model stack loads only now

    with callbacks.train_progress() as train_callbacks:
        trained = train(cfg, callbacks=train_callbacks)
    callbacks.trained(trained)
    result = QuickstartResult(report, trained, None)
    if trained.interrupted:
        return result
    from astae.core.sampling import sample_prior

    callbacks.sampling(QUICKSTART_SAMPLES)
    result.samples = sample_prior(result.best, n=QUICKSTART_SAMPLES, workers=workers)
    return result
