"""Dataset build throughput: kept programs/s with 1 and 2 workers at N = 5,000.

Run with `uv run python benchmarks/dataset_build.py [--n 5000]`; prints a table and writes
`benchmarks/results/dataset_build.json`. Three measurements, in one run:

- end to end: `build_dataset` (the `astae dataset build` core) with 1 and 2 workers, wall
  clock including worker start-up, the DGL import and writing the shards;
- generation only: the same chunk tasks through the sandbox pool, after start-up, which is
  what the worker count can scale;
- the executor's example runs/s on the kept programs' own examples (checker included).

`--against REV` instead compares this tree with git revision REV (checked out in a temporary
worktree): the same `astae dataset build --n N --workers 2`, run as a subprocess for each tree,
alternately, `--repeats` times; prints a table with each tree's candidates, kept fraction,
rejections by reason and program sizes (from its manifest and programs.jsonl), reports whether
both wrote the same `programs.jsonl` (they differ once the generator's distribution changes) and
writes `benchmarks/results/dataset_build_against.json`.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import worktree, write_result

from astae.core.config import GeneratorConfig
from astae.core.dataset import load_dataset
from astae.core.dataset_build import build_dataset
from astae.core.executor import Executor, Job
from astae.core.generator import generate_chunk
from astae.core.sandbox_pool import ExecutionLimits, SandboxPool


def end_to_end(n: int, workers: int, root: Path) -> dict:
    """Wall clock of a whole build."""
    start = time.perf_counter()
    report = build_dataset(root / f"w{workers}", n, seed=0, workers=workers)
    seconds = time.perf_counter() - start
    return {
        "workers": workers, "programs": report.programs, "candidates": report.candidates,
        "seconds": round(seconds, 2), "kept_per_s": round(report.programs / seconds, 1),
    }


def generation_only(chunks: int, workers: int) -> dict:
    """Chunk tasks through a warm pool: candidates and kept (before dedup) per second."""
    cfg = GeneratorConfig()
    data = cfg.model_dump()
    limits = ExecutionLimits(time_limit=cfg.time_limit, memory_limit_mb=cfg.memory_limit_mb)
    with SandboxPool(workers, limits) as pool:
        list(pool.imap(generate_chunk, [(data, 99, c, frozenset()) for c in range(workers)]))
        start = time.perf_counter()
        results = list(pool.imap(generate_chunk, [(data, 0, c, frozenset()) for c in range(chunks)]))
        seconds = time.perf_counter() - start
    candidates = sum(len(r.candidates) for r in results)
    passed = sum(not isinstance(c, str) for r in results for c in r.candidates)
    return {
        "workers": workers, "candidates": candidates, "passed_filters": passed,
        "seconds": round(seconds, 2), "candidates_per_s": round(candidates / seconds, 1),
        "passed_per_s": round(passed / seconds, 1),
    }


def executor_runs(dataset: Path, workers: int) -> dict:
    """Example runs/s of the executor on a built dataset's programs (checker included)."""
    ds = load_dataset(dataset)
    jobs = [
        Job(p["source"], [e["input"] for e in p["examples"]], [e["output"] for e in p["examples"]])
        for p in ds.programs
    ]
    with Executor(workers=workers) as ex:
        ex.run(jobs[:50])
        start = time.perf_counter()
        results = ex.run(jobs)
        seconds = time.perf_counter() - start
    runs = sum(len(r) for r in results)
    return {"workers": workers, "example_runs": runs, "seconds": round(seconds, 2),
            "example_runs_per_s": round(runs / seconds)}


def timed_build(tree: Path, out: Path, n: int) -> float:
    """Wall clock of `astae dataset build` run from the source tree `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "astae", "dataset", "build", "--out", str(out), "--n", str(n),
         "--seed", "0", "--workers", "2", "--force"],
        check=True, env=env, cwd=tree, stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def dataset_summary(out: Path) -> dict:
    """What a built dataset's manifest and records say about its generation: candidates, the kept
    fraction, rejections by reason (share of candidates) and the programs' sizes in actions."""
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["counts"]
    lines = (out / "programs.jsonl").read_text().splitlines()
    sizes = [json.loads(line)["sizes"]["actions"] for line in lines]
    return {
        "candidates": counts["candidates"],
        "kept_fraction": round(counts["programs"] / counts["candidates"], 4),
        "rejected": counts["rejected"],
        "rejected_share": {k: round(v / counts["candidates"], 4) for k, v in counts["rejected"].items()},
        "actions_mean": round(statistics.mean(sizes), 2),
        "actions_median": statistics.median(sizes),
        "actions_deciles": [round(q, 1) for q in statistics.quantiles(sizes, n=10)],
    }


def against(rev: str, n: int, repeats: int, keep: Path | None = None) -> None:
    """This tree against revision `rev`: build times, alternating; what each kept and rejected;
    whether the outputs are the same."""
    here = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with worktree(rev, root / "ref"):
            trees = {"this tree": here, rev: root / "ref"}
            times: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(repeats):
                for k, (name, tree) in enumerate(trees.items()):
                    times[name].append(timed_build(tree, root / f"out{k}", n))
                    print(f"{name:>12}  {times[name][-1]:7.1f} s", flush=True)
            outputs = [root / f"out{k}" / "programs.jsonl" for k in range(2)]
            same = filecmp.cmp(*outputs, shallow=False)
            summaries = {name: dataset_summary(root / f"out{k}") for k, name in enumerate(trees)}
            if keep is not None:  # for `astae inspect dataset` afterwards
                for k, name in enumerate(trees):
                    dest = keep / ("this-tree" if name == "this tree" else name)
                    shutil.rmtree(dest, ignore_errors=True)
                    shutil.copytree(root / f"out{k}", dest)
    rows = {name: {"seconds": sorted(t), "median_seconds": statistics.median(t),
                   "kept_per_s": n / statistics.median(t), **summaries[name]}
            for name, t in times.items()}
    base, new = rows[rev]["median_seconds"], rows["this tree"]["median_seconds"]
    print(f"\ndataset build, N = {n:,}, 2 workers, median of {repeats}")
    print(f"{'tree':>12}  {'seconds':>8}  {'kept/s':>7}  {'candidates':>10}  {'kept':>6}  "
          f"{'actions mean':>12}  {'median':>6}")
    for name, row in rows.items():
        print(f"{name:>12}  {row['median_seconds']:8.1f}  {row['kept_per_s']:7.1f}  "
              f"{row['candidates']:>10,}  {row['kept_fraction']:6.1%}  {row['actions_mean']:12.1f}  "
              f"{row['actions_median']:6}")
    reasons = sorted({r for row in rows.values() for r in row["rejected"]})
    print(f"\nrejected, share of candidates\n{'reason':>20}  " + "  ".join(f"{name:>10}" for name in rows))
    for reason in reasons:
        shares = (row["rejected_share"].get(reason, 0) for row in rows.values())
        print(f"{reason:>20}  " + "  ".join(f"{share:10.1%}" for share in shares))
    print(f"\nspeed-up: {base / new:.2f}x; same programs.jsonl: {same}")
    write_result("dataset_build_against", {
        "n": n, "reference": rev, "repeats": repeats, "same_programs": same, "rows": rows,
        "speedup": base / new,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--against", metavar="REV", help="compare build time with git revision REV")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="with --against: copy both trees' datasets to DIR/this-tree and DIR/REV")
    args = parser.parse_args()
    if args.against:
        against(args.against, args.n, args.repeats, args.keep)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build = [end_to_end(args.n, w, root) for w in (1, 2)]
        generation = [generation_only(60, w) for w in (1, 2)]
        executor = [executor_runs(root / "w2", w) for w in (1, 2)]
    same = build[0]["programs"] == build[1]["programs"]
    print(f"dataset build, N = {args.n:,} (target: >= 1,000 kept/s with 2 workers, 2 workers >= 1.7x)")
    print(f"{'workers':>7}  {'seconds':>8}  {'kept/s':>8}  {'candidates':>10}")
    for row in build:
        print(f"{row['workers']:>7}  {row['seconds']:>8}  {row['kept_per_s']:>8}  {row['candidates']:>10,}")
    print(f"speed-up 2 vs 1 workers: {build[1]['kept_per_s'] / build[0]['kept_per_s']:.2f}x")
    print("\ngeneration only (warm pool, before dedup)")
    print(f"{'workers':>7}  {'cand/s':>8}  {'passed/s':>8}")
    for row in generation:
        print(f"{row['workers']:>7}  {row['candidates_per_s']:>8}  {row['passed_per_s']:>8}")
    print(f"speed-up: {generation[1]['candidates_per_s'] / generation[0]['candidates_per_s']:.2f}x")
    print("\nexecutor on the dataset's examples (target: >= 20,000 example runs/s)")
    for row in executor:
        print(f"{row['workers']:>7} workers  {row['example_runs_per_s']:>8,} runs/s")
    write_result("dataset_build", {
        "n": args.n, "same_counts": same, "end_to_end": build, "generation_only": generation,
        "executor": executor,
    })


if __name__ == "__main__":
    main()
