"""Synthesis from examples: how many tasks each search method solves within a budget.

Run with `uv run python benchmarks/synthesis.py CKPT [--suite ours|external] [--suite-file FILE]
[--tasks N] [--budgets 100 1000 10000] [--methods cem hybrid random enum hillclimb] [--keep]`;
prints a table and writes `benchmarks/results/synthesis.json` (`--suite ours`) or
`synthesis_external.json` (`--suite external`); `--keep` keeps the rows of methods this run does
not measure, so two runs of different methods can share the two cores and one file.

Suites:
- `ours`: the examples of the first `--tasks` programs of the checkpoint's test split
  (`data.test_fraction`: programs nothing trains or tunes on; a checkpoint without one falls back
  to its validation split, where the methods' settings were chosen, and says so). The search sees
  only their examples, never their sources. A
  solution generalises if it also gets 20 fresh random inputs of the task's signature right (drawn
  from the dataset's generator ranges, seeded by the task, none equal to an example's input),
  against the hidden program's outputs on them.
- `external`: the tasks of a suite written by others, by default
  `../shared/external/deepcoder_synthetic_tasks.json` (100 DeepCoder-style tasks of the LambdaBeam
  project, each with its examples and 3 held-out cases; `--suite-file` reads another file of the
  same form). A solution generalises if it gets the held-out cases right. No model here trained
  on them: they measure how far a model trained on our generator's programs carries.

Every method runs once per task with the largest budget through `Synthesizer.run`, the code path
of `astae synthesize`; a task counts as solved within budget B if the search solved it after at
most B candidates (a search stops at its first solution, so one run answers every budget).

Targets: issue 7 (`ours`): the default method solves at least twice as many tasks as `enum` at
1,000 and at least as many as `hillclimb`; >= 90% of solutions generalise. Issue 16 (`external`):
the default solves >= 40% within 1,000 candidates and >= 60% within 10,000, >= 90% of its
solutions generalise, at <= 1 s per 1,000 candidates, and it solves more than `enum` and
`hillclimb` at every budget.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from _report import RESULTS, write_result

from astae.core.executor import Executor, Job
from astae.core.generator import sample_inputs
from astae.core.sandbox import Outcome
from astae.core.synthesis import DEFAULT_METHOD, METHODS, SEARCH_LIMITS, Synthesizer
from astae.core.synthesis_tasks import SynthesisTask, load_suite, task_from_record
from astae.core.training_data import checkpoint_data

FRESH = 20  # fresh examples a solution must also satisfy (suite `ours`)
EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "external" / "deepcoder_synthetic_tasks.json"
RESULT_NAMES = {"ours": "synthesis", "external": "synthesis_external"}


@dataclass
class Case:
    """A task of the run: its id in the report, the task, the cases that judge generalisation,
    and the group it is reported in (`""`: none)."""

    id: str | int
    task: SynthesisTask
    check: list[dict]
    group: str = ""


def fresh_examples(source: str, task: SynthesisTask, cfg, seed: int, executor: Executor) -> list[dict]:
    """FRESH new examples of the hidden program: inputs it runs without error on, none of them
    an input of the task's own examples."""
    rng = random.Random(f"fresh:{seed}")
    shown = {json.dumps(e["input"]) for e in task.examples}
    inputs = [i for i in sample_inputs(rng, task.signature, cfg, FRESH * 8) if json.dumps(i) not in shown]
    results = executor.run([Job(source, inputs)])[0]
    ok = [{"input": i, "output": r.output} for i, r in zip(inputs, results) if r.status == Outcome.OK]
    return ok[:FRESH]


def generalises(program: str, examples: list[dict], executor: Executor) -> bool:
    """Whether `program` gets every one of `examples` right."""
    if not examples:
        return False
    job = Job(program, [e["input"] for e in examples], [e["output"] for e in examples])
    return all(r.status == Outcome.OK for r in executor.run([job])[0])


def our_cases(
    synth: Synthesizer, checkpoint: Path, data_dir: Path | None, n: int, checker: Executor
) -> list[Case]:
    """The first `n` programs of the checkpoint's test split (its validation split if it holds out
    no test programs, as checkpoints trained with `data.test_fraction: 0` do) as tasks, with fresh
    examples."""
    data = checkpoint_data(synth.cfg, _payload(checkpoint), data_dir)
    split, ids = ("test", data.test_ids) if len(data.test_ids) else ("validation", data.val_ids)
    if split == "validation":
        print("this checkpoint holds out no test split (data.test_fraction: 0): the tasks come from its "
              "validation split, on which the methods' settings were chosen", flush=True)
    records = [data.dataset.programs[i] for i in ids[:n]]
    cases = []
    for r in records:
        task = task_from_record(r, f"{data.dataset.path}#{r['id']}")
        fresh = fresh_examples(r["source"], task, synth.generator_cfg, r["id"], checker)
        cases.append(Case(r["id"], task, fresh))
    print(f"{len(cases)} tasks from {data.dataset.path} ({split} split)", flush=True)
    return cases


def external_cases(path: Path, n: int | None) -> list[Case]:
    """The first `n` tasks of a suite file, judged on their held-out cases, grouped by the
    program weight their name states (LambdaBeam's `weight_W_function_K`), if it does."""
    suite = load_suite(path)[:n]
    cases = []
    for t in suite:
        weight = re.search(r"weight_(\d+)", t.name)
        cases.append(Case(t.name, t.task, t.holdout, f"weight {weight[1]}" if weight else ""))
    print(f"{len(cases)} tasks from {path}", flush=True)
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--suite", choices=sorted(RESULT_NAMES), default="ours")
    parser.add_argument("--suite-file", type=Path, default=EXTERNAL, help="with --suite external: the tasks")
    parser.add_argument("--tasks", type=int, help="the first N tasks (default: 200 of ours, all external)")
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="the checkpoint's dataset, if it moved")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--name", help="results/<name>.json (default: synthesis or synthesis_external)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the other methods' rows already in results/<name>.json (same checkpoint, "
                             "suite, tasks, budgets and seed), re-read at every write: runs of different "
                             "methods side by side fill one file")
    args = parser.parse_args()
    budgets = sorted(args.budgets)
    name = args.name or RESULT_NAMES[args.suite]
    with Synthesizer(args.checkpoint, args.workers) as synth, \
            Executor(workers=args.workers, limits=SEARCH_LIMITS) as checker:
        if args.suite == "ours":
            cases = our_cases(synth, args.checkpoint, args.data, args.tasks or 200, checker)
        else:
            cases = external_cases(args.suite_file, args.tasks)
        print(f"budgets {budgets}; checkpoint {args.checkpoint}", flush=True)
        setup = {"checkpoint": str(args.checkpoint), "suite": args.suite, "tasks": len(cases),
                 "budgets": budgets, "seed": args.seed}
        if args.suite == "external":
            setup["suite_file"] = str(args.suite_file)
        rows: dict[str, dict] = {}
        per_task: dict[str, list[dict]] = {}
        for method in args.methods:
            start = time.perf_counter()
            results = []
            for k, case in enumerate(cases, 1):
                result = synth.run(case.task, method, budgets[-1], args.seed)
                if k % 10 == 0:
                    solved = sum(r["solved"] for r in results) + result.solved
                    print(f"  {method}: {k}/{len(cases)} tasks, {solved} solved, "
                          f"{time.perf_counter() - start:.0f} s", flush=True)
                results.append({
                    "id": case.id, "group": case.group, "signature": case.task.signature.display,
                    "solved": result.solved, "candidates": result.candidates,
                    "distinct": result.distinct, "seconds": result.seconds, "share": result.share,
                    "program": result.program, "found": result.found, "shrink_runs": result.shrink_runs,
                    "generalises": (generalises(result.program, case.check, checker)
                                    if result.solved else None),
                })
            per_task[method] = results
            rows[method] = summarise(results, budgets, time.perf_counter() - start)
            counts = "  ".join(f"@{b}: {rows[method]['solved'][str(b)]:3d}" for b in budgets)
            print(f"{method:10} {counts}  generalise {rows[method]['generalisation']:.2f}  "
                  f"{rows[method]['seconds_per_task']:.2f} s/task  "
                  f"{rows[method]['seconds_per_1000_candidates']:.2f} s/1000 candidates", flush=True)
            if args.keep:  # another run's methods, written since this one started, stay
                rows, per_task = kept_rows(name, setup, rows, per_task)
            write_result(name, {  # after every method: a long run keeps what it measured
                **setup, "default_method": DEFAULT_METHOD, "rows": rows,
                "targets": targets(rows, budgets, args.suite)["met"], "per_task": per_task,
            })
    print_table(rows, budgets, len(cases))
    print_groups(per_task, budgets)
    for line in targets(rows, budgets, args.suite)["lines"]:
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
        "seconds_per_1000_candidates": 1000 * seconds / max(1, sum(r["candidates"] for r in results)),
        "median_candidates_solved": statistics.median([r["candidates"] for r in found]) if found else None,
    }


def print_table(rows: dict, budgets: list[int], n: int) -> None:
    head = f"{'method':10}" + "".join(f"{'solved@' + str(b):>14}" for b in budgets)
    print(f"\n{head}{'generalises':>13}{'s/task':>9}")
    for method, row in rows.items():
        cells = "".join(f"{row['solved'][str(b)]:>6} ({row['solved'][str(b)] / n:5.1%})" for b in budgets)
        print(f"{method:10}{cells}{row['generalisation']:>13.1%}{row['seconds_per_task']:>9.2f}")


def print_groups(per_task: dict[str, list[dict]], budgets: list[int]) -> None:
    """Solved at the largest budget per group of tasks, when the tasks have groups."""
    groups = sorted({r["group"] for rs in per_task.values() for r in rs if r["group"]},
                    key=lambda g: (len(g), g))
    if not groups:
        return
    print(f"\nsolved within {budgets[-1]:,} candidates, by group")
    print(f"{'method':10}" + "".join(f"{g:>11}" for g in groups))
    for method, results in per_task.items():
        cells = []
        for g in groups:
            inside = [r for r in results if r["group"] == g]
            cells.append(f"{sum(r['solved'] for r in inside):>5} of {len(inside):<3}")
        print(f"{method:10}" + "".join(f"{c:>11}" for c in cells))


def targets(rows: dict, budgets: list[int], suite: str = "ours") -> dict:
    """The issue's targets, where the methods they compare were run."""
    if suite == "external":
        return external_targets(rows, budgets)
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


def external_targets(rows: dict, budgets: list[int]) -> dict:
    """Issue 16's targets on the external suite, where the budgets and methods they name were run."""
    met: dict[str, bool] = {}
    lines: list[str] = []
    d = rows.get(DEFAULT_METHOD)
    if d is None:
        return {"met": met, "lines": lines}

    def check(key: str, ok: bool, text: str) -> None:
        met[key] = ok
        lines.append(f"{text}: {'met' if ok else 'NOT met'}")

    for budget, share in ((1000, 0.40), (10000, 0.60)):
        if str(budget) in d["solved_share"]:
            got = d["solved_share"][str(budget)]
            check(f"solved_{budget}", got >= share,
                  f"{DEFAULT_METHOD} solved within {budget:,}: {got:.1%} (target >= {share:.0%})")
    check("generalises_90", d["generalisation"] >= 0.9,
          f"{DEFAULT_METHOD} solutions generalising: {d['generalisation']:.1%} (target >= 90%)")
    check("one_second_per_1000", d["seconds_per_1000_candidates"] <= 1.0,
          f"{DEFAULT_METHOD} {d['seconds_per_1000_candidates']:.2f} s per 1,000 candidates (target <= 1)")
    for other in ("enum", "hillclimb"):
        if other in rows:
            ok = all(d["solved"][str(b)] > rows[other]["solved"][str(b)] for b in budgets)
            shown = ", ".join(f"{d['solved'][str(b)]} vs {rows[other]['solved'][str(b)]}" for b in budgets)
            check(f"beats_{other}", ok, f"{DEFAULT_METHOD} vs {other} at {budgets}: {shown}")
    return {"met": met, "lines": lines}


if __name__ == "__main__":
    main()
