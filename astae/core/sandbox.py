"""Run one untrusted program of the language on its examples, in the current process.

`run_examples` (for use inside a `SandboxPool` worker): the static checker, a scan of the compiled
code for names that lead out of the sandbox (made with or without the checker), restricted
builtins, a per-call time limit (SIGALRM on the wall clock; SIGPROF on CPU time for calls under a
`WorkBudget`), and `MemoryError` under the worker's address-space limit become per-example
outcomes.

Only the standard library is imported here, so workers start in milliseconds.
"""

from __future__ import annotations
import __future__ as _future

import enum
import gc
import signal
import sys
import time
import tracemalloc
import types
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from astae.core.sandbox_pool import ExecutionLimits, restart_clock


class Outcome(str, enum.Enum):
    """What happened when a program ran on one example."""

    OK = "ok"
    WRONG = "wrong"
    ERROR = "error"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    INVALID = "invalid"


@dataclass
class ExampleResult:
    """One example's outcome: status, returned value, error type name or checker message."""

    status: Outcome
    output: object = None
    error: str | None = None
    seconds: float = 0.0  # wall time of the call


@dataclass(frozen=True)
class WorkBudget:
    """Deterministic limits for one call: traced source lines and peak allocated bytes.

    Wall-clock limits depend on machine load; these do not, so decisions made with them
    (such as the generator's "too expensive") are the same on every run. A metered call's time
    limit counts the worker's CPU seconds, not wall seconds, for the same reason: it only stops
    what the budget cannot see (long C-level work on large values)."""

    max_lines: int = 20_000
    max_bytes: int = 8 * 2**20


class _OverBudget(BaseException):
    """Raised by the line tracer when a call exceeds its WorkBudget."""


SAFE_BUILTINS: dict[str, object] = {
    "len": len, "sum": sum, "min": min, "max": max, "abs": abs, "sorted": sorted, "range": range,
    "True": True, "False": False, "None": None,
}
_COMPILE_FLAGS = _future.annotations.compiler_flag  # `list[int]` annotations are never evaluated


class _Timeout(BaseException):
    """Raised by the SIGALRM (wall clock) or SIGPROF (CPU time) handler when a call runs out of time."""


def _on_alarm(signum: int, frame: object) -> None:
    raise _Timeout


# Names that no program of the language needs and that lead out of the restricted builtins when
# a program was not checked: dunders and private names (`__class__`, `__builtins__`, `__import__`,
# `__globals__`), frame, code, generator and traceback introspection (`gi_frame.f_back.f_globals`
# reaches this module's globals), `str.format` (whose `{0.attr}` fields look attributes up by
# name at run time) and `mro` (which reaches `object` from `range`).
_FORBIDDEN_PREFIXES = ("_", "gi_", "cr_", "ag_", "f_", "tb_", "co_")
_FORBIDDEN_NAMES = frozenset({"format", "format_map", "mro"})


def _forbidden_name(code: types.CodeType) -> str | None:
    """The first global or attribute name in `code` (or code nested in it) that is forbidden."""
    for name in code.co_names:  # every global, attribute and imported name the code uses
        if name.startswith(_FORBIDDEN_PREFIXES) or name in _FORBIDDEN_NAMES:
            return name
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and (name := _forbidden_name(const)) is not None:
            return name
    return None


@lru_cache(maxsize=1024)
def _prepare(source: str, check: bool) -> tuple[object, Outcome | None, str | None]:
    """Check and compile a program: `(code, None, None)` or `(None, status, error)`.

    The name scan runs whether or not the checker does, so an unchecked program is still
    confined to the restricted builtins."""
    if check:
        from astae.core.language import LanguageError, check_source

        try:
            check_source(source, idioms=False)  # it runs as written: grammar constructs only
        except LanguageError as e:
            return None, Outcome.INVALID, str(e)
        except Exception as e:  # noqa: BLE001 - a checker bug must not stop the batch
            return None, Outcome.INVALID, f"{type(e).__name__}: {e}"
    try:
        with warnings.catch_warnings():  # a hostile source must not write to the worker's stderr
            warnings.simplefilter("ignore")
            code = compile(source, "<program>", "exec", flags=_COMPILE_FLAGS, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        return None, Outcome.ERROR, type(e).__name__
    name = _forbidden_name(code)
    if name is not None:
        return None, Outcome.INVALID, f"the name `{name}` is not allowed in the sandbox"
    return code, None, None


def _metered(
    fn: Callable, args: Sequence, seconds: float, budget: WorkBudget
) -> tuple[Outcome | None, object]:
    """`_timed` under a WorkBudget: too many lines -> TIMEOUT, too many bytes -> MEMORY.
    tracemalloc must be tracing (run_examples starts it once per program)."""
    lines = 0
    over: list[tuple[Outcome, str]] = []
    traced_memory = tracemalloc.get_traced_memory
    limit = traced_memory()[0] + budget.max_bytes

    def local(frame: object, event: str, arg: object) -> Callable:
        nonlocal lines
        if event == "line":
            lines += 1
            if lines > budget.max_lines:
                over.append((Outcome.TIMEOUT, "WorkBudget"))
                raise _OverBudget
            if traced_memory()[0] > limit:  # checked as it grows: one line at most doubles it
                over.append((Outcome.MEMORY, "MemoryBudget"))
                raise _OverBudget
        return local

    sys.settrace(lambda frame, event, arg: local)
    try:
        status, value = _timed(fn, args, seconds, signal.ITIMER_PROF)
    except _OverBudget:
        status, value = over[-1]
    finally:
        sys.settrace(None)
    return status, value


def _timed(
    fn: Callable, args: Sequence, seconds: float, timer: int = signal.ITIMER_REAL
) -> tuple[Outcome | None, object]:
    """Call `fn(*args)` under the time limit (wall clock, or CPU time with ITIMER_PROF):
    `(None, value)` or `(status, error name)`."""
    try:
        signal.setitimer(timer, seconds)
        try:
            return None, fn(*args)
        finally:
            signal.setitimer(timer, 0)
    except _Timeout:
        return Outcome.TIMEOUT, None
    except MemoryError:
        pass  # collect below, once the traceback (and the frames holding the memory) is gone
    except (KeyboardInterrupt, _OverBudget):
        raise
    except BaseException as e:  # noqa: BLE001 - whatever a program raises is its own failure
        return Outcome.ERROR, type(e).__name__
    gc.collect()
    return Outcome.MEMORY, "MemoryError"


def _output_problem(value: object, limits: ExecutionLimits) -> str | None:
    """Why a returned value cannot be accepted, or None."""
    if type(value) is bool:
        return None
    if type(value) is int:
        return "OutputTooLarge" if value.bit_length() > limits.max_int_bits else None
    if type(value) is not list:
        return "OutputTypeError"
    if len(value) > limits.max_output_items:
        return "OutputTooLarge"
    for item in value:
        if type(item) is int:
            if item.bit_length() > limits.max_int_bits:
                return "OutputTooLarge"
        elif type(item) is not bool:
            return "OutputTypeError"
    return None


def _same(a: object, b: object) -> bool:
    """Strict equality: same types (bool is not int) and equal values, recursively for lists."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def run_examples(
    source: str, inputs: Iterable[Sequence], expected: Sequence | None, limits: ExecutionLimits,
    *, check: bool = True, stop_at_limit: bool = False, budget: WorkBudget | None = None,
    stop_after_seconds: float | None = None,
) -> list[ExampleResult]:
    """Run one program on its examples inside the current process (call only inside a sandbox
    worker: the memory limit is the worker's, and SIGALRM needs the main thread).

    `stop_at_limit`: after the first TIMEOUT or MEMORY, give the remaining examples the
    same outcome without running them (the generator's filter needs no more).
    `stop_after_seconds`: return as soon as one call took longer than this (the results end
    with that call), for a caller that re-runs slow programs another way anyway.
    `budget`: also enforce a deterministic WorkBudget on each call (slower: traced); the time
    limit then counts the worker's CPU seconds."""
    inputs = list(inputs)
    if expected is not None and len(expected) != len(inputs):
        raise ValueError(f"{len(inputs)} inputs but {len(expected)} expected outputs")
    code, status, error = _prepare(source, check)
    if code is None:
        return [ExampleResult(status, error=error) for _ in inputs]
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    previous_prof = signal.signal(signal.SIGPROF, _on_alarm)
    if budget is not None:
        tracemalloc.start()
    try:
        namespace: dict[str, object] = {"__builtins__": dict(SAFE_BUILTINS)}
        restart_clock()
        status, error = _timed(exec, (code, namespace), limits.time_limit)
        program = namespace.get("program")
        if status is None and not callable(program):
            status, error = Outcome.ERROR, "NameError"
        if status is not None:
            return [ExampleResult(status, error=error) for _ in inputs]
        results = []
        for i, args in enumerate(inputs):
            restart_clock()
            copied = [list(a) if type(a) is list else a for a in args]  # programs may mutate them
            started = time.perf_counter()
            if budget is None:
                status, value = _timed(program, copied, limits.time_limit)
            else:
                status, value = _metered(program, copied, limits.time_limit, budget)
            seconds = time.perf_counter() - started
            if status is not None:
                results.append(ExampleResult(status, error=value, seconds=seconds))
                if stop_at_limit and status in (Outcome.TIMEOUT, Outcome.MEMORY):
                    # The rest would likely cost a full time limit each: give them this result.
                    results += [ExampleResult(status, error=value)] * (len(inputs) - len(results))
                    break
            elif (problem := _output_problem(value, limits)) is not None:
                results.append(ExampleResult(Outcome.ERROR, error=problem, seconds=seconds))
            elif expected is None or _same(value, expected[i]):
                results.append(ExampleResult(Outcome.OK, value, seconds=seconds))
            else:
                results.append(ExampleResult(Outcome.WRONG, value, seconds=seconds))
            if stop_after_seconds is not None and seconds > stop_after_seconds:
                break
        return results
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGALRM, previous)
        signal.signal(signal.SIGPROF, previous_prof)
        if budget is not None:
            tracemalloc.stop()
