import json

import pytest

from astae.core.executor import Executor
from astae.core.metrics import (
    ProgramScore,
    levenshtein,
    score_programs,
    similarity,
    source_tokens,
    summarize_scores,
)
from astae.core.sandbox_pool import ExecutionLimits

LIMITS = ExecutionLimits(time_limit=0.5, memory_limit_mb=256)

SUM_PLUS = "def program(a0: list[int], a1: int) -> int:\n    return sum(a0) + a1"
DOUBLE = "def program(a0: int) -> int:\n    return a0 * 2"
PLUS_TWO = "def program(a0: int) -> int:\n    return a0 + 2"  # right for a0 == 2 only
NEGATE = "def program(a0: int) -> int:\n    return -a0"
SYNTAX_ERROR = "def program(a0: int) -> int:\n    return a0 +"
WHILE_LOOP = (
    "def program(a0: int) -> int:\n    v0 = 0\n    while v0 < a0:\n        v0 += 1\n    return v0"
)
# About a0 ** 3 iterations: 10 ** 9 on the examples below, far beyond the time limit.
CUBIC = (
    "def program(a0: int) -> int:\n    v0 = 0\n    for v1 in range(a0):\n        for v2 in range(a0):\n"
    "            for v3 in range(a0):\n                v0 = v3\n    return v0"
)


def record(i, source, examples):
    return {"id": i, "source": source, "examples": [{"input": x, "output": y} for x, y in examples]}


RECORDS = [
    record(0, SUM_PLUS, [([[1, 2, 3], 4], 10), ([[], 5], 5), ([[-5], 0], -5)]),
    record(1, DOUBLE, [([2], 4), ([3], 6), ([0], 0)]),
    record(2, NEGATE, [([1], -1), ([-4], 4)]),
    record(3, NEGATE, [([1], -1), ([-4], 4)]),
    record(4, DOUBLE, [([1000], 2000), ([2000], 4000)]),
    record(5, NEGATE, [([1], -1), ([-4], 4)]),
    record(6, SUM_PLUS, [([[1], 1], 2)]),  # after the endless loop: must still be scored right
]
DECODED = [SUM_PLUS, PLUS_TWO, SYNTAX_ERROR, WHILE_LOOP, CUBIC, None, SUM_PLUS]
EXACT, ONE_RIGHT, SYNTAX, OUT_OF_LANGUAGE, ENDLESS, MISSING, AFTER_ENDLESS = range(7)


@pytest.fixture(scope="module")
def executor():
    with Executor(workers=1, limits=LIMITS) as ex:
        yield ex


@pytest.fixture(scope="module")
def scores(executor):
    return score_programs(RECORDS, DECODED, executor)


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("", "", 0),
        ("", "abc", 3),
        ("abc", "", 3),
        ("kitten", "kitten", 0),
        ("abc", "abxc", 1),  # insert
        ("abxc", "abc", 1),  # delete
        ("abc", "axc", 1),  # substitute
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        (["return", "a0", "+", "1"], ["return", "a0", "*", "1"], 1),
        (["return", "v0"], ["v0", "=", "a0", "\n", "return", "v0"], 4),  # 4 inserts
        ([1, 2, 3], [3, 2, 1], 2),
    ],
)
def test_levenshtein_matches_the_edit_distance_table(a, b, distance):
    assert levenshtein(a, b) == distance
    assert levenshtein(b, a) == distance


def test_similarity_of_identical_sources_is_one():
    assert similarity(SUM_PLUS, SUM_PLUS) == 1.0


def test_similarity_of_a_missing_decode_is_zero():
    assert similarity(SUM_PLUS, None) == 0.0


def test_similarity_of_two_empty_sources_is_one():
    assert similarity("", "") == 1.0


def test_similarity_of_a_one_token_change_is_one_minus_one_over_the_token_count():
    # def program ( a0 : int ) -> int : \n <indent> return a0 * 2 \n <dedent>: 18 tokens
    assert len(source_tokens(DOUBLE)) == 18
    assert similarity(DOUBLE, PLUS_TWO) == pytest.approx(1 - 1 / 18)
    assert 0.0 < similarity(DOUBLE, PLUS_TWO) < 1.0


def test_similarity_is_symmetric():
    assert similarity(DOUBLE, CUBIC) == similarity(CUBIC, DOUBLE)
    assert similarity(SUM_PLUS, WHILE_LOOP) == similarity(WHILE_LOOP, SUM_PLUS)


def test_source_tokens_mark_newlines_indents_and_dedents():
    source = "def program(a0: int) -> int:\n    if a0 > 0:\n        return a0\n    return -a0\n"
    assert source_tokens(source) == [
        "def", "program", "(", "a0", ":", "int", ")", "->", "int", ":", "\n",
        "<indent>", "if", "a0", ">", "0", ":", "\n",
        "<indent>", "return", "a0", "\n",
        "<dedent>", "return", "-", "a0", "\n",
        "<dedent>",
    ]


def test_source_tokens_skip_comments_and_blank_lines():
    source = "def program(a0: int) -> int:\n    # comment\n\n    return a0  # another\n"
    assert source_tokens(source) == source_tokens("def program(a0: int) -> int:\n    return a0")


@pytest.mark.parametrize(
    "garbage",
    ["def f(:\n  x", '"""never closed', "if x:\n    a\n  b", "\0 $ ? é", "(((", ""],
)
def test_source_tokens_never_raise_on_garbage_text(garbage):
    tokens = source_tokens(garbage)
    assert isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)


def test_source_tokens_fall_back_to_whitespace_split_when_tokenize_fails():
    assert source_tokens("def f(:\n  x") == ["def", "f(:", "x"]


def test_exact_decode_is_exact_compiles_and_passes_every_example(scores):
    score = scores[EXACT]
    assert (score.exact, score.compiles, score.similarity, score.error) == (True, True, 1.0, None)
    assert (score.outcomes, score.passed) == (["ok", "ok", "ok"], 3)


def test_different_program_right_on_one_example_passes_exactly_that_one(scores):
    score = scores[ONE_RIGHT]
    assert (score.exact, score.compiles, score.error) == (False, True, None)
    assert (score.outcomes, score.passed) == (["ok", "wrong", "wrong"], 1)
    assert score.similarity == pytest.approx(1 - 1 / 18)


def test_syntax_error_does_not_compile_and_every_example_is_invalid(scores):
    score = scores[SYNTAX]
    assert (score.compiles, score.exact, score.passed) == (False, False, 0)
    assert score.outcomes == ["invalid", "invalid"]
    assert score.error.startswith("SyntaxError") and "\n" not in score.error


def test_decode_outside_the_language_does_not_compile_and_names_the_construct(scores):
    score = scores[OUT_OF_LANGUAGE]
    assert (score.compiles, score.passed, score.outcomes) == (False, 0, ["invalid", "invalid"])
    assert "while" in score.error and "line 3" in score.error


def test_endless_decode_times_out_on_every_example(scores):
    score = scores[ENDLESS]
    assert score.compiles and score.error is None
    assert (score.outcomes, score.passed) == (["timeout", "timeout"], 0)


def test_programs_scored_after_an_endless_decode_are_still_right(scores):
    assert (scores[AFTER_ENDLESS].outcomes, scores[AFTER_ENDLESS].passed) == (["ok"], 1)


def test_missing_decode_is_incomplete_with_zero_similarity(scores):
    score = scores[MISSING]
    assert (score.decoded, score.compiles, score.exact, score.similarity) == (None, False, False, 0.0)
    assert (score.outcomes, score.passed) == (["invalid", "invalid"], 0)
    assert score.error.startswith("incomplete")


def test_scores_keep_the_original_source_and_the_order_of_the_records(scores):
    assert [s.original for s in scores] == [r["source"] for r in RECORDS]
    assert [s.decoded for s in scores] == DECODED


def test_summary_of_the_scored_set_counts_each_rate_exactly(scores):
    summary = summarize_scores(scores)
    assert summary["count"] == 7
    assert summary["exact_match"] == 2 / 7  # EXACT, AFTER_ENDLESS
    assert summary["compilation_rate"] == 4 / 7  # EXACT, ONE_RIGHT, ENDLESS, AFTER_ENDLESS
    assert summary["one_example_rate"] == 3 / 7  # EXACT, ONE_RIGHT, AFTER_ENDLESS
    assert summary["all_examples_rate"] == 2 / 7  # EXACT, AFTER_ENDLESS
    assert summary["similarity"] == pytest.approx(sum(s.similarity for s in scores) / 7)


def score(similarity, passed, examples):
    outcomes = ["ok"] * passed + ["wrong"] * (examples - passed)
    return ProgramScore("s", "d", False, similarity, True, outcomes, passed, None)


def test_summary_similarity_is_the_mean_over_programs():
    summary = summarize_scores([score(1.0, 0, 1), score(0.5, 0, 1), score(0.0, 0, 1), score(0.5, 0, 1)])
    assert summary["similarity"] == 0.5


def test_all_examples_rate_needs_at_least_one_example():
    summary = summarize_scores([score(1.0, 0, 0), score(1.0, 2, 2), score(1.0, 1, 2)])
    assert summary["all_examples_rate"] == 1 / 3
    assert summary["one_example_rate"] == 2 / 3


def test_summary_of_no_scores_is_all_zero():
    assert summarize_scores([]) == {
        "similarity": 0.0, "exact_match": 0.0, "compilation_rate": 0.0,
        "one_example_rate": 0.0, "all_examples_rate": 0.0, "count": 0,
    }


def test_score_to_json_round_trips_through_json(scores):
    for s in scores:
        data = json.loads(json.dumps(s.to_json()))
        assert data == s.to_json()
        assert ProgramScore(**data) == s


def test_score_programs_rejects_a_length_mismatch(executor):
    with pytest.raises(ValueError, match="1 records but 0 decoded"):
        score_programs(RECORDS[:1], [], executor)


def test_levenshtein_with_shared_prefixes_and_suffixes_matches_the_plain_definition():
    import random

    def plain(a, b):
        rows = [list(range(len(b) + 1))]
        for i, x in enumerate(a, 1):
            row = [i]
            for j, y in enumerate(b, 1):
                row.append(min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (x != y)))
            rows.append(row)
        return rows[-1][-1]

    rng = random.Random(0)
    for _ in range(300):
        core = [rng.choice("abc") for _ in range(rng.randint(0, 6))]
        a = list("xyz") + core + [rng.choice("abc") for _ in range(rng.randint(0, 4))] + list("zz")
        b = list("xyz") + [rng.choice("abc") for _ in range(rng.randint(0, 5))] + core + list("zz")
        assert levenshtein(a, b) == plain(a, b)
        cut = a[: rng.randint(0, len(a))]
        assert levenshtein(cut, b) == plain(cut, b)
