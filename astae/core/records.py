"""A dataset's `programs.jsonl` as a sequence read on demand, so that memory does not grow with it.

`ProgramRecords` validates the file in one pass (as `load_dataset` does) and keeps only where each
line starts (8 bytes per program); `records[i]` seeks to line i and parses it again. Iterating
streams the file. Training and evaluation use it instead of holding every record.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from astae.core.dataset import PROGRAMS, Dataset, DatasetError, parse_record_line


class ProgramRecords(Sequence):
    """The records of a dataset's programs.jsonl (the first `limit` if given), read on demand."""

    def __init__(self, dataset: Dataset, limit: int | None = None,
                 on_record: Callable[[dict], None] | None = None) -> None:
        self.file = dataset.path / PROGRAMS
        offsets = array("q")  # 8 bytes a program while the file is read, not a list of ints
        position = 0
        try:
            with open(self.file, "rb") as f:
                for lineno, raw in enumerate(f, 1):
                    if limit is not None and lineno > limit:
                        break
                    record = parse_record_line(raw, self.file, lineno, len(offsets))
                    offsets.append(position)
                    position += len(raw)
                    if on_record is not None:
                        on_record(record)
        except FileNotFoundError:
            raise DatasetError(f"{dataset.path}: not a dataset (no {PROGRAMS})") from None
        except OSError as e:
            raise DatasetError(f"{self.file}: unreadable ({e.strerror or e})") from None
        expected = dataset.manifest["counts"]["programs"]
        if not offsets:
            raise DatasetError(f"{self.file}: the dataset is empty")
        if limit is None and len(offsets) != expected:
            raise DatasetError(f"{self.file}: {len(offsets)} programs, the manifest says {expected}")
        self.offsets = np.frombuffer(offsets, dtype=np.int64).copy()

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"program {i} out of range for {n} programs")
        with open(self.file, "rb") as f:
            f.seek(int(self.offsets[i]))
            return json.loads(f.readline())

    def __iter__(self) -> Iterator[dict]:
        with open(self.file, "rb") as f:
            for _ in range(len(self)):
                yield json.loads(f.readline())

    def select(self, ids: Iterable[int]) -> Iterator[dict]:
        """The records of `ids`, in that order, read through one open file (ascending ids read it
        front to back)."""
        n = len(self)
        with open(self.file, "rb") as f:
            for i in ids:
                if not -n <= i < n:
                    raise IndexError(f"program {i} out of range for {n} programs")
                f.seek(int(self.offsets[i]))
                yield json.loads(f.readline())


def select_records(programs: Sequence[dict], ids: Iterable[int]) -> Iterator[dict]:
    """The records of `ids` of a dataset's programs (a `ProgramRecords` or a loaded list), in order."""
    if isinstance(programs, ProgramRecords):
        return programs.select(ids)
    return (programs[i] for i in ids)
