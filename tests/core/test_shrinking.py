import ast

import pytest

from astae.core.executor import Executor, Job
from astae.core.language import parse_program
from astae.core.sandbox import Outcome
from astae.core.shrinking import shrink, smaller_variants

APPEND_EIGHT = [([[1, 2]], [1, 2, 8]), ([[]], [8]), ([[5, 5, 5]], [5, 5, 5, 8])]


@pytest.fixture(scope="module")
def executor():
    with Executor(workers=1) as ex:
        yield ex


def passes_on(executor, examples):
    def passes(sources):
        jobs = [Job(s, [i for i, _ in examples], [o for _, o in examples]) for s in sources]
        return [all(r.status == Outcome.OK for r in rs) for rs in executor.run(jobs)]

    return passes


def test_variants_are_legal_smaller_and_cover_each_kind_of_step():
    program = parse_program(
        "def program(a0: list[int], a1: int) -> int:\n"
        "    v0 = len(a0)\n"
        "    for v1 in a0:\n"
        "        if v1 > a1:\n"
        "            return max([v1 + 1 for v2 in a0 if v2 > 0])\n"
        "    return a1"
    )
    variants = list(smaller_variants(program))
    sources = [v.source for v in variants]
    assert len(sources) == len(set(sources)) and sources
    assert all(v.num_actions < program.num_actions for v in variants)
    sizes = [len(list(ast.walk(ast.parse(v.source)))) for v in variants]
    assert sizes == sorted(sizes)  # fewest AST nodes first
    assert all(parse_program(s).source == s for s in sources)  # canonical and legal
    assert all(v.signature == program.signature for v in variants)
    bodies = {s.split("\n", 1)[1] for s in sources}
    assert "    v0 = len(a0)\n    return a1" in bodies  # a statement deleted
    assert any("for v1 in a0:\n        return max(" in b for b in bodies)  # an `if` replaced by its body
    assert any("return v1 + 1\n" in b for b in bodies)  # an expression by a sub-expression
    assert any("for v2 in a0])" in b for b in bodies)  # a comprehension's condition dropped


def test_shrink_keeps_what_the_examples_need_and_cuts_the_rest(executor):
    padded = (
        "def program(a0: list[int]) -> list[int]:\n"
        "    a0.append(max([8 for v0 in range(len(a0), 10) if v0 <= 9]))\n"
        "    for v1 in range(9, len(a0)):\n"
        "        return sorted(a0)\n"
        "    return a0"
    )
    small, runs = shrink(padded, passes_on(executor, APPEND_EIGHT))
    assert small == "def program(a0: list[int]) -> list[int]:\n    a0.append(8)\n    return a0"
    assert runs > 0


def test_shrink_returns_the_canonical_program_when_nothing_smaller_passes(executor):
    tight = "def program(x: list[int]) -> list[int]:\n    x.append(8)\n    return x"
    small, _ = shrink(tight, passes_on(executor, APPEND_EIGHT))
    assert small == parse_program(tight).source


def test_shrink_moves_only_through_passing_programs():
    asked: list[list[str]] = []

    def nothing_passes(sources):
        asked.append(sources)
        return [False] * len(sources)

    source = "def program(a0: int) -> int:\n    v0 = a0 * 2\n    return v0 + 1"
    assert shrink(source, nothing_passes) == (parse_program(source).source, sum(map(len, asked)))
    assert len(asked) >= 1 and all(len(batch) <= 64 for batch in asked)


def test_a_copy_chain_shrinks_to_the_value_it_copies(executor):
    chain = ("def program(a0: list[int]) -> list[int]:\n    v0 = a0\n    v1 = v0\n    v1.append(8)\n"
             "    return v1")
    small, _ = shrink(chain, passes_on(executor, APPEND_EIGHT))
    assert small == "def program(a0: list[int]) -> list[int]:\n    a0.append(8)\n    return a0"


def _inlined_copies(source):
    """The variants of `source` that delete its first statement (a copy) and keep the rest."""
    program = parse_program(source)
    first = program.source.split("\n")[1]
    return [v.source for v in smaller_variants(program) if first not in v.source
            and v.source.count("\n") == program.source.count("\n") - 1]


def test_a_copy_is_inlined_only_where_every_input_keeps_the_meaning():
    inlined = _inlined_copies("def program(a0: int) -> int:\n    v0 = a0\n    return v0 + v0")
    assert "def program(a0: int) -> int:\n    return a0 + a0" in inlined
    # the copied variable is rebound after the copy: reading it instead would change the result
    rebound = ("def program(a0: int) -> int:\n    v0 = a0\n    a0 = a0 + 1\n    return v0 * a0")
    assert not any("return a0 * a0" in s for s in _inlined_copies(rebound))
    # the copy is bound twice (before the loop and in it): its reads do not all see the copied value
    looped = ("def program(a0: list[int]) -> int:\n    v0 = 0\n    v2 = 0\n    for v1 in a0:\n"
              "        v2 = v0\n        v0 = v0 + v1\n    return v2")
    assert not any("return v0" in s for s in smaller_variants(parse_program(looped)) for s in [s.source])
