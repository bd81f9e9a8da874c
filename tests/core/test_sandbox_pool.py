import os
import signal
import time

import pytest

from astae.core.config import GeneratorConfig
from astae.core.sandbox_pool import SandboxPool, TaskFailure, mark_progress
from tests.core.test_sandbox import FAST


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


def test_generator_workers_wait_ten_metered_calls_before_counting_a_hang():
    from astae.core.dataset_build import worker_limits
    from astae.core.generator import METERED_CPU_SECONDS

    assert worker_limits(GeneratorConfig()).hang_timeout >= 10 * METERED_CPU_SECONDS
