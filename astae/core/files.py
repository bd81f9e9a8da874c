"""Writing files so that a reader never sees half of one: a temp file beside it, then a rename.

`atomic_file` writes `.NAME.XXXXXXXX.tmp` in the target's directory, flushes it to the disk and
renames it over NAME. An error, Ctrl-C or a full disk removes the temp file and leaves the previous
NAME untouched; an OSError while writing becomes a `WriteError` that names the file and says why.
Only a process killed outright (SIGKILL, power cut) can leave a temp file behind, never a torn
NAME; `remove_stale_temp_files` clears such leftovers (training does on resume).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from astae.core.errors import WriteError


def _file_mode() -> int:
    """rw for whoever the umask allows, as `open` would create a file (mkstemp makes 0600)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()  # read once, at import: os.umask is process-wide and not thread-safe
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")  # what tempfile.mkstemp makes for atomic_file

_REASONS = {
    errno.ENOSPC: "no space left on device (the disk is full)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for this file system or the file size limit (ulimit -f)",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EIO: "input/output error (a failing disk?)",
}


def write_error(path: Path, exc: OSError, previous: bool | None = None) -> WriteError:
    """A WriteError for `exc` raised while writing `path`, saying what the disk said in words and
    whether a previous version of the file is intact (`previous`; unknown if None)."""
    path = Path(path)
    reason = _REASONS.get(exc.errno) or (exc.strerror or str(exc) or type(exc).__name__)
    message = f"cannot write {path}: {reason}"
    if previous is not None:
        message += f"; the previous {path.name} is intact" if previous else f"; no {path.name} was written"
    error = WriteError(message)
    error.errno, error.strerror, error.filename = exc.errno, exc.strerror, str(path)
    return error


@contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator[IO]:
    """Open a temp file beside `path` for writing; it replaces `path` only if the block succeeds
    (an error, Ctrl-C or a full disk leave the previous file untouched and no temp file behind).
    Any OSError, in the block or while flushing and renaming, is raised as a `WriteError`."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise write_error(path, e, path.exists()) from None
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())  # the bytes reach the disk before the rename: no empty file after a crash
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise write_error(path, e, path.exists()) from None
        raise


def remove_stale_temp_files(directory: Path) -> list[Path]:
    """Delete the temp files `atomic_file` left in `directory` when its process was killed
    mid-write; return them. Only for a directory no other process is writing into."""
    removed = []
    for candidate in sorted(Path(directory).glob(".*.tmp")):
        if _TEMP_NAME.match(candidate.name) and candidate.is_file():
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed.append(candidate)
    return removed


def write_json(path: Path, data: object) -> Path:
    """Write `data` as indented JSON, atomically."""
    with atomic_file(path) as f:
        f.write(json.dumps(data, indent=2) + "\n")
    return Path(path)


@contextmanager
def jsonl_writer(path: Path) -> Iterator[Callable[[object], None]]:
    """A function that writes one JSON value per line to `path`, which appears atomically when
    the block ends (rows stream to the disk: nothing is held)."""
    with atomic_file(path) as f:
        yield lambda row: f.write(json.dumps(row) + "\n")


def write_jsonl(path: Path, rows: Iterable[object]) -> Path:
    """Write one JSON value per line, atomically."""
    with jsonl_writer(path) as write:
        for row in rows:
            write(row)
    return Path(path)


class JsonListWriter:
    """A JSON object whose last key holds a list, written item by item into an open file: the
    text `write_json` gives for the whole, without holding it."""

    def __init__(self, f: IO[str], head: dict, key: str) -> None:
        self.f, self.items = f, 0
        f.write("{")
        for name, value in head.items():
            f.write(f"\n  {json.dumps(name)}: " + json.dumps(value, indent=2).replace("\n", "\n  ") + ",")
        f.write(f"\n  {json.dumps(key)}: [")

    def write(self, item: object) -> None:
        """Append one item to the list."""
        text = json.dumps(item, indent=2).replace("\n", "\n    ")
        self.f.write(("," if self.items else "") + "\n    " + text)
        self.items += 1

    def close(self) -> None:
        """End the list and the object."""
        self.f.write("\n  ]\n}\n" if self.items else "]\n}\n")
