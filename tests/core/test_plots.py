import math

import numpy as np
import pytest

from astae.core.plots import OTHER, _series, plot_curves, plot_latent_map

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _records(epochs: int = 4, steps_per_epoch: int = 5) -> list[dict]:
    """What a short training run logs: step records, then one epoch record per epoch."""
    records: list[dict] = []
    for epoch in range(1, epochs + 1):
        for i in range(steps_per_epoch):
            step = (epoch - 1) * steps_per_epoch + i
            records.append({"train/step_loss": 3.0 / (1 + step), "train/step_similarity": step / 20,
                            "step": step, "train/step_batch_idx": i})
        records.append({
            "epoch": epoch, "train/loss": 3.0 / epoch, "val/loss": 3.2 / epoch,
            "val/reconstruction_loss": 3.0 / epoch, "val/kl": 0.01 * epoch,
            "val/similarity": 0.2 * epoch, "val/exact_match": 0.1 * epoch,
            "val/compilation_rate": 0.2 * epoch, "val/one_example_rate": 0.15 * epoch,
            "val/all_examples_rate": 0.05 * epoch,
        })
    return records


def _is_png(path) -> bool:
    return path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


def test_plot_curves_writes_a_png_for_a_training_run_and_no_temp_file(tmp_path):
    out = plot_curves(_records(), tmp_path / "curves.png")
    assert out == tmp_path / "curves.png"
    assert _is_png(out)
    assert list(tmp_path.iterdir()) == [out]


def test_plot_curves_writes_a_no_metrics_figure_for_no_records(tmp_path):
    out = plot_curves([], tmp_path / "curves.png")
    assert _is_png(out)
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize(
    "records",
    [
        _records()[:3],  # steps only: the first epoch has not finished
        [{"epoch": 1, "val/exact_match": 0.5}],  # rates only
        [{"epoch": 1, "val/kl": 0.3}],  # kl without reconstruction loss
        [{"epoch": 1, "train/loss": float("nan"), "val/loss": None, "note": "x"}],  # nothing plottable
    ],
)
def test_plot_curves_skips_missing_panels_and_lines(tmp_path, records):
    assert _is_png(plot_curves(records, tmp_path / "curves.png"))


def test_plot_curves_replaces_an_existing_plot(tmp_path):
    out = tmp_path / "curves.png"
    plot_curves([], out)
    empty = out.read_bytes()
    plot_curves(_records(), out)
    assert out.read_bytes() != empty
    assert list(tmp_path.iterdir()) == [out]


def test_plot_curves_removes_its_temp_file_when_saving_fails(tmp_path):
    with pytest.raises(ValueError):
        plot_curves(_records(), tmp_path / "curves.notaformat")
    assert list(tmp_path.iterdir()) == []


def test_series_keeps_the_later_value_for_a_repeated_epoch_and_sorts():
    records = [{"epoch": 2, "val/loss": 2.0}, {"epoch": 1, "val/loss": 1.0}, {"epoch": 2, "val/loss": 1.5},
               {"epoch": 3, "val/loss": math.inf}, {"step": 4, "val/loss": 9.0}]
    assert _series(records, "epoch", "val/loss") == ([1, 2], [1.0, 1.5])


def test_plot_latent_map_writes_a_png_with_an_other_group_and_no_temp_file(tmp_path):
    groups = ["int -> int"] * 5 + ["str -> int"] * 3 + [OTHER] * 2
    points = np.random.default_rng(0).normal(size=(len(groups), 2))
    out = plot_latent_map(points, groups, list(range(3, 13)), [0.6, 0.3], tmp_path / "latent.png", "title", 2)
    assert out == tmp_path / "latent.png"
    assert _is_png(out)
    assert list(tmp_path.iterdir()) == [out]
