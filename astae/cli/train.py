"""`astae train`: the seed's flags over a YAML config, one call to `astae.core.training.train`."""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer

from astae.cli._common import console, fail, handle_errors
from astae.cli.render import TrainProgress, render_train_result
from astae.core.config import ConfigError, TrainConfig, load_config
from astae.core.training_events import TrainCallbacks


def train_command(
    config: Path | None = typer.Option(
        None, "--config", help="YAML config (defaults: configs/default.yaml)."
    ),
    data_dir: Path | None = typer.Option(
        None, "--data_dir", "--data-dir", help="Dataset directory (with graphs/)."
    ),
    epochs: int | None = typer.Option(None, "--epochs", help="Training epochs."),
    batch_size: int | None = typer.Option(None, "--batch_size", "--batch-size", help="Programs per step."),
    lr: float | None = typer.Option(None, "--lr", help="Learning rate."),
    hidden_dim: int | None = typer.Option(None, "--hidden_dim", "--hidden-dim", help="Hidden width."),
    encoder_layers: int | None = typer.Option(
        None, "--encoder_layers", "--encoder-layers", help="Graph convolution layers."
    ),
    max_decode_steps: int | None = typer.Option(
        None, "--max_decode_steps", "--max-decode-steps", help="Action budget of a decode."
    ),
    eval_interval: int | None = typer.Option(
        None, "--eval_interval", "--eval-interval", help="Validate with greedy decoding every N epochs."
    ),
    log_interval: int | None = typer.Option(
        None, "--log_interval", "--log-interval", help="Log running step averages every N steps."
    ),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda or mps."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (split, initialisation, shuffling)."),
    resume: Path | None = typer.Option(None, "--resume", help="Checkpoint to continue from."),
    wandb_project: str | None = typer.Option(
        None, "--wandb_project", "--wandb-project", help="wandb project."
    ),
    wandb_run: str | None = typer.Option(None, "--wandb_run", "--wandb-run", help="wandb run name."),
    no_wandb: bool = typer.Option(False, "--no_wandb", "--no-wandb", help="Disable wandb."),
    artifacts_dir: Path | None = typer.Option(
        None, "--artifacts_dir", "--artifacts-dir", help="Parent directory of run folders."
    ),
    assignments: list[str] | None = typer.Option(
        None, "--set", help="Override any config key: --set model.latent_dim=64 (repeatable)."
    ),
) -> None:
    """Train an AST autoencoder; writes checkpoints, metrics and curves under the artifacts directory."""
    overrides = {
        "data.data_dir": data_dir, "training.epochs": epochs, "training.batch_size": batch_size,
        "training.lr": lr, "model.hidden_dim": hidden_dim, "model.encoder_layers": encoder_layers,
        "model.max_decode_steps": max_decode_steps, "training.eval_interval": eval_interval,
        "training.log_interval": log_interval, "training.device": device, "training.seed": seed,
        "tracking.wandb_project": wandb_project, "tracking.wandb_run": wandb_run,
        "tracking.wandb": False if no_wandb else None, "tracking.artifacts_dir": artifacts_dir,
    }
    from astae.core.distributed import Cluster, MainFailed, PeerLost  # the model stack loads only now
    from astae.core.training import read_resume, train

    checkpoint = read_resume(resume) if resume is not None else None
    base = checkpoint["config"] if checkpoint is not None else None
    cfg = load_config(TrainConfig, config, overrides, assignments, base=base)
    if cfg.data.data_dir is None:
        raise ConfigError("data.data_dir: no dataset given; pass --data_dir DIR or set data.data_dir")
    main = Cluster.from_env().is_main  # under torchrun only rank 0 talks to the terminal
    progress = TrainProgress(console) if main else contextlib.nullcontext(TrainCallbacks())
    try:
        with progress as callbacks:
            result = train(cfg, resume=resume, callbacks=callbacks, checkpoint=checkpoint)
    except MainFailed:
        raise typer.Exit(1) from None  # rank 0 failed and said why
    except PeerLost as e:  # another process died: every survivor says so, rank 0 where it saved
        raise fail(str(e).replace("[", r"\["), code=1) from None
    if not main:
        raise typer.Exit(130 if result.interrupted else 0)
    render_train_result(console, result)
    if result.interrupted:
        raise fail(f"interrupted; resume with: astae train --resume {result.checkpoint}", code=130)


train_cli = handle_errors(train_command)
