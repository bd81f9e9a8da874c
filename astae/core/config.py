"""Validated configuration: Pydantic models loaded from YAML, with overrides.

Every config is read once, at the edge, by `load_config`; core code receives a
validated model and never reads raw dicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from astae.core.grammar import MAX_PARAMS


class ConfigError(ValueError):
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
        raise ConfigError(f"`--set {text}`: expected key.path=value")
    try:
        return key.strip(), yaml.safe_load(raw)
    except yaml.YAMLError:
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
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{path}:{where} invalid YAML: {problem}") from None
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


def load_config(
    model: type[Model],
    path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    assignments: list[str] | None = None,
) -> Model:
    """YAML file (optional), then flag overrides, then `key.path=value` assignments; validated once."""
    data = read_yaml(path) if path is not None else {}
    for key, value in (overrides or {}).items():
        if value is not None:
            set_by_path(data, key, value)
    for text in assignments or []:
        set_by_path(data, *parse_assignment(text))
    return validate(model, data, str(path) if path is not None else "config")
