"""The root `astae` command: mounts one sub-app per command group."""

from __future__ import annotations

from pathlib import Path

import typer

from astae.cli import dataset, evaluate, inspect, sample, synthesize, train
from astae.cli._common import console, fail, handle_errors, output_dir, progress_bar
from astae.cli.render import TrainProgress, render_build_report, render_reconstructions, render_train_result
from astae.cli.render_model import render_sample_report
from astae.core.config import ConfigError, GeneratorConfig
from astae.core.dataset import MANIFEST, build_dataset
from astae.core.quickstart import quickstart_config

QUICKSTART_SAMPLES = 5

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
    overrides = {"training": {"epochs": epochs}} if epochs is not None else {}
    if artifacts_dir is not None:
        overrides["tracking"] = {"artifacts_dir": str(artifacts_dir)}
    cfg = quickstart_config(out, overrides)
    output_dir(cfg.tracking.artifacts_dir, "--artifacts_dir")  # before the build, not after it
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise ConfigError(f"--out {out}: exists and is not an astae dataset; quickstart replaces only "
                          "a dataset")
    with progress_bar("building", n) as progress:
        report = build_dataset(out, n, seed=0, cfg=GeneratorConfig(), workers=workers, force=True,
                               progress=progress)
    render_build_report(console, report)
    from astae.core.training import train  # the model stack loads only now

    with TrainProgress(console) as callbacks:
        result = train(cfg, callbacks=callbacks)
    render_train_result(console, result)
    render_reconstructions(console, result.examples)
    if result.interrupted:
        raise fail(f"interrupted; resume with: astae train --resume {result.checkpoint}", code=130)
    best = result.run_dir / "best_model.pt"
    from astae.core.sampling import sample_prior

    console.print("\n[bold]programs drawn from the latent space[/]")
    render_sample_report(console, sample_prior(best, n=QUICKSTART_SAMPLES, workers=workers))
    console.print(
        f"\nNext: [bold]astae eval {best}[/] measures reconstruction on the whole validation split; "
        f"[bold]astae sample {best} --n 20[/] draws more programs; "
        f"[bold]astae train --data_dir {out} --resume {result.run_dir / 'final_model.pt'} --epochs 30[/] "
        "trains on."
    )


def main() -> None:
    """Console-script entry point."""
    app()
