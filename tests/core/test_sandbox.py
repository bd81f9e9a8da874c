import signal
import time
import tracemalloc

import pytest

from astae.core.sandbox import Outcome, run_examples
from astae.core.sandbox_pool import ExecutionLimits

FAST = ExecutionLimits(time_limit=0.3, memory_limit_mb=256)

DIVIDE = """def program(a0: int, a1: int) -> int:
    return a0 // a1
"""


def statuses(results):
    return [r.status for r in results]


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


def test_oversized_output_is_an_error():
    source = "def program(a0: int) -> list[int]:\n    return [a0] * 20_000\n"
    big_int = "def program(a0: int) -> int:\n    return a0 << 5000\n"
    assert run_examples(source, [[1]], None, FAST, check=False)[0].error == "OutputTooLarge"
    assert run_examples(big_int, [[1]], None, FAST, check=False)[0].error == "OutputTooLarge"


def test_work_budget_stops_long_loops_deterministically():
    from astae.core.sandbox import WorkBudget

    src = (
        "def program(a0: int) -> int:\n    v0 = 0\n    for v1 in range(a0):\n        v0 += v1\n"
        "    return v0\n"
    )
    budget = WorkBudget(max_lines=1000, max_bytes=2**30)
    results = run_examples(src, [[10], [100_000]], None, ExecutionLimits(time_limit=5), budget=budget)
    assert results[0].status == Outcome.OK and results[0].output == 45
    assert results[1].status == Outcome.TIMEOUT and results[1].error == "WorkBudget"


def test_work_budget_stops_memory_growth_before_the_address_space_limit():
    from astae.core.sandbox import WorkBudget

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
    from astae.core.sandbox import WorkBudget, _metered, _on_alarm

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
