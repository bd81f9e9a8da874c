"""Run untrusted programs of the language on input examples, in sandboxed worker processes.

- `run_examples` runs one program on its examples in the current process: the static checker,
  a scan of the compiled code for names that lead out of the sandbox (made with or without the
  checker), restricted builtins, a per-call time limit (SIGALRM on the wall clock; SIGPROF on
  CPU time for calls under a `WorkBudget`), and `MemoryError` under the worker's address-space
  limit become per-example outcomes.
- `SandboxPool` runs module-level functions in spawned worker processes limited in address space,
  file writes (none), file descriptors and CPU time (`_apply_limits`). A watchdog in the parent
  kills a worker stuck in C code (where SIGALRM cannot reach) or notices one that died, starts a
  fresh one, and yields a `TaskFailure` for the task it was running.
- `Executor` batches `Job`s into pool tasks and turns a task failure into TIMEOUT / MEMORY for
  the one job that caused it; the other jobs of that task run again.

Only the standard library is imported here, so workers start in milliseconds.
"""

from __future__ import annotations
import __future__ as _future

import contextlib
import enum
import gc
import importlib
import multiprocessing as mp
import os
import pickle
import resource
import signal
import sys
import time
import traceback
import tracemalloc
import types
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing.connection import Connection, wait


class Outcome(str, enum.Enum):
    """What happened when a program ran on one example."""

    OK = "ok"
    WRONG = "wrong"
    ERROR = "error"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    INVALID = "invalid"


@dataclass(frozen=True)
class ExecutionLimits:
    """Per-call time limit, per-worker memory limit (on top of start-up) and output size limits."""

    time_limit: float = 1.0
    memory_limit_mb: int = 512
    max_output_items: int = 10_000
    max_int_bits: int = 4096
    hang_seconds: float | None = None  # the watchdog's limit; None: 3 x time_limit + 2

    def __post_init__(self) -> None:
        if self.time_limit <= 0 or self.memory_limit_mb <= 0:
            raise ValueError("time_limit and memory_limit_mb must be positive")
        if self.hang_seconds is not None and self.hang_seconds <= 0:
            raise ValueError("hang_seconds must be positive")

    @property
    def hang_timeout(self) -> float:
        """Seconds without progress after which the parent's watchdog kills a worker."""
        return self.hang_seconds if self.hang_seconds is not None else self.time_limit * 3 + 2


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


@dataclass
class Job:
    """One program and its examples; with `expected=None` any returned value is OK."""

    source: str
    inputs: list[list]
    expected: list | None = None


@dataclass
class TaskFailure:
    """What `SandboxPool.imap` yields for a task whose worker hung ("timeout") or "died"."""

    kind: str
    marker: object = None


# ------------------------------------------------------------------------------ one program

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
# reaches the executor's own module), `str.format` (whose `{0.attr}` fields look attributes up by
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
        _restart_clock()
        status, error = _timed(exec, (code, namespace), limits.time_limit)
        program = namespace.get("program")
        if status is None and not callable(program):
            status, error = Outcome.ERROR, "NameError"
        if status is not None:
            return [ExampleResult(status, error=error) for _ in inputs]
        results = []
        for i, args in enumerate(inputs):
            _restart_clock()
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


# ------------------------------------------------------------------------------ worker side

_MARKER_BYTES = 4096
_STARTING, _IDLE = -2, -1


class _Progress:
    """Shared memory in which a worker shows the parent what it is doing, at no IPC cost."""

    def __init__(self, ctx: mp.context.BaseContext) -> None:
        self.state = ctx.RawArray("q", 2)  # [current task id (or _STARTING / _IDLE), marker size]
        self.clock = ctx.RawArray("d", 1)  # time.monotonic() when the current item started
        self.marker = ctx.RawArray("c", _MARKER_BYTES)  # the pickled marker
        self.state[0] = _STARTING
        self.cpu_soft = 0.0  # worker side: the RLIMIT_CPU soft limit set so far

    def read_marker(self) -> object:
        with contextlib.suppress(Exception):  # a torn write by a dying worker reads as None
            size = self.state[1]
            return pickle.loads(self.marker[:size]) if size else None
        return None


_WORKER: tuple[_Progress, float] | None = None  # in a worker: (progress, hang timeout)


def _restart_clock() -> None:
    """Restart the watchdog clock; keep the RLIMIT_CPU backstop ahead of the CPU time used.

    RLIMIT_CPU counts a process's whole life, so a fixed limit would kill a worker that has run
    many items. At each item's start the soft limit is moved to between `hang + 1` and
    `2 * hang + 2` CPU seconds ahead: more than the parent's watchdog allows the item (wall time
    >= CPU time), so SIGXCPU only ends a worker nobody is watching (its parent died or stopped)."""
    if _WORKER is None:
        return
    progress, hang = _WORKER
    progress.clock[0] = time.monotonic()
    used = time.process_time()
    if used + hang + 1 > progress.cpu_soft:  # an orphaned, hung worker dies of SIGXCPU
        progress.cpu_soft = int(used + 2 * hang) + 2
        with contextlib.suppress(ValueError, OSError):
            hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
            resource.setrlimit(resource.RLIMIT_CPU, (progress.cpu_soft, hard))


def mark_progress(marker: object) -> None:
    """Inside a worker: record which item the current task is working on and restart the
    hang watchdog clock (a no-op outside workers)."""
    if _WORKER is None:
        return
    progress = _WORKER[0]
    data = pickle.dumps(marker, protocol=pickle.HIGHEST_PROTOCOL)
    if len(data) > _MARKER_BYTES:
        raise ValueError(f"progress marker pickles to {len(data)} bytes (limit {_MARKER_BYTES})")
    progress.marker[: len(data)] = data
    progress.state[1] = len(data)
    _restart_clock()


_SPARE_FDS = 32  # file descriptors a worker may open beyond those it starts with (imports)


def _apply_limits(limits: ExecutionLimits) -> None:
    """Limit a worker: address space (its size now plus `memory_limit_mb`), no file writes, few
    file descriptors, no core files. Hard limits are lowered too, so code that escaped the
    language cannot raise them again (unless it runs as root). CPU time: see `_restart_clock`."""
    # Past RLIMIT_FSIZE a write fails with EFBIG instead of killing the worker (CPython's default,
    # made explicit): imports after this point try to write bytecode caches and do without them.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    _lower_limit(resource.RLIMIT_CORE, 0)
    _lower_limit(resource.RLIMIT_FSIZE, 0)  # pipes and the mmapped progress arrays are not files
    with contextlib.suppress(OSError, ValueError):
        _lower_limit(resource.RLIMIT_NOFILE, max(map(int, os.listdir("/proc/self/fd"))) + _SPARE_FDS)
    try:
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return
    _lower_limit(resource.RLIMIT_AS, size + limits.memory_limit_mb * 2**20)


def _lower_limit(kind: int, value: int) -> None:
    """Set a resource's soft and hard limits to `value`, or to its hard limit if that is lower."""
    hard = resource.getrlimit(kind)[1]
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    with contextlib.suppress(OSError, ValueError):
        resource.setrlimit(kind, (value, value))


def _error_reply(task_id: int, exc: BaseException) -> tuple:
    """The reply for an exception raised by a task: the exception (if it survives a pickle round
    trip, else a RuntimeError) and the worker's traceback text."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        exc = pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001
        exc = RuntimeError(text.strip().splitlines()[-1])
    return ("error", task_id, exc, text)


def _worker_main(conn: Connection, progress: _Progress, limits: ExecutionLimits,
                 preload: tuple[str, ...]) -> None:
    """A worker process: receive `(task id, pickled (func, payload))`, reply with the result."""
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    for name in preload:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    _apply_limits(limits)
    _WORKER = (progress, limits.hang_timeout)
    progress.state[0] = _IDLE
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        task_id, blob = message
        progress.state[1] = 0
        progress.state[0] = task_id
        _restart_clock()
        try:
            func, payload = pickle.loads(blob)
            reply = ("ok", task_id, func(payload))
        except BaseException as e:  # noqa: BLE001 - a bug in func: the parent re-raises it
            reply = _error_reply(task_id, e)
        del blob, message
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as e:  # noqa: BLE001 - the result does not pickle
            conn.send(_error_reply(task_id, e))
        progress.state[0] = _IDLE


# ------------------------------------------------------------------------------ parent side

_PREFETCH = 2  # tasks in flight per worker
_PREFETCH_BYTES = 32 * 1024  # a bigger task goes only to an idle worker, so a send never blocks
_MAX_RETRIES = 3  # deaths between tasks before the next task is blamed; failed worker starts


def _remote_error(exc: BaseException, text: str) -> BaseException:
    exc.__cause__ = RuntimeError("raised in a sandbox worker:\n" + text)
    return exc


@dataclass
class _Task:
    task_id: int
    blob: bytes
    retries: int = 0


class _Worker:
    """One worker process, its pipe, its shared progress and the tasks sent to it, in order."""

    def __init__(self, ctx: mp.context.BaseContext, limits: ExecutionLimits,
                 preload: tuple[str, ...], import_main: bool) -> None:
        self.progress = _Progress(ctx)
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, name="astae-sandbox", daemon=True,
                                   args=(child, self.progress, limits, preload))
        main = sys.modules["__main__"]
        if not import_main:  # spawn re-runs the parent's main script (the CLI, torch...) unless
            sys.modules["__main__"] = types.ModuleType("__main__")  # it looks like there is none
        try:
            self.process.start()
        finally:
            sys.modules["__main__"] = main
        child.close()
        self.tasks: deque[_Task] = deque()

    def running(self) -> int | None:
        """The id of the task the worker is running, if it is one of ours."""
        current = self.progress.state[0]
        return current if any(t.task_id == current for t in self.tasks) else None


class SandboxPool:
    """Run module-level functions in spawned, memory-limited workers guarded by a hang watchdog.

    Workers import `preload` before their memory limit is set. Unless `import_main=True` they do
    not re-run the parent's `__main__` (so they start fast), and functions given to `imap` must
    live in importable modules. Use a pool from one thread.
    """

    def __init__(self, workers: int = 2, limits: ExecutionLimits = ExecutionLimits(), *,
                 preload: Sequence[str] = (), import_main: bool = False) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.limits = limits
        self._ctx = mp.get_context("spawn")
        self._spawn_args = (tuple(preload), import_main)
        self._queue: deque[_Task] = deque()
        self._results: dict[int, tuple[str, object]] = {}
        self._discard: set[int] = set()  # abandoned tasks still running in a worker
        self._next_id = 0
        self._startup_failures = 0
        self._closed = False
        self._workers = [self._spawn() for _ in range(workers)]

    @property
    def pids(self) -> list[int]:
        """Process ids of the current workers."""
        return [w.process.pid for w in self._workers]

    def imap(self, func: Callable, payloads: Iterable) -> Iterator:
        """Yield `func(payload)` (run in a worker) or a `TaskFailure`, in payload order."""
        if self._closed:
            raise RuntimeError("the pool is closed")
        return self._imap(func, iter(payloads))

    def _imap(self, func: Callable, payloads: Iterator) -> Iterator:
        window = 2 * _PREFETCH * len(self._workers) + 2
        pending: deque[int] = deque()
        try:
            for payload in payloads:
                pending.append(self._submit(func, payload))
                while len(pending) >= window:
                    yield self._take(pending)
            while pending:
                yield self._take(pending)
        finally:
            for task_id in pending:
                self._abandon(task_id)

    def _take(self, pending: deque[int]) -> object:
        """Wait for the first pending task's result; re-raise the exception its function raised."""
        while pending[0] not in self._results:
            self._dispatch()
            self._pump()
        kind, value = self._results.pop(pending.popleft())
        if kind == "error":
            raise value
        return value

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self.limits, *self._spawn_args)

    def _submit(self, func: Callable, payload: object) -> int:
        task_id, self._next_id = self._next_id, self._next_id + 1
        self._queue.append(_Task(task_id, pickle.dumps((func, payload), pickle.HIGHEST_PROTOCOL)))
        return task_id

    def _abandon(self, task_id: int) -> None:
        if self._results.pop(task_id, None) is not None:
            return
        for task in self._queue:
            if task.task_id == task_id:
                self._queue.remove(task)
                return
        self._discard.add(task_id)

    def _finish(self, task_id: int, kind: str, value: object) -> None:
        if task_id in self._discard:
            self._discard.remove(task_id)
        else:
            self._results[task_id] = (kind, value)

    def _dispatch(self) -> None:
        """Send queued tasks: one to each idle worker first, then prefetch up to `_PREFETCH`."""
        for depth in range(1, _PREFETCH + 1):
            for w in self._workers:
                if not self._queue or len(w.tasks) >= depth:
                    continue
                if w.tasks and len(self._queue[0].blob) > _PREFETCH_BYTES:
                    continue
                task = self._queue.popleft()
                w.tasks.append(task)
                with contextlib.suppress(OSError):  # a dead worker: _pump requeues the task
                    w.conn.send((task.task_id, task.blob))

    def _pump(self) -> None:
        """Wait for replies or deaths (at most until the next hang deadline); run the watchdog."""
        busy = [w for w in self._workers if w.tasks]
        if not busy:
            return
        hang = self.limits.hang_timeout
        timeout = 1.0
        for w in busy:
            if w.running() is not None:
                left = w.progress.clock[0] + hang - time.monotonic()
                timeout = min(timeout, max(0.0, left) + 0.01)
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout))
        for i, w in enumerate(self._workers):
            alive = self._receive(w) if w.conn in ready else True
            if not alive or w.process.sentinel in ready:
                self._replace(i, "died")
        for i, w in enumerate(self._workers):
            if w.running() is not None and time.monotonic() - w.progress.clock[0] > hang:
                self._replace(i, "timeout")

    def _receive(self, w: _Worker) -> bool:
        """Read every reply waiting on a worker's pipe; False when the pipe is closed."""
        try:
            while w.conn.poll():
                kind, task_id, *rest = w.conn.recv()
                w.tasks = deque(t for t in w.tasks if t.task_id != task_id)
                self._startup_failures = 0
                self._finish(task_id, kind, rest[0] if kind == "ok" else _remote_error(*rest))
        except (EOFError, OSError):
            return False
        return True

    def _replace(self, index: int, kind: str) -> None:
        """Kill a worker, fail the task it was running, requeue its other tasks, start a new one."""
        w = self._workers[index]
        w.process.kill()
        w.process.join()
        self._receive(w)  # replies sent before it died
        running = w.running()
        requeue = []
        for task in w.tasks:
            if task.task_id in self._discard:
                self._discard.remove(task.task_id)
            elif task.task_id == running:
                self._finish(task.task_id, "ok", TaskFailure(kind, w.progress.read_marker()))
            else:
                requeue.append(task)
        if running is None and requeue:  # died between tasks: blame the next one, a few times
            requeue[0].retries += 1
            if requeue[0].retries >= _MAX_RETRIES:
                self._finish(requeue.pop(0).task_id, "ok", TaskFailure("died"))
        self._queue.extendleft(reversed(requeue))
        w.conn.close()
        if w.progress.state[0] == _STARTING:
            self._startup_failures += 1
            if self._startup_failures >= _MAX_RETRIES:
                raise RuntimeError(f"sandbox workers fail to start (exit {w.process.exitcode})")
        self._workers[index] = self._spawn()

    def close(self) -> None:
        """Stop the workers (killing any that are still busy)."""
        if self._closed:
            return
        self._closed = True
        for w in self._workers:
            with contextlib.suppress(OSError):
                w.conn.send(None)
        for w in self._workers:
            w.process.join(timeout=0.0 if w.tasks else 1.0)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------ executor


def _run_task(payload: tuple) -> list[list[tuple]]:
    """Worker side of `Executor.run`: run a batch of jobs, marking progress before each."""
    limits, check, jobs = payload
    out = []
    for index, source, inputs, expected in jobs:
        mark_progress(index)
        try:
            results = run_examples(source, inputs, expected, limits, check=check)
        except MemoryError:  # outside the program's own calls, but still caused by it
            gc.collect()
            results = [ExampleResult(Outcome.MEMORY, error="MemoryError") for _ in inputs]
        out.append([(r.status, r.output, r.error) for r in results])
    return out


class Executor:
    """Run `Job`s in a `SandboxPool`; a hang, crash or memory bomb costs only its own job."""

    def __init__(self, workers: int = 2, limits: ExecutionLimits = ExecutionLimits(), *,
                 check: bool = True, task_examples: int = 256) -> None:
        self.limits = limits
        self.check = check
        self.task_examples = task_examples
        self._workers = workers
        self._pool = SandboxPool(workers, limits, preload=("astae.core.language",) if check else ())

    def run(self, jobs: Sequence[Job]) -> list[list[ExampleResult]]:
        """Run every job on its examples: one list of results per job, one result per example."""
        jobs = list(jobs)
        for job in jobs:
            if job.expected is not None and len(job.expected) != len(job.inputs):
                raise ValueError(f"{len(job.inputs)} inputs but {len(job.expected)} expected")
        results: list = [None] * len(jobs)
        todo = list(range(len(jobs)))
        while todo:  # a second round only for the other jobs of a task whose worker failed
            tasks = self._batches(jobs, todo)
            payloads = ((self.limits, self.check,
                         [(j, jobs[j].source, jobs[j].inputs, jobs[j].expected) for j in task])
                        for task in tasks)
            todo = []
            for task, out in zip(tasks, self._pool.imap(_run_task, payloads)):
                if isinstance(out, TaskFailure):
                    bad = out.marker if out.marker in task else task[0]
                    status = Outcome.TIMEOUT if out.kind == "timeout" else Outcome.MEMORY
                    results[bad] = [ExampleResult(status) for _ in jobs[bad].inputs]
                    todo.extend(j for j in task if j != bad)
                else:
                    for j, packed in zip(task, out):
                        results[j] = [ExampleResult(*r) for r in packed]
        return results

    def _batches(self, jobs: list[Job], todo: list[int]) -> list[list[int]]:
        """Consecutive jobs in tasks of about `task_examples` examples (fewer for small runs)."""
        total = sum(max(1, len(jobs[j].inputs)) for j in todo)
        target = max(1, min(self.task_examples, -(-total // (4 * self._workers))))
        tasks: list[list[int]] = []
        size = target
        for j in todo:
            if size >= target:
                tasks.append([])
                size = 0
            tasks[-1].append(j)
            size += max(1, len(jobs[j].inputs))
        return tasks

    def close(self) -> None:
        """Stop the workers."""
        self._pool.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
