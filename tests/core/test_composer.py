"""Composed programs: the operations people ask for, in the forms people write, always in the language."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter

from astae.core.composer import compose_program
from astae.core.config import GeneratorConfig
from astae.core.generator import Candidate, generate_chunk, prune_dead_stores
from astae.core.language import parse_program

CFG = GeneratorConfig()


def _draws(n: int, cfg: GeneratorConfig = CFG, seed: int = 0) -> list[str | None]:
    rng = random.Random(seed)
    return [compose_program(rng, cfg) for _ in range(n)]


def test_every_composed_program_is_in_the_grammar_as_written():
    sources = [s for s in _draws(3000) if s is not None]
    assert len(sources) > 2900
    for source in sources:
        program = parse_program(source, idioms=False)  # no idiom rewriting needed
        assert program.signature.returns in CFG.return_types
        assert 1 <= len(program.signature.params) <= CFG.max_params


def test_the_same_seed_composes_the_same_programs():
    assert _draws(200, seed=4) == _draws(200, seed=4)
    assert _draws(200, seed=4) != _draws(200, seed=5)


def test_the_draws_cover_every_operation_in_both_written_forms():
    sources = [s for s in _draws(2000) if s is not None]
    seen = Counter()
    marks = {
        "sort": "sorted(", "reverse": "[::-1]", "take": "[:", "drop": ":]", "zip": "range(min(len(",
        "append loop": ".append(", "comprehension": " for ", "comprehension filter": " if ",
        "counter loop": " += 1", "len of a filter": "len([", "running max or min": "[-1], ",
        "prefix sums or products": "append(v", "reduce": "sum(", "index by a value": "[a",
    }
    for source in sources:
        for name, mark in marks.items():
            seen[name] += mark in source
    assert all(seen[name] >= 20 for name in marks), seen


def test_the_config_types_are_kept():
    ints = GeneratorConfig(param_types=["int"], return_types=["int"])
    sources = [s for s in _draws(300, ints) if s is not None]
    assert sources and all(" list[int]" not in s for s in sources)
    lists = GeneratorConfig(return_types=["list"])
    assert all(s is None or s.rstrip().split("\n")[0].endswith("-> list[int]:") for s in _draws(300, lists))


def test_a_chunk_of_composed_programs_keeps_most_and_each_is_canonical_and_live():
    cfg = GeneratorConfig(composed_share=1.0, chunk_size=64)
    result = generate_chunk((cfg.model_dump(), 1, 0, frozenset()))
    kept = [c for c in result.candidates if isinstance(c, Candidate)]
    assert len(kept) >= 40, Counter(c for c in result.candidates if isinstance(c, str))
    for c in kept:
        assert parse_program(c.source).source == c.source and prune_dead_stores(c.source) == c.source
        assert len(c.actions) <= cfg.max_actions and cfg.examples_min <= len(c.examples)
    again = generate_chunk((cfg.model_dump(), 1, 0, frozenset()))
    assert _outcomes(again) == _outcomes(result)


def _outcomes(result) -> list[str]:
    return [getattr(c, "source", c) for c in result.candidates]


def _chunk(**settings):
    return generate_chunk((GeneratorConfig(chunk_size=8, **settings).model_dump(), 2, 0, frozenset()))


def test_no_composed_share_draws_nothing_more_from_the_seed():
    # With composed_share 0 a chunk is what it was before composed programs existed: this digest
    # of seed 2's first chunk was computed at b8b2c0b, the last commit without them.
    plain = _outcomes(_chunk(composed_share=0.0))
    assert hashlib.sha256(json.dumps(plain).encode()).hexdigest()[:16] == "40451e84e65a2119"
    assert _outcomes(_chunk()) != plain  # the default (0.5) composes half of them
