"""Which prior should `astae sample` draw from? Validity, run rate, uniqueness and novelty.

Run with `uv run python benchmarks/sample_priors.py CKPT [--n 500] [--seed 0]`; prints a table
and writes `benchmarks/results/sample_priors.json`. For the checkpoint, each combination of
prior (`aggregate`: a Gaussian fitted to the training codes; `standard`: N(0, I)) and decoding
(greedy; sampling at temperature 1.0 and 0.7) draws n codes and decodes them with
`astae.core.sampling.sample_prior`: the same code path as the command. Reported per row:
validity (the checker accepts it), runs_rate (also runs without error on 3 random inputs of
its signature), uniqueness, novelty (not a training-split program), and how data-like the
programs are: `varies` (runs, and its 3 outputs are not all equal: not a constant function), the
mean length in actions (the training split's is printed too) and `sig_tv`, the total-variation
distance between the samples' signature mix and the training split's (0 = the same mix).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from _report import write_result

from astae.core.checkpoint import load_model
from astae.core.sampling import Sample, sample_prior
from astae.core.training_data import checkpoint_data

DECODINGS = (("greedy", None), ("T=1.0", 1.0), ("T=0.7", 0.7))
PRIORS = ("aggregate", "standard")


def signature_tv(samples: list[Sample], reference: Counter) -> float:
    """Total-variation distance between the samples' signature shares and the reference's."""
    counts = Counter(s.signature for s in samples)
    n, total = len(samples), sum(reference.values())
    keys = set(counts) | set(reference)
    return 0.5 * sum(abs(counts[k] / n - reference[k] / total) for k in keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="the checkpoint's dataset, if it moved")
    args = parser.parse_args()
    _, cfg, payload = load_model(args.checkpoint)
    data = checkpoint_data(cfg, payload, args.data)
    train = [data.dataset.programs[i] for i in data.train_ids]
    reference = Counter(p["signature"] for p in train)
    data_actions = sum(len(p["actions"]) for p in train) / len(train)
    print(f"training split: {len(train):,} programs, mean {data_actions:.1f} actions, "
          f"{len(reference)} signatures")
    rows = []
    header = f"{'prior':10} {'decoding':9} {'validity':>9} {'runs':>6} {'unique':>7} {'novel':>6} " \
             f"{'varies':>7} {'sig_tv':>7} {'actions':>8} {'seconds':>8}"
    print(header)
    for prior in PRIORS:
        for label, temperature in DECODINGS:
            start = time.perf_counter()
            report = sample_prior(args.checkpoint, n=args.n, prior=prior, temperature=temperature,
                                  seed=args.seed, data_dir=args.data)
            seconds = time.perf_counter() - start
            s = report.stats
            actions = sum(x.actions for x in report.samples) / len(report.samples)
            varies = sum(x.runs_ok and len({repr(r["output"]) for r in x.runs}) > 1
                         for x in report.samples) / len(report.samples)
            tv = signature_tv(report.samples, reference)
            rows.append({"prior": prior, "decoding": label, **s, "varies": varies, "signature_tv": tv,
                         "mean_actions": actions, "seconds": seconds})
            novelty = "-" if s["novelty"] is None else f"{s['novelty']:.3f}"
            print(f"{prior:10} {label:9} {s['validity']:>9.3f} {s['runs_rate']:>6.3f} "
                  f"{s['uniqueness']:>7.3f} {novelty:>6} {varies:>7.3f} {tv:>7.3f} {actions:>8.1f} "
                  f"{seconds:>8.1f}", flush=True)
    write_result("sample_priors", {"checkpoint": str(args.checkpoint), "n": args.n, "seed": args.seed,
                                   "training_mean_actions": data_actions, "rows": rows})


if __name__ == "__main__":
    main()
