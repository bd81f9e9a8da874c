"""`astae dataset build`, `astae dataset merge` and `astae dataset import`."""

from __future__ import annotations

from pathlib import Path

import typer

from astae.cli._common import console, handle_errors, progress_bar
from astae.cli.render import kv_table, render_build_report
from astae.core.config import ConfigError, GeneratorConfig, load_config
from astae.core.dataset_build import build_dataset
from astae.core.dataset_import import import_dataset
from astae.core.shards import MergeReport, ShardReport, build_shard, merge_shards, parse_shard

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
    n: int = typer.Option(
        ..., "--n", help="Number of programs to keep (with --shard: in the merged dataset).", min=1
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same data."),
    workers: int = WorkersOption,
    config: Path | None = ConfigOption,
    assignments: list[str] | None = SetOption,
    force: bool = ForceOption,
    shard: str | None = typer.Option(
        None, "--shard", help="I/N: build shard I (from 0) of N, to be joined by `astae dataset merge`."
    ),
    margin: float | None = typer.Option(
        None, "--margin", help="With --shard: stop at margin x n/N distinct candidates "
        "(default 1.1 + 0.1 log2 N).",
    ),
) -> None:
    """Generate N random typed programs with input/output examples and their AST graphs."""
    spec = parse_shard(shard) if shard is not None else None
    if margin is not None and spec is None:
        raise ConfigError("--margin applies only with --shard")
    cfg = load_config(GeneratorConfig, config, None, assignments)
    if spec is not None:
        with progress_bar(f"building shard {spec[0]}/{spec[1]}", 0) as progress:
            shard_report = build_shard(out, n, seed, spec, cfg, workers=workers, force=force,
                                       progress=progress, margin=margin)
        _render_shard_report(shard_report)
        return
    with progress_bar("building", n) as progress:
        report = build_dataset(out, n, seed, cfg, workers=workers, force=force, progress=progress)
    render_build_report(console, report)


@app.command("merge")
@handle_errors
def merge(
    shards: list[Path] = typer.Argument(..., help="The directories of all N shards, in any order."),
    out: Path = typer.Option(..., "--out", help="Directory to create."),
    workers: int = typer.Option(1, "--workers", help="Worker processes for chunks no shard holds.", min=1),
    force: bool = ForceOption,
) -> None:
    """Join the shards of `dataset build --shard I/N` into the dataset a single build would write."""
    with progress_bar("merging", 0) as progress:
        report = merge_shards(shards, out, workers=workers, force=force, progress=progress)
    _render_merge_report(report)


def _render_shard_report(r: ShardReport) -> None:
    rows = [
        ("shard", f"{r.path} ({r.index}/{r.count})"),
        ("chunks", f"{r.chunks:,} ({r.index}, {r.index + r.count}, {r.index + 2 * r.count}, ...)"),
        ("candidates tried", f"{r.candidates:,}"),
        ("stored (passed the filters)", f"{r.passing:,}"),
        ("distinct within the shard", f"{r.distinct:,} (target {r.target:,})"),
        ("time", f"{r.seconds:.1f} s ({r.workers} worker{'s' if r.workers > 1 else ''})"),
    ]
    console.print(kv_table("shard written", rows))
    console.print("Join all the shards with [bold]astae dataset merge SHARD_DIR... --out DIR[/].")


def _render_merge_report(r: MergeReport) -> None:
    render_build_report(console, r)
    line = f"chunks: {r.chunks_read:,} from {r.shards} shard{'s' if r.shards > 1 else ''}"
    if r.chunks_generated:
        line += f", {r.chunks_generated:,} generated here (the shards stopped short: see --margin)"
    console.print(line, highlight=False)


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
