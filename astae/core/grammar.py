"""The typed grammar of the program language, as data."""

from __future__ import annotations

MAX_PARAMS = 3
MAX_LOCALS = 16
