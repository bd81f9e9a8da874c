"""`astae inspect dataset | program | grammar | checkpoint | latent`."""

from __future__ import annotations

from pathlib import Path

import typer

from astae.cli._common import USER_ERRORS, console, handle_errors
from astae.cli.render import (
    render_checkpoint_summary,
    render_dataset_summary,
    render_grammar,
    render_latent_map,
    render_program,
)
from astae.core.dataset import PROGRAMS, DatasetError, load_dataset
from astae.core.inspection import grammar_table, summarize_dataset, view_program

app = typer.Typer(
    no_args_is_help=True, help="Look inside datasets, programs, the grammar, checkpoints and latent spaces."
)


@app.command("dataset")
@handle_errors
def dataset(path: Path = typer.Argument(..., help="Dataset directory.")) -> None:
    """Counts, signature mix, size histograms, frequent productions and example statistics."""
    render_dataset_summary(console, summarize_dataset(load_dataset(path)))


@app.command("program")
@handle_errors
def program(
    path: Path = typer.Argument(..., help="Dataset directory."),
    program_id: int = typer.Argument(..., metavar="ID", help="Program id (line number - 1)."),
) -> None:
    """One program: source, typed AST, graph statistics, action sequence and examples."""
    ds = load_dataset(path)
    try:
        view = view_program(ds, program_id)
    except USER_ERRORS:
        raise
    except ValueError as e:  # IllegalAction, or a derivation that does not complete
        raise DatasetError(
            f"{ds.path / PROGRAMS}:{program_id + 1}: field `actions` is not a derivation of the grammar ({e})"
        ) from None
    render_program(console, view)


@app.command("grammar")
@handle_errors
def grammar() -> None:
    """The typed nonterminals and productions of the language."""
    render_grammar(console, grammar_table())


@app.command("checkpoint")
@handle_errors
def checkpoint(path: Path = typer.Argument(..., help="Checkpoint file (.pt).")) -> None:
    """Config, grammar and compatibility, parameters per module, and the run's best and last epochs."""
    from astae.core.model_inspection import summarize_checkpoint  # torch loads only for these commands

    render_checkpoint_summary(console, summarize_checkpoint(path))


@app.command("latent")
@handle_errors
def latent(
    path: Path = typer.Argument(..., help="Checkpoint file (.pt)."),
    data_dir: Path | None = typer.Option(
        None, "--data_dir", "--data-dir", help="Dataset to encode (default: the checkpoint's)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Image to write (default: latent_<checkpoint name>.png beside the checkpoint)."
    ),
    split: str = typer.Option("val", "--split", help="val, train, test or all."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Encode at most the first N programs."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, mps or auto."),
) -> None:
    """Encode a split, project the latent codes to 2-D (PCA), and draw them by signature and by size."""
    from astae.core.model_inspection import latent_map

    render_latent_map(console, latent_map(path, data_dir, split, limit, out, device))
