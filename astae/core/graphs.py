"""The DGL side of AST graphs: conversion, shard files on disk, and batched read access.

A dataset's `graphs/` directory holds `shard_00000.bin`, `shard_00001.bin`, ... written with
`dgl.save_graphs`; graph i is program i of `programs.jsonl`. The shard list returned by
`write_graph_shards` (file name, graph count, byte size) is recorded in the dataset manifest and
handed back to `GraphStore`, which loads only the graphs it is asked for.
"""

from __future__ import annotations

import bisect
import os

os.environ.setdefault("DGLBACKEND", "pytorch")

from collections import OrderedDict  # noqa: E402
from collections.abc import Iterable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import dgl  # noqa: E402
import torch  # noqa: E402

from astae.core.astgraph import ASTGraph  # noqa: E402
from astae.core.errors import GraphStoreError  # noqa: E402,F401  (re-exported)

SHARD_PATTERN = "shard_{:05d}.bin"


def to_dgl(graph: ASTGraph) -> dgl.DGLGraph:
    """A DGL graph with int64 `ndata["type"]`, `ndata["value"]` and `edata["etype"]`."""
    src = torch.tensor(graph.src, dtype=torch.int64)
    dst = torch.tensor(graph.dst, dtype=torch.int64)
    g = dgl.graph((src, dst), num_nodes=graph.num_nodes)
    g.ndata["type"] = torch.tensor(graph.node_types, dtype=torch.int64)
    g.ndata["value"] = torch.tensor(graph.node_values, dtype=torch.int64)
    g.edata["etype"] = torch.tensor(graph.edge_types, dtype=torch.int64)
    return g


def _save_shard(graphs_dir: Path, index: int, graphs: list[dgl.DGLGraph]) -> dict:
    """Write one shard atomically (temp file, then rename); return its manifest entry."""
    name = SHARD_PATTERN.format(index)
    tmp = graphs_dir / f".{name}.tmp"
    dgl.save_graphs(str(tmp), graphs)
    os.replace(tmp, graphs_dir / name)
    return {"file": name, "count": len(graphs), "bytes": (graphs_dir / name).stat().st_size}


def write_graph_shards(
    graphs: Iterable[ASTGraph], graphs_dir: Path, shard_size: int = 10_000
) -> list[dict]:
    """Stream graphs into `graphs_dir/shard_*.bin`, `shard_size` per file; return the shard list."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    graphs_dir = Path(graphs_dir)
    graphs_dir.mkdir(parents=True, exist_ok=True)
    shards: list[dict] = []
    pending: list[dgl.DGLGraph] = []
    for graph in graphs:
        pending.append(to_dgl(graph))
        if len(pending) == shard_size:
            shards.append(_save_shard(graphs_dir, len(shards), pending))
            pending = []
    if pending:
        shards.append(_save_shard(graphs_dir, len(shards), pending))
    return shards


class GraphStore:
    """Read access to a dataset's graphs/ shards, graph i <-> program i."""

    cache_size = 2  # whole shards kept in memory (most recently used)

    def __init__(self, graphs_dir: Path, shards: list[dict]) -> None:
        self.graphs_dir = Path(graphs_dir)
        self.shards = [dict(s) for s in shards]
        for s in self.shards:
            if not isinstance(s.get("file"), str) or not isinstance(s.get("count"), int):
                raise GraphStoreError(f"{self.graphs_dir}: bad shard entry {s!r}")
            if not (self.graphs_dir / s["file"]).is_file():
                raise GraphStoreError(f"{self.graphs_dir / s['file']}: graph shard missing")
        self._starts = [0]
        for s in self.shards:
            self._starts.append(self._starts[-1] + s["count"])
        self._cache: OrderedDict[int, list[dgl.DGLGraph]] = OrderedDict()

    def __len__(self) -> int:
        """Number of graphs over all shards."""
        return self._starts[-1]

    def __getitem__(self, i: int) -> dgl.DGLGraph:
        """Graph i, a copy (its whole shard is loaded and cached, so neighbours come cheap)."""
        shard, local = self._locate(i)
        return self._whole(shard)[local].clone()

    def batch(self, indices: Sequence[int]) -> dgl.DGLGraph:
        """`dgl.batch` of the graphs at `indices`, in that order, reading only the graphs needed."""
        if len(indices) == 0:
            raise ValueError("cannot batch an empty list of graphs")
        wanted: dict[int, set[int]] = {}
        places = [self._locate(i) for i in indices]
        for shard, local in places:
            wanted.setdefault(shard, set()).add(local)
        loaded: dict[tuple[int, int], dgl.DGLGraph] = {}
        for shard, locals_ in sorted(wanted.items()):
            if shard in self._cache:
                graphs = self._whole(shard)
                loaded.update(((shard, j), graphs[j]) for j in locals_)
            else:
                idx = sorted(locals_)
                loaded.update(zip(((shard, j) for j in idx), self._load(shard, idx)))
        return dgl.batch([loaded[p] for p in places])

    def _locate(self, i: int) -> tuple[int, int]:
        """(shard number, index within the shard) of graph i; negative i counts from the end."""
        n = len(self)
        if not isinstance(i, int) and hasattr(i, "__index__"):
            i = i.__index__()
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"graph index {i} out of range for {n} graphs")
        shard = bisect.bisect_right(self._starts, i) - 1
        return shard, i - self._starts[shard]

    def _whole(self, shard: int) -> list[dgl.DGLGraph]:
        """All graphs of one shard, through the small most-recently-used cache."""
        if shard in self._cache:
            self._cache.move_to_end(shard)
            return self._cache[shard]
        graphs = self._load(shard, None)
        self._cache[shard] = graphs
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return graphs

    def _load(self, shard: int, idx: list[int] | None) -> list[dgl.DGLGraph]:
        """Load a whole shard (idx None) or some of its graphs; any failure is a GraphStoreError."""
        entry = self.shards[shard]
        path = self.graphs_dir / entry["file"]
        if not path.is_file():
            raise GraphStoreError(f"{path}: graph shard missing")
        size = path.stat().st_size
        if "bytes" in entry and size != entry["bytes"]:
            raise GraphStoreError(
                f"{path}: graph shard is {size} bytes, expected {entry['bytes']} (truncated?)"
            )
        try:
            graphs, _ = dgl.load_graphs(str(path), idx)
        except Exception as e:  # DGL raises DGLError (and others) on corrupt files
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise GraphStoreError(f"{path}: cannot read graph shard ({first})") from e
        expected = entry["count"] if idx is None else len(idx)
        if len(graphs) != expected:
            raise GraphStoreError(f"{path}: {len(graphs)} graphs, expected {expected}")
        return graphs


def check_graph_device(device: torch.device) -> None:
    """Raise ValueError if DGL cannot place graphs on `device` (the PyPI DGL wheel is CPU-only)."""
    if device.type == "cpu":
        return
    try:
        dgl.graph(([0], [0])).to(device)
    except Exception as e:  # DGL raises DGLError for a device its build does not support
        raise ValueError(
            f"this DGL build cannot use device {device.type!r} ({str(e).splitlines()[0]})"
        ) from None


def batch_graphs(graphs: Sequence[ASTGraph]) -> dgl.DGLGraph:
    """One batched DGL graph of AST graphs built in memory (programs not in a dataset)."""
    return dgl.batch([to_dgl(g) for g in graphs])
