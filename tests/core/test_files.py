"""The JSON writers of files.py: streamed text equals what json.dumps gives for the whole."""

from __future__ import annotations

import io
import json

import pytest

from astae.core.files import JsonListWriter, jsonl_writer, write_json


@pytest.mark.parametrize(("head", "items"), [
    ({"epoch": 7}, []),
    ({"epoch": 1}, [{"id": 0, "outcomes": ["ok", "wrong"]}, {"id": 3, "nested": {"a": [1, 2]}}]),
    ({}, [1, 2]),
    ({"a": {"b": [1, {"c": None}]}, "d": "x"}, ["y"]),
])
def test_a_streamed_list_is_the_text_of_write_json(head, items, tmp_path):
    streamed = io.StringIO()
    writer = JsonListWriter(streamed, head, "programs")
    for item in items:
        writer.write(item)
    writer.close()
    whole = write_json(tmp_path / "whole.json", {**head, "programs": items}).read_text()
    assert streamed.getvalue() == whole


def test_jsonl_rows_appear_only_when_the_block_ends(tmp_path):
    path = tmp_path / "rows.jsonl"
    with jsonl_writer(path) as write:
        write({"id": 0})
        write([1, 2])
        assert not path.exists()
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"id": 0}, [1, 2]]
