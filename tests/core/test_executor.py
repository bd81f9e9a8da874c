import pytest

from astae.core.executor import Executor, Job
from astae.core.sandbox import Outcome
from astae.core.sandbox_pool import ExecutionLimits
from tests.core.test_sandbox import DIVIDE, FAST, statuses

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
INPUTS = [[[1, 2, 3], 4], [[], 10_000], [[-5], 0]]
SUMS = [10, 10_000, -5]


@pytest.fixture(scope="module")
def executor():
    with Executor(workers=2, limits=FAST, check=False) as ex:
        yield ex


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


def test_builtins_outside_the_language_are_missing(executor):
    opens = "def program(a0: int) -> int:\n    return len(open('/etc/passwd').read())\n"
    [results] = executor.run([Job(opens, [[1]])])
    assert (results[0].status, results[0].error) == (Outcome.ERROR, "NameError")


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
