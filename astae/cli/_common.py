"""What every command shares: the console, error rendering, progress bars, config loading."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from astae.core.config import ConfigError
from astae.core.dataset import DatasetError
from astae.core.errors import CheckpointError, GraphStoreError
from astae.core.language import LanguageError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

# Errors that are the user's input, not astae's bugs: one message, exit code 2.
USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError, DatasetError, LanguageError, CheckpointError, GraphStoreError,
)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error message and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn user errors into one clear message and exit code 2; Ctrl-C into exit code 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as e:
            raise fail(_escape(str(e))) from None
        except KeyboardInterrupt:
            raise fail("interrupted", code=130) from None

    return wrapper  # type: ignore[return-value]


def output_path(path: Path, flag: str) -> Path:
    """Check before any work that `path` can be written: its directory exists and it is not a
    directory itself (a ConfigError naming `flag` otherwise)."""
    if path.is_dir():
        raise ConfigError(f"{flag} {path}: is a directory, not a file")
    if not path.parent.is_dir():
        raise ConfigError(f"{flag} {path}: directory {path.parent} does not exist")
    return path


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


class RateColumn(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "-/s", style="progress.data.speed")


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar; yields a `progress(done, total)` callback for core code."""
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        RateColumn(), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task(description, total=total)

        def update(done: int, total_: int) -> None:
            bar.update(task, completed=done, total=total_)

        yield update
