"""Programs composed of the operations people ask for, written the way people write them.

The grammar sampler (`astae.core.sampler`) draws derivations production by production; what passes
the filters is in the language but rarely what a person would ask a synthesiser for
(`for a0 in range(-8): return a1`). `compose_program` instead chains one to three *steps*, each
an operation of the kind list and integer tasks are made of (the DeepCoder family: sort, reverse,
take, drop, access, sum, max, min, count, map, filter, running folds, element-wise combination of
two lists, arithmetic), each feeding the next, and writes each step in one of the forms people use
for it: a comprehension or an `out = []` + `for` + `append` loop, a counter loop or
`len([... if ...])`. The functions inside the steps (`x * 3`, `x % 2 == 0`, `max(x, k)`) are drawn
from small tables of the shapes such tasks use, with constants and the program's own int values.

The result is source text; the generator checks it with the language's own checker
(`parse_program`), which makes it canonical and gives its action sequence, so every composed
program is a derivation of the grammar like any other. Draws use only the `random.Random` they are
given: the same seed gives the same programs in any worker. Imports neither torch nor DGL.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from astae.core.config import GeneratorConfig

LIST, INT = "list", "int"
_TYPE_SOURCE = {LIST: "list[int]", INT: "int"}


@dataclass
class _Draft:
    """A program being composed: its parameters, the values so far, and the statements."""

    params: list[tuple[str, str]]  # (name, type)
    values: list[tuple[str, str]] = field(default_factory=list)  # every (name, type) readable
    lines: list[str] = field(default_factory=list)
    unread: set[str] = field(default_factory=set)  # parameters no step has read yet
    unused: set[str] = field(default_factory=set)  # step values no later step has read yet
    next_var: int = 0

    def var(self) -> str:
        name = f"v{self.next_var}"
        self.next_var += 1
        return name

    def of_type(self, type_: str) -> list[str]:
        return [name for name, t in self.values if t == type_]

    def read(self, name: str) -> str:
        self.unread.discard(name)
        self.unused.discard(name)
        return name


def compose_program(rng: random.Random, cfg: GeneratorConfig) -> str | None:
    """The source of one program of one to three composed steps, or None when the draw could not
    give one of the config's return types."""
    n_params = rng.randint(cfg.min_params, cfg.max_params)
    types = [rng.choice(cfg.param_types) for _ in range(n_params)]
    if LIST in cfg.param_types and LIST not in types and rng.random() < 0.8:
        types[rng.randrange(n_params)] = LIST  # the tasks are mostly about lists
    params = [(f"a{i}", t) for i, t in enumerate(types)]
    draft = _Draft(params, list(params), unread={name for name, _ in params})
    steps = rng.choice((1, 2, 2, 3, 3))
    last: tuple[str, str] | None = None
    for k in range(steps):
        final = k == steps - 1
        options = [op for op in _OPERATIONS if op.fits(draft, cfg.return_types if final else None)]
        if not options:
            return None
        op = rng.choices(options, weights=[o.weight for o in options])[0]
        last = op.write(draft, rng, last)
    assert last is not None
    returns = last[1]
    if returns not in cfg.return_types:
        return None
    final = f"return {last[0]}"
    if draft.lines[-1].startswith(f"{last[0]} = "):  # a last step of one expression is returned as it is
        final = "return " + draft.lines.pop().removeprefix(f"{last[0]} = ")
    # A parameter no step read is dropped (the checker renames the rest), down to min_params.
    unread = [p for p in params if p[0] in draft.unread][: max(0, len(params) - cfg.min_params)]
    params = [p for p in params if p not in unread]
    signature = ", ".join(f"{name}: {_TYPE_SOURCE[t]}" for name, t in params)
    body = "\n".join(f"    {line}" for line in [*draft.lines, final])
    return f"def program({signature}) -> {_TYPE_SOURCE[returns]}:\n{body}"


# -- the functions inside steps ---------------------------------------------------------------


def _small(rng: random.Random) -> int:
    return rng.choice((1, 2, 2, 3, 3, 4, 5, 10))


def _divisor(rng: random.Random) -> int:
    return rng.choice((2, 2, 3, 4, 5, 10))


def _int_operand(draft: _Draft, rng: random.Random) -> str:
    """A constant, or (a third of the time, when there is one) an int value of the program."""
    ints = draft.of_type(INT)
    if ints and rng.random() < 0.35:
        return draft.read(rng.choice(ints))
    return str(_small(rng))


def _unary(x: str, draft: _Draft, rng: random.Random) -> str:
    """A function of one int, as map and zip steps use them."""
    k = _int_operand(draft, rng)
    return rng.choice((
        f"{x} * {k}", f"{x} + {k}", f"{x} - {k}", f"{x} * {x}", f"-{x}", f"abs({x})",
        f"{x} // {_divisor(rng)}", f"{x} % {_divisor(rng)}", f"max({x}, {k})", f"min({x}, {k})",
        f"{x} * {k} + {_small(rng)}",
    ))


def _predicate(x: str, draft: _Draft, rng: random.Random) -> str:
    """A condition on one int, as filter and count steps use them."""
    k = _int_operand(draft, rng)
    return rng.choice((
        f"{x} > {k}", f"{x} < {k}", f"{x} >= {k}", f"{x} % 2 == 0", f"{x} % 2 == 1", f"{x} > 0",
        f"{x} < 0", f"{x} != {k}", f"{x} % {_divisor(rng)} == 0",
    ))


_BINARY = ("{a} + {b}", "{a} - {b}", "{a} * {b}", "max({a}, {b})", "min({a}, {b})")


# -- steps ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Operation:
    """A step: what it reads (`takes`: the types of its inputs), what it gives, how often it is
    drawn, and `render(draft, rng, inputs, out)`: the statements that compute it into `out`."""

    name: str
    takes: tuple[str, ...]
    gives: str
    weight: float
    render: Callable[[_Draft, random.Random, list[str], str], list[str]]

    def fits(self, draft: _Draft, return_types: list[str] | None) -> bool:
        if return_types is not None and self.gives not in return_types:
            return False
        return all(self.takes.count(t) <= len(draft.of_type(t)) for t in set(self.takes))

    def write(self, draft: _Draft, rng: random.Random, last: tuple[str, str] | None) -> tuple[str, str]:
        """Add the step to `draft`, reading the previous step's value where it can (composition),
        else parameters no step has read yet; the new value's (name, type)."""
        inputs: list[str] = []
        for t in self.takes:
            pool = [n for n in draft.of_type(t) if n not in inputs]
            fresh = [n for n in pool if n in draft.unread]
            waiting = [n for n in pool if n in draft.unused]
            if last is not None and last[1] == t and last[0] in pool and rng.random() < 0.85:
                chosen = last[0]
            elif waiting:
                chosen = rng.choice(waiting)
            elif fresh and rng.random() < 0.8:
                chosen = rng.choice(fresh)
            else:
                chosen = rng.choice(pool)
            inputs.append(draft.read(chosen))
        out = draft.var()
        draft.lines.extend(self.render(draft, rng, inputs, out))
        draft.values.append((out, self.gives))
        draft.unused.add(out)
        return out, self.gives


def _expression(make: Callable[[_Draft, random.Random, list[str]], str]):
    """A step written as one assignment `out = make(...)`."""
    return lambda draft, rng, xs, out: [f"{out} = {make(draft, rng, xs)}"]


def _map(draft: _Draft, rng: random.Random, xs: list[str], out: str) -> list[str]:
    x = draft.var()
    f = _unary(x, draft, rng)
    if rng.random() < 0.5:
        return [f"{out} = [{f} for {x} in {xs[0]}]"]
    return [f"{out} = []", f"for {x} in {xs[0]}:", f"    {out}.append({f})"]


def _selection(counting: bool) -> Callable[[_Draft, random.Random, list[str], str], list[str]]:
    """A filter (the elements that pass a condition) or, `counting`, how many pass."""

    def render(draft: _Draft, rng: random.Random, xs: list[str], out: str) -> list[str]:
        x = draft.var()
        p = _predicate(x, draft, rng)
        passing = f"[{x} for {x} in {xs[0]} if {p}]"
        if rng.random() < 0.5:
            return [f"{out} = {f'len({passing})' if counting else passing}"]
        start, keep = ("0", f"{out} += 1") if counting else ("[]", f"{out}.append({x})")
        return [f"{out} = {start}", f"for {x} in {xs[0]}:", f"    if {p}:", f"        {keep}"]

    return render


def _scan(draft: _Draft, rng: random.Random, xs: list[str], out: str) -> list[str]:
    """A running fold: prefix sums or products, running maximum or minimum."""
    x = draft.var()
    kind = rng.choice(("sum", "sum", "max", "min", "product"))
    if kind in ("sum", "product"):
        acc = draft.var()
        update = f"{acc} += {x}" if kind == "sum" else f"{acc} *= {x}"
        return [f"{acc} = {0 if kind == 'sum' else 1}", f"{out} = []", f"for {x} in {xs[0]}:",
                f"    {update}", f"    {out}.append({acc})"]
    return [f"{out} = []", f"for {x} in {xs[0]}:", f"    if len({out}) == 0:", f"        {out}.append({x})",
            "    else:", f"        {out}.append({kind}({out}[-1], {x}))"]


def _zip(draft: _Draft, rng: random.Random, xs: list[str], out: str) -> list[str]:
    i = draft.var()
    a, b = f"{xs[0]}[{i}]", f"{xs[1]}[{i}]"
    combined = rng.choice(_BINARY).format(a=a, b=b)
    bound = f"range(min(len({xs[0]}), len({xs[1]})))"
    if rng.random() < 0.5:
        return [f"{out} = [{combined} for {i} in {bound}]"]
    return [f"{out} = []", f"for {i} in {bound}:", f"    {out}.append({combined})"]


def _arithmetic(draft: _Draft, rng: random.Random, xs: list[str]) -> str:
    other = _int_operand(draft, rng) if len(draft.of_type(INT)) < 2 or rng.random() < 0.5 else draft.read(
        rng.choice([n for n in draft.of_type(INT) if n != xs[0]] or [xs[0]]))
    return rng.choice(_BINARY + ("{a} // {b}", "{a} % {b}")).format(a=xs[0], b=other)


def _index(draft: _Draft, rng: random.Random, xs: list[str]) -> str:
    ints = draft.of_type(INT)
    if ints and rng.random() < 0.5:
        return f"{xs[0]}[{draft.read(rng.choice(ints))}]"
    return f"{xs[0]}[{rng.choice((0, 0, 1, -1, -1, 2))}]"


def _slice(take: bool) -> Callable[[_Draft, random.Random, list[str]], str]:
    def make(draft: _Draft, rng: random.Random, xs: list[str]) -> str:
        ints = draft.of_type(INT)
        k = draft.read(rng.choice(ints)) if ints and rng.random() < 0.6 else str(rng.choice((1, 2, 3)))
        return f"{xs[0]}[:{k}]" if take else f"{xs[0]}[{k}:]"
    return make


_OPERATIONS = (
    _Operation("sort", (LIST,), LIST, 1.0, _expression(lambda d, r, xs: f"sorted({xs[0]})")),
    _Operation("reverse", (LIST,), LIST, 0.7, _expression(lambda d, r, xs: f"{xs[0]}[::-1]")),
    _Operation("take", (LIST,), LIST, 0.7, _expression(_slice(take=True))),
    _Operation("drop", (LIST,), LIST, 0.7, _expression(_slice(take=False))),
    _Operation("map", (LIST,), LIST, 2.0, _map),
    _Operation("filter", (LIST,), LIST, 1.5, _selection(counting=False)),
    _Operation("scan", (LIST,), LIST, 1.0, _scan),
    _Operation("zip", (LIST, LIST), LIST, 1.5, _zip),
    _Operation("reduce", (LIST,), INT, 1.5,
               _expression(lambda d, r, xs: f"{r.choice(('sum', 'max', 'min', 'len'))}({xs[0]})")),
    _Operation("access", (LIST,), INT, 1.0, _expression(_index)),
    _Operation("count", (LIST,), INT, 1.0, _selection(counting=True)),
    _Operation("arithmetic", (INT,), INT, 0.8, _expression(_arithmetic)),
)
