"""Datasets on disk: build, import, load and validate (DESIGN §3).

```
DIR/manifest.json     format version, grammar fingerprint, generator config, seed, counts, probes
DIR/programs.jsonl    one program a line (id, source, signature, examples, probe_outputs, sizes, actions)
DIR/graphs/           DGL graph shards, graph i <-> program i
```

A dataset is written into a hidden staging directory beside DIR and renamed into
place when complete, so a failed or interrupted build never leaves half a dataset.
A build split over several machines (`--shard I/N`, `dataset merge`) is `astae.core.shards`.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import os
import shutil
import struct
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from astae.core import astgraph
from astae.core.config import GeneratorConfig
from astae.core.digests import DigestSet, digest
from astae.core.errors import WriteError
from astae.core.files import write_error
from astae.core.generator import (
    GENERATOR_HANG_SECONDS,
    Candidate,
    ChunkResult,
    generate_chunk,
    import_task,
    probe_inputs,
)
from astae.core.grammar import GRAMMAR, all_signatures
from astae.core.language import LanguageError, Program, parse_functions
from astae.core.sandbox_pool import ExecutionLimits, SandboxPool, TaskFailure

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PROGRAMS = "programs.jsonl"
GRAPHS = "graphs"

Progress = Callable[[int, int], None]


class DatasetError(ValueError):
    """A dataset that cannot be built, read or used; the message says what and where."""


@dataclass
class BuildReport:
    """What a build or import produced."""

    path: Path
    programs: int
    candidates: int
    rejected: dict[str, int]
    seconds: float
    workers: int

    @property
    def programs_per_second(self) -> float:
        """Kept programs per wall-clock second."""
        return self.programs / self.seconds if self.seconds > 0 else float("inf")


# -- writing -------------------------------------------------------------------------


@contextlib.contextmanager
def staged_directory(out: Path, force: bool) -> Iterator[Path]:
    """Yield an empty staging directory that replaces `out` only if the block succeeds; a failed
    write (a full disk) is a WriteError naming `out`, and the staging directory is removed."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise DatasetError(f"{out}: already exists; pass --force to replace it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned_stages(out)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-{os.getpid()}-", dir=out.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(stage, 0o777 & ~umask)  # mkdtemp makes it 0700; a dataset is an ordinary directory
    except OSError as e:
        raise DatasetError(f"{out}: cannot create the output directory ({e.strerror})") from None
    try:
        yield stage
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "data")
            os.replace(stage, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(stage, out)
    except BaseException as e:
        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise write_error(out, e, out.exists()) from None
        raise


def _remove_abandoned_stages(out: Path) -> None:
    """Delete the staging directories of builds of `out` whose process is gone (killed builds)."""
    for stage in out.parent.glob(f".{out.name}.partial-*-*"):
        pid = stage.name.removeprefix(f".{out.name}.partial-").split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(stage, ignore_errors=True)
        except PermissionError:  # alive, another user's
            continue


def _record(i: int, c: Candidate) -> dict:
    return {
        "id": i,
        "source": c.source,
        "signature": c.signature,
        "examples": c.examples,
        "probe_outputs": c.probe_outputs,
        "sizes": {"nodes": c.graph.num_nodes, "actions": len(c.actions), "depth": c.depth},
        "actions": c.actions,
    }


def _write_dataset(
    stage: Path, candidates: Iterable[Candidate], manifest: dict, shard_size: int
) -> tuple[int, Counter]:
    """Stream candidates into programs.jsonl and graph shards; then write the manifest."""
    from astae.core.graphs import write_graph_shards  # the DGL side, imported only here

    signatures: Counter = Counter()
    count = 0

    def graphs() -> Iterator[astgraph.ASTGraph]:
        nonlocal count
        with open(stage / PROGRAMS, "w", encoding="utf-8") as f:
            for c in candidates:
                f.write(json.dumps(_record(count, c), separators=(",", ":")) + "\n")
                signatures[c.signature] += 1
                count += 1
                yield c.graph

    (stage / GRAPHS).mkdir()
    shards = write_graph_shards(graphs(), stage / GRAPHS, shard_size)
    manifest = {
        **manifest,
        "counts": {**manifest.get("counts", {}), "programs": count},
        "signatures": dict(sorted(signatures.items())),
        "graphs": {
            "shards": shards,
            "node_types": list(astgraph.NODE_TYPES),
            "value_tokens": list(astgraph.VALUE_TOKENS),
            "edge_types": list(astgraph.EDGE_TYPES),
        },
    }
    (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return count, signatures


def _base_manifest(cfg: GeneratorConfig, seed: int, origin: str) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "grammar_fingerprint": GRAMMAR.fingerprint,
        "origin": origin,
        "seed": seed,
        "generator": cfg.model_dump(),
        "probes": {sig.display: probe_inputs(sig, cfg) for sig in all_signatures()},
    }


def _limits(cfg: GeneratorConfig) -> ExecutionLimits:
    return ExecutionLimits(
        time_limit=cfg.time_limit, memory_limit_mb=cfg.memory_limit_mb, hang_seconds=GENERATOR_HANG_SECONDS
    )


# -- building ------------------------------------------------------------------------


@dataclass
class _Selection:
    """Global, in-order dedup of the candidate stream: the same for any worker count. It holds the
    admitted programs' sources and behaviours as digests, 32 bytes a program."""

    n: int
    seen_sources: DigestSet = field(default_factory=DigestSet)
    seen_behaviours: DigestSet = field(default_factory=DigestSet)
    rejected: Counter = field(default_factory=Counter)
    candidates: int = 0
    kept: int = 0

    def admit(self, item: Candidate | str) -> bool:
        self.candidates += 1
        if isinstance(item, str):
            self.rejected[item] += 1
            return False
        source, behaviour = digest(item.source), digest(item.behaviour_key)
        if source in self.seen_sources:
            self.rejected["duplicate_source"] += 1
            return False
        if behaviour in self.seen_behaviours:
            self.rejected["duplicate_behaviour"] += 1
            return False
        self.seen_sources.add(source)
        self.seen_behaviours.add(behaviour)
        self.kept += 1
        return True


def _run_chunk_until_done(pool: SandboxPool, payload: tuple, first: ChunkResult | TaskFailure):
    """Re-run a chunk whose worker died or hung, skipping the candidate it was stuck on."""
    result, skip = first, set(payload[3])
    while isinstance(result, TaskFailure):
        if result.marker is None or result.marker in skip:
            raise DatasetError(f"a generator worker failed repeatedly ({result.kind})")
        skip.add(result.marker)
        (result,) = pool.imap(generate_chunk, [(*payload[:3], frozenset(skip))])
    return result


def generate_chunks(
    pool: SandboxPool, cfg: GeneratorConfig, seed: int, chunks: Iterable[int]
) -> Generator[ChunkResult, None, None]:
    """The results of chunks `chunks` (indices), in that order; workers run ahead on later chunks."""
    cfg_data = cfg.model_dump()
    todo: Iterator[int] = iter(chunks)
    while True:
        submitted: deque[int] = deque()  # chunk indices handed to the pool, oldest first
        results = pool.imap(generate_chunk, _payloads(cfg_data, seed, todo, submitted))
        failed: tuple | None = None
        try:
            for result in results:
                chunk = submitted.popleft()
                if isinstance(result, TaskFailure):
                    failed = ((cfg_data, seed, chunk, frozenset()), result)
                    break  # abandon the stream, retry this chunk alone, then resume after it
                yield result
        finally:
            results.close()
        if failed is None:
            return
        yield _run_chunk_until_done(pool, *failed)
        todo = itertools.chain(submitted, todo)  # the chunks run ahead were abandoned with the stream


def _payloads(cfg_data: dict, seed: int, chunks: Iterator[int], submitted: deque[int]) -> Iterator[tuple]:
    for chunk in chunks:
        submitted.append(chunk)
        yield (cfg_data, seed, chunk, frozenset())


def _admit_all(
    results: Generator[ChunkResult, None, None], selection: _Selection, progress: Progress | None
) -> Iterator[Candidate]:
    """The candidates `selection` keeps from chunk results in order, until it is full."""
    with contextlib.closing(results):
        for result in results:
            yield from _admit(result, selection, progress)
            if selection.kept >= selection.n:
                return


def _admit(result: ChunkResult, selection: _Selection, progress: Progress | None) -> Iterator[Candidate]:
    for item in result.candidates:
        if selection.kept < selection.n and selection.admit(item):
            yield item
            if progress:
                progress(selection.kept, selection.n)


def build_dataset(
    out: Path,
    n: int,
    seed: int,
    cfg: GeneratorConfig | None = None,
    workers: int = 1,
    force: bool = False,
    progress: Progress | None = None,
) -> BuildReport:
    """Generate exactly `n` filtered, deduplicated programs with examples into `out`."""
    cfg = cfg or GeneratorConfig()
    if n < 1:
        raise DatasetError(f"--n must be at least 1, not {n}")
    if workers < 1:
        raise DatasetError(f"--workers must be at least 1, not {workers}")
    start = time.perf_counter()
    selection = _Selection(n)
    # DGL takes seconds to import: let that overlap with the first round of generation.
    importer = threading.Thread(target=importlib.import_module, args=("astae.core.graphs",))
    importer.start()
    with staged_directory(out, force) as stage, SandboxPool(workers, _limits(cfg)) as pool:
        manifest = _base_manifest(cfg, seed, "generated")
        stream = _admit_all(generate_chunks(pool, cfg, seed, itertools.count()), selection, progress)
        # The manifest's counts are finalised after the stream is consumed.
        count, _ = _write_dataset(stage, stream, manifest, cfg.shard_size)
        _patch_counts(stage, selection)
    return BuildReport(
        Path(out), count, selection.candidates, dict(selection.rejected),
        time.perf_counter() - start, workers,
    )


def _patch_counts(stage: Path, selection: _Selection) -> None:
    path = stage / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["counts"].update(
        candidates=selection.candidates, rejected=dict(sorted(selection.rejected.items()))
    )
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


# -- importing -----------------------------------------------------------------------


def _json_record(text: str, where: str) -> object:
    """`json.loads(text)`; whatever is wrong with the text (malformed, nested too deeply for the
    parser, an integer literal too long to convert) is a DatasetError naming `where`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{where}: not valid JSON ({e.msg})") from None
    except RecursionError:
        raise DatasetError(f"{where}: not valid JSON (nested too deeply to read)") from None
    except ValueError as e:  # e.g. an int of more than sys.get_int_max_str_digits() digits
        raise DatasetError(f"{where}: not valid JSON ({str(e).split(':')[0]})") from None


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
        record = _json_record(line, f"{path}:{lineno}")
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
    with SandboxPool(workers, _limits(cfg)) as pool:
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
        manifest = _base_manifest(cfg, seed, f"imported from {file.name}")
        manifest["counts"] = {"candidates": len(results), "rejected": {}}
        count, _ = _write_dataset(stage, results, manifest, cfg.shard_size)
    return BuildReport(Path(out), count, len(results), {}, time.perf_counter() - start, workers)


# -- reading -------------------------------------------------------------------------

_RECORD_FIELDS = {
    "id": int, "source": str, "signature": str, "examples": list, "probe_outputs": list,
    "sizes": dict, "actions": list,
}
_SIZES = ("nodes", "actions", "depth")
# The head of a `dgl.save_graphs` file (DGL 2.x, file format 2): magic, format version, graph
# kind, number of graphs; read without DGL so that a corrupt shard is caught before any work.
_DGL_HEADER = struct.Struct("<4Q")
_DGL_MAGIC = 0xDD2E4FF046B4A13F
_DGL_FORMAT = 2


@dataclass
class Dataset:
    """A validated dataset directory: its manifest, its programs and (lazily) its graphs."""

    path: Path
    manifest: dict
    programs: list[dict]

    def __len__(self) -> int:
        return len(self.programs)

    @property
    def graph_shards(self) -> list[dict]:
        """The shard files of graphs/, as recorded in the manifest."""
        return self.manifest["graphs"]["shards"]

    def graphs(self):
        """A `GraphStore` over graphs/ (imports DGL)."""
        from astae.core.graphs import GraphStore

        return GraphStore(self.path / GRAPHS, self.graph_shards)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_value(value: object) -> bool:
    """An int or a list of ints: what programs of the language take and return."""
    return _is_int(value) or (isinstance(value, list) and all(_is_int(x) for x in value))


def read_manifest_file(file: Path, missing: str) -> object:
    """The JSON value of a manifest file; `missing` is the message if it does not exist, and an
    unreadable or invalid file is a DatasetError naming it."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(missing) from None
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{file}: unreadable manifest ({e})") from None
    return _json_record(text, str(file))


def _read_manifest(path: Path) -> dict:
    file = path / MANIFEST
    manifest = read_manifest_file(file, f"{path}: not a dataset (no {MANIFEST})")
    if not isinstance(manifest, dict):
        raise DatasetError(f"{file}: the manifest must be a JSON object")
    if manifest.get("kind") == "shard":
        raise DatasetError(
            f"{path}: a dataset shard (`dataset build --shard`), not a dataset; join all the shards "
            "with `astae dataset merge`"
        )
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise DatasetError(
            f"{file}: dataset format version {version!r}; this astae reads version {FORMAT_VERSION}"
        )
    fingerprint = manifest.get("grammar_fingerprint")
    if fingerprint != GRAMMAR.fingerprint:
        raise DatasetError(
            f"{file}: dataset built with grammar {fingerprint!r}, this astae's grammar is "
            f"{GRAMMAR.fingerprint!r}; rebuild or re-import it"
        )
    for key in ("counts", "graphs", "probes"):
        if not isinstance(manifest.get(key), dict):
            raise DatasetError(f"{file}: missing or malformed `{key}`")
    if not _is_int(manifest["counts"].get("programs")):
        raise DatasetError(f"{file}: `counts.programs` must be an integer")
    shards = manifest["graphs"].get("shards")
    if not isinstance(shards, list):
        raise DatasetError(f"{file}: missing graph shard list `graphs.shards`")
    for i, shard in enumerate(shards):
        name = shard.get("file") if isinstance(shard, dict) else None
        if (not isinstance(name, str) or Path(name).name != name or name in ("", ".", "..")
                or not _is_int(shard.get("count")) or not _is_int(shard.get("bytes", 0))):
            raise DatasetError(
                f"{file}: `graphs.shards[{i}]` must be {{\"file\": a file name in graphs/, "
                f"\"count\": int, \"bytes\": int}}"
            )
    for signature, inputs in manifest["probes"].items():
        if not isinstance(inputs, list) or not all(
            isinstance(x, list) and all(_is_value(a) for a in x) for x in inputs
        ):
            raise DatasetError(f"{file}: `probes[{signature!r}]` must be a list of argument lists")
    return manifest


def _record_problem(record: dict) -> str | None:
    """What is wrong with the fields of a program record (None if nothing)."""
    for key, type_ in _RECORD_FIELDS.items():
        if key not in record:
            return f"missing field `{key}`"
        if not isinstance(record[key], type_) or isinstance(record[key], bool):
            return f"field `{key}` must be {type_.__name__}"
    for j, ex in enumerate(record["examples"]):
        if (not isinstance(ex, dict) or not isinstance(ex.get("input"), list)
                or not all(_is_value(a) for a in ex["input"]) or not _is_value(ex.get("output"))):
            return f'field `examples`: item {j} must be {{"input": [arguments], "output": a value}}'
    if not all(v is None or _is_value(v) for v in record["probe_outputs"]):
        return "field `probe_outputs` must hold ints, lists of ints or nulls"
    if not all(_is_int(record["sizes"].get(key)) for key in _SIZES):
        return f"field `sizes` must have integers {', '.join(_SIZES)}"
    if not all(_is_int(a) and 0 <= a < GRAMMAR.num_actions for a in record["actions"]):
        return f"field `actions` must hold action numbers 0..{GRAMMAR.num_actions - 1}"
    return None


def parse_record_line(raw: bytes, file: Path, lineno: int, expected_id: int) -> dict:
    """One line of programs.jsonl as a validated record; anything wrong is a DatasetError naming
    `file:lineno`."""
    where = f"{file}:{lineno}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DatasetError(f"{where}: not UTF-8 ({e.reason} at byte {e.start})") from None
    record = _json_record(text, where)
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: expected a JSON object")
    problem = _record_problem(record)
    if problem is not None:
        raise DatasetError(f"{where}: {problem}")
    if record["id"] != expected_id:
        raise DatasetError(f"{where}: id {record['id']} where {expected_id} was expected")
    return record


def _iter_records(path: Path) -> Iterator[dict]:
    """The validated records of `path`/programs.jsonl, one at a time."""
    file = path / PROGRAMS
    try:
        with open(file, "rb") as f:
            for expected_id, raw in enumerate(f):
                yield parse_record_line(raw, file, expected_id + 1, expected_id)
    except FileNotFoundError:
        raise DatasetError(f"{path}: not a dataset (no {PROGRAMS})") from None
    except OSError as e:
        raise DatasetError(f"{file}: unreadable ({e})") from None


def _read_programs(path: Path) -> list[dict]:
    return list(_iter_records(path))


def _check_shard(file: Path, entry: dict) -> None:
    """A graph shard exists, has its recorded size, and its header is DGL's with its recorded
    number of graphs (reads 32 bytes, not the graphs)."""
    try:
        size = file.stat().st_size
        with open(file, "rb") as f:
            header = f.read(_DGL_HEADER.size)
    except FileNotFoundError:
        raise DatasetError(f"{file}: graph shard missing") from None
    except OSError as e:
        raise DatasetError(f"{file}: unreadable graph shard ({e.strerror or e})") from None
    if "bytes" in entry and size != entry["bytes"]:
        raise DatasetError(f"{file}: graph shard is {size} bytes, expected {entry['bytes']} (truncated?)")
    if len(header) < _DGL_HEADER.size or _DGL_HEADER.unpack(header)[0] != _DGL_MAGIC:
        raise DatasetError(f"{file}: not a DGL graph file")
    _, version, _, count = _DGL_HEADER.unpack(header)
    if version != _DGL_FORMAT:
        raise DatasetError(f"{file}: DGL graph file format {version}; astae reads format {_DGL_FORMAT}")
    if count != entry["count"]:
        raise DatasetError(f"{file}: holds {count} graphs, the manifest says {entry['count']}")


def open_dataset(path: Path) -> Dataset:
    """Validate a dataset directory's manifest and graph shards without reading its programs
    (`iter_programs` streams them; `load_dataset` reads them all)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise DatasetError(f"{path}: is a file, not a dataset directory")
    if not path.is_dir():
        raise DatasetError(f"{path}: no such dataset directory")
    manifest = _read_manifest(path)
    if (path / PROGRAMS).exists() and not (path / PROGRAMS).is_file():
        raise DatasetError(f"{path / PROGRAMS}: is a directory, not a file")
    if not (path / PROGRAMS).is_file():
        raise DatasetError(f"{path}: not a dataset (no {PROGRAMS})")
    expected = manifest["counts"]["programs"]
    if not expected:
        raise DatasetError(f"{path / PROGRAMS}: the dataset is empty")
    shards = manifest["graphs"]["shards"]
    if not (path / GRAPHS).is_dir():
        raise DatasetError(f"{path}: no {GRAPHS}/ directory")
    in_shards = sum(s["count"] for s in shards)
    if in_shards != expected:
        raise DatasetError(f"{path / GRAPHS}: {in_shards} graphs for {expected} programs")
    for shard in shards:
        _check_shard(path / GRAPHS / shard["file"], shard)
    return Dataset(path, manifest, [])


def iter_programs(dataset: Dataset) -> Iterator[dict]:
    """The programs of an opened dataset one at a time, validated as `load_dataset` validates them
    (memory does not grow with the dataset); a count that disagrees with the manifest is an error
    once the file ends."""
    count = 0
    for record in _iter_records(dataset.path):
        count += 1
        yield record
    _check_count(dataset, count)


def _check_count(dataset: Dataset, count: int) -> None:
    expected = dataset.manifest["counts"]["programs"]
    if count == 0:
        raise DatasetError(f"{dataset.path / PROGRAMS}: the dataset is empty")
    if count != expected:
        raise DatasetError(f"{dataset.path / PROGRAMS}: {count} programs, the manifest says {expected}")


def load_dataset(path: Path) -> Dataset:
    """Read and validate a dataset directory (manifest, programs, graph shards' sizes and counts)."""
    dataset = open_dataset(path)
    dataset.programs = _read_programs(dataset.path)
    _check_count(dataset, len(dataset.programs))
    return dataset
