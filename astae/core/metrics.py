"""Score decoded programs against their originals with the fixed metrics of DESIGN §5.

- `similarity`: 1 - token edit distance / the longer token count, over Python `tokenize` tokens
  of the canonical sources (`source_tokens`, `levenshtein`).
- `exact`: the canonical sources are equal strings.
- `compiles`: a complete decode that `compile()` accepts and the static checker accepts.
- example outcomes: each compiling decode runs on its original's examples in the sandboxed
  `Executor`; `summarize_scores` turns them into the one / all examples rates.

Only the standard library and the language/executor modules are imported (no torch, no DGL).
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass

from astae.core.executor import Executor, Job
from astae.core.language import LanguageError, canonicalize, check_source
from astae.core.sandbox import Outcome

# The per-program rates of a split, in report order.
RATE_KEYS = ("similarity", "exact_match", "compilation_rate", "one_example_rate", "all_examples_rate")
INCOMPLETE = "incomplete: the decoder did not produce a complete program"

_SKIPPED = {tokenize.ENCODING, tokenize.ENDMARKER, tokenize.NL, tokenize.COMMENT}


def source_tokens(source: str) -> list[str]:
    """Python `tokenize` tokens of a source (NEWLINE, INDENT, DEDENT as markers); never raises."""
    tokens: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _SKIPPED:
                continue
            if tok.type == tokenize.NEWLINE:
                tokens.append("\n")
            elif tok.type == tokenize.INDENT:
                tokens.append("<indent>")
            elif tok.type == tokenize.DEDENT:
                tokens.append("<dedent>")
            else:
                tokens.append(tok.string)
    except Exception:  # noqa: BLE001 - TokenError, IndentationError, ...: any text gets tokens
        return source.split()
    return tokens


def levenshtein(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Edit distance (insert, delete, substitute, each cost 1); one row of min(len) memory."""
    # A shared prefix or suffix never needs an edit: a decode and its original often share the
    # signature line and the return, so trimming them shrinks the quadratic part.
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def similarity(original: str, decoded: str | None) -> float:
    """1 - levenshtein(tokens) / the longer token count; 0.0 for None, 1.0 for two empty sources."""
    if decoded is None:
        return 0.0
    a, b = source_tokens(original), source_tokens(decoded)
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - levenshtein(a, b) / longest


@dataclass
class ProgramScore:
    """How one decoded program compares with its original, and how it ran on the examples."""

    original: str
    decoded: str | None  # None: the decoder did not produce a complete program
    exact: bool
    similarity: float
    compiles: bool
    outcomes: list[str]  # one Outcome value per example; all "invalid" when it does not compile
    passed: int  # examples with outcome "ok"
    error: str | None  # why it does not compile (first line of the message), None if it does

    def to_json(self) -> dict:
        """A plain JSON-able dict of the fields."""
        return asdict(self)


def _canonical(source: str) -> str:
    """The canonical source, or the source itself if it is outside the language."""
    try:
        return canonicalize(source)
    except (LanguageError, SyntaxError, ValueError, RecursionError, MemoryError):
        return source


def _compile_error(decoded: str | None) -> str | None:
    """Why a decode does not compile (first line of the message), or None if it does."""
    if decoded is None:
        return INCOMPLETE
    try:
        compile(decoded, "<decoded>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        message = f"{type(e).__name__}: {e}"
    else:
        try:
            check_source(decoded)
            return None
        except LanguageError as e:
            message = str(e)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            message = f"{type(e).__name__}: {e}"
    lines = message.strip().splitlines()
    return lines[0] if lines else "rejected by the static checker"


def score_programs(
    records: Sequence[dict], decoded: Sequence[str | None], executor: Executor
) -> list[ProgramScore]:
    """Score each decode against its record; all compiling decodes run in one `executor.run` call."""
    if len(records) != len(decoded):
        raise ValueError(f"{len(records)} records but {len(decoded)} decoded programs")
    scores: list[ProgramScore] = []
    jobs: list[Job] = []
    job_owner: list[int] = []
    for i, (record, text) in enumerate(zip(records, decoded)):
        original = _canonical(record["source"])
        examples = record.get("examples", [])
        error = _compile_error(text)
        scores.append(ProgramScore(
            original=record["source"], decoded=text, exact=text is not None and text == original,
            similarity=similarity(original, text), compiles=error is None,
            outcomes=[Outcome.INVALID.value] * len(examples), passed=0, error=error,
        ))
        if error is None and examples:
            jobs.append(Job(text, [list(ex["input"]) for ex in examples], [ex["output"] for ex in examples]))
            job_owner.append(i)
    results = executor.run(jobs) if jobs else []
    for i, job_results in zip(job_owner, results):
        scores[i].outcomes = [Outcome(r.status).value for r in job_results]
        scores[i].passed = sum(r.status == Outcome.OK for r in job_results)
    return scores


class ScoreTally:
    """Running sums of the per-program rates, so that a split can be scored chunk by chunk."""

    def __init__(self) -> None:
        self.count = 0
        self.sums = dict.fromkeys(RATE_KEYS, 0.0)

    def add(self, scores: Sequence[ProgramScore]) -> ScoreTally:
        """Count `scores` in; returns self."""
        for s in scores:
            self.count += 1
            self.sums["similarity"] += s.similarity
            self.sums["exact_match"] += s.exact
            self.sums["compilation_rate"] += s.compiles
            self.sums["one_example_rate"] += s.passed >= 1
            self.sums["all_examples_rate"] += 0 < len(s.outcomes) == s.passed
        return self

    def summary(self) -> dict[str, float]:
        """The mean of each rate (0.0 with no programs) and `count`."""
        n = self.count
        return {**{k: (v / n if n else 0.0) for k, v in self.sums.items()}, "count": n}


def summarize_scores(scores: Sequence[ProgramScore]) -> dict[str, float]:
    """Mean similarity and rates over programs (exact, compiling, >= 1 / all examples passed), count."""
    return ScoreTally().add(scores).summary()
