"""Errors that are the user's input rather than astae's bugs, importable without torch or DGL."""

from __future__ import annotations


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, or from an incompatible astae or grammar."""


class GraphStoreError(ValueError):
    """A graph shard is missing, truncated or otherwise unreadable."""
