"""`astae synthesize`: find a program that satisfies input/output examples by searching a model."""

from __future__ import annotations

from pathlib import Path

import typer

from astae.cli._common import console, handle_errors, output_path
from astae.cli.render_model import render_synthesis_result


@handle_errors
def synthesize_command(
    checkpoint: Path | None = typer.Argument(
        None, metavar="[CKPT]", help="Checkpoint (.pt) written by astae train (default: the newest "
        "best_model.pt under --artifacts_dir, else the model shipped with astae)."
    ),
    examples: Path = typer.Option(
        ..., "--examples", help="JSON or JSONL of {\"input\": [...], \"output\": ...} examples, or a "
        "programs.jsonl record (its source stays hidden from the search)."
    ),
    budget: int = typer.Option(1000, "--budget", help="Candidate programs the search may propose.", min=1),
    method: str = typer.Option(
        "hybrid", "--method", help="hybrid (latent cross-entropy search, then program mutations), cem, "
        "random, enum, generator or hillclimb."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the search."),
    signature: str | None = typer.Option(
        None, "--signature", help="The program's signature, e.g. '(list[int], int) -> int' (default: "
        "inferred from the examples)."
    ),
    index: int | None = typer.Option(
        None, "--index", help="With a programs.jsonl of several records: the id of the one to use."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the result and the search trace as JSON."),
    workers: int = typer.Option(2, "--workers", help="Executor processes that run the candidates.", min=1),
    artifacts_dir: Path = typer.Option(
        Path("training_artifacts"), "--artifacts_dir", "--artifacts-dir", help="Where to find checkpoints."
    ),
) -> None:
    """Search for a program that satisfies the examples (exit 0 if found, 1 if not)."""
    from astae.core.files import write_json
    from astae.core.pretrained import default_checkpoint
    from astae.core.synthesis import synthesize  # the model stack loads only now
    from astae.core.synthesis_tasks import load_task

    if out is not None:
        output_path(out, "--out")
    task = load_task(examples, signature, index)
    if checkpoint is None:
        checkpoint, which = default_checkpoint(artifacts_dir)
        console.print(which)
    result = synthesize(checkpoint, task, method, budget, seed, workers)
    render_synthesis_result(console, task, result)
    if out is not None:
        write_json(out, {"task": task.path, **result.to_json()})
        console.print(f"wrote {out}")
    if not result.solved:
        raise typer.Exit(1)
