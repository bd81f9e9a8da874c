"""Choosing the device a model runs on."""

from __future__ import annotations

import torch

from astae.core.config import ConfigError


def resolve_device(name: str, setting: str = "training.device") -> torch.device:
    """`auto` picks cuda, then mps, then cpu; asking for an absent device is a ConfigError that
    names `setting` (the config key or flag the name came from)."""
    has = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available(), "cpu": True}
    if name == "auto":
        name = next(d for d in ("cuda", "mps", "cpu") if has[d])
    if not has[name]:
        raise ConfigError(f"{setting}: {name!r} was requested but is not available on this machine")
    device = torch.device(name)
    from astae.core.graphs import check_graph_device

    try:
        check_graph_device(device)
    except ValueError as e:
        raise ConfigError(f"{setting}: {e}") from None
    return device
