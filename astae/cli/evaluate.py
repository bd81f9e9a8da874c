"""`astae eval`: decode a checkpoint's split, run the decodes on the examples, report the metrics."""

from __future__ import annotations

from pathlib import Path

import typer

from astae.cli._common import console, handle_errors, output_path, progress_bar
from astae.cli.render_model import render_eval_report


@handle_errors
def eval_command(
    checkpoint: Path = typer.Argument(..., metavar="CKPT", help="Checkpoint (.pt) written by astae train."),
    data_dir: Path | None = typer.Option(
        None, "--data_dir", "--data-dir", help="Dataset (default: the one the checkpoint trained on)."
    ),
    split: str = typer.Option("val", "--split", help="val, train, test or all (the checkpoint's own split)."),
    beam: int = typer.Option(1, "--beam", help="Beam width (1 = greedy decoding)."),
    batch_size: int = typer.Option(
        256, "--batch_size", "--batch-size", help="Programs decoded at once.", min=1
    ),
    limit: int | None = typer.Option(None, "--limit", help="Evaluate only the first N programs.", min=1),
    out: Path | None = typer.Option(None, "--out", help="Write the report as JSON here."),
    dump: Path | None = typer.Option(
        None, "--dump", help="Write one JSON line per program (original, decoded, outcomes) here."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or mps."),
    workers: int = typer.Option(2, "--workers", help="Executor processes that run the decodes.", min=1),
) -> None:
    """Reconstruct a split: compilation, one/all-examples rates, exact match, similarity."""
    from astae.core.evaluation import evaluate_checkpoint  # the model stack loads only now
    from astae.core.files import write_json

    targets = [output_path(p, flag) for p, flag in ((out, "--out"), (dump, "--dump")) if p is not None]
    with progress_bar("evaluating", 0) as progress:
        report = evaluate_checkpoint(checkpoint, data_dir, split, beam, batch_size, limit, device, workers,
                                     progress, dump)
    render_eval_report(console, report)
    if out is not None:
        write_json(out, report.to_json())
    for path in targets:
        console.print(f"wrote {path}")
