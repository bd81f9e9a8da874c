"""Synthesis from examples: how many held-out tasks each search method solves within a budget.

Run with `uv run python benchmarks/synthesis.py CKPT [--tasks 200] [--budgets 100 1000 10000]
[--methods cem hybrid random enum hillclimb] [--keep]`; prints a table and writes
`benchmarks/results/synthesis.json` (`--keep` keeps the rows of methods this run does not
measure, so two runs of different methods can share the two cores and one file).

Tasks: the examples of the first `--tasks` programs of the checkpoint's validation split (the
model never trained on them; the search sees only their examples, never their sources). Every
method runs once per task with the largest budget through `Synthesizer.run`, the code path of
`astae synthesize`; a task counts as solved within budget B if the search solved it after at
most B candidates (a search stops at its first solution, so one run answers every budget).

Generalisation: each solved program also runs on 5 fresh random inputs of the task's signature
(drawn from the dataset's generator ranges, seeded by the task), against the outputs of the
hidden program on them; a solution generalises if it gets all 5 right.

Targets (issue 7): the default method solves at least twice as many tasks as `enum` at 1,000
and at least as many as `hillclimb`; >= 90% of solutions generalise.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from _report import RESULTS, write_result

from astae.core.executor import Executor, Job
from astae.core.generator import sample_inputs
from astae.core.sandbox import Outcome
from astae.core.synthesis import DEFAULT_METHOD, METHODS, SEARCH_LIMITS, Synthesizer
from astae.core.synthesis_tasks import task_from_record
from astae.core.training_data import checkpoint_data

FRESH = 5  # fresh examples a solution must also satisfy


def fresh_examples(source: str, task, cfg, seed: int, executor: Executor) -> list[dict]:
    """FRESH new examples of the hidden program (inputs it runs without error on)."""
    rng = random.Random(f"fresh:{seed}")
    inputs = sample_inputs(rng, task.signature, cfg, FRESH * 4)
    results = executor.run([Job(source, inputs)])[0]
    ok = [{"input": i, "output": r.output} for i, r in zip(inputs, results) if r.status == Outcome.OK]
    return ok[:FRESH]


def generalises(program: str, examples: list[dict], executor: Executor) -> bool:
    """Whether `program` gets every one of `examples` right."""
    if not examples:
        return False
    job = Job(program, [e["input"] for e in examples], [e["output"] for e in examples])
    return all(r.status == Outcome.OK for r in executor.run([job])[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="the checkpoint's dataset, if it moved")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--name", default="synthesis", help="results/<name>.json")
    parser.add_argument("--keep", action="store_true",
                        help="keep the other methods' rows already in results/<name>.json (same checkpoint, "
                             "tasks, budgets and seed), re-read at every write: runs of different methods "
                             "side by side fill one file")
    args = parser.parse_args()
    budgets = sorted(args.budgets)
    with Synthesizer(args.checkpoint, args.workers) as synth:
        data = checkpoint_data(synth.cfg, _payload(args.checkpoint), args.data)
        ids = data.val_ids[: args.tasks]
        records = [data.dataset.programs[i] for i in ids]
        tasks = [task_from_record(r, f"{data.dataset.path}#{r['id']}") for r in records]
        print(f"{len(tasks)} tasks from {data.dataset.path} (validation split); budgets {budgets}; "
              f"checkpoint {args.checkpoint}", flush=True)
        with Executor(workers=args.workers, limits=SEARCH_LIMITS) as checker:
            fresh = [fresh_examples(r["source"], t, synth.generator_cfg, r["id"], checker)
                     for r, t in zip(records, tasks)]
            rows: dict[str, dict] = {}
            per_task: dict[str, list[dict]] = {}
            for method in args.methods:
                start = time.perf_counter()
                results = []
                for task, record, extra in zip(tasks, records, fresh):
                    result = synth.run(task, method, budgets[-1], args.seed)
                    results.append({
                        "id": record["id"], "solved": result.solved, "candidates": result.candidates,
                        "distinct": result.distinct, "seconds": result.seconds, "share": result.share,
                        "program": result.program, "found": result.found, "shrink_runs": result.shrink_runs,
                        "generalises": generalises(result.program, extra, checker) if result.solved else None,
                    })
                per_task[method] = results
                rows[method] = summarise(results, budgets, time.perf_counter() - start)
                counts = "  ".join(f"@{b}: {rows[method]['solved'][str(b)]:3d}" for b in budgets)
                print(f"{method:10} {counts}  generalise {rows[method]['generalisation']:.2f}  "
                      f"{rows[method]['seconds_per_task']:.2f} s/task", flush=True)
                setup = {"checkpoint": str(args.checkpoint), "tasks": len(tasks), "budgets": budgets,
                         "seed": args.seed}
                if args.keep:  # another run's methods, written since this one started, stay
                    rows, per_task = kept_rows(args.name, setup, rows, per_task)
                write_result(args.name, {  # after every method: a long run keeps what it measured
                    **setup, "default_method": DEFAULT_METHOD, "rows": rows,
                    "targets": targets(rows, budgets)["met"], "per_task": per_task,
                })
    print_table(rows, budgets, len(tasks))
    checks = targets(rows, budgets)
    for line in checks["lines"]:
        print(line)


def kept_rows(name: str, setup: dict, rows: dict, per_task: dict) -> tuple[dict, dict]:
    """`rows` and `per_task` with the other methods of results/<name>.json added, if that file
    measured the same setup; in METHODS order."""
    try:
        old = json.loads((RESULTS / f"{name}.json").read_text())
    except (OSError, ValueError):
        return rows, per_task
    if any(old.get(key) != value for key, value in setup.items()):
        return rows, per_task
    merged_rows = {**old.get("rows", {}), **rows}
    merged_tasks = {**old.get("per_task", {}), **per_task}
    order = [m for m in METHODS if m in merged_rows]
    return {m: merged_rows[m] for m in order}, {m: merged_tasks[m] for m in order if m in merged_tasks}


def _payload(checkpoint: Path) -> dict:
    from astae.core.checkpoint import load_checkpoint

    return load_checkpoint(checkpoint)


def summarise(results: list[dict], budgets: list[int], seconds: float) -> dict:
    """Solved counts per budget, generalisation rate, time per task."""
    solved = {str(b): sum(r["solved"] and r["candidates"] <= b for r in results) for b in budgets}
    found = [r for r in results if r["solved"]]
    return {
        "solved": solved,
        "solved_share": {b: n / max(1, len(results)) for b, n in solved.items()},
        "generalisation": sum(bool(r["generalises"]) for r in found) / len(found) if found else 0.0,
        "seconds_per_task": seconds / max(1, len(results)),
        "median_candidates_solved": statistics.median([r["candidates"] for r in found]) if found else None,
    }


def print_table(rows: dict, budgets: list[int], n: int) -> None:
    head = f"{'method':10}" + "".join(f"{'solved@' + str(b):>14}" for b in budgets)
    print(f"\n{head}{'generalises':>13}{'s/task':>9}")
    for method, row in rows.items():
        cells = "".join(f"{row['solved'][str(b)]:>6} ({row['solved'][str(b)] / n:5.1%})" for b in budgets)
        print(f"{method:10}{cells}{row['generalisation']:>13.1%}{row['seconds_per_task']:>9.2f}")


def targets(rows: dict, budgets: list[int]) -> dict:
    """The issue's targets, where the methods they compare were run."""
    met: dict[str, bool] = {}
    lines: list[str] = []
    d = rows.get(DEFAULT_METHOD)
    if d is not None and "1000" in d["solved"]:
        if "enum" in rows:
            ok = d["solved"]["1000"] >= 2 * rows["enum"]["solved"]["1000"]
            met["twice_enum_at_1000"] = ok
            lines.append(f"{DEFAULT_METHOD} @1000 {d['solved']['1000']} vs 2 x enum "
                         f"{rows['enum']['solved']['1000']}: {'met' if ok else 'NOT met'}")
        if "hillclimb" in rows:
            ok = d["solved"]["1000"] >= rows["hillclimb"]["solved"]["1000"]
            met["at_least_hillclimb_at_1000"] = ok
            lines.append(f"{DEFAULT_METHOD} @1000 {d['solved']['1000']} vs hillclimb "
                         f"{rows['hillclimb']['solved']['1000']}: {'met' if ok else 'NOT met'}")
    if d is not None:
        ok = d["generalisation"] >= 0.9
        met["generalises_90"] = ok
        lines.append(f"{DEFAULT_METHOD} solutions generalising: {d['generalisation']:.1%} (target >= 90%): "
                     f"{'met' if ok else 'NOT met'}")
    return {"met": met, "lines": lines}


if __name__ == "__main__":
    main()
