import ast
import copy
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astae.core.config import GeneratorConfig
from astae.core.generator import sample_program
from astae.core.idioms import _Desugar, desugar
from astae.core.language import (
    LanguageError,
    Program,
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
    ("big constant", _fn("return 4294967296"), "int constant 4294967296 is out of range", 2),
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
    ("truthiness as a value", _fn("x = a or 1\nreturn a"), "must be bool", 2),
    ("syntax error", "def f(a: int) -> int:\n    return (", "syntax error", 2),
    ("no annotation", "def f(a) -> int:\n    return a", "needs a type annotation", 1),
    ("float annotation", "def f(a: float) -> int:\n    return 1", "type `float`", 1),
    ("too many params", "def f(a: int, b: int, c: int, d: int) -> int:\n    return a", "1 to 3", 1),
    ("default", "def f(a: int = 1) -> int:\n    return a", "without defaults", 1),
    ("no final return", _fn("x = a"), "must end with `return`", 2),
    ("unreachable", _fn("return a\na = 1"), "unreachable statement", 3),
    ("tuple", _fn("x = (1, 2)\nreturn a"), "tuple", 2),
    ("dict", _fn("x = {}\nreturn a"), "dict", 2),
    ("f-string", _fn("x = f'{a}'\nreturn a"), "f-string", 2),
    ("walrus", _fn("return (x := a)"), "`:=` expression", 2),
    ("power", _fn("return a ** a"), "operator `**`", 2),
    ("big power", _fn("return 10 ** 10"), "operator `**`", 2),
    ("true division", _fn("return a / 2"), "use `//`", 2),
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
    ("keyword argument", _fn("return sorted([a], key=abs)[0]"), "keyword arguments", 2),
    ("range as value", _fn("x = range(3)\nreturn a"), "only allowed as a loop's iterable", 2),
    ("slice step", _fn("return [a][0:3:2][0]"), "step other than", 2),
    ("two generators", _fn("return [i for i in [a] for j in [a]][0]"), "exactly one `for`", 2),
    ("for else", _fn("for i in [a]:\n    a += i\nelse:\n    a = 1\nreturn a"), "`for ... else`", 2),
    ("tuple target", _fn("x, y = [a]\nreturn a"), "single variable target", 2),
    ("none", _fn("return None"), "None constant", 2),
    ("bool parameter", "def f(a: bool) -> int:\n    return 1", "`int` or `list[int]`", 1),
    # Idioms with no equivalent in the language (docs/language.md, "Idioms people write").
    ("enumerate over a changing list",
     _fn("for i, x in enumerate(a):\n    a.append(x)\nreturn []", "a: list[int]", "list[int]"),
     "`enumerate` over a list that the loop body changes (`a`)", 2),
    ("zip over an aliased list",
     _fn("b = a\nfor x, y in zip(a, a):\n    b += [x]\nreturn b", "a: list[int]", "list[int]"),
     "`zip` over a list that the loop body changes (`a`)", 3),
    ("enumerate start not constant",
     _fn("return [i for i, x in enumerate([a], a)]", returns="list[int]"),
     "start must be an int constant", 2),
    ("continue that skips nothing",
     _fn("for i in [a]:\n    a += i\n    if i > 0:\n        continue\nreturn a"),
     "`continue` that skips nothing", 4),
    ("any", _fn("return 1 if any(x > 0 for x in [a]) else 0"), "call of `any`", 2),
    ("list equality", _fn("return 1 if [a] == [a, a] else 0"), "comparing lists with `==`", 2),
    ("in-place sort", _fn("a.sort()\nreturn a", "a: list[int]", "list[int]"), "attribute access `.sort`", 2),
    ("item assignment", _fn("a[0] = 1\nreturn a", "a: list[int]", "list[int]"), "item assignment", 2),
    ("annotation without value", _fn("x: int\nreturn a"), "annotation without a value", 2),
    ("annotation of another type", _fn("x: int = [a]\nreturn a"), "`x` is annotated int but is assigned", 2),
    ("range step not constant", _fn("for i in range(0, a, a):\n    a += i\nreturn a"),
     "`range` step must be a nonzero int constant", 2),
    ("range step zero", _fn("for i in range(0, a, 0):\n    a += i\nreturn a"), "`range` step", 2),
    ("reversed as a value", _fn("x = reversed([a])\nreturn a"), "`reversed(xs)` is only", 2),
    ("reversed generator", _fn("return sum(list(reversed(x for x in [a])))"), "generator expression", 2),
    ("stepped slice with a bound", _fn("return len([a][:1:2])"), "step other than", 2),
    ("list shadowed", _fn("list = [a]\nreturn len(list(list))"), "`list(e)` takes", 3),
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


# -- idioms people write (docs/language.md, "Idioms people write") ---------------------------

def _run(source: str, args: list) -> tuple[str, object]:
    """Call the one function of `source` with copies of `args`: ("ok", value) or ("raises", type)."""
    namespace: dict = {"List": list}
    exec(compile(source, "<program>", "exec"), namespace)
    fn = next(v for k, v in namespace.items() if k not in ("List", "__builtins__"))
    try:
        return "ok", fn(*[list(a) if isinstance(a, list) else a for a in args])
    except Exception as e:  # noqa: BLE001 - the exception's type is part of the behaviour
        return "raises", type(e).__name__


def _random_inputs(signature, rng: random.Random) -> list:
    return [
        rng.randint(-12, 12) if t == "int" else [rng.randint(-10, 10) for _ in range(rng.randint(0, 9))]
        for t in signature.params
    ]


def _assert_same_behaviour(source: str, canonical: Program, trials: int = 300) -> None:
    rng = random.Random(source)
    for _ in range(trials):
        args = _random_inputs(canonical.signature, rng)
        assert _run(source, args) == _run(canonical.source, args), (args, canonical.source)


L1 = "xs: list[int]"
L2 = "xs: list[int], ys: list[int]"
# (id, parameters, return type, body as people write it, canonical body)
IDIOMS = [
    ("full slice copy", L1, "list[int]",
     "out = xs[:]\nout.append(1)\nreturn out + xs",
     "v0 = a0[0:]\nv0.append(1)\nreturn v0 + a0"),
    ("slice with step 1", L1, "list[int]",
     "return xs[::1] + xs[2::1]",
     "return a0[0:] + a0[2:]"),
    ("list of a list", L1, "list[int]",
     "ys = list(xs)\nys.append(0)\nreturn ys + xs",
     "v0 = a0[0:]\nv0.append(0)\nreturn v0 + a0"),
    ("list of a new list", L1, "list[int]",
     "return list(sorted(xs)) + list([x for x in xs]) + list()",
     "return sorted(a0) + [v0 for v0 in a0] + []"),
    ("list of a range", "n: int", "list[int]",
     "return list(range(n))",
     "return [v0 for v0 in range(a0)]"),
    ("list of a generator", L1, "list[int]",
     "return list(x + 1 for x in xs)",
     "return [v0 + 1 for v0 in a0]"),
    ("copy method", L1, "list[int]",
     "ys = xs.copy()\nys += [1]\nreturn xs + ys",
     "v0 = a0[0:]\nv0 += [1]\nreturn a0 + v0"),
    ("count method", "xs: list[int], t: int", "int",
     "return xs.count(t) + xs.count(3)",
     "return len([v0 for v0 in a0 if v0 == a1]) + len([v1 for v1 in a0 if v1 == 3])"),
    ("extend method", L2, "list[int]",
     "out = []\nout.extend(xs)\nout.extend(reversed(ys))\nreturn out",
     "v0 = []\nv0 += a0\nv0 += a1[::-1]\nreturn v0"),
    ("reversed in a loop", L1, "list[int]",
     "out = []\nfor x in reversed(xs):\n    out.append(x)\nreturn out",
     "v0 = []\nfor v1 in a0[::-1]:\n    v0.append(v1)\nreturn v0"),
    ("reversed in a comprehension", L1, "list[int]",
     "return [x for x in reversed(xs) if x > 0]",
     "return [v0 for v0 in a0[::-1] if v0 > 0]"),
    ("list of reversed", L1, "list[int]",
     "return list(reversed(xs))",
     "return a0[::-1]"),
    ("sorted reverse", L1, "list[int]",
     "return sorted(xs, reverse=True) + sorted(xs, reverse=False)",
     "return sorted(a0)[::-1] + sorted(a0)"),
    ("generator in sum", L1, "int",
     "return sum(x * x for x in xs if x > 0)",
     "return sum([v0 * v0 for v0 in a0 if v0 > 0])"),
    ("generator in min max sorted", L1, "int",
     "return min(x for x in xs) + max(-x for x in xs)",
     "return min([v0 for v0 in a0]) + max([-v1 for v1 in a0])"),
    ("range in sum len and in", "n: int", "int",
     "return sum(range(n)) + len(range(1, n)) + (1 if 2 in range(n) else 0)",
     "return sum([v0 for v0 in range(a0)]) + len([v1 for v1 in range(1, a0)]) + "
     "(1 if 2 in [v2 for v2 in range(a0)] else 0)"),
    ("min and max of three", "a: int, b: int, c: int", "int",
     "return min(a, b, c) - max(a, b, c, 0)",
     "return min(min(a0, a1), a2) - max(max(max(a0, a1), a2), 0)"),
    ("max with default", L1, "int",
     "return max(xs, default=-1)",
     "return max(a0) if len(a0) != 0 else -1"),
    ("square and cube", "x: int", "int",
     "return x ** 2 + (x + 1) ** 3",
     "return a0 * a0 + (a0 + 1) * (a0 + 1) * (a0 + 1)"),
    ("constant power", "x: int", "int",
     "return x % 10 ** 9 + 2 ** 3",
     "return a0 % (10 * 10 * 10 * 10 * 10 * 10 * 10 * 10 * 10) + 8"),
    ("constants above ten", "x: int", "int",
     "return x * 100 + 37 - 12",
     "return a0 * (10 * 10) + (3 * 10 + 7) - (10 + 2)"),
    ("negative constant above ten", "x: int", "int",
     "return max(x, -1000)",
     "return max(a0, -(10 * 10 * 10))"),
    ("list repetition", "n: int", "list[int]",
     "return [0] * n + n * [n]",
     "return [0 for v0 in range(a0)] + [a0 for v1 in range(a0)]"),
    ("chained comparison", "x: int", "int",
     "return 1 if 0 < x < 10 else 2 if 0 <= x <= x + 1 < 5 else 3",
     "return 1 if 0 < a0 and a0 < 10 else 2 if (0 <= a0 and a0 <= a0 + 1) and a0 + 1 < 5 else 3"),
    ("comparison with the empty list", L1, "int",
     "if xs == []:\n    return 0\nif [] != xs:\n    return 1\nreturn 2",
     "if len(a0) == 0:\n    return 0\nif len(a0) != 0:\n    return 1\nreturn 2"),
    ("truthiness of a list", L1, "int",
     "if not xs:\n    return 0\nreturn xs[0] if xs else 1",
     "if len(a0) == 0:\n    return 0\nreturn a0[0] if len(a0) != 0 else 1"),
    ("truthiness of an int", "n: int, k: int", "int",
     "if n % 2 and not k:\n    return 1\nelif n or k:\n    return 2\n"
     "return len([x for x in [n, k] if x])",
     "if a0 % 2 != 0 and a1 == 0:\n    return 1\nelif a0 != 0 or a1 != 0:\n    return 2\n"
     "return len([v0 for v0 in [a0, a1] if v0 != 0])"),
    ("not of and in a condition", "n: int, k: int", "int",
     "return 1 if not (n and k) else 0",
     "return 1 if not (a0 != 0 and a1 != 0) else 0"),
    ("stepped range down", L1, "list[int]",
     "out = []\nfor i in range(len(xs) - 1, -1, -1):\n    out.append(xs[i])\nreturn out",
     "v0 = []\nfor v1 in [len(a0) - 1 - v2 for v2 in range(len(a0) - 1 + 1)]:\n    v0.append(a0[v1])\n"
     "return v0"),
    ("stepped range up", "n: int", "list[int]",
     "return [i for i in range(0, n, 2)]",
     "return [v0 for v0 in [2 * v1 for v1 in range(-(-a0 // 2))]]"),
    ("range with step 1", "n: int", "list[int]",
     "return [i for i in range(1, n, 1)]",
     "return [v0 for v0 in range(1, a0)]"),
    ("stepped slice", L1, "list[int]",
     "return xs[::2] + xs[1::3] + xs[::-2]",
     "return [a0[2 * v0] for v0 in range(-(-len(a0) // 2))] + "
     "[a0[1 + 3 * v1] for v1 in range(-((1 - len(a0)) // 3))] + "
     "[a0[len(a0) - 1 - 2 * v2] for v2 in range((len(a0) + 1) // 2)]"),
    ("enumerate in a loop", L1, "list[int]",
     "out = []\nfor i, x in enumerate(xs):\n    out.append(i * x)\nreturn out",
     "v0 = []\nfor v1 in range(len(a0)):\n    v2 = a0[v1]\n    v0.append(v1 * v2)\nreturn v0"),
    ("enumerate with a start", L1, "list[int]",
     "out = []\nfor i, x in enumerate(xs, 1):\n    out.append(i * x)\nreturn out",
     "v0 = []\nfor v1 in range(len(a0)):\n    v2 = v1 + 1\n    v3 = a0[v1]\n    v0.append(v2 * v3)\n"
     "return v0"),
    ("enumerate in a comprehension", L1, "list[int]",
     "return [i for i, x in enumerate(xs, start=2) if x > i]",
     "return [v0 + 2 for v0 in range(len(a0)) if a0[v0] > v0 + 2]"),
    ("zip in a loop", L2, "int",
     "total = 0\nfor x, y in zip(xs, ys):\n    total += x * y\nreturn total",
     "v0 = 0\nfor v1 in range(min(len(a0), len(a1))):\n    v2 = a0[v1]\n    v3 = a1[v1]\n"
     "    v0 += v2 * v3\nreturn v0"),
    ("zip in a comprehension", L1, "list[int]",
     "return [b - a for a, b in zip(xs, xs[1:])]",
     "return [a0[1:][v0] - a0[v0] for v0 in range(min(len(a0), len(a0[1:])))]"),
    ("zip in a generator", L2, "int",
     "return sum(x for x, y in zip(xs, ys) if x > y)",
     "return sum([a0[v0] for v0 in range(min(len(a0), len(a1))) if a0[v0] > a1[v0]])"),
    ("chained assignment", L1, "list[int]",
     "total = count = 0\nout = seen = []\nout.append(total + count)\nreturn seen",
     "v0 = 0\nv1 = 0\nv2 = []\nv3 = v2\nv2.append(v0 + v1)\nreturn v3"),
    ("tuple assignment", L1, "int",
     "lo, hi = 0, len(xs)\nreturn hi - lo",
     "v0 = 0\nv1 = len(a0)\nreturn v1 - v0"),
    ("tuple assignment reading its targets", "n: int", "int",
     "a, b = 0, 1\nfor _ in range(n):\n    a, b = b, a + b\nreturn a",
     "v0 = 0\nv1 = 1\nfor v2 in range(a0):\n    v3 = v1\n    v1 = v0 + v1\n    v0 = v3\nreturn v0"),
    ("annotated assignment", L1, "list[int]",
     "out: list[int] = []\nn: int = len(xs)\nout.append(n)\nreturn out",
     "v0 = []\nv1 = len(a0)\nv0.append(v1)\nreturn v0"),
    ("continue guard", L1, "list[int]",
     "out = []\nfor x in xs:\n    if x < 0:\n        continue\n    out.append(x)\nreturn out",
     "v0 = []\nfor v1 in a0:\n    if v1 >= 0:\n        v0.append(v1)\nreturn v0"),
    ("continue in a branch", L1, "list[int]",
     "out = []\nfor x in xs:\n    if x % 2 == 0:\n        out.append(x)\n        continue\n"
     "    elif x > 5:\n        continue\n    out.append(-x)\nreturn out",
     "v0 = []\nfor v1 in a0:\n    if v1 % 2 == 0:\n        v0.append(v1)\n    elif v1 <= 5:\n"
     "        v0.append(-v1)\nreturn v0"),
    ("else after return at the end", "x: int", "int",
     "if x > 0:\n    return 1\nelif x < 0:\n    return -1\nelse:\n    return 0",
     "if a0 > 0:\n    return 1\nif a0 < 0:\n    return -1\nreturn 0"),
]


IDIOM_IDS = [case[0] for case in IDIOMS]


@pytest.mark.parametrize(("params", "returns", "body", "canonical"), [c[1:] for c in IDIOMS], ids=IDIOM_IDS)
def test_idiom_canonicalises_to_the_language(params, returns, body, canonical):
    head = f"def program({_canonical_params(params)}) -> {returns}:"
    expected = "\n".join([head] + ["    " + line for line in canonical.splitlines()])
    assert canonicalize(_fn(body, params, returns)) == expected


@pytest.mark.parametrize(("params", "returns", "body"), [c[1:4] for c in IDIOMS], ids=IDIOM_IDS)
def test_idiom_behaves_like_its_canonical_form(params, returns, body):
    source = _fn(body, params, returns)
    _assert_same_behaviour(source, parse_program(source))


def _canonical_params(params: str) -> str:
    types = [p.split(":")[1].strip() for p in params.split(",")]
    return ", ".join(f"a{j}: {t}" for j, t in enumerate(types))


def test_typing_list_annotations_are_accepted():
    source = "from typing import List\n\ndef f(xs: List[int]) -> List[int]:\n    return xs"
    assert canonicalize(source) == "def program(a0: list[int]) -> list[int]:\n    return a0"
    assert [p.source for p in parse_functions(source)] == [canonicalize(source)]


@pytest.mark.parametrize("step", [k for k in range(-12, 13) if k != 0])
def test_stepped_range_gives_the_same_values_for_every_bound(step):
    program = parse_program(f"def f(a: int, b: int) -> list[int]:\n    return list(range(a, b, {step}))")
    namespace: dict = {}
    exec(program.source, namespace)
    for a in range(-15, 16):
        for b in range(-15, 16):
            assert namespace["program"](a, b) == list(range(a, b, step)), (a, b)


@pytest.mark.parametrize(("start", "step"), [(s, k) for s in (None, 0, 1, 2, 5, 13) for k in (2, 3, 7, 11)]
                         + [(None, k) for k in (-2, -3, -7, -11)])
def test_stepped_slice_gives_the_same_elements_for_every_length(start, step):
    lower = "" if start is None else str(start)
    program = parse_program(f"def f(xs: list[int]) -> list[int]:\n    return xs[{lower}::{step}]")
    namespace: dict = {}
    exec(program.source, namespace)
    for n in range(0, 30):
        xs = list(range(100, 100 + n))
        assert namespace["program"](xs) == xs[start::step], n


def test_idiom_rewrites_leave_every_generated_program_unchanged():
    for seed in range(500):
        source = sample_program(random.Random(seed), GeneratorConfig()).to_source()
        fn = ast.parse(source).body[0]
        assert desugar(fn) is fn, source  # the scan finds no idiom in a program of the grammar
        forced = _Desugar(copy.deepcopy(fn)).run()  # and the rewrites themselves change nothing
        assert ast.dump(forced) == ast.dump(fn), source


HANDWRITTEN = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "handwritten.py"


def test_every_handwritten_benchmark_program_is_in_the_language():
    text = HANDWRITTEN.read_text()
    results = parse_functions(text)
    errors = [str(r) for r in results if isinstance(r, LanguageError)]
    assert not errors
    assert len(results) >= 45
    assert len({p.source for p in results}) == len(results), "two programs canonicalise alike"
    functions = [n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)]
    for fn, program in zip(functions, results):
        assert canonicalize(program.source) == program.source
        _assert_same_behaviour(ast.get_source_segment(text, fn), program, trials=40)


STRICTLY_REFUSED = ["ys = xs[:]\nreturn len(ys)", "return 1 if xs else 0", "return 1 if not xs else 0"]


@pytest.mark.parametrize("body", STRICTLY_REFUSED)
def test_strict_check_refuses_idioms_because_the_executor_runs_sources_as_written(body):
    source = _fn(body, L1)
    check_source(source)
    with pytest.raises(LanguageError):
        check_source(source, idioms=False)
    check_source(canonicalize(source), idioms=False)
