"""Occam's razor for synthesised programs: the smallest program, reachable by removing parts of a
solution, that still satisfies the examples.

A search stops at the first program that fits the examples, and that program often carries
parts the examples never exercise: a loop that returns early on lists longer than any example's,
a store whose value fails on an empty list, a `max(...)` around a constant. Such parts are where
a solution and the hidden program part ways on fresh inputs. `shrink` removes them greedily:
each round lists every one-step smaller variant of the program (`smaller_variants`), runs them
smallest first, and moves to the smallest that still gets every example right, until none does.

One step is one of:
- delete a statement;
- replace a `for` or `if` statement by one of its bodies (the rest of its block after a
  `return` in that body is dropped, being unreachable);
- drop a comprehension's condition;
- replace an expression by one of its sub-expressions (`max([8 for ...])` -> `8`,
  `a0[:5 % 3]` -> `a0[:3]`... whatever the language's type and scope checks accept).

Size is the number of AST nodes. Variants are made by editing the tree in place and printing
it (no copies), and checked by the language's own parser (`parse_program`) lazily, smallest
first: a round that finds a passing variant early parses little more than it runs.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

from astae.core.language import LanguageError, Program, parse_program

# Legal variants run in batches this large, smallest first: the first batch holding a passing
# variant ends the round.
SHRINK_BATCH = 32


def smaller_variants(program: Program) -> Iterator[Program]:
    """Every legal program one step smaller than `program`, smallest (fewest AST nodes) first,
    each source once."""
    fn = ast.parse(program.source).body[0]
    assert isinstance(fn, ast.FunctionDef)
    edits = sorted(_edits(fn), key=lambda edit: -edit[0])  # stable: ties keep the tree's order
    seen: set[str] = set()
    for _, apply in edits:
        try:
            variant = parse_program(apply(), idioms=False)  # edits stay in the grammar
        except LanguageError:
            continue
        if variant.source not in seen:
            seen.add(variant.source)
            yield variant


def shrink(source: str, passes: Callable[[list[str]], list[bool]]) -> tuple[str, int]:
    """The smallest program reached from `source` by one-step shrinks that each keep
    `passes(sources)` true, and the number of variants run to get there. `source` is returned
    unchanged (in canonical form) when no smaller variant passes."""
    current = parse_program(source)
    runs = 0
    while True:
        better = None
        variants = smaller_variants(current)
        while better is None and (batch := [v for _, v in zip(range(SHRINK_BATCH), variants)]):
            runs += len(batch)
            better = next((v for v, ok in zip(batch, passes([v.source for v in batch])) if ok), None)
        if better is None:
            return current.source, runs
        current = better


Edit = tuple[int, Callable[[], str]]  # (AST nodes it removes, the variant's source)


def _edits(fn: ast.FunctionDef) -> Iterator[Edit]:
    """Every one-step removal from `fn` (the variants need not be legal programs)."""
    for node in ast.walk(fn):
        if isinstance(node, (ast.arguments, ast.arg)):
            continue  # the signature stays
        for name, value in ast.iter_fields(node):
            if (node is fn and name == "returns") or (isinstance(node, ast.Call) and name == "func"):
                continue
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield from _block_edits(fn, node, name, value)
                continue
            if isinstance(node, ast.comprehension) and name == "ifs":
                for k, cond in enumerate(value):
                    yield _size(cond), _source_with(fn, node, name, value[:k] + value[k + 1 :])
            slots = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
            for k, item in slots:
                if not _replaceable(item):
                    continue
                for sub in ast.walk(item):
                    if sub is not item and _replaceable(sub):
                        new = sub if k is None else [*value[:k], sub, *value[k + 1 :]]
                        yield _size(item) - _size(sub), _source_with(fn, node, name, new)


def _block_edits(fn: ast.FunctionDef, node: ast.AST, name: str, block: list[ast.stmt]) -> Iterator[Edit]:
    whole = sum(map(_size, block))
    for k, stmt in enumerate(block):
        if len(block) > 1 or name == "orelse":
            yield _size(stmt), _source_with(fn, node, name, block[:k] + block[k + 1 :])
        if isinstance(stmt, (ast.For, ast.If)):
            for branch in (stmt.body, stmt.orelse):
                if branch:
                    new = _until_return(block[:k] + branch + block[k + 1 :])
                    yield whole - sum(map(_size, new)), _source_with(fn, node, name, new)


def _source_with(fn: ast.FunctionDef, node: ast.AST, name: str, value: object) -> Callable[[], str]:
    """The source of `fn` with `node.name` set to `value`, printed on demand (the tree is edited
    in place and restored)."""

    def source() -> str:
        old = getattr(node, name)
        setattr(node, name, value)
        try:
            return ast.unparse(fn)
        finally:
            setattr(node, name, old)

    return source


def _until_return(stmts: list[ast.stmt]) -> list[ast.stmt]:
    for k, stmt in enumerate(stmts):
        if isinstance(stmt, ast.Return):
            return stmts[: k + 1]
    return stmts


def _size(node: ast.AST) -> int:
    return sum(1 for _ in ast.walk(node))


def _replaceable(node: object) -> bool:
    """An expression that is read (not a store target, not a slice)."""
    return isinstance(node, ast.expr) and not isinstance(node, ast.Slice) and not isinstance(
        getattr(node, "ctx", None), ast.Store)
