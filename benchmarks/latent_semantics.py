"""Does the semantic loss put programs that behave alike close together in latent space?

Run with `uv run python benchmarks/latent_semantics.py CKPT [CKPT ...]` (typically one model
trained with `semantic_weight: 0` and one with the default); prints a table and writes
`benchmarks/results/latent_semantics.json`. For each checkpoint, on its validation split:

- **equivalent variants**: each program with a `+` or `*` whose operands can be swapped is
  rewritten with them swapped (a different canonical source); a variant counts only if the
  sandboxed executor gives the original's outputs on every probe input and example. Distance:
  ||mu(original) - mu(variant)||.
- **same behaviour features**: pairs of distinct programs of one signature whose 272 behaviour
  bits (the semantic head's targets) are all equal.
- **random pairs**: 5,000 random pairs of validation programs.

Reported: mean distances and their ratio to the random-pair mean (lower = closer than chance).
"""

from __future__ import annotations

import argparse
import ast
import random
from collections import defaultdict
from pathlib import Path

import torch
from _report import write_result

from astae.core.astgraph import build_ast_graph
from astae.core.checkpoint import load_model
from astae.core.executor import Executor, Job
from astae.core.graphs import batch_graphs
from astae.core.language import LanguageError, canonicalize
from astae.core.sandbox import Outcome
from astae.core.training_data import batches, prepare_data


def swapped_variant(source: str) -> str | None:
    """The canonical source with the operands of the first `+` or `*` swapped, if different."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            node.left, node.right = node.right, node.left
            try:
                variant = canonicalize(ast.unparse(tree))
            except LanguageError:
                return None
            return variant if variant != source else None
    return None


def encode_sources(model, sources: list[str]) -> torch.Tensor:
    """mu of each source (built into graphs on the fly)."""
    out = []
    with torch.no_grad():
        for chunk in batches(sources, 256):
            graph = batch_graphs([build_ast_graph(s) for s in chunk])
            out.append(model.encode(graph)[0])
    return torch.cat(out)


def equivalent_variants(data, ids: list[int], executor: Executor) -> list[tuple[int, str]]:
    """(program id, variant source) for variants that behave exactly like their originals."""
    probes = data.dataset.manifest["probes"]
    candidates, jobs = [], []
    for i in ids:
        p = data.dataset.programs[i]
        variant = swapped_variant(p["source"])
        if variant is None:
            continue
        pairs = [(x, y) for x, y in zip(probes[p["signature"]], p["probe_outputs"]) if y is not None]
        pairs += [(e["input"], e["output"]) for e in p["examples"]]
        candidates.append((i, variant))
        jobs.append(Job(variant, [x for x, _ in pairs], [y for _, y in pairs]))
    results = executor.run(jobs)
    return [c for c, r in zip(candidates, results) if all(x.status == Outcome.OK for x in r)]


def measure(path: Path, max_programs: int, executor: Executor) -> dict:
    model, cfg, _ = load_model(path)
    data = prepare_data(cfg.data.data_dir, cfg.model.max_decode_steps, cfg.training.seed,
                        cfg.data.val_fraction, cfg.data.max_programs)
    ids = data.val_ids[:max_programs]
    sources = [data.dataset.programs[i]["source"] for i in ids]
    mu = encode_sources(model, sources)
    index = {i: k for k, i in enumerate(ids)}
    rng = random.Random(0)
    random_pairs = [tuple(rng.sample(range(len(ids)), 2)) for _ in range(5000)]
    d_random = torch.stack([(mu[a] - mu[b]).norm() for a, b in random_pairs]).mean().item()

    variants = equivalent_variants(data, ids, executor)
    mu_variants = encode_sources(model, [v for _, v in variants]) if variants else None
    d_variant = (torch.stack([(mu[index[i]] - mu_variants[k]).norm() for k, (i, _) in enumerate(variants)])
                 .mean().item() if variants else float("nan"))

    groups: dict = defaultdict(list)
    for k, i in enumerate(ids):
        p = data.dataset.programs[i]
        groups[(p["signature"], data.features[i].tobytes())].append(k)
    same = [(g[a], g[b]) for g in groups.values() for a in range(len(g)) for b in range(a + 1, len(g))][:5000]
    d_same = torch.stack([(mu[a] - mu[b]).norm() for a, b in same]).mean().item() if same else float("nan")
    return {
        "checkpoint": str(path), "semantic_weight": cfg.model.semantic_weight, "programs": len(ids),
        "random_pair_distance": round(d_random, 4),
        "variants": len(variants), "variant_distance": round(d_variant, 4),
        "variant_ratio": round(d_variant / d_random, 4),
        "same_feature_pairs": len(same), "same_feature_distance": round(d_same, 4),
        "same_feature_ratio": round(d_same / d_random, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", type=Path, nargs="+")
    parser.add_argument("--programs", type=int, default=2000, help="validation programs per checkpoint")
    args = parser.parse_args()
    with Executor(workers=2) as executor:
        rows = [measure(path, args.programs, executor) for path in args.checkpoints]
    print(f"{'semantic_weight':>15} {'random':>8} {'variants':>9} {'ratio':>6} "
          f"{'same-feat pairs':>16} {'ratio':>6}")
    for r in rows:
        print(f"{r['semantic_weight']:>15} {r['random_pair_distance']:>8} {r['variants']:>9} "
              f"{r['variant_ratio']:>6} {r['same_feature_pairs']:>16} {r['same_feature_ratio']:>6}")
    write_result("latent_semantics", {"rows": rows})


if __name__ == "__main__":
    main()
