"""Cost of a training step by model variant: batch building, encoder forward, the rest.

Run with `uv run python benchmarks/step_cost.py --data DIR [--threads 2] [--batch 64]
[--variants base slots ...]`; trains each variant for 30 length-bucketed batches of the first
4,000 programs of DIR (forward, backward, AdamW step), times the last 27, prints milliseconds per
program and programs/s, and writes `results/step_cost.json` with the commit and inputs.

`--against REV` instead measures the same variants with this tree and with git revision REV
(checked out in a temporary worktree), each in its own process, alternately, `--repeats` times,
and writes `results/step_cost_against.json`: median programs/s of each tree and the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _report import worktree, write_result

from astae.core.config import ModelConfig
from astae.core.model.autoencoder import ASTAutoencoder
from astae.core.training_data import epoch_batches, make_batch, prepare_data

VARIANTS: dict[str, dict] = {
    "base": {},
    "mean_max": {"readout": "mean_max"},
    "slots8": {"latent_slots": 8},
    "slots8_slots": {"latent_slots": 8, "readout": "slots"},
    "slots8_sequence_slots": {"latent_slots": 8, "readout": "sequence_slots"},
    "slots8_transformer_slots": {"latent_slots": 8, "readout": "transformer_slots"},
    "hidden256": {"hidden_dim": 256},
}
CPU = torch.device("cpu")
WARMUP = 3


def measure(data, batches: list, model_kw: dict) -> dict:
    """Milliseconds per program of each part, and programs/s, for one variant."""
    torch.manual_seed(0)
    model = ASTAutoencoder(ModelConfig(**model_kw), data.num_features).train()
    optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
    parts = dict.fromkeys(("batch", "encoder_forward", "rest"), 0.0)
    programs = 0
    for i, chunk in enumerate(batches):
        t0 = time.perf_counter()
        batch = make_batch(data, chunk, CPU)
        t1 = time.perf_counter()
        mu, logvar = model.encode(batch.graph)
        t2 = time.perf_counter()
        out = model.loss(batch, mu, logvar)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        t3 = time.perf_counter()
        if i >= WARMUP:
            parts["batch"] += t1 - t0
            parts["encoder_forward"] += t2 - t1
            parts["rest"] += t3 - t2
            programs += len(chunk)
    return {"parameters": sum(p.numel() for p in model.parameters()),
            **{f"{k}_ms_per_program": 1e3 * v / programs for k, v in parts.items()},
            "programs_per_second": programs / sum(parts.values())}


def against(rev: str, args: argparse.Namespace) -> None:
    """This tree against revision `rev`: programs/s per variant, alternating processes."""
    here = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        ref = Path(tmp) / "ref"
        with worktree(rev, ref):
            trees = {"this tree": here, rev: ref}
            rates: dict[str, dict[str, list[float]]] = {t: {v: [] for v in args.variants} for t in trees}
            for _ in range(args.repeats):
                for name, tree in trees.items():
                    cmd = [sys.executable, __file__, "--data", str(args.data), "--threads", str(args.threads),
                           "--batch", str(args.batch), "--variants", *args.variants, "--print-json"]
                    done = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(tree)}, check=True,
                                          capture_output=True, text=True)
                    for variant, row in json.loads(done.stdout.strip().splitlines()[-1]).items():
                        rates[name][variant].append(row["programs_per_second"])
                    print(name, {v: round(r[-1]) for v, r in rates[name].items()}, flush=True)
    rows = {v: {t: statistics.median(rates[t][v]) for t in trees} for v in args.variants}
    print(f"\n{'variant':26} {'this tree':>10} {rev:>10} {'speed-up':>9}  "
          f"(programs/s, median of {args.repeats})")
    for v, row in rows.items():
        row["speedup"] = row["this tree"] / row[rev]
        print(f"{v:26} {row['this tree']:>10.0f} {row[rev]:>10.0f} {row['speedup']:>8.2f}x")
    write_result("step_cost_against", {
        "reference": rev, "repeats": args.repeats,
        "inputs": {"data": str(args.data), "programs": 4000, "threads": args.threads, "batch": args.batch},
        "rows": rows, "samples": rates})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--against", metavar="REV", help="compare with git revision REV")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--print-json", action="store_true", help=argparse.SUPPRESS)  # internal
    args = parser.parse_args()
    if args.against:
        against(args.against, args)
        return
    torch.set_num_threads(args.threads)
    data = prepare_data(args.data, 100, 42, 0.2, 4000, 4000)
    batches = list(epoch_batches(data, args.batch, np.random.default_rng(0)))[:30]
    measure(data, batches[:WARMUP + 1], {})  # first-use costs (allocator, kernels) land here
    rows = {}
    if args.print_json:
        for name in args.variants:
            rows[name] = measure(data, batches, VARIANTS[name])
        print(json.dumps(rows))
        return
    header = f"{'variant':26} {'params':>10} {'batch':>6} {'enc fwd':>8} {'rest':>6} {'prog/s':>7}"
    print(header + "  (ms/program)")
    for name in args.variants:
        row = rows[name] = measure(data, batches, VARIANTS[name])
        print(f"{name:26} {row['parameters']:>10,} {row['batch_ms_per_program']:>6.2f} "
              f"{row['encoder_forward_ms_per_program']:>8.2f} {row['rest_ms_per_program']:>6.2f} "
              f"{row['programs_per_second']:>7.0f}", flush=True)
    write_result("step_cost", {"inputs": {"data": str(args.data), "programs": 4000, "threads": args.threads,
                                          "batch": args.batch, "batches": len(batches) - WARMUP},
                               "rows": rows})


if __name__ == "__main__":
    main()
