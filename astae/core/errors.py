"""Errors that are not astae's bugs (the user's input, or the machine it runs on), importable
without torch or DGL."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from string import Formatter
from typing import Any, TypeVar

E = TypeVar("E", bound="NamesParameters")


class NamesParameters:
    """Mixin of the user-input errors: a message that names parameters of a core function.

    `SomeError.naming("{beam_width}: must be at least 1, not {value}", value=0)` makes an error
    whose template has a field per parameter it names and per value it shows. `str()` spells
    each parameter as its core name (`beam_width`); a front end calls `spelled(its_spelling)`
    to show its own (the CLI: `--beam`). Values are never parsed as templates."""

    template: str | None = None
    values: dict[str, Any]

    @classmethod
    def naming(cls: type[E], template: str, **values: Any) -> E:
        """The error with `template`, its parameter fields spelled by their core names."""
        error = cls(_fill(template, values, str))  # type: ignore[call-arg]
        error.template, error.values = template, values
        return error

    @classmethod
    def not_one_of(cls: type[E], parameter: str, value: Any, known: Iterable[str]) -> E:
        """The error of `parameter` given `value`, which is none of the `known` choices."""
        template = "{" + parameter + "}: {value!r} is not one of {known}"
        return cls.naming(template, value=value, known=", ".join(known))

    def parameters(self) -> list[str]:
        """The parameters the message names, in order."""
        if self.template is None:
            return []
        fields = [f for _, f, _, _ in Formatter().parse(self.template) if f]
        return [f for f in dict.fromkeys(fields) if f not in self.values]

    def spelled(self, spell: Callable[[str], str]) -> str:
        """The message with each parameter named by `spell(name)`."""
        return str(self) if self.template is None else _fill(self.template, self.values, spell)


def _fill(template: str, values: dict[str, Any], spell: Callable[[str], str]) -> str:
    fields = {f for _, f, _, _ in Formatter().parse(template) if f}
    return template.format_map({**{f: spell(f) for f in fields - values.keys()}, **values})


class CheckpointError(NamesParameters, ValueError):
    """A checkpoint that is missing, corrupt, or from an incompatible astae or grammar."""


class TaskError(NamesParameters, ValueError):
    """A synthesis task file (input/output examples) that is missing, malformed or inconsistent."""


class GraphStoreError(NamesParameters, ValueError):
    """A graph shard is missing, truncated or otherwise unreadable."""


class WriteError(OSError):
    """A file astae writes could not be written (disk full, quota, read-only or no permission).

    Not the user's input but the machine: the CLI shows the message and exits with code 1. Files
    are written atomically, so the previous version of the file, if any, is intact."""

    def __str__(self) -> str:
        # OSError's own str() would show "[Errno 28] ...: 'path'" once errno and filename are set.
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()
