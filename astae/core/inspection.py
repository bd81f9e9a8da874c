"""What `astae inspect` shows, computed as plain data (rendering lives in the CLI)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass

from astae.core.dataset import Dataset, DatasetError
from astae.core.derivation import Node, replay
from astae.core.grammar import GRAMMAR


def histogram(values: list[int], buckets: int = 8) -> list[tuple[str, int]]:
    """Counts of `values` in up to `buckets` equal-width integer ranges, as (label, count)."""
    if not values:
        return []
    low, high = min(values), max(values)
    width = max(1, -(-(high - low + 1) // buckets))
    counts: Counter = Counter((v - low) // width for v in values)
    rows = []
    for b in range(-(-(high - low + 1) // width)):
        start = low + b * width
        end = min(high, start + width - 1)
        rows.append((f"{start}" if start == end else f"{start}-{end}", counts.get(b, 0)))
    return rows


@dataclass
class DatasetSummary:
    """Counts, signature mix, size histograms, frequent productions and example statistics."""

    path: str
    origin: str
    programs: int
    candidates: int
    rejected: dict[str, int]
    signatures: list[tuple[str, int]]
    sizes: dict[str, list[tuple[str, int]]]
    size_means: dict[str, float]
    top_productions: list[tuple[str, int]]
    examples_per_program: tuple[int, float, int]
    output_types: dict[str, int]
    mean_output_list_length: float


def summarize_dataset(ds: Dataset, top: int = 12) -> DatasetSummary:
    """Summarise a loaded dataset for `astae inspect dataset`."""
    counts = ds.manifest["counts"]
    sizes = {key: [p["sizes"].get(key, 0) for p in ds.programs] for key in ("actions", "nodes", "depth")}
    productions: Counter = Counter()
    for p in ds.programs:
        productions.update(a for a in p["actions"] if a < GRAMMAR.new_action)
    n_examples = [len(p["examples"]) for p in ds.programs]
    outputs = [ex["output"] for p in ds.programs for ex in p["examples"]]
    list_lengths = [len(o) for o in outputs if isinstance(o, list)]
    return DatasetSummary(
        path=str(ds.path),
        origin=str(ds.manifest.get("origin", "")),
        programs=len(ds),
        candidates=int(counts.get("candidates", len(ds))),
        rejected=dict(counts.get("rejected", {})),
        signatures=Counter(p["signature"] for p in ds.programs).most_common(),
        sizes={k: histogram(v) for k, v in sizes.items()},
        size_means={k: statistics.fmean(v) for k, v in sizes.items()},
        top_productions=[
            (GRAMMAR.productions[a].label, c) for a, c in productions.most_common(top)
        ],
        examples_per_program=(min(n_examples), statistics.fmean(n_examples), max(n_examples)),
        output_types={
            "int": sum(isinstance(o, int) for o in outputs),
            "list[int]": len(list_lengths),
        },
        mean_output_list_length=statistics.fmean(list_lengths) if list_lengths else 0.0,
    )


@dataclass
class ProgramView:
    """One program of a dataset with its derivation tree, actions and graph statistics."""

    id: int
    source: str
    signature: str
    examples: list[dict]
    sizes: dict
    tree: Node
    actions: list[str]
    node_types: list[tuple[str, int]]
    edge_types: list[tuple[str, int]]


def view_program(ds: Dataset, program_id: int) -> ProgramView:
    """Everything `astae inspect program` shows about one program (loads its graph)."""
    if not 0 <= program_id < len(ds):
        raise DatasetError(f"{ds.path}: no program {program_id} (ids are 0..{len(ds) - 1})")
    record = ds.programs[program_id]
    state = replay(record["actions"])
    graph = ds.graphs()[program_id]
    vocab = ds.manifest["graphs"]
    node_types = Counter(vocab["node_types"][t] for t in graph.ndata["type"].tolist())
    edge_types = Counter(vocab["edge_types"][t] for t in graph.edata["etype"].tolist())
    return ProgramView(
        id=program_id,
        source=record["source"],
        signature=record["signature"],
        examples=record["examples"],
        sizes=record["sizes"],
        tree=state.tree(),
        actions=[GRAMMAR.action_label(a) for a in record["actions"]],
        node_types=node_types.most_common(),
        edge_types=edge_types.most_common(),
    )


def grammar_table() -> list[tuple[str, list[str]]]:
    """(nonterminal, production labels) for every nonterminal, plus the variable slots."""
    rows = [
        (nt, [GRAMMAR.productions[p].label.split(" -> ", 1)[1] for p in ids])
        for nt, ids in GRAMMAR.by_lhs.items()
    ]
    slot_help = {
        "Use": "VAR(j) of a variable of this type that is assigned on every path here",
        "Target": "NEW, or VAR(j) of a declared variable of this type",
        "Fresh": "NEW (a comprehension's own variable)",
    }
    for slot in GRAMMAR.variable_slots:
        rows.append((slot, [slot_help[slot.split(":")[0]]]))
    return rows
