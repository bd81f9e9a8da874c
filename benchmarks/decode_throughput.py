"""Decoding throughput: batched greedy decoding against one program at a time, same model, one run.

Run with `uv run python benchmarks/decode_throughput.py [--checkpoint PATH] [--data DIR]`; prints a
table and writes `benchmarks/results/decode_throughput.json`. Without --checkpoint it builds a
2,000-program dataset (seed 0) in a temporary directory and trains `configs/quickstart.yaml` on it
for 5 epochs; with --checkpoint it decodes with that model, on the dataset the checkpoint records
(or --data).

All methods decode the same latent codes: the mean codes (z = mu) of the first --programs
validation programs, as `astae eval` does (random or untrained codes give unrealistic lengths).

- **batched greedy**: `greedy_decode` over chunks of --batch (256) codes;
- **one at a time**: `greedy_decode` of one code per call, over --single (128) of the codes,
  evenly spaced so that their lengths are like those of all;
- **beam**: `beam_decode` of width --beam (4) over chunks of --batch codes; its cost is the time
  ratio to batched greedy over the same codes.

Each method is warmed up once before it is timed. Beside the rates the report gives the mean
decoded length, how often beam search's program differs from greedy's, each one's mean
length-normalised log-probability (`Decoded.score`) and exact match (actions equal the original's).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from _report import write_result

from astae.core.checkpoint import load_model
from astae.core.config import GeneratorConfig, TrainConfig, load_config
from astae.core.dataset_build import build_dataset
from astae.core.latent import encode_ids
from astae.core.model.autoencoder import ASTAutoencoder
from astae.core.model.decoding import Decoded, beam_decode, greedy_decode
from astae.core.training import train
from astae.core.training_data import prepare_data

CPU = torch.device("cpu")
QUICKSTART = Path(__file__).parents[1] / "configs" / "quickstart.yaml"
TARGET = 10.0

Decoder = Callable[[torch.Tensor], list[Decoded]]


def _train_model(workdir: Path, n: int, epochs: int) -> tuple[Path, Path]:
    """Build `n` programs and train the quickstart config on them; (checkpoint, dataset)."""
    data_dir = workdir / "data"
    build_dataset(data_dir, n, seed=0, cfg=GeneratorConfig(), workers=2)
    overrides = {"data.data_dir": str(data_dir), "training.epochs": epochs, "training.eval_interval": epochs,
                 "tracking.wandb": False, "tracking.artifacts_dir": str(workdir / "runs")}
    result = train(load_config(TrainConfig, QUICKSTART, overrides))
    best = result.run_dir / "best_model.pt"
    return (best if best.is_file() else result.checkpoint), data_dir


def timed(decode: Decoder, codes: torch.Tensor, batch: int) -> tuple[list[Decoded], float]:
    """(decodes, seconds) of `decode` over `codes` in chunks of `batch` rows."""
    decoded: list[Decoded] = []
    start = time.perf_counter()
    for first in range(0, codes.shape[0], batch):
        decoded.extend(decode(codes[first:first + batch]))
    return decoded, time.perf_counter() - start


def measure(model: ASTAutoencoder, codes: torch.Tensor, args: argparse.Namespace) -> dict:
    """Time the three methods on `codes`; the rows of the table and the decodes."""
    steps = model.cfg.max_decode_steps

    def greedy(z: torch.Tensor) -> list[Decoded]:
        return greedy_decode(model.decoder, z, steps)

    def beam(z: torch.Tensor) -> list[Decoded]:
        return beam_decode(model.decoder, z, steps, args.beam)

    picked = [i * codes.shape[0] // args.single for i in range(args.single)]  # spread over all codes
    single = codes[picked]
    greedy(codes[: args.batch])  # warm-up
    batched, b_seconds = timed(greedy, codes, args.batch)
    greedy(single[:1])  # warm-up
    one, s_seconds = timed(greedy, single, 1)
    beam(codes[: min(args.batch, 32)])  # warm-up
    beamed, k_seconds = timed(beam, codes, args.batch)
    if [d.actions for d in one] != [batched[i].actions for i in picked]:
        print("note: one-at-a-time greedy differs from batched greedy on some programs")
    return {"batched": (batched, b_seconds), "one": (one, s_seconds), "beam": (beamed, k_seconds),
            "picked": picked}


def _mean(values: list[float]) -> float:
    return sum(values) / max(1, len(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="a trained model (default: train quickstart)")
    parser.add_argument("--data", type=Path, help="its dataset (default: the one the checkpoint records)")
    parser.add_argument("--n", type=int, default=2000, help="programs to build without --checkpoint")
    parser.add_argument("--epochs", type=int, default=5, help="epochs to train without --checkpoint")
    parser.add_argument("--programs", type=int, default=1024, help="validation codes decoded (all if fewer)")
    parser.add_argument("--single", type=int, default=128, help="of them, decoded one at a time")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    default_threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint, data_dir = args.checkpoint, args.data
        if checkpoint is None:
            checkpoint, trained_on = _train_model(Path(tmp), args.n, args.epochs)
            data_dir = data_dir or trained_on
        model, cfg, payload = load_model(checkpoint, device="cpu")
        data_dir = data_dir or Path(payload["dataset"]["path"])
        data = prepare_data(data_dir, cfg.model.max_decode_steps, cfg.training.seed, cfg.data.val_fraction,
                            cfg.data.max_programs)
        torch.set_num_threads(args.threads or default_threads)  # training may have changed it
        ids = data.val_ids[: args.programs]
        codes = encode_ids(model, data, ids, CPU, args.batch)
        args.single = min(args.single, len(ids))
        runs = measure(model, codes, args)
        originals = [data.targets[i].actions.tolist() for i in ids]
    print(f"model {checkpoint} ({sum(p.numel() for p in model.parameters()):,} parameters, "
          f"hidden {cfg.model.hidden_dim}, max_decode_steps {cfg.model.max_decode_steps}); "
          f"dataset {data_dir}; torch threads {torch.get_num_threads()}")
    report(runs, originals, args, {
        "checkpoint": str(checkpoint) if args.checkpoint else f"quickstart, {args.epochs} epochs",
        "dataset": str(data_dir) if args.checkpoint else f"{args.n} programs, seed 0",
        "validation_programs": len(ids), "parameters": sum(p.numel() for p in model.parameters()),
        "hidden_dim": cfg.model.hidden_dim, "max_decode_steps": cfg.model.max_decode_steps,
        "torch_threads": torch.get_num_threads(),
    })


def report(runs: dict, originals: list[list[int]], args: argparse.Namespace, setup: dict) -> None:
    """Print the table and write the JSON result."""
    (greedy, g_seconds), (one, s_seconds), (beamed, k_seconds) = runs["batched"], runs["one"], runs["beam"]
    rows = []
    for method, decoded, seconds, targets in [
        (f"batched greedy (batch {args.batch})", greedy, g_seconds, originals),
        ("greedy, one program at a time", one, s_seconds, [originals[i] for i in runs["picked"]]),
        (f"beam width {args.beam} (batch {args.batch})", beamed, k_seconds, originals),
    ]:
        rows.append({
            "method": method, "programs": len(decoded), "seconds": round(seconds, 2),
            "programs_per_s": round(len(decoded) / seconds, 1),
            "actions_per_s": round(sum(len(d.actions) for d in decoded) / seconds),
            "mean_actions": round(_mean([len(d.actions) for d in decoded]), 1),
            "mean_score": round(_mean([d.score for d in decoded]), 4),
            "exact_match": round(_mean([d.actions == o for d, o in zip(decoded, targets)]), 4),
        })
    speedup = (len(greedy) / g_seconds) / (len(one) / s_seconds)
    beam_cost = k_seconds / g_seconds
    differs = _mean([b.actions != g.actions for b, g in zip(beamed, greedy)])
    print(f"{'method':34} {'programs':>9} {'seconds':>8} {'programs/s':>11} {'actions/s':>10} "
          f"{'actions':>8} {'score':>8} {'exact':>6}")
    for r in rows:
        print(f"{r['method']:34} {r['programs']:>9} {r['seconds']:>8} {r['programs_per_s']:>11} "
              f"{r['actions_per_s']:>10} {r['mean_actions']:>8} {r['mean_score']:>8} {r['exact_match']:>6}")
    print(f"speed-up of batched greedy over one at a time: {speedup:.1f}x (target >= {TARGET:g}x)")
    print(f"beam width {args.beam} costs {beam_cost:.2f}x greedy's time; its program differs from "
          f"greedy's for {differs:.1%} of the codes")
    write_result("decode_throughput", {
        **setup, "batch_size": args.batch, "beam_width": args.beam, "rows": rows,
        "speedup": round(speedup, 2), "target_met": speedup >= TARGET,
        "beam_time_ratio": round(beam_cost, 2), "beam_differs_from_greedy": round(differs, 4),
    })

if __name__ == "__main__":
    main()
