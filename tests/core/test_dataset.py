"""Reading and validating a dataset directory (astae.core.dataset)."""

import json
import shutil
from pathlib import Path

import pytest

from astae.core.dataset import MANIFEST, PROGRAMS, DatasetError, load_dataset


def _corrupt_copy(tmp_path: Path, tiny_dataset: Path) -> Path:
    target = tmp_path / "bad"
    shutil.copytree(tiny_dataset, target)
    return target


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: (d / PROGRAMS).write_text("{not json\n"), "programs.jsonl:1: not valid JSON"),
        (lambda d: (d / PROGRAMS).write_text('{"id": 0}\n'), "missing field `source`"),
        (lambda d: (d / MANIFEST).unlink(), "not a dataset"),
        (lambda d: shutil.rmtree(d / "graphs"), "no graphs/"),
        (
            lambda d: (d / PROGRAMS).write_text(
                "".join((d / PROGRAMS).read_text().splitlines(keepends=True)[:10])
            ),
            "the manifest says 50",
        ),
        (
            lambda d: (d / MANIFEST).write_text(
                json.dumps({**json.loads((d / MANIFEST).read_text()), "grammar_fingerprint": "x"})
            ),
            "grammar",
        ),
        (
            lambda d: (d / MANIFEST).write_text(
                json.dumps({**json.loads((d / MANIFEST).read_text()), "format_version": 99})
            ),
            "format version 99",
        ),
    ],
    ids=["malformed line", "missing field", "no manifest", "no graphs", "count", "grammar", "version"],
)
def test_load_dataset_names_what_is_wrong(tmp_path, tiny_dataset, mutate, fragment):
    target = _corrupt_copy(tmp_path, tiny_dataset)
    mutate(target)
    with pytest.raises(DatasetError, match=None) as e:
        load_dataset(target)
    assert fragment in str(e.value)
