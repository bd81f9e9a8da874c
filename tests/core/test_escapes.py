"""A battery of sandbox escape attempts: each is refused or contained, touches no file, and the
next program in the same batch still gets its correct result.

Every attempt runs (a) through an `Executor` with the static checker, (b) through one without it,
to show what the executor's own defences (restricted builtins, the name scan at compile time,
time, memory and output limits, the watchdog) do alone, and (c) as a `programs.jsonl` record
given to `import_dataset` and `load_dataset`. Sources may name two files under the test's
tmp_path: `CANARY` (exists; must keep its bytes) and `NEWFILE` (must not appear).
"""

from __future__ import annotations

import errno
import json
import os
import re
import resource
from dataclasses import dataclass
from pathlib import Path

import pytest

from astae.core.config import GeneratorConfig
from astae.core.dataset import FORMAT_VERSION, DatasetError, load_dataset
from astae.core.dataset_import import import_dataset
from astae.core.executor import Executor, Job
from astae.core.grammar import GRAMMAR
from astae.core.language import LanguageError, check_source
from astae.core.sandbox import Outcome, run_examples
from astae.core.sandbox_pool import ExecutionLimits, SandboxPool

LIMITS = ExecutionLimits(time_limit=0.3, memory_limit_mb=256)
CANARY_BYTES = b"canary: must not change\n"

# The follow-up job: it shares a task (and so a worker) with the attempt, and reads `len`.
FOLLOW_UP = Job(
    "def program(a0: int) -> int:\n    return len([a0]) + a0\n",
    [[i] for i in range(41, 49)],
    list(range(42, 50)),
)
BEFORE = Job("def program(a0: list[int]) -> int:\n    return sum(a0)\n", [[[1, 2]]] * 8, [3] * 8)


@dataclass(frozen=True)
class Expect:
    """Allowed outcomes of an attempt, and a fragment its error message must contain."""

    statuses: frozenset[Outcome]
    error: str | None = None


def refused(fragment: str) -> Expect:
    """Refused before running; the message contains `fragment`."""
    return Expect(frozenset({Outcome.INVALID}), fragment)


def scanned(name: str) -> Expect:
    """Refused by the executor's own name scan (no checker needed)."""
    return Expect(frozenset({Outcome.INVALID}), f"`{name}` is not allowed in the sandbox")


def error(name: str) -> Expect:
    """Runs and fails with this exception type (e.g. NameError: the builtin is not there)."""
    return Expect(frozenset({Outcome.ERROR}), name)


LIMITED = Expect(frozenset({Outcome.TIMEOUT, Outcome.MEMORY}))  # time, memory limit or watchdog
HARMLESS = Expect(frozenset({Outcome.OK, Outcome.WRONG}))  # runs, but can only compute a value
MISSING = error("NameError")


@dataclass(frozen=True)
class Attempt:
    """One escape attempt: what it tries, its source and what must happen with/without the checker."""

    id: str
    tries: str
    source: str
    checked: Expect
    unchecked: Expect
    inputs: tuple = ([3],)


def fn(body: str, params: str = "a0: int", returns: str = "int") -> str:
    lines = "\n".join("    " + line for line in body.splitlines())
    return f"def program({params}) -> {returns}:\n{lines}\n"


LIST = {"params": "a0: list[int]", "inputs": ([[1, 2]],)}
BIG = "10 * 10 * 10 * 10 * 10 * 10 * 10 * 10 * 10"  # 10 ** 9 from in-language constants
GEN_FRAME = "def g():\n    yield h.gi_frame.f_back.f_back.f_globals\nh = g()\n"


def _attempt(id: str, tries: str, body: str, checked: Expect, unchecked: Expect, *,
             params: str = "a0: int", returns: str = "int", inputs: tuple = ([3],),
             raw: str | None = None) -> Attempt:
    source = raw if raw is not None else fn(body, params, returns)
    return Attempt(id, tries, source, checked, unchecked, inputs)


ATTEMPTS = [
    # -- dunder walks and introspection
    _attempt("subclasses-walk", "reach every class through object.__subclasses__",
             "return len(().__class__.__bases__[0].__subclasses__())",
             refused("dunder attribute access `.__subclasses__`"), scanned("__class__")),
    _attempt("list-class-walk", "the same walk from a list parameter",
             "return len(a0.__class__.__mro__[1].__subclasses__())",
             refused("dunder attribute access `.__subclasses__`"), scanned("__class__"), **LIST),
    _attempt("wrap-close-system", "the classic os._wrap_close.__init__.__globals__['system']",
             "for c in ().__class__.__base__.__subclasses__():\n"
             "    if c.__name__ == '_wrap_close':\n"
             "        c.__init__.__globals__['system']('touch NEWFILE')\nreturn a0",
             refused("dunder attribute access `.__subclasses__`"), scanned("__class__")),
    _attempt("function-globals", "the program's own __globals__ and the real builtins in them",
             "return len(program.__globals__['__builtins__'])",
             refused("dunder attribute access `.__globals__`"), scanned("__globals__")),
    _attempt("builtin-self", "sorted.__self__ is the builtins module",
             "sorted.__self__.open('NEWFILE', 'w')\nreturn a0",
             refused("attribute access `.open`"), scanned("__self__")),
    _attempt("builtins-name", "read __builtins__ directly",
             "v0 = __builtins__\nreturn a0",
             refused("name `__builtins__` is not defined"), scanned("__builtins__")),
    _attempt("builtins-assign", "put open into the builtins through `global`",
             "global __builtins__\n__builtins__ = 1\nreturn a0",
             refused("`global`"), scanned("__builtins__")),
    _attempt("mro-from-range", "reach object from a builtin type without dunders",
             "return len(range.mro())", refused("attribute access `.mro`"), scanned("mro")),
    # -- imports and the builtins outside the language
    _attempt("dunder-import", "__import__('os')",
             "__import__('os').remove('CANARY')\nreturn a0",
             refused("attribute access `.remove`"), scanned("__import__")),
    _attempt("import-statement", "import os inside the program",
             "import os\nos.remove('CANARY')\nreturn a0", refused("`import`"), error("ImportError")),
    _attempt("from-import", "from os import remove",
             "from os import remove\nremove('CANARY')\nreturn a0", refused("`import`"),
             error("ImportError")),
    _attempt("open-write", "create a file", "v0 = open('NEWFILE', 'w')\nreturn a0",
             refused("call of `open`"), MISSING),
    _attempt("open-read", "read a file outside the run",
             "return len(open('CANARY').read())", refused("attribute access `.read`"), MISSING),
    _attempt("getattr", "getattr with a dunder name in a string",
             "return len(getattr(a0, '__class__'))", refused("call of `getattr`"),
             MISSING),
    _attempt("globals", "globals()", "return len(globals())", refused("call of `globals`"), MISSING),
    _attempt("vars", "vars()", "return len(vars())", refused("call of `vars`"), MISSING),
    _attempt("locals", "locals()", "return len(locals())", refused("call of `locals`"), MISSING),
    _attempt("dir", "dir()", "return len(dir())", refused("call of `dir`"), MISSING),
    _attempt("eval", "eval of a string", "return eval('a0 + 1')", refused("call of `eval`"), MISSING),
    _attempt("exec", "exec of a string", "exec('import os')\nreturn a0", refused("call of `exec`"),
             MISSING),
    _attempt("compile", "compile of a string", "compile('1', 'x', 'eval')\nreturn a0",
             refused("call of `compile`"), MISSING),
    _attempt("breakpoint", "start a debugger", "breakpoint()\nreturn a0",
             refused("call of `breakpoint`"), MISSING),
    _attempt("input", "read the worker's stdin", "return len(input())", refused("call of `input`"),
             MISSING),
    _attempt("print", "write to the worker's stdout", "print(a0)\nreturn a0",
             refused("call of `print`"), MISSING),
    _attempt("exit", "end the worker", "exit(0)\nreturn a0", refused("call of `exit`"), MISSING),
    _attempt("help", "start the help system", "help()\nreturn a0", refused("call of `help`"),
             MISSING),
    # -- frames: from a generator, coroutine or traceback to the executor's globals (and `os`)
    _attempt("generator-frame", "gi_frame.f_back.f_back.f_globals: the executor module's `os`",
             GEN_FRAME + "for v0 in h:\n    v0['os'].remove('CANARY')\nreturn a0",
             refused("nested function"), scanned("gi_frame")),
    _attempt("genexp-frame", "gi_frame of a generator expression",
             "return len((v1 for v1 in a0).gi_frame.f_globals)", refused("attribute access `.f_globals`"),
             scanned("gi_frame"), **LIST),
    _attempt("coroutine-frame", "cr_frame of a coroutine",
             "async def c():\n    return 1\nreturn len(c().cr_frame.f_globals)",
             refused("async function"), scanned("cr_frame")),
    _attempt("traceback-frame", "an exception's traceback frame",
             "try:\n    a0 = 1 // 0\nexcept ZeroDivisionError as e:\n"
             "    return len(e.__traceback__.tb_frame.f_back.f_globals)\nreturn a0",
             refused("`try`"), scanned("__traceback__")),
    # -- format strings
    _attempt("format-dunder", "str.format looks `{0.__class__...}` up at run time",
             "return len('{0.__class__.__mro__}'.format(a0))",
             refused("attribute access `.format`"), scanned("format")),
    _attempt("format-frame", "str.format walking from a generator to the executor's globals",
             GEN_FRAME.replace("h.gi_frame.f_back.f_back.f_globals", "1")
             + "return len('{0.gi_frame.f_globals}'.format(h))",
             refused("nested function"), scanned("format")),
    _attempt("format-map", "str.format_map", "return len('{x}'.format_map({'x': a0}))",
             refused("attribute access `.format_map`"), scanned("format_map")),
    _attempt("f-string", "an f-string with a dunder attribute",
             "return len(f'{a0.__class__}')", refused("f-string"), scanned("__class__")),
    # -- huge numbers and memory bombs
    _attempt("power-tower", "10 ** 10 ** 10", "return 10 ** 10 ** 10",
             refused("operator `**`"), LIMITED),
    _attempt("repeated-squaring", "2 ** 2 ** 40 from allowed arithmetic: x = x * x, 40 times",
             "v0 = a0 + 2\nfor v1 in range(10 * 4):\n    v0 = v0 * v0\nreturn v0",
             LIMITED, LIMITED),
    _attempt("list-doubling", "a list doubled 60 times with `+`",
             "v0 = [a0]\nfor v1 in range(10 * 6):\n    v0 = v0 + v0\nreturn len(v0)",
             LIMITED, LIMITED),
    _attempt("list-multiplication", "[0] * 10 ** 10", "return len([0] * 10 ** 10)",
             refused("operator `**`"), LIMITED),
    _attempt("giant-comprehension", "[0 for a in range(10 ** 9)]",
             f"return len([0 for v0 in range({BIG})])", LIMITED, LIMITED),
    _attempt("nested-comprehension", "a comprehension over a giant comprehension",
             f"return len([v1 for v1 in [v2 * 2 for v2 in range({BIG})]])", LIMITED, LIMITED),
    _attempt("sum-of-range-in-c", "a loop inside one C call (SIGALRM cannot interrupt it)",
             f"v0 = range({BIG} * {BIG})\nreturn sum(v0)", refused("only allowed as a loop's iterable"),
             LIMITED),
    _attempt("huge-output", "a million-item result for the parent to unpickle",
             "v0 = [a0]\nfor v1 in range(10 * 2):\n    v0 = v0 + v0\nreturn v0",
             error("OutputTooLarge"), error("OutputTooLarge"), returns="list[int]"),
    _attempt("self-containing-output", "a list that contains itself as the result",
             "a0.append(a0)\nreturn a0", refused("type mismatch"), error("OutputTypeError"),
             returns="list[int]", **LIST),
    # -- recursion and nesting
    _attempt("deep-parentheses", "1000 nested parentheses",
             "return " + "(" * 1000 + "a0" + ")" * 1000, refused("too many nested parentheses"),
             error("SyntaxError")),
    _attempt("deep-unary", "100,000 nested unary minus signs", "return " + "-" * 100_000 + "a0",
             refused("nested too deeply"), Expect(frozenset({Outcome.ERROR, Outcome.MEMORY}))),
    _attempt("deep-blocks", "1000 nested `if` blocks",
             "".join("    " * i + "if a0 > 0:\n" for i in range(1000)) + "    " * 1000 + "a0 = 1\n"
             "return a0", refused("too many levels of indentation"), error("IndentationError")),
    _attempt("self-recursion", "unbounded recursion", "return program(a0)",
             refused("call of `program`"), error("RecursionError")),
    _attempt("very-long-line", "a 200 kB line of additions",
             "return " + " + ".join(["a0"] * 40_000), refused("nested too deeply"),
             Expect(frozenset({Outcome.ERROR, Outcome.MEMORY}))),
    # -- shadowing builtins (each program gets fresh builtins: the follow-up's `len` still works)
    _attempt("shadow-len", "rebind len inside the program", "len = sum\nreturn len([a0])",
             refused("shadows a builtin"), HARMLESS),
    _attempt("shadow-range-module-level", "rebind range and len for the programs that follow",
             "return a0", refused("only a function definition is allowed at top level"), HARMLESS,
             raw="range = len\nlen = sum\n" + fn("return a0")),
    _attempt("builtins-parameter", "a parameter named __builtins__",
             "return len([__builtins__])", refused("dunder name `__builtins__`"), HARMLESS,
             params="__builtins__: int"),
    # -- constructs outside the language
    _attempt("lambda", "a lambda returning open", "return (lambda: open)()('CANARY')",
             refused("only calls of the builtins"), MISSING),
    _attempt("class", "a class statement (needs __build_class__)",
             "class C:\n    pass\nreturn a0", refused("class definition"), scanned("__name__")),
    _attempt("decorator", "a decorator that calls open at definition time", "return a0",
             refused("decorators"), MISSING, raw="@open\n" + fn("return a0")),
    _attempt("nonlocal", "a nested function rebinding an outer name",
             "def g():\n    nonlocal a0\n    a0 = 7\ng()\nreturn a0", refused("nested function"),
             HARMLESS),
    _attempt("while-true", "an endless loop", "while True:\n    a0 += 1\nreturn a0",
             refused("`while` loop"), LIMITED),
    _attempt("swallow-timeout", "catch the executor's timeout exception and loop on",
             "while True:\n    try:\n        while True:\n            pass\n    except:\n"
             "        pass\nreturn a0", refused("`while` loop"), LIMITED),
    _attempt("with", "a with statement on open", "with open('CANARY') as f:\n    return a0",
             refused("`with`"), MISSING),
    _attempt("yield", "return a generator instead of a value", "yield a0", refused("`yield`"),
             error("OutputTypeError")),
    _attempt("walrus", "bind open with :=", "return len([(v0 := open)])",
             refused("`:=` expression"), MISSING),
    _attempt("starred", "splat a dunder walk", "return len([*a0.__class__.__mro__])",
             refused("starred expression"), scanned("__class__"), **LIST),
    _attempt("append-dunder", "reach past `append`: a0.append.__self__.__class__",
             "return len(a0.append.__self__.__class__.__mro__)",
             refused("dunder attribute access"), scanned("__self__"), **LIST),
    # -- literals and encodings
    _attempt("string-literal", "a path in a string constant", "v0 = 'CANARY'\nreturn a0",
             refused("string constant"), HARMLESS),
    _attempt("bytes-literal", "a bytes constant", "v0 = b'\\x00\\xff'\nreturn a0",
             refused("bytes constant"), HARMLESS),
    _attempt("non-utf8-bytes", "undecodable bytes (surrogate escapes) in a source line",
             "return a0 # \udcff\udcfe", refused("cannot parse the source"), error("UnicodeEncodeError")),
    _attempt("nul-byte", "a NUL byte in a source line", "return a0\x00 + 1",
             refused("null bytes"), Expect(frozenset({Outcome.ERROR}))),
    _attempt("fullwidth-open", "ｏｐｅｎ: NFKC-normalises to `open`",
             "v0 = ｏｐｅｎ('NEWFILE', 'w')\nreturn a0", refused("call of `open`"), MISSING),
    _attempt("fullwidth-import", "_＿ｉｍｐｏｒｔ＿＿: NFKC-normalises to `__import__`",
             "v0 = _＿ｉｍｐｏｒｔ＿＿('os')\nreturn a0", refused("call of `__import__`"),
             scanned("__import__")),
]

IDS = [a.id for a in ATTEMPTS]
OUT_OF_LANGUAGE = [a for a in ATTEMPTS if a.checked.statuses == {Outcome.INVALID}]
IN_LANGUAGE = [a for a in ATTEMPTS if a not in OUT_OF_LANGUAGE]


def test_the_battery_has_at_least_40_distinct_attempts():
    assert len(ATTEMPTS) >= 40
    assert len(set(IDS)) == len(IDS)
    assert len({a.source for a in ATTEMPTS}) == len(ATTEMPTS)


# -- running the attempts ---------------------------------------------------------------


@pytest.fixture(scope="module")
def checked():
    with Executor(workers=1, limits=LIMITS) as ex:
        yield ex


@pytest.fixture(scope="module")
def unchecked():
    with Executor(workers=1, limits=LIMITS, check=False) as ex:
        yield ex


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """The canary (present) and the file that must never appear, both outside any run."""
    canary = tmp_path / "CANARY"
    canary.write_bytes(CANARY_BYTES)
    return {"CANARY": canary, "NEWFILE": tmp_path / "NEWFILE"}


def aimed(source: str, files: dict[str, Path]) -> str:
    """The source with `CANARY` and `NEWFILE` replaced by the test's real paths."""
    for name, path in files.items():
        source = source.replace(name, str(path))
    return source


def assert_untouched(files: dict[str, Path]) -> None:
    assert files["CANARY"].read_bytes() == CANARY_BYTES
    assert sorted(p.name for p in files["CANARY"].parent.iterdir()) == ["CANARY"]


def run_between_normal_jobs(executor: Executor, attempt: Attempt, files: dict[str, Path]) -> list:
    """Run BEFORE, the attempt and FOLLOW_UP in one batch; check the normal jobs; return the
    attempt's results. Attempt and follow-up share a task, so the follow-up runs after it in
    the same worker (or, if the attempt killed it, again in the replacement)."""
    hostile = Job(aimed(attempt.source, files), [list(x) for x in attempt.inputs])
    before, results, after = executor.run([BEFORE, hostile, FOLLOW_UP])
    assert [(r.status, r.output) for r in before] == [(Outcome.OK, 3)] * 8
    assert [(r.status, r.output) for r in after] == [(Outcome.OK, y) for y in FOLLOW_UP.expected]
    return results


def assert_expected(results: list, expect: Expect) -> None:
    for r in results:
        assert r.status in expect.statuses, (r.status, r.error)
        if expect.error is not None:
            assert expect.error in (r.error or ""), r.error


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=IDS)
def test_attempt_is_refused_or_contained_with_the_checker(attempt, checked, files):
    results = run_between_normal_jobs(checked, attempt, files)
    assert_untouched(files)
    assert_expected(results, attempt.checked)


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=IDS)
def test_attempt_is_contained_by_the_executor_alone(attempt, unchecked, files):
    results = run_between_normal_jobs(unchecked, attempt, files)
    assert_untouched(files)
    assert_expected(results, attempt.unchecked)


def test_the_checker_refuses_every_attempt_outside_the_language_by_itself():
    for attempt in OUT_OF_LANGUAGE:
        with pytest.raises(LanguageError) as e:
            check_source(attempt.source)
        assert attempt.checked.error in str(e.value), attempt.id


@pytest.mark.parametrize("expression", [
    "a0.__class__", "a0._private", "_hidden", "g.gi_code", "g.gi_yieldfrom", "c.cr_await", "a.ag_frame",
    "frame.f_locals", "code.co_code", "tb.tb_next", "s.format", "s.format_map", "range.mro",
])
def test_the_name_scan_refuses_each_forbidden_family(expression):
    source = f"def program(a0: int) -> int:\n    return len([{expression}])\n"
    [result] = run_examples(source, [[1]], None, LIMITS, check=False)
    name = expression.rpartition(".")[2]
    assert result.status == Outcome.INVALID
    assert result.error == f"the name `{name}` is not allowed in the sandbox"


def test_the_name_scan_lets_every_name_of_the_language_through():
    source = (
        "def program(a0: list[int]) -> list[int]:\n    v0 = sorted(a0)\n    v0.append(len(a0))\n"
        "    v0.append(sum(a0) + min(a0) + max(a0) + abs(-1))\n"
        "    return [v1 for v1 in range(2)] + v0\n"
    )
    [result] = run_examples(source, [[[3, 1]]], None, LIMITS, check=False)
    assert (result.status, result.output) == (Outcome.OK, [0, 1, 1, 3, 2, 9])


# -- the worker's own limits (for code that got past the language and the builtins) -----


def _write_a_file(path: str) -> str:
    """Try to write bytes to a file from inside a worker; report what happened."""
    try:
        with open(path, "wb") as f:
            f.write(b"escaped")
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    return "written"


def _open_many_files(n: int) -> str:
    fds = []
    try:
        for _ in range(n):
            fds.append(os.open(os.devnull, os.O_RDONLY))
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        for fd in fds:
            os.close(fd)
    return "opened"


def _worker_limits(_: object) -> dict:
    import time

    from astae.core.sandbox_pool import _WORKER

    return {
        "fsize": resource.getrlimit(resource.RLIMIT_FSIZE),
        "core": resource.getrlimit(resource.RLIMIT_CORE),
        "as": resource.getrlimit(resource.RLIMIT_AS),
        "cpu_left": resource.getrlimit(resource.RLIMIT_CPU)[0] - time.process_time(),
        "hang": _WORKER[1],
    }


def test_a_worker_cannot_write_bytes_to_any_file_and_survives_trying(tmp_path):
    target = tmp_path / "written-by-a-worker"
    with SandboxPool(workers=1, limits=LIMITS) as pool:
        outcome, = pool.imap(_write_a_file, [str(target)])
        assert outcome == "EFBIG"
        assert list(pool.imap(_worker_limits, [None]))[0]["fsize"] == (0, 0)
    assert not target.exists() or target.stat().st_size == 0


def test_a_worker_cannot_open_hundreds_of_file_descriptors():
    with SandboxPool(workers=1, limits=LIMITS) as pool:
        assert list(pool.imap(_open_many_files, [8, 500])) == ["opened", "EMFILE"]


def test_a_worker_has_address_space_core_and_cpu_limits():
    with SandboxPool(workers=1, limits=LIMITS) as pool:
        [limits] = pool.imap(_worker_limits, [None])
    assert limits["core"] == (0, 0)
    assert limits["as"][0] != resource.RLIM_INFINITY and limits["as"][0] == limits["as"][1]
    # SIGXCPU only for an item that outlives the parent's watchdog by far.
    assert limits["hang"] < limits["cpu_left"] <= 2 * limits["hang"] + 3


# -- the attempts as programs.jsonl records -----------------------------------------------


def write_records(path: Path, attempts: list[Attempt], files: dict[str, Path]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for a in attempts:
            record = {"source": aimed(a.source, files), "examples": [{"input": [3], "output": 4}]}
            f.write(json.dumps(record) + "\n")
    return path


@pytest.mark.parametrize("attempt", OUT_OF_LANGUAGE, ids=[a.id for a in OUT_OF_LANGUAGE])
def test_importing_a_hostile_record_is_refused_with_a_clean_message(attempt, tmp_path, files):
    src = write_records(tmp_path / "programs.jsonl", [attempt], files)
    with pytest.raises(DatasetError) as e:
        import_dataset(src, tmp_path / "ds")
    assert re.match(r"\d+ program\(s\) outside the language; nothing was written", str(e.value))
    assert f"{src}:1: " in str(e.value)
    assert not (tmp_path / "ds").exists()
    src.unlink()
    assert_untouched(files)


def test_importing_the_whole_battery_names_every_refused_record_and_runs_nothing(tmp_path, files):
    src = write_records(tmp_path / "programs.jsonl", ATTEMPTS, files)
    with pytest.raises(DatasetError) as e:
        import_dataset(src, tmp_path / "ds")
    message = str(e.value)
    assert re.match(r"\d+ program\(s\) outside the language; nothing was written", message)
    for line, attempt in enumerate(ATTEMPTS, 1):
        assert (f"{src}:{line}: " in message) == (attempt in OUT_OF_LANGUAGE), attempt.id
    assert not (tmp_path / "ds").exists()
    src.unlink()
    assert_untouched(files)


def test_importing_in_language_bombs_fails_naming_each_and_writes_nothing(tmp_path, files):
    good = {"source": "def f(a: int) -> int:\n    return a + 1", "examples": [{"input": [3], "output": 4}]}
    src = write_records(tmp_path / "programs.jsonl", IN_LANGUAGE, files)
    with open(src, "a", encoding="utf-8") as f:
        f.write(json.dumps(good) + "\n")
    with pytest.raises(DatasetError) as e:
        import_dataset(src, tmp_path / "ds", cfg=GeneratorConfig(probe_count=2))
    message = str(e.value)
    assert message.startswith(f"{len(IN_LANGUAGE)} program(s) could not be imported")
    assert message.count("program `program`") == len(IN_LANGUAGE)  # the good one, `f`, is not named
    assert not (tmp_path / "ds").exists()
    src.unlink()
    assert_untouched(files)


def test_an_import_file_with_undecodable_bytes_is_a_clean_error(tmp_path):
    src = tmp_path / "programs.jsonl"
    src.write_bytes(b'{"source": "def f(a: int) -> int:\\n    return a \xff\xfe"}\n')
    with pytest.raises(DatasetError, match="cannot read"):
        import_dataset(src, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_load_dataset_treats_hostile_sources_as_data_and_runs_nothing(tmp_path, files):
    """The current contract: `load_dataset` validates structure, not sources. Nothing in astae
    runs a stored source except through the checked `Executor`, which refuses these."""
    from astae.core.astgraph import build_ast_graph
    from astae.core.graphs import write_graph_shards  # a real shard: load_dataset checks its header

    ds = tmp_path / "ds"
    records = [
        {"id": i, "source": aimed(a.source, files), "signature": "(int) -> int",
         "examples": [{"input": [3], "output": 4}], "probe_outputs": [],
         "sizes": {"nodes": 1, "actions": 0, "depth": 1}, "actions": []}
        for i, a in enumerate(ATTEMPTS)
    ]
    graph = build_ast_graph("def program(a0: int) -> int:\n    return a0")
    shards = write_graph_shards([graph] * len(records), ds / "graphs")
    (ds / "programs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    manifest = {
        "format_version": FORMAT_VERSION, "grammar_fingerprint": GRAMMAR.fingerprint,
        "counts": {"programs": len(records)}, "probes": {}, "graphs": {"shards": shards},
    }
    (ds / "manifest.json").write_text(json.dumps(manifest))
    loaded = load_dataset(ds)
    assert [p["source"] for p in loaded.programs] == [r["source"] for r in records]
    for p, attempt in zip(loaded.programs, ATTEMPTS):
        if attempt in OUT_OF_LANGUAGE:
            with pytest.raises(LanguageError):
                check_source(p["source"])
    assert files["CANARY"].read_bytes() == CANARY_BYTES
    assert not files["NEWFILE"].exists()


JSON_BOMBS = {
    "deeply-nested-json": '{"source": "x", "examples": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "json-int-too-long-to-parse": '{"source": "x", "examples": [' + "1" * 5000 + "]}",
}


@pytest.mark.parametrize("line", JSON_BOMBS.values(), ids=JSON_BOMBS.keys())
def test_an_import_file_with_a_json_bomb_is_a_clean_error(line, tmp_path):
    src = tmp_path / "programs.jsonl"
    src.write_text(line + "\n")
    with pytest.raises(DatasetError):
        import_dataset(src, tmp_path / "ds")
