"""Building a dataset (astae.core.dataset_build): exactly n distinct programs, the same bytes for any
number of workers, and nothing left behind by a failed build."""

import json
import shutil
import tracemalloc
from types import SimpleNamespace

import pytest

from astae.core.dataset import PROGRAMS, DatasetError, load_dataset
from astae.core.dataset_build import Selection, build_dataset
from astae.core.digests import DigestSet
from astae.core.executor import Executor, Job
from astae.core.grammar import GRAMMAR
from astae.core.language import parse_program
from astae.core.sandbox import Outcome
from tests.conftest import TINY


def test_build_keeps_exactly_n_programs_with_graphs(tiny_dataset):
    ds = load_dataset(tiny_dataset)
    assert len(ds) == 50
    assert ds.manifest["counts"]["programs"] == 50
    assert ds.manifest["grammar_fingerprint"] == GRAMMAR.fingerprint
    assert len(ds.graphs()) == 50


def test_built_programs_are_canonical_distinct_and_behaviourally_distinct(tiny_dataset):
    ds = load_dataset(tiny_dataset)
    sources = [p["source"] for p in ds.programs]
    assert len(set(sources)) == len(sources)
    behaviours = {p["signature"] + json.dumps(p["probe_outputs"]) for p in ds.programs}
    assert len(behaviours) == len(ds)
    for p in ds.programs:
        parsed = parse_program(p["source"])
        assert parsed.source == p["source"]
        assert list(parsed.actions) == p["actions"]
        assert parsed.signature.display == p["signature"]
        assert TINY.examples_min <= len(p["examples"]) <= TINY.examples_max
        assert len(p["probe_outputs"]) == TINY.probe_count


def test_stored_examples_equal_a_fresh_run(tiny_dataset):
    ds = load_dataset(tiny_dataset)
    jobs = [
        Job(p["source"], [e["input"] for e in p["examples"]], [e["output"] for e in p["examples"]])
        for p in ds.programs
    ]
    with Executor(workers=2) as ex:
        results = ex.run(jobs)
    assert all(r.status == Outcome.OK for rs in results for r in rs)


def test_stored_probe_outputs_equal_a_fresh_run(tiny_dataset):
    ds = load_dataset(tiny_dataset)
    jobs = [Job(p["source"], ds.manifest["probes"][p["signature"]]) for p in ds.programs[:20]]
    with Executor(workers=1) as ex:
        results = ex.run(jobs)
    for p, rs in zip(ds.programs, results):
        fresh = [r.output if r.status == Outcome.OK else None for r in rs]
        assert fresh == p["probe_outputs"]


def test_same_seed_same_bytes_for_any_number_of_workers(tmp_path, tiny_dataset):
    build_dataset(tmp_path / "w2", 50, seed=7, cfg=TINY, workers=2)
    a = (tiny_dataset / PROGRAMS).read_bytes()
    b = (tmp_path / "w2" / PROGRAMS).read_bytes()
    assert a == b


def test_a_failed_build_leaves_nothing_behind(tmp_path):
    def explode(done: int, total: int) -> None:
        if done == 5:
            raise RuntimeError("simulated failure")

    with pytest.raises(RuntimeError):
        build_dataset(tmp_path / "out", 20, seed=1, cfg=TINY, progress=explode)
    assert list(tmp_path.iterdir()) == []


def test_existing_directory_is_not_replaced_without_force(tmp_path, tiny_dataset):
    target = tmp_path / "copy"
    shutil.copytree(tiny_dataset, target)
    before = (target / PROGRAMS).read_bytes()
    with pytest.raises(DatasetError, match="already exists; pass force to replace it"):
        build_dataset(target, 5, seed=2, cfg=TINY)
    assert (target / PROGRAMS).read_bytes() == before
    build_dataset(target, 5, seed=2, cfg=TINY, force=True)
    assert len(load_dataset(target)) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]


def test_a_killed_builds_staging_directory_is_removed_by_the_next_build(tmp_path):
    import os
    import subprocess
    import sys

    probe = [sys.executable, "-c", "import os; print(os.getpid())"]
    dead = subprocess.run(probe, capture_output=True, text=True)
    pid = int(dead.stdout)
    abandoned = tmp_path / f".data.partial-{pid}-abcd1234"
    abandoned.mkdir()
    (abandoned / "programs.jsonl").write_text("half\n")
    alive = tmp_path / f".data.partial-{os.getppid()}-efgh5678"
    alive.mkdir()
    build_dataset(tmp_path / "data", 5, seed=1, cfg=TINY, workers=1)
    assert not abandoned.exists() and alive.exists()
    assert oct((tmp_path / "data").stat().st_mode & 0o777) != oct(0o700)


def test_a_full_disk_during_a_build_is_a_write_error_and_leaves_nothing(tmp_path, monkeypatch):
    import errno

    from astae.core import dataset_build as dataset_module
    from astae.core.errors import WriteError

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dataset_module, "patch_counts", full)
    with pytest.raises(WriteError, match="cannot write .*data: no space left"):
        build_dataset(tmp_path / "data", 5, seed=1, cfg=TINY, workers=1)
    assert list(tmp_path.iterdir()) == []


def test_dedup_holds_32_bytes_a_program_not_its_strings(monkeypatch):
    """The build's dedup state grows with every kept program: two 16-byte digests in sorted arrays,
    not the source and behaviour strings (about 600 bytes a program at 200,000 programs before)."""
    def candidate(i: int) -> SimpleNamespace:
        source = f"def program(a0: list[int]) -> int:\n    return len(a0) * {i}" + " " * 300
        return SimpleNamespace(source=source, behaviour_key=f"(list[int]) -> int[{i},{i + 1}]" + "0," * 150)

    monkeypatch.setattr(DigestSet, "MERGE_AT", 4096)
    candidates = [candidate(i) for i in range(20_000)]
    selection = Selection(len(candidates))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    assert all(selection.admit(c) for c in candidates)
    per_program = (tracemalloc.get_traced_memory()[0] - before) / len(candidates)
    tracemalloc.stop()
    assert per_program < 60  # 32 in the arrays, and the newest (under MERGE_AT) in a set
    assert not selection.admit(candidate(7)) and selection.rejected == {"duplicate_source": 1}
    assert not selection.admit(SimpleNamespace(source="other", behaviour_key=candidate(7).behaviour_key))
    assert selection.rejected["duplicate_behaviour"] == 1 and selection.kept == len(candidates)
