"""The transition system: action sequences <-> derivation trees <-> Python source.

`DerivationState` is the one place that knows which actions are legal at a step:
the frontier symbol's productions, the variables in scope for a variable slot,
the length budget that guarantees termination, and an expression-depth cap that keeps every
derivation inside the checker's nesting limit. The random generator, the
checker (by replaying a converted program) and the model's decoder all drive it.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field

from astae.core.grammar import (
    GRAMMAR,
    MAX_EXPRESSION_DEPTH,
    MAX_PARAMS,
    TYPE_SOURCE,
    Grammar,
    Signature,
    variable_name,
)


class IllegalAction(ValueError):
    """An action that the grammar, the scope or the budget does not allow at this step."""

    def __init__(self, step: int, action: int, frontier: str, reason: str) -> None:
        super().__init__(f"step {step}: {reason} (frontier {frontier}, action {action})")
        self.step = step
        self.action = action
        self.frontier = frontier
        self.reason = reason


@dataclass
class Node:
    """A node of the derivation tree: a production and its children (Nodes or variable ids)."""

    production: int
    children: list = field(default_factory=list)


@dataclass
class Var:
    """A variable leaf of the derivation tree."""

    index: int


# Scope events, pushed on the stack between symbols and run when they surface.
_BIND, _LOOP_ENTER, _LOOP_EXIT = "@bind", "@loop_enter", "@loop_exit"
_IF_ENTER, _IF_THEN, _IF_EXIT = "@if_enter", "@if_then", "@if_exit"
_COMP_ENTER, _COMP_EXIT, _RETURNED = "@comp_enter", "@comp_exit", "@returned"

_EVENTS_AFTER: dict[str, dict[int, str]] = {
    # kind -> {child position: event run after that child is complete}
    "assign": {1: _BIND},
    "for": {1: _LOOP_ENTER, 2: _LOOP_EXIT},
    "if": {0: _IF_ENTER, 1: _IF_THEN, 2: _IF_EXIT},
    "comprehension": {1: _COMP_ENTER, -1: _COMP_EXIT},  # -1: after the last child
    "return": {0: _RETURNED},
}


EXPRESSION_SYMBOLS = frozenset({"Int", "Bool", "List", "Iter", "Elems"})


@functools.cache
def _events_after(kind: str, arity: int) -> dict[int, str]:
    """The scope events of a production kind by child position (counted from the start)."""
    return {(i if i >= 0 else arity + i): e for i, e in _EVENTS_AFTER.get(kind, {}).items()}


@dataclass
class _Frame:
    """A pending symbol. `depth` is the expression depth for expression symbols (1 for a
    statement's own operands) and the block nesting level for statement symbols."""

    symbol: str
    parent_action: int
    depth: int
    node: Node | None = None
    position: int = 0


def _child_depth(frame: _Frame, child: str) -> int:
    if child in EXPRESSION_SYMBOLS:
        if frame.symbol not in EXPRESSION_SYMBOLS:
            return 1
        return frame.depth if child == frame.symbol == "Elems" else frame.depth + 1
    if child.startswith("Block:"):
        return frame.depth + 1
    return frame.depth


class DerivationState:
    """A partial derivation: the stack of pending symbols plus the scope it implies."""

    def __init__(self, max_actions: int | None = None, grammar: Grammar = GRAMMAR) -> None:
        self.grammar = grammar
        self.max_actions = max_actions
        self.actions: list[int] = []
        self.root = Node(-1, [None])
        self._stack: list[_Frame | str] = [_Frame("Program", -1, 0, self.root, 0)]
        self._rest_cost = grammar.min_cost["Program"]
        self.var_types: dict[int, str] = {}
        self.function_vars: set[int] = set()
        self.assigned: set[int] = set()
        self.comprehension_vars: list[int] = []
        self.num_locals = 0
        self.signature: Signature | None = None
        self._pending: list[int] = []
        self._saved: list = []
        self._returned = False

    # -- queries -------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether the derivation is complete."""
        return not self._stack

    @property
    def frontier(self) -> _Frame:
        """The symbol the next action expands."""
        top = self._stack[-1]
        assert isinstance(top, _Frame)
        return top

    def in_scope(self, type_: str) -> list[int]:
        """Variables of `type_` that may be read here (definitely assigned or a comprehension's)."""
        found = sorted(j for j in self.assigned if self.var_types[j] == type_)
        if type_ == "int":
            found += [j for j in self.comprehension_vars if j not in found]
        return found

    def _can_declare(self) -> bool:
        return self.num_locals < self.grammar.num_variables - MAX_PARAMS

    def slot_actions(self, slot: str) -> list[int]:
        """The variable actions legal for a variable slot now."""
        g = self.grammar
        kind, type_ = slot.split(":")
        if kind == "Use":
            return [g.var_action(j) for j in self.in_scope(type_)]
        actions = [g.new_action] if self._can_declare() else []
        if kind == "Target":
            actions += [
                g.var_action(j)
                for j in sorted(self.function_vars)
                if self.var_types[j] == type_
            ]
        return actions

    def _budget_left(self) -> float:
        if self.max_actions is None:
            return float("inf")
        return self.max_actions - len(self.actions)

    @property
    def spare_actions(self) -> float:
        """Actions the budget leaves beyond the fewest that complete the derivation (inf: no
        budget)."""
        return self._budget_left() - self._rest_cost

    def can_read(self, type_: str) -> bool:
        """Whether some variable of `type_` may be read here (`in_scope(type_)` is not empty)."""
        return self._slot_feasible(f"Use:{type_}")

    def _slot_feasible(self, slot: str) -> bool:
        """Whether `slot_actions(slot)` is non-empty, without building it."""
        kind, type_ = slot.split(":")
        if kind == "Use":
            var_types = self.var_types
            return any(var_types[j] == type_ for j in self.assigned) or (
                type_ == "int" and bool(self.comprehension_vars)
            )
        if self._can_declare():
            return True
        return kind == "Target" and any(self.var_types[j] == type_ for j in self.function_vars)

    def legal_actions(self) -> list[int]:
        """Every action legal at the next step (never empty before the derivation is done)."""
        frame = self.frontier
        g = self.grammar
        symbol = frame.symbol
        if symbol in g.slot_set:
            return self.slot_actions(symbol)
        deep = symbol in EXPRESSION_SYMBOLS and frame.depth >= MAX_EXPRESSION_DEPTH
        room = self._budget_left() - (self._rest_cost - g.min_cost[symbol])
        # What is legal depends only on these: the answer is shared by every state (memoised).
        key = (
            symbol, deep, min(room, g.max_cost[symbol, deep]),
            tuple(self._slot_feasible(slot) for slot in g.choice_slots[symbol, deep]),
        )
        legal = g.legal_cache.get(key)
        if legal is None:
            feasible = dict(zip(g.choice_slots[symbol, deep], key[3]))
            cost, first_slot = g.production_cost, g.first_slot
            legal = g.legal_cache[key] = tuple(
                p for p in (g.shallow_by_lhs if deep else g.by_lhs)[symbol]
                if cost[p] <= room and (first_slot[p] is None or feasible[first_slot[p]])
            )
        return list(legal)

    # -- transitions -----------------------------------------------------------------

    def apply(self, action: int, validate: bool = True) -> None:
        """Take one action; raise `IllegalAction` if it is not legal here.

        `validate=False` skips the check for callers that chose from `legal_actions()`.
        """
        if self.done:
            raise IllegalAction(len(self.actions), action, "<done>", "derivation already complete")
        frame = self.frontier
        if validate and action not in self.legal_actions():
            raise IllegalAction(len(self.actions), action, frame.symbol, self._why(frame, action))
        self._stack.pop()
        self._rest_cost -= self.grammar.min_cost[frame.symbol]
        self.actions.append(action)
        if frame.symbol in self.grammar.slot_set:
            self._fill_slot(frame, action)
        else:
            self._expand(frame, action)
        self._run_events()

    def _why(self, frame: _Frame, action: int) -> str:
        g = self.grammar
        if frame.symbol in g.slot_set:
            if action == g.new_action:
                return "no new variable may be declared here"
            if action < g.new_action:
                return "a variable is expected"
            return f"variable {variable_name(action - g.var_base)} is not available here"
        if action >= g.new_action or g.productions[action].lhs != frame.symbol:
            return f"not a production of {frame.symbol}"
        return "the production does not fit the remaining budget or scope"

    def _fill_slot(self, frame: _Frame, action: int) -> None:
        g = self.grammar
        kind, type_ = frame.symbol.split(":")
        if action == g.new_action:
            j = MAX_PARAMS + self.num_locals
            self.num_locals += 1
            self.var_types[j] = type_
            if kind == "Target":
                self.function_vars.add(j)
        else:
            j = action - g.var_base
        if kind in ("Target", "Fresh"):
            self._pending.append(j)
        frame.node.children[frame.position] = Var(j)

    def _expand(self, frame: _Frame, action: int) -> None:
        g = self.grammar
        prod = g.productions[action]
        node = Node(action, [None] * len(prod.rhs))
        frame.node.children[frame.position] = node
        if prod.kind == "function":
            self._start_function(prod.arg)
        events = _events_after(prod.kind, len(prod.rhs))
        for i in range(len(prod.rhs) - 1, -1, -1):
            if i in events:
                self._stack.append(events[i])
            depth = _child_depth(frame, prod.rhs[i])
            self._stack.append(_Frame(prod.rhs[i], action, depth, node, i))
            self._rest_cost += g.min_cost[prod.rhs[i]]

    def _start_function(self, sig: Signature) -> None:
        self.signature = sig
        for j, t in enumerate(sig.params):
            self.var_types[j] = t
            self.function_vars.add(j)
            self.assigned.add(j)

    def _run_events(self) -> None:
        while self._stack and isinstance(self._stack[-1], str):
            event = self._stack.pop()
            if event == _BIND:
                self.assigned.add(self._pending.pop())
            elif event == _LOOP_ENTER:
                self._saved.append(set(self.assigned))
                self.assigned.add(self._pending.pop())
            elif event == _LOOP_EXIT:
                self.assigned = self._saved.pop()
                self._returned = False
            elif event == _IF_ENTER:
                self._saved.append(set(self.assigned))
            elif event == _IF_THEN:
                before = self._saved[-1]
                self._saved.append((self.assigned, self._returned))
                self.assigned, self._returned = set(before), False
            elif event == _IF_EXIT:
                then_assigned, then_returned = self._saved.pop()
                before = self._saved.pop()
                else_assigned, else_returned = self.assigned, self._returned
                if then_returned and else_returned:
                    self.assigned = before
                elif then_returned:
                    self.assigned = else_assigned
                elif else_returned:
                    self.assigned = then_assigned
                else:
                    self.assigned = then_assigned & else_assigned
                self._returned = then_returned and else_returned
            elif event == _COMP_ENTER:
                self.comprehension_vars.append(self._pending.pop())
            elif event == _COMP_EXIT:
                self.comprehension_vars.pop()
            elif event == _RETURNED:
                self._returned = True

    # -- results ---------------------------------------------------------------------

    def tree(self) -> Node:
        """The completed derivation tree."""
        if not self.done:
            raise ValueError("derivation is not complete")
        return self.root.children[0]

    def to_ast(self) -> ast.FunctionDef:
        """The completed program as a Python AST."""
        return _AstBuilder(self.grammar).function(self.tree())

    def to_source(self) -> str:
        """The completed program as canonical source."""
        return ast.unparse(self.to_ast())  # only statements with type comments need a lineno

    def fork(self) -> DerivationState:
        """An independent copy of this state (the tree, the pending symbols and the scope)."""
        nodes: dict[int, Node] = {}

        def copy(node: Node) -> Node:
            twin = Node(node.production, [copy(c) if isinstance(c, Node) else c for c in node.children])
            nodes[id(node)] = twin
            return twin

        twin = DerivationState.__new__(DerivationState)
        twin.grammar, twin.max_actions = self.grammar, self.max_actions
        twin.actions = list(self.actions)
        twin.root = copy(self.root)
        twin._stack = [
            item if isinstance(item, str)
            else _Frame(item.symbol, item.parent_action, item.depth, nodes[id(item.node)], item.position)
            for item in self._stack
        ]
        twin._rest_cost = self._rest_cost
        twin.var_types = dict(self.var_types)
        twin.function_vars = set(self.function_vars)
        twin.assigned = set(self.assigned)
        twin.comprehension_vars = list(self.comprehension_vars)
        twin.num_locals = self.num_locals
        twin.signature = self.signature
        twin._pending = list(self._pending)
        # saved scopes are sets, or (set, returned) pairs; none is shared with `assigned`
        twin._saved = [set(x) if isinstance(x, set) else (set(x[0]), x[1]) for x in self._saved]
        twin._returned = self._returned
        return twin


def replay(actions: list[int] | tuple[int, ...], max_actions: int | None = None) -> DerivationState:
    """Apply an action sequence from scratch; raise `IllegalAction` on the first illegal one."""
    state = DerivationState(max_actions)
    for action in actions:
        state.apply(action)
    return state


def tree_depth(node: Node | Var | None) -> int:
    """Depth of a derivation tree (a leaf has depth 1)."""
    if not isinstance(node, Node) or not node.children:
        return 1
    return 1 + max(tree_depth(c) for c in node.children)


_BINOPS = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult, "//": ast.FloorDiv, "%": ast.Mod}
_CMPOPS = {
    "<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE, "==": ast.Eq, "!=": ast.NotEq,
    "in": ast.In, "not in": ast.NotIn,
}
_BOOLOPS = {"and": ast.And, "or": ast.Or}


def _name(j: int, store: bool = False) -> ast.Name:
    return ast.Name(variable_name(j), ast.Store() if store else ast.Load())


def _call(fn: str, args: list[ast.expr]) -> ast.Call:
    return ast.Call(ast.Name(fn, ast.Load()), args, [])


def _annotation(type_: str) -> ast.expr:
    if type_ == "list":
        return ast.Subscript(ast.Name("list", ast.Load()), ast.Name("int", ast.Load()), ast.Load())
    return ast.Name(TYPE_SOURCE[type_], ast.Load())


class _AstBuilder:
    """Derivation tree -> Python AST, one method per production kind."""

    def __init__(self, grammar: Grammar) -> None:
        self.g = grammar

    def function(self, node: Node) -> ast.FunctionDef:
        sig: Signature = self.g.productions[node.production].arg
        args = [ast.arg(variable_name(j), _annotation(t)) for j, t in enumerate(sig.params)]
        arguments = ast.arguments(
            posonlyargs=[], args=args, vararg=None, kwonlyargs=[], kw_defaults=[],
            kwarg=None, defaults=[],
        )
        return ast.FunctionDef(
            name="program", args=arguments, body=self.block(node.children[0]),
            decorator_list=[], returns=_annotation(sig.returns), type_params=[], lineno=1,
        )

    def block(self, node: Node) -> list[ast.stmt]:
        stmts: list[ast.stmt] = []
        while True:
            kind = self.g.productions[node.production].kind
            if kind == "end":
                return stmts
            if kind == "return":
                stmts.append(ast.Return(self.expr(node.children[0])))
                return stmts
            stmts.append(self.stmt(node.children[0]))
            node = node.children[1]

    def stmt(self, node: Node) -> ast.stmt:
        prod = self.g.productions[node.production]
        c = node.children
        if prod.kind == "assign":
            return ast.Assign([_name(c[0].index, store=True)], self.expr(c[1]), lineno=1)
        if prod.kind in ("augassign", "extend"):
            op = _BINOPS[prod.arg or "+"]()
            return ast.AugAssign(_name(c[0].index, store=True), op, self.expr(c[1]))
        if prod.kind == "append":
            method = ast.Attribute(_name(c[0].index), "append", ast.Load())
            return ast.Expr(ast.Call(method, [self.expr(c[1])], []))
        if prod.kind == "for":
            return ast.For(_name(c[0].index, store=True), self.iter(c[1]), self.block(c[2]), [], lineno=1)
        if prod.kind == "if":
            orelse = c[2]
            has_else = self.g.productions[orelse.production].kind == "else"
            else_body = self.block(orelse.children[0]) if has_else else []
            return ast.If(self.expr(c[0]), self.block(c[1]), else_body)
        raise ValueError(f"not a statement production: {prod.label}")

    def iter(self, node: Node) -> ast.expr:
        prod = self.g.productions[node.production]
        if prod.kind == "over":
            return self.expr(node.children[0])
        return _call("range", [self.expr(c) for c in node.children])

    def expr(self, node: Node | Var) -> ast.expr:
        prod = self.g.productions[node.production]
        c = node.children
        kind = prod.kind
        if kind == "const":
            return ast.Constant(prod.arg)
        if kind == "var":
            return _name(c[0].index)
        if kind == "binop":
            return ast.BinOp(self.expr(c[0]), _BINOPS[prod.arg](), self.expr(c[1]))
        if kind == "neg":
            return ast.UnaryOp(ast.USub(), self.expr(c[0]))
        if kind == "not":
            return ast.UnaryOp(ast.Not(), self.expr(c[0]))
        if kind == "ifexp":
            return ast.IfExp(self.expr(c[0]), self.expr(c[1]), self.expr(c[2]))
        if kind == "call":
            return _call(prod.arg, [self.expr(x) for x in c])
        if kind == "index":
            return ast.Subscript(self.expr(c[0]), self.expr(c[1]), ast.Load())
        if kind == "compare":
            return ast.Compare(self.expr(c[0]), [_CMPOPS[prod.arg]()], [self.expr(c[1])])
        if kind == "boolop":
            return ast.BoolOp(_BOOLOPS[prod.arg](), [self.expr(c[0]), self.expr(c[1])])
        if kind == "reverse":
            step = ast.UnaryOp(ast.USub(), ast.Constant(1))
            return ast.Subscript(self.expr(c[0]), ast.Slice(None, None, step), ast.Load())
        if kind == "slice":
            value, bounds = self.expr(c[0]), [self.expr(x) for x in c[1:]]
            lower, upper = {"both": (0, 1), "lower": (0, None), "upper": (None, 0)}[prod.arg]
            sl = ast.Slice(
                bounds[lower] if lower is not None else None,
                bounds[upper] if upper is not None else None,
                None,
            )
            return ast.Subscript(value, sl, ast.Load())
        if kind == "literal":
            elts = []
            elems = c[0]
            while self.g.productions[elems.production].kind == "cons":
                elts.append(self.expr(elems.children[0]))
                elems = elems.children[1]
            return ast.List(elts, ast.Load())
        if kind == "comprehension":
            ifs = [self.expr(c[2])] if prod.arg == "if" else []
            gen = ast.comprehension(_name(c[0].index, store=True), self.iter(c[1]), ifs, 0)
            return ast.ListComp(self.expr(c[-1]), [gen])
        raise ValueError(f"not an expression production: {prod.label}")
