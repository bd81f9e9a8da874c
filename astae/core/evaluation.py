"""Measuring a model on a split: teacher-forced losses, and decodes run on the examples.

`score_chunk` is the one scoring step, which training's validation and `astae eval` call a chunk at
a time. `evaluate_checkpoint` is `astae eval`: the checkpoint's split recomputed from its config,
every program encoded to its mean code, decoded (greedy or beam search), scored and run on its
examples, with the DESIGN §5 metrics, counts, decoding throughput and a breakdown by program size
and signature.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from astae.core.config import ConfigError
from astae.core.dataset import Dataset
from astae.core.devices import resolve_device
from astae.core.executor import Executor
from astae.core.files import jsonl_writer
from astae.core.metrics import RATE_KEYS, ProgramScore, ScoreTally, score_programs
from astae.core.model.autoencoder import LOSS_KEYS, ASTAutoencoder
from astae.core.model.decoding import Decoded, DecodeOptions
from astae.core.records import ProgramRecords, select_records
from astae.core.sandbox_pool import ExecutionLimits
from astae.core.trained import TrainedModel
from astae.core.training_data import (
    SPLITS,
    SplitBuilder,
    SplitRule,
    TrainingData,
    batches,
    make_batch,
    program_features,
    program_targets,
)

# A decoded program's call on one example. Every dataset program ran within the generator's
# 10 ms per call, so 50 ms leaves a right decode room; a wrong one stuck in a long loop costs
# little (at 250 ms, the timeouts of 2% of the decodes took most of an evaluation's time).
DECODE_LIMITS = ExecutionLimits(time_limit=0.05, memory_limit_mb=512)
# Upper bounds (inclusive) of the program-size buckets, in actions.
SIZE_BUCKETS = (15, 23, 31, 47, 63)
EVAL_CHUNK = 1024  # programs whose records, targets and decodes are in memory at once (~10 KB each)

Progress = Callable[[int, int], None]


@torch.no_grad()
def measure_ids(
    model: ASTAutoencoder, data: TrainingData, ids: Sequence[int], device: torch.device, batch_size: int,
    options: DecodeOptions | None = None, progress: Progress | None = None,
) -> tuple[dict[str, float], list[Decoded]]:
    """Teacher-forced loss sums over the programs `ids` (keys of LOSS_KEYS; similarity and exact
    match are teacher-forced argmax accuracy and exact match, z = mu), and, if `options` are given,
    their decodes from the same mean codes (each batch is encoded once for both)."""
    model.eval()
    totals = dict.fromkeys(LOSS_KEYS, 0.0)
    cfg = model.cfg
    decoded: list[Decoded] = []
    for chunk in batches(ids, batch_size):
        batch = make_batch(data, chunk, device)
        mu, logvar = model.encode(batch.graph)
        out = model.loss(batch, mu, logvar)
        per_program = out.reconstruction + cfg.kl_weight * out.kl + cfg.semantic_weight * out.semantic
        totals["loss"] += per_program.sum().item()
        for key, value in out.totals().items():
            totals[key] += value
        if options is not None:
            decoded.extend(options.run(model.decoder, mu, cfg.max_decode_steps))
            if progress is not None:
                progress(len(decoded), len(ids))
    return totals, decoded


@dataclass
class ScoredChunk:
    """A chunk of programs measured and decoded from the same codes, the decodes run on the examples."""

    records: list[dict]
    decoded: list[Decoded]
    scores: list[ProgramScore]
    sums: dict[str, float]  # teacher-forced sums of LOSS_KEYS over the chunk
    decode_seconds: float  # encoding, teacher-forced loss and decoding
    run_seconds: float  # running the decodes


def score_chunk(
    model: ASTAutoencoder, data: TrainingData, ids: Sequence[int], device: torch.device, executor: Executor,
    batch_size: int, options: DecodeOptions | None = None, records: list[dict] | None = None,
) -> ScoredChunk:
    """The one scoring step of validation and `astae eval`: each program of `ids` encoded once,
    its teacher-forced loss measured and its code decoded (greedy unless `options` say otherwise),
    then every decode run on the original's examples. `records` are `ids`' records if the caller
    has read them (else they are read here); everything of the chunk is held at once."""
    start = time.perf_counter()
    sums, decoded = measure_ids(model, data, ids, device, batch_size, options or DecodeOptions())
    decode_seconds = time.perf_counter() - start
    if records is None:
        records = list(select_records(data.dataset.programs, ids))
    start = time.perf_counter()
    scores = score_programs(records, [d.source for d in decoded], executor)
    return ScoredChunk(records, decoded, scores, sums, decode_seconds, time.perf_counter() - start)


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
    """What `astae eval` measured (the per-program rows go to the dump file, if one was asked for)."""

    checkpoint: str
    data_dir: str
    split: str
    decoding: dict
    metrics: dict[str, float]
    counts: dict[str, int]
    throughput: dict[str, float]
    by_size: list[dict]
    by_signature: list[dict]

    def to_json(self) -> dict:
        """The report as plain JSON-able data."""
        return asdict(self)


def _breakdown(groups: dict[str, ScoreTally], order: list[str]) -> list[dict]:
    rows = []
    for key in order:
        summary = groups[key].summary()
        rows.append({"group": key, "count": summary["count"], **{k: summary[k] for k in RATE_KEYS}})
    return rows


def _split_records(dataset: Dataset, rule: SplitRule, split: str) -> tuple[ProgramRecords, np.ndarray, int]:
    """One pass over programs.jsonl: its records (read on demand), the split's ids in id order
    (`all` when the train or validation side is empty), and the number of programs the rule
    skips. An empty test side is an error: falling back would measure on trained programs."""
    builder = SplitBuilder(rule)
    records = ProgramRecords(dataset, rule.max_programs, builder.add)
    train, val, test = builder.sides()
    if split == "test" and not len(test):
        why = ("its training held out no test split (data.test_fraction: 0)" if rule.test_fraction == 0
               else f"no program of {dataset.path} fell on its test side")
        raise ConfigError.naming("{split}: 'test': this checkpoint has no test programs; {why}", why=why)
    chosen = {"train": train, "val": val, "test": test}.get(split)
    if chosen is None or not len(chosen):
        chosen = np.sort(np.concatenate([train, val, test]))
    return records, chosen, builder.skipped


def evaluate_checkpoint(
    checkpoint: Path, data_dir: Path | None = None, split: str = "val", beam: int = 1,
    batch_size: int = 256, limit: int | None = None, device: str = "auto", workers: int = 2,
    progress: Progress | None = None, dump: Path | None = None, chunk_size: int = EVAL_CHUNK,
) -> EvalReport:
    """Decode a checkpoint's split and run the decodes on the examples (DESIGN §5 metrics).

    The split is streamed in chunks of `chunk_size` programs (records, targets, graphs and scores
    of one chunk at a time), so memory does not grow with the dataset; `dump` gets one JSON line
    per program, written to a temp file and renamed into place at the end."""
    if split not in SPLITS:
        raise ConfigError.not_one_of("split", split, SPLITS)
    if beam < 1:
        raise ConfigError.naming("{beam}: the beam width must be at least 1, not {value}", value=beam)
    target = resolve_device(device, "device", parameter=True)
    trained = TrainedModel(checkpoint, target)
    model, cfg = trained.model, trained.cfg
    dataset = trained.dataset(data_dir)
    programs, ids, skipped = _split_records(dataset, trained.split_rule, split)
    if limit is not None:
        ids = ids[:limit]
    options = DecodeOptions(beam=beam)
    graphs = dataset.graphs()
    budget = cfg.model.max_decode_steps
    losses = dict.fromkeys(LOSS_KEYS, 0.0)
    tally, by_size, by_signature = ScoreTally(), defaultdict(ScoreTally), defaultdict(ScoreTally)
    counts = dict.fromkeys(("programs", "skipped", "examples", "compiled", "exact", "one_example",
                            "all_examples"), 0)
    counts["skipped"] = skipped
    decode_seconds = run_seconds = 0.0
    with contextlib.ExitStack() as stack:
        executor = stack.enter_context(Executor(workers=workers, limits=DECODE_LIMITS))
        write_row = stack.enter_context(jsonl_writer(dump)) if dump is not None else None
        for wanted in batches(ids, chunk_size):
            records = list(programs.select(wanted))
            targets = {}
            for r in records:  # over-budget programs are not in the plan: None only if corrupt
                found = program_targets(dataset, r, budget)
                if found is None:
                    counts["skipped"] += 1
                else:
                    targets[r["id"]] = found
            records = [r for r in records if r["id"] in targets]
            if not records:
                continue
            chunk_ids = [r["id"] for r in records]
            features = {r["id"]: program_features(dataset, r) for r in records}
            data = TrainingData(dataset, graphs, targets, features, np.empty(0, np.int64),
                                np.asarray(chunk_ids, dtype=np.int64), 0)
            scored = score_chunk(model, data, chunk_ids, target, executor, batch_size, options, records)
            decode_seconds += scored.decode_seconds
            run_seconds += scored.run_seconds
            for key, value in scored.sums.items():
                losses[key] += value
            tally.add(scored.scores)
            for record, d, score in zip(records, scored.decoded, scored.scores):
                by_size[size_bucket(len(record["actions"]))].add([score])
                by_signature[record["signature"]].add([score])
                counts["examples"] += len(record["examples"])
                if write_row is not None:
                    row = {"id": record["id"], "signature": record["signature"],
                           "actions": len(record["actions"]), **score.to_json(),
                           "log_prob": d.log_prob, "score": d.score}
                    write_row(row)
            counts["programs"] += len(records)
            if progress is not None:
                progress(counts["programs"], len(ids))
    summary = tally.summary()
    n = max(1, counts["programs"])
    metrics = {key: losses[key] / n for key in ("loss", "reconstruction_loss", "kl", "semantic_loss")}
    metrics.update({key: summary[key] for key in RATE_KEYS})
    metrics["tf_similarity"] = losses["similarity"] / n
    metrics["tf_exact_match"] = losses["exact_match"] / n
    counts.update({
        "compiled": round(tally.sums["compilation_rate"]), "exact": round(tally.sums["exact_match"]),
        "one_example": round(tally.sums["one_example_rate"]),
        "all_examples": round(tally.sums["all_examples_rate"]),
    })
    size_order = sorted(by_size, key=lambda label: int(label.split("-")[0].rstrip("+")))
    signature_order = sorted(by_signature, key=lambda s: (-by_signature[s].count, s))
    return EvalReport(
        checkpoint=str(checkpoint),
        data_dir=str(dataset.path),
        split=split,
        decoding={"strategy": "beam" if beam > 1 else "greedy", "beam": beam,
                  "max_decode_steps": budget, "device": str(target)},
        metrics=metrics,
        counts=counts,
        throughput={
            "decode_seconds": decode_seconds,
            "decode_programs_per_second": counts["programs"] / decode_seconds if decode_seconds > 0 else 0.0,
            "run_seconds": run_seconds,
        },
        by_size=_breakdown(by_size, size_order),
        by_signature=_breakdown(by_signature, signature_order),
    )
