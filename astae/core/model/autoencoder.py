"""The AST autoencoder: graph encoder -> latent bridge -> grammar decoder, plus the semantic head.

Loss per program (DESIGN §4): reconstruction (masked cross-entropy summed over the program's
actions) + beta x KL (VAE only; beta = `kl_weight` after linear warm-up, with optional free bits)
+ `semantic_weight` x the behaviour loss (binary cross-entropy of behaviour features predicted
from z, summed over features). Reported numbers are means per program.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from astae.core.config import ModelConfig
from astae.core.grammar import GRAMMAR, Grammar
from astae.core.model.decoder import GrammarDecoder
from astae.core.model.encoder import GraphEncoder

# Per-program means reported for a split (similarity / exact match: teacher-forced argmax).
LOSS_KEYS = ("loss", "reconstruction_loss", "kl", "semantic_loss", "similarity", "exact_match")


@dataclass
class ModelInputs:
    """A batch on the model's device: batched graphs, padded decoder targets, behaviour features."""

    graph: object  # dgl.DGLGraph
    actions: torch.Tensor  # [B, T]
    previous: torch.Tensor
    parents: torch.Tensor
    symbols: torch.Tensor
    legal: torch.Tensor  # bool [B, T, A]
    declared_at: torch.Tensor  # [B, V]
    lengths: torch.Tensor  # [B]
    features: torch.Tensor  # [B, F]


@dataclass
class LossOutput:
    """The batch loss to optimise and per-program diagnostics (detached)."""

    loss: torch.Tensor
    reconstruction: torch.Tensor  # [B] summed NLL per program
    kl: torch.Tensor  # [B]
    semantic: torch.Tensor  # [B]
    accuracy: torch.Tensor  # [B] teacher-forced argmax accuracy over the program's actions
    exact: torch.Tensor  # [B] bool: every teacher-forced argmax is right

    def totals(self) -> dict[str, float]:
        """Batch sums of the per-program diagnostics, keyed as in LOSS_KEYS (all but `loss`)."""
        return {
            "reconstruction_loss": self.reconstruction.sum().item(),
            "kl": self.kl.sum().item(),
            "semantic_loss": self.semantic.sum().item(),
            "similarity": self.accuracy.sum().item(),
            "exact_match": self.exact.float().sum().item(),
        }


class ASTAutoencoder(nn.Module):
    """Encoder, bridge (mu, log-variance), decoder and semantic head."""

    def __init__(self, cfg: ModelConfig, num_features: int, grammar: Grammar = GRAMMAR) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = GraphEncoder(cfg)
        self.bridge = nn.Linear(self.encoder.readout_dim, 2 * cfg.latent_dim)
        self.decoder = GrammarDecoder(cfg, grammar)
        self.semantic_head = nn.Sequential(
            nn.Linear(cfg.latent_dim, cfg.hidden_dim), nn.ReLU(), nn.Linear(cfg.hidden_dim, num_features)
        )

    @property
    def variational(self) -> bool:
        """Whether z is sampled (a VAE) rather than the mean (a plain autoencoder)."""
        return self.cfg.kl_weight > 0

    def encode(self, graph) -> tuple[torch.Tensor, torch.Tensor]:
        """Batched graphs -> (mu, log-variance), each [B, latent_dim]."""
        mu, logvar = self.bridge(self.encoder(graph)).chunk(2, dim=-1)
        return mu, logvar.clamp(-10.0, 10.0)

    def latent(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z: a reparameterised sample when training a VAE, the mean otherwise."""
        if self.variational and self.training:
            return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return mu

    def forward(self, batch: ModelInputs, kl_scale: float = 1.0) -> LossOutput:
        """The loss of a batch; `kl_scale` in [0, 1] is the KL warm-up factor."""
        return self.loss(batch, *self.encode(batch.graph), kl_scale=kl_scale)

    def loss(
        self, batch: ModelInputs, mu: torch.Tensor, logvar: torch.Tensor, kl_scale: float = 1.0
    ) -> LossOutput:
        """The loss of a batch whose graphs encode to (mu, logvar)."""
        z = self.latent(mu, logvar)
        logits = self.decoder(z, batch.previous, batch.parents, batch.symbols, batch.declared_at, batch.legal)
        steps = torch.arange(batch.actions.shape[1], device=z.device)
        valid = steps.unsqueeze(0) < batch.lengths.unsqueeze(1)  # [B, T]
        log_probs = torch.log_softmax(logits, dim=-1)
        nll = -log_probs.gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1).masked_fill(~valid, 0.0)
        reconstruction = nll.sum(dim=1)

        if self.variational:
            kl_dims = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)  # [B, D]
            kl = kl_dims.sum(dim=1)
            if self.cfg.free_bits > 0:
                kl_penalty = kl_dims.mean(dim=0).clamp(min=self.cfg.free_bits).sum()
            else:
                kl_penalty = kl.mean()
        else:
            kl = mu.new_zeros(mu.shape[0])
            kl_penalty = kl.mean()

        semantic = F.binary_cross_entropy_with_logits(
            self.semantic_head(z), batch.features, reduction="none"
        ).sum(dim=1)

        loss = (
            reconstruction.mean()
            + self.cfg.kl_weight * kl_scale * kl_penalty
            + self.cfg.semantic_weight * semantic.mean()
        )
        with torch.no_grad():
            hits = (logits.argmax(dim=-1) == batch.actions) | ~valid
            accuracy = (hits & valid).sum(dim=1).float() / batch.lengths.float()
            exact = hits.all(dim=1)
        return LossOutput(loss, reconstruction.detach(), kl.detach(), semantic.detach(), accuracy, exact)
