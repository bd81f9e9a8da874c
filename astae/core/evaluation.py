"""Measuring a model on a split: teacher-forced losses, and greedy decodes run on the examples."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from astae.core.executor import Executor
from astae.core.metrics import ProgramScore, score_programs, summarize_scores
from astae.core.model.autoencoder import LOSS_KEYS, ASTAutoencoder
from astae.core.model.decoding import Decoded, greedy_decode
from astae.core.training_data import TrainingData, batches, make_batch


@torch.no_grad()
def teacher_forced_metrics(
    model: ASTAutoencoder, data: TrainingData, ids: Sequence[int], device: torch.device, batch_size: int
) -> dict[str, float]:
    """Mean per-program loss, reconstruction loss, KL and semantic loss, plus teacher-forced
    argmax similarity (action accuracy) and exact match, with z = mu."""
    model.eval()
    totals = dict.fromkeys(LOSS_KEYS, 0.0)
    cfg = model.cfg
    for chunk in batches(ids, batch_size):
        out = model(make_batch(data, chunk, device))
        per_program = out.reconstruction + cfg.kl_weight * out.kl + cfg.semantic_weight * out.semantic
        totals["loss"] += per_program.sum().item()
        for key, value in out.totals().items():
            totals[key] += value
    return {k: v / max(1, len(ids)) for k, v in totals.items()}


@torch.no_grad()
def decode_ids(
    model: ASTAutoencoder, data: TrainingData, ids: Sequence[int], device: torch.device, batch_size: int
) -> list[Decoded]:
    """Greedy decodes of the programs `ids` from their mean latent codes."""
    model.eval()
    decoded: list[Decoded] = []
    for chunk in batches(ids, batch_size):
        graph = data.graphs.batch(list(chunk)).to(device)
        mu, _ = model.encode(graph)
        decoded.extend(greedy_decode(model.decoder, mu, model.cfg.max_decode_steps))
    return decoded


def evaluate_decodes(
    model: ASTAutoencoder, data: TrainingData, ids: Sequence[int], device: torch.device,
    executor: Executor, batch_size: int,
) -> tuple[dict[str, float], list[ProgramScore]]:
    """Greedy-decode `ids`, run the decodes on the originals' examples; (summary, per program)."""
    decoded = decode_ids(model, data, ids, device, batch_size)
    records = [data.dataset.programs[i] for i in ids]
    scores = score_programs(records, [d.source for d in decoded], executor)
    return summarize_scores(scores), scores
