"""Checkpoints that describe themselves: weights, optimiser and scheduler state, RNG, config,
grammar fingerprint and vocabularies. Written atomically (a full disk is a `WriteError` naming the
file), read with `weights_only=True` after refusing every format but torch's plain zip archive."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import IO

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
_ZIP_MAGIC = b"PK\x03\x04"  # how torch recognises its zip format


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
        sink = _KeepWriteError(f)
        try:
            torch.save(payload, sink)
        except RuntimeError:
            # torch's zip writer turns a failed write (a full disk) into "unexpected pos ...":
            # raise the OSError it swallowed, so that atomic_file says what went wrong.
            if sink.error is not None:
                raise sink.error from None
            raise
    return path


class _KeepWriteError:
    """A binary file wrapper that remembers the first OSError its `write` raised."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self.file.write(data)
        except OSError as e:
            self.error = self.error or e
            raise

    def __getattr__(self, name: str) -> object:
        return getattr(self.file, name)


def read_checkpoint(path: Path) -> dict:
    """Read an astae checkpoint safely (`weights_only=True`) without checking that this version of
    astae can use it (see `compatibility_problems`)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    _refuse_other_formats(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "Weights only load failed" not in str(e):
            raise CheckpointError(f"{path}: not a readable astae checkpoint ({_first_line(e)})") from None
        detail = str(e).rpartition("WeightsUnpickler error:")[2].strip()[:200] or "not plain data"
        raise CheckpointError(
            f"{path}: not a readable astae checkpoint (refused: it holds Python objects other than "
            f"tensors and plain data, which could run code when loaded: {detail})"
        ) from None
    except Exception as e:  # torch raises many kinds for truncated, foreign or unsafe files
        raise CheckpointError(f"{path}: not a readable astae checkpoint ({_first_line(e)})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an astae checkpoint (format {CHECKPOINT_FORMAT} expected)")
    for key in ("model", "config", "epoch"):
        if key not in payload:
            raise CheckpointError(f"{path}: checkpoint lacks `{key}`")
    return payload


def _refuse_other_formats(path: Path) -> None:
    """Refuse, before torch reads it, any file that is not a plain torch zip archive: in torch
    2.2, `torch.load(weights_only=True)` hands a TorchScript archive to `torch.jit.load` (which
    runs the archive's code) and reads the legacy formats with the code that CVE-2025-32434
    bypasses. astae writes only the zip format, with no TorchScript inside."""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
    if magic != _ZIP_MAGIC:
        raise CheckpointError(
            f"{path}: not a readable astae checkpoint (not in torch's zip format; other formats are "
            "refused unread)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile, ValueError) as e:
        raise CheckpointError(
            f"{path}: not a readable astae checkpoint (a damaged zip archive: {_first_line(e)})"
        ) from None
    if any(name.rpartition("/")[2] == "constants.pkl" for name in names):
        raise CheckpointError(
            f"{path}: not a readable astae checkpoint (refused: a TorchScript archive, whose loading "
            "would run the code inside)"
        )


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else type(e).__name__


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


class WeightsMisfit(CheckpointError):
    """A checkpoint's weights do not load into the model its config describes; the message is
    the first fact torch or the config check gave."""


def build_model(payload: dict) -> tuple[ASTAutoencoder, TrainConfig]:
    """The model a checkpoint's config describes, its weights loaded (on the CPU, in eval mode),
    and that config; WeightsMisfit if they do not fit."""
    try:
        cfg = TrainConfig.model_validate(payload["config"])
        model = ASTAutoencoder(cfg.model, int(payload["num_features"]))
        model.load_state_dict(payload["model"])
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        # torch's first line is a heading ("Error(s) in loading state_dict for ...:"); say the first fact.
        lines = [line.strip() for line in str(e).splitlines() if line.strip()] or [type(e).__name__]
        fact = next((line for line in lines if not line.endswith(":")), lines[0])
        raise WeightsMisfit(fact[:200]) from None
    return model.eval(), cfg


def load_model(path: Path, device: str = "cpu") -> tuple[ASTAutoencoder, TrainConfig, dict]:
    """The model of a checkpoint, in eval mode, with its config and the whole payload."""
    payload = load_checkpoint(path)
    try:
        model, cfg = build_model(payload)
    except WeightsMisfit as e:
        raise CheckpointError(f"{path}: its weights do not fit this astae's model ({e})") from None
    return model.to(device), cfg, payload
