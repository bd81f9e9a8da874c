"""Load: does memory stay flat as the dataset grows, and does a poisoned 1% hurt anyone else?

Run with `uv run python benchmarks/load.py --root DIR [--sizes 10000 100000] [--phases build eval poison]`;
prints tables and writes `benchmarks/results/load.json` (phases run separately are merged into it).

- **build**: `astae dataset build --out ROOT/nSIZE --n SIZE --seed 0 --workers 2` as a subprocess
  per size: wall time and the peak resident memory of the command's own process (`wait4`; the
  sandbox workers are separate, memory-limited processes).
- **eval**: `astae eval CKPT --data_dir ROOT/nSIZE --split all --dump ...` per size, same
  measurements. CKPT is `--checkpoint`, or a model trained by `astae train --config
  configs/quickstart.yaml --epochs 3` on the smallest dataset (ROOT/runs).
- **poison**: the largest eval's decodes, with 1% of them (every 100th) replaced by hostile
  programs of the language (CPU hogs that run past the time limit, memory bombs, huge outputs),
  are run again on their examples through the same `score_programs` path as `astae eval`: the
  run must finish, and every other program must get the outcomes the clean eval gave it
  (programs whose clean outcome was itself a timeout or memory error are compared by status
  family only, since the clock decides those).

Target: peak RSS at the largest size within 1.5x of the smallest, for build and eval.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _report import RESULTS, write_result

ROOT = Path(__file__).resolve().parent.parent
ASTAE = [sys.executable, "-m", "astae"]
POISON = [
    # CPU hog: 10^12 iterations (the language's constants are -10..10: big numbers are products)
    "def program(a0: int) -> int:\n    v0 = 10 * 10 * 10 * 10 * 10 * 10\n    v1 = 0\n"
    "    for v2 in range(v0):\n        for v3 in range(v0):\n            v1 += v3\n    return v1",
    # memory bomb: a list doubled a hundred times
    "def program(a0: list[int]) -> int:\n    v0 = [1]\n    for v1 in range(10 * 10):\n        v0 = v0 + v0\n"
    "    return len(v0)",
    # a ten-million-element output
    "def program(a0: int) -> list[int]:\n    return [a0 for v0 in range(10 * 10 * 10 * 10 * 10 * 10 * 10)]",
]


def measured(args: list[str], log: Path) -> dict:
    """Run a command; its wall time, exit code and peak RSS (MiB) of its own process."""
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, "WANDB_MODE": "disabled", "COLUMNS": "120"})
        _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(args)} failed with exit code {code}; see {log}")
    return {"seconds": time.perf_counter() - start, "peak_rss_mib": usage.ru_maxrss / 1024}


def build_phase(root: Path, sizes: list[int]) -> dict:
    rows = {}
    for n in sizes:
        out = root / f"n{n}"
        m = measured([*ASTAE, "dataset", "build", "--out", str(out), "--n", str(n), "--seed", "0",
                      "--workers", "2", "--force"], root / f"build_{n}.log")
        rows[n] = {**m, "programs_per_second": n / m["seconds"]}
        print(f"build {n:>8,}  {m['seconds']:8.1f} s  {n / m['seconds']:7.1f} programs/s  "
              f"peak RSS {m['peak_rss_mib']:7.0f} MiB", flush=True)
    return rows


def model(root: Path, checkpoint: Path | None, smallest: int) -> Path:
    if checkpoint is not None:
        return checkpoint
    runs = root / "runs"
    found = sorted(runs.glob("run_*/best_model.pt"))
    if found:
        return found[-1]
    data = str(root / f"n{smallest}")
    measured([*ASTAE, "train", "--config", "configs/quickstart.yaml", "--data_dir", data,
              "--epochs", "3", "--no_wandb", "--artifacts_dir", str(runs)], root / "train.log")
    return sorted(runs.glob("run_*/best_model.pt"))[-1]


def eval_phase(root: Path, sizes: list[int], checkpoint: Path) -> dict:
    rows = {}
    for n in sizes:
        report = root / f"eval_{n}.json"
        m = measured([*ASTAE, "eval", str(checkpoint), "--data_dir", str(root / f"n{n}"), "--split", "all",
                      "--out", str(report), "--dump", str(root / f"dump_{n}.jsonl")],
                     root / f"eval_{n}.log")
        data = json.loads(report.read_text())
        rows[n] = {**m, "programs": data["counts"]["programs"], "metrics": data["metrics"],
                   "decode_programs_per_second": data["throughput"]["decode_programs_per_second"],
                   "run_seconds": data["throughput"]["run_seconds"]}
        rate = data["counts"]["programs"] / m["seconds"]
        exact = data["metrics"]["exact_match"]
        print(f"eval  {n:>8,}  {m['seconds']:8.1f} s  {rate:7.1f} programs/s  "
              f"peak RSS {m['peak_rss_mib']:7.0f} MiB  exact {exact:.3f}", flush=True)
    return rows


def poison_phase(root: Path, n: int, every: int = 100) -> dict:
    from astae.core.dataset import iter_programs, open_dataset
    from astae.core.evaluation import DECODE_LIMITS
    from astae.core.executor import Executor
    from astae.core.metrics import score_programs

    rows = [json.loads(line) for line in (root / f"dump_{n}.jsonl").read_text().splitlines()]
    wanted = {r["id"] for r in rows}
    records = {r["id"]: r for r in iter_programs(open_dataset(root / f"n{n}")) if r["id"] in wanted}
    decoded = [r["decoded"] for r in rows]
    poisoned = set(range(0, len(rows), every)) if every else set()
    for k, i in enumerate(sorted(poisoned)):
        decoded[i] = POISON[k % len(POISON)]
    start = time.perf_counter()
    with Executor(workers=2, limits=DECODE_LIMITS) as executor:
        scores = score_programs([records[r["id"]] for r in rows], decoded, executor)
    seconds = time.perf_counter() - start
    clock = {"timeout", "memory"}
    same = differ = 0
    changed = []
    for i, (row, score) in enumerate(zip(rows, scores)):
        if i in poisoned:
            continue
        before, after = row["outcomes"], score.outcomes
        if clock & set(before) or clock & set(after):
            equal = [b in clock for b in before] == [a in clock for a in after]
        else:
            equal = before == after
        same += equal
        differ += not equal
        if not equal:
            changed.append({"id": row["id"], "clean": before, "poisoned": after, "decoded": row["decoded"]})
    hostile = [scores[i].outcomes for i in sorted(poisoned)]
    contained = sum(all(o != "ok" for o in outcome) for outcome in hostile)
    result = {"programs": len(rows), "poisoned": len(poisoned), "poisoned_contained": contained,
              "others_same": same, "others_differ": differ, "changed": changed[:50],
              "seconds": seconds}
    label = "poison" if every else "control"
    print(f"{label} {n:,} programs, {len(poisoned)} hostile ({contained} contained): "
          f"{same:,} others unchanged, {differ} changed; {seconds:.0f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="where datasets and runs are kept")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--phases", nargs="+", default=["build", "eval", "poison"])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--control", action="store_true",
                        help="also rerun the poison phase's decodes unpoisoned: how many outcomes the clock "
                        "alone changes between two runs")
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    previous = RESULTS / "load.json"
    result = json.loads(previous.read_text()) if previous.is_file() else {}
    result = {k: v for k, v in result.items() if k in ("build", "eval", "poison", "control", "checkpoint")}
    sizes = sorted(args.sizes)
    if "build" in args.phases:
        result["build"] = build_phase(args.root, sizes)
    if "eval" in args.phases:
        checkpoint = model(args.root, args.checkpoint, sizes[0])
        result["checkpoint"] = str(checkpoint)
        result["eval"] = eval_phase(args.root, sizes, checkpoint)
    if "poison" in args.phases:
        result["poison"] = poison_phase(args.root, sizes[-1])
        if args.control:
            result["control"] = poison_phase(args.root, sizes[-1], every=0)
    for phase in ("build", "eval"):
        rows = result.get(phase)
        if rows:
            keys = sorted(rows, key=int)
            ratio = rows[keys[-1]]["peak_rss_mib"] / rows[keys[0]]["peak_rss_mib"]
            per = [rows[k]["seconds"] / int(k) for k in (keys[0], keys[-1])]
            print(f"{phase}: peak RSS {keys[-1]} / {keys[0]} = {ratio:.2f}x (target <= 1.5x); "
                  f"time per program {per[1] / per[0]:.2f}x")
            result[f"{phase}_rss_ratio"] = ratio
    write_result("load", result)


if __name__ == "__main__":
    main()
