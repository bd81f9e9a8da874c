"""The root `astae` command: mounts one sub-app per command group."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import typer

from astae.cli import dataset, evaluate, inspect, sample, synthesize, train
from astae.cli._common import console, fail, handle_errors, output_dir, progress_bar
from astae.cli.render import TrainProgress, render_build_report, render_reconstructions, render_train_result
from astae.cli.render_model import render_sample_report
from astae.core.dataset_build import BuildReport, Progress
from astae.core.quickstart import QUICKSTART_CONFIG, QuickstartCallbacks, check_replaceable, run_quickstart
from astae.core.training_events import TrainResult

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="astae: AST autoencoders for program synthesis.",
    pretty_exceptions_show_locals=False,
)
app.add_typer(dataset.app, name="dataset", help="Build or import program datasets.")
app.add_typer(inspect.app, name="inspect", help="Look inside datasets, programs, the grammar and models.")
app.command("train")(train.train_cli)
app.command("eval")(evaluate.eval_command)
app.command("sample")(sample.sample_command)
app.command("synthesize")(synthesize.synthesize_command)


class _QuickstartView(QuickstartCallbacks):
    """Renders a quickstart run on the console, stage by stage."""

    def build_progress(self, n: int) -> AbstractContextManager[Progress]:
        return progress_bar("building", n)

    def built(self, report: BuildReport) -> None:
        render_build_report(console, report)

    def train_progress(self) -> TrainProgress:
        return TrainProgress(console)

    def trained(self, result: TrainResult) -> None:
        render_train_result(console, result)
        render_reconstructions(console, result.examples)

    def sampling(self, n: int) -> None:
        console.print("\n[bold]programs drawn from the latent space[/]")


@app.command("quickstart")
@handle_errors
def quickstart(
    out: Path = typer.Option(Path("data/quickstart"), "--out", help="Where to build the dataset."),
    n: int = typer.Option(10_000, "--n", help="Programs to generate.", min=2),
    workers: int = typer.Option(2, "--workers", help="Worker processes.", min=1),
    epochs: int | None = typer.Option(None, "--epochs", help="Training epochs (default 10)."),
    artifacts_dir: Path | None = typer.Option(
        None, "--artifacts_dir", "--artifacts-dir", help="Parent directory of the run folder."
    ),
) -> None:
    """Tiny end-to-end run: build a dataset, train an autoencoder, show how well it reconstructs."""
    # The flags are checked here, in their own names, before anything is built.
    output_dir(artifacts_dir or Path(QUICKSTART_CONFIG["tracking"]["artifacts_dir"]), "--artifacts_dir")
    check_replaceable(out, "--out")
    result = run_quickstart(out, n, workers, epochs, artifacts_dir, callbacks=_QuickstartView())
    if result.samples is None:
        raise fail(f"interrupted; resume with: astae train --resume {result.train.checkpoint}", code=130)
    render_sample_report(console, result.samples)
    best = result.best
    console.print(
        f"\nNext: [bold]astae eval {best}[/] measures reconstruction on the whole validation split; "
        f"[bold]astae sample {best} --n 20[/] draws more programs; "
        f"[bold]astae train --data_dir {out} --resume {best.parent / 'final_model.pt'} --epochs 30[/] "
        "trains on."
    )


def main() -> None:
    """Console-script entry point."""
    app()
