import ast
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astae.core.astgraph import (
    EDGE_TYPES,
    NODE_TYPES,
    VALUE_TOKENS,
    ASTGraph,
    _children,
    build_ast_graph,
    dead_statements,
    dead_stores,
    function_graph,
    statements,
)
from astae.core.config import GeneratorConfig
from astae.core.generator import sample_program

EXAMPLE = """def program(a0: list[int], a1: int) -> list[int]:
    v0 = sorted(a0)
    v1 = [v2 * a1 for v2 in v0 if v2 > 0]
    if len(v1) > 3:
        v1.append(a1 % 2)
    else:
        v3 = 0
        for v4 in range(a1):
            v3 += v4
        v1 = v1 + [v3, -4]
    return v1[:3]"""

USE_DEF = EDGE_TYPES.index("use_def")
DEF_USE = EDGE_TYPES.index("def_use")


def _label(g: ASTGraph, i: int) -> str:
    return f"{NODE_TYPES[g.node_types[i]]}:{VALUE_TOKENS[g.node_values[i]]}"


def _nodes(g: ASTGraph, label: str) -> list[int]:
    """Ids of the nodes with this `Type:value` label, in pre-order."""
    return [i for i in range(g.num_nodes) if _label(g, i) == label]


def _edges(g: ASTGraph, etype: str) -> set[tuple[int, int]]:
    t = EDGE_TYPES.index(etype)
    return {(s, d) for s, d, e in zip(g.src, g.dst, g.edge_types) if e == t}


def _reaching(g: ASTGraph, use: int) -> set[int]:
    return {d for s, d in _edges(g, "use_def") if s == use}


def _always_returns(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.If):
        return _has_return_at_end(stmt.body) and _has_return_at_end(stmt.orelse)
    return isinstance(stmt, ast.Return)


def _has_return_at_end(body: list[ast.stmt]) -> bool:
    return any(_always_returns(s) for s in body)


def _has_dead_code(body: list[ast.stmt]) -> bool:
    """A statement follows one that always returns, in this block or a nested one."""
    for k, stmt in enumerate(body):
        if _always_returns(stmt) and k < len(body) - 1:
            return True
        for child in (getattr(stmt, "body", []), getattr(stmt, "orelse", [])):
            if _has_dead_code(child):
                return True
    return False


def _program(*body: str, params: str = "a0: int") -> str:
    lines = "\n".join(f"    {line}" for line in body)
    return f"def program({params}) -> int:\n{lines}"


def test_node_count_equals_kept_ast_nodes():
    fn = ast.parse(EXAMPLE).body[0]
    folded = (ast.expr_context, ast.operator, ast.cmpop, ast.boolop, ast.unaryop)
    kept = [n for n in ast.walk(fn) if not isinstance(n, folded)]
    g = build_ast_graph(EXAMPLE)
    assert g.num_nodes == len(kept)
    assert len(g.node_values) == g.num_nodes
    assert _label(g, 0) == "FunctionDef:program"
    assert _label(g, 1) == "arguments:<none>"
    assert _label(g, 2) == "arg:a0"


def test_operators_and_constants_become_value_tokens():
    g = build_ast_graph(EXAMPLE)
    labels = {_label(g, i) for i in range(g.num_nodes)}
    expected = {"BinOp:*", "Compare:>", "AugAssign:+", "UnaryOp:neg", "Constant:4"}
    expected |= {"Attribute:append", "Name:list", "Name:int", "Name:sorted", "BinOp:%"}
    assert expected <= labels
    assert "<unk>" not in {VALUE_TOKENS[v] for v in g.node_values}
    assert "<unk>" not in {NODE_TYPES[t] for t in g.node_types}


def test_use_in_loop_body_links_to_definition_later_in_body():
    g = build_ast_graph(
        _program("v0 = 0", "for v1 in range(a0):", "    v2 = v0", "    v0 = v1", "return v0")
    )
    v0_defs = _nodes(g, "Name:v0")  # pre-order: v0 = 0, v2 = v0 (use), v0 = v1, return v0
    first_def, use_in_body, later_def, returned = v0_defs
    assert _reaching(g, use_in_body) == {first_def, later_def}
    assert _reaching(g, returned) == {first_def, later_def}  # the loop may run zero times


def test_if_else_uses_link_to_both_branches():
    g = build_ast_graph(_program("if a0 > 0:", "    v0 = 1", "else:", "    v0 = 2", "return v0"))
    then_def, else_def, use = _nodes(g, "Name:v0")
    assert _reaching(g, use) == {then_def, else_def}


def test_nothing_flows_past_return_inside_if():
    g = build_ast_graph(
        _program("v0 = 1", "if a0 > 0:", "    v0 = 2", "    return v0", "return v0 + a0")
    )
    outer_def, branch_def, branch_use, final_use = _nodes(g, "Name:v0")
    assert _reaching(g, branch_use) == {branch_def}
    assert _reaching(g, final_use) == {outer_def}


def test_augassign_and_append_both_use_and_define():
    g = build_ast_graph(
        _program("v0 = [a0]", "v0.append(1)", "v1 = 0", "v1 += a0", "return len(v0) + v1")
    )
    v0_def, v0_append, v0_use = _nodes(g, "Name:v0")
    v1_def, v1_aug, v1_use = _nodes(g, "Name:v1")
    assert _reaching(g, v0_append) == {v0_def}
    assert _reaching(g, v0_use) == {v0_append}
    assert _reaching(g, v1_aug) == {v1_def}
    assert _reaching(g, v1_use) == {v1_aug}


def test_comprehension_variable_is_local_to_the_comprehension():
    g = build_ast_graph(
        _program(
            "v0 = 5",
            "v1 = [v0 * a1 for v0 in a0 if v0 > 0]",
            "return v0",
            params="a0: list[int], a1: int",
        )
    )
    outer_def, elt_use, comp_def, cond_use, final_use = _nodes(g, "Name:v0")
    assert _reaching(g, elt_use) == {comp_def}
    assert _reaching(g, cond_use) == {comp_def}
    assert _reaching(g, final_use) == {outer_def}
    (a0_use,) = _nodes(g, "Name:a0")  # the iterable is read outside the comprehension
    assert _reaching(g, a0_use) == set(_nodes(g, "arg:a0"))


def test_comprehension_edges_in_the_example():
    g = build_ast_graph(EXAMPLE)
    target = _nodes(g, "Name:v2")[1]  # pre-order: elt use, target, condition use
    uses = {_nodes(g, "Name:v2")[0], _nodes(g, "Name:v2")[2]}
    assert {s for s, d in _edges(g, "use_def") if d == target} == uses
    assert {d for s, d in _edges(g, "def_use") if s == target} == uses


def test_data_flow_edges_come_in_reverse_pairs():
    g = build_ast_graph(EXAMPLE)
    assert {(d, s) for s, d in _edges(g, "use_def")} == _edges(g, "def_use")


def test_annotations_and_called_builtins_are_not_variable_uses():
    g = build_ast_graph(EXAMPLE)
    users = {s for s, _ in _edges(g, "use_def")}
    for label in ("Name:list", "Name:int", "Name:sorted", "Name:len", "Name:range"):
        assert not users & set(_nodes(g, label))


def test_next_edges_link_consecutive_statements_of_each_block():
    g = build_ast_graph(EXAMPLE)
    stmts = [
        i
        for i in range(g.num_nodes)
        if NODE_TYPES[g.node_types[i]] in {"Assign", "AugAssign", "Expr", "For", "If", "Return"}
    ]
    assign0, assign1, if_, expr, assign3, for_, aug, assign4, ret = stmts
    assert _edges(g, "next") == {
        (assign0, assign1),
        (assign1, if_),
        (if_, ret),
        (assign3, for_),
        (for_, assign4),
    }


def test_tree_edges_are_typed_by_field_and_mirrored_by_parent_edges():
    g = build_ast_graph(EXAMPLE)
    child = {
        (s, d) for s, d, e in zip(g.src, g.dst, g.edge_types) if EDGE_TYPES[e].startswith("child:")
    }
    assert len(child) == g.num_nodes - 1
    assert {(d, s) for s, d in child} == _edges(g, "parent")
    (ret,) = _nodes(g, "Return:<none>")
    assert (ret, ret + 1) in _edges(g, "child:value")


@pytest.mark.parametrize("source", [EXAMPLE, _program("return a0")])
def test_every_id_is_in_its_vocabulary(source):
    g = build_ast_graph(source)
    assert all(0 <= t < len(EDGE_TYPES) for t in g.edge_types)
    assert all(0 <= t < len(NODE_TYPES) for t in g.node_types)
    assert all(0 <= v < len(VALUE_TOKENS) for v in g.node_values)
    assert all(0 <= i < g.num_nodes for i in g.src + g.dst)
    assert len(g.src) == len(g.dst) == len(g.edge_types) == g.num_edges


def test_vocabularies_have_unknown_first_and_no_duplicates():
    assert NODE_TYPES[0] == "<unk>"
    assert VALUE_TOKENS[:2] == ("<none>", "<unk>")
    for vocab in (NODE_TYPES, VALUE_TOKENS, EDGE_TYPES):
        assert len(set(vocab)) == len(vocab)
    assert EDGE_TYPES[-4:] == ("parent", "next", "use_def", "def_use")


def test_unknown_tokens_map_to_unk():
    g = build_ast_graph("def f(x: int) -> int:\n    return x + 99")
    values = [VALUE_TOKENS[v] for v in g.node_values]
    assert values[0] == "<unk>"
    assert values.count("<unk>") == 4  # f, x (arg), x (use), 99


def test_source_without_function_is_an_error():
    with pytest.raises(ValueError, match="no function"):
        build_ast_graph("x = 1")
    with pytest.raises(ValueError, match="cannot parse"):
        build_ast_graph("def (")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_generated_programs_give_identical_graphs_every_time(seed):
    source = sample_program(random.Random(seed), GeneratorConfig()).to_source()
    a, b = build_ast_graph(source), build_ast_graph(source)
    assert a == b
    users = {s for s, _ in _edges(a, "use_def")}
    names = {i for i in range(a.num_nodes) if NODE_TYPES[a.node_types[i]] == "Name"}
    assert users <= names
    # in the language every variable read is defined on every path, so (outside dead code)
    # each read is reached by at least one definition
    tree = ast.parse(source)
    if any(_has_dead_code(n.body) for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        return
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
    reads = [n for n in names if isinstance(n.ctx, ast.Load) and re.fullmatch(r"[av]\d+", n.id)]
    assert len({s for s, d in _edges(a, "use_def") if s != d}) >= len(reads)
    assert min(a.edge_types, default=0) >= 0 and max(a.edge_types) < len(EDGE_TYPES)


def _preorder(fn: ast.AST) -> dict[ast.AST, int]:
    """Graph node id of each AST node (the graph numbers nodes in pre-order)."""
    ids: dict[ast.AST, int] = {}
    stack = [fn]
    while stack:
        node = stack.pop()
        ids[node] = len(ids)
        stack.extend(child for _, child in reversed(_children(node)))
    return ids


def _store_target(stmt: ast.stmt) -> ast.AST | None:
    if isinstance(stmt, ast.Assign):
        return stmt.targets[0]
    if isinstance(stmt, ast.AugAssign):
        return stmt.target
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        return getattr(stmt.value.func, "value", None)  # `v.append(e)` stores into v
    return None


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_dead_stores_are_the_stores_no_data_flow_edge_leaves(seed):
    source = sample_program(random.Random(seed), GeneratorConfig()).to_source()
    fn = ast.parse(source).body[0]
    assert statements(fn) == [n for n in _preorder_all(fn) if isinstance(n, ast.stmt) and n is not fn]
    graph, ids = build_ast_graph(source), _preorder(fn)
    defining = {s for s, _ in _edges(graph, "def_use")}
    expected = {
        stmt for stmt in statements(fn)
        if (target := _store_target(stmt)) is not None and ids[target] not in defining
    }
    assert set(dead_stores(fn)) == expected


def _preorder_all(node: ast.AST) -> list[ast.AST]:
    out = [node]
    for child in ast.iter_child_nodes(node):
        out.extend(_preorder_all(child))
    return out


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_the_graph_of_a_derivations_ast_is_the_graph_of_its_source(seed):
    # the generator builds kept programs' graphs from the AST it printed, without re-parsing
    state = sample_program(random.Random(seed), GeneratorConfig())
    assert function_graph(state.to_ast()) == build_ast_graph(state.to_source())


def test_dead_statements_add_loops_and_ifs_left_empty():
    fn = ast.parse(
        "def program(a0: int, a1: list[int]) -> int:\n    for v0 in a1:\n        pass\n"
        "    for a0 in a1:\n        pass\n    if a0 > 1:\n        pass\n    return a0"
    ).body[0]
    for stmt in statements(fn):
        if isinstance(stmt, (ast.For, ast.If)):
            stmt.body = []  # what pruning leaves
    dead = dead_statements(fn)
    # the second loop's variable is read by the return: that loop stays
    assert [type(s).__name__ for s in dead] == ["For", "If"]
    assert dead[0].target.id == "v0"
