"""Synthesis tasks: input/output examples read from a file, checked, and typed.

A task file is recognised by its content, not its name:

- a JSON list of examples: `[{"input": [1, [2, 3]], "output": 5}, ...]`;
- a JSON object with `"examples"` (and optionally `"signature"`), e.g. one programs.jsonl record;
- JSON lines: one example a line, or programs.jsonl records (one is picked by its `id`).

Every value is an int or a flat list of ints (JSON `true` is a boolean, not an int). The signature
is inferred from the examples; a given one (or a record's) must agree with them. Whatever is wrong
is a `TaskError` naming the file and the example (`FILE: example 3: ...`) or line (`FILE:7: ...`).
A record's `source` is kept as `hidden_source`, for reports only: the search never sees it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from astae.core.errors import TaskError
from astae.core.grammar import MAX_PARAMS, PARAM_TYPES, RETURN_TYPES, TYPE_SOURCE, Signature

MAX_EXAMPLES = 1000
MAX_ABS_INT = 10**12
_MAX_ABS_INT_TEXT = "10**12"
MAX_LIST_ITEMS = 10_000

_EXAMPLE_KEYS = ("input", "output")
_SIGNATURE_FORM = (
    f"expected the form (list[int], int) -> int: 1 to {MAX_PARAMS} parameters, each "
    f"{' or '.join(TYPE_SOURCE[t] for t in PARAM_TYPES)}, returning "
    f"{' or '.join(TYPE_SOURCE[t] for t in RETURN_TYPES)}"
)


@dataclass
class SynthesisTask:
    """Input/output examples to synthesise a program for, and the signature it must have."""

    signature: Signature
    examples: list[dict]  # [{"input": [args...], "output": value}]
    path: str  # where it came from (for messages/reports)
    hidden_source: str | None = None  # a programs.jsonl record's source: never shown to the search
    record_id: int | None = None


def load_task(path: Path, signature: str | None = None, index: int | None = None) -> SynthesisTask:
    """The task in `path`; `signature` overrides inference, `index` picks a record by its id."""
    path = Path(path)
    given = parse_signature(signature, f"{path}: ") if signature is not None else None
    if path.is_dir():
        raise TaskError(f"{path}: is a directory, not a task file")
    try:
        with open(path, "rb") as f:
            task = _read_task(f, str(path), index)
    except FileNotFoundError:
        raise TaskError(f"{path}: file not found") from None
    except OSError as e:
        raise TaskError(f"{path}: cannot read ({e.strerror or e})") from None
    if given is not None:
        _check_signature(given, task, "the signature")
        task.signature = given
    return task


@dataclass
class SuiteTask:
    """One task of a suite: its name, the task (the examples a search is shown) and the held-out
    cases a solution must also get right (never shown to the search)."""

    name: str
    task: SynthesisTask
    holdout: list[dict]


def load_suite(path: Path) -> list[SuiteTask]:
    """The tasks of a suite file: a JSON object `{name: {"examples": [...], "holdout": [...]}}`
    (`holdout` optional), in file order; the holdout cases must fit the examples' signature."""
    path = Path(path)
    if path.is_dir():
        raise TaskError(f"{path}: is a directory, not a task suite file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TaskError(f"{path}: file not found") from None
    except OSError as e:
        raise TaskError(f"{path}: cannot read ({e.strerror or e})") from None
    document = _loads(_decode(raw, str(path)).removeprefix("\ufeff"), str(path))
    if not isinstance(document, dict) or not document:
        raise TaskError(f"{path}: expected a JSON object of named tasks, {{name: {{\"examples\": [...], "
                        f"\"holdout\": [...]}}}}, not {_describe(document)}")
    return [_suite_task(name, entry, f"{path}: task {name!r}", str(path)) for name, entry in document.items()]


def _suite_task(name: str, entry: object, where: str, file: str) -> SuiteTask:
    if not isinstance(entry, dict) or "examples" not in entry:
        raise TaskError(
            f"{where}: expected an object with \"examples\" (and \"holdout\"), not {_describe(entry)}"
        )
    extra = [k for k in entry if k not in ("examples", "holdout")]
    if extra:
        raise TaskError(f"{where}: unexpected {_keys(extra)} (a task has \"examples\" and \"holdout\")")
    task = _from_record({"examples": entry["examples"]}, where, f"{file}#{name}")
    holdout = entry.get("holdout", [])
    if not isinstance(holdout, list):
        raise TaskError(f"{where}: \"holdout\" must be a list of examples, not {_describe(holdout)}")
    if holdout:
        at = [(f"{where}: holdout {k}", f"holdout {k}") for k in range(1, len(holdout) + 1)]
        held = SynthesisTask(_infer(holdout, at, where), holdout, where)
        _check_signature(held.signature, task, "the holdout cases' signature", where)
    return SuiteTask(name, task, holdout)


def task_from_record(record: dict, path: str) -> SynthesisTask:
    """The task of one programs.jsonl record (already read), checked as `load_task` checks it;
    `path` names it in messages (e.g. `DATASET#17`)."""
    if not isinstance(record, dict) or "examples" not in record:
        raise TaskError(f"{path}: expected a programs.jsonl record (an object with \"examples\")")
    return _from_record(record, path)


def infer_signature(examples: list[dict]) -> Signature:
    """The signature the examples imply; a TaskError says which example is wrong and how."""
    where = [(f"example {k}", f"example {k}") for k in range(1, len(examples) + 1)]
    return _infer(examples, where, "")


def parse_signature(text: str, prefix: str = "") -> Signature:
    """A signature written as in `Signature.display`, spaces optional, e.g. `(list[int],int)->int`."""
    match = re.fullmatch(r"\s*\((.*)\)\s*->\s*(.*?)\s*", text)
    by_source = {TYPE_SOURCE[t]: t for t in PARAM_TYPES}
    returns = {TYPE_SOURCE[t]: t for t in RETURN_TYPES}
    if match is not None:
        params = [p.strip() for p in match[1].split(",")] if match[1].strip() else []
        if 1 <= len(params) <= MAX_PARAMS and all(p in by_source for p in params) and match[2] in returns:
            return Signature(tuple(by_source[p] for p in params), returns[match[2]])
    raise TaskError(f"{prefix}cannot read the signature {text!r}: {_SIGNATURE_FORM}")


# -- reading -------------------------------------------------------------------------


def _read_task(f: BinaryIO, name: str, index: int | None) -> SynthesisTask:
    """JSON lines if the first non-blank line is a JSON object by itself, else one JSON document."""
    lines = _numbered_lines(f, name)
    first = next(lines, None)
    if first is None:
        raise TaskError(f"{name}: empty file (expected input/output examples as JSON)")
    lineno, text = first
    try:
        head = json.loads(text)
    except (ValueError, RecursionError):
        head = None
    if isinstance(head, dict):
        if "examples" in head:
            return _pick_record(_records(head, lineno, lines, name), name, index)
        return _from_example_lines(head, lineno, lines, name, index)
    f.seek(0)
    document = _loads(_decode(f.read(), name).removeprefix("\ufeff"), name)
    if isinstance(document, dict) and "examples" in document:
        if index is not None and document.get("id") != index:
            raise TaskError(f"{name}: holds one task, not a record with id {index}")
        return _from_record(document, name)
    if index is not None:
        raise _index_without_records(name, index)
    if isinstance(document, list):
        return _task(document, name, name, None)
    raise TaskError(
        f"{name}: expected a list of examples, an object with \"examples\", or one JSON object a "
        f"line, not {_describe(document)}"
    )


def _index_without_records(name: str, index: int) -> TaskError:
    return TaskError.naming(
        "{name}: {index} {value} picks a programs.jsonl record, but this file holds examples",
        name=name, value=index,
    )


def _numbered_lines(f: BinaryIO, name: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank line, decoded as UTF-8."""
    for lineno, raw in enumerate(f, 1):
        text = _decode(raw, f"{name}:{lineno}")
        if lineno == 1:
            text = text.removeprefix("\ufeff")
        if text.strip():
            yield lineno, text


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TaskError(f"{where}: not UTF-8 ({e.reason} at byte {e.start})") from None


def _loads(text: str, where: str) -> object:
    """`json.loads`, with whatever is wrong with the text a TaskError naming `where`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        line = f"line {e.lineno} " if "\n" in text.strip() else ""
        raise TaskError(f"{where}: not valid JSON ({e.msg} at {line}column {e.colno})") from None
    except RecursionError:
        raise TaskError(f"{where}: not valid JSON (nested too deeply to read)") from None
    except ValueError as e:  # an integer literal of more than sys.get_int_max_str_digits() digits
        raise TaskError(f"{where}: not valid JSON ({str(e).split(':')[0]})") from None


def _from_example_lines(
    head: dict, lineno: int, lines: Iterator[tuple[int, str]], name: str, index: int | None
) -> SynthesisTask:
    """A JSON-lines file of examples, one a line."""
    if index is not None:
        raise _index_without_records(name, index)
    examples, where = [head], [(f"{name}:{lineno}", f"line {lineno}")]
    for lineno, text in lines:
        if len(examples) == MAX_EXAMPLES:
            raise TaskError(f"{name}:{lineno}: more than {MAX_EXAMPLES} examples (the limit)")
        examples.append(_loads(text, f"{name}:{lineno}"))
        where.append((f"{name}:{lineno}", f"line {lineno}"))
    signature = _infer(examples, where, name)
    return SynthesisTask(signature, examples, name)


def _records(
    head: dict, lineno: int, lines: Iterator[tuple[int, str]], name: str
) -> Iterator[tuple[int, dict]]:
    """(line number, record) of each programs.jsonl record; every line must be one."""
    yield lineno, head
    for lineno, text in lines:
        record = _loads(text, f"{name}:{lineno}")
        if not isinstance(record, dict) or "examples" not in record:
            raise TaskError(
                f"{name}:{lineno}: expected a programs.jsonl record (an object with \"examples\"), "
                "as on the first line"
            )
        yield lineno, record


def _pick_record(records: Iterator[tuple[int, dict]], name: str, index: int | None) -> SynthesisTask:
    """The record with id `index`, or the only record if `index` is None."""
    chosen: tuple[int, dict] | None = None
    ids: list[int] = []
    count = 0
    for lineno, record in records:
        count += 1
        record_id = record.get("id")
        if type(record_id) is int:
            ids.append(record_id)
        if index is None:
            chosen = chosen or (lineno, record)
        elif type(record_id) is int and record_id == index:
            chosen = (lineno, record)
            break
    span = f"ids {min(ids)} to {max(ids)}" if ids else "none has an id"
    if index is None and count > 1:
        raise TaskError.naming("{name}: holds {count} records ({span}); pass {index}=ID to pick one",
                               name=name, count=count, span=span)
    if chosen is None:
        raise TaskError(f"{name}: no record with id {index} ({count} records, {span})")
    lineno, record = chosen
    return _from_record(record, f"{name}:{lineno}", name)


def _from_record(record: dict, where: str, name: str | None = None) -> SynthesisTask:
    """A task from an object with "examples" (and optional "signature", "source", "id")."""
    examples = record["examples"]
    if not isinstance(examples, list):
        raise TaskError(f"{where}: \"examples\" must be a list of examples, not {_describe(examples)}")
    source = record.get("source")
    if source is not None and not isinstance(source, str):
        raise TaskError(f"{where}: \"source\" must be a string, not {_describe(source)}")
    record_id = record.get("id")
    task = _task(examples, where, name or where, source)
    task.record_id = record_id if type(record_id) is int else None
    stated = record.get("signature")
    if stated is not None:
        if not isinstance(stated, str):
            raise TaskError(f"{where}: \"signature\" must be a string, not {_describe(stated)}")
        _check_signature(parse_signature(stated, f"{where}: "), task, "the record's signature", where)
    return task


def _task(examples: list, where: str, name: str, source: str | None) -> SynthesisTask:
    """A task from a list of examples (numbered in messages) read from `where` in file `name`."""
    at = [(f"{where}: example {k}", f"example {k}") for k in range(1, len(examples) + 1)]
    return SynthesisTask(_infer(examples, at, where), examples, name, hidden_source=source)


# -- checking ------------------------------------------------------------------------


def _infer(examples: list, where: Sequence[tuple[str, str]], origin: str) -> Signature:
    """Check every example and return the signature they imply. `where[k]` is (message prefix,
    short reference) for example k; `origin` prefixes messages about the examples as a whole."""
    prefix = f"{origin}: " if origin else ""
    if not examples:
        raise TaskError(f"{prefix}no examples")
    if len(examples) > MAX_EXAMPLES:
        raise TaskError(f"{prefix}{len(examples)} examples (at most {MAX_EXAMPLES})")
    first: tuple[list[str], str] | None = None
    for k, example in enumerate(examples):
        at, _ = where[k]
        args, output = _unpack(example, at)
        types = [_type_of(arg, f"{at}: argument {i}") for i, arg in enumerate(args, 1)]
        returns = _type_of(output, f"{at}: output")
        if first is None:
            first = (types, returns)
            continue
        ref = where[0][1]
        if len(types) != len(first[0]):
            raise TaskError(f"{at}: {_count(len(types))}, but {ref} has {len(first[0])}")
        for i, (t, t0) in enumerate(zip(types, first[0]), 1):
            if t != t0:
                shown = _show(args[i - 1])
                raise TaskError(f"{at}: argument {i} is {_a(t)} ({shown}), but {_a(t0)} in {ref}")
        if returns != first[1]:
            raise TaskError(f"{at}: output is {_a(returns)} ({_show(output)}), but {_a(first[1])} in {ref}")
    assert first is not None
    return Signature(tuple(first[0]), first[1])


def _unpack(example: object, at: str) -> tuple[list, object]:
    """An example's arguments and output, once its shape is checked."""
    if not isinstance(example, dict):
        raise TaskError(f"{at}: expected an object with \"input\" and \"output\", not {_describe(example)}")
    missing = [k for k in _EXAMPLE_KEYS if k not in example]
    if missing:
        form = '{"input": [args], "output": value}'
        raise TaskError(f"{at}: missing {_keys(missing)} (an example is {form})")
    extra = [k for k in example if k not in _EXAMPLE_KEYS]
    if extra:
        raise TaskError(f"{at}: unexpected {_keys(extra)} (an example has only \"input\" and \"output\")")
    args = example["input"]
    if not isinstance(args, list):
        raise TaskError(f"{at}: \"input\" must be a list of the arguments, not {_describe(args)}")
    if not 1 <= len(args) <= MAX_PARAMS:
        raise TaskError(f"{at}: {_count(len(args))}; a program takes 1 to {MAX_PARAMS}")
    return args, example["output"]


def _type_of(value: object, at: str) -> str:
    """"int" or "list" for a valid value; a TaskError saying what is wrong otherwise."""
    if type(value) is int:
        _check_int(value, at)
        return "int"
    if not isinstance(value, list):
        raise TaskError(f"{at}: {_describe(value)}; values are ints or lists of ints")
    if len(value) > MAX_LIST_ITEMS:
        raise TaskError(f"{at}: a list of {len(value)} items (at most {MAX_LIST_ITEMS})")
    for i, item in enumerate(value):
        if type(item) is not int:
            raise TaskError(f"{at}: item {i} is {_describe(item)}; lists hold ints only")
        _check_int(item, f"{at}: item {i}")
    return "list"


def _check_int(value: int, at: str) -> None:
    if abs(value) > MAX_ABS_INT:
        limit = f"ints are at most {_MAX_ABS_INT_TEXT} in absolute value"
        raise TaskError(f"{at}: {_show(value)} is too large ({limit})")


def _check_signature(signature: Signature, task: SynthesisTask, what: str, where: str | None = None) -> None:
    """A TaskError unless `signature` is the one the task's examples imply."""
    inferred = task.signature
    if signature == inferred:
        return
    head = f"{where or task.path}: {what} {signature.display} does not fit the examples"
    example = task.examples[0]
    if len(signature.params) != len(inferred.params):
        raise TaskError(f"{head}: they give {_count(len(inferred.params))}, it takes {len(signature.params)}")
    for i, (want, got) in enumerate(zip(signature.params, inferred.params), 1):
        if want != got:
            arg = example["input"][i - 1]
            raise TaskError(f"{head}: argument {i} is {_a(got)} ({_show(arg)} in the first), not {_a(want)}")
    raise TaskError(
        f"{head}: the output is {_a(inferred.returns)} ({_show(example['output'])} in the first), "
        f"not {_a(signature.returns)}"
    )


# -- wording -------------------------------------------------------------------------


def _a(type_: str) -> str:
    return "an int" if type_ == "int" else "a list"


def _count(n: int) -> str:
    return f"{n} argument{'s' if n != 1 else ''}"


def _keys(keys: list[str]) -> str:
    return ("keys " if len(keys) > 1 else "key ") + ", ".join(json.dumps(k) for k in keys)


def _show(value: object, limit: int = 40) -> str:
    """A value as JSON, cut short if long."""
    try:
        text = json.dumps(value)
    except (ValueError, TypeError, RecursionError):  # an int too long to print, a non-JSON value
        text = f"an int of {value.bit_length()} bits" if isinstance(value, int) else type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(value: object) -> str:
    """What kind of JSON value this is, with the value where short."""
    if isinstance(value, bool):
        return f"{_show(value)} (a boolean)"
    if isinstance(value, float):
        return f"{_show(value)} (not an int)"
    if isinstance(value, str):
        return f"{_show(value)} (a string)"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return _show(value)
