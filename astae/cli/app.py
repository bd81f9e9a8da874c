"""The root `astae` command: mounts one sub-app per command group."""

from __future__ import annotations

from pathlib import Path

import typer

from astae.cli import dataset, inspect, train
from astae.cli._common import console, handle_errors, progress_bar
from astae.cli.render import render_build_report, render_dataset_summary
from astae.core.config import GeneratorConfig
from astae.core.dataset import build_dataset, load_dataset
from astae.core.inspection import summarize_dataset

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="astae: AST autoencoders for program synthesis.",
    pretty_exceptions_show_locals=False,
)
app.add_typer(dataset.app, name="dataset", help="Build or import program datasets.")
app.add_typer(inspect.app, name="inspect", help="Look inside datasets, programs and the grammar.")
app.command("train")(train.train_cli)


@app.command("quickstart")
@handle_errors
def quickstart(
    out: Path = typer.Option(Path("data/quickstart"), "--out", help="Where to build the dataset."),
    n: int = typer.Option(1000, "--n", help="Programs to generate.", min=1),
    workers: int = typer.Option(2, "--workers", help="Worker processes.", min=1),
) -> None:
    """Tiny end-to-end run: build a small dataset and show what is in it."""
    with progress_bar("building", n) as progress:
        report = build_dataset(
            out, n, seed=0, cfg=GeneratorConfig(), workers=workers, force=True, progress=progress
        )
    render_build_report(console, report)
    render_dataset_summary(console, summarize_dataset(load_dataset(out)))
    console.print(
        f"\nNext: [bold]astae inspect program {out} 0[/] shows one program; "
        "[bold]astae dataset import FILE.py --out DIR[/] brings your own."
    )


def main() -> None:
    """Console-script entry point."""
    app()
