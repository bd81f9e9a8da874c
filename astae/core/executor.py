"""Run untrusted programs of the language on input examples, in sandboxed worker processes.

`Executor` batches `Job`s into `SandboxPool` tasks (`astae.core.sandbox_pool`: spawned, limited
workers and their watchdog), each of which runs `run_examples` (`astae.core.sandbox`: one program
in the worker's own process) on its jobs. It turns a task failure into TIMEOUT / MEMORY for the
one job that caused it; the other jobs of that task run again.

Only the standard library is imported here, so workers start in milliseconds.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from astae.core.sandbox import ExampleResult, Outcome, run_examples
from astae.core.sandbox_pool import ExecutionLimits, SandboxPool, TaskFailure, mark_progress


@dataclass
class Job:
    """One program and its examples; with `expected=None` any returned value is OK."""

    source: str
    inputs: list[list]
    expected: list | None = None


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


class Executor(AbstractContextManager["Executor"]):
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

    def __exit__(self, *exc: object) -> None:
        self.close()
