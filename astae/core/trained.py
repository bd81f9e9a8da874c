"""A trained model opened once: `TrainedModel`.

`astae eval`, `sample`, `synthesize` and `inspect latent` open a checkpoint through it. The file
is read and checked once and the model rebuilt once; what hangs off the checkpoint is read when
first asked for and then kept: the dataset it trained on with its split (the config's
`SplitRule`, through `training_data`), its latent priors, and the generator config the dataset
was built with.
"""

from __future__ import annotations

from pathlib import Path

import torch

from astae.core.checkpoint import load_model
from astae.core.config import ConfigError, GeneratorConfig, TrainConfig
from astae.core.dataset import MANIFEST, Dataset, DatasetError, open_dataset, read_manifest_file
from astae.core.errors import CheckpointError
from astae.core.latent import PRIORS, LatentPrior, encode_ids, fit_prior
from astae.core.model.autoencoder import ASTAutoencoder
from astae.core.training_data import SplitRule, TrainingData, checkpoint_data_dir, config_data


class TrainedModel:
    """A checkpoint's model (in eval mode on `device`), config and payload, and on demand its data."""

    def __init__(self, checkpoint: Path, device: torch.device | str = "cpu") -> None:
        self.checkpoint = Path(checkpoint)
        self.device = torch.device(device)
        model, cfg, payload = load_model(self.checkpoint, str(self.device))
        self.model: ASTAutoencoder = model
        self.cfg: TrainConfig = cfg
        self.payload = payload
        self.notes: list[str] = []  # what was done on the fly (a prior fitted now, ...)
        self._data: dict[Path, TrainingData] = {}

    @property
    def split_rule(self) -> SplitRule:
        """Which programs the model used and on which side each fell."""
        return SplitRule.of(self.cfg)

    def data_dir(self, data_dir: Path | None = None) -> Path:
        """The dataset directory the checkpoint trained on, or `data_dir` if given."""
        return checkpoint_data_dir(self.payload, data_dir)

    def dataset(self, data_dir: Path | None = None) -> Dataset:
        """The dataset (or `data_dir`), validated, its programs not read."""
        return open_dataset(self.data_dir(data_dir))

    def data(self, data_dir: Path | None = None) -> TrainingData:
        """The dataset made ready for the model, split as in training (kept after the first call)."""
        path = self.data_dir(data_dir)
        if path not in self._data:
            self._data[path] = config_data(self.cfg, path)
        return self._data[path]

    def codes(self, data: TrainingData, ids: list[int]) -> torch.Tensor:
        """Mean latent codes of programs `ids` of `data` (a DatasetError for an unknown id)."""
        total = len(data.dataset)
        for i in ids:
            if not 0 <= i < total:
                raise DatasetError(f"{data.dataset.path}: no program {i} (ids are 0..{total - 1})")
        return encode_ids(self.model, data, ids, self.device)

    def prior(self, name: str, data: TrainingData | None = None) -> LatentPrior:
        """The named prior of the latent space: `standard` N(0, I), or `aggregate`, the checkpoint's
        stored one or else one fitted now to `data`'s training split (noted in `notes`)."""
        if name not in PRIORS:
            raise ConfigError.not_one_of("prior", name, PRIORS)
        if name == "standard":
            return LatentPrior.standard(self.cfg.model.latent_dim)
        stored = self.payload.get("latent_prior")
        if stored is not None:
            return LatentPrior.from_payload(stored)
        if data is None:
            raise CheckpointError.naming(
                "{checkpoint}: no aggregate prior stored and its dataset is not available to fit "
                "one; pass {data_dir}=DIR or {prior}=standard", checkpoint=self.checkpoint,
            )
        self.notes.append(
            f"aggregate prior fitted now to {len(data.train_ids):,} training programs "
            "(the checkpoint holds none)"
        )
        return fit_prior(self.model, data, data.train_ids, self.device)

    def generator_config(self, data_dir: Path | None = None) -> GeneratorConfig:
        """The generator config the dataset (or `data_dir`) was built with: the value ranges of
        its inputs and the shape of its programs; the defaults for a dataset that is gone,
        imported or older."""
        try:
            manifest = read_manifest_file(self.data_dir(data_dir) / MANIFEST, "no manifest")
            return GeneratorConfig.model_validate(manifest.get("generator", {}))  # type: ignore[union-attr]
        except (DatasetError, ValueError, AttributeError):
            return GeneratorConfig()
