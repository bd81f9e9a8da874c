"""Run module-level functions in sandboxed worker processes, guarded by a watchdog.

- `SandboxPool` runs them in spawned worker processes limited in address space, file writes
  (none), file descriptors and CPU time (`_apply_limits`). A watchdog in the parent kills a worker
  stuck in C code (where SIGALRM cannot reach) or notices one that died, starts a fresh one, and
  yields a `TaskFailure` for the task it was running.
- Inside a worker, `mark_progress` and `restart_clock` show the watchdog what a task is doing.
- `ExecutionLimits` holds the limits of a worker and of each call in it (the per-call ones are
  enforced by `astae.core.sandbox.run_examples`).

Only the standard library is imported here, so workers start in milliseconds.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing as mp
import os
import pickle
import resource
import signal
import sys
import time
import traceback
import types
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait


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
class TaskFailure:
    """What `SandboxPool.imap` yields for a task whose worker hung ("timeout") or "died"."""

    kind: str
    marker: object = None


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


def restart_clock() -> None:
    """Inside a worker: restart the hang watchdog clock and keep the RLIMIT_CPU backstop ahead
    of the CPU time used (a no-op outside workers). `run_examples` calls it before each example.

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
    restart_clock()


_SPARE_FDS = 32  # file descriptors a worker may open beyond those it starts with (imports)


def _apply_limits(limits: ExecutionLimits) -> None:
    """Limit a worker: address space (its size now plus `memory_limit_mb`), no file writes, few
    file descriptors, no core files. Hard limits are lowered too, so code that escaped the
    language cannot raise them again (unless it runs as root). CPU time: see `restart_clock`."""
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
        restart_clock()
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
