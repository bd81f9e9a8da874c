"""Cost curves of quality: exact match against dataset size at equal training, and against training.

Run with `uv run python benchmarks/cost_curves.py --data DIR [--sizes 20000 50000 100000 200000]
[--visits 380000] [--config configs/large.yaml] [--jobs 2]`. Every size N trains the config on the
first N programs of DIR (a dataset of seed 0 at least as large as the largest size; the first N
programs of a seed-0 build are what a build of N would keep) for round(visits / train programs)
epochs, so that every size sees about the same number of program visits: the same training time,
since the step cost per program depends on the config and the program distribution, not on N.
One thread per run, `--jobs` runs side by side, each a subprocess; the cosine schedule (if the
config has one) anneals over each run's own epochs.

Each run reports teacher-forced exact match on its whole validation split after every epoch
(with the program visits and minutes so far) and, at the end, `astae eval`'s core on
`best_model.pt` over the whole validation split (greedy exact match, all examples rate). Prints a
table; writes `results/cost_curves.json` (after every finished run, with the commit and the
inputs) and `docs/img/cost_curves.png`: exact match against size, and against program visits.
`--keep` keeps finished rows of the same inputs, so an interrupted run can go on.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import RESULTS, commit, write_result
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

ROOT = Path(__file__).parent.parent
PLOT = ROOT / "docs" / "img" / "cost_curves.png"


def epochs_for(size: int, visits: int, val_fraction: float) -> int:
    """Epochs that make about `visits` program visits on the train side of `size` programs."""
    return max(1, round(visits / (size * (1.0 - val_fraction))))


def run_one(data: Path, size: int, visits: int, config: Path) -> dict:
    """Train the config on the first `size` programs; per-epoch and final validation numbers."""
    import torch

    from astae.core.config import TrainConfig, load_config
    from astae.core.evaluation import evaluate_checkpoint
    from astae.core.training import train
    from astae.core.training_events import TrainCallbacks

    torch.set_num_threads(1)
    started = time.perf_counter()
    history: list[dict] = []

    class _Recorder(TrainCallbacks):
        def run_started(self, info) -> None:
            self.info = info

        def epoch_done(self, record: dict) -> None:
            minutes = (time.perf_counter() - started) / 60
            history.append({"epoch": record["epoch"], "visits": record["epoch"] * self.info.train_programs,
                            "minutes": round(minutes, 2), "tf_exact_match": record["val/tf_exact_match"],
                            "val_loss": record["val/loss"]})
            print(f"{size}: epoch {record['epoch']} tf exact {record['val/tf_exact_match']:.3f} "
                  f"({minutes:.1f} min)", file=sys.stderr, flush=True)

    recorder = _Recorder()
    base = load_config(TrainConfig, config, {}, [])
    epochs = epochs_for(size, visits, base.data.val_fraction)
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {"data.data_dir": str(data), "data.max_programs": size,
                     "data.cache_programs": size, "training.epochs": epochs,
                     "training.eval_interval": 10_000, "training.checkpoint_interval": 10_000,
                     "training.dump_interval": 10_000, "training.threads": 1, "training.eval_workers": 1,
                     "tracking.wandb": False, "tracking.artifacts_dir": tmp}
        cfg = load_config(TrainConfig, config, overrides, [])
        result = train(cfg, callbacks=recorder)
        train_minutes = (time.perf_counter() - started) / 60
        report = evaluate_checkpoint(result.run_dir / "best_model.pt", split="val", workers=1)
    return {"size": size, "train_programs": recorder.info.train_programs,
            "val_programs": recorder.info.val_programs, "epochs": epochs,
            "visits": epochs * recorder.info.train_programs, "train_minutes": round(train_minutes, 2),
            "programs_per_second": round(epochs * recorder.info.train_programs / (60 * train_minutes), 1),
            "exact_match": report.metrics["exact_match"],
            "all_examples_rate": report.metrics["all_examples_rate"],
            "similarity": report.metrics["similarity"], "by_size": report.by_size, "history": history}


def plot(rows: dict[str, dict], out: Path) -> None:
    """Exact match against size (equal visits) and teacher-forced exact against visits, one PNG."""
    fig = Figure(figsize=(10, 4), dpi=110)
    FigureCanvasAgg(fig)
    by_size, by_visits = fig.subplots(1, 2)
    ordered = sorted(rows.values(), key=lambda r: r["size"])
    sizes = [r["size"] for r in ordered]
    by_size.plot(sizes, [r["exact_match"] for r in ordered], "o-", label="exact match (greedy)")
    by_size.plot(sizes, [r["all_examples_rate"] for r in ordered], "s--", label="all examples rate")
    by_size.set_xscale("log")
    by_size.set_xticks(sizes, [f"{s // 1000}k" for s in sizes])
    by_size.set_xlabel("programs in the dataset (equal program visits)")
    by_size.set_ylabel("validation, whole split")
    by_size.set_ylim(0, 1)
    by_size.grid(alpha=0.3)
    by_size.legend()
    for r in ordered:
        h = r["history"]
        by_visits.plot([e["visits"] / 1e6 for e in h], [e["tf_exact_match"] for e in h], "o-",
                       label=f"{r['size'] // 1000}k programs, {r['epochs']} epochs")
    by_visits.set_xlabel("program visits (millions) = training time")
    by_visits.set_ylabel("teacher-forced exact match")
    by_visits.set_ylim(0, 1)
    by_visits.grid(alpha=0.3)
    by_visits.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.png")
    fig.savefig(tmp)
    tmp.replace(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 50_000, 100_000, 200_000])
    parser.add_argument("--visits", type=int, default=380_000)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "large.yaml")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run this size, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.data, args.one, args.visits, args.config)))
        return
    inputs = {"data": str(args.data), "visits": args.visits, "threads_per_run": 1, "jobs": args.jobs,
              "config": str(args.config.resolve().relative_to(ROOT))}
    rows: dict[str, dict] = {}
    previous = RESULTS / "cost_curves.json"
    if args.keep and previous.exists():
        old = json.loads(previous.read_text())
        if old.get("inputs") == inputs:
            rows = old["rows"]
    started_at = commit()
    pending = [s for s in args.sizes if str(s) not in rows]
    running: list[tuple[int, subprocess.Popen]] = []
    while pending or running:
        while pending and len(running) < args.jobs:
            size = pending.pop()  # largest first: the longest evaluation starts earliest
            cmd = [sys.executable, __file__, "--data", str(args.data), "--visits", str(args.visits),
                   "--config", str(args.config), "--one", str(size)]
            running.append((size, subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)))
        time.sleep(2)
        for size, proc in list(running):
            if proc.poll() is None:
                continue
            running.remove((size, proc))
            out = proc.stdout.read()
            if proc.returncode != 0:
                print(f"{size}: failed (exit {proc.returncode})", file=sys.stderr)
                continue
            rows[str(size)] = {**json.loads(out.strip().splitlines()[-1]), "commit": started_at}
            write_result("cost_curves", {"inputs": inputs, "rows": rows})
    print(f"\n{'programs':>8} {'epochs':>6} {'visits':>8} {'minutes':>7} {'prog/s':>6} {'exact':>6} "
          f"{'all ex':>6}")
    for row in sorted(rows.values(), key=lambda r: r["size"]):
        print(f"{row['size']:>8,} {row['epochs']:>6} {row['visits']:>8,} {row['train_minutes']:>7.1f} "
              f"{row['programs_per_second']:>6.0f} {row['exact_match']:>6.3f} "
              f"{row['all_examples_rate']:>6.3f}")
    if rows:
        plot(rows, PLOT)
        print(f"wrote {PLOT}", file=sys.stderr)


if __name__ == "__main__":
    main()
