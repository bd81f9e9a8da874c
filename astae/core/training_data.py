"""A dataset made ready for the model: split, decoder targets, behaviour features, batches."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from astae.core.config import ConfigError, TrainConfig
from astae.core.dataset import PROGRAMS, Dataset, DatasetError, load_dataset, open_dataset
from astae.core.derivation import IllegalAction
from astae.core.model.autoencoder import ModelInputs
from astae.core.model.semantics import behaviour_features
from astae.core.model.targets import ProgramTargets, build_targets, collate_targets

log = logging.getLogger(__name__)


def is_validation(source: str, seed: int, val_fraction: float) -> bool:
    """Whether a program is on the validation side: a hash of (seed, source), so the same
    program is always on the same side whatever the dataset's order or size."""
    digest = hashlib.sha256(f"{seed}:{source}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < val_fraction


def split_ids(programs: Sequence[dict], seed: int, val_fraction: float) -> tuple[list[int], list[int]]:
    """(train ids, validation ids) of a dataset's programs; neither side is left empty."""
    return assign_split((p["id"], is_validation(p["source"], seed, val_fraction)) for p in programs)


def assign_split(marked: Iterable[tuple[int, bool]]) -> tuple[list[int], list[int]]:
    """(train ids, validation ids) from (id, is validation) pairs; neither side is left empty."""
    train: list[int] = []
    val: list[int] = []
    for i, on_validation in marked:
        (val if on_validation else train).append(i)
    if not val and len(train) > 1:
        val.append(train.pop())
    if not train and len(val) > 1:
        train.append(val.pop())
    return train, val


@dataclass
class TrainingData:
    """Targets and features of every usable program of a dataset, with its split."""

    dataset: Dataset
    graphs: object  # GraphStore
    targets: dict[int, ProgramTargets]
    features: np.ndarray | dict[int, np.ndarray]  # [N, F] by program id, or id -> [F]
    train_ids: list[int]
    val_ids: list[int]
    skipped: int  # programs longer than the decode budget

    @property
    def num_features(self) -> int:
        """Width of the behaviour-feature vector."""
        return self.features.shape[1]


def program_features(dataset: Dataset, record: dict) -> np.ndarray:
    """The behaviour features of one program of `dataset` (its probe outputs on the probe inputs)."""
    inputs = dataset.manifest["probes"].get(record["signature"])
    if inputs is None or len(inputs) != len(record["probe_outputs"]):
        raise DatasetError(f"{dataset.path}: program {record['id']} has no matching probe inputs")
    return behaviour_features(record["probe_outputs"], inputs)


def program_targets(dataset: Dataset, record: dict, max_decode_steps: int) -> ProgramTargets | None:
    """The decoder targets of one program of `dataset`; None if it is longer than the budget. Actions
    that do not replay (within the budget every derivation does) are a corrupt record: DatasetError."""
    try:
        return build_targets(record["actions"], max_decode_steps)
    except (IllegalAction, ValueError) as e:
        if len(record["actions"]) > max_decode_steps:
            return None
        raise DatasetError(
            f"{dataset.path / PROGRAMS}:{record['id'] + 1}: field `actions` is not a derivation of the "
            f"grammar ({e})"
        ) from None


def _program_features(dataset: Dataset) -> np.ndarray:
    return np.stack([program_features(dataset, p) for p in dataset.programs])


def prepare_data(
    data_dir: Path, max_decode_steps: int, seed: int, val_fraction: float, max_programs: int | None = None
) -> TrainingData:
    """Load a dataset and precompute what training needs; programs over the budget are skipped."""
    dataset = load_dataset(data_dir)
    if max_programs is not None:
        dataset.programs = dataset.programs[:max_programs]
    targets: dict[int, ProgramTargets] = {}
    for p in dataset.programs:
        program = program_targets(dataset, p, max_decode_steps)
        if program is not None:
            targets[p["id"]] = program
    skipped = len(dataset.programs) - len(targets)
    if skipped:
        log.warning("%d programs do not fit max_decode_steps=%d and are skipped", skipped, max_decode_steps)
    usable = [p for p in dataset.programs if p["id"] in targets]
    if len(usable) < 2:
        raise DatasetError(
            f"{data_dir}: fewer than 2 programs fit max_decode_steps={max_decode_steps}; raise it"
        )
    train_ids, val_ids = split_ids(usable, seed, val_fraction)
    return TrainingData(
        dataset, dataset.graphs(), targets, _program_features(dataset), train_ids, val_ids, skipped
    )


def make_batch(data: TrainingData, ids: Sequence[int], device: torch.device) -> ModelInputs:
    """The model inputs for programs `ids`, on `device`."""
    t = collate_targets([data.targets[i] for i in ids])

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(device)

    return ModelInputs(
        graph=data.graphs.batch(list(ids)).to(device),
        actions=tensor(t.actions),
        previous=tensor(t.previous),
        parents=tensor(t.parents),
        symbols=tensor(t.symbols),
        legal=tensor(t.legal),
        declared_at=tensor(t.declared_at),
        lengths=tensor(t.lengths),
        features=tensor(np.stack([data.features[i] for i in ids])),
    )


def epoch_batches(data: TrainingData, batch_size: int, rng: np.random.Generator,
                  pool_batches: int = 32) -> list[list[int]]:
    """The training split in batches for one epoch: shuffled, then sorted by length within pools
    of `pool_batches` batches, so a batch holds programs of similar length (less padding for the
    recurrent layers), and the batches shuffled again."""
    order = rng.permutation(data.train_ids).tolist()
    pool = batch_size * pool_batches
    out: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: data.targets[i].length)
        out.extend(batches(chunk, batch_size))
    return [out[k] for k in rng.permutation(len(out))]


def batches(ids: Sequence[int], batch_size: int) -> list[list[int]]:
    """Consecutive chunks of `ids`."""
    ids = list(ids)
    return [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]


SPLITS = ("val", "train", "all")


def checkpoint_data_dir(payload: dict, data_dir: Path | None = None) -> Path:
    """The dataset directory a checkpoint trained on, or `data_dir` if given."""
    if data_dir is not None:
        return Path(data_dir)
    recorded = payload.get("dataset", {}).get("path")
    if not recorded:
        raise DatasetError("the checkpoint records no dataset; pass --data_dir DIR")
    if not Path(recorded).is_dir():
        raise DatasetError(f"{recorded}: the checkpoint's dataset is gone; pass --data_dir DIR")
    return Path(recorded)


def checkpoint_dataset(payload: dict, data_dir: Path | None = None) -> Dataset:
    """The checkpoint's dataset (or `data_dir`), validated but with its programs not yet read."""
    return open_dataset(checkpoint_data_dir(payload, data_dir))


def checkpoint_data(cfg: TrainConfig, payload: dict, data_dir: Path | None = None) -> TrainingData:
    """The data a checkpoint trained on, with its split recomputed from its config; `data_dir`
    (default: the dataset recorded in the checkpoint) may name another dataset of the same grammar."""
    return prepare_data(
        checkpoint_data_dir(payload, data_dir), cfg.model.max_decode_steps, cfg.training.seed,
        cfg.data.val_fraction, cfg.data.max_programs,
    )


def split_of(data: TrainingData, split: str) -> list[int]:
    """The program ids of a split: `val`, `train` or `all` (in id order)."""
    if split == "val":
        return list(data.val_ids)
    if split == "train":
        return list(data.train_ids)
    if split == "all":
        return sorted([*data.train_ids, *data.val_ids])
    raise ConfigError(f"split: {split!r} is not one of {', '.join(SPLITS)}")
