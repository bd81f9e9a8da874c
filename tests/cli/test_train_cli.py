import os

import pytest
from typer.testing import CliRunner

from astae.cli.app import app

runner = CliRunner()
TINY = ["--set", "model.hidden_dim=16", "--set", "model.latent_dim=8", "--set", "model.encoder_layers=1",
        "--set", "training.eval_workers=1", "--set", "training.threads=1", "--batch_size", "16"]


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def only_run_dir(artifacts):
    (run_dir,) = [p for p in artifacts.iterdir() if p.name.startswith("run_")]
    return run_dir


def test_train_two_epochs_writes_artifacts_and_a_summary(tiny_dataset, tmp_path):
    result = run("train", "--data_dir", tiny_dataset, "--epochs", 2, "--no_wandb",
                 "--artifacts_dir", tmp_path, *TINY)
    assert result.exit_code == 0, result.output
    assert "exact_match" in result.output and "compilation_rate" in result.output
    run_dir = only_run_dir(tmp_path)
    for name in ("config.json", "best_model.pt", "final_model.pt", "metrics.jsonl", "curves.png"):
        assert (run_dir / name).is_file(), name


def test_seed_flag_spellings_and_kebab_case_both_work(tiny_dataset, tmp_path):
    result = run("train", "--data-dir", tiny_dataset, "--epochs", 1, "--no-wandb",
                 "--artifacts-dir", tmp_path, "--log-interval", 1, "--eval-interval", 1, *TINY)
    assert result.exit_code == 0, result.output
    assert "step      1" in result.output


def test_resume_continues_in_the_same_run(tiny_dataset, tmp_path):
    first = run("train", "--data_dir", tiny_dataset, "--epochs", 1, "--no_wandb", "--artifacts_dir", tmp_path,
                *TINY)
    assert first.exit_code == 0, first.output
    run_dir = only_run_dir(tmp_path)
    again = run("train", "--resume", run_dir / "final_model.pt", "--epochs", 2)
    assert again.exit_code == 0, again.output
    assert "resuming after epoch" in again.output
    assert only_run_dir(tmp_path) == run_dir


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("model:\n  latnt_dim: 4\n", "model.latnt_dim: unknown key"),
        ("training:\n  epochs: zero\n", "training.epochs"),
        ("model: [1, 2\n", "invalid YAML"),
        ("- just a list\n", "mapping"),
    ],
)
def test_bad_config_is_one_message_and_exit_code_2(tmp_path, tiny_dataset, yaml_text, message):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml_text)
    result = run("train", "--config", cfg, "--data_dir", tiny_dataset)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "model.encoder=transformer"], "model.encoder"),
        (["--set", "nonsense"], "key.path=value"),
        (["--device", "quantum"], "training.device"),
    ],
)
def test_bad_flags_are_one_message_and_exit_code_2(tiny_dataset, tmp_path, args, message):
    result = run("train", "--data_dir", tiny_dataset, "--artifacts_dir", tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_data_dir_without_graphs_says_so(tiny_dataset, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("manifest.json", "programs.jsonl"):
        (broken / name).write_bytes((tiny_dataset / name).read_bytes())
    result = run("train", "--data_dir", broken, "--no_wandb", "--artifacts_dir", tmp_path / "a")
    assert result.exit_code == 2
    assert "graphs/" in result.output
    assert not (tmp_path / "a").exists()


def test_missing_or_corrupt_checkpoint_is_one_message(tmp_path):
    missing = run("train", "--resume", tmp_path / "nope.pt")
    assert missing.exit_code == 2 and "no such checkpoint" in missing.output
    corrupt = tmp_path / "bad.pt"
    corrupt.write_bytes(b"not a checkpoint")
    result = run("train", "--resume", corrupt)
    assert result.exit_code == 2 and "not a readable astae checkpoint" in result.output
    assert "Traceback" not in result.output


@pytest.mark.skipif(os.environ.get("CUDA_VISIBLE_DEVICES") not in (None, ""), reason="GPU machine")
def test_absent_device_is_a_clear_error(tiny_dataset, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = run("train", "--data_dir", tiny_dataset, "--device", "cuda", "--artifacts_dir", tmp_path)
    assert result.exit_code == 2
    assert "'cuda' was requested but is not available" in result.output


def test_wandb_offline_run_writes_its_run_folder(tiny_dataset, tmp_path):
    env = {"WANDB_MODE": "offline", "WANDB_API_KEY": "", "WANDB_SILENT": "true"}
    result = run("train", "--data_dir", tiny_dataset, "--epochs", 1, "--artifacts_dir", tmp_path, *TINY,
                 env=env)
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "wandb").glob("offline-run-*"))


@pytest.mark.slow
def test_quickstart_builds_trains_shows_reconstructions_and_samples(tmp_path):
    result = run("quickstart", "--out", tmp_path / "data", "--n", 40, "--epochs", 1,
                 "--artifacts_dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    assert "dataset written" in result.output
    assert "validation programs and their greedy decodes" in result.output
    assert "def program(" in result.output
    assert "programs drawn from the latent space" in result.output and "validity" in result.output
    run_dir = only_run_dir(tmp_path / "runs")
    assert (run_dir / "final_model.pt").is_file()
