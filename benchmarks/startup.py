"""Start-up cost of the commands that open a trained model: this tree against a git revision.

Run with `uv run python benchmarks/startup.py --checkpoint CKPT --against REV [--repeats 5]`.
Each command is run as a user runs it (`python -m astae ...`, a fresh process), with the package
of each tree first on the path, alternately, `--repeats` times; the table gives the median wall
clock of each. The commands do as little work as they can, so what is measured is mostly
opening: importing, reading the checkpoint, rebuilding the model, opening its dataset.

- `eval CKPT --limit 20 --workers 1`: the split recomputed, 20 programs decoded and run;
- `sample CKPT --n 1 --workers 1`: one program from the stored prior;
- `synthesize CKPT --budget 1 --workers 1`: one candidate;
- `synthesize BARE --budget 1 --workers 1`: the same checkpoint without its stored prior (the
  search fits one from the dataset: before issue 15 this loaded the checkpoint a second time).

Writes `results/startup.json` with the commit, the reference and the inputs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from _report import worktree, write_result

EXAMPLES = [{"input": [[3, 1, 2]], "output": [1, 2, 3]}, {"input": [[5, 4]], "output": [4, 5]}]


def commands(checkpoint: Path, bare: Path, examples: Path) -> dict[str, list[str]]:
    """The measured commands by name."""
    return {
        "eval": ["eval", str(checkpoint), "--limit", "20", "--workers", "1"],
        "sample": ["sample", str(checkpoint), "--n", "1", "--workers", "1"],
        "synthesize": ["synthesize", str(checkpoint), "--examples", str(examples), "--budget", "1",
                       "--workers", "1"],
        "synthesize, no stored prior": ["synthesize", str(bare), "--examples", str(examples), "--budget",
                                        "1", "--workers", "1"],
    }


def timed(tree: Path, args: list[str]) -> float:
    """Seconds of one `python -m astae ARGS` with `tree`'s package first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree), "WANDB_MODE": "disabled"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "astae", *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):  # synthesize exits 1 when the budget runs out unsolved
        raise SystemExit(f"{' '.join(args)} failed in {tree}:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--against", metavar="REV", required=True, help="compare with git revision REV")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        payload = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
        payload.pop("latent_prior", None)
        bare = root / "bare.pt"
        torch.save(payload, bare)
        examples = root / "examples.json"
        examples.write_text(json.dumps(EXAMPLES))
        runs = commands(args.checkpoint.resolve(), bare, examples)
        with worktree(args.against, root / "ref") as ref:
            trees = {"this tree": here, args.against: ref}
            seconds: dict[str, dict[str, list[float]]] = {t: {c: [] for c in runs} for t in trees}
            for _ in range(args.repeats):
                for name, command in runs.items():
                    for tree_name, tree in trees.items():
                        seconds[tree_name][name].append(timed(tree, command))
                print({t: {c: round(v[-1], 2) for c, v in s.items()} for t, s in seconds.items()}, flush=True)
    rows = {c: {t: statistics.median(seconds[t][c]) for t in trees} for c in runs}
    print(f"\n{'command':30} {'this tree':>10} {args.against:>10}  (seconds, median of {args.repeats})")
    for command, row in rows.items():
        print(f"{command:30} {row['this tree']:>10.2f} {row[args.against]:>10.2f}")
    write_result("startup", {
        "reference": args.against, "repeats": args.repeats,
        "inputs": {"checkpoint": str(args.checkpoint),
                   "commands": {c: a[:1] + a[2:] for c, a in runs.items()}},
        "rows": rows, "samples": seconds,
    })


if __name__ == "__main__":
    main()
