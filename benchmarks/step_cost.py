"""Cost of a training step by model variant: batch building, encoder forward, the rest.

Run with `uv run python benchmarks/step_cost.py --data DIR [--threads 2] [--batch 64]
[--variants base slots ...]`; trains each variant for 30 length-bucketed batches of the first
4,000 programs of DIR (forward, backward, AdamW step), times the last 27, prints milliseconds per
program and programs/s, and writes `results/step_cost.json` with the commit and inputs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from _report import write_result

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = prepare_data(args.data, 100, 42, 0.2, 4000, 4000)
    batches = list(epoch_batches(data, args.batch, np.random.default_rng(0)))[:30]
    measure(data, batches[:WARMUP + 1], {})  # first-use costs (allocator, kernels) land here
    rows = {}
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
