"""A dataset directory: its format, and reading and validating it (DESIGN §3).

```
DIR/manifest.json     format version, grammar fingerprint, generator config, seed, counts, probes
DIR/programs.jsonl    one program a line (id, source, signature, examples, probe_outputs, sizes, actions)
DIR/graphs/           DGL graph shards, graph i <-> program i
```

`open_dataset` checks the manifest and the graph shards, `iter_programs` streams the programs and
`load_dataset` reads them all; whatever is wrong is a `DatasetError` naming the file (and line).
Datasets are written by `astae.core.dataset_build` (generated), `astae.core.dataset_import` (a
user's programs) and `astae.core.shards` (a build split over several machines).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from astae.core.errors import NamesParameters
from astae.core.grammar import GRAMMAR

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PROGRAMS = "programs.jsonl"
GRAPHS = "graphs"


class DatasetError(NamesParameters, ValueError):
    """A dataset that cannot be built, read or used; the message says what and where."""


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


def parse_json(text: str, where: str) -> object:
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


def read_manifest_file(file: Path, missing: str) -> object:
    """The JSON value of a manifest file; `missing` is the message if it does not exist, and an
    unreadable or invalid file is a DatasetError naming it."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(missing) from None
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{file}: unreadable manifest ({e})") from None
    return parse_json(text, str(file))


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
    record = parse_json(text, where)
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
