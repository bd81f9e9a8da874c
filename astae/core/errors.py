"""Errors that are not astae's bugs (the user's input, or the machine it runs on), importable
without torch or DGL."""

from __future__ import annotations


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, or from an incompatible astae or grammar."""


class TaskError(ValueError):
    """A synthesis task file (input/output examples) that is missing, malformed or inconsistent."""


class GraphStoreError(ValueError):
    """A graph shard is missing, truncated or otherwise unreadable."""


class WriteError(OSError):
    """A file astae writes could not be written (disk full, quota, read-only or no permission).

    Not the user's input but the machine: the CLI shows the message and exits with code 1. Files
    are written atomically, so the previous version of the file, if any, is intact."""

    def __str__(self) -> str:
        # OSError's own str() would show "[Errno 28] ...: 'path'" once errno and filename are set.
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()
