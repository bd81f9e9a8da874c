"""`ProgramRecords`: records read on demand, with memory that does not grow with the dataset."""

from __future__ import annotations

import json
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from astae.core.dataset import MANIFEST, PROGRAMS, load_dataset, open_dataset
from astae.core.records import ProgramRecords, select_records


def replicated(tiny: Path, out: Path, copies: int) -> Path:
    """`tiny` repeated `copies` times (ids renumbered; the graph shards listed again for each copy)."""
    out.mkdir()
    shutil.copytree(tiny / "graphs", out / "graphs")
    lines = (tiny / PROGRAMS).read_text().splitlines()
    with open(out / PROGRAMS, "w") as f:
        for k in range(copies):
            for j, line in enumerate(lines):
                record = json.loads(line)
                record["id"] = k * len(lines) + j
                f.write(json.dumps(record) + "\n")
    manifest = json.loads((tiny / MANIFEST).read_text())
    manifest["counts"]["programs"] = copies * len(lines)
    manifest["graphs"]["shards"] = manifest["graphs"]["shards"] * copies
    (out / MANIFEST).write_text(json.dumps(manifest))
    return out


def retained_and_peak(build) -> tuple[int, int]:
    """Bytes still allocated by what `build()` returns, and the peak while it ran."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del kept
    return now - before, peak - before


def test_select_reads_the_records_asked_for_in_that_order(tiny_dataset):
    loaded = load_dataset(tiny_dataset).programs
    records = ProgramRecords(open_dataset(tiny_dataset))
    ids = [5, 0, 5, 49, -1, 12]
    assert list(records.select(ids)) == [loaded[i] for i in ids]
    assert list(records.select(np.array([3, 4]))) == loaded[3:5]
    assert list(select_records(loaded, [2, 1])) == [loaded[2], loaded[1]]  # a loaded list too
    with pytest.raises(IndexError):
        list(records.select([50]))


def test_memory_per_program_is_a_few_bytes_not_python_objects(tiny_dataset, tmp_path):
    """Ten times the programs: the index grows by 8 bytes a program, and so does its peak (a list
    of Python ints while the file is read would cost 36 or more)."""
    small = open_dataset(replicated(tiny_dataset, tmp_path / "small", 20))
    large = open_dataset(replicated(tiny_dataset, tmp_path / "large", 200))
    kept_small, peak_small = retained_and_peak(lambda: ProgramRecords(small))
    kept_large, peak_large = retained_and_peak(lambda: ProgramRecords(large))
    extra = len(ProgramRecords(large)) - len(ProgramRecords(small))
    assert (kept_large - kept_small) / extra < 10
    assert (peak_large - peak_small) / extra < 24
