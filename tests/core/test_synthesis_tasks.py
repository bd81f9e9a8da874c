import json
from pathlib import Path

import pytest

from astae.core.grammar import Signature
from astae.core.synthesis_tasks import (
    MAX_EXAMPLES,
    TaskError,
    infer_signature,
    load_suite,
    load_task,
    parse_signature,
    task_from_record,
)

EXAMPLES = [{"input": [[1, 2], 3], "output": 6}, {"input": [[], 0], "output": 0}]
SIG = Signature(("list", "int"), "int")

# One line of a real programs.jsonl (probe outputs shortened).
RECORD = {
    "id": 0,
    "source": "def program(a0: list[int], a1: list[int], a2: int) -> list[int]:\n"
    "    a1 += sorted(a0)\n    return a1",
    "signature": "(list[int], list[int], int) -> list[int]",
    "examples": [
        {"input": [[-5], [-10, 4, 2, 1, 5], 6], "output": [-10, 4, 2, 1, 5, -5]},
        {"input": [[], [], -1], "output": []},
        {"input": [[-4, -5], [8], -4], "output": [8, -5, -4]},
    ],
    "probe_outputs": [[-10, -10, -4, 4], [0]],
    "sizes": {"nodes": 22, "actions": 10, "depth": 6},
    "actions": [25, 49, 64, 129, 115, 114, 128, 50, 114, 129],
}
RECORD_SIG = Signature(("list", "list", "int"), "list")


def _write(tmp_path: Path, text: str, name: str = "task.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(items: list) -> str:
    return "".join(json.dumps(item) + "\n" for item in items)


def _record(i: int, **changes) -> dict:
    return {**RECORD, "id": i, **changes}


# -- accepted forms ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(EXAMPLES),  # a JSON list on one line
        json.dumps(EXAMPLES, indent=2),  # pretty-printed
        json.dumps({"examples": EXAMPLES}, indent=2),  # an object with "examples"
        json.dumps({"examples": EXAMPLES, "signature": "(list[int], int) -> int"}),
        _jsonl(EXAMPLES),  # one example a line
        "\n" + _jsonl(EXAMPLES).replace("\n", "\n\n"),  # blank lines are skipped
        "\ufeff" + json.dumps(EXAMPLES),  # a byte-order mark
    ],
    ids=["list", "pretty-list", "object", "object-with-signature", "jsonl", "jsonl-blank-lines", "bom"],
)
def test_load_task_accepts_every_form_whatever_the_extension(tmp_path, text):
    task = load_task(_write(tmp_path, text, "examples.dat"))
    assert task.signature == SIG
    assert task.examples == EXAMPLES
    assert task.path == str(tmp_path / "examples.dat")
    assert task.hidden_source is None


def test_pretty_printed_record_gives_hidden_source_and_its_signature(tmp_path):
    task = load_task(_write(tmp_path, json.dumps(RECORD, indent=2), "record.json"))
    assert task.signature == RECORD_SIG
    assert task.hidden_source == RECORD["source"]
    assert task.record_id == 0
    assert task.examples == RECORD["examples"]


def test_single_programs_jsonl_line_is_picked_without_index(tmp_path):
    task = load_task(_write(tmp_path, _jsonl([_record(7)]), "programs.jsonl"))
    assert (task.signature, task.record_id, task.hidden_source) == (RECORD_SIG, 7, RECORD["source"])


def test_index_picks_the_record_with_that_id(tmp_path):
    other = _record(4, source="def program(a0: int) -> int:\n    return a0", signature="(int) -> int",
                    examples=[{"input": [3], "output": 3}])
    path = _write(tmp_path, _jsonl([_record(3), other, _record(5)]), "programs.jsonl")
    task = load_task(path, index=4)
    assert (task.record_id, task.signature) == (4, Signature(("int",), "int"))
    assert task.hidden_source == other["source"]
    assert load_task(path, index=5).record_id == 5


def test_task_from_record_is_checked_like_a_file():
    task = task_from_record(RECORD, "data#0")
    assert (task.signature, task.path, task.record_id, task.hidden_source) == (
        RECORD_SIG, "data#0", 0, RECORD["source"]
    )
    with pytest.raises(TaskError, match=r"^data#3: the record's signature \(int\) -> int does not fit"):
        task_from_record(_record(3, signature="(int) -> int"), "data#3")


def test_signature_argument_that_agrees_is_used(tmp_path):
    path = _write(tmp_path, json.dumps(EXAMPLES))
    assert load_task(path, signature="(list[int],int)->int").signature == SIG


# -- inference -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "examples, display",
    [
        ([{"input": [1], "output": 2}], "(int) -> int"),
        ([{"input": [[1, 2]], "output": [2, 1]}], "(list[int]) -> list[int]"),
        ([{"input": [[], 1], "output": 1}, {"input": [[4], 2], "output": 6}], "(list[int], int) -> int"),
        ([{"input": [[], []], "output": []}], "(list[int], list[int]) -> list[int]"),  # always empty
        ([{"input": [1, [], 2], "output": []}, {"input": [0, [5], -2], "output": [1]}],
         "(int, list[int], int) -> list[int]"),
        ([{"input": [-10**12], "output": 10**12}], "(int) -> int"),
    ],
)
def test_infer_signature(examples, display):
    assert infer_signature(examples).display == display


def test_infer_signature_rejects_python_bools():
    with pytest.raises(TaskError, match=r"example 1: argument 1: true \(a boolean\)"):
        infer_signature([{"input": [True], "output": 1}])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("(int) -> int", Signature(("int",), "int")),
        ("  ( list[int] ,int )->  list[int] ", Signature(("list", "int"), "list")),
        ("(int, int, int) -> int", Signature(("int", "int", "int"), "int")),
    ],
)
def test_parse_signature(text, expected):
    assert parse_signature(text) == expected


# -- errors --------------------------------------------------------------------------

def _pretty(value: object) -> str:
    return json.dumps(value, indent=2)


# (file content, what the message must contain besides the file name). An object on one line is
# read as JSON lines (a one-record programs.jsonl): those errors name line 1, see JSONL_ERRORS.
JSON_ERRORS = [
    ("", "empty file"),
    ("  \n\n", "empty file"),
    ("[1, 2", "not valid JSON"),
    ('[\n  {"input": [1], "output": 1},\n  oops\n]', "line 3"),
    ("5", "expected a list of examples"),
    ('{\n  "source": "x"\n}', 'expected a list of examples, an object with "examples"'),
    ("[]", "no examples"),
    (_pretty({"examples": []}), "no examples"),
    (_pretty({"examples": 5}), '"examples" must be a list'),
    ("[5]", 'example 1: expected an object with "input" and "output", not 5'),
    ('[{"input": [1]}]', 'example 1: missing key "output"'),
    ('[{"output": 1}]', 'example 1: missing key "input"'),
    ('[{"input": [1], "output": 1, "note": "x"}]', 'example 1: unexpected key "note"'),
    ('[{"input": 1, "output": 1}]', 'example 1: "input" must be a list'),
    ('[{"input": [], "output": 1}]', "example 1: 0 arguments; a program takes 1 to 3"),
    ('[{"input": [1, 2, 3, 4], "output": 1}]', "example 1: 4 arguments; a program takes 1 to 3"),
    ('[{"input": [1], "output": 1}, {"input": [1, 2], "output": 1}]',
     "example 2: 2 arguments, but example 1 has 1"),
    ('[{"input": [true], "output": 1}]', "example 1: argument 1: true (a boolean)"),
    ('[{"input": [1], "output": false}]', "example 1: output: false (a boolean)"),
    ('[{"input": [1.0], "output": 1}]', "argument 1: 1.0 (not an int)"),
    ('[{"input": ["1"], "output": 1}]', 'argument 1: "1" (a string)'),
    ('[{"input": [null], "output": 1}]', "argument 1: null"),
    ('[{"input": [{}], "output": 1}]', "argument 1: an object"),
    ('[{"input": [[1, [2]]], "output": 1}]', "argument 1: item 1 is a list; lists hold ints only"),
    ('[{"input": [[1, true]], "output": 1}]', "item 1 is true (a boolean)"),
    ('[{"input": [1], "output": [1.5]}]', "output: item 0 is 1.5 (not an int)"),
    ('[{"input": [1000000000001], "output": 1}]', "at most 10**12 in absolute value"),
    ('[{"input": [[-1000000000001]], "output": 1}]', "item 0: -1000000000001 is too large"),
    (json.dumps([{"input": [list(range(10_001))], "output": 1}]), "a list of 10001 items (at most 10000)"),
    (json.dumps([{"input": [1], "output": 1}] * (MAX_EXAMPLES + 1)), "1001 examples (at most 1000)"),
    ('[{"input": [1], "output": 1}, {"input": [[]], "output": 1}]',
     "example 2: argument 1 is a list ([]), but an int in example 1"),
    ('[{"input": [[]], "output": []}, {"input": [[1]], "output": 1}]',
     "example 2: output is an int (1), but a list in example 1"),
    (_pretty({"examples": [{"input": [1], "output": 1}], "signature": "(list[int]) -> int"}),
     "the record's signature (list[int]) -> int does not fit the examples: argument 1 is an int"),
    (_pretty({"examples": [{"input": [1], "output": 1}], "signature": "int -> int"}),
     "cannot read the signature 'int -> int': expected the form (list[int], int) -> int"),
    (_pretty({"examples": [{"input": [1], "output": 1}], "source": 3}), '"source" must be a string'),
    ("1" * 5000, "not valid JSON"),
    ("[" * 100_000, "not valid JSON"),
]


@pytest.mark.parametrize("text, expected", JSON_ERRORS)
def test_json_file_errors_name_the_file_and_the_example(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(TaskError) as info:
        load_task(path)
    assert str(info.value).startswith(f"{path}: ")
    assert expected in str(info.value)


# (lines, line the message must name, what else it must contain)
JSONL_ERRORS = [
    (['{"input": [1], "output": 1}', '{"input": [1], "output": 1'], 2, "not valid JSON"),
    (['{"input": [1], "output": 1}', "[1]"], 2, 'expected an object with "input" and "output", not a list'),
    (['{"input": [1], "output": 1}', '{"input": [1]}'], 2, 'missing key "output"'),
    (['{"source": "x"}'], 1, 'missing keys "input", "output"'),
    (['{"input": [1], "output": 1}', "", '{"input": [1], "output": 1, "x": 0}'], 3, 'unexpected key "x"'),
    (['{"input": [1], "output": 1}', '{"input": [1, 2], "output": 1}'], 2, "2 arguments, but line 1 has 1"),
    (['{"input": [1], "output": 1}', '{"input": [[]], "output": 1}'], 2,
     "argument 1 is a list ([]), but an int in line 1"),
    (['{"input": [1], "output": 1}', '{"input": [true], "output": 1}'], 2, "true (a boolean)"),
    (['{"input": [1], "output": 1}', '{"input": [1], "output": 1e3}'], 2, "1000.0 (not an int)"),
    (['{"input": [1], "output": 1}'] * (MAX_EXAMPLES + 1), MAX_EXAMPLES + 1, "more than 1000 examples"),
    ([json.dumps(_record(0)), '{"input": [1], "output": 1}'], 2, "expected a programs.jsonl record"),
    ([json.dumps(_record(0, signature="(int) -> int"))], 1, "the record's signature (int) -> int"),
    ([json.dumps(_record(0, examples=[]))], 1, "no examples"),
    (['{"examples": [{"input": [1], "output": 1}], "source": 3}'], 1, '"source" must be a string'),
    ([json.dumps(_record(0, examples=[{"input": [[1], [2], 3], "output": True}]))], 1,
     "example 1: output: true (a boolean)"),
]


@pytest.mark.parametrize("lines, lineno, expected", JSONL_ERRORS)
def test_jsonl_errors_name_the_file_and_line(tmp_path, lines, lineno, expected):
    path = _write(tmp_path, "\n".join(lines) + "\n", "task.jsonl")
    with pytest.raises(TaskError) as info:
        load_task(path)
    assert str(info.value).startswith(f"{path}:{lineno}: ")
    assert expected in str(info.value)


def test_not_utf8_is_an_error_with_the_line(tmp_path):
    path = tmp_path / "task.jsonl"
    path.write_bytes(b'{"input": [1], "output": 1}\n{"input": [1], "output": "\xff"}\n')
    with pytest.raises(TaskError, match=rf"^{path}:2: not UTF-8"):
        load_task(path)


def test_not_utf8_in_a_json_document_is_an_error(tmp_path):
    path = tmp_path / "task.json"
    path.write_bytes(b'[\n {"input": [1], "output": "\xff"}\n]\n')
    with pytest.raises(TaskError, match=rf"^{path}: not UTF-8"):
        load_task(path)


def test_several_records_without_index_say_how_many_and_to_pass_index(tmp_path):
    path = _write(tmp_path, _jsonl([_record(i) for i in range(3)]), "programs.jsonl")
    with pytest.raises(TaskError, match=r"holds 3 records \(ids 0 to 2\); pass index=ID") as info:
        load_task(path)
    assert str(path) in str(info.value)


def test_index_not_in_the_file_is_an_error(tmp_path):
    path = _write(tmp_path, _jsonl([_record(i) for i in range(3)]), "programs.jsonl")
    with pytest.raises(TaskError, match=rf"^{path}: no record with id 9 \(3 records, ids 0 to 2\)"):
        load_task(path, index=9)


@pytest.mark.parametrize("text", [json.dumps(EXAMPLES), _jsonl(EXAMPLES)])
def test_index_on_a_file_of_examples_is_an_error(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(TaskError, match=rf"^{path}: index 2 picks a programs.jsonl record"):
        load_task(path, index=2)


def test_signature_argument_that_disagrees_is_an_error(tmp_path):
    path = _write(tmp_path, json.dumps(EXAMPLES))
    with pytest.raises(TaskError, match=rf"^{path}: the signature \(int, int\) -> int does not fit"):
        load_task(path, signature="(int, int) -> int")
    with pytest.raises(TaskError, match="they give 2 arguments, it takes 1"):
        load_task(path, signature="(list[int]) -> int")
    with pytest.raises(TaskError, match=r"the output is an int \(6 in the first\), not a list"):
        load_task(path, signature="(list[int], int) -> list[int]")


@pytest.mark.parametrize(
    "text", ["list[int] -> int", "(bool) -> int", "(int) -> bool", "()", "() -> int",
             "(int, int, int, int) -> int", "(list) -> int", ""]
)
def test_unreadable_signature_lists_the_expected_form(tmp_path, text):
    path = _write(tmp_path, json.dumps(EXAMPLES))
    with pytest.raises(TaskError) as info:
        load_task(path, signature=text)
    message = str(info.value)
    assert message.startswith(f"{path}: cannot read the signature {text!r}")
    assert "(list[int], int) -> int: 1 to 3 parameters, each int or list[int]" in message


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(TaskError, match=rf"^{tmp_path / 'nope.json'}: file not found"):
        load_task(tmp_path / "nope.json")


def test_directory_is_an_error(tmp_path):
    with pytest.raises(TaskError, match=rf"^{tmp_path}: is a directory"):
        load_task(tmp_path)


def test_unreadable_file_is_an_error(tmp_path, monkeypatch):
    path = _write(tmp_path, json.dumps(EXAMPLES))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("astae.core.synthesis_tasks.open", refuse, raising=False)
    with pytest.raises(TaskError, match=rf"^{path}: cannot read \(Permission denied\)"):
        load_task(path)


def test_task_errors_are_user_errors_for_the_cli():
    from astae.cli._common import USER_ERRORS

    assert TaskError in USER_ERRORS


# -- suites ----------------------------------------------------------------------------

SUITE = {
    "shift": {"examples": [{"input": [[1, 2], 3], "output": [4, 5]}, {"input": [[], 1], "output": []}],
              "holdout": [{"input": [[0], -2], "output": [-2]}]},
    "weight_3_function_0": {"examples": EXAMPLES},
}


def test_a_suite_keeps_file_order_names_and_holdout_cases(tmp_path):
    path = _write(tmp_path, json.dumps(SUITE), "suite.json")
    tasks = load_suite(path)
    assert [t.name for t in tasks] == ["shift", "weight_3_function_0"]
    assert tasks[0].task.signature == Signature(("list", "int"), "list")
    assert tasks[0].holdout == SUITE["shift"]["holdout"]
    assert tasks[0].task.examples == SUITE["shift"]["examples"]
    assert tasks[0].task.path == f"{path}#shift"
    assert tasks[1].holdout == [] and tasks[1].task.signature == SIG


@pytest.mark.parametrize("document, message", [
    ([], "expected a JSON object of named tasks"),
    ({}, "expected a JSON object of named tasks"),
    ({"t": [1]}, "task 't': expected an object with \"examples\""),
    ({"t": {"examples": EXAMPLES, "answer": 3}}, "task 't': unexpected key \"answer\""),
    ({"t": {"examples": []}}, "task 't': no examples"),
    ({"t": {"examples": EXAMPLES, "holdout": 5}}, "task 't': \"holdout\" must be a list"),
    ({"t": {"examples": EXAMPLES, "holdout": [{"input": [[1], 2], "output": [1]}]}},
     "task 't': the holdout cases' signature \\(list\\[int\\], int\\) -> list\\[int\\] does not fit"),
    ({"t": {"examples": EXAMPLES, "holdout": [{"input": [[1]], "output": 1}]}}, "task 't': the holdout"),
    ({"t": {"examples": EXAMPLES, "holdout": [{"input": [[1], 2]}]}},
     "task 't': holdout 1: missing key \"output\""),
])
def test_a_bad_suite_is_one_task_error_naming_the_file_and_task(tmp_path, document, message):
    path = _write(tmp_path, json.dumps(document), "suite.json")
    with pytest.raises(TaskError, match=message) as info:
        load_suite(path)
    assert str(info.value).startswith(str(path))


def test_a_missing_or_unreadable_suite_says_so(tmp_path):
    with pytest.raises(TaskError, match="file not found"):
        load_suite(tmp_path / "none.json")
    with pytest.raises(TaskError, match="is a directory"):
        load_suite(tmp_path)
    with pytest.raises(TaskError, match="not valid JSON"):
        load_suite(_write(tmp_path, "{", "broken.json"))
