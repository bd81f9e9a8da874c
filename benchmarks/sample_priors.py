"""Which prior should `astae sample` draw from? Validity, run rate, uniqueness and novelty.

Run with `uv run python benchmarks/sample_priors.py CKPT [--n 500] [--seed 0]`; prints a table
and writes `benchmarks/results/sample_priors.json`. For the checkpoint, each combination of
prior (`aggregate`: a Gaussian fitted to the training codes; `standard`: N(0, I)) and decoding
(greedy; sampling at temperature 1.0 and 0.7) draws n codes and decodes them with
`astae.core.sampling.sample_prior`: the same code path as the command. Reported per row:
validity (the checker accepts it), runs_rate (also runs without error on 3 random inputs of
its signature), uniqueness, novelty (not a training-split program), and the mean length.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _report import write_result

from astae.core.sampling import sample_prior

DECODINGS = (("greedy", None), ("T=1.0", 1.0), ("T=0.7", 0.7))
PRIORS = ("aggregate", "standard")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="the checkpoint's dataset, if it moved")
    args = parser.parse_args()
    rows = []
    header = f"{'prior':10} {'decoding':9} {'validity':>9} {'runs':>6} {'unique':>7} {'novel':>6} " \
             f"{'actions':>8} {'seconds':>8}"
    print(header)
    for prior in PRIORS:
        for label, temperature in DECODINGS:
            start = time.perf_counter()
            report = sample_prior(args.checkpoint, n=args.n, prior=prior, temperature=temperature,
                                  seed=args.seed, data_dir=args.data)
            seconds = time.perf_counter() - start
            s = report.stats
            actions = sum(x.actions for x in report.samples) / len(report.samples)
            rows.append({"prior": prior, "decoding": label, **s, "mean_actions": actions,
                         "seconds": seconds})
            novelty = "-" if s["novelty"] is None else f"{s['novelty']:.3f}"
            print(f"{prior:10} {label:9} {s['validity']:>9.3f} {s['runs_rate']:>6.3f} "
                  f"{s['uniqueness']:>7.3f} {novelty:>6} {actions:>8.1f} {seconds:>8.1f}", flush=True)
    write_result("sample_priors", {"checkpoint": str(args.checkpoint), "n": args.n, "seed": args.seed,
                                   "rows": rows})


if __name__ == "__main__":
    main()
