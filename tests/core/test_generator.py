import random

from astae.core.config import GeneratorConfig
from astae.core.executor import ExampleResult, Outcome
from astae.core.generator import (
    Candidate,
    generate_chunk,
    has_trivial_expression,
    judge,
    probe_inputs,
    prune_dead_stores,
    sample_program,
)
from astae.core.grammar import Signature
from astae.core.language import canonicalize, parse_program


def test_same_seed_same_program():
    cfg = GeneratorConfig()
    a = [sample_program(random.Random(5), cfg).to_source() for _ in range(3)]
    assert len(set(a)) == 1


def test_samples_respect_signature_types_and_action_budget():
    cfg = GeneratorConfig(param_types=["list"], return_types=["int"], max_params=2, max_actions=40)
    rng = random.Random(0)
    for _ in range(200):
        state = sample_program(rng, cfg)
        assert set(state.signature.params) == {"list"}
        assert state.signature.returns == "int"
        assert 1 <= len(state.signature.params) <= 2
        assert len(state.actions) <= 40


def test_prune_removes_stores_nobody_reads():
    src = "def f(a: int) -> int:\n    x = 5\n    y = a + 1\n    y += 0\n    return a"
    pruned = prune_dead_stores(canonicalize(src))
    assert canonicalize(pruned) == "def program(a0: int) -> int:\n    return a0"


def test_prune_keeps_stores_that_are_read_later_or_in_the_next_iteration():
    src = canonicalize(
        "def f(a: list[int]) -> int:\n    t = 0\n    for x in a:\n        t += x\n    return t"
    )
    assert prune_dead_stores(src) == src


def test_prune_gives_up_when_a_dead_store_is_alone_in_its_block():
    src = canonicalize(
        "def f(a: int) -> int:\n    if a > 0:\n        x = 1\n    return a"
    )
    assert prune_dead_stores(src) is None


def test_trivial_expressions_are_detected():
    assert has_trivial_expression("def program(a0: int) -> int:\n    return 1 if a0 < a0 else 2")
    assert has_trivial_expression("def program(a0: int) -> int:\n    a0 = a0\n    return a0")
    assert not has_trivial_expression("def program(a0: int, a1: int) -> int:\n    return a0 - a1")


def test_judge_rejects_constant_outputs_and_errors():
    cfg = GeneratorConfig()
    constant = [ExampleResult(Outcome.OK, 3) for _ in range(10)]
    assert judge(constant, 5, cfg) == "constant_output"
    erroring = [ExampleResult(Outcome.ERROR, error="IndexError") for _ in range(5)]
    assert judge(erroring + [ExampleResult(Outcome.OK, i) for i in range(5)], 5, cfg) == "errors"
    assert judge([ExampleResult(Outcome.OK, i) for i in range(10)], 5, cfg) is None


def test_probe_inputs_are_fixed_per_signature():
    cfg = GeneratorConfig()
    sig = Signature(("list", "int"), "int")
    assert probe_inputs(sig, cfg) == probe_inputs(sig, GeneratorConfig())
    assert len(probe_inputs(sig, cfg)) == cfg.probe_count


def test_chunk_candidates_are_canonical_live_and_have_examples():
    cfg = GeneratorConfig(chunk_size=40)
    result = generate_chunk((cfg.model_dump(), 3, 0, frozenset()))
    kept = [c for c in result.candidates if isinstance(c, Candidate)]
    assert kept, "a chunk of 40 should keep something"
    for c in kept:
        assert parse_program(c.source).source == c.source
        assert prune_dead_stores(c.source) == c.source
        assert cfg.examples_min <= len(c.examples) <= cfg.examples_max
    again = generate_chunk((cfg.model_dump(), 3, 0, frozenset()))
    assert [getattr(c, "source", c) for c in again.candidates] == [
        getattr(c, "source", c) for c in result.candidates
    ]
