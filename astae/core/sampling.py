"""What a trained latent space generates: `astae sample`.

Three ways to pick latent codes, one decoder and one report:
- `sample_prior`: z drawn from a prior (`aggregate`: the Gaussian fitted to the training split's
  codes, stored in the checkpoint at the end of training or fitted on demand; `standard`: N(0, I));
- `interpolate`: K points on the line between the codes of two dataset programs;
- `neighbours`: codes around one program's, at a radius measured in the training codes' spread.

Each code is decoded (sampling at a temperature, or greedy), checked by the static checker, and
run on a few random inputs of its signature in the sandboxed executor. The report's statistics
keep apart what other tools lump together: `validity` (the checker accepts it), `runs_rate` (it
also runs without error on every random input), `uniqueness` and `novelty` (not a program of
the training split).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from astae.core.config import ConfigError
from astae.core.dataset import DatasetError
from astae.core.evaluation import DECODE_LIMITS
from astae.core.executor import Executor, Job
from astae.core.generator import sample_inputs
from astae.core.grammar import Signature
from astae.core.language import LanguageError, parse_program
from astae.core.latent import LatentPrior
from astae.core.model.decoding import Decoded, DecodeOptions
from astae.core.records import select_records
from astae.core.sandbox import Outcome
from astae.core.trained import TrainedModel
from astae.core.training_data import TrainingData

RUN_INPUTS = 3  # random inputs each generated program is run on
DECODE_BATCH = 256


@dataclass
class Sample:
    """One generated program, what the checker said, and how it ran."""

    source: str
    valid: bool
    signature: str | None
    runs: list[dict]  # {"input", "status", "output"} per random input
    runs_ok: bool  # valid and every run returned without error
    novel: bool | None  # not a training-split program (None: the dataset is not available)
    log_prob: float
    actions: int
    note: str = ""  # interpolation step or distance from the centre
    error: str | None = None


@dataclass
class SampleReport:
    """Programs generated from a checkpoint's latent space, with their statistics."""

    checkpoint: str
    mode: str  # "prior", "interpolate" or "near"
    prior: str | None
    decoding: dict
    samples: list[Sample]
    stats: dict[str, float | None]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The report as plain JSON-able data."""
        return asdict(self)


class SamplingContext:
    """A trained model and, when reachable, the data it trained on."""

    def __init__(self, trained: TrainedModel, data: TrainingData | None) -> None:
        self.trained = trained
        self.data = data

    @classmethod
    def open(cls, checkpoint: Path, data_dir: Path | None, need_data: bool) -> SamplingContext:
        """Open a checkpoint; its dataset too, or (unless `need_data` or `data_dir`) a note why not."""
        trained = TrainedModel(checkpoint)
        try:
            return cls(trained, trained.data(data_dir))
        except DatasetError as e:
            if need_data or data_dir is not None:
                raise
            trained.notes.append(f"novelty not measured: {e}")
            return cls(trained, None)

    def codes(self, ids: list[int]) -> torch.Tensor:
        """Mean latent codes of dataset programs."""
        assert self.data is not None
        return self.trained.codes(self.data, ids)

    def prior(self, name: str) -> LatentPrior:
        """The named prior of this checkpoint's latent space."""
        return self.trained.prior(name, self.data)

    def decode(self, z: torch.Tensor, options: DecodeOptions) -> list[Decoded]:
        """Decode the rows of z in batches."""
        out: list[Decoded] = []
        for start in range(0, z.shape[0], DECODE_BATCH):
            out.extend(options.run(self.trained.model.decoder, z[start : start + DECODE_BATCH],
                                   self.trained.cfg.model.max_decode_steps))
        return out

    def in_training(self, sources: set[str]) -> set[str] | None:
        """Which of `sources` are programs of the training split (one pass over its records, holding
        nothing per program); None without a dataset."""
        if self.data is None:
            return None
        records = select_records(self.data.dataset.programs, self.data.train_ids)
        return {r["source"] for r in records if r["source"] in sources}


def _decode_options(temperature: float | None, seed: int) -> tuple[DecodeOptions, dict]:
    if temperature is None:
        return DecodeOptions(), {"strategy": "greedy"}
    if temperature <= 0:
        raise ConfigError.naming("{temperature}: must be positive, not {value}", value=temperature)
    decoding = {"strategy": "sampling", "temperature": temperature}
    return DecodeOptions(temperature=temperature, seed=seed), decoding


def _judge(
    ctx: SamplingContext, decoded: list[Decoded], notes: list[str], seed: int, workers: int
) -> list[Sample]:
    """Check, run and compare each decoded program."""
    training = ctx.in_training({d.source for d in decoded})
    gen_cfg = ctx.trained.generator_config(ctx.data.dataset.path if ctx.data is not None else None)
    rng = random.Random(seed)
    samples: list[Sample] = []
    jobs: list[Job] = []
    owners: list[int] = []
    for d, note in zip(decoded, notes):
        signature: Signature | None = None
        error = None
        try:
            signature = parse_program(d.source).signature
        except (LanguageError, SyntaxError, ValueError, RecursionError) as e:
            error = str(e).splitlines()[0] if str(e) else type(e).__name__
        sample = Sample(
            source=d.source, valid=signature is not None,
            signature=signature.display if signature is not None else None, runs=[], runs_ok=False,
            novel=None if training is None else d.source not in training, log_prob=d.log_prob,
            actions=len(d.actions), note=note, error=error,
        )
        if signature is not None:
            inputs = sample_inputs(rng, signature, gen_cfg, RUN_INPUTS)
            sample.runs = [{"input": x, "status": "", "output": None} for x in inputs]
            jobs.append(Job(d.source, inputs))
            owners.append(len(samples))
        samples.append(sample)
    if jobs:
        with Executor(workers=workers, limits=DECODE_LIMITS) as executor:
            results = executor.run(jobs)
        for i, job_results in zip(owners, results):
            for run, result in zip(samples[i].runs, job_results):
                run["status"] = Outcome(result.status).value
                run["output"] = result.output if result.status == Outcome.OK else result.error
            samples[i].runs_ok = all(r["status"] == Outcome.OK.value for r in samples[i].runs)
    return samples


def sample_statistics(samples: list[Sample]) -> dict[str, float | None]:
    """validity, runs_rate, uniqueness and novelty over samples (novelty None if unknown)."""
    n = len(samples)
    if n == 0:
        return {"validity": 0.0, "runs_rate": 0.0, "uniqueness": 0.0, "novelty": None}
    novel = [s.novel for s in samples]
    return {
        "validity": sum(s.valid for s in samples) / n,
        "runs_rate": sum(s.runs_ok for s in samples) / n,
        "uniqueness": len({s.source for s in samples}) / n,
        "novelty": None if any(v is None for v in novel) else sum(bool(v) for v in novel) / n,
    }


def _report(ctx: SamplingContext, mode: str, prior: str | None, decoding: dict, decoded: list[Decoded],
            notes: list[str], seed: int, workers: int) -> SampleReport:
    samples = _judge(ctx, decoded, notes, seed, workers)
    return SampleReport(str(ctx.trained.checkpoint), mode, prior, decoding, samples,
                        sample_statistics(samples), ctx.trained.notes)


def sample_prior(
    checkpoint: Path, n: int = 10, prior: str = "aggregate", temperature: float | None = 1.0, seed: int = 0,
    data_dir: Path | None = None, workers: int = 2,
) -> SampleReport:
    """Decode n codes drawn from a prior (greedy if `temperature` is None)."""
    if n < 1:
        raise ConfigError.naming("{n}: must be at least 1, not {value}", value=n)

    def codes(ctx: SamplingContext) -> tuple[torch.Tensor, list[str]]:
        return ctx.prior(prior).sample(n, torch.Generator().manual_seed(seed)), [""] * n

    return _decode_codes(checkpoint, data_dir, False, codes, "prior", prior, temperature, seed, workers)


def interpolate(
    checkpoint: Path, a: int, b: int, steps: int = 5, temperature: float | None = None, seed: int = 0,
    data_dir: Path | None = None, workers: int = 2,
) -> SampleReport:
    """Decode `steps` evenly spaced points from program a's code to program b's (both included)."""
    if steps < 2:
        raise ConfigError.naming("{steps}: at least 2 points are needed, not {value}", value=steps)

    def codes(ctx: SamplingContext) -> tuple[torch.Tensor, list[str]]:
        ends = ctx.codes([a, b])
        t = torch.linspace(0.0, 1.0, steps).unsqueeze(1)
        return (1 - t) * ends[0] + t * ends[1], [f"t={float(v):.2f}" for v in t[:, 0]]

    return _decode_codes(checkpoint, data_dir, True, codes, "interpolate", None, temperature, seed, workers)


def neighbours(
    checkpoint: Path, program_id: int, radius: float = 0.5, n: int = 10, temperature: float | None = None,
    seed: int = 0, data_dir: Path | None = None, workers: int = 2,
) -> SampleReport:
    """Decode program `program_id`'s own code, then n codes around it: z + radius * sigma * eps,
    with sigma the per-dimension spread of the training codes and eps ~ N(0, I)."""
    if radius < 0:
        raise ConfigError.naming("{radius}: must not be negative, not {value}", value=radius)
    if n < 1:
        raise ConfigError.naming("{n}: must be at least 1, not {value}", value=n)

    def codes(ctx: SamplingContext) -> tuple[torch.Tensor, list[str]]:
        centre = ctx.codes([program_id])[0]
        sigma = ctx.prior("aggregate").std
        eps = torch.randn(n, centre.shape[0], generator=torch.Generator().manual_seed(seed))
        offsets = radius * sigma * eps
        distances = (offsets / sigma).norm(dim=1).div(centre.shape[0] ** 0.5).tolist()
        notes = ["centre", *(f"distance {d:.2f} sigma" for d in distances)]
        return torch.cat([centre.unsqueeze(0), centre + offsets]), notes

    return _decode_codes(checkpoint, data_dir, True, codes, "near", "aggregate", temperature, seed, workers)


def _decode_codes(
    checkpoint: Path, data_dir: Path | None, need_data: bool,
    codes: Callable[[SamplingContext], tuple[torch.Tensor, list[str]]],
    mode: str, prior: str | None, temperature: float | None, seed: int, workers: int,
) -> SampleReport:
    """Open the checkpoint, decode the codes `codes` picks (with a note each), run the programs."""
    options, decoding = _decode_options(temperature, seed)
    ctx = SamplingContext.open(checkpoint, data_dir, need_data=need_data)
    z, notes = codes(ctx)
    return _report(ctx, mode, prior, decoding, ctx.decode(z, options), notes, seed, workers)
