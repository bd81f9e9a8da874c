"""Training throughput: batched teacher forcing vs one program at a time, same model, one run.

Run with `uv run python benchmarks/train_throughput.py [--data DIR]`; prints a table and writes
`benchmarks/results/train_throughput.json`. Without --data it builds a 1,000-program dataset
(seed 0) in a temporary directory.

- **batched** (what `astae train` does): 64 programs per step; the decoder runs over whole padded
  sequences at once with the legal-action masks precomputed from the target derivations.
- **reference** (kept here only as the yardstick): the same model and loss, one program per step,
  the decoder stepped action by action with the mask taken from a live `DerivationState`, as a
  naive implementation that drives its decoder like decoding would.

Both do forward, backward and an optimiser step; programs/s counts programs trained on.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _report import write_result

from astae.core.config import GeneratorConfig, ModelConfig
from astae.core.dataset_build import build_dataset
from astae.core.derivation import DerivationState
from astae.core.grammar import MAX_PARAMS
from astae.core.model.autoencoder import ASTAutoencoder
from astae.core.model.targets import legal_mask, step_inputs
from astae.core.training_data import TrainingData, epoch_batches, make_batch, prepare_data

BATCH = 64
HIDDEN = 128
CPU = torch.device("cpu")


def batched_rate(model: ASTAutoencoder, data: TrainingData, programs: int) -> tuple[float, float, int]:
    """(programs/s, seconds, programs) of batched training steps as `astae train` takes them
    (length-bucketed batches of the training split, epoch after epoch) over >= `programs` programs."""
    optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
    rng = np.random.default_rng(0)
    done = 0
    start = time.perf_counter()
    while done < programs:
        for chunk in epoch_batches(data, BATCH, rng):
            out = model(make_batch(data, chunk, CPU))
            optimizer.zero_grad()
            out.loss.backward()
            optimizer.step()
            done += len(chunk)
            if done >= programs:
                break
    seconds = time.perf_counter() - start
    return done / seconds, seconds, done


def reference_loss(model: ASTAutoencoder, data: TrainingData, i: int) -> torch.Tensor:
    """One program's loss, its decoder stepped action by action with live masks."""
    decoder = model.decoder
    g = decoder.grammar
    mu, logvar = model.encode(data.graphs.batch([i]))
    z = model.latent(mu, logvar)
    ctx = decoder.latent_context(z)
    rnn_state = decoder.initial_state(z)
    memory = decoder.empty_memory(1)
    state = DerivationState(model.cfg.max_decode_steps, g)
    nll = z.new_zeros(())
    for action in data.targets[i].actions.tolist():
        prev, parent, symbol = (torch.tensor([v]) for v in step_inputs(state))
        legal = torch.from_numpy(legal_mask(state, g)).unsqueeze(0)
        logits, out, rnn_state = decoder.step(ctx, prev, parent, symbol, rnn_state,
                                               decoder.memory_keys(memory), legal)
        nll = nll - torch.log_softmax(logits, -1)[0, action]
        if action == g.new_action:
            memory = memory.clone()
            memory[0, MAX_PARAMS + state.num_locals] = out[0]
        state.apply(action)
    features = torch.from_numpy(data.features[i][None])
    semantic = torch.nn.functional.binary_cross_entropy_with_logits(
        model.semantic_head(z), features, reduction="sum"
    )
    return nll + model.cfg.semantic_weight * semantic


def reference_rate(model: ASTAutoencoder, data: TrainingData, ids: list[int]) -> tuple[float, float]:
    """(programs/s, seconds) of one-program-at-a-time training steps over `ids`."""
    optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
    start = time.perf_counter()
    for i in ids:
        loss = reference_loss(model, data, i)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    return len(ids) / seconds, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="an existing dataset (default: build 1,000 programs)")
    parser.add_argument("--batched-programs", type=int, default=2048)
    parser.add_argument("--reference-programs", type=int, default=128)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data
        if data_dir is None:
            data_dir = Path(tmp) / "data"
            build_dataset(data_dir, 1000, seed=0, cfg=GeneratorConfig(), workers=2)
        data = prepare_data(data_dir, max_decode_steps=100, seed=0, val_fraction=0.2)
        ids = data.train_ids
        torch.manual_seed(0)
        model = ASTAutoencoder(ModelConfig(hidden_dim=HIDDEN), data.num_features).train()
        batched_rate(model, data, BATCH * 2)  # warm-up
        b_rate, b_seconds, b_programs = batched_rate(model, data, args.batched_programs)
        reference_rate(model, data, ids[:8])  # warm-up
        r_rate, r_seconds = reference_rate(model, data, ids[: args.reference_programs])
    rows = [
        {"method": f"batched teacher forcing (batch {BATCH})", "programs": b_programs,
         "seconds": round(b_seconds, 2), "programs_per_s": round(b_rate, 1)},
        {"method": "reference: one program, step by step", "programs": args.reference_programs,
         "seconds": round(r_seconds, 2), "programs_per_s": round(r_rate, 1)},
    ]
    ratio = b_rate / r_rate
    print(f"{'method':42} {'programs':>9} {'seconds':>8} {'programs/s':>11}")
    for r in rows:
        print(f"{r['method']:42} {r['programs']:>9} {r['seconds']:>8} {r['programs_per_s']:>11}")
    print(f"speed-up: {ratio:.1f}x (target >= 20x)")
    write_result("train_throughput", {
        "torch_threads": torch.get_num_threads(), "hidden_dim": HIDDEN, "batch_size": BATCH,
        "rows": rows, "speedup": round(ratio, 2),
    })


if __name__ == "__main__":
    main()
