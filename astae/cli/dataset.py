"""`astae dataset build` and `astae dataset import`."""

from __future__ import annotations

from pathlib import Path

import typer

from astae.cli._common import console, handle_errors, progress_bar
from astae.cli.render import render_build_report
from astae.core.config import GeneratorConfig, load_config
from astae.core.dataset import build_dataset, import_dataset

app = typer.Typer(no_args_is_help=True, help="Build or import program datasets.")

ConfigOption = typer.Option(
    None, "--config", help="YAML file of generator settings (see configs/dataset.yaml)."
)
SetOption = typer.Option(None, "--set", help="Override one generator setting: key=value.")
ForceOption = typer.Option(False, "--force", help="Replace an existing dataset at --out.")
WorkersOption = typer.Option(1, "--workers", help="Worker processes.", min=1)


@app.command("build")
@handle_errors
def build(
    out: Path = typer.Option(..., "--out", help="Directory to create."),
    n: int = typer.Option(..., "--n", help="Number of programs to keep.", min=1),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same data."),
    workers: int = WorkersOption,
    config: Path | None = ConfigOption,
    assignments: list[str] | None = SetOption,
    force: bool = ForceOption,
) -> None:
    """Generate N random typed programs with input/output examples and their AST graphs."""
    cfg = load_config(GeneratorConfig, config, None, assignments)
    with progress_bar("building", n) as progress:
        report = build_dataset(out, n, seed, cfg, workers=workers, force=force, progress=progress)
    render_build_report(console, report)


@app.command("import")
@handle_errors
def import_(
    file: Path = typer.Argument(..., help="A .py file of functions or a .jsonl of {source, examples?}."),
    out: Path = typer.Option(..., "--out", help="Directory to create."),
    seed: int = typer.Option(0, "--seed", help="Seed for generated examples."),
    workers: int = WorkersOption,
    config: Path | None = ConfigOption,
    assignments: list[str] | None = SetOption,
    force: bool = ForceOption,
) -> None:
    """Turn your own programs into a dataset (examples are generated where none are given)."""
    cfg = load_config(GeneratorConfig, config, None, assignments)
    with progress_bar("importing", 0) as progress:
        report = import_dataset(file, out, seed, cfg, workers=workers, force=force, progress=progress)
    render_build_report(console, report)
