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
  `a0[:5 % 3]` -> `a0[:3]`... whatever the language's type and scope checks accept);
- inline a copy: `v1 = v0` is deleted and every later read of `v1` reads `v0`, when neither is
  bound anywhere else where that could tell them apart (`v1` nowhere else; `v0` only before the
  copy and outside every loop around it), so `v1 = v0; v2 = v1; return v2` shrinks to `return v0`
  in two steps, each meaning the same program on every input.

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
                yield from _copy_inlines(fn, node, name, value)
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


def _copy_inlines(fn: ast.FunctionDef, node: ast.AST, name: str, block: list[ast.stmt]) -> Iterator[Edit]:
    """For each copy `x = y` in `block` that can be inlined: delete it, read `y` where `x` was read."""
    for k, stmt in enumerate(block):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.value, ast.Name)
                and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id != stmt.value.id):
            continue
        copy, source = stmt.targets[0].id, stmt.value.id
        stores = _stores(fn)
        if len(stores[copy]) != 1 or not _bound_before_outside_loops(fn, stmt, stores.get(source, [])):
            continue
        reads = [n for n in ast.walk(fn)
                 if isinstance(n, ast.Name) and n.id == copy and isinstance(n.ctx, ast.Load)]
        yield _size(stmt), _inlined(fn, node, name, block[:k] + block[k + 1:], reads, source)


def _stores(fn: ast.FunctionDef) -> dict[str, list[ast.Name]]:
    """Every binding of each variable name in `fn` (assignments, augmented ones, loop targets)."""
    found: dict[str, list[ast.Name]] = {}
    for n in ast.walk(fn):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            found.setdefault(n.id, []).append(n)
    return found


def _bound_before_outside_loops(fn: ast.FunctionDef, stmt: ast.stmt, bindings: list[ast.Name]) -> bool:
    """Whether every binding comes before `stmt` and lies outside every loop that holds `stmt`
    (then the value `stmt` copies is the one every later read would see)."""
    loops = [n for n in ast.walk(fn) if isinstance(n, (ast.For, ast.While))
             and any(inner is stmt for inner in ast.walk(n))]
    inside = {id(inner) for loop in loops for inner in ast.walk(loop)}
    position = (stmt.lineno, stmt.col_offset)
    return all((b.lineno, b.col_offset) < position and id(b) not in inside for b in bindings)


def _inlined(
    fn: ast.FunctionDef, node: ast.AST, name: str, block: list[ast.stmt], reads: list[ast.Name], source: str
) -> Callable[[], str]:
    """The source of `fn` with `node.name` set to `block` and each of `reads` reading `source`,
    printed on demand (the tree is edited in place and restored)."""

    def printed() -> str:
        old, names = getattr(node, name), [r.id for r in reads]
        setattr(node, name, block)
        for r in reads:
            r.id = source
        try:
            return ast.unparse(fn)
        finally:
            setattr(node, name, old)
            for r, n in zip(reads, names):
                r.id = n

    return printed


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
