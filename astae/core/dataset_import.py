"""Importing a user's programs (`import_dataset`): a .py file of functions, or a .jsonl file of
`{"source": ..., "examples": [...]}` records, checked against the language, run (examples found or
checked) and written as a dataset in the standard format (`astae.core.dataset_build.write_dataset`).
A file with any program outside the language, or any that fails, writes nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

from astae.core.config import GeneratorConfig
from astae.core.dataset import DatasetError, parse_json
from astae.core.dataset_build import (
    BuildReport,
    Progress,
    base_manifest,
    staged_directory,
    worker_limits,
    write_dataset,
)
from astae.core.generator import Candidate, import_task
from astae.core.language import LanguageError, Program, parse_functions
from astae.core.sandbox_pool import SandboxPool, TaskFailure


def _read_import_file(path: Path) -> list[tuple[int, str, list | None]]:
    """(line, source, examples or None) for each program of a .py or .jsonl file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read ({e})") from None
    if path.suffix == ".py":
        return [(0, text, None)]
    if path.suffix != ".jsonl":
        raise DatasetError(f"{path}: expected a .py or .jsonl file")
    items = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        record = parse_json(line, f"{path}:{lineno}")
        if not isinstance(record, dict) or not isinstance(record.get("source"), str):
            raise DatasetError(f'{path}:{lineno}: expected an object with a "source" string')
        examples = record.get("examples")
        if examples is not None and not isinstance(examples, list):
            raise DatasetError(f'{path}:{lineno}: "examples" must be a list')
        items.append((lineno, record["source"], examples))
    return items


def _parse_import(path: Path) -> list[tuple[Program, list | None]]:
    items = _read_import_file(path)
    programs: list[tuple[Program, list | None]] = []
    errors: list[str] = []
    for lineno, source, examples in items:
        try:
            parsed = parse_functions(source)
        except LanguageError as e:
            parsed = [e]
        if not parsed:
            errors.append(f"{path}:{lineno or 1}: no function definition found")
        for item in parsed:
            if isinstance(item, LanguageError):
                where = f"{path}:{lineno}" if lineno else f"{path}:{item.line or 1}"
                errors.append(f"{where}: {item.reason}")
            else:
                programs.append((item, examples))
    if errors:
        raise DatasetError(
            f"{len(errors)} program(s) outside the language; nothing was written:\n  "
            + "\n  ".join(errors)
        )
    if not programs:
        raise DatasetError(f"{path}: no programs found")
    return programs


def import_dataset(
    file: Path,
    out: Path,
    seed: int = 0,
    cfg: GeneratorConfig | None = None,
    workers: int = 1,
    force: bool = False,
    progress: Progress | None = None,
) -> BuildReport:
    """Turn a user's .py or .jsonl programs into a dataset in the standard format."""
    cfg = cfg or GeneratorConfig()
    file = Path(file)
    start = time.perf_counter()
    programs = _parse_import(file)
    cfg_data = cfg.model_dump()
    payloads = [
        (cfg_data, seed, i, p.source, p.actions, examples)
        for i, (p, examples) in enumerate(programs)
    ]
    results: list[Candidate] = []
    errors: list[str] = []
    with SandboxPool(workers, worker_limits(cfg)) as pool:
        for (p, _), result in zip(programs, pool.imap(import_task, payloads)):
            where = f"{file}:{p.line}" if file.suffix == ".py" else f"{file} program `{p.name}`"
            if isinstance(result, TaskFailure):
                errors.append(f"{where}: the program hung or crashed its worker")
            elif isinstance(result, str):
                errors.append(f"{where}: {result}")
            else:
                results.append(result)
                if progress:
                    progress(len(results), len(programs))
    if errors:
        raise DatasetError(
            f"{len(errors)} program(s) could not be imported; nothing was written:\n  "
            + "\n  ".join(errors)
        )
    with staged_directory(out, force) as stage:
        manifest = base_manifest(cfg, seed, f"imported from {file.name}")
        manifest["counts"] = {"candidates": len(results), "rejected": {}}
        count, _ = write_dataset(stage, results, manifest, cfg.shard_size)
    return BuildReport(Path(out), count, len(results), {}, time.perf_counter() - start, workers)

