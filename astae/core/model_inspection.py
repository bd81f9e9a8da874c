"""What `astae inspect checkpoint | latent` shows, computed as plain data (rendering lives in the CLI).

- `summarize_checkpoint`: a checkpoint's config, grammar and compatibility, parameters per module,
  and the run's history (metrics.jsonl beside the checkpoint, else the checkpoint's best epoch).
  Incompatible checkpoints are summarised too: that is when a user most needs to look inside.
- `latent_map`: the mean codes of a split, projected to 2-D by PCA and drawn as a PNG coloured by
  signature and by program size (`plots.plot_latent_map` draws it).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from astae.core.checkpoint import (
    WeightsMisfit,
    build_model,
    compatibility_problems,
    read_checkpoint,
)
from astae.core.config import ConfigError
from astae.core.dataset import DatasetError
from astae.core.devices import resolve_device
from astae.core.errors import CheckpointError
from astae.core.grammar import GRAMMAR
from astae.core.latent import pca_2d
from astae.core.plots import OTHER, plot_latent_map
from astae.core.records import select_records
from astae.core.tracking import METRICS_FILE, read_metrics
from astae.core.trained import TrainedModel
from astae.core.training_data import SPLITS, split_of

SIGNATURE_COLOURS = 9  # the most frequent signatures get a colour each; the rest are "other"


@dataclass
class ModuleParameters:
    """Parameters of one top-level module, with its named parts (empty when it has none worth listing)."""

    name: str
    parameters: int
    parts: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class TrainingHistory:
    """Epoch records of a run: the last, the one with the lowest val loss, and the lowest-val-loss
    one among epochs that were decoded and run on the examples. A record missing from the source
    is {}."""

    source: str  # metrics.jsonl path, or "checkpoint" (only its best evaluated epoch is stored)
    epochs: int | None
    last: dict
    best: dict
    best_evaluated: dict
    note: str | None = None  # why metrics.jsonl was not used, if it exists


@dataclass
class CheckpointSummary:
    """Everything `astae inspect checkpoint` shows."""

    path: str
    file_bytes: int
    epoch: int
    step: int | None
    best_val_loss: float | None
    config: dict
    grammar_fingerprint: str | None
    problems: list[str]  # why this astae cannot use the weights; empty if it can
    modules: list[ModuleParameters]
    num_features: int | None
    dataset_path: str | None
    dataset_programs: int | None
    dataset_present: bool
    latent_prior: bool
    run_dir: str | None
    history: TrainingHistory | None

    @property
    def compatible(self) -> bool:
        """Whether this astae can load the checkpoint's weights."""
        return not self.problems

    @property
    def current_fingerprint(self) -> str:
        """The grammar fingerprint of the running code."""
        return GRAMMAR.fingerprint

    @property
    def total_parameters(self) -> int:
        """All parameters of the model."""
        return sum(m.parameters for m in self.modules)


def summarize_checkpoint(path: Path) -> CheckpointSummary:
    """Read a checkpoint (compatible or not) and summarise it for `astae inspect checkpoint`."""
    path = Path(path)
    payload = read_checkpoint(path)
    dataset = payload.get("dataset") if isinstance(payload.get("dataset"), dict) else {}
    dataset_path = dataset.get("path")
    best_val_loss = payload.get("best_val_loss")
    if not isinstance(payload["epoch"], int):
        raise CheckpointError(f"{path}: its `epoch` is not an integer")
    modules = parameter_counts(payload["model"], path)
    problems = compatibility_problems(payload) or _weights_problems(payload)
    return CheckpointSummary(
        path=str(path),
        file_bytes=path.stat().st_size,
        epoch=payload["epoch"],
        step=payload.get("step"),
        best_val_loss=best_val_loss if _finite(best_val_loss) else None,
        config=payload["config"] if isinstance(payload["config"], dict) else {},
        grammar_fingerprint=payload.get("grammar_fingerprint"),
        problems=problems,
        modules=modules,
        num_features=payload.get("num_features"),
        dataset_path=dataset_path,
        dataset_programs=dataset.get("programs"),
        dataset_present=bool(dataset_path) and Path(dataset_path).is_dir(),
        latent_prior="latent_prior" in payload,
        run_dir=payload.get("run_dir"),
        history=training_history(path.parent, payload),
    )


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _weights_problems(payload: dict) -> list[str]:
    """Why the weights of a checkpoint of this grammar do not load into the model its config
    describes (empty if they do)."""
    try:
        build_model(payload)
    except WeightsMisfit as e:
        return [f"its weights do not fit the model its config describes ({e})"]
    return []


def parameter_counts(state_dict: dict, path: Path | None = None) -> list[ModuleParameters]:
    """Parameters per top-level module (encoder, bridge, decoder, semantic_head), counted from the
    checkpoint's own tensors, so an incompatible checkpoint is counted as it was saved. The model
    registers no buffers, so every tensor of its state dict is a parameter."""
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise CheckpointError(f"{path}: its `model` entry is not a state dict of tensors")
    totals: Counter = Counter()
    parts: dict[str, Counter] = {}
    for key, tensor in state_dict.items():
        module, _, rest = key.partition(".")
        totals[module] += tensor.numel()
        # "decoder.rnn.weight_ih_l0" is part "rnn"; "bridge.weight" belongs to the module itself.
        part = rest.partition(".")[0] if "." in rest else "(own)"
        parts.setdefault(module, Counter())[part] += tensor.numel()
    modules = []
    for module, total in totals.items():
        named = [(name, n) for name, n in parts[module].items() if n]
        # Positional parts (nn.Sequential's "0", "2") or a lone part say nothing a reader can use.
        if len(named) < 2 or any(name.isdigit() for name, _ in named):
            named = []
        modules.append(ModuleParameters(module, total, named))
    return modules


def training_history(run_dir: Path, payload: dict) -> TrainingHistory | None:
    """The run's epoch records from RUN_DIR/metrics.jsonl, else the best evaluated epoch stored in
    the checkpoint, else None. A resumed run's repeated epochs count once (the later record)."""
    metrics = Path(run_dir) / METRICS_FILE
    note = None
    if metrics.is_file():
        try:
            records = read_metrics(metrics)
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
            note = f"skipped {METRICS_FILE}: {str(e)[:200]}"
        else:
            by_epoch = {r["epoch"]: r for r in records
                        if isinstance(r, dict) and isinstance(r.get("epoch"), int) and "val/loss" in r}
            if by_epoch:
                epochs = [by_epoch[e] for e in sorted(by_epoch)]
                evaluated = [r for r in epochs if "val/exact_match" in r]
                return TrainingHistory(
                    str(metrics), len(epochs), epochs[-1], _lowest_val_loss(epochs),
                    _lowest_val_loss(evaluated) if evaluated else {},
                )
            note = f"skipped {metrics}: no epoch records"
    best_eval = payload.get("best_eval")
    if isinstance(best_eval, dict) and best_eval:
        return TrainingHistory("checkpoint", None, {}, {}, best_eval, note)
    return TrainingHistory("checkpoint", None, {}, {}, {}, note) if note else None


def _lowest_val_loss(records: Sequence[dict]) -> dict:
    def key(r: dict) -> tuple[bool, float]:
        loss = r["val/loss"]
        bad = not isinstance(loss, (int, float)) or math.isnan(loss)
        return bad, 0.0 if bad else float(loss)

    return min(records, key=key)


@dataclass
class LatentMap:
    """A PCA map of the mean codes of a split, and the PNG drawn from it."""

    checkpoint: str
    dataset: str
    split: str
    out: Path
    ids: list[int]
    points: np.ndarray  # [len(ids), 2]
    explained_variance: list[float]  # share of the codes' variance on PC1 and PC2
    latent_dim: int
    signatures: list[tuple[str, int]]  # legend groups (rare signatures merged into "other"), by count
    other_signatures: int  # distinct signatures merged into "other"
    actions: tuple[int, int]  # smallest and largest program size in actions


def default_map_path(checkpoint: Path) -> Path:
    """latent_<checkpoint stem>.png beside the checkpoint."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"latent_{checkpoint.stem}.png")


def latent_map(
    checkpoint: Path,
    data_dir: Path | None = None,
    split: str = "val",
    limit: int | None = None,
    out: Path | None = None,
    device: str = "cpu",
) -> LatentMap:
    """Encode a split of the checkpoint's dataset (recomputed from its config; `data_dir` overrides
    the recorded path), project the codes to 2-D and draw them into `out` (default:
    `default_map_path`; a directory gets the default file name inside it)."""
    if split not in SPLITS:
        raise ConfigError.not_one_of("split", split, SPLITS)
    out = _output_path(Path(checkpoint), out)
    torch_device = resolve_device(device, "device", parameter=True)
    trained = TrainedModel(checkpoint, torch_device)
    cfg = trained.cfg
    data = trained.data(data_dir)
    ids = split_of(data, split)[:limit]
    if not ids:
        raise DatasetError(f"{data.dataset.path}: the {split} split of this checkpoint's dataset is empty")
    codes = trained.codes(data, ids)
    points, shares = pca_2d(codes)
    records = list(select_records(data.dataset.programs, ids))  # the split's, not every program's
    signatures = [r["signature"] for r in records]
    groups = _signature_groups(signatures)
    merged = len({s for s, g in zip(signatures, groups) if g == OTHER})
    actions = [int(r["sizes"]["actions"]) for r in records]
    legend = Counter(groups).most_common()
    title = (f"{Path(checkpoint).name}: {split} split, {len(ids):,} programs, "
             f"latent dim {cfg.model.latent_dim}")
    plot_latent_map(points.numpy(), groups, actions, shares, out, title, merged)
    return LatentMap(
        str(checkpoint), str(data.dataset.path), split, out, list(ids), points.numpy(), shares,
        cfg.model.latent_dim, legend, merged, (min(actions), max(actions)),
    )


def _output_path(checkpoint: Path, out: Path | None) -> Path:
    if out is None:
        return default_map_path(checkpoint)
    out = Path(out)
    if out.is_dir():
        return out / default_map_path(checkpoint).name
    formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
    if out.suffix.lstrip(".").lower() not in formats:
        raise ConfigError.naming("{out}: {path}: not an image file name (use .png, .svg or .pdf)", path=out)
    return out


def _signature_groups(signatures: list[str]) -> list[str]:
    """Each program's legend group: its signature, or "other" beyond the most frequent ones."""
    counts = Counter(signatures)
    if len(counts) <= SIGNATURE_COLOURS + 1:
        return signatures
    kept = {s for s, _ in counts.most_common(SIGNATURE_COLOURS)}
    return [s if s in kept else OTHER for s in signatures]
