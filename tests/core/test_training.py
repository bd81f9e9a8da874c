import json

import pytest
import torch

from astae.core import training
from astae.core.checkpoint import load_checkpoint
from astae.core.config import (
    ConfigError,
    DataConfig,
    ModelConfig,
    TrackingConfig,
    TrainConfig,
    TrainingConfig,
)
from astae.core.devices import resolve_device
from astae.core.tracking import read_metrics
from astae.core.training import train
from astae.core.training_data import prepare_data
from astae.core.training_events import TrainCallbacks

METRIC_KEYS = ("loss", "reconstruction_loss", "kl", "similarity", "exact_match", "compilation_rate",
               "one_example_rate", "all_examples_rate")


def tiny_config(data_dir, artifacts, **training) -> TrainConfig:
    return TrainConfig(
        data=DataConfig(data_dir=data_dir),
        model=ModelConfig(hidden_dim=16, latent_dim=8, encoder_layers=1, kl_weight=0.1, dropout=0.1),
        training=TrainingConfig(**{
            "epochs": 2, "batch_size": 16, "eval_workers": 1, "checkpoint_interval": 1, "dump_interval": 1,
            "log_interval": 1, "warmup_steps": 2, "threads": 1, **training,
        }),
        tracking=TrackingConfig(wandb=False, artifacts_dir=artifacts),
    )


def test_train_writes_every_artifact(tiny_dataset, tmp_path):
    result = train(tiny_config(tiny_dataset, tmp_path))
    names = {p.name for p in result.run_dir.iterdir()}
    assert result.run_dir.parent == tmp_path and result.run_dir.name.startswith("run_")
    assert {"config.json", "checkpoint_epoch_1.pt", "checkpoint_epoch_2.pt", "best_model.pt",
            "final_model.pt", "validation_epoch_1.json", "validation_epoch_2.json", "metrics.jsonl",
            "curves.png"} <= names
    assert not any(n.startswith(".") for n in names)  # no temp files left
    records = read_metrics(result.run_dir / "metrics.jsonl")
    steps = [r for r in records if "train/step_loss" in r]
    epochs = [r for r in records if "val/loss" in r]
    assert {"train/step_loss", "train/step_similarity", "step", "train/step_batch_idx"} <= set(steps[0])
    assert [r["epoch"] for r in epochs] == [1, 2]
    assert all(f"val/{key}" in epochs[-1] for key in METRIC_KEYS)
    for key in METRIC_KEYS[3:]:
        assert 0.0 <= epochs[-1][f"val/{key}"] <= 1.0
    dump = json.loads((result.run_dir / "validation_epoch_2.json").read_text())
    assert len(dump["programs"]) == epochs[-1]["val/decoded_programs"]
    assert {"original", "decoded", "exact", "outcomes"} <= set(dump["programs"][0])
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["model"]["hidden_dim"] == 16


def test_validation_is_scored_and_dumped_chunk_by_chunk(tiny_dataset, tmp_path, monkeypatch):
    """Chunks of 3 programs: the dump still holds every validation program once, in order, in the
    text `write_json` gives the whole; the examples shown are its first rows."""
    monkeypatch.setattr(training, "EVAL_CHUNK", 3)
    result = train(tiny_config(tiny_dataset, tmp_path, epochs=1))
    text = (result.run_dir / "validation_epoch_1.json").read_text()
    dump = json.loads(text)
    assert text == json.dumps(dump, indent=2) + "\n"
    assert dump["epoch"] == 1
    data = prepare_data(tiny_dataset, 100, 42, 0.2)
    assert len(data.val_ids) > 3 and [r["id"] for r in dump["programs"]] == data.val_ids.tolist()
    assert result.examples == dump["programs"][: training.EXAMPLES_SHOWN]


def test_checkpoint_describes_itself(tiny_dataset, tmp_path):
    result = train(tiny_config(tiny_dataset, tmp_path, epochs=1))
    payload = load_checkpoint(result.run_dir / "final_model.pt")
    assert payload["epoch"] == 1
    assert payload["config"]["model"]["latent_dim"] == 8
    assert {"model", "optimizer", "scheduler", "rng", "grammar_fingerprint", "vocabulary"} <= set(payload)


@pytest.mark.slow
def test_resume_gives_the_same_result_as_a_straight_run(tiny_dataset, tmp_path):
    straight = train(tiny_config(tiny_dataset, tmp_path / "a", epochs=4))
    first = train(tiny_config(tiny_dataset, tmp_path / "b", epochs=2))
    resumed = train(tiny_config(tiny_dataset, tmp_path / "b", epochs=4),
                    resume=first.run_dir / "checkpoint_epoch_2.pt")
    assert resumed.run_dir == first.run_dir
    for key in ("val/loss", "train/loss", "val/exact_match", "val/similarity"):
        assert resumed.final[key] == pytest.approx(straight.final[key], rel=1e-5, abs=1e-6)
    a = load_checkpoint(straight.run_dir / "final_model.pt")["model"]
    b = load_checkpoint(resumed.run_dir / "final_model.pt")["model"]
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    epochs = [r["epoch"] for r in read_metrics(resumed.run_dir / "metrics.jsonl") if "val/loss" in r]
    assert epochs == [1, 2, 3, 4]


class _StopAfter(TrainCallbacks):
    def __init__(self, steps: int) -> None:
        self.steps = steps

    def step_done(self, loss: float, programs: int) -> None:
        self.steps -= 1
        if self.steps == 0:
            raise KeyboardInterrupt


def test_interrupt_saves_the_last_completed_epoch(tiny_dataset, tmp_path):
    cfg = tiny_config(tiny_dataset, tmp_path, epochs=3)
    result = train(cfg, callbacks=_StopAfter(4))  # 40 train programs / 16 = 3 steps per epoch
    assert result.interrupted
    assert result.checkpoint.name == "interrupted_epoch_1.pt"
    assert load_checkpoint(result.checkpoint)["epoch"] == 1
    resumed = train(cfg, resume=result.checkpoint)
    assert not resumed.interrupted and resumed.epochs_done == 3


def test_asking_for_an_absent_device_is_a_config_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="^training.device: 'cuda' was requested but is not available"):
        resolve_device("cuda")
    with pytest.raises(ConfigError) as info:
        resolve_device("cuda", "device", parameter=True)
    assert str(info.value).startswith("device: 'cuda' was requested")
    assert info.value.spelled(lambda p: f"--{p}").startswith("--device: 'cuda' was requested")
    assert resolve_device("auto").type in ("cpu", "mps")


def test_training_without_a_dataset_says_how_to_give_one(tmp_path):
    cfg = tiny_config(None, tmp_path)
    with pytest.raises(ConfigError, match="data.data_dir: no dataset given; set data.data_dir"):
        train(cfg)


def test_load_model_rebuilds_the_trained_model(tiny_dataset, tmp_path):
    from astae.core.checkpoint import load_model
    from astae.core.training_data import make_batch, prepare_data

    result = train(tiny_config(tiny_dataset, tmp_path, epochs=1))
    model, cfg, payload = load_model(result.run_dir / "final_model.pt")
    assert not model.training and cfg.model.hidden_dim == 16
    data = prepare_data(tiny_dataset, cfg.model.max_decode_steps, cfg.training.seed, 0.2)
    with torch.no_grad():
        loss = model(make_batch(data, data.val_ids, torch.device("cpu"))).reconstruction.mean().item()
    assert loss == pytest.approx(result.final["val/reconstruction_loss"], rel=1e-4)
