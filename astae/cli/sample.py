"""`astae sample`: programs from a trained latent space (prior draws, interpolations, neighbours)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from astae.cli._common import console, handle_errors, output_path
from astae.cli.render_model import render_sample_report
from astae.core.config import ConfigError

DEFAULT_TEMPERATURE = 1.0


@handle_errors
def sample_command(
    checkpoint: Path | None = typer.Argument(
        None, metavar="[CKPT]", help="Checkpoint (default: the newest best_model.pt under --artifacts_dir, "
        "else the model shipped with astae)."
    ),
    n: int = typer.Option(10, "--n", help="Programs to draw (or neighbours with --near).", min=1),
    temperature: float | None = typer.Option(
        None, "--temperature", help="Sampling temperature (default 1.0 for prior draws).", min=0.0
    ),
    greedy: bool = typer.Option(False, "--greedy", help="Decode each code greedily instead of sampling."),
    seed: int = typer.Option(0, "--seed", help="Seed of the codes, the sampled actions and the inputs."),
    prior: str = typer.Option(
        "aggregate", "--prior", help="aggregate (fitted to the training codes) or standard (N(0, I))."
    ),
    interpolate: tuple[int, int] | None = typer.Option(
        None, "--interpolate", metavar="A B", help="Decode points between the codes of programs A and B."
    ),
    steps: int = typer.Option(5, "--steps", help="Points of an interpolation, both ends included.", min=2),
    near: int | None = typer.Option(None, "--near", metavar="ID", help="Decode codes around program ID."),
    radius: float = typer.Option(
        0.5, "--radius", help="Spread around --near, in standard deviations of the training codes.", min=0.0
    ),
    data_dir: Path | None = typer.Option(
        None, "--data_dir", "--data-dir", help="Dataset (default: the one the checkpoint trained on)."
    ),
    artifacts_dir: Path = typer.Option(
        Path("training_artifacts"), "--artifacts_dir", "--artifacts-dir", help="Where to find checkpoints."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write one JSON line per program here."),
    workers: int = typer.Option(2, "--workers", help="Executor processes that run the programs.", min=1),
) -> None:
    """Draw programs from the latent space; run each on random inputs of its signature."""
    from astae.core import sampling  # the model stack loads only now
    from astae.core.files import write_jsonl
    from astae.core.pretrained import default_checkpoint

    if interpolate is not None and near is not None:
        raise ConfigError("--interpolate and --near are exclusive: give one of them")
    if greedy and temperature is not None:
        raise ConfigError("--greedy and --temperature are exclusive: give one of them")
    if out is not None:
        output_path(out, "--out")
    if checkpoint is None:
        checkpoint, which = default_checkpoint(artifacts_dir)
        console.print(which)
    common = {"seed": seed, "data_dir": data_dir, "workers": workers}
    if interpolate is not None:
        a, b = interpolate
        report = sampling.interpolate(checkpoint, a, b, steps=steps, temperature=temperature, **common)
    elif near is not None:
        report = sampling.neighbours(checkpoint, near, radius=radius, n=n, temperature=temperature, **common)
    else:
        chosen = None if greedy else (temperature if temperature is not None else DEFAULT_TEMPERATURE)
        report = sampling.sample_prior(checkpoint, n=n, prior=prior, temperature=chosen, **common)
    render_sample_report(console, report)
    if out is not None:
        write_jsonl(out, (asdict(s) for s in report.samples))
        console.print(f"wrote {out}")
