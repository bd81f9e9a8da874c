"""Generating a dataset (`build_dataset`), and the writing that every dataset goes through.

A dataset is written into a hidden staging directory beside DIR and renamed into place when
complete, so a failed or interrupted build never leaves half a dataset. `write_dataset` streams
programs.jsonl and the graph shards, then the manifest; `import_dataset`
(`astae.core.dataset_import`) and `merge_shards` (`astae.core.shards`) write through it too. A build
admits candidates in chunk order through one global dedup (`Selection`), so its output is the same
for any number of workers. The format, and reading it back, is `astae.core.dataset`.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import os
import shutil
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from astae.core import astgraph
from astae.core.config import GeneratorConfig
from astae.core.dataset import FORMAT_VERSION, GRAPHS, MANIFEST, PROGRAMS, DatasetError
from astae.core.digests import DigestSet, digest
from astae.core.errors import WriteError
from astae.core.files import write_error
from astae.core.generator import GENERATOR_HANG_SECONDS, Candidate, ChunkResult, generate_chunk, probe_inputs
from astae.core.grammar import GRAMMAR, all_signatures
from astae.core.sandbox_pool import ExecutionLimits, SandboxPool, TaskFailure

Progress = Callable[[int, int], None]


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
        raise DatasetError.naming("{path}: already exists; pass {force} to replace it", path=out)
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


def write_dataset(
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


def base_manifest(cfg: GeneratorConfig, seed: int, origin: str) -> dict:
    """The manifest fields every dataset starts with: format version, grammar fingerprint,
    `origin`, seed, generator config and the probe inputs of every signature."""
    return {
        "format_version": FORMAT_VERSION,
        "grammar_fingerprint": GRAMMAR.fingerprint,
        "origin": origin,
        "seed": seed,
        "generator": cfg.model_dump(),
        "probes": {sig.display: probe_inputs(sig, cfg) for sig in all_signatures()},
    }


def worker_limits(cfg: GeneratorConfig) -> ExecutionLimits:
    """The sandbox limits of the workers that generate or import programs under `cfg`."""
    return ExecutionLimits(
        time_limit=cfg.time_limit, memory_limit_mb=cfg.memory_limit_mb, hang_seconds=GENERATOR_HANG_SECONDS
    )


# -- building ------------------------------------------------------------------------


@dataclass
class Selection:
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


def admit_all(
    results: Generator[ChunkResult, None, None], selection: Selection, progress: Progress | None
) -> Iterator[Candidate]:
    """The candidates `selection` keeps from chunk results in order, until it is full."""
    with contextlib.closing(results):
        for result in results:
            yield from _admit(result, selection, progress)
            if selection.kept >= selection.n:
                return


def _admit(result: ChunkResult, selection: Selection, progress: Progress | None) -> Iterator[Candidate]:
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
        raise DatasetError.naming("{n} must be at least 1, not {value}", value=n)
    if workers < 1:
        raise DatasetError.naming("{workers} must be at least 1, not {value}", value=workers)
    start = time.perf_counter()
    selection = Selection(n)
    # DGL takes seconds to import: let that overlap with the first round of generation.
    importer = threading.Thread(target=importlib.import_module, args=("astae.core.graphs",))
    importer.start()
    with staged_directory(out, force) as stage, SandboxPool(workers, worker_limits(cfg)) as pool:
        manifest = base_manifest(cfg, seed, "generated")
        stream = admit_all(generate_chunks(pool, cfg, seed, itertools.count()), selection, progress)
        # The manifest's counts are finalised after the stream is consumed.
        count, _ = write_dataset(stage, stream, manifest, cfg.shard_size)
        patch_counts(stage, selection)
    return BuildReport(
        Path(out), count, selection.candidates, dict(selection.rejected),
        time.perf_counter() - start, workers,
    )


def patch_counts(stage: Path, selection: Selection) -> None:
    """Add `selection`'s candidate and rejection counts to the manifest written in `stage`."""
    path = stage / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["counts"].update(
        candidates=selection.candidates, rejected=dict(sorted(selection.rejected.items()))
    )
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

