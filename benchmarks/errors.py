"""Where reconstruction errors are: teacher-forced accuracy by kind of action, and the kind of
each program's first wrong action (the one that breaks exact match), over a validation split.

Run with `uv run python benchmarks/errors.py CKPT [--label NAME] [--limit N]`; prints a table
and adds the checkpoint's row (keyed by `--label`) to `results/errors.json`, with the commit.
Teacher-forced argmax is what greedy decoding picks as long as every earlier action was right,
so a program's first teacher-forced error is where its greedy decode leaves the original.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import torch
from _report import RESULTS, commit, write_result

from astae.core.checkpoint import load_model
from astae.core.grammar import GRAMMAR
from astae.core.training_data import checkpoint_data, make_batch

CPU = torch.device("cpu")
KINDS = ("signature", "statement", "constant", "operator", "variable", "expression")
_OPERATORS = {"binop", "compare", "boolop", "augassign", "neg", "not"}


def action_kind(action: int) -> str:
    """The kind of a grammar action: which part of a program it writes."""
    if action >= GRAMMAR.new_action:
        return "variable"
    production = GRAMMAR.productions[action]
    if production.lhs == "Program":
        return "signature"
    if production.kind == "const":
        return "constant"
    if production.kind in _OPERATORS:
        return "operator"
    if production.lhs.split(":")[0] in ("Stmt", "Body", "Block", "More", "Else"):
        return "statement"
    return "expression"


def analyse(checkpoint: Path, limit: int | None, batch_size: int = 128) -> dict:
    """Per-kind accuracy, first-error kinds and exact match over the checkpoint's validation split."""
    model, cfg, payload = load_model(checkpoint)
    data = checkpoint_data(cfg, payload)
    ids = [int(i) for i in data.val_ids[:limit]]
    right, seen, first_errors = Counter(), Counter(), Counter()
    exact = 0
    with torch.no_grad():
        for start in range(0, len(ids), batch_size):
            batch = make_batch(data, ids[start:start + batch_size], CPU)
            mu, _ = model.encode(batch.graph)
            logits = model.decoder(mu, batch.previous, batch.parents, batch.symbols, batch.declared_at,
                                   batch.legal)
            guesses = logits.argmax(-1)
            for row in range(len(batch.lengths)):
                n = int(batch.lengths[row])
                targets, hits = batch.actions[row, :n].tolist(), (guesses[row, :n] == batch.actions[row, :n])
                first = None
                for action, hit in zip(targets, hits.tolist()):
                    kind = action_kind(action)
                    seen[kind] += 1
                    right[kind] += hit
                    if not hit and first is None:
                        first = kind
                if first is None:
                    exact += 1
                else:
                    first_errors[first] += 1
    wrong = sum(first_errors.values())
    return {
        "programs": len(ids), "exact_match": exact / max(1, len(ids)),
        "accuracy": {k: right[k] / seen[k] for k in KINDS if seen[k]},
        "actions": {k: seen[k] for k in KINDS if seen[k]},
        "first_error_share": {k: first_errors[k] / max(1, wrong) for k in KINDS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--label", default=None, help="row name (default: the checkpoint path)")
    parser.add_argument("--limit", type=int, default=None, help="first N validation programs")
    args = parser.parse_args()
    row = analyse(args.checkpoint, args.limit)
    row["commit"] = commit()
    row["checkpoint"] = str(args.checkpoint)
    print(f"{row['programs']} validation programs, teacher-forced exact {row['exact_match']:.3f}")
    print(f"{'kind':12} {'actions':>8} {'accuracy':>9} {'first error':>12}")
    for kind in KINDS:
        if kind in row["accuracy"]:
            print(f"{kind:12} {row['actions'][kind]:>8} {row['accuracy'][kind]:>9.4f} "
                  f"{row['first_error_share'][kind]:>12.3f}")
    rows = {}
    previous = RESULTS / "errors.json"
    if previous.exists():
        rows = json.loads(previous.read_text()).get("rows", {})
    rows[args.label or str(args.checkpoint)] = row
    write_result("errors", {"rows": rows})


if __name__ == "__main__":
    main()
