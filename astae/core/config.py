"""Validated configuration: Pydantic models loaded from YAML, with overrides.

Every config is read once, at the edge, by `load_config`; core code receives a
validated model and never reads raw dicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from astae.core.errors import NamesParameters
from astae.core.grammar import MAX_PARAMS


class ConfigError(NamesParameters, ValueError):
    """A configuration that cannot be used; the message names the file and key paths."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


TypeName = Literal["int", "list"]


class GeneratorConfig(_Strict):
    """Knobs of the random program generator and of the example search."""

    min_params: int = Field(1, ge=1, le=MAX_PARAMS, description="Fewest parameters.")
    max_params: int = Field(MAX_PARAMS, ge=1, le=MAX_PARAMS, description="Most parameters.")
    param_types: list[TypeName] = Field(
        ["int", "list"], min_length=1, description="Parameter types to draw from."
    )
    return_types: list[TypeName] = Field(
        ["int", "list"], min_length=1, description="Return types to draw from."
    )
    min_statements: int = Field(1, ge=0, le=20, description="Fewest statements before `return`.")
    max_statements: int = Field(4, ge=0, le=20, description="Most statements before `return`.")
    max_depth: int = Field(3, ge=1, le=10, description="Deepest expression nesting.")
    composed_share: float = Field(
        0.5, ge=0.0, le=1.0, description="Share of candidates composed of the operations people ask for "
        "(sort, slice, map, filter, count, running folds, element-wise combination...; "
        "astae.core.composer) instead of sampled from the grammar."
    )
    max_nesting: int = Field(2, ge=0, le=5, description="Deepest block nesting (for/if).")
    max_actions: int = Field(
        90, ge=10, le=1000, description="Budget of grammar actions per program."
    )
    examples_min: int = Field(5, ge=1, le=100, description="Fewest examples per program.")
    examples_max: int = Field(10, ge=1, le=100, description="Most examples per program.")
    int_min: int = Field(-10, ge=-1000, le=1000, description="Smallest input integer.")
    int_max: int = Field(10, ge=-1000, le=1000, description="Largest input integer.")
    list_len_min: int = Field(0, ge=0, le=100, description="Shortest input list.")
    list_len_max: int = Field(8, ge=0, le=100, description="Longest input list.")
    max_error_rate: float = Field(
        0.2, ge=0.0, lt=1.0, description="Largest share of inputs a kept program may fail on."
    )
    max_abs_output: int = Field(
        10**6, ge=1, description="Largest absolute integer a kept program may return."
    )
    max_output_len: int = Field(64, ge=1, description="Longest list a kept program may return.")
    probe_count: int = Field(
        16, ge=2, le=256, description="Fixed probe inputs per signature (behaviour dedup)."
    )
    probe_seed: int = Field(0, description="Seed of the probe inputs (the same for every dataset).")
    time_limit: float = Field(
        0.01, gt=0, le=60, description="Seconds per program call while generating."
    )
    memory_limit_mb: int = Field(512, ge=64, description="Memory a worker may add, in MiB.")
    chunk_size: int = Field(64, ge=1, le=10_000, description="Candidates per worker task.")
    shard_size: int = Field(10_000, ge=1, description="Graphs per DGL shard file.")

    @model_validator(mode="after")
    def _ranges(self) -> GeneratorConfig:
        for low, high in [
            ("min_params", "max_params"),
            ("min_statements", "max_statements"),
            ("examples_min", "examples_max"),
            ("int_min", "int_max"),
            ("list_len_min", "list_len_max"),
        ]:
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} must not exceed {high}")
        return self


Model = TypeVar("Model", bound=BaseModel)


def set_by_path(tree: dict, dotted: str, value: Any) -> None:
    """Set `tree["a"]["b"] = value` for `dotted = "a.b"`, creating sections as needed."""
    keys = dotted.split(".")
    node = tree
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"`{dotted}`: `{key}` is not a section")
        node = child
    node[keys[-1]] = value


def parse_assignment(text: str) -> tuple[str, Any]:
    """`key.path=value` with the value read as YAML (so numbers, lists and booleans work)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError.naming("`{assignments} {text}`: expected key.path=value", text=text)
    try:
        return key.strip(), yaml.safe_load(raw)
    except (yaml.YAMLError, ValueError, RecursionError):  # not YAML: validation judges the text
        return key.strip(), raw


def read_yaml(path: Path) -> dict:
    """Read a YAML mapping; a missing, unreadable or malformed file is a ConfigError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read config file ({e})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid YAML: nested too deeply to read") from None
    except ValueError as e:  # e.g. an int of more than sys.get_int_max_str_digits() digits
        raise ConfigError(f"{path}: invalid YAML: {str(e).split(':')[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping of keys, not {type(data).__name__}")
    return data


def validate(model: type[Model], data: dict, source: str) -> Model:
    """Validate `data` as `model`; errors list every bad key path."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            path = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"  {path}: {msg}")
        raise ConfigError(f"{source}: invalid configuration\n" + "\n".join(lines)) from None


def merge(base: dict, top: dict) -> dict:
    """`base` with `top`'s keys laid over it, section by section."""
    out = dict(base)
    for key, value in top.items():
        both_sections = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge(out[key], value) if both_sections else value
    return out


def load_config(
    model: type[Model],
    path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    assignments: list[str] | None = None,
    base: dict | None = None,
) -> Model:
    """`base` (e.g. a checkpoint's config), then the YAML file, then flag overrides, then
    `key.path=value` assignments; validated once."""
    data = merge(base or {}, read_yaml(path) if path is not None else {})
    for key, value in (overrides or {}).items():
        if value is not None:
            set_by_path(data, key, value)
    for text in assignments or []:
        set_by_path(data, *parse_assignment(text))
    return validate(model, data, str(path) if path is not None else "config")


# -- training (DESIGN §4, §7) -----------------------------------------------------------


class DataConfig(_Strict):
    """Which dataset to train on and how it is split."""

    data_dir: Path | None = Field(None, description="Dataset directory (with graphs/).")
    val_fraction: float = Field(
        0.2, gt=0.0, lt=1.0, description="Share of programs held out for validation."
    )
    test_fraction: float = Field(
        0.0, ge=0.0, lt=1.0, description="Share of programs held out as a test split that nothing trains "
        "or tunes on (`astae eval --split test`); taken from the training side, validation unchanged."
    )
    max_programs: int | None = Field(None, ge=2, description="Use only the first N programs (quick runs).")
    cache_programs: int = Field(
        20_000, ge=1, description="Programs whose decoder targets and features stay in memory (the rest "
        "are recomputed when needed): bounds memory however large the dataset."
    )

    @model_validator(mode="after")
    def _fractions_leave_training(self) -> DataConfig:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError("val_fraction + test_fraction must be below 1 (the rest is the training side)")
        return self


class ModelConfig(_Strict):
    """The autoencoder: graph encoder, latent bridge, grammar decoder and loss weights."""

    hidden_dim: int = Field(128, ge=8, le=4096, description="Width of embeddings and hidden states.")
    latent_dim: int = Field(256, ge=2, le=4096, description="Size of the latent code z.")
    latent_slots: int = Field(
        1, ge=1, le=64, description="z read by the decoder as this many vectors of latent_dim / "
        "latent_slots, attended to at every step (1: one vector)."
    )
    encoder: Literal["gcn", "rgcn", "gat", "gin"] = Field("gcn", description="Graph convolution kind.")
    encoder_layers: int = Field(3, ge=1, le=16, description="Graph convolution layers.")
    readout: Literal[
        "mean_max", "attention", "sequence", "slots", "sequence_slots", "transformer_slots"
    ] = Field(
        "sequence",
        description="Graph readout: mean+max pooling, attention pooling, a GRU over pre-order nodes, or "
        "`latent_slots` learned queries attending over the node states (`slots`), over that GRU's "
        "outputs (`sequence_slots`) or over a Transformer layer's (`transformer_slots`).",
    )
    position_features: bool = Field(
        True, description="Add each node's pre-order position to its embedding."
    )
    decoder_cell: Literal["gru", "lstm"] = Field("gru", description="Recurrent cell of the decoder.")
    decoder_layers: int = Field(1, ge=1, le=4, description="Stacked recurrent layers.")
    latent_to_output: bool = Field(
        True, description="Also add a projection of z to the decoder's output features at every step."
    )
    max_decode_steps: int = Field(100, ge=10, le=1000, description="Action budget of a decode.")
    dropout: float = Field(0.1, ge=0.0, lt=1.0, description="Dropout in encoder and decoder.")
    kl_weight: float = Field(0.0, ge=0.0, description="KL weight: 0 = plain autoencoder, > 0 = VAE.")
    kl_warmup_epochs: int = Field(5, ge=0, description="Epochs of linear KL warm-up from 0.")
    free_bits: float = Field(0.0, ge=0.0, description="KL nats per latent dimension not penalised.")
    semantic_weight: float = Field(0.1, ge=0.0, description="Weight of the behaviour-prediction loss.")

    @model_validator(mode="after")
    def _slots_divide_latent(self) -> ModelConfig:
        if self.latent_dim % self.latent_slots:
            raise ValueError(f"latent_slots ({self.latent_slots}) must divide latent_dim ({self.latent_dim})")
        return self


class TrainingConfig(_Strict):
    """The optimisation loop, evaluation cadence and hardware."""

    epochs: int = Field(10, ge=1, description="Training epochs.")
    batch_size: int = Field(64, ge=1, description="Programs per step.")
    lr: float = Field(3e-3, gt=0.0, description="AdamW learning rate.")
    weight_decay: float = Field(0.0, ge=0.0, description="AdamW weight decay.")
    grad_clip: float = Field(1.0, ge=0.0, description="Gradient norm clip (0 = none).")
    lr_schedule: Literal["exponential", "constant", "cosine"] = Field(
        "exponential",
        description="After warm-up: x lr_decay per epoch, constant, or a cosine over `epochs` (to 5%).",
    )
    lr_decay: float = Field(
        0.95, gt=0.0, le=1.0, description="Per-epoch factor of the exponential schedule."
    )
    warmup_steps: int = Field(100, ge=0, description="Linear learning-rate warm-up steps.")
    eval_interval: int = Field(1, ge=1, description="Validate (with greedy decoding) every N epochs.")
    log_interval: int = Field(10, ge=1, description="Log running step averages every N steps.")
    checkpoint_interval: int = Field(5, ge=1, description="Write checkpoint_epoch_X.pt every N epochs.")
    dump_interval: int = Field(10, ge=1, description="Write validation_epoch_X.json every N epochs.")
    eval_max_programs: int | None = Field(
        None, ge=1, description="Greedy-decode at most N validation programs per evaluation (all if unset)."
    )
    eval_workers: int = Field(2, ge=1, le=64, description="Executor processes that run decoded programs.")
    device: Literal["auto", "cpu", "cuda", "mps"] = Field("auto", description="Where to train.")
    seed: int = Field(42, description="Seed of the split, initialisation and shuffling.")
    threads: int | None = Field(None, ge=1, description="torch CPU threads (default: torch's choice).")


class TrackingConfig(_Strict):
    """Where runs are written and logged."""

    wandb: bool = Field(True, description="Log to wandb (offline when there is no API key).")
    wandb_project: str = Field("AST-Autoencoder", min_length=1, description="wandb project.")
    wandb_run: str | None = Field(None, description="wandb run name (auto-generated if unset).")
    artifacts_dir: Path = Field(Path("training_artifacts"), description="Parent of run_YYYYMMDD_HHMMSS/.")


class TrainConfig(_Strict):
    """Everything `astae train` needs."""

    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    tracking: TrackingConfig = TrackingConfig()
