"""Fuzzing the static checker and the canonicaliser: on any source text they return a verdict or
raise `LanguageError` with a message, never anything else; what they accept canonicalises to a
fixed point that compiles.

Three kinds of input: arbitrary text (NUL bytes and lone surrogates included), Python-shaped
programs drawn from a small grammar that mixes the language with what lies outside it, and
generated in-language programs with token- and line-level mutations (which reach deep into the
checker: scoping, typing, the derivation replay). Runs are derandomized, so CI is deterministic.
"""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from astae.core.config import GeneratorConfig
from astae.core.generator import sample_program
from astae.core.language import LanguageError, canonicalize, check_source, parse_functions
from astae.core.sandbox import _prepare

FUZZ = settings(max_examples=600, deadline=None, derandomize=True, database=None)


def verdict(source: str) -> str | None:
    """The canonical source, or None if refused; any exception but LanguageError fails the test."""
    try:
        check_source(source)
        accepted = True
    except LanguageError as e:
        assert str(e), "a refusal has a message"
        accepted = False
    try:
        canonical = canonicalize(source)
    except LanguageError:
        canonical = None
    assert (canonical is not None) == accepted, "checker and canonicaliser disagree"
    try:
        results = parse_functions(source)
    except LanguageError:
        results = []
    assert all(str(r) for r in results if isinstance(r, LanguageError))
    if canonical is not None:
        assert canonicalize(canonical) == canonical
        check_source(canonical)
        compile(canonical, "<fuzz>", "exec")
    return canonical


# -- arbitrary text --------------------------------------------------------------------------

ANY_CHARACTER = st.characters(codec=None, exclude_categories=())  # surrogates and NUL included


@FUZZ
@given(st.text(ANY_CHARACTER, max_size=300))
def test_arbitrary_text_gets_a_verdict_or_a_clean_error(text):
    verdict(text)


@FUZZ
@given(st.text(ANY_CHARACTER, max_size=200))
def test_arbitrary_text_inside_a_function_gets_a_verdict_or_a_clean_error(text):
    verdict("def f(a: int) -> int:\n    " + text + "\n    return a\n")


# -- Python-shaped programs from a small grammar, in and out of the language -------------------

NAMES = ["a", "b", "x", "y", "i", "len", "range", "sorted", "open", "program", "__class__", "_x",
         "ｌｅｎ", "True", "None"]
ATOMS = st.one_of(
    st.sampled_from(NAMES),
    st.integers(-12, 12).map(str),
    st.sampled_from(["1.5", "'s'", "b'\\xff'", "0x" + "f" * 5000, "10 ** 10 ** 10", "[]", "()",
                     "...", "f'{a}'", "lambda: 1", "(x := 1)", "*a", "{}", "a.__class__"]),
)
BINOPS = ["+", "-", "*", "//", "%", "**", "/", "<<", "@", "and", "or", "<", "==", "!=", "in",
          "not in", "is", "<="]
FUNCS = ["len", "sum", "min", "max", "abs", "sorted", "range", "print", "eval", "getattr"]


def _compound_expressions(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, st.sampled_from(BINOPS), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "not ", "~", "+"]), inner).map(lambda t: f"({t[0]}{t[1]})"),
        st.tuples(st.sampled_from(FUNCS), st.lists(inner, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.lists(inner, max_size=3).map(lambda xs: f"[{', '.join(xs)}]"),
        st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(inner, st.sampled_from(["[::-1]", "[1:]", "[:2]", "[1:2]", "[::2]", "[:]"])).map(
            "".join),
        st.tuples(inner, st.sampled_from(NAMES), inner, st.booleans(), inner).map(
            lambda t: f"[{t[0]} for {t[1]} in {t[2]}" + (f" if {t[4]}]" if t[3] else "]")),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(inner, st.sampled_from(["append", "real", "__class__", "gi_frame"])).map(
            lambda t: f"{t[0]}.{t[1]}"),
    )


EXPRESSIONS = st.recursive(ATOMS, _compound_expressions, max_leaves=10)
TARGETS = st.sampled_from(["x", "y", "a", "b", "i", "len", "__x", "x.y", "x, y", "x[0]"])


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


SIMPLE_STATEMENTS = st.one_of(
    st.tuples(TARGETS, EXPRESSIONS).map(lambda t: [f"{t[0]} = {t[1]}"]),
    st.tuples(TARGETS, st.sampled_from(["+=", "-=", "*=", "//=", "%=", "**=", "|="]), EXPRESSIONS).map(
        lambda t: [" ".join(t)]),
    st.tuples(TARGETS, EXPRESSIONS).map(lambda t: [f"{t[0]}.append({t[1]})"]),
    EXPRESSIONS.map(lambda e: [f"return {e}"]),
    EXPRESSIONS.map(lambda e: [e]),
    st.sampled_from([["return"], ["pass"], ["break"], ["global a"], ["import os"], ["del a"]]),
)


def _compound_statements(inner: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    blocks = st.lists(inner, min_size=1, max_size=3).map(lambda bs: [line for b in bs for line in b])
    return st.one_of(
        st.tuples(EXPRESSIONS, blocks).map(lambda t: [f"if {t[0]}:", *_indent(t[1])]),
        st.tuples(EXPRESSIONS, blocks, blocks).map(
            lambda t: [f"if {t[0]}:", *_indent(t[1]), "else:", *_indent(t[2])]),
        st.tuples(TARGETS, EXPRESSIONS, blocks).map(
            lambda t: [f"for {t[0]} in {t[1]}:", *_indent(t[2])]),
        st.tuples(EXPRESSIONS, blocks).map(lambda t: [f"while {t[0]}:", *_indent(t[1])]),
        st.tuples(blocks, blocks).map(lambda t: ["try:", *_indent(t[0]), "except:", *_indent(t[1])]),
        blocks,
    )


BODIES = st.recursive(SIMPLE_STATEMENTS, _compound_statements, max_leaves=8)
PARAMS = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "len", "__b"]),
              st.sampled_from([": int", ": list[int]", ": bool", "", ": float", ": list[list[int]]"])),
    max_size=4,
).map(lambda ps: ", ".join(name + ann for name, ann in ps))
RETURNS = st.sampled_from([" -> int", " -> list[int]", " -> bool", ""])


@FUZZ
@given(PARAMS, RETURNS, BODIES, st.booleans())
def test_grammar_shaped_programs_get_a_verdict_or_a_clean_error(params, returns, body, final_return):
    lines = [f"def f({params}){returns}:", *_indent(body)]
    if final_return:
        lines.append("    return a")
    verdict("\n".join(lines) + "\n")


# -- generated programs of the language, mutated ------------------------------------------------

GENERATOR = GeneratorConfig()
TOKENS = ["if", "else", "elif", "for", "in", "not", "and", "or", "return", "range", "len", "sum", "min",
          "max", "abs", "sorted", "append", ".", ",", ":", "(", ")", "[", "]", "=", "+=", "-", "+", "*",
          "//", "%", "==", "<", "a0", "a1", "a2", "v0", "v1", "v2", "v3", "x", "0", "1", "10", "11",
          "True", "False", "None", "lambda", "__class__", "'s'", "0x" + "f" * 5000, "1.5", "\n",
          "\n    ", "    ", "\t", "\0", "\udcff", ":=", "**", "yield", "def", "import", "while", "@",
          "->", "list", "int", "bool", "[int]", "\\", "#", "'''", "global", "del", "...", "ｌｅｎ"]
MUTATIONS = st.lists(
    st.tuples(st.sampled_from(["replace", "delete", "insert", "copy", "swap"]),
              st.integers(0, 10**6), st.integers(0, 10**6), st.sampled_from(TOKENS)),
    min_size=1, max_size=4,
)


def _generated(seed: int) -> str:
    return sample_program(random.Random(seed), GENERATOR).to_source()


def _mutate(source: str, mutations: list[tuple[str, int, int, str]]) -> str:
    parts = re.split(r"(\W)", source)  # words and single separators: joins back exactly
    for op, where, other, token in mutations:
        i, j = where % len(parts), other % len(parts)
        if op == "replace":
            parts[i] = token
        elif op == "delete":
            del parts[i]
        elif op == "insert":
            parts.insert(i, token)
        elif op == "copy":
            parts.insert(i, parts[j])
        else:
            parts[i], parts[j] = parts[j], parts[i]
        if not parts:
            parts = [""]
    return "".join(parts)


@FUZZ
@given(st.integers(0, 2**32), MUTATIONS)
def test_mutated_programs_get_a_verdict_or_a_clean_error(seed, mutations):
    verdict(_mutate(_generated(seed), mutations))


WORDS = ["a0", "a1", "a2", "v0", "v1", "v2", "v3", "v4", "v5", "0", "1", "10", "11", "0x" + "f" * 5000,
         "True", "None", "len", "sum", "range", "sorted", "append", "x", "program", "__class__", "_x",
         "ｌｅｎ", "ａ0"]


@FUZZ
@given(st.integers(0, 2**32), st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(WORDS)),
                                       min_size=1, max_size=2))
def test_programs_with_words_replaced_get_a_verdict_or_a_clean_error(seed, replacements):
    parts = re.split(r"(\W)", _generated(seed))
    words = [i for i, part in enumerate(parts) if part.isidentifier() or part.isdigit()]
    for where, word in replacements:
        parts[words[where % len(words)]] = word
    verdict("".join(parts))


@FUZZ
@given(st.integers(0, 2**32), st.lists(
    st.tuples(st.integers(0, 10**6), st.integers(0, 10**6),
              st.sampled_from(["move", "copy", "indent", "dedent"])),
    min_size=1, max_size=3,
))
def test_programs_with_moved_lines_get_a_verdict_or_a_clean_error(seed, edits):
    lines = _generated(seed).splitlines()
    for where, other, op in edits:
        i, j = where % len(lines), other % len(lines)
        if op == "move":
            lines.insert(j, lines.pop(i))
        elif op == "copy":
            lines.insert(j, lines[i])
        elif op == "indent":
            lines[i] = "    " + lines[i]
        else:
            lines[i] = lines[i].removeprefix("    ")
    verdict("\n".join(lines))


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.integers(0, 2**32))
def test_generated_programs_are_accepted_and_canonical(seed):
    source = _generated(seed)
    assert verdict(source) == source


# -- the executor's own front door -----------------------------------------------------------


@FUZZ
@given(st.one_of(st.text(ANY_CHARACTER, max_size=200), EXPRESSIONS.map(lambda e: f"x = {e}\n")))
def test_the_executor_prepares_any_text_without_raising(text):
    for check in (True, False):
        code, status, error = _prepare.__wrapped__(text, check)  # uncached: every text compiled
        assert (code is None) == (status is not None)
        assert code is not None or error


# -- the cases the fuzzer found (kept as plain regression tests) ---------------------------------


def test_a_variable_read_in_its_own_first_assignment_is_refused():
    for body in ("x = x", "x = x + 1", "x = [x]", "x = len(x)"):
        source = f"def f(a: int) -> int:\n    {body}\n    return a\n"
        try:
            check_source(source)
        except LanguageError as e:
            assert "`x` may be used before it is assigned" in str(e)
        else:
            raise AssertionError(f"{body!r} was accepted")


def test_an_int_literal_too_long_to_print_is_refused_with_a_message():
    for source in (
        "def f(a: int) -> int:\n    return 0x" + "f" * 5000,
        "def f(a: 0x" + "f" * 5000 + ") -> int:\n    return a",
        "def f(a: list[int]) -> int:\n    return a[-0x" + "f" * 5000 + "]",
    ):
        assert verdict(source) is None
