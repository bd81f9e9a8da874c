"""The latent space of a trained model: encoding programs, priors to draw from, 2-D projections.

- `encode_ids`: the mean latent codes of dataset programs.
- `LatentPrior`: a Gaussian to draw z from. `standard` is N(0, I), the VAE prior; `aggregate` is
  a Gaussian fitted to the training split's codes (mean and full covariance, slightly shrunk
  towards its diagonal so it stays positive definite with fewer programs than dimensions). A
  plain autoencoder has no standard prior, and a VAE's N(0, I) draws land off the data; the
  aggregate prior is stored in the checkpoint at the end of training, with one Gaussian per
  signature (`for_signature`; its covariance shrunk towards the aggregate's, so that a rare
  signature borrows the shape of the whole space), which `astae synthesize` starts from.
- `pca_2d`: a principal-component projection for latent maps.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch

from astae.core.model.autoencoder import ASTAutoencoder
from astae.core.records import select_records
from astae.core.training_data import TrainingData, batches

PRIORS = ("aggregate", "standard")
SHRINKAGE = 0.05  # weight of the diagonal in the fitted covariance
MIN_SIGNATURE_PROGRAMS = 2  # fewer training programs of a signature: no Gaussian of its own


@torch.no_grad()
def encode_ids(
    model: ASTAutoencoder, data: TrainingData, ids: Sequence[int], device: torch.device, batch_size: int = 256
) -> torch.Tensor:
    """Mean latent codes [len(ids), latent_dim] of the programs `ids`, on the CPU."""
    model.eval()
    codes = []
    for chunk in batches(ids, batch_size):
        mu, _ = model.encode(data.graphs.batch(list(chunk)).to(device))
        codes.append(mu.cpu())
    if not codes:
        return torch.zeros(0, model.cfg.latent_dim)
    return torch.cat(codes)


@dataclass
class LatentPrior:
    """A Gaussian over z: a mean [D] and a lower-triangular scale [D, D] (covariance = L L^T);
    an aggregate prior may hold one Gaussian per signature (display text -> prior)."""

    name: str
    mean: torch.Tensor
    scale_tril: torch.Tensor
    by_signature: dict[str, LatentPrior] = field(default_factory=dict)

    @classmethod
    def standard(cls, dim: int) -> LatentPrior:
        """N(0, I)."""
        return cls("standard", torch.zeros(dim), torch.eye(dim))

    @classmethod
    def fit(cls, latents: torch.Tensor, signatures: Sequence[str] | None = None) -> LatentPrior:
        """The Gaussian fitted to codes [N, D] (N >= 2): their mean and shrunk covariance; with the
        codes' `signatures`, also one per signature of at least MIN_SIGNATURE_PROGRAMS codes, its
        covariance pulled towards the aggregate one by D pseudo-programs."""
        moments = Moments(latents.shape[1])
        moments.add(latents, signatures)
        return moments.prior()

    def for_signature(self, signature: str) -> LatentPrior:
        """The Gaussian of one signature's programs, or this prior if it has none."""
        return self.by_signature.get(signature, self)

    @property
    def std(self) -> torch.Tensor:
        """Per-dimension standard deviation [D]."""
        return self.scale_tril.pow(2).sum(dim=1).sqrt()

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n draws [n, D]."""
        eps = torch.randn(n, self.mean.shape[0], generator=generator)
        return self.mean + eps @ self.scale_tril.T

    def to_payload(self) -> dict:
        """The prior as plain tensors for a checkpoint."""
        return {"mean": self.mean.clone(), "scale_tril": self.scale_tril.clone(),
                "signatures": {sig: {"mean": p.mean.clone(), "scale_tril": p.scale_tril.clone()}
                               for sig, p in self.by_signature.items()}}

    @classmethod
    def from_payload(cls, payload: dict) -> LatentPrior:
        """The aggregate prior stored by `to_payload` (checkpoints before per-signature
        Gaussians have none)."""
        prior = cls("aggregate", payload["mean"].float(), payload["scale_tril"].float())
        for sig, p in payload.get("signatures", {}).items():
            prior.by_signature[sig] = cls(sig, p["mean"].float(), p["scale_tril"].float())
        return prior


class Moments:
    """Running sums of codes (count, sum, sum of outer products, in float64), overall and per
    signature: a prior is fitted batch by batch, without holding every code."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.total = _Sums(dim)
        self.by_signature: dict[str, _Sums] = {}

    def add(self, codes: torch.Tensor, signatures: Sequence[str] | None = None) -> None:
        """Add codes [B, D] (and their signatures)."""
        x = codes.detach().cpu().double()
        self.total.add(x)
        if signatures is None:
            return
        groups: dict[str, list[int]] = {}
        for i, sig in enumerate(signatures):
            groups.setdefault(sig, []).append(i)
        for sig, rows in groups.items():
            self.by_signature.setdefault(sig, _Sums(self.dim)).add(x[rows])

    def prior(self) -> LatentPrior:
        """The aggregate prior and its per-signature Gaussians (see `LatentPrior.fit`)."""
        if self.total.n < 2:
            raise ValueError("fitting a latent prior needs at least 2 programs")
        mean, cov = self.total.mean_cov()
        diag = torch.diag(torch.diag(cov).clamp(min=1e-8))
        cov = (1 - SHRINKAGE) * cov + SHRINKAGE * diag
        prior = LatentPrior("aggregate", mean.float(), _cholesky(cov))
        for sig, sums in sorted(self.by_signature.items()):
            if sums.n < MIN_SIGNATURE_PROGRAMS:
                continue
            m, c = sums.mean_cov()
            w = sums.n / (sums.n + self.dim)
            prior.by_signature[sig] = LatentPrior(sig, m.float(), _cholesky(w * c + (1 - w) * cov))
        return prior


class _Sums:
    def __init__(self, dim: int) -> None:
        self.n = 0
        self.s1 = torch.zeros(dim, dtype=torch.float64)
        self.s2 = torch.zeros(dim, dim, dtype=torch.float64)

    def add(self, x: torch.Tensor) -> None:
        self.n += x.shape[0]
        self.s1 += x.sum(dim=0)
        self.s2 += x.T @ x

    def mean_cov(self) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.s1 / self.n
        cov = (self.s2 - self.n * torch.outer(mean, mean)) / max(1, self.n - 1)
        return mean, (cov + cov.T) / 2


def _cholesky(cov: torch.Tensor) -> torch.Tensor:
    eye = torch.eye(cov.shape[0], dtype=cov.dtype)
    return torch.linalg.cholesky(cov + 1e-8 * eye).float()


def program_signatures(data: TrainingData, ids: Sequence[int]) -> Iterator[str]:
    """The signatures of dataset programs `ids`, in order, read as they are consumed (ascending
    ids: one pass over the records; nothing per program is held)."""
    for record in select_records(data.dataset.programs, ids):
        yield sys.intern(record["signature"])


@torch.no_grad()
def fit_prior(model: ASTAutoencoder, data: TrainingData, ids: Sequence[int], device: torch.device,
              batch_size: int = 256) -> LatentPrior:
    """The aggregate prior (with its per-signature Gaussians) of programs `ids`' codes, fitted
    batch by batch: memory does not grow with the number of programs."""
    model.eval()
    signatures = program_signatures(data, ids)
    moments = Moments(model.cfg.latent_dim)
    for chunk in batches(ids, batch_size):
        mu, _ = model.encode(data.graphs.batch(chunk).to(device))
        moments.add(mu, list(itertools.islice(signatures, len(chunk))))
    return moments.prior()


def pca_2d(latents: torch.Tensor) -> tuple[torch.Tensor, list[float]]:
    """Project codes [N, D] onto their first two principal components: (points [N, 2], the
    share of variance each component explains)."""
    x = latents.double() - latents.double().mean(dim=0)
    if x.shape[0] < 2:
        return torch.zeros(x.shape[0], 2), [0.0, 0.0]
    _, s, v = torch.linalg.svd(x, full_matrices=False)
    k = min(2, v.shape[0])
    points = torch.zeros(x.shape[0], 2, dtype=torch.float64)
    points[:, :k] = x @ v[:k].T
    total = float(s.pow(2).sum()) or 1.0
    shares = [float(s[i] ** 2) / total if i < k else 0.0 for i in range(2)]
    return points.float(), shares
