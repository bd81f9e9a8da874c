"""The typed grammar of the program language, as data.

Every other part reads this one declaration: the checker and canonicaliser
(`language`), the derivation state machine that turns action sequences into
programs and back (`derivation`), the random generator, the decoder's masks and
`astae inspect grammar`. Adding a builtin is one line in `_declare`.

A program is derived top-down, pre-order, left to right over `Production.rhs`.
Three kinds of symbol appear on a right-hand side:

- expression and statement nonterminals (`Int`, `Bool`, `List`, `Stmt:int`, ...),
  expanded by choosing one of their productions;
- *variable slots* (`Use:<type>`, `Target:<type>`, `Fresh:int`), filled by a
  variable action: `NEW` (declare the next canonical variable) or `VAR(j)`
  (point at variable j: a0..a2 are j = 0..2, v0.. are j = 3..). Which variables a
  slot may take depends on the scope, tracked by `derivation.DerivationState`.

Actions are integers: production ids first, then `NEW`, then one per variable.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from functools import cached_property

MAX_PARAMS = 3
MAX_LOCALS = 16
MIN_CONST = 0
MAX_CONST = 10  # negative constants are `-k`: the `neg` production over a constant
# Expression depth past which only shallow productions are legal, so that decoded programs stay
# well inside the checker's nesting limit (language.MAX_NESTING = 60): at most 3 more levels follow.
MAX_EXPRESSION_DEPTH = 50

TYPES = ("int", "bool", "list")
RETURN_TYPES = ("int", "list")
PARAM_TYPES = ("int", "list")
TYPE_NONTERMINAL = {"int": "Int", "bool": "Bool", "list": "List"}
TYPE_SOURCE = {"int": "int", "bool": "bool", "list": "list[int]"}

INT_OPS = ("+", "-", "*", "//", "%")
COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=")
LIST_REDUCERS = ("len", "sum", "min", "max")
BUILTINS = ("len", "sum", "min", "max", "abs", "sorted", "range")

GRAMMAR_VERSION = 1


@dataclass(frozen=True)
class Production:
    """One typed production: `lhs -> kind(arg)` with child symbols `rhs` in derivation order."""

    id: int
    lhs: str
    kind: str
    rhs: tuple[str, ...] = ()
    arg: object = None

    @property
    def label(self) -> str:
        """A short human-readable form, e.g. `Int -> binop[+](Int, Int)`."""
        arg = f"[{_format_arg(self.arg)}]" if self.arg is not None else ""
        children = f"({', '.join(self.rhs)})" if self.rhs else ""
        return f"{self.lhs} -> {self.kind}{arg}{children}"


def _format_arg(arg: object) -> str:
    if isinstance(arg, Signature):
        return arg.display
    return str(arg)


@dataclass(frozen=True)
class Signature:
    """Parameter types and return type of a program, e.g. `(list[int], int) -> int`."""

    params: tuple[str, ...]
    returns: str

    @property
    def display(self) -> str:
        """The signature as it reads in Python annotations."""
        params = ", ".join(TYPE_SOURCE[t] for t in self.params)
        return f"({params}) -> {TYPE_SOURCE[self.returns]}"

    @classmethod
    def from_display(cls, text: str) -> Signature:
        """Parse the text produced by `display`."""
        by_source = {v: k for k, v in TYPE_SOURCE.items()}
        head, _, ret = text.partition(" -> ")
        inner = head.strip()[1:-1]
        params = tuple(by_source[p.strip()] for p in inner.split(", ")) if inner else ()
        return cls(params, by_source[ret.strip()])


def is_variable_slot(symbol: str) -> bool:
    """Whether `symbol` is filled by a variable action rather than a production."""
    return symbol.startswith(("Use:", "Target:", "Fresh:"))


def all_signatures() -> list[Signature]:
    """Every signature of the language, in a fixed order."""
    sigs = []
    for n in range(1, MAX_PARAMS + 1):
        for params in itertools.product(PARAM_TYPES, repeat=n):
            for ret in RETURN_TYPES:
                sigs.append(Signature(params, ret))
    return sigs


def _declare() -> list[tuple[str, str, tuple[str, ...], object]]:
    """The productions as (lhs, kind, rhs, arg) rows."""
    rows: list[tuple[str, str, tuple[str, ...], object]] = []

    def add(lhs: str, kind: str, rhs: tuple[str, ...] = (), arg: object = None) -> None:
        rows.append((lhs, kind, rhs, arg))

    for sig in all_signatures():
        add("Program", "function", (f"Body:{sig.returns}",), sig)
    for r in RETURN_TYPES:
        ret = TYPE_NONTERMINAL[r]
        # Body: the function body, ends in `return`. Block: a nested block (at least one
        # statement). More: the rest of a nested block.
        add(f"Body:{r}", "stmt", (f"Stmt:{r}", f"Body:{r}"))
        add(f"Body:{r}", "return", (ret,))
        add(f"Block:{r}", "stmt", (f"Stmt:{r}", f"More:{r}"))
        add(f"Block:{r}", "return", (ret,))
        add(f"More:{r}", "stmt", (f"Stmt:{r}", f"More:{r}"))
        add(f"More:{r}", "return", (ret,))
        add(f"More:{r}", "end")
        for t in TYPES:
            add(f"Stmt:{r}", "assign", (f"Target:{t}", TYPE_NONTERMINAL[t]), t)
        for op in INT_OPS:
            add(f"Stmt:{r}", "augassign", ("Use:int", "Int"), op)
        add(f"Stmt:{r}", "extend", ("Use:list", "List"))  # v += xs
        add(f"Stmt:{r}", "append", ("Use:list", "Int"))
        add(f"Stmt:{r}", "for", ("Target:int", "Iter", f"Block:{r}"))
        add(f"Stmt:{r}", "if", ("Bool", f"Block:{r}", f"Else:{r}"))
        add(f"Else:{r}", "no_else")
        add(f"Else:{r}", "else", (f"Block:{r}",))

    add("Iter", "over", ("List",))
    add("Iter", "range", ("Int",))
    add("Iter", "range", ("Int", "Int"))

    for k in range(MIN_CONST, MAX_CONST + 1):
        add("Int", "const", (), k)
    add("Int", "var", ("Use:int",))
    for op in INT_OPS:
        add("Int", "binop", ("Int", "Int"), op)
    add("Int", "neg", ("Int",))
    add("Int", "ifexp", ("Bool", "Int", "Int"))
    for fn in LIST_REDUCERS:
        add("Int", "call", ("List",), fn)
    add("Int", "call", ("Int",), "abs")
    add("Int", "call", ("Int", "Int"), "min")
    add("Int", "call", ("Int", "Int"), "max")
    add("Int", "index", ("List", "Int"))

    add("Bool", "const", (), True)
    add("Bool", "const", (), False)
    add("Bool", "var", ("Use:bool",))
    for op in COMPARE_OPS:
        add("Bool", "compare", ("Int", "Int"), op)
    add("Bool", "compare", ("Int", "List"), "in")
    add("Bool", "compare", ("Int", "List"), "not in")
    add("Bool", "boolop", ("Bool", "Bool"), "and")
    add("Bool", "boolop", ("Bool", "Bool"), "or")
    add("Bool", "not", ("Bool",))

    add("List", "var", ("Use:list",))
    add("List", "call", ("List",), "sorted")
    add("List", "reverse", ("List",))
    add("List", "slice", ("List", "Int", "Int"), "both")
    add("List", "slice", ("List", "Int"), "upper")
    add("List", "slice", ("List", "Int"), "lower")
    add("List", "binop", ("List", "List"), "+")
    add("List", "literal", ("Elems",))
    add("List", "comprehension", ("Fresh:int", "Iter", "Int"))
    add("List", "comprehension", ("Fresh:int", "Iter", "Bool", "Int"), "if")
    add("List", "ifexp", ("Bool", "List", "List"))
    add("Elems", "cons", ("Int", "Elems"))
    add("Elems", "nil")
    return rows


def variable_name(j: int) -> str:
    """Canonical name of variable slot j: a0..a2 for parameters, then v0, v1, ..."""
    return f"a{j}" if j < MAX_PARAMS else f"v{j - MAX_PARAMS}"


class Grammar:
    """The productions, the action space and derived tables (costs, fingerprint)."""

    def __init__(self) -> None:
        self.productions: tuple[Production, ...] = tuple(
            Production(i, lhs, kind, rhs, arg) for i, (lhs, kind, rhs, arg) in enumerate(_declare())
        )
        self.nonterminals: tuple[str, ...] = tuple(dict.fromkeys(p.lhs for p in self.productions))
        slots = {s for p in self.productions for s in p.rhs if is_variable_slot(s)}
        self.variable_slots: tuple[str, ...] = tuple(sorted(slots))
        self.slot_set = frozenset(slots)
        self.by_lhs: dict[str, tuple[int, ...]] = {
            nt: tuple(p.id for p in self.productions if p.lhs == nt) for nt in self.nonterminals
        }
        self.num_variables = MAX_PARAMS + MAX_LOCALS
        self.new_action = len(self.productions)
        self.var_base = self.new_action + 1
        self.num_actions = self.var_base + self.num_variables
        self.min_cost = self._min_costs()
        # Fewest actions that complete production p, itself included.
        self.production_cost: tuple[int, ...] = tuple(
            1 + sum(self.min_cost[s] for s in p.rhs) for p in self.productions
        )
        # The variable slot a production fills first, if any (its legality depends on scope).
        self.first_slot: tuple[str | None, ...] = tuple(
            p.rhs[0] if p.rhs and p.rhs[0] in self.slot_set else None for p in self.productions
        )
        # Productions that open no further Int/Bool/List expression below them (Iter's always
        # qualify: it is not recursive itself). Past MAX_EXPRESSION_DEPTH only these are legal.
        value_symbols = set(TYPE_NONTERMINAL.values())
        self.shallow_by_lhs: dict[str, tuple[int, ...]] = {
            nt: tuple(
                p for p in ids
                if nt == "Iter" or not value_symbols.intersection(self.productions[p].rhs)
            )
            for nt, ids in self.by_lhs.items()
        }
        self._index = {
            (p.lhs, p.kind, p.arg, len(p.rhs)): p.id for p in self.productions
        }
        self._by_kind: dict[tuple, list[int]] = {}
        for p in self.productions:
            self._by_kind.setdefault((p.lhs, p.kind, p.arg), []).append(p.id)
        # (symbol, past the depth cap) -> the variable slots its productions fill first, and
        # the largest cost among them (a budget at least this large excludes none).
        self.choice_slots: dict[tuple[str, bool], tuple[str, ...]] = {}
        self.max_cost: dict[tuple[str, bool], int] = {}
        for nt in self.nonterminals:
            for deep, table in ((False, self.by_lhs), (True, self.shallow_by_lhs)):
                ids = table[nt]
                self.choice_slots[nt, deep] = tuple(
                    dict.fromkeys(s for p in ids if (s := self.first_slot[p]) is not None)
                )
                self.max_cost[nt, deep] = max((self.production_cost[p] for p in ids), default=0)
        # DerivationState.legal_actions' answers by (symbol, past the depth cap, budget clamped
        # to max_cost, feasibility of choice_slots): a few thousand keys at most.
        self.legal_cache: dict[tuple, tuple[int, ...]] = {}

    def _min_costs(self) -> dict[str, int]:
        cost: dict[str, float] = {s: 1 for s in self.variable_slots}
        cost.update({nt: float("inf") for nt in self.nonterminals})
        changed = True
        while changed:
            changed = False
            for p in self.productions:
                c = 1 + sum(cost[s] for s in p.rhs)
                if c < cost[p.lhs]:
                    cost[p.lhs] = c
                    changed = True
        unreachable = [s for s, c in cost.items() if c == float("inf")]
        if unreachable:
            raise RuntimeError(f"nonterminals with no finite derivation: {unreachable}")
        return {s: int(c) for s, c in cost.items()}

    def production(self, lhs: str, kind: str, arg: object = None, arity: int | None = None) -> int:
        """The id of the production with this left-hand side, kind, argument (and arity)."""
        if arity is None:
            matches = self._by_kind.get((lhs, kind, arg), [])
            if len(matches) != 1:
                raise KeyError((lhs, kind, arg))
            return matches[0]
        return self._index[(lhs, kind, arg, arity)]

    def var_action(self, j: int) -> int:
        """The action that points at variable j."""
        return self.var_base + j

    def action_label(self, action: int) -> str:
        """A readable name for an action id."""
        if action < self.new_action:
            return self.productions[action].label
        if action == self.new_action:
            return "NEW"
        return f"VAR({variable_name(action - self.var_base)})"

    def describe(self) -> dict:
        """The grammar as plain JSON-able data (what the fingerprint hashes)."""
        return {
            "version": GRAMMAR_VERSION,
            "max_params": MAX_PARAMS,
            "max_locals": MAX_LOCALS,
            "productions": [
                [p.lhs, p.kind, list(p.rhs), _format_arg(p.arg) if p.arg is not None else None]
                for p in self.productions
            ],
        }

    @cached_property
    def fingerprint(self) -> str:
        """A short hash that changes whenever the grammar does."""
        blob = json.dumps(self.describe(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


GRAMMAR = Grammar()
