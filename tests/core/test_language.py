import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astae.core.config import GeneratorConfig
from astae.core.generator import sample_program
from astae.core.language import (
    LanguageError,
    canonicalize,
    check_source,
    parse_functions,
    parse_program,
    program_from_actions,
)

EXAMPLE = '''
def f(xs: list[int], k: int) -> list[int]:
    """Doc strings are dropped."""
    s = sorted(xs)
    out = [y * k for y in s if y > 0]  # comments too
    if len(out) > 3:
        out.append(k % 2)
    elif k > 2:
        return [-3]
    else:
        total = 0
        for i in range(k):
            total += i
        out = out + [total, -4]
    return out[:3]
'''

CANONICAL = '''def program(a0: list[int], a1: int) -> list[int]:
    v0 = sorted(a0)
    v1 = [v2 * a1 for v2 in v0 if v2 > 0]
    if len(v1) > 3:
        v1.append(a1 % 2)
    elif a1 > 2:
        return [-3]
    else:
        v3 = 0
        for v4 in range(a1):
            v3 += v4
        v1 = v1 + [v3, -4]
    return v1[:3]'''


def test_canonicalisation_renames_in_order_of_definition():
    assert canonicalize(EXAMPLE) == CANONICAL


def test_programs_that_differ_only_in_names_have_one_canonical_form():
    a = "def g(p: int, q: int) -> int:\n    t = p * q\n    return t + p"
    b = "def h(x: int, y: int) -> int:\n    z = x * y\n    return z + x"
    assert canonicalize(a) == canonicalize(b)


def test_comprehension_variable_is_its_own_binding():
    src = "def f(a: list[int]) -> list[int]:\n    x = 1\n    y = [x for x in a]\n    return y + [x]"
    assert canonicalize(src) == (
        "def program(a0: list[int]) -> list[int]:\n    v0 = 1\n    v1 = [v2 for v2 in a0]\n"
        "    return v1 + [v0]"
    )


def test_round_trip_source_actions_source_on_a_hand_written_program():
    p = parse_program(EXAMPLE)
    assert program_from_actions(p.actions).source == p.source
    assert parse_program(p.source).actions == p.actions


@settings(max_examples=2000, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_generated_programs_round_trip_and_compile(seed):
    state = sample_program(random.Random(seed), GeneratorConfig())
    source = state.to_source()
    parsed = parse_program(source)
    assert parsed.source == source
    assert list(parsed.actions) == state.actions
    assert program_from_actions(parsed.actions).source == source
    compile(source, "<program>", "exec")


def _fn(body: str, params: str = "a: int", returns: str = "int") -> str:
    lines = "\n".join("    " + line for line in body.splitlines())
    return f"def f({params}) -> {returns}:\n{lines}"


REJECTED = [
    ("import", "import os\n" + _fn("return a"), "`import`", 1),
    ("from import", "from os import path\n" + _fn("return a"), "`import`", 1),
    ("while", _fn("while a > 0:\n    a -= 1\nreturn a"), "`while` loop", 2),
    ("attribute", _fn("return a.real"), "attribute access `.real`", 2),
    ("dunder attribute", _fn("x = [1].__class__\nreturn a"), "dunder attribute access", 2),
    ("dunder name", _fn("__x = 1\nreturn a"), "dunder name `__x`", 2),
    ("string constant", _fn("x = 'hi'\nreturn a"), "string constant", 2),
    ("float constant", _fn("return 1.5"), "float constant", 2),
    ("big constant", _fn("return 11"), "int constant 11 is out of range", 2),
    ("lambda", _fn("return (lambda: 1)()"), "`lambda`", 2),
    ("eval", _fn("return eval('1')"), "call of `eval`", 2),
    ("open", _fn("x = open\nreturn a"), "name `open` is not defined", 2),
    ("getattr", _fn("return getattr(a, 'real')"), "call of `getattr`", 2),
    ("undefined name", _fn("return b"), "name `b` is not defined", 2),
    ("maybe unassigned", _fn("if a > 0:\n    x = 1\nreturn x"), "`x` may be used before", 4),
    ("loop variable after loop", _fn("for i in range(a):\n    a += 1\nreturn i"), "`i` may be", 4),
    ("type mismatch", _fn("return a + [1]"), "type mismatch", 2),
    ("return type", _fn("return [a]"), "type mismatch", 2),
    ("reassigned type", _fn("x = 1\nx = [1]\nreturn a"), "`x` is int but is assigned", 3),
    ("truthiness", _fn("if a:\n    return 1\nreturn a"), "must be bool", 2),
    ("syntax error", "def f(a: int) -> int:\n    return (", "syntax error", 2),
    ("no annotation", "def f(a) -> int:\n    return a", "needs a type annotation", 1),
    ("float annotation", "def f(a: float) -> int:\n    return 1", "type `float`", 1),
    ("too many params", "def f(a: int, b: int, c: int, d: int) -> int:\n    return a", "1 to 3", 1),
    ("default", "def f(a: int = 1) -> int:\n    return a", "without defaults", 1),
    ("no final return", _fn("x = a"), "must end with `return`", 2),
    ("unreachable", _fn("return a\na = 1"), "unreachable statement", 3),
    ("chained comparison", _fn("return 1 if 0 < a < 3 else 0"), "chained comparison", 2),
    ("tuple", _fn("x = (1, 2)\nreturn a"), "tuple", 2),
    ("dict", _fn("x = {}\nreturn a"), "dict", 2),
    ("f-string", _fn("x = f'{a}'\nreturn a"), "f-string", 2),
    ("walrus", _fn("return (x := a)"), "`:=` expression", 2),
    ("power", _fn("return a ** 2"), "operator `Pow`", 2),
    ("print", _fn("print(a)\nreturn a"), "call of `print`", 2),
    ("pass", _fn("pass\nreturn a"), "`pass`", 2),
    ("break", _fn("for i in range(3):\n    break\nreturn a"), "`break`", 3),
    ("try", _fn("try:\n    a = 1\nexcept Exception:\n    a = 2\nreturn a"), "`try`", 2),
    ("with", _fn("with a:\n    a = 1\nreturn a"), "`with`", 2),
    ("global", _fn("global a\nreturn a"), "`global`", 2),
    ("nested function", _fn("def g() -> int:\n    return 1\nreturn a"), "nested function", 2),
    ("class", "class C:\n    x = 1", "class definition", 1),
    ("shadowing a builtin", _fn("len = 3\nreturn a"), "shadows a builtin", 2),
    ("builtin as value", _fn("x = len\nreturn a"), "builtin `len` can only be called", 2),
    ("keyword argument", _fn("return sorted([a], reverse=True)[0]"), "keyword arguments", 2),
    ("range as value", _fn("x = range(3)\nreturn a"), "only allowed as a loop's iterable", 2),
    ("slice step", _fn("return [a][::2][0]"), "step other than", 2),
    ("two generators", _fn("return [i for i in [a] for j in [a]][0]"), "exactly one `for`", 2),
    ("for else", _fn("for i in [a]:\n    a += i\nelse:\n    a = 1\nreturn a"), "`for ... else`", 2),
    ("tuple target", _fn("x, y = 1, 2\nreturn a"), "single variable target", 2),
    ("none", _fn("return None"), "None constant", 2),
    ("bool parameter", "def f(a: bool) -> int:\n    return 1", "`int` or `list[int]`", 1),
]


@pytest.mark.parametrize(
    ("source", "fragment", "line"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_checker_rejects_construct_naming_it_and_its_line(source, fragment, line):
    with pytest.raises(LanguageError) as e:
        check_source(source)
    assert fragment in str(e.value)
    assert e.value.line == line
    assert str(e.value).startswith(f"line {line}: ")


def test_checker_rejects_nul_bytes_with_a_clean_error():
    with pytest.raises(LanguageError):
        check_source("def f(a: int) -> int:\n    return a\x00")


def test_checker_rejects_absurd_nesting_with_a_clean_error():
    deep = "(" * 300 + "a" + ")" * 300
    with pytest.raises(LanguageError):
        check_source(_fn(f"return {deep}"))
    with pytest.raises(LanguageError):
        check_source(_fn("return " + " + ".join(["a"] * 5000)))


@pytest.mark.parametrize(
    "body",
    [
        "if a > 0:\n    x = 1\nelse:\n    x = 2\nreturn x",
        "if a > 0:\n    return 1\nelse:\n    x = 2\nreturn x",
        "if a > 0:\n    return 1\nx = 2\nreturn x",
        "x = [i for i in range(a) if i % 2 == 0]\nx.append(a)\nx += [1]\nreturn len(x)",
        "x = True\nif x and not a in [1, 2]:\n    a = -a\nreturn max(a, 0) if a >= 0 else abs(a)",
        "for i in [a, 2]:\n    a -= i\n    a *= 2\n    a //= 3\n    a %= 7\nreturn a",
    ],
)
def test_checker_accepts_the_language(body):
    program = parse_program(_fn(body))
    assert canonicalize(program.source) == program.source


def test_parse_functions_reports_each_function_separately():
    src = _fn("return a") + "\n\n" + _fn("while a:\n    a -= 1\nreturn a").replace("def f", "def g")
    results = parse_functions(src)
    assert results[0].source.startswith("def program(a0: int) -> int")
    assert isinstance(results[1], LanguageError)
    assert results[1].line == 5
