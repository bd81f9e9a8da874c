import json

import pytest
import torch

from astae.core.checkpoint import load_checkpoint, save_checkpoint
from astae.core.config import ConfigError
from astae.core.executor import Executor, Job
from astae.core.grammar import Signature
from astae.core.language import parse_program
from astae.core.sandbox import ExampleResult, Outcome
from astae.core.synthesis import (
    METHODS,
    SEARCH_LIMITS,
    Candidate,
    Fitness,
    Scorer,
    Synthesizer,
    fitness_of,
    output_closeness,
    simplify,
    synthesize,
)
from astae.core.synthesis_tasks import SynthesisTask, task_from_record

IDENTITY = SynthesisTask(
    Signature(("list",), "list"),
    [{"input": [[3, 1, 2]], "output": [3, 1, 2]}, {"input": [[]], "output": []},
     {"input": [[5]], "output": [5]}],
    "identity",
)
# The same input with two outputs: no program satisfies both.
IMPOSSIBLE = SynthesisTask(
    Signature(("int",), "int"), [{"input": [1], "output": 1}, {"input": [1], "output": 2}], "impossible"
)


def records(run_dir):
    payload = load_checkpoint(run_dir / "final_model.pt")
    path = payload["dataset"]["path"]
    with open(f"{path}/programs.jsonl") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def overfit_synth(overfit_run):
    with Synthesizer(overfit_run / "final_model.pt", workers=1) as synth:
        yield synth


def test_closeness_is_one_only_for_equal_outputs_and_orders_near_misses():
    assert output_closeness(5, 5) == output_closeness([1, 2], [1, 2]) == output_closeness([], []) == 1.0
    assert output_closeness(5, 6) > output_closeness(5, 60) > 0
    assert output_closeness([1, 2, 3], [1, 2, 4]) > output_closeness([9, 9, 9], [1, 2, 4])
    assert output_closeness([3, 2, 1], [1, 2, 3]) > output_closeness([7, 8, 9], [1, 2, 3])
    assert output_closeness(1, [1]) == output_closeness(True, 1) == 0.0
    assert 0 < output_closeness(2**4000, 3) < output_closeness(2**900, 3) < output_closeness(10**6, 3)
    assert all(output_closeness(a, b) < 1.0 for a, b in [(0, 1), ([1], [1, 1]), ([1, 2], [2, 1])])


def test_fitness_orders_by_examples_right_then_closeness():
    ok, wrong = ExampleResult(Outcome.OK, 1), ExampleResult(Outcome.WRONG, 9)
    near = ExampleResult(Outcome.WRONG, 2)
    error = ExampleResult(Outcome.ERROR, error="ZeroDivisionError")
    expected = [1, 1]
    assert fitness_of([ok, ok], expected).solved
    assert fitness_of([ok, wrong], expected) > fitness_of([near, near], expected)  # right beats close
    assert fitness_of([near, near], expected) > fitness_of([wrong, wrong], expected) > fitness_of(
        [error, error], expected)
    assert not fitness_of([ok, near], expected).solved
    assert Fitness(0.5, 0.9) > Fitness(0.5, 0.2) and Fitness(1.0, 1.0).solved


def test_the_scorer_stops_at_the_first_solution_and_runs_each_program_once():
    class Counting(Executor):
        jobs = 0

        def run(self, jobs):
            Counting.jobs += len(jobs)
            return super().run(jobs)

    with Counting(workers=1, limits=SEARCH_LIMITS) as executor:
        scorer = Scorer(IDENTITY, executor, budget=10)
        wrong = Candidate("def program(a0: list[int]) -> list[int]:\n    return a0[1:]", [])
        right = Candidate("def program(a0: list[int]) -> list[int]:\n    return a0", [])
        fits = scorer.score([wrong, wrong, right, wrong])
        assert len(fits) == 3 and fits[2].solved and not fits[0].solved
        assert scorer.proposed == 3 and scorer.done and scorer.solution is right
        assert Counting.jobs == 2  # the duplicate is remembered, not run again
        assert scorer.best[1] is right and len(scorer.seen) == 2


def test_the_scorer_takes_no_more_than_the_budget():
    with Executor(workers=1, limits=SEARCH_LIMITS) as executor:
        scorer = Scorer(IMPOSSIBLE, executor, budget=3)
        same = Candidate("def program(a0: int) -> int:\n    return a0", [])
        assert len(scorer.score([same] * 5)) == 3
        assert scorer.proposed == 3 and scorer.remaining == 0 and scorer.done and scorer.solution is None
        assert scorer.score([same]) == []
        with pytest.raises(ConfigError, match="^budget: "):
            Scorer(IMPOSSIBLE, executor, budget=0)


def test_cem_synthesises_a_training_program_of_an_overfitted_model(overfit_run, overfit_synth):
    # A training program the model reconstructs: its code is in the basin CEM starts from.
    payload = load_checkpoint(overfit_run / "final_model.pt")
    task_records = [r for r in records(overfit_run) if len(r["examples"]) >= 3]
    prior_mean = payload["latent_prior"]["mean"]
    assert prior_mean.shape[0] == overfit_synth.cfg.model.latent_dim
    solved = 0
    for record in task_records[:4]:
        task = task_from_record(record, "overfit")
        result = overfit_synth.run(task, "cem", budget=400, seed=0)
        if not result.solved:
            continue
        solved += 1
        assert result.candidates <= 400 and result.share == 1.0
        assert result.trace[-1]["candidates"] == result.candidates
        assert parse_program(result.program).signature == task.signature
        job = Job(result.program, [e["input"] for e in task.examples], [e["output"] for e in task.examples])
        with Executor(workers=1, limits=SEARCH_LIMITS) as executor:
            assert all(r.status == Outcome.OK for r in executor.run([job])[0])
    assert solved >= 3, f"CEM solved {solved} of 4 training programs of an overfitted model"


@pytest.mark.parametrize("method", METHODS)
def test_every_method_respects_the_budget_and_reports_its_best(overfit_synth, method):
    result = overfit_synth.run(IMPOSSIBLE, method, budget=70, seed=1)
    assert not result.solved and result.candidates == 70
    assert result.program is not None and 0 < result.share < 1.0
    assert result.trace[-1]["candidates"] == 70 and result.distinct <= 70
    assert [row["candidates"] for row in result.trace] == sorted(row["candidates"] for row in result.trace)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_stops_at_its_first_solution_whatever_the_budget(overfit_synth, method):
    small = overfit_synth.run(IDENTITY, method, budget=3000, seed=2)
    assert small.solved, f"{method} did not find the identity in 3000 candidates"
    assert parse_program(small.program).signature == IDENTITY.signature
    larger = overfit_synth.run(IDENTITY, method, budget=6000, seed=2)
    assert (larger.candidates, larger.program) == (small.candidates, small.program)


def test_a_search_is_deterministic_for_a_seed(overfit_synth):
    def trace(seed):
        result = overfit_synth.run(IMPOSSIBLE, "hybrid", budget=200, seed=seed)
        return [(r["candidates"], r["best_share"], r["best_closeness"]) for r in result.trace], result.program

    assert trace(3) == trace(3)


def test_an_unknown_method_is_refused(overfit_run):
    with pytest.raises(ConfigError, match="^method: 'annealing' is not one of"):
        synthesize(overfit_run / "final_model.pt", IDENTITY, method="annealing")


def test_without_a_stored_prior_the_search_fits_one_or_says_it_uses_the_standard(overfit_run, tmp_path):
    payload = load_checkpoint(overfit_run / "final_model.pt")
    stored = payload.pop("latent_prior")
    bare = save_checkpoint(tmp_path / "bare.pt", payload)
    with Synthesizer(bare, workers=1) as synth:
        assert any("fitted now" in note for note in synth.notes)
        assert torch.allclose(synth.prior.mean, stored["mean"], atol=1e-5)
    payload["dataset"] = {"path": str(tmp_path / "gone")}
    moved = save_checkpoint(tmp_path / "moved.pt", payload)
    with Synthesizer(moved, workers=1) as synth:
        assert synth.prior.name == "standard" and any("N(0, I)" in note for note in synth.notes)
        assert synth.run(IDENTITY, "cem", budget=50).candidates <= 50


def test_a_solution_is_shrunk_to_what_the_examples_need(overfit_synth):
    with Executor(workers=1, limits=SEARCH_LIMITS) as executor:
        scorer = Scorer(IDENTITY, executor, budget=10)
        bare = "def program(a0: list[int]) -> list[int]:\n    return a0"
        dead = "def program(a0: list[int]) -> list[int]:\n    v0 = 5 // len(a0)\n    return a0"
        shrunk, runs = simplify(dead, scorer)
        assert shrunk == bare and runs >= 1
        padded = ("def program(a0: list[int]) -> list[int]:\n    for v0 in a0:\n        return a0\n"
                  "    return sorted(a0)[:9]")
        assert simplify(padded, scorer)[0] == bare
        assert simplify(bare, scorer) == (bare, 0)  # nothing smaller is legal
        assert simplify("def program(a0: list[int]) -> list[int]:\n    return a0 + a0[:0]", scorer)[0] == bare
