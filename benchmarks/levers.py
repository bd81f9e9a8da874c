"""Levers of reconstruction quality, each measured on one proxy: the same data, epochs and seed.

Run with `uv run python benchmarks/levers.py --data DIR [--programs N] [--epochs E]
[--variants a b ...] [--jobs 2] [--name levers]`. Every variant trains the default config with its
overrides (`VARIANTS`) on the first N programs of DIR, one thread per run, `--jobs` runs side by side; the
epoch-by-epoch validation numbers (teacher-forced exact match equals greedy exact match: if every
teacher-forced argmax is right, greedy decoding follows the same path) and seconds per epoch go
to `results/NAME.json` (one file per proxy), keyed by variant, with the commit and the inputs.
`--keep` keeps the rows of variants not run this time (only if they ran on the same commit, data
and proxy).
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

VARIANTS: dict[str, list[str]] = {
    "baseline": [],
    "slots8": ["model.latent_slots=8"],
    "slots8_sequence_slots": ["model.latent_slots=8", "model.readout=sequence_slots"],
    "slots8_slots": ["model.latent_slots=8", "model.readout=slots"],
    "slots16_sequence_slots": ["model.latent_slots=16", "model.readout=sequence_slots"],
    "slots16_latent512_sequence_slots": ["model.latent_slots=16", "model.latent_dim=512",
                                         "model.readout=sequence_slots"],
    "slots16_latent512_slots": ["model.latent_slots=16", "model.latent_dim=512", "model.readout=slots"],
    "slots8_slots_batch128_lr6e-3": ["model.latent_slots=8", "model.readout=slots", "training.batch_size=128",
                                     "training.lr=0.006"],
    "slots8_slots_layers5": ["model.latent_slots=8", "model.readout=slots", "model.encoder_layers=5"],
    "slots8_transformer_slots": ["model.latent_slots=8", "model.readout=transformer_slots"],
    "slots8_sequence_slots_batch128_lr6e-3": ["model.latent_slots=8", "model.readout=sequence_slots",
                                              "training.batch_size=128", "training.lr=0.006"],
    "hidden256": ["model.hidden_dim=256"],
    "slots8_hidden256": ["model.latent_slots=8", "model.hidden_dim=256"],
    "slots8_lr1e-3": ["model.latent_slots=8", "training.lr=0.001"],
    "slots8_batch32": ["model.latent_slots=8", "training.batch_size=32"],
    "slots8_dropout0": ["model.latent_slots=8", "model.dropout=0.0"],
    "slots8_semantic0": ["model.latent_slots=8", "model.semantic_weight=0.0"],
    "cosine": ["training.lr_schedule=cosine"],
    "cosine_dropout0": ["training.lr_schedule=cosine", "model.dropout=0.0"],
    "cosine_batch32": ["training.lr_schedule=cosine", "training.batch_size=32"],
    "cosine_lr5e-3": ["training.lr_schedule=cosine", "training.lr=0.005"],
    "cosine_mean_max": ["training.lr_schedule=cosine", "model.readout=mean_max"],
}


def run_one(name: str, data: Path, programs: int, epochs: int, overrides: list[str]) -> dict:
    """Train one variant; its per-epoch validation records and seconds."""
    import torch

    from astae.core.config import TrainConfig, load_config
    from astae.core.training import train
    from astae.core.training_events import TrainCallbacks

    torch.set_num_threads(1)
    epochs_seen: list[dict] = []
    start = time.perf_counter()

    class _Recorder(TrainCallbacks):
        def run_started(self, info) -> None:
            self.parameters = info.parameters

        def epoch_done(self, record: dict) -> None:
            keep = {k: v for k, v in record.items() if k.startswith("val/") or k.startswith("train/")}
            epochs_seen.append({"epoch": record["epoch"], "seconds": time.perf_counter() - start, **keep})
            print(f"{name} epoch {record['epoch']}: tf exact {record['val/tf_exact_match']:.3f} "
                  f"val loss {record['val/loss']:.2f} ({time.perf_counter() - start:.0f} s)",
                  file=sys.stderr, flush=True)

    recorder = _Recorder()
    with tempfile.TemporaryDirectory() as tmp:
        base = {"data.data_dir": str(data), "data.max_programs": programs, "training.epochs": epochs,
                "training.eval_interval": 10_000, "training.eval_max_programs": 500, "training.threads": 1,
                "training.eval_workers": 1,
                "tracking.wandb": False, "tracking.artifacts_dir": tmp}
        cfg = load_config(TrainConfig, None, base, overrides)
        result = train(cfg, callbacks=recorder)
    final = result.final
    return {"overrides": overrides, "parameters": recorder.parameters, "epochs": epochs_seen,
            "seconds": time.perf_counter() - start,
            "tf_exact_match": final["val/tf_exact_match"], "exact_match": final.get("val/exact_match"),
            "all_examples_rate": final.get("val/all_examples_rate"),
            "reconstruction_loss": final["val/reconstruction_loss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--programs", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--variants", nargs="+", default=["baseline", "slots8"], choices=sorted(VARIANTS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--name", default="levers", help="results/NAME.json (one file per proxy)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run this variant, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.data, args.programs, args.epochs, VARIANTS[args.one])))
        return
    inputs = {"data": str(args.data), "programs": args.programs, "epochs": args.epochs, "threads": 1}
    rows: dict[str, dict] = {}
    previous = RESULTS / f"{args.name}.json"
    if args.keep and previous.exists():
        old = json.loads(previous.read_text())
        if old.get("commit") == commit() and old.get("inputs") == inputs:
            rows = old["rows"]
    pending = list(args.variants)
    running: list[tuple[str, subprocess.Popen]] = []
    while pending or running:
        while pending and len(running) < args.jobs:
            name = pending.pop(0)
            cmd = [sys.executable, __file__, "--data", str(args.data), "--programs", str(args.programs),
                   "--epochs", str(args.epochs), "--one", name]
            running.append((name, subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)))
        time.sleep(1)
        for name, proc in list(running):
            if proc.poll() is not None:
                running.remove((name, proc))
                out = proc.stdout.read()
                if proc.returncode != 0:
                    print(f"{name}: failed (exit {proc.returncode})", file=sys.stderr)
                    continue
                rows[name] = json.loads(out.strip().splitlines()[-1])
    print(f"\n{'variant':26} {'params':>9} {'s/epoch':>8} {'val rec loss':>12} {'exact':>6}")
    for name, row in rows.items():
        per_epoch = row["seconds"] / max(1, len(row["epochs"]))
        print(f"{name:26} {row['parameters']:>9,} {per_epoch:>8.0f} {row['reconstruction_loss']:>12.2f} "
              f"{row['tf_exact_match']:>6.3f}")
    write_result(args.name, {"commit": commit(), "inputs": inputs, "rows": rows})


if __name__ == "__main__":
    main()
