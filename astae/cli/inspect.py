"""`astae inspect dataset | program | grammar`."""

from __future__ import annotations

from pathlib import Path

import typer

from astae.cli._common import console, handle_errors
from astae.cli.render import render_dataset_summary, render_grammar, render_program
from astae.core.dataset import load_dataset
from astae.core.inspection import grammar_table, summarize_dataset, view_program

app = typer.Typer(no_args_is_help=True, help="Look inside datasets, programs and the grammar.")


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
    render_program(console, view_program(load_dataset(path), program_id))


@app.command("grammar")
@handle_errors
def grammar() -> None:
    """The typed nonterminals and productions of the language."""
    render_grammar(console, grammar_table())
