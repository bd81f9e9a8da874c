"""Cost curves: build, train-epoch and eval time and peak memory as the dataset grows.

Run with `uv run python benchmarks/scaling.py --root DIR [--sizes 10000 50000 200000]`; prints a
table and writes `benchmarks/results/scaling.json` and `docs/img/scaling.png`. Each step runs the
real command as a subprocess and records its wall time and the peak resident memory of its own
process (`wait4`):

- `astae dataset build --out ROOT/nSIZE --n SIZE --seed 0 --workers 2`;
- `astae train --data_dir ROOT/nSIZE --epochs 1` (one epoch of the default config, with its
  final validation: teacher-forced losses and greedy decodes of the validation split run on
  their examples);
- `astae eval CKPT --data_dir ROOT/nSIZE --split val` with the 1-epoch model of the smallest size
  (the validation split is a tenth of each dataset, so eval's curve covers 1k to 20k programs).

`--steps` picks the steps to measure (a step that needs a dataset reuses ROOT/nSIZE when it holds
one of that size); `--keep` keeps what the last run measured of the other steps, from
`benchmarks/results/scaling.json`, so the builds can run first (`--steps build`) and the training
and evaluation steps later (`--keep --steps train_epoch eval`), or one step be measured again.

Targets (issue 6): time per program at the largest size within 1.25x of the smallest; memory flat.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _report import RESULTS, write_result
from load import ASTAE, ROOT, measured
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

STEPS = ("build", "train_epoch", "eval")


def dataset_counts(path: Path) -> dict | None:
    """The manifest counts (programs, candidates, rejections) of a complete dataset at `path`, or None."""
    try:
        return json.loads((path / "manifest.json").read_text())["counts"]
    except (OSError, ValueError, KeyError):
        return None


def dataset_size(path: Path) -> int | None:
    """Programs in a complete dataset at `path`, or None."""
    counts = dataset_counts(path)
    return counts.get("programs") if counts else None


def run_sizes(root: Path, sizes: list[int], steps: list[str], done: dict) -> dict:
    """Measure `steps` at each size; keep the other steps of `done` (an earlier run's rows) as they are."""
    rows: dict = {}
    checkpoint = None
    for n in sizes:
        data, runs = root / f"n{n}", root / f"runs_{n}"
        row: dict = {step: m for step, m in done.get(str(n), {}).items() if step not in steps}
        todo = list(steps)
        if "build" in todo or dataset_size(data) != n:
            row["build"] = measured([*ASTAE, "dataset", "build", "--out", str(data), "--n", str(n),
                                     "--seed", "0", "--workers", "2", "--force"], root / f"build_{n}.log")
        if "build" in row and "candidates" not in row["build"]:
            # the generator's yield: candidates drawn (and filtered) per kept program
            row["build"]["candidates"] = dataset_counts(data)["candidates"]
        if "train_epoch" in todo:
            row["train_epoch"] = measured([*ASTAE, "train", "--data_dir", str(data), "--epochs", "1",
                                           "--no_wandb", "--artifacts_dir", str(runs)],
                                          root / f"train_{n}.log")
        if "eval" in todo:
            if checkpoint is None:  # the smallest size's model evaluates every size
                found = sorted((root / f"runs_{sizes[0]}").glob("run_*/final_model.pt"))
                if not found:
                    raise SystemExit(f"no model in {root / f'runs_{sizes[0]}'}: measure train_epoch first")
                checkpoint = found[-1]
            row["eval"] = measured([*ASTAE, "eval", str(checkpoint), "--data_dir", str(data),
                                    "--split", "val"], root / f"eval_{n}.log")
        rows[n] = row
        cells = "  ".join(f"{k} {v['seconds']:7.1f} s {v['peak_rss_mib']:6.0f} MiB" for k, v in row.items())
        print(f"{n:>8,}  {cells}", flush=True)
    return rows


def plot(rows: dict, out: Path) -> None:
    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    per_program, memory = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    sizes = sorted(rows, key=int)
    for step in STEPS:
        have = [n for n in sizes if step in rows[n]]
        if not have:
            continue
        xs = [int(n) for n in have]
        per_program.plot(xs, [rows[n][step]["seconds"] / int(n) * 1000 for n in have], marker="o", label=step)
        memory.plot(xs, [rows[n][step]["peak_rss_mib"] for n in have], marker="o", label=step)
    per_program.set(xscale="log", xlabel="programs", ylabel="ms per program", title="time per program")
    memory.set(xscale="log", xlabel="programs", ylabel="MiB", title="peak resident memory")
    for ax in (per_program, memory):
        ax.legend()
        ax.set_ylim(bottom=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="where datasets and runs are kept")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--keep", action="store_true", help="keep what the last run measured of other steps")
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    sizes = sorted(args.sizes)
    previous = RESULTS / "scaling.json"
    done = json.loads(previous.read_text())["rows"] if args.keep and previous.is_file() else {}
    rows = run_sizes(args.root, sizes, args.steps, done)
    summary = {}
    for step in STEPS:
        have = [n for n in sizes if step in rows[n]]
        if len(have) >= 2:
            small, large = have[0], have[-1]
            per = (rows[large][step]["seconds"] / large) / (rows[small][step]["seconds"] / small)
            mem = rows[large][step]["peak_rss_mib"] / rows[small][step]["peak_rss_mib"]
            summary[step] = {"time_per_program_ratio": per, "peak_rss_ratio": mem}
            print(f"{step:12} time per program {large:,} / {small:,}: {per:.2f}x (target <= 1.25x); "
                  f"peak RSS {mem:.2f}x")
            if step == "build" and all("candidates" in rows[k]["build"] for k in (small, large)):
                # time per program = candidates per program x time per candidate
                drawn = [rows[k]["build"]["candidates"] for k in (small, large)]
                yield_ratio = (drawn[1] / large) / (drawn[0] / small)
                seconds = [rows[k][step]["seconds"] for k in (small, large)]
                per_candidate = (seconds[1] / drawn[1]) / (seconds[0] / drawn[0])
                summary[step].update(candidates_per_program_ratio=yield_ratio,
                                     time_per_candidate_ratio=per_candidate)
                print(f"{'':12} = candidates per program {drawn[0] / small:.2f} -> {drawn[1] / large:.2f} "
                      f"({yield_ratio:.2f}x) x time per candidate ({per_candidate:.2f}x)")
    plot(rows, ROOT / "docs" / "img" / "scaling.png")
    write_result("scaling", {"sizes": sizes, "rows": rows, "summary": summary})


if __name__ == "__main__":
    main()
