"""Fixtures of the CLI tests."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def tiny_eval(tiny_run, tmp_path_factory):
    """`tiny_run`'s best model evaluated on its whole dataset (50 programs, 22 signatures): the
    report and the dumped per-program rows."""
    from astae.core.evaluation import evaluate_checkpoint

    dump = tmp_path_factory.mktemp("eval") / "dump.jsonl"
    report = evaluate_checkpoint(tiny_run / "best_model.pt", split="all", device="cpu", workers=1, dump=dump)
    return report, [json.loads(line) for line in dump.read_text().splitlines()]
