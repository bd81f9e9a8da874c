"""Choosing the device a model runs on."""

from __future__ import annotations

import torch

from astae.core.config import ConfigError


def resolve_device(name: str, setting: str = "training.device", parameter: bool = False) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; asking for an absent device is a ConfigError that
    names `setting`: the config key the name came from, or with `parameter` the name of the
    caller's parameter (so a front end can spell it as its own flag)."""
    where = "{" + setting + "}" if parameter else setting
    has = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available(), "cpu": True}
    if name == "auto":
        name = next(d for d in ("cuda", "mps", "cpu") if has[d])
    if not has[name]:
        raise ConfigError.naming(where + ": {requested!r} was requested but is not available on this machine",
                                 requested=name)
    device = torch.device(name)
    from astae.core.graphs import check_graph_device

    try:
        check_graph_device(device)
    except ValueError as e:
        remedy = f"pass {where}=cpu" if parameter else f"set {where}: cpu"
        raise ConfigError.naming(
            where + ": {problem}; install DGL's CUDA wheel (see docs/training.md) or " + remedy,
            problem=str(e),
        ) from None
    return device
