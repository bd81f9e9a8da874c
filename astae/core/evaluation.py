"""Measuring a model on a split: teacher-forced losses, and decodes run on the examples.

`evaluate_decodes` is what training's validation calls; `evaluate_checkpoint` is `astae eval`:
the checkpoint's split recomputed from its config, every program encoded to its mean code,
decoded (greedy or beam search), scored and run on its examples, with the DESIGN §5 metrics,
counts, decoding throughput and a breakdown by program size and signature.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from astae.core.checkpoint import load_model
from astae.core.config import ConfigError
from astae.core.devices import resolve_device
from astae.core.executor import ExecutionLimits, Executor
from astae.core.metrics import RATE_KEYS, ProgramScore, score_programs, summarize_scores
from astae.core.model.autoencoder import LOSS_KEYS, ASTAutoencoder
from astae.core.model.decoding import Decoded, DecodeOptions
from astae.core.training_data import SPLITS, TrainingData, batches, checkpoint_data, make_batch, split_of

# A decoded program's call on one example. Every dataset program ran within the generator's
# 10 ms per call, so 50 ms leaves a right decode room; a wrong one stuck in a long loop costs
# little (at 250 ms, the timeouts of 2% of the decodes took most of an evaluation's time).
DECODE_LIMITS = ExecutionLimits(time_limit=0.05, memory_limit_mb=512)
# Upper bounds (inclusive) of the program-size buckets, in actions.
SIZE_BUCKETS = (15, 23, 31, 47, 63)

Progress = Callable[[int, int], None]


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
    model: ASTAutoencoder, data: TrainingData, ids: Sequence[int], device: torch.device, batch_size: int,
    options: DecodeOptions | None = None, progress: Progress | None = None,
) -> list[Decoded]:
    """Decodes (greedy unless `options` say otherwise) of the programs `ids` from their mean codes."""
    model.eval()
    options = options or DecodeOptions()
    decoded: list[Decoded] = []
    for chunk in batches(ids, batch_size):
        graph = data.graphs.batch(list(chunk)).to(device)
        mu, _ = model.encode(graph)
        decoded.extend(options.run(model.decoder, mu, model.cfg.max_decode_steps))
        if progress is not None:
            progress(len(decoded), len(ids))
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


def size_bucket(actions: int) -> str:
    """The label of the size bucket a program of `actions` actions falls in."""
    low = 1
    for high in SIZE_BUCKETS:
        if actions <= high:
            return f"{low}-{high}"
        low = high + 1
    return f"{low}+"


@dataclass
class EvalReport:
    """What `astae eval` measured; `programs` holds one row per program (for `--dump`)."""

    checkpoint: str
    data_dir: str
    split: str
    decoding: dict
    metrics: dict[str, float]
    counts: dict[str, int]
    throughput: dict[str, float]
    by_size: list[dict]
    by_signature: list[dict]
    programs: list[dict] = field(default_factory=list, repr=False)

    def to_json(self) -> dict:
        """The report without the per-program rows."""
        out = asdict(self)
        del out["programs"]
        return out


def _breakdown(groups: dict[str, list[ProgramScore]], order: list[str]) -> list[dict]:
    rows = []
    for key in order:
        summary = summarize_scores(groups[key])
        rows.append({"group": key, "count": len(groups[key]), **{k: summary[k] for k in RATE_KEYS}})
    return rows


def evaluate_checkpoint(
    checkpoint: Path, data_dir: Path | None = None, split: str = "val", beam: int = 1,
    batch_size: int = 256, limit: int | None = None, device: str = "auto", workers: int = 2,
    progress: Progress | None = None,
) -> EvalReport:
    """Decode a checkpoint's split and run the decodes on the examples (DESIGN §5 metrics)."""
    if split not in SPLITS:
        raise ConfigError(f"--split: {split!r} is not one of {', '.join(SPLITS)}")
    if beam < 1:
        raise ConfigError(f"--beam: the beam width must be at least 1, not {beam}")
    model, cfg, payload = load_model(checkpoint)
    data = checkpoint_data(cfg, payload, data_dir)
    ids = split_of(data, split)
    if limit is not None:
        ids = ids[:limit]
    target = resolve_device(device, "--device")
    model.to(target)
    options = DecodeOptions(beam=beam)
    teacher_forced = teacher_forced_metrics(model, data, ids, target, batch_size)
    start = time.perf_counter()
    decoded = decode_ids(model, data, ids, target, batch_size, options, progress)
    decode_seconds = time.perf_counter() - start
    records = [data.dataset.programs[i] for i in ids]
    start = time.perf_counter()
    with Executor(workers=workers, limits=DECODE_LIMITS) as executor:
        scores = score_programs(records, [d.source for d in decoded], executor)
    run_seconds = time.perf_counter() - start
    summary = summarize_scores(scores)

    metrics = {key: teacher_forced[key] for key in ("loss", "reconstruction_loss", "kl", "semantic_loss")}
    metrics.update({key: summary[key] for key in RATE_KEYS})
    metrics["tf_similarity"] = teacher_forced["similarity"]
    metrics["tf_exact_match"] = teacher_forced["exact_match"]
    counts = {
        "programs": len(ids),
        "skipped": data.skipped,
        "examples": sum(len(r["examples"]) for r in records),
        "compiled": sum(s.compiles for s in scores),
        "exact": sum(s.exact for s in scores),
        "one_example": sum(s.passed >= 1 for s in scores),
        "all_examples": sum(0 < len(s.outcomes) == s.passed for s in scores),
    }
    by_size: dict[str, list[ProgramScore]] = {}
    by_signature: dict[str, list[ProgramScore]] = {}
    rows = []
    for i, record, d, score in zip(ids, records, decoded, scores):
        by_size.setdefault(size_bucket(len(record["actions"])), []).append(score)
        by_signature.setdefault(record["signature"], []).append(score)
        rows.append({"id": i, "signature": record["signature"], "actions": len(record["actions"]),
                     **score.to_json(), "log_prob": d.log_prob, "score": d.score})
    size_order = sorted(by_size, key=lambda label: int(label.split("-")[0].rstrip("+")))
    signature_order = sorted(by_signature, key=lambda s: (-len(by_signature[s]), s))
    return EvalReport(
        checkpoint=str(checkpoint),
        data_dir=str(data.dataset.path),
        split=split,
        decoding={"strategy": "beam" if beam > 1 else "greedy", "beam": beam,
                  "max_decode_steps": cfg.model.max_decode_steps, "device": str(target)},
        metrics=metrics,
        counts=counts,
        throughput={
            "decode_seconds": decode_seconds,
            "decode_programs_per_second": len(ids) / decode_seconds if decode_seconds > 0 else 0.0,
            "run_seconds": run_seconds,
        },
        by_size=_breakdown(by_size, size_order),
        by_signature=_breakdown(by_signature, signature_order),
        programs=rows,
    )
