from pathlib import Path

import pytest

from astae.core.config import ConfigError, TrainConfig, load_config, read_yaml
from astae.core.quickstart import QUICKSTART_CONFIG, quickstart_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_default_yaml_is_exactly_the_built_in_defaults():
    assert load_config(TrainConfig, CONFIGS / "default.yaml") == TrainConfig()


def test_quickstart_yaml_matches_the_quickstart_command():
    assert read_yaml(CONFIGS / "quickstart.yaml") == QUICKSTART_CONFIG
    cfg = quickstart_config(Path("data/q"))
    assert cfg.training.epochs == QUICKSTART_CONFIG["training"]["epochs"]
    assert cfg.data.data_dir == Path("data/q")


@pytest.mark.parametrize("name", ["default", "quickstart", "small", "large"])
def test_every_preset_is_a_valid_config(name):
    load_config(TrainConfig, CONFIGS / f"{name}.yaml")


def test_flags_override_yaml_and_set_overrides_flags(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("training:\n  epochs: 3\n  lr: 0.5\nmodel:\n  latent_dim: 4\n")
    cfg = load_config(
        TrainConfig, cfg_file, {"training.epochs": 7, "model.hidden_dim": None},
        ["training.epochs=9", "model.encoder=rgcn"],
    )
    assert (cfg.training.epochs, cfg.training.lr, cfg.model.latent_dim) == (9, 0.5, 4)
    assert cfg.model.encoder == "rgcn" and cfg.model.hidden_dim == 128


def test_a_checkpoint_config_is_the_base_under_the_file_and_flags():
    base = TrainConfig(training={"epochs": 4, "seed": 5}).model_dump(mode="json")
    cfg = load_config(TrainConfig, None, {"training.epochs": 8}, None, base=base)
    assert (cfg.training.epochs, cfg.training.seed) == (8, 5)


def test_unknown_and_ill_typed_keys_are_listed_with_their_paths():
    with pytest.raises(ConfigError) as err:
        load_config(TrainConfig, None, None, ["model.latnt_dim=3", "training.batch_size=-1"])
    assert "model.latnt_dim: unknown key" in str(err.value)
    assert "training.batch_size" in str(err.value)


def test_latent_slots_that_do_not_divide_the_latent_are_refused():
    with pytest.raises(ConfigError, match="latent_slots \\(3\\) must divide latent_dim \\(256\\)"):
        load_config(TrainConfig, None, None, ["model.latent_slots=3"])
    assert load_config(TrainConfig, None, None, ["model.latent_slots=8"]).model.latent_slots == 8
