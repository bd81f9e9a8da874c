"""Training on several processes under `torchrun`: DistributedDataParallel, gloo on CPU, NCCL on CUDA.

torchrun starts one process per device and tells each its place through the environment
(`WORLD_SIZE`, `RANK`, `LOCAL_RANK`, `MASTER_ADDR`, `MASTER_PORT`). `Cluster.from_env` reads it.
Without torchrun (or with `WORLD_SIZE=1`) the cluster is one process, no process group is started
and every helper here hands its input back untouched, so a single-process run is unchanged.

How a global batch is split: every rank builds the same epoch of global batches (the same
seed-driven shuffle) and takes every `world_size`-th program of each, starting at its rank
(`share`). Its loss is weighted by its share of the batch (`share_weight`), so the gradient
DDP averages over ranks is the gradient of the global batch's mean loss, even when the batch
does not divide evenly.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TypeVar

import numpy as np
import torch
import torch.distributed as dist

from astae.core.config import ConfigError

T = TypeVar("T")
log = logging.getLogger(__name__)

TIMEOUT_ENV = "ASTAE_DIST_TIMEOUT"  # seconds a rank waits for the others in a collective
DEFAULT_TIMEOUT = timedelta(minutes=30)


class MainFailed(RuntimeError):
    """Raised on ranks other than 0 when a step that only rank 0 runs failed there (rank 0 reports
    the error itself)."""


class PeerLost(RuntimeError):
    """A collective failed: another training process died, was killed, or did not answer in time."""


@dataclass(frozen=True)
class Cluster:
    """This process's place among the training processes; rank 0 writes every artifact."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")  # where collectives put their tensors

    @property
    def distributed(self) -> bool:
        """Whether there is more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the one that writes files, logs and talks to wandb."""
        return self.rank == 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Cluster:
        """The cluster torchrun describes in the environment (one process if it describes none)."""
        env = os.environ if env is None else env
        try:
            world = int(env.get("WORLD_SIZE", "1"))
            rank = int(env.get("RANK", "0"))
            local = int(env.get("LOCAL_RANK", str(rank)))
        except ValueError:
            raise ConfigError(
                "WORLD_SIZE, RANK and LOCAL_RANK must be integers (they are set by torchrun)"
            ) from None
        if world < 1 or not 0 <= rank < world or local < 0:
            raise ConfigError(f"RANK={rank} does not fit WORLD_SIZE={world} (they are set by torchrun)")
        if world > 1 and not (env.get("MASTER_ADDR") and env.get("MASTER_PORT")):
            raise ConfigError("WORLD_SIZE > 1 needs MASTER_ADDR and MASTER_PORT; launch with torchrun")
        return cls(rank, world, local)


def rank_device(cluster: Cluster, device: torch.device) -> torch.device:
    """The device this rank trains on: `cuda:LOCAL_RANK` on GPUs, the CPU; MPS runs one process."""
    if not cluster.distributed:
        return device
    if device.type == "cuda":
        if cluster.local_rank >= torch.cuda.device_count():
            raise ConfigError(
                f"LOCAL_RANK={cluster.local_rank} but this machine has {torch.cuda.device_count()} "
                "CUDA devices; start at most that many processes per node (--nproc_per_node)"
            )
        return torch.device("cuda", cluster.local_rank)
    if device.type != "cpu":
        raise ConfigError(f"training.device: distributed training runs on cpu or cuda, not {device.type}")
    return device


def timeout(env: Mapping[str, str] | None = None) -> timedelta:
    """How long a collective waits for the other ranks: `ASTAE_DIST_TIMEOUT` seconds, or 30 minutes."""
    raw = (os.environ if env is None else env).get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise ConfigError(f"{TIMEOUT_ENV}={raw!r}: give a positive number of seconds")
    return timedelta(seconds=seconds)


@contextmanager
def process_group(cluster: Cluster, device: torch.device) -> Iterator[Cluster]:
    """Join the training processes (gloo on CPU, NCCL on CUDA) for the duration of the block and
    yield the cluster with its collective device; a group already started by the caller is used
    and left running. One process: yields `cluster` and starts nothing."""
    if not cluster.distributed:
        yield cluster
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    owned = not dist.is_initialized()
    if owned:
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(
            backend, rank=cluster.rank, world_size=cluster.world_size, timeout=timeout()
        )
    try:
        yield replace(cluster, device=device)
    except BaseException:
        if owned:
            _leave(clean=False)
        raise
    if owned:
        _leave(clean=True)


def _leave(clean: bool) -> None:
    """Destroy the process group. Drop every DDP wrapper before (they hold the group): torch 2.2
    destroys a gloo group with the GIL held, and a DDP reducer freed after `destroy_process_group`,
    or a gloo thread still freeing the tensors of a just-finished object collective, then deadlocks
    the process at exit. A barrier (whose work holds no Python tensors) lets those threads finish;
    it is skipped after a failure, when the other ranks may be gone."""
    gc.collect()  # DDP wrappers sit in reference cycles
    if not dist.is_initialized():
        return
    if clean:
        try:
            dist.barrier()
        except RuntimeError:  # a rank that failed after its work was done: nothing is left to wait for
            log.debug("closing barrier failed", exc_info=True)
    dist.destroy_process_group()


def share(items: Sequence[T], cluster: Cluster) -> Sequence[T]:
    """This rank's part of `items`: every world_size-th from its rank on (sizes differ by at most
    one; in a length-sorted batch each rank gets programs of every length). A list for a list;
    an array (e.g. a split's ids) stays an array."""
    part = items[cluster.rank :: cluster.world_size]
    return part if isinstance(part, np.ndarray) else list(part)


def unshare(parts: Sequence[Sequence[T]]) -> list[T]:
    """Undo `share`: the ranks' parts (in rank order) back in their original order."""
    out: list[T] = []
    for i in range(max((len(p) for p in parts), default=0)):
        out.extend(p[i] for p in parts if i < len(p))
    return out


def share_weight(mine: int, total: int, cluster: Cluster) -> float:
    """The factor on this rank's mean loss over `mine` of a global batch's `total` programs that
    makes DDP's average over ranks the global batch's mean: mine * world_size / total."""
    return mine * cluster.world_size / total


def all_sum(cluster: Cluster, values: dict[str, float]) -> dict[str, float]:
    """`values` summed key by key over the ranks (in float64); unchanged with one process."""
    if not cluster.distributed:
        return values
    keys = list(values)
    tensor = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=cluster.device)
    dist.all_reduce(tensor)
    return dict(zip(keys, tensor.tolist()))


def all_gather(cluster: Cluster, obj: T) -> list[T]:
    """Every rank's `obj` (picklable), in rank order."""
    if not cluster.distributed:
        return [obj]
    out: list = [None] * cluster.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast(cluster: Cluster, obj: T) -> T:
    """Rank 0's `obj` on every rank."""
    if not cluster.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, device=cluster.device)
    return box[0]


def on_main(cluster: Cluster, fn: Callable[[], T]) -> T | None:
    """Run `fn` on rank 0 only (None elsewhere); the other ranks wait for it and raise `MainFailed`
    if it raised, so a failure there (a full disk, a bad path) does not leave them waiting."""
    if not cluster.is_main:
        if not broadcast(cluster, False):
            raise MainFailed("rank 0 failed (its error says why)")
        return None
    try:
        result = fn()
    except BaseException:
        broadcast(cluster, False)
        raise
    broadcast(cluster, True)
    return result


def is_lost_peer(cluster: Cluster, error: BaseException) -> bool:
    """Whether `error` is a collective failing because another rank went away or timed out (gloo
    reports a closed connection or a timeout; NCCL raises `DistBackendError`)."""
    if not cluster.distributed:
        return False
    return isinstance(error, dist.DistBackendError) or "third_party/gloo" in str(error)


def seed_rank(seed: int, epoch: int, cluster: Cluster) -> None:
    """Reseed this rank's torch RNG (dropout, VAE noise) from (seed, epoch, rank): ranks draw
    different noise, and a resumed run draws what a straight one would, whatever was saved."""
    state = np.random.SeedSequence([seed, epoch, cluster.rank]).generate_state(2, dtype=np.uint32)
    torch.manual_seed(int(state[0]) << 32 | int(state[1]))


def weights_digest(state: Mapping[str, torch.Tensor]) -> str:
    """A SHA-256 of a state dict's tensors, bit for bit."""
    h = hashlib.sha256()
    for name, tensor in state.items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def check_replicas(cluster: Cluster, model: torch.nn.Module) -> None:
    """Raise on every rank unless every rank holds bit-identical weights (DDP keeps them so; a
    difference means a bug, and the run must not save one rank's weights as the result)."""
    if not cluster.distributed:
        return
    digests = all_gather(cluster, weights_digest(model.state_dict()))
    differing = [rank for rank, d in enumerate(digests) if d != digests[0]]
    if differing:
        raise RuntimeError(f"the weights of rank(s) {differing} differ from rank 0's: replicas diverged")
