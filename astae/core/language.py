"""The program language: static checker, canonical form and conversion to actions.

A source program is accepted when it converts to an action sequence that the
derivation state machine (`derivation.replay`) accepts; the canonical source is
what that derivation prints. So the checker, the canonicaliser and the decoder's
targets are one mechanism, and the language is exactly what the grammar derives.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

from astae.core.derivation import DerivationState, IllegalAction, replay, tree_depth
from astae.core.errors import NamesParameters
from astae.core.grammar import (
    BUILTINS,
    GRAMMAR,
    MAX_CONST,
    MAX_LOCALS,
    MAX_PARAMS,
    MIN_CONST,
    TYPE_SOURCE,
    Signature,
)
from astae.core.idioms import Refusal, desugar

MAX_NESTING = 60


class LanguageError(NamesParameters, ValueError):
    """A program outside the language; the message names the construct and its line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line
        self.reason = message


@dataclass(frozen=True)
class Program:
    """A checked program in canonical form with its action sequence."""

    source: str
    actions: tuple[int, ...]
    signature: Signature
    depth: int
    name: str = "program"
    line: int = 1

    @property
    def num_actions(self) -> int:
        """Length of the action sequence."""
        return len(self.actions)


_BINOP_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Mod: "%"}
_CMP_SYMBOL = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.In: "in", ast.NotIn: "not in",
}
_RESERVED = set(BUILTINS) | {"True", "False", "None"}
# Why an operator is refused, for the ones people reach for.
_OPERATOR_HINT = {
    ast.Pow: "operator `**` is not in the language (only `e ** 2`, `e ** 3` and constant powers "
             "up to 2**31)",
    ast.Div: "operator `/` (float division) is not in the language; use `//`",
}
# Why a call is refused, for functions people reach for.
_CALL_HINT = {
    "reversed": "`reversed(xs)` is only in the language as a loop's iterable or the argument of "
                "`list`, `sorted`, `sum`, `min` or `max`",
    "enumerate": "`enumerate(xs)` is only in the language as the iterable of a `for` loop or "
                 "comprehension with two names (`for i, x in enumerate(xs)`)",
    "zip": "`zip(xs, ys)` is only in the language as the iterable of a `for` loop or "
           "comprehension with one name per list (`for x, y in zip(xs, ys)`)",
    "list": "`list(e)` takes one list, `range(...)` or generator expression",
    "any": "call of `any` is not in the language (its short-circuit has no equivalent); "
           "write a loop with an early `return`",
    "all": "call of `all` is not in the language (its short-circuit has no equivalent); "
           "write a loop with an early `return`",
}
# What to write instead, for the list methods people reach for.
_METHOD_HINT = {
    "sort": "in-place sorting has no equivalent (another name may share the list): "
            "write `xs = sorted(xs)`",
    "reverse": "in-place reversal has no equivalent (another name may share the list): "
               "write `xs = xs[::-1]`",
    "pop": "lists only grow: use indexing and slices",
    "remove": "lists only grow: build a filtered list",
    "insert": "build the list with slices and `+`",
    "index": "it raises when the value is absent: write a loop with an early `return`",
}
# Annotations accepted besides TYPE_SOURCE's (`from typing import List`).
_ANNOTATION_ALIASES = {"List[int]": "list"}

# Constructs with no place in the language, by AST class: the name users see.
_CONSTRUCT = {
    "While": "`while` loop", "Import": "`import`", "ImportFrom": "`import`",
    "Lambda": "`lambda`", "ClassDef": "class definition", "FunctionDef": "nested function",
    "AsyncFunctionDef": "async function", "Try": "`try`", "TryStar": "`try`", "With": "`with`",
    "AsyncWith": "`async with`", "AsyncFor": "`async for`", "Raise": "`raise`",
    "Assert": "`assert`", "Delete": "`del`", "Global": "`global`", "Nonlocal": "`nonlocal`",
    "Pass": "`pass`", "Break": "`break`", "Continue": "`continue`", "Match": "`match`",
    "Dict": "dict", "Set": "set", "Tuple": "tuple", "DictComp": "dict comprehension",
    "SetComp": "set comprehension", "GeneratorExp": "generator expression",
    "Await": "`await`", "Yield": "`yield`", "YieldFrom": "`yield from`",
    "JoinedStr": "f-string", "FormattedValue": "f-string", "NamedExpr": "`:=` expression",
    "Starred": "starred expression", "AnnAssign": "annotation without a value",
    "Attribute": "attribute access", "TypeAlias": "type alias",
}


def _fail(node: ast.AST | None, message: str) -> LanguageError:
    return LanguageError(message, getattr(node, "lineno", None))


def _not_in_language(node: ast.AST) -> LanguageError:
    what = _CONSTRUCT.get(type(node).__name__, f"`{type(node).__name__}`")
    return _fail(node, f"{what} is not in the language")


class _Converter:
    """One function's Python AST -> actions, in derivation order, with types and lines."""

    def __init__(self, truthiness: bool = True) -> None:
        self.truthiness = truthiness  # read an int or list condition as `e != 0`, `len(e) != 0`
        self.g = GRAMMAR
        self.actions: list[int] = []
        self.lines: list[int] = []
        self.names: dict[int, str] = {}  # variable index -> the user's name
        self.types: dict[int, str] = {}
        self.function_scope: dict[str, int] = {}
        self.comprehension_scopes: list[dict[str, int]] = []
        self.num_locals = 0
        self.depth = 0

    # -- emitting ------------------------------------------------------------------

    def emit(self, node: ast.AST, action: int) -> None:
        self.actions.append(action)
        self.lines.append(getattr(node, "lineno", 0))

    def emit_production(self, node: ast.AST, lhs: str, kind: str, arg=None, arity=None) -> None:
        self.emit(node, self.g.production(lhs, kind, arg, arity))

    def declare(self, node: ast.AST, name: str, type_: str, function_scope: bool) -> int:
        if self.num_locals >= MAX_LOCALS:
            raise _fail(node, f"more than {MAX_LOCALS} variables")
        j = MAX_PARAMS + self.num_locals
        self.num_locals += 1
        self.names[j], self.types[j] = name, type_
        if function_scope:
            self.function_scope[name] = j
        self.emit(node, self.g.new_action)
        return j

    def resolve(self, node: ast.Name) -> int:
        for scope in reversed(self.comprehension_scopes):
            if node.id in scope:
                return scope[node.id]
        if node.id in self.function_scope:
            return self.function_scope[node.id]
        if node.id in BUILTINS:
            raise _fail(node, f"builtin `{node.id}` can only be called")
        raise _fail(node, f"name `{node.id}` is not defined")

    def check_name(self, node: ast.AST, name: str) -> None:
        if name.startswith("__"):
            raise _fail(node, f"dunder name `{name}` is not allowed")
        if name in _RESERVED:
            raise _fail(node, f"name `{name}` shadows a builtin")

    # -- the function ----------------------------------------------------------------

    def function(self, fn: ast.FunctionDef) -> Signature:
        a = fn.args
        if a.posonlyargs or a.vararg or a.kwonlyargs or a.kwarg or a.defaults:
            raise _fail(fn, "parameters must be plain positional parameters without defaults")
        if fn.decorator_list:
            raise _fail(fn, "decorators are not in the language")
        if not 1 <= len(a.args) <= MAX_PARAMS:
            raise _fail(fn, f"a program takes 1 to {MAX_PARAMS} parameters, not {len(a.args)}")
        params = []
        for j, arg in enumerate(a.args):
            self.check_name(arg, arg.arg)
            if arg.arg in self.function_scope:
                raise _fail(arg, f"duplicate parameter `{arg.arg}`")
            params.append(self.annotation(arg.annotation, arg, f"parameter `{arg.arg}`"))
            self.function_scope[arg.arg] = j
            self.names[j], self.types[j] = arg.arg, params[-1]
        if any(t == "bool" for t in params):
            raise _fail(fn, "parameters are `int` or `list[int]`")
        returns = self.annotation(fn.returns, fn, "the return type")
        if returns == "bool":
            raise _fail(fn, "a program returns `int` or `list[int]`")
        sig = Signature(tuple(params), returns)
        self.emit_production(fn, "Program", "function", sig)
        body = fn.body
        if body and _is_docstring(body[0]) and len(body) > 1:
            body = body[1:]
        self.statements(body, f"Body:{returns}", returns, fn)
        return sig

    def annotation(self, node: ast.expr | None, owner: ast.AST, what: str) -> str:
        if node is None:
            raise _fail(owner, f"{what} needs a type annotation (`int` or `list[int]`)")
        text = _unparse(node)
        for type_, source in TYPE_SOURCE.items():
            if text == source:
                return type_
        if text in _ANNOTATION_ALIASES:
            return _ANNOTATION_ALIASES[text]
        raise _fail(node, f"{what} has type `{text}`; the language has `int` and `list[int]`")

    # -- statements ------------------------------------------------------------------

    def statements(self, stmts: list[ast.stmt], lhs: str, ret: str, owner: ast.AST) -> None:
        """A statement list as the chain Body/Block/More -> stmt ... -> return|end."""
        kind, _, _ = lhs.partition(":")
        if not stmts:
            raise _fail(owner, "empty block")
        for i, stmt in enumerate(stmts):
            last = i == len(stmts) - 1
            if isinstance(stmt, ast.Return):
                if not last:
                    raise _fail(stmts[i + 1], "unreachable statement after `return`")
                self.emit_production(stmt, lhs, "return")
                if stmt.value is None:
                    raise _fail(stmt, "`return` needs a value")
                self.expr(stmt.value, ret)
                return
            self.emit_production(stmt, lhs, "stmt")
            self.statement(stmt, ret)
            lhs = f"More:{ret}" if kind != "Body" else lhs
        if kind == "Body":
            raise _fail(stmts[-1], "the function body must end with `return`")
        self.emit_production(stmts[-1], lhs, "end")

    def statement(self, stmt: ast.stmt, ret: str) -> None:
        lhs = f"Stmt:{ret}"
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Subscript):
                raise _fail(stmt, "item assignment `xs[i] = ...` is not in the language "
                                  "(build lists with `append`, `+` and slices)")
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                raise _fail(stmt, "assignment must have a single variable target")
            self.assign(stmt, stmt.targets[0], stmt.value, lhs)
        elif isinstance(stmt, ast.AugAssign):
            self.augassign(stmt, lhs)
        elif isinstance(stmt, ast.Expr):
            self.append(stmt, lhs)
        elif isinstance(stmt, ast.For):
            if stmt.orelse:
                raise _fail(stmt, "`for ... else` is not in the language")
            if not isinstance(stmt.target, ast.Name):
                raise _fail(stmt, "a `for` loop variable must be a single name (or `i, x` over "
                                  "`enumerate(xs)`, `x, y` over `zip(xs, ys)`)")
            self.emit_production(stmt, lhs, "for")
            self.target(stmt.target, "int", stmt)
            self.iterable(stmt.iter)
            self.statements(stmt.body, f"Block:{ret}", ret, stmt)
        elif isinstance(stmt, ast.If):
            self.emit_production(stmt, lhs, "if")
            self.expr(stmt.test, "bool", what="an `if` condition", test=True)
            self.statements(stmt.body, f"Block:{ret}", ret, stmt)
            if stmt.orelse:
                self.emit_production(stmt.orelse[0], f"Else:{ret}", "else")
                self.statements(stmt.orelse, f"Block:{ret}", ret, stmt)
            else:
                self.emit_production(stmt, f"Else:{ret}", "no_else")
        else:
            raise _not_in_language(stmt)

    def assign(self, stmt: ast.stmt, target: ast.Name, value: ast.expr, lhs: str) -> None:
        start = len(self.actions)
        self.emit(stmt, -1)  # the production depends on the value's type: patched below
        self.check_name(target, target.id)
        existing = self.function_scope.get(target.id)
        if existing is None:
            j = self.declare(target, target.id, "?", function_scope=True)
        else:
            j = existing
            self.emit(target, self.g.var_action(j))
        type_ = self.expr(value, None)
        declared = getattr(stmt, "astae_annotation", None)  # `x: int = e` (idioms.desugar)
        if declared is not None:
            annotated = self.annotation(declared, stmt, f"variable `{target.id}`")
            if annotated != type_:
                raise _fail(stmt, f"variable `{target.id}` is annotated {TYPE_SOURCE[annotated]} "
                                  f"but is assigned {TYPE_SOURCE[type_]}")
        if existing is None:
            self.types[j] = type_
        elif self.types[j] != type_:
            raise _fail(
                stmt,
                f"variable `{target.id}` is {TYPE_SOURCE[self.types[j]]} "
                f"but is assigned {TYPE_SOURCE[type_]}",
            )
        self.actions[start] = self.g.production(lhs, "assign", type_)

    def target(self, node: ast.Name, type_: str, owner: ast.AST) -> None:
        self.check_name(node, node.id)
        j = self.function_scope.get(node.id)
        if j is None:
            self.declare(node, node.id, type_, function_scope=True)
            return
        if self.types[j] != type_:
            have = TYPE_SOURCE[self.types[j]]
            raise _fail(owner, f"loop variable `{node.id}` is {have}, not int")
        self.emit(node, self.g.var_action(j))

    def augassign(self, stmt: ast.AugAssign, lhs: str) -> None:
        if not isinstance(stmt.target, ast.Name):
            raise _fail(stmt, "augmented assignment must target a variable")
        op = _BINOP_SYMBOL.get(type(stmt.op))
        if op is None:
            raise _operator_error(stmt, stmt.op)
        j = self.resolve(stmt.target)
        type_ = self.types[j]
        if type_ == "bool" or (type_ == "list" and op != "+"):
            raise _fail(stmt, f"`{op}=` is not defined for {TYPE_SOURCE[type_]}")
        if type_ == "list":
            self.emit_production(stmt, lhs, "extend")
        else:
            self.emit_production(stmt, lhs, "augassign", op)
        self.emit(stmt.target, self.g.var_action(j))
        self.expr(stmt.value, type_)

    def append(self, stmt: ast.Expr, lhs: str) -> None:
        call = stmt.value
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "append"
            and isinstance(call.func.value, ast.Name)
        ):
            self.expr(call, None)  # reports what is not in the language, if anything
            raise _fail(stmt, "an expression statement must be `v.append(e)`")
        if call.keywords or len(call.args) != 1:
            raise _fail(call, "`append` takes exactly one argument")
        j = self.resolve(call.func.value)
        if self.types[j] != "list":
            raise _fail(call, f"`append` needs a list[int] variable, `{call.func.value.id}` is not")
        self.emit_production(stmt, lhs, "append")
        self.emit(call.func.value, self.g.var_action(j))
        self.expr(call.args[0], "int")

    def iterable(self, node: ast.expr) -> None:
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Name) and func.id == "range":
            if len(node.args) == 3 and not node.keywords:
                raise _fail(node, "a `range` step must be a nonzero int constant")
            if node.keywords or not 1 <= len(node.args) <= 2:
                raise _fail(node, "`range` takes one to three arguments")
            self.emit_production(node, "Iter", "range", None, len(node.args))
            for arg in node.args:
                self.expr(arg, "int")
            return
        self.emit_production(node, "Iter", "over")
        self.expr(node, "list", what="a loop's iterable")

    # -- expressions -----------------------------------------------------------------

    def expr(
        self, node: ast.expr, expected: str | None, what: str = "this expression", test: bool = False
    ) -> str:
        """Emit the actions of `node`; return its type (checked against `expected`).

        `test`: `node` is a condition (of `if`, a conditional, a comprehension, or an operand of
        `and`/`or`/`not` there), where an int or list means its truth value: `e != 0`,
        `len(e) != 0`."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _fail(node, f"expression nested more than {MAX_NESTING} levels deep")
        start = len(self.actions)
        self.emit(node, -1)  # the production, patched once the operands' types are known
        lhs, kind, arg, arity, type_ = self._expr(node, test)
        nt = {"int": "Int", "bool": "Bool", "list": "List"}[type_]
        self.actions[start] = self.g.production(lhs or nt, kind, arg, arity)
        self.depth -= 1
        if test and self.truthiness and type_ != "bool":
            self.compare_with_zero(node, start, type_, "!=")
            type_ = "bool"
        if expected is not None and type_ != expected:
            raise _fail(
                node,
                f"type mismatch: {what} must be {TYPE_SOURCE[expected]}, "
                f"`{_unparse(node)}` is {TYPE_SOURCE[type_]}",
            )
        return type_

    def compare_with_zero(self, node: ast.expr, start: int, type_: str, op: str) -> None:
        """Turn the int or list expression emitted from `start` on into `e <op> 0` or
        `len(e) <op> 0` (pre-order: the comparison's actions go before the operand's)."""
        prefix = [self.g.production("Bool", "compare", op, 2)]
        if type_ == "list":
            prefix.append(self.g.production("Int", "call", "len", 1))
        # Every action after `start` belongs to the finished operand: no pending patch moves.
        self.actions[start:start] = prefix
        self.lines[start:start] = [getattr(node, "lineno", 0)] * len(prefix)
        self.emit_production(node, "Int", "const", 0, 0)

    def _expr(self, node: ast.expr, test: bool = False) -> tuple[str | None, str, object, int, str]:
        """Emit the children of `node`; return (lhs, kind, arg, arity, type)."""
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            j = self.resolve(node)
            if self.types[j] == "?":  # `x = x`: read in the value of its own first assignment
                raise _fail(node, f"variable `{node.id}` may be used before it is assigned")
            self.emit(node, self.g.var_action(j))
            return None, "var", None, 1, self.types[j]
        if isinstance(node, ast.BinOp):
            op = _BINOP_SYMBOL.get(type(node.op))
            if op is None:
                raise _operator_error(node, node.op)
            left = self.expr(node.left, None)
            right = self.expr(node.right, None)
            if left == right == "int" or (left == right == "list" and op == "+"):
                return None, "binop", op, 2, left
            raise _fail(
                node,
                f"type mismatch: `{op}` is not defined for "
                f"{TYPE_SOURCE[left]} and {TYPE_SOURCE[right]}",
            )
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                self.expr(node.operand, "int", what="the operand of unary `-`")
                return None, "neg", None, 1, "int"
            if isinstance(node.op, ast.Not):
                start = len(self.actions)
                # An `and`/`or` operand is a condition; any other operand keeps its type.
                operand = self.expr(node.operand, None if self.truthiness else "bool",
                                    what="the operand of `not`", test=isinstance(node.operand, ast.BoolOp))
                if operand == "bool":
                    return None, "not", None, 1, "bool"
                # `not n` on an int is `n == 0`; `not xs` on a list is `len(xs) == 0`.
                if operand == "list":
                    self.actions.insert(start, self.g.production("Int", "call", "len", 1))
                    self.lines.insert(start, getattr(node, "lineno", 0))
                self.emit_production(node, "Int", "const", 0, 0)
                return None, "compare", "==", 2, "bool"
            raise _fail(node, f"unary operator `{type(node.op).__name__}` is not in the language")
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            # `a and b and c` is one n-ary node in Python: fold it to the left.
            for value in node.values[:-2]:
                del value
                self.emit_production(node, "Bool", "boolop", op)
            for value in node.values:
                self.expr(value, "bool", what=f"an operand of `{op}`", test=test)
            return None, "boolop", op, 2, "bool"
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            self.expr(node.test, "bool", what="a conditional's condition", test=True)
            body = self.expr(node.body, None)
            if body == "bool":
                raise _fail(node, "a conditional expression must be int or list[int], not bool")
            self.expr(node.orelse, body, what="the `else` branch of a conditional")
            return None, "ifexp", None, 3, body
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.List):
            for elt in node.elts:
                self.emit_production(elt, "Elems", "cons")
                self.expr(elt, "int", what="a list element")
            self.emit_production(node, "Elems", "nil")
            return None, "literal", None, 1, "list"
        if isinstance(node, ast.Attribute):
            raise _attribute_error(node)
        if isinstance(node, ast.ListComp):
            return self.comprehension(node)
        raise _not_in_language(node)

    def constant(self, node: ast.Constant) -> tuple[str | None, str, object, int, str]:
        value = node.value
        if isinstance(value, bool):
            return None, "const", value, 0, "bool"
        if isinstance(value, int):
            if not MIN_CONST <= value <= MAX_CONST:
                # str() of a huge int raises ValueError (Python's int digit limit): not in messages.
                shown = value if value.bit_length() <= 64 else f"of {value.bit_length()} bits"
                raise _fail(
                    node, f"int constant {shown} is out of range (-{MAX_CONST}..{MAX_CONST})"
                )
            return None, "const", value, 0, "int"
        kind = {str: "string", float: "float", complex: "complex", bytes: "bytes"}.get(
            type(value), repr(value)
        )
        raise _fail(node, f"{kind} constant is not in the language")

    def compare(self, node: ast.Compare) -> tuple[str | None, str, object, int, str]:
        if len(node.ops) != 1:
            raise _fail(node, "chained comparison is not in the language")
        op = _CMP_SYMBOL.get(type(node.ops[0]))
        if op is None:
            raise _fail(node, f"comparison `{type(node.ops[0]).__name__}` is not in the language")
        left = self.expr(node.left, None)
        if left != "int":
            if left == "list" and op in ("==", "!="):
                raise _fail(node, f"comparing lists with `{op}` is not in the language "
                                  f"(except with `[]`: `xs {op} []`)")
            raise _fail(
                node.left,
                f"type mismatch: the left operand of `{op}` must be int, "
                f"`{_unparse(node.left)}` is {TYPE_SOURCE[left]}",
            )
        right = "list" if op in ("in", "not in") else "int"
        self.expr(node.comparators[0], right, what=f"the right operand of `{op}`")
        return None, "compare", op, 2, "bool"

    def call(self, node: ast.Call) -> tuple[str | None, str, object, int, str]:
        if isinstance(node.func, ast.Attribute):
            raise _attribute_error(node.func)
        if not isinstance(node.func, ast.Name):
            if type(node.func).__name__ in _CONSTRUCT:
                raise _not_in_language(node.func)
            raise _fail(node, "only calls of the builtins are in the language")
        fn = node.func.id
        if fn not in BUILTINS:
            raise _fail(node, _CALL_HINT.get(fn, f"call of `{fn}` is not in the language"))
        if fn == "range":
            raise _fail(node, "`range` is only allowed as a loop's iterable")
        if node.keywords:
            raise _fail(node, f"keyword arguments to `{fn}` are not in the language")
        n = len(node.args)
        if fn in ("min", "max") and n == 2:
            for arg in node.args:
                self.expr(arg, "int", what=f"an argument of `{fn}`")
            return "Int", "call", fn, 2, "int"
        if n != 1:
            raise _fail(node, f"`{fn}` takes one argument here, not {n}")
        if fn == "abs":
            self.expr(node.args[0], "int", what="the argument of `abs`")
            return "Int", "call", fn, 1, "int"
        self.expr(node.args[0], "list", what=f"the argument of `{fn}`")
        return ("List" if fn == "sorted" else "Int"), "call", fn, 1, (
            "list" if fn == "sorted" else "int"
        )

    def subscript(self, node: ast.Subscript) -> tuple[str | None, str, object, int, str]:
        sl = node.slice
        if not isinstance(sl, ast.Slice):
            self.expr(node.value, "list", what="an indexed value")
            self.expr(sl, "int", what="an index")
            return "Int", "index", None, 2, "int"
        if sl.step is not None:
            if not (sl.lower is None and sl.upper is None and _is_minus_one(sl.step)):
                raise _fail(node, "slices with a step other than `[::-1]` are not in the language")
            self.expr(node.value, "list", what="a reversed value")
            return "List", "reverse", None, 1, "list"
        if sl.lower is None and sl.upper is None:
            raise _fail(node, "the full slice `[:]` is not in the language")
        bound = "both" if sl.lower is not None and sl.upper is not None else (
            "lower" if sl.lower is not None else "upper"
        )
        self.expr(node.value, "list", what="a sliced value")
        for b in (sl.lower, sl.upper):
            if b is not None:
                self.expr(b, "int", what="a slice bound")
        return "List", "slice", bound, 3 if bound == "both" else 2, "list"

    def comprehension(self, node: ast.ListComp) -> tuple[str | None, str, object, int, str]:
        if len(node.generators) != 1:
            raise _fail(node, "a list comprehension has exactly one `for`")
        gen = node.generators[0]
        if gen.is_async:
            raise _fail(node, "async comprehension is not in the language")
        if len(gen.ifs) > 1:
            raise _fail(node, "a list comprehension has at most one `if`")
        if not isinstance(gen.target, ast.Name):
            raise _fail(node, "a comprehension variable must be a single name (or `i, x` over "
                              "`enumerate(xs)`, `x, y` over `zip(xs, ys)`)")
        self.check_name(gen.target, gen.target.id)
        j = self.declare(gen.target, gen.target.id, "int", function_scope=False)
        self.iterable(gen.iter)
        self.comprehension_scopes.append({gen.target.id: j})
        if gen.ifs:
            self.expr(gen.ifs[0], "bool", what="a comprehension's condition", test=True)
        self.expr(node.elt, "int", what="a comprehension's element")
        self.comprehension_scopes.pop()
        return "List", "comprehension", "if" if gen.ifs else None, 4 if gen.ifs else 3, "list"


def _unparse(node: ast.AST, limit: int = 80) -> str:
    """Source text of a node for an error message: shortened, and never raising."""
    try:
        text = ast.unparse(node)
    except (ValueError, RecursionError):  # huge int literals, absurd nesting
        return "..."
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _operator_error(node: ast.AST, op: ast.operator) -> LanguageError:
    hint = _OPERATOR_HINT.get(type(op))
    return _fail(node, hint or f"operator `{type(op).__name__}` is not in the language")


def _attribute_error(node: ast.Attribute) -> LanguageError:
    if node.attr.startswith("__"):
        return _fail(node, f"dunder attribute access `.{node.attr}` is not allowed")
    hint = f"; {_METHOD_HINT[node.attr]}" if node.attr in _METHOD_HINT else ""
    return _fail(
        node, f"attribute access `.{node.attr}` is not in the language (only `v.append(e)`){hint}"
    )


def _is_minus_one(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and node.operand.value == 1
        and not isinstance(node.operand.value, bool)
    )


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _parse_module(source: str) -> ast.Module:
    try:
        with warnings.catch_warnings():  # e.g. invalid escapes in strings, which are refused anyway
            warnings.simplefilter("ignore")
            return ast.parse(source)
    except SyntaxError as e:
        raise LanguageError(f"syntax error: {e.msg}", e.lineno) from None
    except ValueError as e:  # NUL bytes
        line = source[: source.find("\0")].count("\n") + 1 if "\0" in source else None
        raise LanguageError(f"cannot parse the source: {e}", line) from None
    except (RecursionError, MemoryError):
        raise LanguageError("the program is nested too deeply to parse") from None


def program_from_function(fn: ast.stmt, idioms: bool = True) -> Program:
    """Check and canonicalise one top-level function definition (`idioms`: rewrite them first)."""
    sig, state = _derive(fn, idioms)
    try:
        source, depth = state.to_source(), tree_depth(state.tree())
    except RecursionError:  # deep blocks printed from an already deep call stack
        raise _fail(fn, "the program is nested too deeply") from None
    return Program(
        source=source,
        actions=tuple(state.actions),
        signature=sig,
        depth=depth,
        name=fn.name,
        line=fn.lineno,
    )


def _derive(fn: ast.stmt, idioms: bool = True) -> tuple[Signature, DerivationState]:
    """Convert a function to actions and replay them: the checker proper.

    The function is converted as written first: a program of the grammar (every canonical
    one) needs no rewriting. Only if that fails, and `idioms` is set, are the idioms people
    write rewritten (`idioms.desugar`, which touches only constructs the grammar lacks) and
    the result converted; its verdict is the answer."""
    if not isinstance(fn, ast.FunctionDef):
        raise _fail(fn, f"only function definitions are allowed at top level, not {_describe(fn)}")
    try:
        return _convert(fn, truthiness=idioms)
    except LanguageError:
        if not idioms:
            raise
        try:
            rewritten = desugar(fn)
        except Refusal as e:
            raise _fail(e.node, e.message) from None
        except RecursionError:
            raise _fail(fn, "the program is nested too deeply") from None
        if rewritten is fn:  # no idiom to rewrite: the first verdict stands
            raise
    return _convert(rewritten)


def _convert(fn: ast.FunctionDef, truthiness: bool = True) -> tuple[Signature, DerivationState]:
    conv = _Converter(truthiness)
    try:
        sig = conv.function(fn)
        state = replay(conv.actions)
    except RecursionError:
        raise _fail(fn, "the program is nested too deeply") from None
    except IllegalAction as e:
        line = conv.lines[e.step] if e.step < len(conv.lines) else fn.lineno
        if e.frontier.startswith("Use:"):
            name = conv.names.get(e.action - GRAMMAR.var_base, "?")
            raise LanguageError(
                f"variable `{name}` may be used before it is assigned", line
            ) from None
        raise LanguageError(f"not in the language ({e.reason})", line) from None
    return sig, state


def _describe(node: ast.AST) -> str:
    return _CONSTRUCT.get(type(node).__name__, f"`{type(node).__name__}`")


def parse_program(source: str, idioms: bool = True) -> Program:
    """Check a source holding exactly one function; return it in canonical form."""
    return program_from_function(_single_function(source), idioms)


def _is_typing_import(stmt: ast.stmt) -> bool:
    """`from typing import List`: harmless next to programs annotated `List[int]`."""
    return isinstance(stmt, ast.ImportFrom) and stmt.module == "typing" and stmt.level == 0


def _single_function(source: str) -> ast.stmt:
    module = _parse_module(source)
    module.body = [node for node in module.body if not _is_typing_import(node)]
    if not module.body:
        raise LanguageError("no function definition found")
    for node in module.body:
        if not isinstance(node, ast.FunctionDef):
            raise _not_in_language(node) if type(node).__name__ in _CONSTRUCT else _fail(
                node, f"only a function definition is allowed at top level, not {_describe(node)}"
            )
    if len(module.body) > 1:
        raise _fail(module.body[1], "a program is a single function definition")
    return module.body[0]


def parse_functions(source: str) -> list[Program | LanguageError]:
    """Every top-level function of a file: a Program, or the error that rejects it."""
    module = _parse_module(source)
    results: list[Program | LanguageError] = []
    for node in module.body:
        if _is_docstring(node) or _is_typing_import(node):
            continue
        try:
            results.append(program_from_function(node))
        except LanguageError as e:
            results.append(e)
    return results


def check_source(source: str, idioms: bool = True) -> None:
    """Raise `LanguageError` unless `source` is one program of the language.

    `idioms=False`: only the grammar as written, without the rewrites of `idioms.desugar`
    (`xs[:]`, `enumerate`, ...) or truthiness (`if xs:`). The executor checks so, because it
    runs the source itself, not its canonical form."""
    _derive(_single_function(source), idioms)  # no canonical source needed: skips printing it


def canonicalize(source: str) -> str:
    """The canonical source of an in-language program."""
    return parse_program(source).source


def program_from_actions(actions: list[int] | tuple[int, ...]) -> Program:
    """Rebuild a program from a complete action sequence (raises `IllegalAction`)."""
    state = replay(actions)
    if not state.done:
        raise ValueError("incomplete action sequence")
    assert state.signature is not None
    return Program(
        source=state.to_source(),
        actions=tuple(state.actions),
        signature=state.signature,
        depth=tree_depth(state.tree()),
    )
