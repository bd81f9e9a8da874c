"""Writing files so that a reader never sees half of one: a temp file beside it, then a rename."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator[IO]:
    """Open a temp file beside `path` for writing; it replaces `path` only if the block succeeds
    (an error, Ctrl-C or a full disk leave the previous file untouched and no temp file behind)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: object) -> Path:
    """Write `data` as indented JSON, atomically."""
    with atomic_file(path) as f:
        f.write(json.dumps(data, indent=2) + "\n")
    return Path(path)


def write_jsonl(path: Path, rows: Iterable[object]) -> Path:
    """Write one JSON value per line, atomically."""
    with atomic_file(path) as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return Path(path)
