"""The AST graph of a program: typed nodes, value tokens and typed edges (pure standard library).

One node per AST node of the program's `FunctionDef`, in pre-order. Operator, comparison,
boolean-operator and expression-context nodes are not nodes: an operator becomes the value token
of the node that holds it (`BinOp` "+", `Compare` "<", `AugAssign` "+", `UnaryOp` "neg").

Edges, each with a type id into `EDGE_TYPES`:

- `child:<field>` parent -> child, and `parent` child -> parent, for every AST field;
- `next` between consecutive statements of one `body` / `orelse` list;
- `use_def` from each variable use to every definition that reaches it, and `def_use` back.

Reaching definitions follow Python's control flow: `if`/`else` joins both branches, a `for` body
is iterated to a fixpoint (a use can be reached by a later definition of the previous iteration,
and the loop may run zero times), nothing flows past a `return`, and a comprehension's variable is
local to the comprehension. `v += e` and `v.append(e)` both use and (re)define `v`.

This module imports neither torch nor DGL: it runs in the dataset generator's workers.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from astae.core.grammar import MAX_LOCALS, MAX_PARAMS

UNK = "<unk>"
NONE = "<none>"

NODE_TYPES: tuple[str, ...] = (
    UNK,
    "FunctionDef", "arguments", "arg",
    "Assign", "AugAssign", "Expr", "For", "If", "Return",
    "Name", "Constant", "BinOp", "UnaryOp", "BoolOp", "Compare", "IfExp",
    "Call", "Attribute", "Subscript", "Slice", "List", "ListComp", "comprehension",
)  # fmt: skip

_BIN_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Mod: "%"}
_UNARY_OPS = {ast.USub: "neg", ast.Not: "not"}
_BOOL_OPS = {ast.And: "and", ast.Or: "or"}
_CMP_OPS = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.In: "in", ast.NotIn: "not in",
}  # fmt: skip

VALUE_TOKENS: tuple[str, ...] = (
    NONE,
    UNK,
    *(f"a{i}" for i in range(MAX_PARAMS)),
    *(f"v{i}" for i in range(MAX_LOCALS)),
    "program",
    *(str(i) for i in range(11)),
    "True", "False",
    *_BIN_OPS.values(), *_UNARY_OPS.values(), *_BOOL_OPS.values(), *_CMP_OPS.values(),
    "len", "sum", "min", "max", "abs", "sorted", "range", "append",
    "int", "bool", "list",
)  # fmt: skip

_CHILD_FIELDS = (
    "args", "body", "orelse", "returns", "annotation",
    "targets", "target", "value", "iter", "test",
    "left", "right", "operand", "values", "comparators",
    "func", "keywords", "slice", "lower", "upper", "step",
    "elts", "elt", "generators", "ifs",
    UNK,
)  # fmt: skip

EDGE_TYPES: tuple[str, ...] = (
    *(f"child:{f}" for f in _CHILD_FIELDS),
    "parent",
    "next",
    "use_def",
    "def_use",
)

NODE_TYPE_ID = {name: i for i, name in enumerate(NODE_TYPES)}
VALUE_TOKEN_ID = {name: i for i, name in enumerate(VALUE_TOKENS)}
EDGE_TYPE_ID = {name: i for i, name in enumerate(EDGE_TYPES)}
_CHILD_EDGE = {name: EDGE_TYPE_ID[f"child:{name}"] for name in _CHILD_FIELDS}
_UNK_CHILD_EDGE = EDGE_TYPE_ID[f"child:{UNK}"]

# ast nodes folded into their parent's value token, never nodes of their own
_FOLDED = (ast.expr_context, ast.operator, ast.cmpop, ast.boolop, ast.unaryop)


@dataclass
class ASTGraph:
    """A program's AST graph as plain lists: node features and typed edges `src[k] -> dst[k]`."""

    node_types: list[int] = field(default_factory=list)
    node_values: list[int] = field(default_factory=list)
    src: list[int] = field(default_factory=list)
    dst: list[int] = field(default_factory=list)
    edge_types: list[int] = field(default_factory=list)

    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_types)

    @property
    def num_edges(self) -> int:
        """Number of edges."""
        return len(self.src)


def node_value(node: ast.AST) -> str:
    """The value token of an AST node (before mapping unknown tokens to `<unk>`)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.arg):
        return node.arg
    if isinstance(node, ast.FunctionDef):
        return node.name
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, (ast.BinOp, ast.AugAssign)):
        return _BIN_OPS.get(type(node.op), UNK)
    if isinstance(node, ast.UnaryOp):
        return _UNARY_OPS.get(type(node.op), UNK)
    if isinstance(node, ast.BoolOp):
        return _BOOL_OPS.get(type(node.op), UNK)
    if isinstance(node, ast.Compare):
        return _CMP_OPS.get(type(node.ops[0]), UNK) if node.ops else UNK
    return NONE


def _children(node: ast.AST) -> list[tuple[str, ast.AST]]:
    """The (field, child) pairs of a node that become graph nodes, in field order."""
    out = []
    for name, value in ast.iter_fields(node):
        items = value if isinstance(value, list) else [value]
        out.extend((name, v) for v in items if _is_node(v))
    return out


def _is_node(value: object) -> bool:
    return isinstance(value, ast.AST) and not isinstance(value, _FOLDED)


class _Builder:
    """Accumulates nodes and edges of one graph."""

    def __init__(self) -> None:
        self.graph = ASTGraph()
        self.ids: dict[ast.AST, int] = {}
        self.reach: dict[int, set[int]] = {}  # use node -> definition nodes reaching it

    def edge(self, src: int, dst: int, etype: str) -> None:
        self.graph.src.append(src)
        self.graph.dst.append(dst)
        self.graph.edge_types.append(EDGE_TYPE_ID[etype])

    def tree(self, root: ast.AST) -> None:
        """Number the nodes in pre-order; add child/parent and next edges (all child/parent edges
        in node order, then all next edges)."""
        g, ids = self.graph, self.ids
        children: list[list[tuple[str, ast.AST]]] = []  # by node id
        sequences: list[list[ast.stmt]] = []  # statement lists, in node order
        stack = [root]
        while stack:
            node = stack.pop()
            ids[node] = len(g.node_types)
            g.node_types.append(NODE_TYPE_ID.get(type(node).__name__, 0))
            g.node_values.append(VALUE_TOKEN_ID.get(node_value(node), 1))
            kids = []
            for name, value in ast.iter_fields(node):
                if isinstance(value, list):
                    kids.extend((name, v) for v in value if _is_node(v))
                    if len(value) > 1 and isinstance(value[0], ast.stmt):
                        sequences.append(value)
                elif _is_node(value):
                    kids.append((name, value))
            children.append(kids)
            stack.extend(child for _, child in reversed(kids))
        parent_type = EDGE_TYPE_ID["parent"]
        for i, kids in enumerate(children):
            for name, child in kids:
                j = ids[child]
                g.src += (i, j)
                g.dst += (j, i)
                g.edge_types += (_CHILD_EDGE.get(name, _UNK_CHILD_EDGE), parent_type)
        next_type = EDGE_TYPE_ID["next"]
        for value in sequences:
            for a, b in zip(value, value[1:]):
                g.src.append(ids[a])
                g.dst.append(ids[b])
                g.edge_types.append(next_type)

    def data_flow(self) -> None:
        """Add use_def and def_use edges, sorted so the order is deterministic."""
        pairs = sorted((u, d) for u, defs in self.reach.items() for d in defs)
        for u, d in pairs:
            self.edge(u, d, "use_def")
        for u, d in pairs:
            self.edge(d, u, "def_use")


# Reaching definitions: an environment maps a variable name to the definition nodes that may
# reach the current point; None means the point is unreachable (after a `return`).
_Env = dict[str, frozenset[int]]
_Comp = ast.ListComp | ast.SetComp | ast.GeneratorExp


def _join(a: _Env | None, b: _Env | None) -> _Env | None:
    if a is None:
        return b
    if b is None:
        return a
    return {k: a.get(k, frozenset()) | b.get(k, frozenset()) for k in sorted(a.keys() | b.keys())}


class _Flow:
    """Reaching-definitions analysis over one function; records uses in `builder.reach`."""

    def __init__(self, builder: _Builder | _Analysis) -> None:
        self.b = builder

    def use(self, node: ast.AST, name: str, env: _Env | None) -> None:
        defs = self.b.reach.setdefault(self.b.ids[node], set())
        if env is not None:
            defs.update(env.get(name, ()))

    def define(self, node: ast.AST, name: str, env: _Env | None) -> None:
        if env is not None:
            env[name] = frozenset({self.b.ids[node]})

    def function(self, fn: ast.FunctionDef) -> None:
        env: _Env = {}
        a = fn.args
        for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs]:
            self.define(arg, arg.arg, env)
        self.stmts(fn.body, env)

    def stmts(self, body: list[ast.stmt], env: _Env | None) -> _Env | None:
        for stmt in body:
            env = self.stmt(stmt, env)
        return env

    def stmt(self, stmt: ast.stmt, env: _Env | None) -> _Env | None:
        """Analyse one statement given the incoming environment; return the outgoing one."""
        env = None if env is None else dict(env)
        if isinstance(stmt, ast.Assign):
            self.expr(stmt.value, env)
            for target in stmt.targets:
                self.store(target, env)
        elif isinstance(stmt, ast.AugAssign):
            self.expr(stmt.value, env)
            if isinstance(stmt.target, ast.Name):
                self.use(stmt.target, stmt.target.id, env)
                self.define(stmt.target, stmt.target.id, env)
            else:
                self.expr(stmt.target, env)
        elif isinstance(stmt, ast.Expr) and _appended(stmt) is not None:
            call = stmt.value
            assert isinstance(call, ast.Call)
            name = _appended(stmt)
            assert name is not None
            self.use(name, name.id, env)
            for arg in call.args:
                self.expr(arg, env)
            self.define(name, name.id, env)
        elif isinstance(stmt, ast.For):
            return self.loop(stmt, env)
        elif isinstance(stmt, ast.If):
            self.expr(stmt.test, env)
            return _join(self.stmts(stmt.body, env), self.stmts(stmt.orelse, env))
        elif isinstance(stmt, ast.Return):
            if stmt.value is not None:
                self.expr(stmt.value, env)
            return None
        else:  # outside the language: treat every name in it as a use
            self.expr(stmt, env)
        return env

    def loop(self, stmt: ast.For, env: _Env | None) -> _Env | None:
        """A `for` loop: iterate the body until the loop-head environment stops growing."""
        self.expr(stmt.iter, env)
        head = env
        while True:
            body_in = None if head is None else dict(head)
            self.store(stmt.target, body_in)
            new_head = _join(env, self.stmts(stmt.body, body_in))
            if new_head == head:
                break
            head = new_head
        return self.stmts(stmt.orelse, head) if stmt.orelse else head

    def store(self, target: ast.AST, env: _Env | None) -> None:
        """Define the names bound by an assignment target (a Name, or a tuple of them)."""
        if isinstance(target, ast.Name):
            self.define(target, target.id, env)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self.store(elt, env)
        else:  # e.g. a subscript target: the names in it are read
            self.expr(target, env)

    def expr(self, node: ast.AST, env: _Env | None) -> None:
        """Record the variable uses in an expression (expressions define nothing outside)."""
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                self.use(node, node.id, env)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            self.comprehension(node, env)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            for child in [*node.args, *node.keywords]:
                self.expr(child, env)
        else:
            for child in ast.iter_child_nodes(node):
                self.expr(child, env)

    def comprehension(self, node: _Comp, env: _Env | None) -> None:
        """A comprehension: its targets are local; the first iterable is read outside them."""
        inner = None if env is None else dict(env)
        for k, gen in enumerate(node.generators):
            self.expr(gen.iter, inner if k else env)
            self.store(gen.target, inner)
            for cond in gen.ifs:
                self.expr(cond, inner)
        self.expr(node.elt, inner)


def _appended(stmt: ast.Expr) -> ast.Name | None:
    """The Name `v` if the statement is `v.append(...)`, else None."""
    call = stmt.value
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "append"
        and isinstance(call.func.value, ast.Name)
    ):
        return call.func.value
    return None


class _NodeIds(dict):
    """Node -> number, assigned on first lookup: all the reaching-definitions analysis needs
    when no graph is built."""

    def __missing__(self, node: ast.AST) -> int:
        self[node] = number = len(self)
        return number


class _Analysis:
    """What `_Flow` records into when only the analysis is wanted (no graph)."""

    def __init__(self) -> None:
        self.ids: dict[ast.AST, int] = _NodeIds()
        self.reach: dict[int, set[int]] = {}


_BLOCKS = ("body", "orelse", "finalbody")


def blocks(node: ast.AST) -> list[list[ast.stmt]]:
    """The statement lists directly under a node (a function's or loop's body, an `else`)."""
    out = []
    for name in _BLOCKS:
        block = getattr(node, name, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            out.append(block)
    return out


def statements(node: ast.AST) -> list[ast.stmt]:
    """Every statement nested under `node`, in pre-order (cheaper than `ast.walk` over all nodes)."""
    out: list[ast.stmt] = []
    for block in blocks(node):
        for stmt in block:
            out.append(stmt)
            out.extend(statements(stmt))
    return out


def dead_stores(fn: ast.FunctionDef) -> list[ast.stmt]:
    """Statements whose stored value no later code reads: assignments, `+=` and appends."""
    return _dead(fn, with_empty_blocks=False)


def dead_statements(fn: ast.FunctionDef) -> list[ast.stmt]:
    """What can go without changing what the function returns: its dead stores, `for` loops with
    an empty body whose variable is not read after them, and `if`s with both branches empty
    (blocks are empty once their dead statements are gone)."""
    return _dead(fn, with_empty_blocks=True)


def _dead(fn: ast.FunctionDef, with_empty_blocks: bool) -> list[ast.stmt]:
    analysis = _Analysis()
    _Flow(analysis).function(fn)
    read = {d for defs in analysis.reach.values() for d in defs}
    dead = []
    for stmt in statements(fn):
        if isinstance(stmt, ast.Assign):
            target = stmt.targets[0]
        elif isinstance(stmt, ast.AugAssign):
            target = stmt.target
        elif isinstance(stmt, ast.Expr):
            target = _appended(stmt)
        elif with_empty_blocks and isinstance(stmt, ast.For) and not stmt.body:
            target = stmt.target
        elif with_empty_blocks and isinstance(stmt, ast.If) and not stmt.body and not stmt.orelse:
            dead.append(stmt)
            continue
        else:
            continue
        if target is not None and analysis.ids[target] not in read:
            dead.append(stmt)
    return dead


def build_ast_graph(source: str) -> ASTGraph:
    """Build the AST graph of the (first) function defined in `source`."""
    try:
        module = ast.parse(source)
    except SyntaxError as e:
        raise ValueError(f"cannot parse program: {e.msg} (line {e.lineno})") from e
    fn = next((s for s in module.body if isinstance(s, ast.FunctionDef)), None)
    if fn is None:
        raise ValueError("source defines no function")
    return function_graph(fn)


def function_graph(fn: ast.FunctionDef) -> ASTGraph:
    """The AST graph of a function's AST (what `build_ast_graph` builds from its source)."""
    builder = _Builder()
    builder.tree(fn)
    _Flow(builder).function(fn)
    builder.data_flow()
    return builder.graph
