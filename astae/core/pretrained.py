"""The trained model that ships with astae, so that `astae sample` and `astae synthesize` work
right after install, before any training.

`SHIPPED` is a checkpoint stripped to what using a model needs (weights, config, latent prior,
vocabularies and grammar fingerprint; no optimizer state), written by `ship_checkpoint`
(`benchmarks/ship_model.py`), with its card beside it (`model.json`: how it was trained and
what it measured; docs/training.md). Commands that take an optional checkpoint use
`default_checkpoint`: the newest `best_model.pt` under the artifacts directory, else the shipped
model.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from astae.core.checkpoint import load_checkpoint, save_checkpoint
from astae.core.errors import CheckpointError
from astae.core.files import write_json

PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"
SHIPPED = PRETRAINED_DIR / "model.pt"
_KEPT = ("model", "config", "epoch", "num_features", "latent_prior", "best_eval", "dataset")


def newest_checkpoint(artifacts_dir: Path) -> Path | None:
    """The most recently written `best_model.pt` under `artifacts_dir`, if any."""
    root = Path(artifacts_dir)
    found = sorted(root.glob("**/best_model.pt"), key=lambda p: p.stat().st_mtime) if root.is_dir() else []
    return found[-1] if found else None


def default_checkpoint(artifacts_dir: Path, shipped: Path | None = None) -> tuple[Path, str]:
    """The checkpoint a command uses when none is given, and a line saying which it is: the newest
    `best_model.pt` under `artifacts_dir`, else the model shipped with astae (`shipped`, default
    `SHIPPED`)."""
    shipped = SHIPPED if shipped is None else shipped
    newest = newest_checkpoint(artifacts_dir)
    if newest is not None:
        return newest, f"checkpoint: {newest} (the newest best_model.pt under {artifacts_dir})"
    if shipped.is_file():
        return shipped, (f"checkpoint: the model shipped with astae ({shipped}; no best_model.pt under "
                         f"{artifacts_dir})")
    raise CheckpointError(f"{artifacts_dir}: no best_model.pt found (and no model is shipped with this "
                          "astae); train a model or give a checkpoint")


def ship_checkpoint(checkpoint: Path, card: dict, out: Path = SHIPPED, data_dir: Path | None = None) -> Path:
    """Write `checkpoint` stripped for shipping to `out` (the same weights, the priors in float16,
    without the optimizer and schedule state a resumed run needs) with `card` (recipe, numbers)
    beside it as JSON. A checkpoint without its aggregate prior (saved by a run that stopped
    early) gets one fitted now to its training split (of `data_dir`, default its own dataset)."""
    payload = load_checkpoint(checkpoint)
    stripped = {key: payload[key] for key in _KEPT if key in payload}
    if "latent_prior" not in stripped:  # a best_model.pt of a run stopped before its end
        from astae.core.trained import TrainedModel

        trained = TrainedModel(checkpoint)
        stripped["latent_prior"] = trained.prior("aggregate", trained.data(data_dir)).to_payload()
    # The priors (a 256 x 256 factor per signature: more bytes than the weights) in float16;
    # LatentPrior.from_payload reads them back as float32.
    stripped["latent_prior"] = _half(stripped["latent_prior"])
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out, stripped)
    write_json(out.with_suffix(".json"), card)
    return out


def _half(value: object) -> object:
    if isinstance(value, torch.Tensor):
        return value.half() if value.is_floating_point() else value
    if isinstance(value, dict):
        return {k: _half(v) for k, v in value.items()}
    return value


def shipped_card(shipped: Path = SHIPPED) -> dict | None:
    """The shipped model's card (recipe and numbers), if a model is shipped."""
    card = shipped.with_suffix(".json")
    return json.loads(card.read_text()) if card.is_file() else None
