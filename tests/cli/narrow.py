"""Rendering into an 80-column console, and reading the tables back out of the text."""

from __future__ import annotations

import io
from collections.abc import Callable

from rich.cells import cell_len
from rich.console import Console

WIDTH = 80


def render(draw: Callable[..., None], *args: object) -> str:
    """What `draw(console, *args)` prints on an 80-column console, as plain text."""
    console = Console(width=WIDTH, record=True, file=io.StringIO(), color_system=None)
    draw(console, *args)
    return console.export_text()


def assert_fits(text: str) -> None:
    """Nothing cut to an ellipsis, no table or panel line wider than the console (a heading naming
    a path may be printed unbroken, for the terminal to wrap: it is for copying)."""
    assert "…" not in text, text
    too_wide = [line for line in text.splitlines() if line[:1] in _BOX and cell_len(line) > WIDTH]
    assert not too_wide, too_wide


_BOX = set("┏┃┡│└├╭╰")


def table_rows(text: str) -> list[list[str]]:
    """The cells of every line of a boxed table body (`│ a │ 1 │`), stripped."""
    return [[cell.strip() for cell in line.strip().strip("│").split("│")]
            for line in text.splitlines() if line.startswith("│")]


def row(text: str, label: str) -> list[str]:
    """The one boxed-table line whose first cell is `label`."""
    found = [cells for cells in table_rows(text) if cells[0] == label]
    assert len(found) == 1, (label, found, text)
    return found[0]


def kv_value(text: str, key: str) -> str:
    """The value of a (key, value) row of a borderless table: ` key   value`."""
    found = [line[len(key) + 1:].strip() for line in text.splitlines() if line.startswith(f" {key}  ")]
    assert len(found) == 1, (key, found, text)
    return found[0]


def words(text: str) -> set[str]:
    """Every whitespace-separated word of `text` (table borders are words of their own)."""
    return set(text.split())
