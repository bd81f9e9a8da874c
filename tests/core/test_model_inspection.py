import json
import shutil

import pytest
import torch

from astae.core.checkpoint import load_checkpoint, load_model, read_checkpoint
from astae.core.config import ConfigError
from astae.core.dataset import DatasetError
from astae.core.errors import CheckpointError
from astae.core.grammar import GRAMMAR
from astae.core.model_inspection import (
    SIGNATURE_COLOURS,
    _signature_groups,
    latent_map,
    summarize_checkpoint,
)
from astae.core.plots import OTHER
from astae.core.training_data import prepare_data

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def epoch_record(epoch: int, val_loss: float, **extra) -> dict:
    return {"epoch": epoch, "train/loss": 2 * val_loss, "val/loss": val_loss, **extra}


def step_record(step: int, epoch: int) -> dict:
    return {"train/step_loss": 9.0, "train/step_similarity": 0.1, "step": step, "train/step_batch_idx": 0,
            "epoch": epoch}


@pytest.fixture
def lone_checkpoint(tiny_run, tmp_path):
    """A copy of the tiny run's best model in a folder of its own (no metrics.jsonl beside it)."""
    path = tmp_path / "best_model.pt"
    shutil.copy(tiny_run / "best_model.pt", path)
    return path


def test_parameter_counts_per_module_sum_to_the_models_total(tiny_run):
    summary = summarize_checkpoint(tiny_run / "best_model.pt")
    model, _, _ = load_model(tiny_run / "best_model.pt")
    assert [m.name for m in summary.modules] == [name for name, _ in model.named_children()]
    assert summary.total_parameters == sum(p.numel() for p in model.parameters())
    for module in summary.modules:
        assert module.parameters == sum(p.numel() for p in model.get_submodule(module.name).parameters())
        if module.parts:
            assert sum(n for _, n in module.parts) == module.parameters
    parts = {m.name: [name for name, _ in m.parts] for m in summary.modules}
    assert "rnn" in parts["decoder"] and "production_head" in parts["decoder"]


def test_summary_shows_config_dataset_prior_and_a_matching_grammar(tiny_run, tiny_dataset):
    summary = summarize_checkpoint(tiny_run / "final_model.pt")
    assert summary.compatible and summary.grammar_fingerprint == GRAMMAR.fingerprint
    assert summary.config["model"]["latent_dim"] == 8
    assert summary.epoch == 2 and summary.step > 0
    assert summary.dataset_path == str(tiny_dataset) and summary.dataset_programs == 50
    assert summary.dataset_present and summary.latent_prior


def test_history_best_and_last_come_from_metrics_jsonl(lone_checkpoint):
    records = [
        step_record(1, 1), epoch_record(1, 5.0), step_record(2, 2), epoch_record(2, 3.0),
        epoch_record(3, 4.0, **{"val/exact_match": 0.25}),
        epoch_record(4, 9.0), epoch_record(4, 3.5, **{"val/exact_match": 0.5}),  # epoch 4 again, resumed
    ]
    metrics = lone_checkpoint.parent / "metrics.jsonl"
    metrics.write_text("".join(json.dumps(r) + "\n" for r in records))
    history = summarize_checkpoint(lone_checkpoint).history
    assert history.source == str(metrics) and history.epochs == 4
    assert history.last["epoch"] == 4 and history.last["val/loss"] == 3.5
    assert history.best["epoch"] == 2
    assert history.best_evaluated["epoch"] == 4


def test_history_of_the_real_run_matches_its_last_epoch(tiny_run):
    history = summarize_checkpoint(tiny_run / "final_model.pt").history
    assert history.source.endswith("metrics.jsonl") and history.epochs == 2
    assert history.last["epoch"] == 2 and "val/exact_match" in history.best_evaluated


def test_history_without_metrics_jsonl_is_the_checkpoints_best_evaluated_epoch(lone_checkpoint):
    history = summarize_checkpoint(lone_checkpoint).history
    assert history.source == "checkpoint" and history.epochs is None
    assert history.last == {} and history.best_evaluated == read_checkpoint(lone_checkpoint)["best_eval"]


def test_an_unreadable_metrics_jsonl_falls_back_to_the_checkpoint_with_a_note(lone_checkpoint):
    (lone_checkpoint.parent / "metrics.jsonl").write_text('not json\n{"epoch": 1}\n')
    history = summarize_checkpoint(lone_checkpoint).history
    assert history.source == "checkpoint" and history.best_evaluated
    assert "metrics.jsonl:1" in history.note


def test_a_changed_fingerprint_is_flagged_and_still_summarised(tiny_run, tmp_path):
    payload = read_checkpoint(tiny_run / "best_model.pt")
    payload["grammar_fingerprint"] = "0123456789abcdef"
    bad = tmp_path / "old_grammar.pt"
    torch.save(payload, bad)  # save_checkpoint would stamp the current fingerprint
    summary = summarize_checkpoint(bad)
    assert not summary.compatible
    assert any("0123456789abcdef" in p and GRAMMAR.fingerprint in p for p in summary.problems)
    assert summary.total_parameters > 0 and summary.config
    with pytest.raises(CheckpointError):
        load_checkpoint(bad)


def test_a_model_entry_that_is_not_a_state_dict_is_a_checkpoint_error(tiny_run, tmp_path):
    payload = read_checkpoint(tiny_run / "best_model.pt")
    payload["model"] = [1, 2, 3]
    bad = tmp_path / "bad.pt"
    torch.save(payload, bad)
    with pytest.raises(CheckpointError, match="state dict"):
        summarize_checkpoint(bad)


def test_latent_map_has_one_point_per_validation_program_and_writes_a_png(tiny_run, tmp_path):
    out = tmp_path / "map.png"
    result = latent_map(tiny_run / "best_model.pt", out=out)
    _, cfg, _ = load_model(tiny_run / "best_model.pt")
    data = prepare_data(cfg.data.data_dir, cfg.model.max_decode_steps, cfg.training.seed,
                        cfg.data.val_fraction)
    assert result.ids == data.val_ids.tolist()
    assert result.points.shape == (len(data.val_ids), 2)
    assert sum(n for _, n in result.signatures) == len(data.val_ids)
    assert 0 < sum(result.explained_variance) <= 1 + 1e-6
    assert result.out == out and out.read_bytes()[:8] == PNG_MAGIC


def test_latent_map_limit_and_split_choose_the_programs(tiny_run, tmp_path):
    result = latent_map(tiny_run / "best_model.pt", split="all", limit=7, out=tmp_path)
    assert result.ids == list(range(7))
    assert result.out == tmp_path / "latent_best_model.png" and result.out.is_file()


def test_latent_map_of_a_checkpoint_whose_dataset_is_gone_asks_for_data_dir(tiny_run, tiny_dataset, tmp_path):
    payload = read_checkpoint(tiny_run / "best_model.pt")
    payload["dataset"] = {**payload["dataset"], "path": str(tmp_path / "moved")}
    moved = tmp_path / "moved.pt"
    torch.save(payload, moved)
    with pytest.raises(DatasetError, match="pass data_dir=DIR"):
        latent_map(moved, out=tmp_path / "a.png")
    assert latent_map(moved, data_dir=tiny_dataset, out=tmp_path / "b.png").points.shape[0] > 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"split": "holdout"}, "^split: "),
    ({"out": "map.txt"}, "^out: "),
])
def test_bad_latent_options_are_config_errors(tiny_run, tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        latent_map(tiny_run / "best_model.pt", **{"out": tmp_path / "m.png", **kwargs})


def test_rare_signatures_are_grouped_as_other():
    signatures = [f"s{i}" for i in range(SIGNATURE_COLOURS + 5) for _ in range(SIGNATURE_COLOURS + 5 - i)]
    groups = _signature_groups(signatures)
    kept = {g for g in groups if g != OTHER}
    assert kept == {f"s{i}" for i in range(SIGNATURE_COLOURS)}
    assert groups.count(OTHER) == sum(1 for s in signatures if s not in kept)


def test_few_signatures_each_keep_their_own_colour():
    signatures = [f"s{i}" for i in range(SIGNATURE_COLOURS + 1)]
    assert _signature_groups(signatures) == signatures
