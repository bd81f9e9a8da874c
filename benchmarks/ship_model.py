"""Ship a trained model with astae: `astae/pretrained/model.pt` and its card.

Run with `uv run python benchmarks/ship_model.py CKPT --recipe TEXT --eval REPORT.json
[--handwritten HW.json]`: strips the checkpoint to what using it needs
(`astae.core.pretrained.ship_checkpoint`) and writes `astae/pretrained/model.json`, the card: how
it was trained (`--recipe`, the commit) and what it measured (`astae eval CKPT --split test --out
REPORT.json`: exact match, all examples rate, by length; and, if given, the hand-written programs'
scores as `benchmarks/quality.py --handwritten-only CKPT` prints them).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _report import commit

from astae.core.pretrained import SHIPPED, ship_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--recipe", required=True, help="how the model was trained (data, config, epochs)")
    parser.add_argument("--eval", dest="report", type=Path, required=True, help="astae eval --out JSON")
    parser.add_argument("--handwritten", type=Path, help="the JSON line quality.py --handwritten-only prints")
    args = parser.parse_args()
    report = json.loads(args.report.read_text())
    metrics = report["metrics"]
    card = {
        "recipe": args.recipe,
        "commit": commit(),
        "numbers": {
            "split": report["split"],
            "programs": report["counts"]["programs"],
            **{k: metrics[k] for k in ("exact_match", "all_examples_rate", "compilation_rate", "similarity")},
            "by_size": [{k: g[k] for k in ("group", "count", "exact_match", "all_examples_rate")}
                        for g in report["by_size"]],
            "handwritten": json.loads(args.handwritten.read_text()) if args.handwritten else None,
        },
    }
    out = ship_checkpoint(args.checkpoint, card)
    print(f"shipped {args.checkpoint} as {out} ({out.stat().st_size / 2**20:.1f} MiB), card "
          f"{SHIPPED.with_suffix('.json')}")


if __name__ == "__main__":
    main()
