import json
import shutil
from pathlib import Path

import pytest
import torch

from astae.core.dataset import MANIFEST, PROGRAMS, DatasetError, load_dataset
from astae.core.dataset_build import build_dataset, generate_chunks
from astae.core.generator import ChunkResult
from astae.core.sandbox_pool import TaskFailure
from astae.core.shards import CHUNKS, build_shard, default_margin, merge_shards, parse_shard
from tests.conftest import TINY

N_PROGRAMS, SEED = 120, 3


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build of 120 programs, seed 3."""
    out = tmp_path_factory.mktemp("single") / "data"
    build_dataset(out, N_PROGRAMS, SEED, TINY)
    return out


@pytest.fixture(scope="module")
def three_shards(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The same build as `single`, as shards 0/3, 1/3 and 2/3 (default margin)."""
    root = tmp_path_factory.mktemp("shards")
    for i in range(3):
        build_shard(root / f"s{i}", N_PROGRAMS, SEED, (i, 3), TINY)
    return [root / f"s{i}" for i in range(3)]


def assert_same_dataset(a: Path, b: Path) -> None:
    """Byte-identical programs.jsonl and manifest.json, and equal graphs (DGL writes heap pointers
    into its files, so graph shards of equal graphs differ in a few bytes, never in size)."""
    assert (a / PROGRAMS).read_bytes() == (b / PROGRAMS).read_bytes()
    assert (a / MANIFEST).read_bytes() == (b / MANIFEST).read_bytes()
    ga, gb = load_dataset(a).graphs(), load_dataset(b).graphs()
    assert len(ga) == len(gb)
    for i in range(len(ga)):
        x, y = ga[i], gb[i]
        assert all(torch.equal(p, q) for p, q in zip(x.edges(), y.edges()))
        assert all(torch.equal(x.ndata[k], y.ndata[k]) for k in ("type", "value"))
        assert torch.equal(x.edata["etype"], y.edata["etype"])


def test_merged_shards_equal_a_single_build(tmp_path, single, three_shards):
    report = merge_shards(list(reversed(three_shards)), tmp_path / "merged")
    assert report.programs == N_PROGRAMS
    assert report.chunks_read > 0
    assert_same_dataset(single, tmp_path / "merged")


def test_merge_generates_the_chunks_the_shards_lack(tmp_path, single):
    shards = [tmp_path / "s0", tmp_path / "s1"]
    for i, path in enumerate(shards):
        build_shard(path, N_PROGRAMS, SEED, (i, 2), TINY, margin=0.3)
    report = merge_shards(shards, tmp_path / "merged")
    assert report.chunks_generated > 0
    assert_same_dataset(single, tmp_path / "merged")


def test_merge_fills_a_gap_between_chunks_a_shard_holds(tmp_path, single):
    build_shard(tmp_path / "short", N_PROGRAMS, SEED, (0, 2), TINY, margin=0.2)
    build_shard(tmp_path / "long", N_PROGRAMS, SEED, (1, 2), TINY, margin=3.0)
    report = merge_shards([tmp_path / "short", tmp_path / "long"], tmp_path / "merged")
    short = json.loads((tmp_path / "short" / MANIFEST).read_text())["chunks"]["count"]
    used = report.chunks_read + report.chunks_generated  # chunks 0 .. used-1
    assert report.chunks_generated == (used + 1) // 2 - short > 0  # the even chunks after the short shard's
    assert_same_dataset(single, tmp_path / "merged")


def test_a_shard_is_the_same_for_any_number_of_workers(tmp_path):
    build_shard(tmp_path / "w1", 30, SEED, (1, 2), TINY, workers=1)
    build_shard(tmp_path / "w2", 30, SEED, (1, 2), TINY, workers=2)
    assert (tmp_path / "w1" / CHUNKS).read_bytes() == (tmp_path / "w2" / CHUNKS).read_bytes()
    assert (tmp_path / "w1" / MANIFEST).read_text() == (tmp_path / "w2" / MANIFEST).read_text()


def test_a_shard_stores_its_chunks_in_order_until_its_target(three_shards):
    manifest = json.loads((three_shards[1] / MANIFEST).read_text())
    chunks = [json.loads(line)["chunk"] for line in (three_shards[1] / CHUNKS).read_text().splitlines()]
    assert chunks == [1 + 3 * k for k in range(manifest["chunks"]["count"])]
    counts = manifest["counts"]
    assert counts["target"] == -(-N_PROGRAMS * default_margin(3) // 3)
    assert counts["distinct"] >= counts["target"]
    assert counts["candidates"] == TINY.chunk_size * len(chunks)


def test_a_shard_is_not_a_dataset(three_shards):
    with pytest.raises(DatasetError, match="a dataset shard .* dataset merge"):
        load_dataset(three_shards[0])


@pytest.mark.parametrize("text, expected", [("0/1", (0, 1)), ("2/3", (2, 3)), (" 1/4 ", (1, 4))])
def test_parse_shard_reads_i_of_n(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text, message", [
    ("3/3", "index must be 0..2"), ("-1/3", "index must be 0..2"), ("0/0", "at least 1"),
    ("1/-2", "at least 1"), ("x", "expected I/N"), ("1/2/3", "expected I/N"), ("a/b", "expected I/N"),
    ("", "expected I/N"),
])
def test_parse_shard_rejects_a_bad_spec(text, message):
    with pytest.raises(DatasetError, match=message):
        parse_shard(text)


def test_default_margin_grows_with_the_number_of_shards():
    assert default_margin(1) == 1.1
    assert default_margin(2) < default_margin(8) < default_margin(64) < 2


def _edit(path: Path, change) -> None:
    manifest = json.loads((path / MANIFEST).read_text())
    change(manifest)
    (path / MANIFEST).write_text(json.dumps(manifest))


def _set(key, value):
    def change(m):
        *parents, last = key.split(".")
        for p in parents:
            m = m[p]
        m[last] = value
    return change


@pytest.mark.parametrize("change, message", [
    (_set("seed", 4), "different seeds"),
    (_set("n", 100), "different n .*share seed, n and config"),
    (_set("generator.max_depth", 4), r"different generator configs \(max_depth: 3 vs 4\)"),
    (_set("shard.count", 4), "shards of 3 and of 4"),
    (_set("grammar_fingerprint", "0000"), "grammar"),
    (_set("format_version", 99), "format version 99"),
    (_set("kind", "dataset"), "not a dataset shard"),
    (_set("chunks.bytes", 5), "truncated"),
    (_set("generator.max_depth", 0), "bad generator config"),
])
def test_merge_of_shards_that_do_not_fit_is_an_error(tmp_path, three_shards, change, message):
    shards = [shutil.copytree(s, tmp_path / s.name) for s in three_shards]
    _edit(shards[2], change)
    with pytest.raises(DatasetError, match=message):
        merge_shards(shards, tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_merge_needs_every_shard_once(tmp_path, three_shards):
    with pytest.raises(DatasetError, match="shard 2/3 missing"):
        merge_shards(three_shards[:2], tmp_path / "merged")
    copy = shutil.copytree(three_shards[1], tmp_path / "copy")
    with pytest.raises(DatasetError, match="shard 1/3 given twice"):
        merge_shards([*three_shards, copy], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_merge_refuses_a_dataset_and_a_corrupt_chunk(tmp_path, single, three_shards):
    with pytest.raises(DatasetError, match="not a dataset shard"):
        merge_shards([single, *three_shards[1:]], tmp_path / "merged")
    shards = [shutil.copytree(s, tmp_path / s.name) for s in three_shards]
    lines = (shards[0] / CHUNKS).read_text().splitlines(keepends=True)
    corrupt = lines[0].replace('"chunk":0', '"chunk":7')
    (shards[0] / CHUNKS).write_text(corrupt + "".join(lines[1:]))
    _edit(shards[0], _set("chunks.bytes", (shards[0] / CHUNKS).stat().st_size))
    with pytest.raises(DatasetError, match=r"s0/chunks.jsonl:1: expected chunk 0"):
        merge_shards(shards, tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_merge_does_not_write_over_a_shard(three_shards):
    with pytest.raises(DatasetError, match="is one of the shards"):
        merge_shards(three_shards, three_shards[0], force=True)


class _FlakyPool:
    """A stand-in for SandboxPool: runs ahead like it, and fails chunk 2 once (its worker "died")."""

    def __init__(self) -> None:
        self.failed = False

    def imap(self, func, payloads):
        window: list = []
        for payload in payloads:  # take three payloads ahead, as the pool's window does
            window.append(payload)
            if len(window) == 3:
                yield self._run(window.pop(0))
        for payload in window:
            yield self._run(payload)

    def _run(self, payload):
        _, _, chunk, skip = payload
        if chunk == 2 and not self.failed:
            self.failed = True
            return TaskFailure("died", 5)
        return ChunkResult(chunk, [f"skipped {sorted(skip)}"])


def test_generate_chunks_reruns_a_failed_chunk_alone_and_keeps_the_order():
    results = generate_chunks(_FlakyPool(), TINY, 0, iter(range(0, 14, 2)))  # type: ignore[arg-type]
    got = [(r.chunk, r.candidates[0]) for r in results]
    assert [c for c, _ in got] == list(range(0, 14, 2))
    assert got[1] == (2, "skipped [5]")  # the candidate its worker died on is rejected
    assert all(reason == "skipped []" for c, reason in got if c != 2)
