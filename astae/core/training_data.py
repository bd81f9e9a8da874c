"""A dataset made ready for the model: split, decoder targets, behaviour features, batches."""

from __future__ import annotations

import hashlib
import logging
import math
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from astae.core.config import ConfigError, TrainConfig
from astae.core.dataset import PROGRAMS, Dataset, DatasetError, open_dataset
from astae.core.derivation import IllegalAction
from astae.core.model.autoencoder import ModelInputs
from astae.core.model.semantics import behaviour_features
from astae.core.model.targets import ProgramTargets, build_targets, collate_targets
from astae.core.records import ProgramRecords

log = logging.getLogger(__name__)
T = TypeVar("T")


TRAIN, VALIDATION, TEST = 0, 1, 2  # the sides of a split


def split_side(source: str, seed: int, val_fraction: float, test_fraction: float = 0.0) -> int:
    """The side a program falls on: a hash of (seed, source) read as u in [0, 1), validation if
    u < val_fraction, test if u < val_fraction + test_fraction, else train. The same program is
    always on the same side whatever the dataset's order or size, and a test split added later
    takes programs from the training side only: validation stays as it was."""
    digest = hashlib.sha256(f"{seed}:{source}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return VALIDATION if u < val_fraction else TEST if u < val_fraction + test_fraction else TRAIN


def is_validation(source: str, seed: int, val_fraction: float) -> bool:
    """Whether a program is on the validation side (`split_side`)."""
    return split_side(source, seed, val_fraction) == VALIDATION


@dataclass(frozen=True)
class SplitRule:
    """Which programs of a dataset a model uses and on which side each falls: the one rule that
    training, `astae eval` and every reader of a trained model apply."""

    seed: int
    val_fraction: float
    max_decode_steps: int  # longer programs are skipped
    max_programs: int | None = None  # only the first N programs
    test_fraction: float = 0.0  # held out beside validation, for measurements nothing tunes on

    @classmethod
    def of(cls, cfg: TrainConfig) -> SplitRule:
        """The rule of a training config."""
        d = cfg.data
        return cls(cfg.training.seed, d.val_fraction, cfg.model.max_decode_steps, d.max_programs,
                   d.test_fraction)


class SplitBuilder:
    """The split of a dataset's programs, built as their records are read in one pass: compact
    arrays (13 bytes a program), never lists of Python objects."""

    def __init__(self, rule: SplitRule) -> None:
        self.rule = rule
        self.lengths = array("i")  # actions of every program read, in id order
        self.ids, self.marks = array("q"), array("b")
        self.skipped = 0  # programs read that the rule leaves out (over the decode budget)

    def add(self, record: dict) -> bool:
        """Note the next record; whether the rule uses it."""
        self.lengths.append(len(record["actions"]))
        if len(record["actions"]) > self.rule.max_decode_steps:
            self.skipped += 1
            return False
        self.place(record)
        return True

    def place(self, record: dict) -> None:
        """Put a program (id and source) on its side, whatever its length."""
        self.ids.append(record["id"])
        rule = self.rule
        self.marks.append(split_side(record["source"], rule.seed, rule.val_fraction, rule.test_fraction))

    def sides(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(train ids, validation ids, test ids), ascending; neither train nor validation is left
        empty."""
        return assign_split(self.ids, self.marks)


def split_ids(programs: Iterable[dict], seed: int, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train ids, validation ids) of a dataset's programs, whatever their length; neither side is
    left empty."""
    builder = SplitBuilder(SplitRule(seed, val_fraction, max_decode_steps=sys.maxsize))
    for p in programs:
        builder.place(p)
    train, val, _ = builder.sides()
    return train, val


def assign_split(ids: Sequence[int], sides: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train ids, validation ids, test ids) as int64 arrays, from program ids and the side of
    each (TRAIN, VALIDATION or TEST; arrays or array.array: 9 bytes a program, not a list of
    Python objects); neither train nor validation is left empty."""
    ids = np.asarray(ids, dtype=np.int64)
    sides = np.asarray(sides, dtype=np.int8)
    train, val, test = ids[sides == TRAIN], ids[sides == VALIDATION], ids[sides == TEST]
    if not len(val) and len(train) > 1:
        train, val = train[:-1], train[-1:]
    if not len(train) and len(val) > 1:
        train, val = val[-1:], val[:-1]
    return train, val, test


class ProgramCache:
    """Decoder targets and behaviour features of a dataset's programs, computed from their records
    on demand and kept for the first `capacity` programs computed: memory stays bounded however
    large the dataset, and a dataset that fits is computed once. Nothing is evicted: an epoch
    visits the programs in a random order, so keeping any `capacity` of them hits as often as
    keeping the most recent would (capacity / N), without replacing entries at every step, which
    scatters them over the heap (resident memory then grows with the steps). An entry is about
    1.6 KB: compact targets, and the 0/1 features as packed bits."""

    def __init__(self, dataset: Dataset, max_decode_steps: int, capacity: int) -> None:
        self.dataset = dataset
        self.max_decode_steps = max_decode_steps
        self.capacity = capacity
        self.entries: dict[int, tuple[ProgramTargets, np.ndarray, int]] = {}
        self.targets = _CacheView(self, _targets_of)
        self.features = _CacheView(self, _features_of)

    def compute(self, record: dict) -> tuple[ProgramTargets, np.ndarray, int] | None:
        """A program's (targets, packed features, feature count); None if it is over the decode budget."""
        targets = program_targets(self.dataset, record, self.max_decode_steps)
        if targets is None:
            return None
        features = program_features(self.dataset, record)
        return targets, np.packbits(features.astype(bool)), len(features)

    def keep(self, i: int, entry: tuple[ProgramTargets, np.ndarray, int]) -> None:
        """Remember program i's entry if there is room."""
        if len(self.entries) < self.capacity:
            self.entries[i] = entry

    def get(self, i: int) -> tuple[ProgramTargets, np.ndarray, int]:
        """Program i's cache entry (computed if it is not kept)."""
        entry = self.entries.get(i)
        if entry is None:
            entry = self.compute(self.dataset.programs[i])
            if entry is None:
                raise KeyError(f"program {i} is over the decode budget")
            self.keep(i, entry)
        return entry


def _targets_of(entry: tuple[ProgramTargets, np.ndarray, int]) -> ProgramTargets:
    return entry[0]


def _features_of(entry: tuple[ProgramTargets, np.ndarray, int]) -> np.ndarray:
    return np.unpackbits(entry[1], count=entry[2]).astype(np.float32)


class _CacheView:
    """`cache.targets[i]` / `cache.features[i]` (float32 0/1)."""

    def __init__(self, cache: ProgramCache, part: Callable[[tuple], object]) -> None:
        self.cache, self.part = cache, part

    def __getitem__(self, i: int):
        return self.part(self.cache.get(int(i)))


@dataclass
class TrainingData:
    """A dataset ready for the model: its split, and its programs' targets and features (by id)."""

    dataset: Dataset
    graphs: object  # GraphStore
    targets: object  # targets[id] -> ProgramTargets (a dict, or a ProgramCache view)
    features: object  # features[id] -> [F] (an array, a dict, or a ProgramCache view)
    train_ids: np.ndarray  # int64, ascending (an array, not a list: 8 bytes a program)
    val_ids: np.ndarray
    skipped: int  # programs longer than the decode budget
    lengths: np.ndarray | None = None  # actions per program id (for length-bucketed batches)
    num_features: int = 0  # width of the behaviour-feature vector
    test_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # held out


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


def prepare_data(
    data_dir: Path, max_decode_steps: int, seed: int, val_fraction: float, max_programs: int | None = None,
    cache_programs: int = 20_000, test_fraction: float = 0.0,
) -> TrainingData:
    """Open a dataset for training: one pass validates every program (records, actions, probe
    outputs) and splits them; records are then read on demand, and targets and features are kept
    for `cache_programs` programs, so memory does not grow with the dataset. Programs over the
    decode budget are skipped."""
    dataset = open_dataset(data_dir)
    cache = ProgramCache(dataset, max_decode_steps, cache_programs)
    split = SplitBuilder(SplitRule(seed, val_fraction, max_decode_steps, max_programs, test_fraction))
    widths: set[int] = set()

    def note(record: dict) -> None:
        if not split.add(record):
            return
        entry = cache.compute(record)
        assert entry is not None  # within the budget a derivation fits, or program_targets raised
        widths.add(entry[2])
        cache.keep(record["id"], entry)

    dataset.programs = ProgramRecords(dataset, max_programs, note)
    skipped = split.skipped
    if skipped:
        log.warning("%d programs do not fit max_decode_steps=%d and are skipped", skipped, max_decode_steps)
    if len(split.ids) < 2:
        raise DatasetError(
            f"{data_dir}: fewer than 2 programs fit max_decode_steps={max_decode_steps}; raise it"
        )
    if len(widths) != 1:
        raise DatasetError(f"{data_dir}: behaviour features of different widths {sorted(widths)}")
    train_ids, val_ids, test_ids = split.sides()
    return TrainingData(
        dataset, dataset.graphs(), cache.targets, cache.features, train_ids, val_ids, skipped,
        np.asarray(split.lengths, dtype=np.int32), widths.pop(), test_ids,
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


class Batches(Sequence):
    """An epoch's batches as two arrays (the ids in batch order, and the batch order), not a list
    of lists: memory is 8 bytes a program. `batches[k]` is batch k, a list of ids."""

    def __init__(self, order: np.ndarray, batch_size: int, sequence: np.ndarray) -> None:
        self.order, self.batch_size, self.sequence = order, batch_size, sequence

    def __len__(self) -> int:
        return len(self.sequence)

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        start = int(self.sequence[k]) * self.batch_size
        return self.order[start : start + self.batch_size].tolist()


def epoch_batches(data: TrainingData, batch_size: int, rng: np.random.Generator,
                  pool_batches: int = 32) -> Batches:
    """The training split in batches for one epoch: shuffled, then sorted by length within pools
    of `pool_batches` batches, so a batch holds programs of similar length (less padding for the
    recurrent layers), and the batches shuffled again."""
    order = rng.permutation(np.asarray(data.train_ids, dtype=np.int64))
    pool = batch_size * pool_batches
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        if data.lengths is not None:
            lengths = data.lengths[chunk]
        else:
            lengths = np.fromiter((data.targets[i].length for i in chunk), dtype=np.int64, count=len(chunk))
        order[start : start + pool] = chunk[np.argsort(lengths, kind="stable")]
    return Batches(order, batch_size, rng.permutation(math.ceil(len(order) / batch_size)))


def batches(items: Sequence[T], batch_size: int) -> Iterator[list[T]]:
    """Consecutive chunks of `items`, as lists (an array's chunks: lists of Python ints)."""
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        yield chunk.tolist() if isinstance(chunk, np.ndarray) else list(chunk)


SPLITS = ("val", "train", "test", "all")


def checkpoint_data_dir(payload: dict, data_dir: Path | None = None) -> Path:
    """The dataset directory a checkpoint trained on, or `data_dir` if given."""
    if data_dir is not None:
        return Path(data_dir)
    recorded = payload.get("dataset", {}).get("path")
    if not recorded:
        raise DatasetError.naming("the checkpoint records no dataset; pass {data_dir}=DIR")
    if not Path(recorded).is_dir():
        raise DatasetError.naming("{recorded}: the checkpoint's dataset is gone; pass {data_dir}=DIR",
                                  recorded=recorded)
    return Path(recorded)


def checkpoint_dataset(payload: dict, data_dir: Path | None = None) -> Dataset:
    """The checkpoint's dataset (or `data_dir`), validated but with its programs not yet read."""
    return open_dataset(checkpoint_data_dir(payload, data_dir))


def config_data(cfg: TrainConfig, data_dir: Path) -> TrainingData:
    """The dataset at `data_dir` made ready for the model of `cfg`: split by its `SplitRule`, with
    as many programs' targets kept in memory as `cfg.data.cache_programs` says."""
    rule = SplitRule.of(cfg)
    return prepare_data(data_dir, rule.max_decode_steps, rule.seed, rule.val_fraction, rule.max_programs,
                        cfg.data.cache_programs, rule.test_fraction)


def checkpoint_data(cfg: TrainConfig, payload: dict, data_dir: Path | None = None) -> TrainingData:
    """The data a checkpoint trained on, with its split recomputed from its config; `data_dir`
    (default: the dataset recorded in the checkpoint) may name another dataset of the same grammar."""
    return config_data(cfg, checkpoint_data_dir(payload, data_dir))


def split_of(data: TrainingData, split: str) -> list[int]:
    """The program ids of a split: `val`, `train`, `test` or `all` (in id order)."""
    sides = {"val": data.val_ids, "train": data.train_ids, "test": data.test_ids}
    if split == "all":
        return np.sort(np.concatenate(list(sides.values()))).tolist()
    if split not in sides:
        raise ConfigError.not_one_of("split", split, SPLITS)
    return np.asarray(sides[split]).tolist()
