"""Sets of strings that take 16 bytes a member: the build's dedup state (`dataset_build.Selection`)."""

from __future__ import annotations

import hashlib

import numpy as np


def digest(text: str) -> bytes:
    """The 16 bytes that stand for `text` in a DigestSet."""
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class DigestSet:
    """A set of 16-byte digests (of strings: `digest`) in 16 bytes each: sorted arrays of their two
    halves, plus a Python set of the newest, merged into the arrays when it fills. Two strings
    with one digest (a false "already seen") have a 2^-128 chance."""

    MERGE_AT = 65_536

    def __init__(self) -> None:
        self.high = np.empty(0, dtype=np.uint64)  # sorted; low[i] is the other half of high[i]
        self.low = np.empty(0, dtype=np.uint64)
        self.recent: set[bytes] = set()

    def __len__(self) -> int:
        return len(self.high) + len(self.recent)

    def __contains__(self, d: bytes) -> bool:
        if d in self.recent:
            return True
        high, low = np.frombuffer(d, dtype=np.uint64)
        start = np.searchsorted(self.high, high, side="left")
        end = np.searchsorted(self.high, high, side="right")
        return bool((self.low[start:end] == low).any())

    def add(self, d: bytes) -> None:
        """Add digest `d` (present or not)."""
        self.recent.add(d)
        if len(self.recent) >= self.MERGE_AT:
            halves = np.frombuffer(b"".join(self.recent), dtype=np.uint64).reshape(-1, 2)
            high = np.concatenate([self.high, halves[:, 0]])
            low = np.concatenate([self.low, halves[:, 1]])
            order = np.lexsort((low, high))
            self.high, self.low, self.recent = high[order], low[order], set()
