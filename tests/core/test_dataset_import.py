"""Importing a user's programs (astae.core.dataset_import)."""

import json

import pytest

from astae.core.dataset import DatasetError, load_dataset
from astae.core.dataset_import import import_dataset
from tests.conftest import TINY

USER_FILE = '''
def double_positive(xs: list[int]) -> list[int]:
    """Doubles the positive numbers."""
    result = []
    for x in xs:
        if x > 0:
            result.append(2 * x)
    return result


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))
'''


def test_import_py_canonicalises_and_generates_examples(tmp_path):
    src = tmp_path / "mine.py"
    src.write_text(USER_FILE)
    import_dataset(src, tmp_path / "ds", seed=0, cfg=TINY)
    ds = load_dataset(tmp_path / "ds")
    assert len(ds) == 2
    first = ds.programs[0]
    assert first["source"].startswith("def program(a0: list[int]) -> list[int]:\n    v0 = []")
    for ex in first["examples"]:
        assert ex["output"] == [2 * x for x in ex["input"][0] if x > 0]
    assert len(first["examples"]) >= TINY.examples_min


def test_import_jsonl_keeps_given_examples(tmp_path):
    src = tmp_path / "mine.jsonl"
    record = {
        "source": "def f(a: int) -> int:\n    return a * 2",
        "examples": [{"input": [3], "output": 6}, {"input": [-1], "output": -2}],
    }
    src.write_text(json.dumps(record) + "\n")
    import_dataset(src, tmp_path / "ds", cfg=TINY)
    assert load_dataset(tmp_path / "ds").programs[0]["examples"] == record["examples"]


def test_import_rejects_examples_the_program_does_not_satisfy(tmp_path):
    src = tmp_path / "mine.jsonl"
    record = {"source": "def f(a: int) -> int:\n    return a", "examples": [{"input": [3], "output": 4}]}
    src.write_text(json.dumps(record) + "\n")
    with pytest.raises(DatasetError, match="expected 4"):
        import_dataset(src, tmp_path / "ds", cfg=TINY)
    assert not (tmp_path / "ds").exists()


def test_import_fails_whole_naming_every_program_outside_the_language(tmp_path):
    src = tmp_path / "mine.py"
    src.write_text(
        USER_FILE
        + "\n\ndef bad(a: int) -> int:\n    while a:\n        a -= 1\n    return a\n"
        + "\n\ndef worse(a: int) -> int:\n    import os\n    return a\n"
    )
    with pytest.raises(DatasetError) as e:
        import_dataset(src, tmp_path / "ds", cfg=TINY)
    message = str(e.value)
    lines = src.read_text().splitlines()
    while_line = lines.index("    while a:") + 1
    import_line = lines.index("    import os") + 1
    assert "2 program(s)" in message
    assert f"{src}:{while_line}: `while` loop" in message
    assert f"{src}:{import_line}: `import`" in message
    assert not (tmp_path / "ds").exists()
