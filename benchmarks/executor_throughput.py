"""Executor throughput: 2,000 small programs x 10 examples with 1 and 2 workers.

Run with `uv run python benchmarks/executor_throughput.py`; prints a table and writes
`benchmarks/results/executor_throughput.json`. Programs come from a few templates with varied
constants (all distinct sources, all accepted by the static checker), so the numbers include the
checker and `compile` for every program, as in evaluation.
"""

from __future__ import annotations

import random
import time
from collections import Counter

from _report import write_result

from astae.core.executor import Executor, Job
from astae.core.sandbox import run_examples
from astae.core.sandbox_pool import ExecutionLimits

PROGRAMS = 2_000
EXAMPLES = 10

TEMPLATES = [
    "def program(a0: list[int], a1: int) -> list[int]:\n"
    "    v0 = sorted(a0)\n"
    "    v1 = [v2 * a1 + {c} for v2 in v0 if v2 > {d}]\n"
    "    return v1[:3]\n",
    "def program(a0: list[int], a1: int) -> int:\n"
    "    v0 = 0\n"
    "    for v1 in a0:\n"
    "        if v1 % {k} == {r}:\n"
    "            v0 += v1 * {c}\n"
    "    return v0 + a1\n",
    "def program(a0: list[int], a1: int) -> list[int]:\n"
    "    v0 = a0[::-1]\n"
    "    v0.append(a1 + {c})\n"
    "    return v0[{r}:]\n",
    "def program(a0: list[int], a1: int) -> int:\n"
    "    v0 = len(a0) if a1 > {c} else sum(a0)\n"
    "    return v0 // {k} + {d}\n",
    "def program(a0: list[int], a1: int) -> int:\n"
    "    v0 = {d}\n"
    "    for v1 in range(len(a0)):\n"
    "        if a0[v1] > a1:\n"
    "            v0 = max(v0, a0[v1] - {c})\n"
    "    return abs(v0)\n",
]


def make_programs(n: int, rng: random.Random) -> list[str]:
    """`n` distinct sources from the templates."""
    seen: set[str] = set()
    sources: list[str] = []
    while len(sources) < n:
        template = TEMPLATES[len(sources) % len(TEMPLATES)]
        source = template.format(c=rng.randint(-10, 10), d=rng.randint(-10, 10),
                                 k=rng.choice([2, 3, 4, 5, 7]), r=rng.randint(0, 1))
        salt = f"    # {len(sources)}\n"  # comments keep sources distinct (no checker cache hits)
        source = source.replace(":\n", ":\n" + salt, 1)
        if source not in seen:
            seen.add(source)
            sources.append(source)
    return sources


def make_jobs(sources: list[str], rng: random.Random, limits: ExecutionLimits) -> list[Job]:
    """Jobs with random inputs and expected outputs computed in this process."""
    jobs = []
    for source in sources:
        inputs = [[[rng.randint(-50, 50) for _ in range(rng.randint(0, 10))], rng.randint(-10, 10)]
                  for _ in range(EXAMPLES)]
        expected = [r.output for r in run_examples(source, inputs, None, limits, check=False)]
        jobs.append(Job(source, inputs, expected))
    return jobs


def measure(workers: int, jobs: list[Job], warmup: list[Job], limits: ExecutionLimits) -> dict:
    """Example runs per second once the workers are up (start-up timed separately)."""
    start = time.perf_counter()
    with Executor(workers=workers, limits=limits) as executor:
        executor.run(warmup)
        ready = time.perf_counter()
        results = executor.run(jobs)
        done = time.perf_counter()
    runs = sum(len(r) for r in results)
    return {
        "workers": workers,
        "programs": len(jobs),
        "example_runs": runs,
        "startup_and_warmup_s": round(ready - start, 3),
        "seconds": round(done - ready, 3),
        "example_runs_per_s": round(runs / (done - ready)),
        "statuses": dict(Counter(r.status.value for rs in results for r in rs)),
    }


def main() -> None:
    rng = random.Random(0)
    limits = ExecutionLimits()
    jobs = make_jobs(make_programs(PROGRAMS, rng), rng, limits)
    warmup = make_jobs([s.replace("# ", "# warm-up ") for s in make_programs(40, rng)], rng, limits)
    rows = [measure(w, jobs, warmup, limits) for w in (1, 2)]
    print(f"{'workers':>7}  {'example runs/s':>14}  {'seconds':>7}  statuses")
    for row in rows:
        print(f"{row['workers']:>7}  {row['example_runs_per_s']:>14,}  {row['seconds']:>7}  "
              f"{row['statuses']}")
    write_result("executor_throughput", {
        "examples_per_program": EXAMPLES, "limits": vars(limits), "results": rows,
    })


if __name__ == "__main__":
    main()
