import os
import signal
import time
import tracemalloc

import pytest

from astae.core.config import GeneratorConfig
from astae.core.executor import (
    ExecutionLimits,
    Executor,
    Job,
    Outcome,
    SandboxPool,
    TaskFailure,
    mark_progress,
    run_examples,
)

FAST = ExecutionLimits(time_limit=0.3, memory_limit_mb=256)

SUM_PLUS = """def program(a0: list[int], a1: int) -> int:
    return sum(a0) + a1
"""
# Loops for ~10**12 iterations without allocating: only SIGALRM stops it.
ENDLESS = """def program(a0: list[int], a1: int) -> int:
    v0 = 0
    for v1 in range(a1):
        for v2 in range(a1):
            for v3 in range(a1):
                v0 = v3
    return v0
"""
# Appends to the list it iterates over: endless, and its memory grows until time runs out.
SELF_GROWING = """def program(a0: list[int], a1: int) -> int:
    for v0 in a0:
        a0.append(v0)
    return 0
"""
# Doubles a list 40 times: ~8 TB of pointers, far beyond the 256 MB limit.
MEMORY_BOMB = """def program(a0: list[int], a1: int) -> int:
    v0 = [1]
    for v1 in range(40):
        v0 += v0
    return len(v0)
"""
# A hang inside one C call, where SIGALRM cannot interrupt: only the watchdog stops it.
C_HANG = """def program(a0: list[int], a1: int) -> int:
    return sum(range(10 ** 15))
"""
# Asks for 8 TB at once: fails fast, without touching memory.
HUGE_ALLOCATION = """def program(a0: list[int], a1: int) -> int:
    return len(a0 * 10 ** 12)
"""
DIVIDE = """def program(a0: int, a1: int) -> int:
    return a0 // a1
"""
INPUTS = [[[1, 2, 3], 4], [[], 10_000], [[-5], 0]]
SUMS = [10, 10_000, -5]


def statuses(results):
    return [r.status for r in results]


@pytest.fixture(scope="module")
def executor():
    with Executor(workers=2, limits=FAST, check=False) as ex:
        yield ex


# Helper tasks for SandboxPool tests: module level, so workers can import them.
def _square(x: int) -> int:
    return x * x


def _own_pid(_: object) -> int:
    return os.getpid()


def _slow_square(x: int) -> int:
    time.sleep(0.05 * (x % 3))
    return x * x


def _kill_own_worker(marker: object) -> None:
    mark_progress(marker)
    os.kill(os.getpid(), signal.SIGKILL)


def _hang_in_sleep(marker: object) -> None:
    mark_progress(marker)
    time.sleep(3600)


def _square_or_hang(x: object) -> object:
    if x == "hang":
        _hang_in_sleep(x)
    return x * x


def _raise_value_error(x: int) -> None:
    raise ValueError(f"bug in task {x}")


def test_infinite_loop_times_out_while_other_jobs_in_the_batch_are_correct(executor):
    jobs = [Job(SUM_PLUS, INPUTS, SUMS), Job(ENDLESS, [[[], 10_000]]), Job(SUM_PLUS, INPUTS, SUMS)]
    results = executor.run(jobs)
    assert statuses(results[1]) == [Outcome.TIMEOUT]
    assert statuses(results[0]) == statuses(results[2]) == [Outcome.OK] * 3
    assert [r.output for r in results[2]] == SUMS


def test_list_growing_inside_its_own_loop_costs_only_its_own_examples(executor):
    results = executor.run([Job(SELF_GROWING, [[[1], 1]]), Job(SUM_PLUS, INPUTS, SUMS)])
    assert statuses(results[0])[0] in (Outcome.TIMEOUT, Outcome.MEMORY)
    assert statuses(results[1]) == [Outcome.OK] * 3


def test_memory_bomb_gives_memory_while_other_jobs_are_correct():
    # A generous time limit: first touches of fresh memory can be slow on a VM.
    ok = Job(SUM_PLUS, INPUTS, SUMS)
    jobs = [ok, Job(MEMORY_BOMB, [[[], 0]] * 2), ok]
    limits = ExecutionLimits(time_limit=3.0, memory_limit_mb=256)
    with Executor(workers=2, limits=limits, check=False) as executor:
        results = executor.run(jobs)
    assert statuses(results[1]) == [Outcome.MEMORY, Outcome.MEMORY]
    assert statuses(results[0]) == statuses(results[2]) == [Outcome.OK] * 3


def test_hang_in_c_code_is_killed_by_the_watchdog_and_costs_only_that_job(executor):
    jobs = [Job(SUM_PLUS, INPUTS, SUMS), Job(C_HANG, INPUTS), Job(SUM_PLUS, INPUTS, SUMS)]
    results = executor.run(jobs)
    assert statuses(results[1]) == [Outcome.TIMEOUT] * 3
    assert statuses(results[0]) == statuses(results[2]) == [Outcome.OK] * 3


def test_zero_division_is_an_error_named_by_its_exception_type(executor):
    [results] = executor.run([Job(DIVIDE, [[7, 2], [7, 0]], [3, 0])])
    assert statuses(results) == [Outcome.OK, Outcome.ERROR]
    assert results[1].error == "ZeroDivisionError"


@pytest.mark.parametrize(
    ("body", "expected", "status"),
    [
        ("return a0 + 1", 3, Outcome.OK),
        ("return a0 + 2", 3, Outcome.WRONG),
        ("return a0 > 0", True, Outcome.OK),
        ("return a0 > 0", 1, Outcome.WRONG),  # True is not 1 here
        ("return a0 - 1", True, Outcome.WRONG),  # 1 is not True either
        ("return [a0, a0]", [2, 2], Outcome.OK),
        ("return [a0 > 0]", [1], Outcome.WRONG),
        ("return [a0]", [2, 2], Outcome.WRONG),
    ],
)
def test_returned_value_is_ok_only_when_strictly_equal_to_expected(body, expected, status):
    source = f"def program(a0: int) -> int:\n    {body}\n"
    [result] = run_examples(source, [[2]], [expected], FAST, check=False)
    assert result.status == status


def test_any_returned_value_is_ok_without_expected_outputs():
    results = run_examples(DIVIDE, [[7, 2], [-9, 4]], None, FAST, check=False)
    assert [(r.status, r.output) for r in results] == [(Outcome.OK, 3), (Outcome.OK, -3)]


def test_stop_after_seconds_ends_the_results_with_the_first_slow_call():
    source = (
        "def program(a0: int) -> int:\n    t = 0\n    for i in range(a0):\n        t += i\n    return t\n"
    )
    results = run_examples(source, [[1], [300_000], [2]], None, FAST, check=False, stop_after_seconds=0.0002)
    assert [r.output for r in results] == [0, sum(range(300_000))]


def test_argument_mutation_does_not_leak_between_examples():
    source = "def program(a0: list[int]) -> int:\n    a0.append(1)\n    return len(a0)\n"
    shared = [5, 6]
    results = run_examples(source, [[shared], [shared]], [3, 3], FAST, check=False)
    assert statuses(results) == [Outcome.OK, Outcome.OK]
    assert shared == [5, 6]


def test_builtins_outside_the_language_are_missing(executor):
    opens = "def program(a0: int) -> int:\n    return len(open('/etc/passwd').read())\n"
    [results] = executor.run([Job(opens, [[1]])])
    assert (results[0].status, results[0].error) == (Outcome.ERROR, "NameError")


def test_oversized_output_is_an_error():
    source = "def program(a0: int) -> list[int]:\n    return [a0] * 20_000\n"
    big_int = "def program(a0: int) -> int:\n    return a0 << 5000\n"
    assert run_examples(source, [[1]], None, FAST, check=False)[0].error == "OutputTooLarge"
    assert run_examples(big_int, [[1]], None, FAST, check=False)[0].error == "OutputTooLarge"


def test_checker_marks_programs_outside_the_language_invalid():
    source = "def program(a0: int) -> int:\n    return a0\n"
    with Executor(workers=1, limits=FAST) as executor:
        results, valid = executor.run([Job("import os\n" + source, [[1], [2]], [1, 2]),
                                       Job(source, [[1], [2]], [1, 2])])
    assert statuses(results) == [Outcome.INVALID, Outcome.INVALID]
    assert "import" in results[0].error and "line 1" in results[0].error
    assert statuses(valid) == [Outcome.OK, Outcome.OK]


def test_results_are_identical_with_one_and_two_workers():
    negate = "def program(a0: int, a1: int) -> int:\n    return -a0\n"
    kinds = [
        (SUM_PLUS, lambda i: [[[i, 1], 3], [[], 5]], lambda i: [i + 4, 6] if i % 2 else None),
        (DIVIDE, lambda i: [[i, i % 3]], lambda i: None),
        (ENDLESS, lambda i: [[[], 10_000]], lambda i: None),
        (HUGE_ALLOCATION, lambda i: [[[i], 0], [[], 0]], lambda i: None),
        (negate, lambda i: [[i, 0]], lambda i: [-i] if i % 3 else [True]),
    ]
    jobs = [Job(source, inputs(i), expected(i)) for i in range(40)
            for source, inputs, expected in [kinds[i % len(kinds)]]]
    outcomes = []
    for workers in (1, 2):
        with Executor(workers=workers, limits=FAST, check=False) as executor:
            outcomes.append(executor.run(jobs))
    assert outcomes[0] == outcomes[1]
    seen = {r.status for results in outcomes[0] for r in results}
    assert seen == {Outcome.OK, Outcome.WRONG, Outcome.ERROR, Outcome.TIMEOUT, Outcome.MEMORY}


def test_imap_yields_results_in_the_order_of_the_payloads():
    with SandboxPool(workers=2, limits=FAST) as pool:
        assert list(pool.imap(_slow_square, range(12))) == [x * x for x in range(12)]


def test_abandoned_imap_does_not_disturb_the_next_one():
    with SandboxPool(workers=2, limits=FAST) as pool:
        for value in pool.imap(_slow_square, range(10)):
            assert value == 0
            break
        assert list(pool.imap(_square, range(10, 20))) == [x * x for x in range(10, 20)]


def test_worker_killed_from_outside_is_replaced_and_the_pool_keeps_working():
    with SandboxPool(workers=2, limits=FAST) as pool:
        victim = next(iter(pool.imap(_own_pid, [None])))
        os.kill(victim, signal.SIGKILL)
        assert list(pool.imap(_square, range(20))) == [x * x for x in range(20)]
        assert victim not in pool.pids


def test_task_that_kills_its_worker_fails_as_died_with_its_last_marker():
    with SandboxPool(workers=2, limits=FAST) as pool:
        out = list(pool.imap(_kill_own_worker, ["job-7"]))
        assert out == [TaskFailure("died", "job-7")]
        assert list(pool.imap(_square, range(5))) == [0, 1, 4, 9, 16]


def test_hung_task_fails_as_timeout_and_other_tasks_are_unaffected():
    with SandboxPool(workers=2, limits=FAST) as pool:
        out = list(pool.imap(_square_or_hang, [1, "hang", 3, 4]))
    assert out == [1, TaskFailure("timeout", "hang"), 9, 16]


def test_exception_raised_by_a_task_function_is_reraised_in_the_parent():
    with SandboxPool(workers=1, limits=FAST) as pool:
        with pytest.raises(ValueError, match="bug in task 3"):
            list(pool.imap(_raise_value_error, [3]))
        assert list(pool.imap(_square, [2])) == [4]


def test_work_budget_stops_long_loops_deterministically():
    from astae.core.executor import WorkBudget

    src = (
        "def program(a0: int) -> int:\n    v0 = 0\n    for v1 in range(a0):\n        v0 += v1\n"
        "    return v0\n"
    )
    budget = WorkBudget(max_lines=1000, max_bytes=2**30)
    results = run_examples(src, [[10], [100_000]], None, ExecutionLimits(time_limit=5), budget=budget)
    assert results[0].status == Outcome.OK and results[0].output == 45
    assert results[1].status == Outcome.TIMEOUT and results[1].error == "WorkBudget"


def test_work_budget_stops_memory_growth_before_the_address_space_limit():
    from astae.core.executor import WorkBudget

    src = (
        "def program(a0: list[int]) -> int:\n    for v0 in range(40):\n        a0 += a0\n"
        "    return len(a0)\n"
    )
    budget = WorkBudget(max_lines=10**6, max_bytes=4 * 2**20)
    results = run_examples(
        src, [[[1]]], None, ExecutionLimits(time_limit=5), budget=budget, check=False
    )
    assert results[0].status == Outcome.MEMORY and results[0].error == "MemoryBudget"


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_metered_call_is_limited_in_cpu_seconds_not_wall_seconds():
    """Waiting for the core (here: sleeping) does not use up a metered call's time; working does.
    So machine load cannot turn a metered call into a timeout (the generator's kept set)."""
    from astae.core.executor import WorkBudget, _metered, _on_alarm

    budget = WorkBudget(max_lines=10**9, max_bytes=2**30)
    previous = signal.signal(signal.SIGPROF, _on_alarm)
    tracemalloc.start()
    try:
        waited = _metered(time.sleep, [0.4], 0.1, budget)
        worked = _metered(_spin, [0.4], 0.1, budget)
    finally:
        tracemalloc.stop()
        signal.signal(signal.SIGPROF, previous)
    assert waited == (None, None)
    assert worked == (Outcome.TIMEOUT, None)


def test_generator_workers_wait_ten_metered_calls_before_counting_a_hang():
    from astae.core.dataset import _limits
    from astae.core.generator import METERED_CPU_SECONDS

    assert _limits(GeneratorConfig()).hang_timeout >= 10 * METERED_CPU_SECONDS
