import random

import dgl
import pytest
import torch

from astae.core.astgraph import EDGE_TYPES, build_ast_graph
from astae.core.config import GeneratorConfig
from astae.core.generator import sample_program
from astae.core.graphs import GraphStore, GraphStoreError, to_dgl, write_graph_shards

EXAMPLE = """def program(a0: list[int], a1: int) -> list[int]:
    v0 = sorted(a0)
    v1 = [v2 * a1 for v2 in v0 if v2 > 0]
    for v3 in range(a1):
        v1.append(v3)
    return v1[:3]"""


def _sources(n: int) -> list[str]:
    return [sample_program(random.Random(seed), GeneratorConfig()).to_source() for seed in range(n)]


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory):
    """Seven generated programs written three to a shard: shards of 3, 3 and 1 graphs."""
    graphs = [build_ast_graph(s) for s in _sources(7)]
    graphs_dir = tmp_path_factory.mktemp("graphs")
    shards = write_graph_shards(iter(graphs), graphs_dir, shard_size=3)
    return graphs, graphs_dir, shards


def _same(g, ast_graph) -> bool:
    src, dst = g.edges()
    return (
        g.num_nodes() == ast_graph.num_nodes
        and g.ndata["type"].tolist() == ast_graph.node_types
        and g.ndata["value"].tolist() == ast_graph.node_values
        and src.tolist() == ast_graph.src
        and dst.tolist() == ast_graph.dst
        and g.edata["etype"].tolist() == ast_graph.edge_types
    )


def test_to_dgl_carries_int64_features_and_every_edge():
    graph = build_ast_graph(EXAMPLE)
    g = to_dgl(graph)
    assert g.num_nodes() == graph.num_nodes
    assert g.num_edges() == graph.num_edges == len(graph.src)
    for tensor in (g.ndata["type"], g.ndata["value"], g.edata["etype"]):
        assert tensor.dtype == torch.int64
    assert _same(g, graph)
    counts = torch.bincount(g.edata["etype"], minlength=len(EDGE_TYPES))
    assert counts[EDGE_TYPES.index("parent")] == graph.num_nodes - 1
    assert counts[EDGE_TYPES.index("use_def")] == counts[EDGE_TYPES.index("def_use")] > 0


def test_shards_are_written_in_order_with_counts(sharded):
    _, graphs_dir, shards = sharded
    assert [(s["file"], s["count"]) for s in shards] == [
        ("shard_00000.bin", 3),
        ("shard_00001.bin", 3),
        ("shard_00002.bin", 1),
    ]
    assert sorted(p.name for p in graphs_dir.iterdir()) == [s["file"] for s in shards]


def test_store_returns_each_graph_across_shards(sharded):
    graphs, graphs_dir, shards = sharded
    store = GraphStore(graphs_dir, shards)
    assert len(store) == len(graphs)
    for i, graph in enumerate(graphs):
        assert _same(store[i], graph)
    assert _same(store[-1], graphs[-1])
    with pytest.raises(IndexError):
        store[len(graphs)]


def test_batch_keeps_the_requested_order_across_shards(sharded):
    graphs, graphs_dir, shards = sharded
    store = GraphStore(graphs_dir, shards)
    indices = [6, 0, 4, 4, 2]
    batched = store.batch(indices)
    assert batched.batch_size == len(indices)
    assert batched.batch_num_nodes().tolist() == [graphs[i].num_nodes for i in indices]
    for g, i in zip(dgl.unbatch(batched), indices):
        assert _same(g, graphs[i])
    store[5]  # a cached shard serves batches too
    assert [g.num_nodes() for g in dgl.unbatch(store.batch([5, 3]))] == [
        graphs[5].num_nodes,
        graphs[3].num_nodes,
    ]


def test_writing_no_graphs_gives_no_shards(tmp_path):
    assert write_graph_shards([], tmp_path / "graphs") == []
    assert len(GraphStore(tmp_path / "graphs", [])) == 0


def test_truncated_shard_is_an_error_naming_the_file(sharded, tmp_path):
    _, graphs_dir, shards = sharded
    for s in shards:
        (tmp_path / s["file"]).write_bytes((graphs_dir / s["file"]).read_bytes())
    broken = tmp_path / "shard_00001.bin"
    broken.write_bytes(broken.read_bytes()[:100])
    store = GraphStore(tmp_path, shards)
    assert _same(store[0], build_ast_graph(_sources(1)[0]))  # other shards still read
    with pytest.raises(GraphStoreError, match="shard_00001.bin"):
        store[3]
    with pytest.raises(GraphStoreError, match="shard_00001.bin"):
        store.batch([0, 4])


def test_shard_missing_only_its_tail_is_caught_by_its_recorded_size(sharded, tmp_path):
    _, graphs_dir, shards = sharded
    data = (graphs_dir / "shard_00000.bin").read_bytes()
    (tmp_path / "shard_00000.bin").write_bytes(data[:-5])  # DGL itself reads this without error
    with pytest.raises(GraphStoreError, match=r"shard_00000.bin: .*truncated"):
        GraphStore(tmp_path, shards[:1])[0]


def test_truncation_is_caught_even_without_a_recorded_size(sharded, tmp_path):
    _, graphs_dir, shards = sharded
    data = (graphs_dir / "shard_00000.bin").read_bytes()
    (tmp_path / "shard_00000.bin").write_bytes(data[: len(data) // 2])
    entry = {"file": "shard_00000.bin", "count": 3}  # as a manifest without "bytes" has it
    with pytest.raises(GraphStoreError, match="shard_00000.bin"):
        GraphStore(tmp_path, [entry])[0]


def test_missing_shard_is_an_error_naming_the_file(sharded, tmp_path):
    _, _, shards = sharded
    with pytest.raises(GraphStoreError, match="shard_00000.bin"):
        GraphStore(tmp_path, shards)


def test_garbage_shard_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "shard_00000.bin").write_bytes(b"not a graph file" * 64)
    with pytest.raises(GraphStoreError, match="shard_00000.bin"):
        GraphStore(tmp_path, [{"file": "shard_00000.bin", "count": 1}]).batch([0])
