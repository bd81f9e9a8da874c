"""Checkpoints that describe themselves: weights, optimiser and scheduler state, RNG, config,
grammar fingerprint and vocabularies. Written atomically, read with `weights_only=True`."""

from __future__ import annotations

from pathlib import Path

import torch

from astae.core.astgraph import EDGE_TYPES, NODE_TYPES, VALUE_TOKENS
from astae.core.config import TrainConfig
from astae.core.errors import CheckpointError
from astae.core.files import atomic_file
from astae.core.grammar import GRAMMAR
from astae.core.model.autoencoder import ASTAutoencoder
from astae.core.model.semantics import FEATURE_NAMES
from astae.core.model.targets import SYMBOLS

CHECKPOINT_FORMAT = 1


def vocabulary() -> dict:
    """The vocabularies a checkpoint's weights are indexed by."""
    return {
        "node_types": list(NODE_TYPES),
        "value_tokens": list(VALUE_TOKENS),
        "edge_types": list(EDGE_TYPES),
        "symbols": list(SYMBOLS),
        "num_actions": GRAMMAR.num_actions,
        "behaviour_features": list(FEATURE_NAMES),
    }


def save_checkpoint(path: Path, payload: dict) -> Path:
    """Write `payload` (plus format, fingerprint and vocabulary) to `path` via a temp file and rename."""
    path = Path(path)
    payload = {
        **payload,
        "format": CHECKPOINT_FORMAT,
        "grammar_fingerprint": GRAMMAR.fingerprint,
        "vocabulary": vocabulary(),
    }
    with atomic_file(path, "wb") as f:
        torch.save(payload, f)
    return path


def read_checkpoint(path: Path) -> dict:
    """Read an astae checkpoint safely (`weights_only=True`) without checking that this version of
    astae can use it (see `compatibility_problems`)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for truncated, foreign or unsafe files
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: not a readable astae checkpoint ({first[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an astae checkpoint (format {CHECKPOINT_FORMAT} expected)")
    for key in ("model", "config", "epoch"):
        if key not in payload:
            raise CheckpointError(f"{path}: checkpoint lacks `{key}`")
    return payload


def compatibility_problems(payload: dict) -> list[str]:
    """Why this astae cannot use a checkpoint's weights (empty if it can)."""
    problems = []
    if payload.get("grammar_fingerprint") != GRAMMAR.fingerprint:
        problems.append(
            f"trained with grammar {payload.get('grammar_fingerprint')!r}, this astae's grammar is "
            f"{GRAMMAR.fingerprint!r}"
        )
    if payload.get("vocabulary") != vocabulary():
        problems.append("its vocabularies differ from this astae's")
    return problems


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint safely and check that this astae can use it."""
    payload = read_checkpoint(path)
    problems = compatibility_problems(payload)
    if problems:
        raise CheckpointError(f"{path}: {'; '.join(problems)}; it cannot be used with this version")
    return payload


def load_model(path: Path, device: str = "cpu") -> tuple[ASTAutoencoder, TrainConfig, dict]:
    """The model of a checkpoint, in eval mode, with its config and the whole payload."""
    payload = load_checkpoint(path)
    try:
        cfg = TrainConfig.model_validate(payload["config"])
        model = ASTAutoencoder(cfg.model, int(payload["num_features"]))
        model.load_state_dict(payload["model"])
    except (ValueError, KeyError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: its weights do not fit this astae's model ({first[:200]})") from None
    return model.to(device).eval(), cfg, payload
