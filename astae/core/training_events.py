"""What a training run reports: progress events for the CLI and the final result (no torch here,
so the CLI can import it without the model stack)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class TrainCallbacks:
    """What the training loop reports as it goes; the CLI renders it. Every method is optional."""

    def notice(self, message: str) -> None:
        """A one-line message for the user."""

    def run_started(self, info: RunInfo) -> None:
        """Training is about to start."""

    def epoch_started(self, epoch: int, steps: int) -> None:
        """Epoch `epoch` (1-based) of `steps` steps begins."""

    def step_done(self, loss: float, programs: int) -> None:
        """One optimiser step over `programs` programs finished."""

    def step_logged(self, record: dict) -> None:
        """Running averages over the last `log_interval` steps."""

    def evaluating(self, programs: int) -> None:
        """Greedy validation decoding of `programs` programs begins."""

    def epoch_done(self, record: dict) -> None:
        """An epoch's metrics (train/..., val/...)."""


@dataclass
class RunInfo:
    """What a run is about to do."""

    run_dir: Path
    device: str
    train_programs: int
    val_programs: int
    skipped_programs: int
    parameters: int
    start_epoch: int
    epochs: int
    wandb_mode: str


@dataclass
class TrainResult:
    """Where a finished (or interrupted) run left its artifacts and how it ended."""

    run_dir: Path
    epochs_done: int
    best_val_loss: float
    final: dict = field(default_factory=dict)  # the last epoch record
    best_eval: dict = field(default_factory=dict)  # the evaluated epoch with the lowest val loss
    interrupted: bool = False
    checkpoint: Path | None = None
    examples: list[dict] = field(default_factory=list)  # a few programs of the last evaluation
