"""Reconstruction quality: build 20,000 programs, train the default config, report validation.

Run with `uv run python benchmarks/quality.py [--data DIR] [--epochs N] [--set key=value ...]`;
prints the validation table and writes `benchmarks/results/quality.json`. The default config is
`configs/default.yaml` (= the built-in defaults) with only the overrides printed in the report:
the epoch count (the default 10 is far too few for 20,000 programs) and those given with --set.
Target on a 2-core CPU, within 30 minutes: exact match >= 0.90, all examples rate >= 0.95,
compilation rate 1.0, on the whole validation split (greedy decoding).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _report import write_result

from astae.core.config import GeneratorConfig, TrainConfig, load_config
from astae.core.dataset import build_dataset, load_dataset
from astae.core.reporting import TrainCallbacks
from astae.core.training import train

TARGETS = {"exact_match": 0.90, "all_examples_rate": 0.95, "compilation_rate": 1.0}
SHOWN = ("loss", "reconstruction_loss", "similarity", "exact_match", "compilation_rate",
         "one_example_rate", "all_examples_rate", "tf_exact_match")


class _EpochPrinter(TrainCallbacks):
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def epoch_done(self, record: dict) -> None:
        minutes = (time.perf_counter() - self.start) / 60
        rates = "  ".join(f"{k[4:]} {record[k]:.3f}" for k in ("val/exact_match", "val/all_examples_rate")
                          if k in record)
        print(f"epoch {record['epoch']:>3}  {minutes:5.1f} min  val loss {record['val/loss']:.3f}  {rates}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="an existing dataset (default: build 20,000 programs)")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=35)
    parser.add_argument("--eval-interval", type=int, default=10)
    parser.add_argument("--set", dest="assignments", action="append", default=[])
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data
        build_seconds = 0.0
        if data_dir is None:
            data_dir = Path(tmp) / "data"
            build_dataset(data_dir, args.n, seed=0, cfg=GeneratorConfig(), workers=2)
            build_seconds = time.perf_counter() - started
        overrides = {"data.data_dir": str(data_dir), "training.epochs": args.epochs,
                     "training.eval_interval": args.eval_interval, "tracking.wandb": False,
                     "tracking.artifacts_dir": str(Path(tmp) / "runs")}
        cfg = load_config(TrainConfig, None, overrides, args.assignments)
        programs = len(load_dataset(data_dir))
        train_start = time.perf_counter()
        result = train(cfg, callbacks=_EpochPrinter())
        train_seconds = time.perf_counter() - train_start
    final = {k[4:]: v for k, v in result.final.items() if k.startswith("val/")}
    total_minutes = (time.perf_counter() - started) / 60
    print(f"\n{'metric':24} {'value':>8} {'target':>8}")
    for key in SHOWN:
        target = TARGETS.get(key)
        print(f"{key:24} {final[key]:>8.4f} {'>= ' + str(target) if target else '':>8}")
    print(f"programs {programs:,} ({final['decoded_programs']} validation decoded); "
          f"build {build_seconds / 60:.1f} min, training {train_seconds / 60:.1f} min, "
          f"total {total_minutes:.1f} min (target <= 30)")
    write_result("quality", {
        "programs": programs, "epochs": result.epochs_done,
        "overrides": {"training.epochs": args.epochs, "training.eval_interval": args.eval_interval,
                      **dict(a.split("=", 1) for a in args.assignments)},
        "build_minutes": round(build_seconds / 60, 2), "train_minutes": round(train_seconds / 60, 2),
        "total_minutes": round(total_minutes, 2), "validation": final,
        "targets_met": {k: final[k] >= v for k, v in TARGETS.items()},
    })


if __name__ == "__main__":
    main()
