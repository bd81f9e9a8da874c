"""Program synthesis from input/output examples by searching a trained model's latent space.

One driver (`run_search`) and one scorer (`Scorer`) serve every method; a method is a
`Searcher` that proposes a batch of candidate programs and learns from their scores:

- `cem`: the cross-entropy method in latent space. A diagonal Gaussian, started at the
  checkpoint's prior of the task's signature (`LatentPrior.for_signature`), proposes a
  population of codes; each is decoded greedily (the first action forced to the signature),
  the elite (best scores so far, kept across generations) refits the Gaussian, and a search
  that stops improving restarts from the prior.
- `random`: codes drawn from the same prior and decoded the same way (the model, no search).
- `enum`: programs drawn from the grammar alone, a uniformly chosen legal action at every step.
- `generator`: programs drawn by the dataset generator (its weights, steering and shape limits):
  no model, but the very distribution the benchmark's tasks come from.
- `hillclimb`: local search in program space: grammar-aware mutations (`mutation.mutate`) of
  the best program so far, sideways moves allowed, restarts from a fresh random program when
  stuck.
- `hybrid` (the default: it measures best, docs/synthesis.md): `cem` until it finds no better
  program for 4 rounds, then `hillclimb` from its best program.

A solution is returned shrunk (`simplify`, `shrinking.shrink`): the smallest program reached by
removing its parts one at a time while every example stays right.

Every candidate proposed counts against the budget, duplicates included (a duplicate is not
run again: its score is remembered). A candidate's score is (share of examples right,
closeness of the outputs to the expected ones), compared in that order; the search stops at
the first candidate that gets every example right, and the count says where in its batch it was.
"""

from __future__ import annotations

import math
import random
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from astae.core.config import ConfigError, GeneratorConfig
from astae.core.dataset import DatasetError
from astae.core.derivation import DerivationState
from astae.core.errors import CheckpointError
from astae.core.executor import Executor, Job
from astae.core.generator import sample_program
from astae.core.grammar import GRAMMAR, Signature
from astae.core.latent import LatentPrior
from astae.core.model.autoencoder import ASTAutoencoder
from astae.core.model.decoding import decode
from astae.core.mutation import mutate
from astae.core.sandbox import ExampleResult, Outcome
from astae.core.sandbox_pool import ExecutionLimits
from astae.core.shrinking import shrink
from astae.core.synthesis_tasks import SynthesisTask
from astae.core.trained import TrainedModel

# hybrid solved the most held-out tasks at 100 and 1,000 candidates (docs/synthesis.md)
DEFAULT_METHOD = "hybrid"
# Every dataset program ran within the generator's 10 ms per call: 20 ms leaves a right
# candidate room, and a wrong one stuck in a long loop costs little.
SEARCH_LIMITS = ExecutionLimits(time_limit=0.02, memory_limit_mb=512)
POPULATION = 64  # candidates proposed per round by every method
HYBRID_PATIENCE = 4  # rounds without a better program before `hybrid` turns to mutations


@dataclass(frozen=True, order=True)
class Fitness:
    """How well a candidate fits the examples: the share right first, then the closeness of
    its outputs to the expected ones (mean over the examples, each in [0, 1])."""

    share: float
    closeness: float

    @property
    def solved(self) -> bool:
        """Every example right."""
        return self.share >= 1.0


NO_FIT = Fitness(0.0, 0.0)


def output_closeness(value: object, expected: object) -> float:
    """How close an output is to the expected one, in [0, 1] (1: equal; 0: another type)."""
    if type(value) is not type(expected):
        return 0.0
    if type(expected) is int:
        gap = abs(value - expected)  # type: ignore[operator]
        # floats end near 2**1024; outputs may have up to 4096 bits
        distance = math.log1p(gap) if gap < 2**1000 else gap.bit_length() * math.log(2)
        return 1.0 / (1.0 + distance)
    if type(expected) is list:
        longest = max(len(value), len(expected))  # type: ignore[arg-type]
        if longest == 0:
            return 1.0
        in_place = sum(a == b for a, b in zip(value, expected))  # type: ignore[call-overload]
        shared = sum((Counter(value) & Counter(expected)).values())  # type: ignore[arg-type]
        return (in_place + shared) / (2 * longest)
    return 1.0 if value == expected else 0.0


def fitness_of(results: list[ExampleResult], expected: list) -> Fitness:
    """The fitness of one candidate's results on the examples."""
    if not results:
        return NO_FIT
    right = sum(r.status == Outcome.OK for r in results)
    closeness = sum(
        1.0 if r.status == Outcome.OK else output_closeness(r.output, e) if r.status == Outcome.WRONG else 0.0
        for r, e in zip(results, expected)
    )
    return Fitness(right / len(results), closeness / len(results))


@dataclass
class Candidate:
    """A proposed program: its source and actions, and the latent code it came from (if any; in
    the searcher's own coordinates)."""

    source: str
    actions: list[int]
    z: torch.Tensor | None = None


class Scorer:
    """Runs candidates on a task's examples within a budget of proposals; remembers every
    program's fitness, the best so far and the first full solution."""

    def __init__(self, task: SynthesisTask, executor: Executor, budget: int) -> None:
        if budget < 1:
            raise ConfigError.naming("{budget}: must be at least 1, not {value}", value=budget)
        self.inputs = [list(ex["input"]) for ex in task.examples]
        self.expected = [ex["output"] for ex in task.examples]
        self.executor = executor
        self.budget = budget
        self.proposed = 0
        self.known: dict[str, Fitness] = {}
        self.seen: set[str] = set()  # different programs among the counted proposals
        self.best: tuple[Fitness, Candidate] | None = None
        self.solution: Candidate | None = None

    @property
    def remaining(self) -> int:
        """Proposals left in the budget."""
        return self.budget - self.proposed

    @property
    def done(self) -> bool:
        """Solved, or the budget is spent."""
        return self.solution is not None or self.remaining <= 0

    def passes(self, sources: list[str]) -> list[bool]:
        """Whether each program gets every example right (run in one executor call, not counted)."""
        results = self.executor.run([Job(s, self.inputs, self.expected) for s in sources])
        return [fitness_of(r, self.expected).solved for r in results]

    def score(self, candidates: list[Candidate]) -> list[Fitness]:
        """Fitness of each candidate (at most `remaining` of them are taken); new programs run in
        one executor call. Counting stops at the first full solution."""
        candidates = candidates[: self.remaining]
        new = list(dict.fromkeys(c.source for c in candidates if c.source not in self.known))
        if new:
            results = self.executor.run([Job(s, self.inputs, self.expected) for s in new])
            for source, res in zip(new, results):
                self.known[source] = fitness_of(res, self.expected)
        fits: list[Fitness] = []
        for c in candidates:
            f = self.known[c.source]
            fits.append(f)
            self.proposed += 1
            self.seen.add(c.source)
            if self.best is None or f > self.best[0]:
                self.best = (f, c)
            if f.solved:
                self.solution = c
                break
        return fits


class Searcher(ABC):
    """One search method: proposes candidates, learns from their fitness."""

    @abstractmethod
    def propose(self, n: int) -> list[Candidate]:
        """Up to n new candidates."""

    def observe(self, candidates: list[Candidate], fits: list[Fitness]) -> None:  # noqa: B027
        """Learn from the fitness of the last proposals (samplers learn nothing)."""


class LatentDecoder:
    """Decodes latent codes greedily into programs of one signature."""

    def __init__(self, model: ASTAutoencoder, signature: Signature) -> None:
        self.model = model
        self.first = GRAMMAR.production("Program", "function", signature)

    def __call__(self, z: torch.Tensor) -> list[Candidate]:
        def choose(scores: torch.Tensor, rows: list[int], step: int) -> torch.Tensor:
            if step == 0:
                return torch.full((scores.shape[0],), self.first, dtype=torch.long, device=scores.device)
            return scores.argmax(dim=-1)

        decoded = decode(self.model.decoder, z, self.model.cfg.max_decode_steps, choose)
        return [Candidate(d.source, d.actions, z[i]) for i, d in enumerate(decoded)]


class PriorSampler(Searcher):
    """`random`: codes drawn from the prior, decoded."""

    def __init__(self, decoder: LatentDecoder, prior: LatentPrior, generator: torch.Generator) -> None:
        self.decoder, self.prior, self.generator = decoder, prior, generator

    def propose(self, n: int) -> list[Candidate]:
        return self.decoder(self.prior.sample(n, self.generator))


class CrossEntropySearch(Searcher):
    """`cem`: a diagonal Gaussian refitted to the elite codes each generation. It lives in the
    prior's whitened coordinates (z = mean + L u), so that it starts as the prior itself and
    keeps the correlations of the training codes while it narrows."""

    def __init__(self, decoder: LatentDecoder, prior: LatentPrior, generator: torch.Generator,
                 elite: int = 8, smoothing: float = 0.7, min_std: float = 0.05, patience: int = 12) -> None:
        self.decoder, self.prior, self.generator = decoder, prior, generator
        self.elite_size, self.smoothing, self.min_std, self.patience = elite, smoothing, min_std, patience
        self.archive: list[tuple[Fitness, int, torch.Tensor]] = []  # the best codes so far (whitened)
        self.counter = 0
        self.restarts = 0
        self.reset()

    def reset(self) -> None:
        """Back to the prior (a restart keeps nothing but the best program, kept by the scorer)."""
        dim = self.prior.mean.shape[0]
        self.mean, self.std = torch.zeros(dim), torch.ones(dim)
        self.archive = []
        self.stale = 0

    @property
    def best(self) -> Fitness | None:
        """The best fitness in the elite archive."""
        return self.archive[0][0] if self.archive else None

    def propose(self, n: int) -> list[Candidate]:
        u = self.mean + torch.randn(n, self.mean.shape[0], generator=self.generator) * self.std
        candidates = self.decoder(self.prior.mean + u @ self.prior.scale_tril.T)
        for c, row in zip(candidates, u):
            c.z = row  # the whitened code is what the elite is fitted to
        return candidates

    def observe(self, candidates: list[Candidate], fits: list[Fitness]) -> None:
        before = self.best
        for c, f in zip(candidates, fits):
            self.counter += 1  # ties go to the earlier code
            self.archive.append((f, -self.counter, c.z))
        self.archive.sort(key=lambda item: (item[0], item[1]), reverse=True)
        self.archive = self.archive[: self.elite_size]
        codes = torch.stack([u for _, _, u in self.archive])
        a = self.smoothing
        self.mean = a * codes.mean(dim=0) + (1 - a) * self.mean
        spread = codes.std(dim=0, unbiased=False) if len(codes) > 1 else self.std
        self.std = (a * spread + (1 - a) * self.std).clamp(min=self.min_std)
        self.stale = 0 if before is None or self.best > before else self.stale + 1
        if self.stale >= self.patience:
            self.restarts += 1
            self.reset()

    @property
    def stuck(self) -> bool:
        """Has restarted at least once: the Gaussian found no better program for `patience` rounds."""
        return self.restarts > 0


class GrammarSampler(Searcher):
    """`generator`: programs of the task's signature drawn by the dataset generator (its
    production weights, steering and shape limits: the distribution the tasks come from)."""

    def __init__(self, signature: Signature, cfg: GeneratorConfig, rng: random.Random) -> None:
        self.signature, self.cfg, self.rng = signature, cfg, rng

    def one(self) -> Candidate:
        """One program."""
        return _candidate(sample_program(self.rng, self.cfg, signature=self.signature))

    def propose(self, n: int) -> list[Candidate]:
        return [self.one() for _ in range(n)]


class UniformSampler(GrammarSampler):
    """`enum`: programs of the task's signature drawn from the grammar alone: every step a legal
    action chosen uniformly (the decode budget is the only limit)."""

    def one(self) -> Candidate:
        state = DerivationState(self.cfg.max_actions)
        state.apply(GRAMMAR.production("Program", "function", self.signature))
        while not state.done:
            state.apply(self.rng.choice(state.legal_actions()), validate=False)
        return _candidate(state)


class HillClimb(Searcher):
    """`hillclimb`: mutants of the current program; the best replaces it if no worse; a fresh
    random program after `patience` rounds without a strict improvement."""

    def __init__(self, sampler: GrammarSampler, max_actions: int, patience: int = 25,
                 start: Candidate | None = None, start_fit: Fitness | None = None) -> None:
        self.sampler, self.max_actions, self.patience = sampler, max_actions, patience
        self.current: tuple[Fitness, Candidate] | None = (
            (start_fit, start) if start is not None and start_fit is not None else None
        )
        self.stale = 0

    def propose(self, n: int) -> list[Candidate]:
        if self.current is None:
            return self.sampler.propose(n)
        out: list[Candidate] = []
        for _ in range(n):
            state = mutate(self.current[1].actions, self.sampler.rng, self.sampler.cfg, self.max_actions)
            out.append(_candidate(state) if state is not None else self.sampler.one())
        return out

    def observe(self, candidates: list[Candidate], fits: list[Fitness]) -> None:
        if not fits:
            return
        k = max(range(len(fits)), key=lambda i: (fits[i], -i))
        best = (fits[k], candidates[k])
        if self.current is None or best[0] > self.current[0]:
            self.current, self.stale = best, 0
            return
        if best[0] == self.current[0]:
            self.current = best  # a sideways move: plateaus are wide
        self.stale += 1
        if self.stale >= self.patience:
            self.current, self.stale = None, 0


class Hybrid(Searcher):
    """`hybrid`: latent search until it stops improving, then hill climbing from its best."""

    def __init__(self, cem: CrossEntropySearch, sampler: GrammarSampler, max_actions: int,
                 scorer: Scorer) -> None:
        self.cem, self.sampler, self.max_actions, self.scorer = cem, sampler, max_actions, scorer
        self.climb: HillClimb | None = None

    def propose(self, n: int) -> list[Candidate]:
        if self.climb is None and self.cem.stuck and self.scorer.best is not None:
            fit, start = self.scorer.best
            self.climb = HillClimb(self.sampler, self.max_actions, start=start, start_fit=fit)
        return (self.climb or self.cem).propose(n)

    def observe(self, candidates: list[Candidate], fits: list[Fitness]) -> None:
        (self.climb or self.cem).observe(candidates, fits)


def simplify(source: str, scorer: Scorer) -> tuple[str, int]:
    """The smallest program `shrinking.shrink` reaches from a solution while every example stays
    right, and the number of variants it ran (outside the budget: they search for nothing new,
    they only cut what the examples do not need)."""
    return shrink(source, scorer.passes)


def _candidate(state: DerivationState) -> Candidate:
    return Candidate(state.to_source(), list(state.actions))


@dataclass
class SynthesisResult:
    """What a search found: the program (the best one if none fits), its fitness, the cost."""

    method: str
    signature: str
    examples: int
    budget: int
    seed: int
    solved: bool
    program: str | None
    share: float  # examples right, of the best program
    closeness: float
    candidates: int  # proposals made (duplicates included); at the solution if solved
    distinct: int  # different programs run
    seconds: float
    trace: list[dict] = field(default_factory=list)  # one row per round
    notes: list[str] = field(default_factory=list)
    found: str | None = None  # the solution as the search found it, when `program` is its simplification
    shrink_runs: int = 0  # programs run to simplify the solution (not counted in `candidates`)

    def to_json(self) -> dict:
        """The result as plain JSON-able data."""
        return asdict(self)


def run_search(searcher: Searcher, scorer: Scorer, batch: int = POPULATION) -> list[dict]:
    """Propose, score and learn until the task is solved or the budget is spent; the trace."""
    trace: list[dict] = []
    start = time.perf_counter()
    while not scorer.done:
        candidates = searcher.propose(min(batch, scorer.remaining))
        if not candidates:
            break
        fits = scorer.score(candidates)
        searcher.observe(candidates[: len(fits)], fits)
        best = scorer.best[0] if scorer.best is not None else NO_FIT
        trace.append({"round": len(trace) + 1, "candidates": scorer.proposed, "distinct": len(scorer.seen),
                      "best_share": best.share, "best_closeness": round(best.closeness, 6),
                      "seconds": round(time.perf_counter() - start, 4)})
    return trace


@dataclass
class SearchParts:
    """What a method's searcher is built from, for one task and seed."""

    decoder: LatentDecoder
    prior: LatentPrior  # the task signature's
    generator: torch.Generator  # seeded: the latent methods' draws
    sampler: GrammarSampler  # seeded: the program-space methods' draws
    max_actions: int
    scorer: Scorer


def _hybrid(parts: SearchParts) -> Searcher:
    """`cem` with a short patience, handing its best program to `hillclimb`."""
    cem = CrossEntropySearch(parts.decoder, parts.prior, parts.generator, patience=HYBRID_PATIENCE)
    return Hybrid(cem, parts.sampler, parts.max_actions, parts.scorer)


SEARCHERS: dict[str, Callable[[SearchParts], Searcher]] = {
    "hybrid": _hybrid,
    "cem": lambda parts: CrossEntropySearch(parts.decoder, parts.prior, parts.generator),
    "random": lambda parts: PriorSampler(parts.decoder, parts.prior, parts.generator),
    "enum": lambda parts: UniformSampler(parts.sampler.signature, parts.sampler.cfg, parts.sampler.rng),
    "generator": lambda parts: parts.sampler,
    "hillclimb": lambda parts: HillClimb(parts.sampler, parts.max_actions),
}
METHODS = tuple(SEARCHERS)


def check_method(method: str) -> None:
    """Refuse a method name that has no searcher."""
    if method not in SEARCHERS:
        raise ConfigError.not_one_of("method", method, METHODS)


class Synthesizer(AbstractContextManager["Synthesizer"]):
    """A checkpoint loaded once, with an executor, to run many searches (`astae synthesize`,
    `benchmarks/synthesis.py`)."""

    def __init__(self, checkpoint: Path, workers: int = 2) -> None:
        self.trained = TrainedModel(checkpoint)
        self.checkpoint, self.model, self.cfg = self.trained.checkpoint, self.trained.model, self.trained.cfg
        self.notes = self.trained.notes
        self.prior = self._aggregate_prior()
        self.generator_cfg = self.trained.generator_config()
        self.max_actions = min(self.cfg.model.max_decode_steps, self.generator_cfg.max_actions)
        self.executor = Executor(workers=workers, limits=SEARCH_LIMITS)

    def _aggregate_prior(self) -> LatentPrior:
        """The checkpoint's aggregate prior; fitted now if it holds none (a checkpoint saved before
        priors were stored), or N(0, I) when its dataset is gone."""
        if self.trained.payload.get("latent_prior") is not None:
            return self.trained.prior("aggregate")
        try:
            return self.trained.prior("aggregate", self.trained.data())
        except (CheckpointError, DatasetError):
            self.notes.append("the checkpoint holds no aggregate prior and its dataset is gone: latent "
                              "search starts from N(0, I)")
            return LatentPrior.standard(self.cfg.model.latent_dim)

    def searcher(self, method: str, task: SynthesisTask, seed: int, scorer: Scorer) -> Searcher:
        """The searcher of a method, seeded."""
        check_method(method)
        rng = random.Random(f"synthesize:{seed}")
        sampler = GrammarSampler(task.signature, self.generator_cfg.model_copy(
            update={"max_actions": self.max_actions}), rng)
        parts = SearchParts(
            LatentDecoder(self.model, task.signature), self.prior.for_signature(task.signature.display),
            torch.Generator().manual_seed(seed), sampler, self.max_actions, scorer,
        )
        return SEARCHERS[method](parts)

    @torch.no_grad()
    def run(self, task: SynthesisTask, method: str = DEFAULT_METHOD, budget: int = 1000,
            seed: int = 0) -> SynthesisResult:
        """Search for a program that satisfies the task's examples."""
        scorer = Scorer(task, self.executor, budget)
        searcher = self.searcher(method, task, seed, scorer)
        start = time.perf_counter()
        trace = run_search(searcher, scorer)
        fit, best = scorer.best if scorer.best is not None else (NO_FIT, None)
        found = scorer.solution.source if scorer.solution is not None else None
        program, shrink_runs = simplify(found, scorer) if found is not None else (
            best.source if best else None, 0)
        seconds = time.perf_counter() - start
        return SynthesisResult(
            method=method, signature=task.signature.display, examples=len(task.examples), budget=budget,
            seed=seed, solved=found is not None, program=program, share=fit.share, closeness=fit.closeness,
            candidates=scorer.proposed, distinct=len(scorer.seen), seconds=seconds, trace=trace,
            notes=list(self.notes), found=found if program != found else None, shrink_runs=shrink_runs,
        )

    def close(self) -> None:
        """Stop the executor's workers."""
        self.executor.close()

    def __exit__(self, *exc: object) -> None:
        self.close()


def synthesize(checkpoint: Path, task: SynthesisTask, method: str = DEFAULT_METHOD, budget: int = 1000,
               seed: int = 0, workers: int = 2) -> SynthesisResult:
    """Search a checkpoint's latent space (or the grammar, for the baselines) for a program
    that satisfies the task's examples."""
    check_method(method)
    with Synthesizer(checkpoint, workers) as synth:
        return synth.run(task, method, budget, seed)
