import json
import shutil

import pytest
from typer.testing import CliRunner

from astae.cli.app import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_sample_prints_programs_with_runs_and_writes_jsonl(tiny_run, tmp_path):
    out = tmp_path / "samples.jsonl"
    result = run("sample", tiny_run / "best_model.pt", "--n", 4, "--seed", 2, "--out", out, "--workers", 1)
    assert result.exit_code == 0, result.output
    for text in ("def program", "validity", "runs_rate", "uniqueness", "novelty", "aggregate prior"):
        assert text in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4 and all(row["valid"] is True and row["source"] for row in rows)


def test_sample_without_a_checkpoint_takes_the_newest_and_says_so(tiny_run, tmp_path):
    artifacts = tmp_path / "artifacts"
    shutil.copytree(tiny_run, artifacts / tiny_run.name)
    result = run("sample", "--artifacts_dir", artifacts, "--n", 2, "--greedy", "--workers", 1)
    assert result.exit_code == 0, result.output
    assert "best_model.pt (the newest" in result.output and "greedy" in result.output


def test_interpolate_and_near(tiny_run):
    result = run("sample", tiny_run / "best_model.pt", "--interpolate", 0, 1, "--steps", 3, "--workers", 1)
    assert result.exit_code == 0, result.output
    assert "t=0.00" in result.output and "t=1.00" in result.output
    result = run("sample", tiny_run / "best_model.pt", "--near", 2, "--radius", 0.2, "--n", 2, "--workers", 1)
    assert result.exit_code == 0, result.output
    assert "centre" in result.output and "sigma" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--prior", "uniform"], "--prior"),
        (["--greedy", "--temperature", "0.5"], "exclusive"),
        (["--interpolate", "0", "1", "--near", "2"], "exclusive"),
        (["--near", "9999"], "no program 9999"),
        (["--out", "/nonexistent/dir/s.jsonl"], "does not exist"),
    ],
)
def test_bad_input_is_one_message_and_exit_code_2(tiny_run, extra, message):
    result = run("sample", tiny_run / "best_model.pt", "--workers", 1, *extra)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_without_a_checkpoint_sample_uses_the_shipped_model(tiny_run, tmp_path, monkeypatch):
    import astae.core.pretrained as pretrained

    monkeypatch.setattr(pretrained, "SHIPPED", tiny_run / "best_model.pt")
    result = run("sample", "--n", 2, "--workers", 1, "--artifacts_dir", tmp_path / "no_runs")
    assert result.exit_code == 0, result.output
    assert "the model shipped with astae" in result.output
    monkeypatch.setattr(pretrained, "SHIPPED", tmp_path / "none.pt")
    result = run("sample", "--artifacts_dir", tmp_path / "no_runs")
    assert result.exit_code == 2 and "no best_model.pt found" in result.output, result.output
