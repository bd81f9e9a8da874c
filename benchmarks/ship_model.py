"""Ship a benchmark's best model with astae: `astae/pretrained/model.pt` and its card.

Run with `uv run python benchmarks/ship_model.py CKPT [--row large]`: strips the checkpoint to what
using it needs (`astae.core.pretrained.ship_checkpoint`) and writes `astae/pretrained/model.json`,
the card: how it was trained (the row of `benchmarks/results/quality.json` it comes from: commit,
programs, config, epochs, minutes) and what it measured there (validation exact match, all
examples rate, exact match by length, the hand-written programs). The checkpoint must be the one
that row measured (`quality.py --artifacts DIR` keeps it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _report import RESULTS

from astae.core.pretrained import SHIPPED, ship_checkpoint

CARD_KEYS = ("commit", "programs", "epochs", "config", "overrides", "build_minutes", "train_minutes",
             "total_minutes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--row", default="large", help="the row of results/quality.json it measured")
    args = parser.parse_args()
    results = json.loads((RESULTS / "quality.json").read_text())
    row = results["rows"][args.row]
    validation = row["validation"]
    card = {
        "recipe": {key: row.get(key) for key in CARD_KEYS},
        "commit": row.get("commit"),
        "numbers": {
            "exact_match": validation["exact_match"],
            "all_examples_rate": validation["all_examples_rate"],
            "compilation_rate": validation["compilation_rate"],
            "decoded_programs": validation.get("decoded_programs"),
            "by_size": [{k: g[k] for k in ("group", "count", "exact_match", "all_examples_rate")}
                        for g in row.get("by_size") or []],
            "handwritten": row.get("handwritten"),
        },
        "source": f"benchmarks/results/quality.json, row {args.row!r}",
    }
    out = ship_checkpoint(args.checkpoint, card)
    print(f"shipped {args.checkpoint} as {out} ({out.stat().st_size / 2**20:.1f} MiB), card "
          f"{SHIPPED.with_suffix('.json')}")


if __name__ == "__main__":
    main()
