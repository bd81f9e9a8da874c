import json
import shutil

import pytest
from typer.testing import CliRunner

from astae.cli.app import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_eval_prints_the_metrics_and_writes_report_and_dump(tiny_run, tmp_path):
    out, dump = tmp_path / "report.json", tmp_path / "dump.jsonl"
    result = run("eval", tiny_run / "best_model.pt", "--out", out, "--dump", dump, "--workers", 1)
    assert result.exit_code == 0, result.output
    for text in ("exact_match", "all_examples_rate", "by program size", "by signature", "programs/s"):
        assert text in result.output
    report = json.loads(out.read_text())
    for key in ("loss", "reconstruction_loss", "kl", "similarity", "exact_match", "compilation_rate",
                "one_example_rate", "all_examples_rate"):
        assert key in report["metrics"]
    rows = [json.loads(line) for line in dump.read_text().splitlines()]
    assert len(rows) == report["counts"]["programs"]
    for row in rows:
        assert {"id", "original", "decoded", "outcomes", "exact"} <= set(row)
    n = len(rows)
    assert report["metrics"]["exact_match"] == pytest.approx(sum(r["exact"] for r in rows) / n)
    assert report["metrics"]["all_examples_rate"] == pytest.approx(
        sum(r["passed"] == len(r["outcomes"]) for r in rows) / n
    )


def test_eval_with_beam_search_and_another_split(tiny_run):
    result = run("eval", tiny_run / "best_model.pt", "--beam", 2, "--split", "train", "--limit", 5,
                 "--workers", 1)
    assert result.exit_code == 0, result.output
    assert "beam search, width 2" in result.output and "train split" in result.output


def _other_grammar(tiny_dataset, tmp_path):
    copy = tmp_path / "other"
    shutil.copytree(tiny_dataset, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["grammar_fingerprint"] = "0000"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "no such checkpoint"),
        ("text", "not a readable astae checkpoint"),
        ("split", "--split"),
        ("grammar", "grammar"),
        ("out_dir", "does not exist"),
        ("beam", "--beam"),
    ],
)
def test_bad_input_is_one_message_and_exit_code_2(tiny_run, tiny_dataset, tmp_path, case, message):
    ckpt = tiny_run / "best_model.pt"
    args = ["eval", ckpt, "--workers", 1]
    if case == "missing":
        args[1] = tmp_path / "nope.pt"
    elif case == "text":
        args[1] = tmp_path / "notes.pt"
        args[1].write_text("not a checkpoint")
    elif case == "split":
        args += ["--split", "holdout"]
    elif case == "grammar":
        args += ["--data_dir", _other_grammar(tiny_dataset, tmp_path)]
    elif case == "out_dir":
        args += ["--out", tmp_path / "no" / "report.json"]
    elif case == "beam":
        args += ["--beam", 0]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "report.json").exists()
