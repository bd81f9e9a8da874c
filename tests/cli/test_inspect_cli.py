import shutil

import pytest
import torch
from typer.testing import CliRunner

from astae.cli.app import app
from astae.core.checkpoint import read_checkpoint
from astae.core.grammar import GRAMMAR

runner = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def checkpoint_copy(tiny_run, tmp_path):
    """The tiny run's best model alone in a fresh folder, so files written beside it stay in the test."""
    path = tmp_path / "best_model.pt"
    shutil.copy(tiny_run / "best_model.pt", path)
    return path


def test_inspect_checkpoint_shows_config_grammar_parameters_and_history(tiny_run):
    result = run("inspect", "checkpoint", tiny_run / "best_model.pt")
    assert result.exit_code == 0, result.output
    for text in ("epoch", "compatible:", GRAMMAR.fingerprint, "config: model", "latent_dim", "encoder",
                 "decoder", "semantic_head", "production_head", "training history", "last epoch",
                 "min val loss", "val/exact_match", "latent prior", "(50 programs)"):
        assert text in result.output, text
    assert "incompatible" not in result.output
    model = read_checkpoint(tiny_run / "best_model.pt")["model"]
    assert f"parameters ({sum(t.numel() for t in model.values()):,})" in result.output


def test_inspect_checkpoint_without_metrics_shows_the_stored_best_epoch(checkpoint_copy):
    result = run("inspect", "checkpoint", checkpoint_copy)
    assert result.exit_code == 0, result.output
    assert "best evaluated epoch" in result.output and "last epoch" not in result.output


def test_inspect_checkpoint_of_another_grammar_says_why_it_cannot_be_used(tiny_run, tmp_path):
    payload = read_checkpoint(tiny_run / "best_model.pt")
    payload["grammar_fingerprint"] = "0123456789abcdef"
    path = tmp_path / "old.pt"
    torch.save(payload, path)
    result = run("inspect", "checkpoint", path)
    assert result.exit_code == 0, result.output
    assert "incompatible:" in result.output and "0123456789abcdef" in result.output
    assert "parameters (" in result.output


def test_inspect_latent_writes_a_png_beside_the_checkpoint(checkpoint_copy):
    result = run("inspect", "latent", checkpoint_copy)
    assert result.exit_code == 0, result.output
    png = checkpoint_copy.with_name("latent_best_model.png")
    assert f"wrote {png}" in result.output
    assert png.read_bytes()[:8] == PNG_MAGIC
    for text in ("explained variance", "PC1", "(val split)", "colours by signature"):
        assert text in result.output, text


def test_inspect_latent_out_split_and_limit(tiny_run, tiny_dataset, tmp_path):
    out = tmp_path / "maps" / "all.png"
    result = run("inspect", "latent", tiny_run / "best_model.pt", "--out", out, "--split", "all",
                 "--limit", 9, "--data-dir", tiny_dataset)
    assert result.exit_code == 0, result.output
    assert "9 (all split)" in result.output
    assert out.read_bytes()[:8] == PNG_MAGIC


def bad_checkpoints(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("these are not weights\n")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(b"PK\x03\x04 not really a zip")
    return {"missing": tmp_path / "nope.pt", "text": text, "foreign": foreign, "truncated": truncated}


@pytest.mark.parametrize("command", ["checkpoint", "latent"])
@pytest.mark.parametrize("kind", ["missing", "text", "foreign", "truncated"])
def test_a_bad_checkpoint_is_one_message_naming_it_and_exit_code_2(tmp_path, command, kind):
    path = bad_checkpoints(tmp_path)[kind]
    result = run("inspect", command, path)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and str(path) in result.output
    assert "Traceback" not in result.output


def test_latent_of_a_checkpoint_whose_dataset_is_gone_says_to_pass_data_dir(tiny_run, tmp_path):
    payload = read_checkpoint(tiny_run / "best_model.pt")
    gone = tmp_path / "gone"
    payload["dataset"] = {**payload["dataset"], "path": str(gone)}
    path = tmp_path / "moved.pt"
    torch.save(payload, path)
    result = run("inspect", "latent", path)
    assert result.exit_code == 2, result.output
    assert str(gone) in result.output and "--data_dir" in result.output
    assert "Traceback" not in result.output


def test_latent_with_a_missing_data_dir_names_it(tiny_run, tmp_path):
    result = run("inspect", "latent", tiny_run / "best_model.pt", "--data_dir", tmp_path / "absent",
                 "--out", tmp_path / "m.png")
    assert result.exit_code == 2, result.output
    assert str(tmp_path / "absent") in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--split", "holdout"], "--split"),
    (["--out", "map.txt"], "--out"),
    (["--limit", "0"], "--limit"),
])
def test_bad_latent_options_exit_with_code_2(tiny_run, args, message):
    result = run("inspect", "latent", tiny_run / "best_model.pt", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
