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
from astae.core.errors import CheckpointError, GraphStoreError, NamesParameters, TaskError, WriteError
from astae.core.language import LanguageError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

# Errors that are the user's input, not astae's bugs: one message, exit code 2.
USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError, DatasetError, LanguageError, CheckpointError, GraphStoreError, TaskError,
)

F = TypeVar("F", bound=Callable[..., Any])

# Core parameters whose flag is not `--` + their name.
FLAGS = {"assignments": "--set"}


def flag(parameter: str) -> str:
    """The command-line flag of a core function's parameter."""
    return FLAGS.get(parameter, f"--{parameter}")


def user_message(error: Exception) -> str:
    """A user error's message, with the core parameters it names spelled as their flags."""
    return error.spelled(flag) if isinstance(error, NamesParameters) else str(error)


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
            raise fail(_escape(user_message(e))) from None
        except WriteError as e:  # the machine, not the input: disk full, quota, read-only, permission
            raise fail(_escape(str(e)), code=1) from None
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


def output_dir(path: Path, flag: str) -> Path:
    """Check before any work that directory `path` is one or can be created: neither it nor
    its nearest existing ancestor is a file (a ConfigError naming `flag` otherwise)."""
    for existing in (path, *path.parents):
        if existing.exists():
            if not existing.is_dir():
                where = "is a file" if existing == path else f"is under {existing}, a file"
                raise ConfigError(f"{flag} {path}: {where}, not a directory")
            break
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
    """A rich progress bar; yields a `progress(done, total)` callback for core code. The bar
    appears with the first report, so a command that fails before any work shows only its error."""
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        RateColumn(), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
    )
    bar = Progress(*columns, console=err_console, transient=False)
    task = None

    def update(done: int, total_: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(description, total=total_ or total)
        bar.update(task, completed=done, total=total_)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()
