"""Idioms people write, rewritten to the language's own constructs before checking.

`desugar` maps a function's Python AST to an equivalent one that uses only what the
grammar derives: `xs[:]` becomes `xs[0:]`, `for i, x in enumerate(xs)` a loop over
`range(len(xs))`, `0 < x < 10` becomes `0 < x and x < 10`, and so on (docs/language.md,
"Idioms people write", lists them all). Every rewrite gives the same result, or raises the
same kind of exception, on every input; it may evaluate a side-effect-free expression more
than once. Only constructs *outside* the grammar are rewritten, so a canonical program is
left exactly as it is: canonical forms, action sequences and the grammar fingerprint do not
change. Truthiness (`if xs:`, `not n`) needs types and is handled by the checker itself
(`language._Converter`).

An idiom with no exact equivalent is left in place for the checker to refuse, or refused
here (`Refusal`) when the reason is specific to the rewrite (e.g. `enumerate` over a list the
loop body changes).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterable, Iterator

from astae.core.grammar import MAX_CONST

# Constants above MAX_CONST are written as arithmetic over 0..10 (`100` -> `10 * 10`) up to
# this magnitude (2**31 covers the usual sentinels and moduli: 10**9 + 7, 2**31 - 1).
MAX_SPELLED_CONSTANT = 2**31
# A non-constant base is multiplied out for these exponents only (`x ** 2` -> `x * x`).
_MULTIPLIED_POWERS = (1, 2, 3)
# Calls whose single argument may be a `range(...)`, `reversed(...)` or generator expression
# (consumed whole, so a list comprehension or slice gives the same result).
_CONSUMERS = {
    "len": ("range",),
    "sum": ("range", "reversed", "generator"),
    "min": ("range", "reversed", "generator"),
    "max": ("range", "reversed", "generator"),
    "sorted": ("range", "reversed", "generator"),
    "list": ("range", "reversed", "generator"),
    "in": ("range", "reversed"),
    "extend": ("range", "reversed"),
    "iter": ("range", "reversed"),
    # zip and enumerate are lazy: a generator's later elements (which might raise) may never be
    # computed, so only ranges and reversals are made lists there.
    "zip": ("range", "reversed"),
    "reversed": ("range",),  # reversed() takes a sequence: no generator, no other iterator
}
_NEGATED = {
    ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
}


class Refusal(Exception):
    """An idiom with no equivalent in the language; `node` carries the line."""

    def __init__(self, node: ast.AST, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def desugar(fn: ast.FunctionDef) -> ast.FunctionDef:
    """`fn` with every supported idiom rewritten to constructs of the grammar (a rewritten copy;
    `fn` itself when it has none, as every canonical program)."""
    if not _has_idiom(fn):
        return fn
    fn = copy.deepcopy(fn)
    return _Desugar(fn).run()


_IDIOM_NODES = (ast.Continue, ast.AnnAssign, ast.GeneratorExp, ast.Tuple)
_IDIOM_CALLS = frozenset({"list", "reversed", "enumerate", "zip"})
_LIST_CONSUMERS = frozenset({"len", "sum", "min", "max", "sorted"})


def _has_idiom(fn: ast.FunctionDef) -> bool:
    """Whether some rewrite of `_Desugar` may apply (over-approximated, never missed): a refused
    program without any keeps its verdict at the cost of one walk, without a copy."""
    if fn.body and isinstance(fn.body[-1], ast.If):
        return True
    for node in ast.walk(fn):
        if isinstance(node, _IDIOM_NODES):
            return True
        if isinstance(node, ast.Constant):
            if type(node.value) is int and node.value > MAX_CONST:
                return True
        elif isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow) or (isinstance(node.op, ast.Mult) and (
                    isinstance(node.left, ast.List) or isinstance(node.right, ast.List))):
                return True
        elif isinstance(node, ast.Subscript):
            sl = node.slice
            if isinstance(sl, ast.Slice) and (
                    sl.lower is None and sl.upper is None and not _is_minus_one(sl.step)
                    or sl.step is not None and not _is_minus_one(sl.step)):
                return True
        elif isinstance(node, ast.Compare):
            equality = any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops)
            if len(node.ops) > 1 or any(
                    equality and isinstance(x, ast.List) and not x.elts
                    or isinstance(x, ast.Call) and isinstance(x.func, ast.Name)
                    and x.func.id in ("range", "reversed")
                    for x in (node.left, *node.comparators)):
                return True
        elif isinstance(node, ast.Call):
            func = node.func
            if node.keywords or (isinstance(func, ast.Attribute) and func.attr != "append"):
                return True
            if isinstance(func, ast.Name):
                if func.id in _IDIOM_CALLS or (func.id == "range" and len(node.args) > 2):
                    return True
                if func.id in _LIST_CONSUMERS and (len(node.args) > 2 or any(
                        isinstance(a, ast.Call) and isinstance(a.func, ast.Name)
                        and a.func.id in ("range", "reversed") for a in node.args)):
                    return True
        elif isinstance(node, ast.Assign) and len(node.targets) > 1:
            return True
    return False


def _is_minus_one(node: ast.expr | None) -> bool:
    return (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant) and node.operand.value == 1
            and type(node.operand.value) is int)


# -- small AST builders ------------------------------------------------------------------------


def _name(id_: str, store: bool = False) -> ast.Name:
    return ast.Name(id=id_, ctx=ast.Store() if store else ast.Load())


def _const(value: int) -> ast.expr:
    """An int constant as the language writes it: `-k` for negatives, arithmetic above 10."""
    if value < 0:
        return ast.UnaryOp(op=ast.USub(), operand=_const(-value))
    if value <= MAX_CONST:
        return ast.Constant(value=value)
    tens, units = divmod(value, 10)
    base = ast.Constant(value=10) if tens == 1 else ast.BinOp(_const(tens), ast.Mult(), ast.Constant(10))
    return base if units == 0 else ast.BinOp(base, ast.Add(), ast.Constant(units))


def _minus(a: ast.expr, b: ast.expr) -> ast.expr:
    """`a - b`, written `a`, `a + k` or `-b` when b is 0, b is -k or a is 0 (same value and
    evaluation order: a constant raises nothing)."""
    a_value, b_value = _constant_value(a), _constant_value(b)
    if b_value == 0:
        return a
    if b_value is not None and b_value < 0:
        return ast.BinOp(a, ast.Add(), _const(-b_value))
    if a_value == 0:
        return ast.UnaryOp(op=ast.USub(), operand=b)
    return ast.BinOp(a, ast.Sub(), b)


def _plus(a: ast.expr, b: ast.expr) -> ast.expr:
    """`a + b`, written `b` when a is the constant 0."""
    return b if _constant_value(a) == 0 else ast.BinOp(a, ast.Add(), b)


def _call(fn: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_name(fn), args=list(args), keywords=[])


def _len_compare(value: ast.expr, op: ast.cmpop) -> ast.Compare:
    """`len(value) <op> 0`."""
    return ast.Compare(left=_call("len", value), ops=[op], comparators=[ast.Constant(0)])


def _slice(value: ast.expr, lower: ast.expr | None = None, step: ast.expr | None = None) -> ast.Subscript:
    return ast.Subscript(value=value, slice=ast.Slice(lower=lower, upper=None, step=step), ctx=ast.Load())


def _reverse(value: ast.expr) -> ast.Subscript:
    """`value[::-1]`."""
    return _slice(value, step=ast.UnaryOp(op=ast.USub(), operand=ast.Constant(1)))


def _copy(value: ast.expr) -> ast.Subscript:
    """`value[0:]`: a new list with the same elements (what `value[:]` and `list(value)` give)."""
    return _slice(value, lower=ast.Constant(0))


def _comprehension(elt: ast.expr, var: str, iterable: ast.expr, cond: ast.expr | None = None) -> ast.ListComp:
    gen = ast.comprehension(target=_name(var, store=True), iter=iterable, ifs=[cond] if cond else [],
                            is_async=0)
    return ast.ListComp(elt=elt, generators=[gen])


def _at(new: ast.AST, old: ast.AST) -> ast.AST:
    """Give `new` (and every node under it without one) the location of `old`."""
    for node in ast.walk(new):
        if "lineno" in node._attributes and getattr(node, "lineno", None) is None:
            ast.copy_location(node, old)
    return new


def _small_int(node: ast.expr | None) -> int | None:
    """The value of `k` or `-k` for an int constant k (not a bool), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _small_int(node.operand)
        return -inner if inner is not None and isinstance(node.operand, ast.Constant) else None
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _constant_value(node: ast.expr | None) -> int | None:
    """The value of an int constant expression (`_is_constant_expression`), else None."""
    if node is None or not _is_constant_expression(node):
        return None
    return _evaluate(node)


def _evaluate(node: ast.expr) -> int:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        return -_evaluate(node.operand)
    left, right = _evaluate(node.left), _evaluate(node.right)
    if isinstance(node.op, ast.Mult):
        return left * right
    return left + right if isinstance(node.op, ast.Add) else left - right


def _is_constant_expression(node: ast.expr) -> bool:
    """Built from int constants with `+ - *` and unary `-` only: it cannot raise."""
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub) and _is_constant_expression(node.operand)
    if isinstance(node, ast.BinOp):
        return (isinstance(node.op, (ast.Add, ast.Sub, ast.Mult))
                and _is_constant_expression(node.left) and _is_constant_expression(node.right))
    return False


def _names_read(node: ast.AST | Iterable[ast.AST]) -> set[str]:
    nodes = [node] if isinstance(node, ast.AST) else list(node)
    return {n.id for root in nodes for n in ast.walk(root)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _walk_block(stmts: list[ast.stmt]) -> Iterator[ast.AST]:
    for stmt in stmts:
        yield from ast.walk(stmt)


def _names_bound(stmts: list[ast.stmt]) -> set[str]:
    """Every name a block assigns (a conservative superset: comprehension variables count)."""
    return {n.id for n in _walk_block(stmts) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _lists_mutated(stmts: list[ast.stmt]) -> set[str]:
    """Names a block changes in place (`v.append`, `v.extend`) or augments (`v += ...`)."""
    out = set()
    for n in _walk_block(stmts):
        if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
            out.add(n.target.id)
        elif (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
              and isinstance(n.func.value, ast.Name)):
            out.add(n.func.value.id)
    return out


def _identity_names(value: ast.expr) -> Iterator[str]:
    """Names whose object `value` may be (not a copy of): `v`, and the branches of `a if c else b`."""
    if isinstance(value, ast.Name):
        yield value.id
    elif isinstance(value, ast.IfExp):
        yield from _identity_names(value.body)
        yield from _identity_names(value.orelse)
    elif isinstance(value, (ast.Tuple, ast.List)):  # `a, b = xs, ys` pairs element-wise: conservative
        for elt in value.elts:
            yield from _identity_names(elt)


class _Aliases:
    """Which names may hold the same list object (flow-insensitive, conservative)."""

    def __init__(self, fn: ast.FunctionDef) -> None:
        self.parent: dict[str, str] = {}
        lists = [a.arg for a in fn.args.args if _is_list_annotation(a.annotation)]
        for p in lists[1:]:  # a caller may pass one list for several parameters
            self.union(lists[0], p)
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            else:
                continue
            for target in targets:
                if (isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))
                        and len(target.elts) == len(value.elts)):
                    pairs = list(zip(target.elts, value.elts))  # `a, b = e1, e2`: element-wise
                else:
                    pairs = [(target, value)]
                for t, v in pairs:
                    linked = [*_target_names(t), *_identity_names(v)]
                    for name in linked[1:]:
                        self.union(linked[0], name)

    def find(self, x: str) -> str:
        while self.parent.get(x, x) != x:
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb

    def may_alias(self, a: str, b: str) -> bool:
        return a == b or self.find(a) == self.find(b)


def _is_list_annotation(node: ast.expr | None) -> bool:
    """`list[int]` or `List[int]` (read structurally: unparsing a hostile annotation can raise)."""
    return (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and node.value.id in ("list", "List") and isinstance(node.slice, ast.Name)
            and node.slice.id == "int")


def _target_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            yield from _target_names(elt)


def _always_returns(block: list[ast.stmt]) -> bool:
    """Whether every path through `block` ends in `return`."""
    if not block:
        return False
    last = block[-1]
    if isinstance(last, ast.Return):
        return True
    return isinstance(last, ast.If) and _always_returns(last.body) and _always_returns(last.orelse)


def _has_continue(stmt: ast.AST) -> bool:
    """A `continue` that belongs to the enclosing loop (not to a loop nested in `stmt`)."""
    if isinstance(stmt, ast.Continue):
        return True
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While, ast.FunctionDef, ast.AsyncFunctionDef,
                         ast.ClassDef)):
        return False
    return any(_has_continue(child) for child in ast.iter_child_nodes(stmt)
               if isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)))


def _negate(test: ast.expr) -> ast.expr:
    """The negation of a condition: flipped comparison (exact on ints), or `not (test)`."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _NEGATED:
        return _at(ast.Compare(left=test.left, ops=[_NEGATED[type(test.ops[0])]()],
                               comparators=test.comparators), test)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand
    return _at(ast.UnaryOp(op=ast.Not(), operand=test), test)


def _skip_continue(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """The rest of a loop body with `continue` replaced by branching: `if c: continue` followed
    by `rest` becomes `if not c: rest` (the rest goes into whichever branch does not continue)."""
    for k, stmt in enumerate(stmts):
        if isinstance(stmt, ast.Continue):
            return stmts[:k]  # what follows a `continue` never runs
        if _has_continue(stmt):
            break
    else:
        return stmts
    head, first, rest = stmts[:k], stmts[k], stmts[k + 1:]
    if not isinstance(first, ast.If):
        return stmts  # e.g. `continue` inside `try`: left for the checker to refuse
    body = _skip_continue(first.body + copy.deepcopy(rest))
    orelse = _skip_continue(first.orelse + copy.deepcopy(rest))
    if body:
        return [*head, _at(ast.If(test=first.test, body=body, orelse=orelse), first)]
    if orelse:
        return [*head, _at(ast.If(test=_negate(first.test), body=orelse, orelse=[]), first)]
    raise Refusal(first, "a `continue` that skips nothing (at the end of the loop body) has no "
                         "equivalent in the language; remove it")


def _hoist_final_else(body: list[ast.stmt]) -> list[ast.stmt]:
    """`if c: ...return` + `else: B` at the end of the function: `if c: ...return` then B."""
    while body and isinstance(body[-1], ast.If) and body[-1].orelse and _always_returns(body[-1].body):
        last = body[-1]
        body = [*body[:-1], _at(ast.If(test=last.test, body=last.body, orelse=[]), last), *last.orelse]
    return body


class _Substitute(ast.NodeTransformer):
    """Replace names by expressions, respecting (and refusing to capture in) nested comprehensions."""

    def __init__(self, mapping: dict[str, ast.expr]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if isinstance(node.ctx, ast.Load) and node.id in self.mapping:
            return _at(copy.deepcopy(self.mapping[node.id]), node)
        return node

    def _comprehension(self, node: ast.ListComp | ast.GeneratorExp) -> ast.AST:
        bound = {t for g in node.generators for t in _target_names(g.target)}
        node.generators[0].iter = self.visit(node.generators[0].iter)
        inner = {k: v for k, v in self.mapping.items() if k not in bound}
        if bound & _names_read(list(inner.values())):
            raise Refusal(node, "a nested comprehension rebinds a name the `zip`/`enumerate` "
                                "iterable reads; rename its variable")
        saved, self.mapping = self.mapping, inner
        try:
            node.elt = self.visit(node.elt)
            for k, gen in enumerate(node.generators):
                if k:
                    gen.iter = self.visit(gen.iter)
                gen.ifs = [self.visit(c) for c in gen.ifs]
        finally:
            self.mapping = saved
        return node

    visit_ListComp = _comprehension
    visit_GeneratorExp = _comprehension


class _Desugar(ast.NodeTransformer):
    """The rewrites, bottom-up: children first, then the node itself."""

    def __init__(self, fn: ast.FunctionDef) -> None:
        self.fn = fn
        self.user_names = {a.arg for a in fn.args.args} | _names_bound(fn.body)
        self.aliases = _Aliases(fn)
        self.hidden = 0

    def run(self) -> ast.FunctionDef:
        fn = self.fn
        fn.body = [s for stmt in fn.body for s in self._statements(self.visit(stmt))]
        fn.body = _hoist_final_else(fn.body)
        return fn

    @staticmethod
    def _statements(result: ast.AST | list | None) -> list:
        if result is None:
            return []
        return result if isinstance(result, list) else [result]

    def hidden_name(self, what: str) -> str:
        """A variable name no program can spell (it has spaces): canonicalisation renames it."""
        self.hidden += 1
        return f"{what} {self.hidden}"

    def builtin(self, node: ast.expr, *names: str) -> str | None:
        """The builtin `node` calls, if it is one of `names` and the program does not rebind it."""
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names
                and node.func.id not in self.user_names):
            return node.func.id
        return None

    # -- nested scopes are not rewritten (the checker refuses them) ---------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return node

    visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = visit_FunctionDef

    # -- expressions ------------------------------------------------------------------------

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if type(value) is int and MAX_CONST < value <= MAX_SPELLED_CONSTANT:
            return _at(_const(value), node)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        left, right = node.left, node.right
        # Fold a constant power before its operands are spelled out (`10 ** 9`).
        if isinstance(node.op, ast.Pow):
            base, exponent = _small_int(left), _small_int(right)
            if (base is not None and exponent is not None and 0 <= exponent <= 64
                    and abs(base) <= MAX_SPELLED_CONSTANT and isinstance(right, ast.Constant)):
                value = base**exponent
                if abs(value) <= MAX_SPELLED_CONSTANT:
                    return _at(_const(value), node)
        self.generic_visit(node)
        left, right = node.left, node.right
        if isinstance(node.op, ast.Pow):
            exponent = right.value if isinstance(right, ast.Constant) and type(right.value) is int else None
            if exponent in _MULTIPLIED_POWERS:
                product = left
                for _ in range(exponent - 1):
                    product = ast.BinOp(product, ast.Mult(), copy.deepcopy(left))
                return _at(product, node)
        if isinstance(node.op, ast.Mult):
            for items, count in ((left, right), (right, left)):
                if (isinstance(items, ast.List) and len(items.elts) == 1
                        and isinstance(items.elts[0], (ast.Name, ast.Constant))):
                    var = self.hidden_name("repeat")
                    return _at(_comprehension(items.elts[0], var, _call("range", count)), node)
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        sl = node.slice
        if isinstance(node.ctx, ast.Load) and isinstance(sl, ast.Slice):
            if _small_int(sl.step) == 1 and isinstance(sl.step, ast.Constant):
                sl.step = None
            if sl.lower is None and sl.upper is None and sl.step is None:
                sl.lower = _at(ast.Constant(0), node)
            stepped = self.stepped_slice(node)
            if stepped is not None:
                return _at(stepped, node)
        return node

    def stepped_slice(self, node: ast.Subscript) -> ast.expr | None:
        """`xs[s::k]` (constant s >= 0, k > 1) and `xs[::-k]` (k > 1) as comprehensions over the
        indices; other steps (with bounds Python clamps and wraps) are left to be refused."""
        sl, xs = node.slice, node.value
        k = _constant_value(sl.step)
        if k is None or k in (0, 1, -1) or sl.upper is not None or abs(k) > MAX_SPELLED_CONSTANT:
            return None
        var = self.hidden_name("slice")
        length = _call("len", copy.deepcopy(xs))
        if k > 0:  # indices s, s + k, ... below len(xs): ceil((len(xs) - s) / k) of them
            start = _constant_value(sl.lower) if sl.lower is not None else 0
            if start is None or start < 0:
                return None
            count = ast.UnaryOp(op=ast.USub(), operand=ast.BinOp(
                _minus(_const(start), length), ast.FloorDiv(), _const(k)))
            index = _plus(_const(start), ast.BinOp(_const(k), ast.Mult(), _name(var)))
        else:  # indices len(xs) - 1, len(xs) - 1 - m, ... down to 0
            if sl.lower is not None:
                return None
            m = -k
            count = ast.BinOp(ast.BinOp(length, ast.Add(), _const(m - 1)), ast.FloorDiv(), _const(m))
            index = ast.BinOp(ast.BinOp(_call("len", copy.deepcopy(xs)), ast.Sub(), ast.Constant(1)),
                              ast.Sub(), ast.BinOp(_const(m), ast.Mult(), _name(var)))
        elt = ast.Subscript(value=copy.deepcopy(xs), slice=index, ctx=ast.Load())
        return _comprehension(elt, var, _call("range", count))

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for k, op in enumerate(node.ops):
            if isinstance(op, (ast.In, ast.NotIn)):
                node.comparators[k] = self.as_list(node.comparators[k], "in")
        operands = [node.left, *node.comparators]
        pairs = [
            self._empty_list_compare(_at(ast.Compare(
                left=copy.deepcopy(operands[k]) if k else operands[k], ops=[op],
                comparators=[operands[k + 1]]), node))
            for k, op in enumerate(node.ops)
        ]
        if len(pairs) == 1:
            return pairs[0]
        return _at(ast.BoolOp(op=ast.And(), values=pairs), node)  # `a < b < c`: b is evaluated twice

    @staticmethod
    def _empty_list_compare(node: ast.Compare) -> ast.Compare:
        """`xs == []` -> `len(xs) == 0`; `xs != []` -> `len(xs) != 0` (either side)."""
        op = node.ops[0]
        if not isinstance(op, (ast.Eq, ast.NotEq)):
            return node
        left, right = node.left, node.comparators[0]
        for empty, other in ((right, left), (left, right)):
            if isinstance(empty, ast.List) and not empty.elts:
                return _at(_len_compare(other, type(op)()), node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute) and not node.keywords:
            if func.attr == "copy" and not node.args:
                return _at(_copy(func.value), node)
            counted = node.args[0] if len(node.args) == 1 else None
            if func.attr == "count" and isinstance(counted, (ast.Name, ast.Constant)):
                var = self.hidden_name("count")
                cond = ast.Compare(left=_name(var), ops=[ast.Eq()], comparators=[node.args[0]])
                return _at(_call("len", _comprehension(_name(var), var, func.value, cond)), node)
            return node
        fn = self.builtin(node, "list", "sorted", "len", "sum", "min", "max")
        if fn is None or any(isinstance(a, ast.Starred) for a in node.args):
            return node
        if fn in _CONSUMERS and len(node.args) == 1:
            node.args[0] = self.as_list(node.args[0], fn)
        if fn == "list" and not node.keywords and len(node.args) <= 1:
            if not node.args:
                return _at(ast.List(elts=[], ctx=ast.Load()), node)
            value = node.args[0]
            fresh = isinstance(value, (ast.ListComp, ast.List)) or self.builtin(value, "sorted") or (
                isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Slice))
            return value if fresh else _at(_copy(value), node)
        if fn == "sorted" and len(node.args) == 1 and len(node.keywords) == 1:
            kw = node.keywords[0]
            if kw.arg == "reverse" and isinstance(kw.value, ast.Constant) and type(kw.value.value) is bool:
                node.keywords = []
                return _at(_reverse(node), node) if kw.value.value else node
        if fn in ("min", "max"):
            if len(node.args) >= 3 and not node.keywords:
                folded = node.args[0]
                for arg in node.args[1:]:
                    folded = _at(_call(fn, folded, arg), node)
                return folded
            if (len(node.args) == 1 and len(node.keywords) == 1 and node.keywords[0].arg == "default"
                    and _is_constant_expression(node.keywords[0].value)):
                default = node.keywords[0].value
                node.keywords = []
                test = _len_compare(copy.deepcopy(node.args[0]), ast.NotEq())
                return _at(ast.IfExp(test=test, body=node, orelse=default), node)
        return node

    def as_list(self, node: ast.expr, where: str) -> ast.expr:
        """`node` as a list where it is consumed whole: `range(...)` as a comprehension,
        `reversed(e)` as `e[::-1]`, a generator expression as a list comprehension."""
        allowed = _CONSUMERS[where]
        if "range" in allowed and self.builtin(node, "range") and not node.keywords:
            return self.range_list(node) or node
        if ("reversed" in allowed and self.builtin(node, "reversed")
                and len(node.args) == 1 and not node.keywords):
            return _at(_reverse(self.as_list(node.args[0], "reversed")), node)
        if "generator" in allowed and isinstance(node, ast.GeneratorExp):
            return _at(ast.ListComp(elt=node.elt, generators=node.generators), node)
        return node

    def range_list(self, call: ast.Call) -> ast.expr | None:
        """`range(...)` as a list comprehension, or None if its step is not a constant."""
        args = call.args
        if not 1 <= len(args) <= 3 or any(isinstance(a, ast.Starred) for a in args):
            return None
        var = self.hidden_name("range")
        if len(args) == 3:
            stepped = self.stepped_range(call)
            if stepped is None or not isinstance(stepped, ast.ListComp):
                return None if stepped is None else _at(_comprehension(_name(var), var, stepped), call)
            return stepped
        return _at(_comprehension(_name(var), var, call), call)

    def stepped_range(self, call: ast.Call) -> ast.expr | None:
        """`range(a, b, k)` for a constant k: `range(a, b)` if k is 1, else a comprehension
        over a one-argument range that yields a, a + k, ... in the same order."""
        start, stop, step = call.args
        k = _constant_value(step)
        if k is None or k == 0 or abs(k) > MAX_SPELLED_CONSTANT:
            return None
        if k == 1:
            return _at(ast.Call(func=call.func, args=[start, stop], keywords=[]), call)
        var = self.hidden_name("range")
        a, a2 = start, copy.deepcopy(start)
        diff = _minus(a, stop)  # evaluates a, then b: the order range() does
        if k == -1:  # [a - j for j in range(a - b)]
            count, elt = diff, ast.BinOp(a2, ast.Sub(), _name(var))
        elif k > 1:  # [a + k * j for j in range(-((a - b) // k))]: ceil((b - a) / k) values
            count = ast.UnaryOp(op=ast.USub(), operand=ast.BinOp(diff, ast.FloorDiv(), _const(k)))
            elt = _plus(a2, ast.BinOp(_const(k), ast.Mult(), _name(var)))
        else:  # k = -m, m > 1: [a - m * j for j in range((a - b + (m - 1)) // m)]
            m = -k
            count = ast.BinOp(ast.BinOp(diff, ast.Add(), _const(m - 1)), ast.FloorDiv(), _const(m))
            elt = ast.BinOp(a2, ast.Sub(), ast.BinOp(_const(m), ast.Mult(), _name(var)))
        return _at(_comprehension(elt, var, _call("range", count)), call)

    def iterable(self, node: ast.expr) -> ast.expr:
        """A loop's or comprehension's iterable: stepped ranges and `reversed(...)`."""
        if self.builtin(node, "range") and len(node.args) == 3 and not node.keywords:
            return self.stepped_range(node) or node
        return self.as_list(node, "iter") if self.builtin(node, "reversed") else node

    def _zipped(
        self, node: ast.expr, target: ast.expr
    ) -> tuple[str, list[str], list[ast.expr], ast.expr | None] | None:
        """For `i, x in enumerate(e[, start])` / `x, y in zip(e1, e2)`: (builtin, target names,
        lists, the constant start of enumerate's count or None)."""
        fn = self.builtin(node, "enumerate", "zip")
        if fn is None or not isinstance(target, (ast.Tuple, ast.List)):
            return None
        args = list(node.args)
        if fn == "enumerate" and len(args) == 1 and [k.arg for k in node.keywords] == ["start"]:
            args.append(node.keywords[0].value)  # enumerate(xs, start=1)
        elif node.keywords:
            return None
        names = [t.id for t in target.elts if isinstance(t, ast.Name)]
        if len(names) != len(target.elts) or len(set(names)) != len(names):
            return None
        if any(isinstance(a, ast.Starred) for a in args):
            return None
        start = None
        if fn == "enumerate":
            # A start is evaluated once, before the list is read: only a constant keeps that.
            if len(args) == 2:
                if not _is_constant_expression(args[1]):
                    raise Refusal(node, "`enumerate`'s start must be an int constant here (it is "
                                        "evaluated once, before the list is read)")
                args, start = args[:1], (args[1] if _constant_value(args[1]) != 0 else None)
            if len(args) != 1 or len(names) != 2:
                return None
        if fn == "zip" and (len(args) < 2 or len(names) != len(args)):
            return None
        return fn, names, [self.as_list(a, "zip") for a in args], start

    @staticmethod
    def _count(fn: str, lists: list[ast.expr]) -> ast.expr:
        """How many tuples `enumerate`/`zip` yield: `len(e)` or `min(len(e1), len(e2), ...)`."""
        count: ast.expr = _call("len", copy.deepcopy(lists[0]))
        for other in lists[1:]:
            count = _call("min", count, _call("len", copy.deepcopy(other)))
        return count

    def _comprehension_node(self, node: ast.ListComp | ast.GeneratorExp) -> ast.AST:
        self.generic_visit(node)
        if len(node.generators) != 1:
            return node
        gen = node.generators[0]
        zipped = self._zipped(gen.iter, gen.target)
        if zipped is None:
            gen.iter = self.iterable(gen.iter)
            return node
        fn, names, lists, start = zipped
        var = self.hidden_name(fn)
        mapping: dict[str, ast.expr] = {}
        if fn == "enumerate":
            mapping[names[0]] = ast.BinOp(_name(var), ast.Add(), start) if start else _name(var)
            names = names[1:]
        for name, lst in zip(names, lists):
            mapping[name] = ast.Subscript(value=lst, slice=_name(var), ctx=ast.Load())
        sub = _Substitute(mapping)
        node.elt = sub.visit(node.elt)
        gen.ifs = [sub.visit(c) for c in gen.ifs]
        gen.target = _at(_name(var, store=True), gen.target)
        gen.iter = _at(_call("range", self._count(fn, lists)), gen.iter)
        return node

    visit_ListComp = _comprehension_node
    visit_GeneratorExp = _comprehension_node

    # -- statements -------------------------------------------------------------------------

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        node.body = _skip_continue(node.body)
        zipped = self._zipped(node.iter, node.target)
        if zipped is None:
            node.iter = self.iterable(node.iter)
            return node
        fn, names, lists, start = zipped
        read = _names_read(lists)
        changed = _names_bound(node.body) | set(names)
        mutated = _lists_mutated(node.body)
        for name in sorted(read):
            if name in changed or any(self.aliases.may_alias(name, m) for m in mutated):
                raise Refusal(node, f"`{fn}` over a list that the loop body changes (`{name}`) has no "
                                    "equivalent in the language; loop over `range(len(...))` instead")
        prefix: list[ast.stmt] = []
        if fn == "enumerate" and start is None:
            index, names = names[0], names[1:]
        elif fn == "enumerate":  # `i = j + start` for a hidden index j
            index = self.hidden_name("enumerate")
            prefix.append(ast.Assign(targets=[_name(names[0], store=True)],
                                     value=ast.BinOp(_name(index), ast.Add(), start)))
            names = names[1:]
        else:
            index = self.hidden_name("zip")
        prefix += [
            ast.Assign(targets=[_name(name, store=True)],
                       value=ast.Subscript(value=copy.deepcopy(lst), slice=_name(index), ctx=ast.Load()))
            for name, lst in zip(names, lists)
        ]
        loop = ast.For(target=_name(index, store=True), iter=_call("range", self._count(fn, lists)),
                       body=[_at(s, node) for s in prefix] + node.body, orelse=node.orelse)
        return _at(loop, node)

    def visit_Assign(self, node: ast.Assign) -> ast.AST | list[ast.stmt]:
        self.generic_visit(node)
        if len(node.targets) > 1 and all(isinstance(t, ast.Name) for t in node.targets):
            # `a = b = e`: a = e, then b = a (one object, as in Python: assigned left to right);
            # a constant is simply repeated (`a = 0; b = 0`).
            first = node.targets[0]
            out = [ast.Assign(targets=[first], value=node.value)]
            for t in node.targets[1:]:
                value = node.value if _is_constant_expression(node.value) else _name(first.id)
                out.append(ast.Assign(targets=[t], value=copy.deepcopy(value)))
            return [_at(s, node) for s in out]
        target = node.targets[0]
        if (len(node.targets) == 1 and isinstance(target, (ast.Tuple, ast.List))
                and isinstance(node.value, (ast.Tuple, ast.List))
                and len(target.elts) == len(node.value.elts) >= 1
                and all(isinstance(t, ast.Name) for t in target.elts)
                and not any(isinstance(v, ast.Starred) for v in node.value.elts)):
            return self._unpack([t.id for t in target.elts], node.value.elts, node)
        return node

    def _unpack(self, names: list[str], values: list[ast.expr], node: ast.Assign) -> ast.AST | list:
        """`a, b = e1, e2`: in sequence when no value reads an earlier target, else through
        temporaries (`a, b = b, a + b` -> `t = b; b = a + b; a = t`)."""
        if all(not _names_read(v) & set(names[:k]) for k, v in enumerate(values)):
            out = [ast.Assign(targets=[_name(n, store=True)], value=v) for n, v in zip(names, values)]
        elif len(set(names)) == len(names):
            temps = [self.hidden_name("value") for _ in names[:-1]]
            out = [ast.Assign(targets=[_name(t, store=True)], value=v) for t, v in zip(temps, values)]
            out.append(ast.Assign(targets=[_name(names[-1], store=True)], value=values[-1]))
            out += [ast.Assign(targets=[_name(n, store=True)], value=_name(t)) for n, t in zip(names, temps)]
        else:
            return node
        return [_at(s, node) for s in out]

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        self.generic_visit(node)
        if node.value is None or not isinstance(node.target, ast.Name):
            return node
        assign = _at(ast.Assign(targets=[node.target], value=node.value), node)
        assign.astae_annotation = node.annotation  # checked against the value's type
        return assign

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        self.generic_visit(node)
        call = node.value
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == "extend" and isinstance(call.func.value, ast.Name)
                and len(call.args) == 1 and not call.keywords
                and not isinstance(call.args[0], ast.Starred)):
            target = _name(call.func.value.id, store=True)
            return _at(ast.AugAssign(target=target, op=ast.Add(), value=self.as_list(call.args[0], "extend")),
                       node)
        return node
