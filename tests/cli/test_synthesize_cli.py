import json

import pytest
from typer.testing import CliRunner

from astae.cli.app import app

runner = CliRunner()
IDENTITY = [{"input": [[3, 1, 2]], "output": [3, 1, 2]}, {"input": [[]], "output": []},
            {"input": [[5]], "output": [5]}]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def checkpoint(overfit_run):
    return overfit_run / "final_model.pt"


def test_synthesize_finds_a_program_and_writes_the_trace(checkpoint, tmp_path):
    examples = tmp_path / "identity.json"
    examples.write_text(json.dumps(IDENTITY))
    out = tmp_path / "result.json"
    result = run("synthesize", checkpoint, "--examples", examples, "--budget", 3000, "--method", "enum",
                 "--out", out, "--workers", 1)
    assert result.exit_code == 0, result.output
    for text in ("solution", "def program(a0: list[int]) -> list[int]", "solved after", "3 examples"):
        assert text in result.output
    report = json.loads(out.read_text())
    assert report["solved"] is True and report["method"] == "enum"
    assert report["signature"] == "(list[int]) -> list[int]"
    assert report["trace"][-1]["candidates"] == report["candidates"] <= 3000


def test_a_programs_jsonl_record_is_a_task_and_its_source_stays_hidden(checkpoint, tmp_path):
    record = {"id": 0, "source": "def program(a0: int) -> int:\n    return a0 + 1000003",
              "signature": "(int) -> int",
              "examples": [{"input": [1], "output": 1000004}, {"input": [5], "output": 1000008}]}
    task = tmp_path / "task.jsonl"
    task.write_text(json.dumps(record) + "\n")
    result = run("synthesize", checkpoint, "--examples", task, "--budget", 40, "--workers", 1)
    assert result.exit_code == 1, result.output  # not found within 40 candidates: exit 1, best shown
    assert "not solved within 40 candidates" in result.output and "best partial program" in result.output
    assert "1000003" not in result.output


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("[]", [], "no examples"),
        ("not json", [], "JSON"),
        ('[{"input": [1], "output": 2}, {"input": [1, 2], "output": 2}]', [], "example 2"),
        ('[{"input": [1], "output": 2}]', ["--signature", "(list[int]) -> int"], "signature"),
        ('[{"input": [1], "output": 2}]', ["--signature", "int -> int"], "signature"),
        ('[{"input": [1], "output": 2}]', ["--method", "annealing"], "--method"),
    ],
)
def test_bad_tasks_and_options_give_one_clear_error(checkpoint, tmp_path, content, extra, message):
    examples = tmp_path / "examples.json"
    examples.write_text(content)
    result = run("synthesize", checkpoint, "--examples", examples, "--workers", 1, *extra)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and message in result.output and "Traceback" not in result.output


def test_a_missing_examples_file_or_checkpoint_is_named(checkpoint, tmp_path):
    result = run("synthesize", checkpoint, "--examples", tmp_path / "nope.json")
    assert result.exit_code == 2 and "nope.json" in result.output
    examples = tmp_path / "e.json"
    examples.write_text(json.dumps(IDENTITY))
    result = run("synthesize", tmp_path / "missing.pt", "--examples", examples)
    assert result.exit_code == 2 and "missing.pt" in result.output


def test_without_a_checkpoint_the_shipped_model_searches_and_says_so(checkpoint, tmp_path, monkeypatch):
    import astae.core.pretrained as pretrained

    monkeypatch.setattr(pretrained, "SHIPPED", checkpoint)
    examples = tmp_path / "identity.json"
    examples.write_text(json.dumps(IDENTITY))
    result = run("synthesize", "--examples", examples, "--budget", 3000, "--method", "enum", "--workers", 1,
                 "--artifacts_dir", tmp_path / "no_runs")
    assert result.exit_code == 0, result.output
    assert "the model shipped with astae" in result.output and "solution" in result.output


def test_without_a_checkpoint_or_a_shipped_model_it_says_what_to_do(tmp_path, monkeypatch):
    import astae.core.pretrained as pretrained

    monkeypatch.setattr(pretrained, "SHIPPED", tmp_path / "none.pt")
    examples = tmp_path / "identity.json"
    examples.write_text(json.dumps(IDENTITY))
    result = run("synthesize", "--examples", examples, "--artifacts_dir", tmp_path / "no_runs")
    assert result.exit_code == 2, result.output
    assert "no best_model.pt found (and no model is shipped" in result.output
    assert "Traceback" not in result.output
