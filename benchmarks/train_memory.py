"""Training memory against dataset size, up to 1,000,000 programs.

Run with `uv run python benchmarks/train_memory.py --source DIR --root DIR [--sizes 10000 200000
1000000] [--steps 400]`; prints a table and writes `benchmarks/results/train_memory.json`.

An epoch of 1,000,000 programs takes hours on a 2-core machine, so this measures what could grow
with the dataset and stops there: `astae.core.training.train` on the default config prepares the
dataset (one pass over every record: split, lengths, record offsets, the target cache), then runs
`--steps` training steps (batches drawn from the whole shuffled split, so graphs are read from
every shard) and is stopped as Ctrl-C stops it. Each size runs in its own subprocess; the table
has its wall time, the resident memory once the data is prepared, and its peak resident memory
(`wait4`).

A dataset larger than `--source` (a built dataset) is `--source` repeated: records with their ids
renumbered, the graph shards listed again in the manifest (`graphs/` is a link to the source's).
It has what memory depends on: as many records, split ids, offsets and shard reads.

Target (issue 6): peak memory at 1,000,000 programs flat against 10,000 (the same steps).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
from pathlib import Path

from _report import write_result
from load import measured

_ID = re.compile(rb'^\{"id":\d+')


def repeated(source: Path, out: Path, size: int) -> Path:
    """`out`: a dataset of `size` programs, `source`'s repeated (reused if it is there)."""
    manifest = json.loads((source / "manifest.json").read_text())
    existing = out / "manifest.json"
    if existing.is_file() and json.loads(existing.read_text())["counts"]["programs"] == size:
        return out
    shards, total = [], 0
    for shard in itertools.cycle(manifest["graphs"]["shards"]):
        if total >= size:
            break
        shards.append(shard)
        total += shard["count"]
    if total != size:
        raise SystemExit(f"--sizes: {size} is not a whole number of {source}'s graph shards")
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "graphs").exists():
        os.symlink((source / "graphs").resolve(), out / "graphs")
    with open(out / "programs.jsonl", "wb") as f:
        written = 0
        while written < size:
            with open(source / "programs.jsonl", "rb") as lines:
                for line in itertools.islice(lines, size - written):
                    f.write(_ID.sub(b'{"id":%d' % written, line, count=1))
                    written += 1
    manifest["counts"] = {"programs": size}
    manifest["graphs"]["shards"] = shards
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_steps(data_dir: Path, steps: int, artifacts: Path) -> None:
    """In the subprocess: train on `data_dir` for `steps` steps; print one JSON line of numbers."""
    import time

    from astae.core.config import TrainConfig
    from astae.core.training import train
    from astae.core.training_events import TrainCallbacks

    class StopAfter(TrainCallbacks):
        def __init__(self) -> None:
            self.start, self.done, self.numbers = time.perf_counter(), 0, {}

        def run_started(self, info) -> None:
            self.numbers.update(prepare_seconds=time.perf_counter() - self.start,
                                rss_prepared_mib=_rss_mib(), train_programs=info.train_programs)
            self.steps_start = time.perf_counter()

        def step_done(self, loss: float, programs: int) -> None:
            self.done += 1
            if self.done == steps:
                seconds = (time.perf_counter() - self.steps_start) / steps
                self.numbers.update(steps=self.done, step_seconds=seconds, rss_after_steps_mib=_rss_mib())
                raise KeyboardInterrupt  # the trainer stops as on Ctrl-C

    cfg = TrainConfig.model_validate({
        "data": {"data_dir": str(data_dir)},
        "tracking": {"wandb": False, "artifacts_dir": str(artifacts)},
    })
    callbacks = StopAfter()
    result = train(cfg, callbacks=callbacks)
    if not result.interrupted or callbacks.done != steps:
        raise SystemExit(f"training stopped after {callbacks.done} steps, not {steps}")
    print(json.dumps(callbacks.numbers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="a built dataset")
    parser.add_argument("--root", type=Path, help="where the repeated datasets and runs go")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000, 1_000_000])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)  # the subprocess: one size
    args = parser.parse_args()
    if args.run is not None:
        run_steps(args.run, args.steps, args.run.parent / f"runs_{args.run.name}")
        return
    if args.source is None or args.root is None:
        parser.error("--source and --root are required")
    rows = {}
    print(f"{'programs':>10}  {'prepare':>9}  {'RSS prepared':>12}  {'s/step':>7}  {'peak RSS':>9}")
    for size in sorted(args.sizes):
        data = repeated(args.source, args.root / f"x{size}", size)
        log = args.root / f"train_{size}.log"
        m = measured([sys.executable, __file__, "--run", str(data), "--steps", str(args.steps)], log)
        numbers = json.loads(log.read_text().strip().splitlines()[-1])
        rows[size] = {**m, **numbers}
        print(f"{size:>10,}  {numbers['prepare_seconds']:7.1f} s  {numbers['rss_prepared_mib']:8.0f} MiB  "
              f"{numbers['step_seconds']:7.3f}  {m['peak_rss_mib']:5.0f} MiB", flush=True)
    sizes = sorted(rows)
    ratio = rows[sizes[-1]]["peak_rss_mib"] / rows[sizes[0]]["peak_rss_mib"]
    print(f"peak RSS {sizes[-1]:,} / {sizes[0]:,}: {ratio:.2f}x (target: flat)")
    write_result("train_memory", {"source": str(args.source), "steps": args.steps, "rows": rows,
                                  "peak_rss_ratio": ratio})


if __name__ == "__main__":
    main()
