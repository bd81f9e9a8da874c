"""The generator's random derivations: weighted choices, steered away from what the dataset rejects.

`Sampler` drives a `DerivationState` with weighted random choices, so every sample is in the
language and canonical by construction. Beside the weights it keeps a little context about the
derivation so far (per node of the tree: where it starts, its block, the loops around it, what it
must read) and uses it to avoid the programs that `dataset build`'s filters would reject:

- *dead code*: reads prefer values not read yet (and productions that reach them: `len(xs)` of
  an unread list); a store does not overwrite a value stored in the same block and not read yet;
  an assignment in a block prefers a variable declared before it (readable after the block); a
  loop body does not end in an unconditional `return` (the loop would run once);
- *trivial expressions*: a second operand never repeats the first action for action (`x - x`,
  `len(a) < len(a)`, `min(3, 3)`, `x = x`, `v -= v`);
- *duplicates*: no identity programs or copies (`return a0` of an unchanged parameter,
  `[v for v in xs]`, `v0 = a0`);
- *constant output*: no operator whose operands are all input-independent (`abs(4 * 1)`,
  `sorted([])`, `v0 + 3` when v0 holds a constant); a returned value, an `if` test and a
  comprehension's element depend on an input. A variable is input-dependent if a parameter's value
  flows into it (or it is stored inside a block: under a condition or loop). Near the action
  budget a program closes its blocks while a computed return value still fits;
- *too expensive*: a loop does not append to or extend the list it iterates over (it would never
  end), nor grow a variable from itself (`v += v`, `v *= v`, `v.append(sum(v))` inside a loop:
  exponential growth).

Each rule only removes choices from the legal ones when something else is left; the filters still
decide. Imports neither torch nor DGL.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

from astae.core.config import GeneratorConfig
from astae.core.derivation import DerivationState, Node, Var
from astae.core.grammar import GRAMMAR, MAX_PARAMS, Signature

# Relative weight of each production kind (split evenly among its variants unless
# `_VARIANT_WEIGHTS` says otherwise). Tuned so programs read like small list and
# arithmetic routines rather than noise. `for`, `if` and a block's next statement were 1.2, 1.0
# and 0.35 before the steering: kept programs got longer once fewer long ones were rejected,
# and these bring the kept length distribution back to about where it was (docs/datasets.md).
_KIND_WEIGHTS: dict[tuple[str, str], float] = {
    ("Stmt", "assign"): 4.0, ("Stmt", "augassign"): 1.0, ("Stmt", "extend"): 0.3,
    ("Stmt", "append"): 0.8, ("Stmt", "for"): 1.0, ("Stmt", "if"): 0.6,
    ("Else", "no_else"): 0.6, ("Else", "else"): 0.4,
    ("More", "stmt"): 0.2, ("More", "end"): 0.6, ("More", "return"): 0.1,
    ("Block", "stmt"): 0.85, ("Block", "return"): 0.15,
    ("Iter", "over"): 2.0, ("Iter", "range"): 1.2,
    ("Int", "const"): 2.0, ("Int", "var"): 5.0, ("Int", "binop"): 2.5, ("Int", "neg"): 0.2,
    ("Int", "ifexp"): 0.3, ("Int", "call"): 2.4, ("Int", "index"): 0.3,
    ("Bool", "const"): 0.1, ("Bool", "var"): 0.6, ("Bool", "compare"): 5.0,
    ("Bool", "boolop"): 0.5, ("Bool", "not"): 0.3,
    ("List", "var"): 5.0, ("List", "call"): 0.7, ("List", "reverse"): 0.5,
    ("List", "slice"): 0.9, ("List", "binop"): 0.5, ("List", "literal"): 0.4,
    ("List", "comprehension"): 2.2, ("List", "ifexp"): 0.2,
    ("Elems", "cons"): 0.55, ("Elems", "nil"): 0.45,
}
_VARIANT_WEIGHTS: dict[tuple[str, object], float] = {
    ("assign", "bool"): 0.15,
    ("call", "len"): 3.0, ("call", "sum"): 2.0, ("call", "min"): 1.0, ("call", "max"): 1.0,
    ("call", "abs"): 0.5,
    ("compare", "in"): 0.5, ("compare", "not in"): 0.3,
}
_LEAF_KINDS = {"const", "var", "nil", "literal"}
_NEW_VARIABLE_PROBABILITY = 0.7
_RECENT_VARIABLE_PROBABILITY = 0.5
_UNREAD_VARIABLE_PROBABILITY = 0.8
_NEW_IN_BLOCK_PROBABILITY = 0.2


def _production_weights() -> list[float]:
    weights = []
    for p in GRAMMAR.productions:
        family = p.lhs.split(":")[0]
        variants = sum(
            1 for q in GRAMMAR.productions if q.lhs == p.lhs and q.kind == p.kind
        )
        base = _KIND_WEIGHTS.get((family, p.kind), 1.0) / variants
        weights.append(base * _VARIANT_WEIGHTS.get((p.kind, p.arg), 1.0))
    return weights


_WEIGHTS = _production_weights()
# Children of each action (productions: their rhs; variable actions: none).
ACTION_ARITY = tuple(len(p.rhs) for p in GRAMMAR.productions) + (0,) * (
    GRAMMAR.num_actions - GRAMMAR.new_action
)


def subtree_ends(actions: Sequence[int]) -> list[int]:
    """For each position of a complete pre-order action sequence, the end (exclusive) of the
    subtree that starts there."""
    ends = [0] * len(actions)
    open_nodes: list[list[int]] = []  # [start, children still to come]
    for i, action in enumerate(actions):
        if ACTION_ARITY[action]:
            open_nodes.append([i, ACTION_ARITY[action]])
            continue
        ends[i] = i + 1
        while open_nodes:
            open_nodes[-1][1] -= 1
            if open_nodes[-1][1]:
                break
            ends[open_nodes.pop()[0]] = i + 1
    return ends


def sample_program(
    rng: random.Random, cfg: GeneratorConfig, signature: Signature | None = None
) -> DerivationState:
    """Draw one complete derivation from the grammar under the config's shape limits,
    for `signature` if given (else a random one of the config's parameter and return types)."""
    if signature is None:
        signature = Signature(
            tuple(rng.choice(cfg.param_types) for _ in range(rng.randint(cfg.min_params, cfg.max_params))),
            rng.choice(cfg.return_types),
        )
    sampler = Sampler(rng, cfg)
    state = DerivationState(max_actions=cfg.max_actions)
    sampler.apply(state, GRAMMAR.production("Program", "function", signature))
    while not state.done:
        sampler.step(state)
    return state


class _Context:
    """What the sampler remembers about one node of the derivation tree (keyed by its id)."""

    __slots__ = ("start", "block", "owner", "loops", "in_loop", "grow", "need", "targets", "operand",
                 "copies")

    def __init__(self, start: int = 0, block: int = 0, owner: str | None = None, loops: tuple = (),
                 in_loop: bool = False, grow: int | None = None, need: bool = False,
                 targets: tuple[int, ...] = ()) -> None:
        self.start = start  # index of the node's production in the action sequence
        self.block = block  # the innermost block around it (where that block starts; 0: the body)
        self.owner = owner  # the kind of statement that owns that block ("for", "if", "else")
        self.loops = loops  # the Iter nodes of the enclosing `for ... in <list>` loops
        self.in_loop = in_loop  # inside some `for` body
        self.grow = grow  # a variable it must not read (what `v += ...` grows in a loop)
        self.need = need  # it must read an input-dependent variable
        self.targets = targets  # variable actions its reads flow into (the statement's target)
        self.operand = False  # a list literal that is an operand (`[]` would be pointless there)
        self.copies: set[int] = set()  # for a variable read: the variables it would merely copy


_ROOT = _Context()


class Sampler:
    """The generator's weighted choices and the context they depend on (the module docstring
    lists the steering rules). Drives a `DerivationState`: `step` chooses and applies one action;
    `apply` replays a given one (mutation replays a program's prefix before redrawing)."""

    def __init__(self, rng: random.Random, cfg: GeneratorConfig) -> None:
        self.rng = rng
        self.cfg = cfg
        self.target_statements = rng.randint(cfg.min_statements, cfg.max_statements)
        self.statements = 0
        self.unread: dict[int, int] = {}  # variable action -> the block of its value not read yet
        self.last_read: int | None = None
        self.tainted: set[int] = set()  # variable actions whose value depends on an input
        self.modified: set[int] = set()  # variable actions stored to (parameters: changed)
        self._context: dict[int, _Context] = {}  # id(node) -> its context
        self._reads = [0]  # _reads[k]: how many of the first k actions read a tainted variable
        self._watches: list[list] = []  # [first operand's actions, how many the second matched]

    # -- choosing ------------------------------------------------------------------------

    def choose(self, state: DerivationState) -> int:
        """A random legal action for the state's frontier."""
        frame = state.frontier
        return self._choose(state, frame, self._context.get(id(frame.node), _ROOT))

    def _choose(self, state: DerivationState, frame, parent: _Context) -> int:
        cfg = self.cfg
        legal = state.legal_actions()
        if frame.symbol in _SLOTS:
            return self._choose_slot(state, frame, parent, legal)
        family = _FAMILY[frame.symbol]
        candidates = legal
        # Near the action budget, close what is open while there is room for a computed return
        # value (the budget would otherwise force literals: `return 0`).
        wrap_up = state.spare_actions < _WRAP_UP
        if family == "Body":
            more = self.statements < self.target_statements and not wrap_up
            want = "stmt" if more else "return"
            preferred = [a for a in legal if GRAMMAR.productions[a].kind == want]
            candidates = preferred or legal
        elif family == "Stmt":
            if frame.depth >= cfg.max_nesting or wrap_up:
                candidates = [a for a in legal if GRAMMAR.productions[a].kind not in ("for", "if")]
            if parent.loops and set(state.slot_actions("Use:list")) <= self._iterated(state, parent.loops):
                candidates = _without(candidates, _LIST_MUTATIONS)  # every list is being iterated
        elif family in ("Block", "More"):
            if self._owner(frame, parent) == "for":
                candidates = _without(legal, _RETURN_PRODUCTIONS)  # the loop would run once
            if wrap_up and family == "More":
                candidates = _without(candidates, _CONTINUATIONS)
        elif frame.symbol in _VALUE_SYMBOLS and frame.depth >= cfg.max_depth:
            leaf_kinds = _LEAF_KINDS | ({"compare"} if frame.symbol == "Bool" else set())
            leaves = [a for a in legal if GRAMMAR.productions[a].kind in leaf_kinds]
            candidates = leaves or legal
        if family in _EXPRESSIONS:
            candidates = self._steer_expression(state, frame, parent, candidates)
            if frame.symbol in _VALUE_SYMBOLS and self.unread:
                return self._pick_toward_unread(state, frame.symbol, _steer(frame, candidates, self.rng))
        return self.pick(_steer(frame, candidates, self.rng))

    def _pick_toward_unread(self, state: DerivationState, symbol: str, candidates: list[int]) -> int:
        """`pick`, with more weight on the productions that can read a value stored and not read
        yet: the variable itself if it has this expression's type, else an operator over it (`len`
        of an unread list)."""
        types = {state.var_types[j - GRAMMAR.var_base] for j in self.unread
                 if j - GRAMMAR.var_base in state.assigned}
        if not types:
            return self.pick(candidates)
        boost = _TOWARD[symbol, frozenset(types)]
        weights = [_WEIGHTS[a] * boost.get(a, 1.0) for a in candidates]
        return self.rng.choices(candidates, weights=weights)[0]

    def _steer_expression(self, state: DerivationState, frame, parent: _Context,
                          candidates: list[int]) -> list[int]:
        # First what the filters reject (a second operand equal to the first), then what makes
        # a rejection likelier: each rule gives way to the ones before it when nothing is left.
        candidates = _without(candidates, self._repeats(state, frame, parent))
        need = self._needs_input(state, frame, parent)
        if need:
            candidates = _without(candidates, _LITERAL_LEAVES)
        if frame.parent_action in _LITERALS and parent.operand:
            candidates = _without(candidates, _LITERAL_LEAVES)  # `[] + xs`, `max([])`, `[][i]`
        elif frame.parent_action == _LEN:
            candidates = _without(candidates, _LITERALS)  # `len([x, y])` is a constant
        elif frame.parent_action == _INDEX and frame.position == 0:
            candidates = _without(candidates, _LITERALS)  # `[x, y][i]`: out of range for most i
        if frame.symbol in _VALUE_SYMBOLS:
            if frame.depth + 1 >= self.cfg.max_depth:
                # operands at the depth limit are leaves: with no variable to read, literals
                readable = (state.can_read("int"), state.can_read("list"), state.can_read("bool"))
                candidates = _without(candidates, _LITERAL_ONLY[frame.symbol][readable, need])
            var = _VAR_PRODUCTION[frame.symbol]
            if var in candidates:
                avoid = self._copies(state, frame, parent)
                if need or parent.grow is not None:
                    avoid |= self._avoid(state, parent, need)
                # All it could read is avoided: read something else, if the budget leaves room
                # for an operator over a variable (`-a0`), not just for a literal.
                if avoid and state.spare_actions >= 2 and set(state.slot_actions(_VAR_SLOT[var])) <= avoid:
                    candidates = _without(candidates, {var})
        return candidates

    def _choose_slot(self, state: DerivationState, frame, parent: _Context, legal: list[int]) -> int:
        slot = frame.symbol
        if slot.startswith("Use:"):
            rejected = self._repeats(state, frame, parent)  # as in `_steer_expression`: first
            if GRAMMAR.productions[frame.parent_action].kind in _LIST_MUTATION_KINDS and parent.loops:
                rejected |= self._iterated(state, parent.loops)
            legal = _without(legal, rejected)
            legal = _without(legal, self._avoid(state, parent, parent.need) | parent.copies)
            if self.last_read is not None and len(legal) > 1:
                legal = [a for a in legal if a != self.last_read]  # `x + x`, `x < x` say little
        elif slot.startswith("Target:"):
            # Do not overwrite a value stored in this block (or a block inside it, which starts
            # later) and not read yet: it would be dead.
            legal = _without(legal, {a for a, b in self.unread.items() if b >= parent.block})
            if parent.block and GRAMMAR.productions[frame.parent_action].kind == "assign":
                # a variable declared in a block is out of scope after it: assign one declared
                # before, which code after the block can read
                return _choose_variable(self.rng, legal, slot, self.unread, _NEW_IN_BLOCK_PROBABILITY)
        return _choose_variable(self.rng, legal, slot, self.unread)

    def _owner(self, frame, parent: _Context) -> str | None:
        """The kind of statement whose block a Block or More symbol continues."""
        if frame.symbol.startswith("Block:"):
            return GRAMMAR.productions[frame.parent_action].kind
        return parent.owner

    def _needs_input(self, state: DerivationState, frame, parent: _Context) -> bool:
        """Whether the expression at the frontier must read an input-dependent variable: a returned
        value, an `if` test, the last operand of an operator whose other operands read none, or
        the part of a negation, list literal or comprehension that must read one for its parent."""
        if frame.parent_action < 0:
            return False
        prod = GRAMMAR.productions[frame.parent_action]
        kind = prod.kind
        if kind == "return" or (kind == "if" and frame.position == 0):
            return True
        if kind == "comprehension" and frame.position == len(prod.rhs) - 1:
            return True  # the element: `[3 for v in xs]` is a constant list
        if prod.id in _PASS_ON:
            return parent.need and frame.position == _PASS_ON[prod.id]
        if prod.lhs in _EXPRESSIONS and frame.position == len(prod.rhs) - 1:
            # an operator; its earlier operands are complete: did any of them read an input?
            return self._reads[len(state.actions)] == self._reads[parent.start + 1]
        return False

    def _avoid(self, state: DerivationState, parent: _Context, need: bool) -> set[int]:
        """Variable actions an expression here should not read: the list or number a loop grows
        from itself, and input-independent values where an input is needed."""
        avoid: set[int] = set()
        if parent.grow is not None:
            avoid.add(GRAMMAR.var_action(parent.grow))
            if state.var_types.get(parent.grow) == "list":
                avoid |= self._aliases_of({parent.grow}, state)
        if need:
            avoid |= {GRAMMAR.var_action(j) for j in state.var_types} - self.tainted
        return avoid

    def _copies(self, state: DerivationState, frame, parent: _Context) -> set[int]:
        """Variable actions that a bare variable read at the frontier would merely copy: an
        unmodified parameter returned as it is, a comprehension's variable as the element of
        `[v for v in xs]`, any variable as the value of a new one (`v0 = a0`)."""
        if frame.parent_action < 0:
            return set()
        prod = GRAMMAR.productions[frame.parent_action]
        if prod.kind == "return":
            return {GRAMMAR.var_action(j) for j in range(MAX_PARAMS) if j in state.var_types} - self.modified
        if (prod.kind == "comprehension" and prod.arg is None and frame.position == 2
                and GRAMMAR.productions[frame.node.children[1].production].kind == "over"):
            return {parent.targets[-1]}
        new_target = prod.kind == "assign" and state.actions[parent.start + 1] == GRAMMAR.new_action
        if new_target and frame.position == 1:
            return {GRAMMAR.var_action(j) for j in state.var_types}
        return set()

    def _repeats(self, state: DerivationState, frame, parent: _Context) -> set[int]:
        """Actions that would complete a second operand equal to the first (`x - x`)."""
        watches = self._watches
        first = self._first_operand(state, frame, parent)
        if first:  # the second operand starts here
            watches = [*watches, [first, 0]]
        out: set[int] = set()
        at_slot: dict[int, set[int]] = {}  # a `var` production -> the variables then excluded
        for ref, matched in watches:
            if matched == len(ref) - 1:
                out.add(ref[-1])
            elif matched == len(ref) - 2 and ref[-2] in _VAR_SLOT:
                at_slot.setdefault(ref[-2], set()).add(ref[-1])
        for var, excluded in at_slot.items():
            if set(state.slot_actions(_VAR_SLOT[var])) <= excluded:
                out.add(var)  # `len(a0) - len(a0)` when a0 is the only list: no `len(var)`
        return out

    def _first_operand(self, state: DerivationState, frame, parent: _Context,
                       end: int | None = None) -> tuple:
        """If the frontier is the second operand of a pair that must differ, the first operand's
        actions (for `x = x` and `x -= x`, the target as an expression); else ()."""
        if frame.parent_action not in _PAIRS or frame.position != 1:
            return ()
        first = tuple(state.actions[parent.start + 1:end])
        if GRAMMAR.productions[frame.parent_action].kind in ("assign", "augassign"):
            var = _VAR_PRODUCTION.get(frame.symbol)
            return (var, first[0]) if first[0] != GRAMMAR.new_action and var is not None else ()
        return first

    def _iterated(self, state: DerivationState, loops: tuple) -> set[int]:
        """Variable actions that may name a list iterated by one of `loops` (aliases included)."""
        aliases = _aliases(state.root)
        objects: set[int] = set()
        for it in loops:
            objects |= _objects(it.children[0], aliases)
        return {GRAMMAR.var_action(j) for j in objects} | {
            GRAMMAR.var_action(j) for j, held in aliases.items() if held & objects
        }

    def _aliases_of(self, variables: set[int], state: DerivationState) -> set[int]:
        """Variable actions that may hold the same list as one of `variables`."""
        aliases = _aliases(state.root)
        objects = set(variables).union(*(aliases.get(j, set()) for j in variables))
        return {GRAMMAR.var_action(j) for j in objects} | {
            GRAMMAR.var_action(j) for j, held in aliases.items() if held & objects
        }

    def pick(self, candidates: list[int]) -> int:
        """One of `candidates` drawn by the generator's production weights."""
        return self.rng.choices(candidates, weights=[_WEIGHTS[a] for a in candidates])[0]

    # -- applying --------------------------------------------------------------------------

    def apply(self, state: DerivationState, action: int, validate: bool = False) -> None:
        """Apply `action` to `state` and update the context."""
        frame = state.frontier
        self._apply(state, frame, self._context.get(id(frame.node), _ROOT), action, validate)

    def _apply(self, state: DerivationState, frame, parent: _Context, action: int, validate: bool) -> None:
        index = len(state.actions)
        need = action in _PASS_ON and self._needs_input(state, frame, parent)
        state.apply(action, validate=validate)
        is_slot = frame.symbol in _SLOTS
        reads = self._reads
        if len(reads) <= index:  # actions applied to the state before the sampler saw it
            reads += [reads[-1]] * (index + 1 - len(reads))
        reads.append(reads[-1] + (frame.symbol in _USE_SLOTS and action in self.tainted))
        if self._watches or frame.parent_action in _PAIRS:
            self._watch(state, frame, action, index, parent)
        if is_slot:
            self._fill(state, frame, action, parent)
            return
        node = frame.node.children[frame.position]
        ctx = self._context[id(node)] = self._child(frame, action, index, parent, need)
        if action in _VAR_SLOT:
            ctx.copies = self._copies(state, frame, parent)
        prod = GRAMMAR.productions[action]
        if frame.symbol.startswith("Body:") and prod.kind == "stmt":
            self.statements += 1
        elif prod.kind == "function":  # the parameters are the inputs
            self.tainted = {GRAMMAR.var_action(j) for j in range(len(prod.arg.params))}

    def _child(self, frame, action: int, index: int, parent: _Context, need: bool) -> _Context:
        """The context of the node that `action` (a production, at `index`) just created."""
        family = _FAMILY[frame.symbol]
        if family not in _EXPRESSIONS:  # a statement or block: what its expressions read flows
            # into its own target (filled next), not into the enclosing statement's
            ctx = _Context(index, parent.block, parent.owner, parent.loops, parent.in_loop)
        else:
            ctx = _Context(index, parent.block, parent.owner, parent.loops, parent.in_loop,
                           parent.grow, need, parent.targets)
        if action in _LITERALS and frame.parent_action >= 0:
            ctx.operand = GRAMMAR.productions[frame.parent_action].lhs in _EXPRESSIONS
        elif family == "Block":
            ctx.block = index
            ctx.owner = GRAMMAR.productions[frame.parent_action].kind
            if ctx.owner == "for":
                ctx.in_loop = True
                loop = frame.node  # the `for` node: (target, Iter, Block)
                if GRAMMAR.productions[loop.children[1].production].kind == "over":
                    ctx.loops = (*parent.loops, loop.children[1])
        return ctx

    def _fill(self, state: DerivationState, frame, action: int, parent: _Context) -> None:
        """Update the context after a variable slot was filled with `action`."""
        prod = GRAMMAR.productions[frame.parent_action]
        if frame.symbol.startswith("Use:"):
            self.last_read = action
            if action in self.tainted:
                self.tainted.update(parent.targets)
        if action == GRAMMAR.new_action:  # the variable just declared
            action = GRAMMAR.var_action(MAX_PARAMS + state.num_locals - 1)
        if prod.kind in _STORES:
            self.unread[action] = parent.block
            self.modified.add(action)
            parent.targets = (action,)
            if parent.block:  # stored under a condition or in a loop: treat as input-dependent
                self.tainted.add(action)
            elif prod.kind in ("assign", "for"):
                self.tainted.discard(action)  # its new value depends on what is read next
            if parent.in_loop and (prod.kind in _LIST_MUTATION_KINDS or prod.arg == "*"):
                parent.grow = action - GRAMMAR.var_base  # `xs.append(sum(xs))`, `v *= v`
        elif frame.symbol.startswith("Fresh:"):  # a comprehension's variable, over its Iter
            parent.targets = (*parent.targets, action)
        else:
            self.unread.pop(action, None)

    def _watch(self, state: DerivationState, frame, action: int, index: int, parent: _Context) -> None:
        """Follow second operands that so far repeat their first operand action for action."""
        first = self._first_operand(state, frame, parent, index)
        if first:
            self._watches.append([first, 0])
        if self._watches:
            live = []
            for w in self._watches:
                ref, matched = w
                if ref[matched] == action and matched + 1 < len(ref):
                    w[1] = matched + 1
                    live.append(w)
            self._watches = live

    def step(self, state: DerivationState) -> int:
        """Choose and apply one action; return it."""
        frame = state.frontier
        parent = self._context.get(id(frame.node), _ROOT)
        action = self._choose(state, frame, parent)
        self._apply(state, frame, parent, action, False)
        return action

    def subtree(self, state: DerivationState) -> None:
        """Derive a complete subtree for the frontier symbol (and nothing after it)."""
        pending = 1  # symbols of the subtree not expanded yet
        while pending:
            pending += ACTION_ARITY[self.step(state)] - 1


def _without(candidates: list[int], excluded) -> list[int]:
    """`candidates` minus `excluded`, unless that leaves nothing."""
    if not excluded:
        return candidates
    kept = [a for a in candidates if a not in excluded]
    return kept or candidates


def _aliases(root: Node) -> dict[int, set[int]]:
    """For each list variable assigned so far, the lists it may hold, each named by the variable
    that first held it (joined over every path: after `v = a0`, v may hold a0's list)."""
    aliases: dict[int, set[int]] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node.production >= 0:
            prod = GRAMMAR.productions[node.production]
            if prod.kind == "assign" and prod.arg == "list":
                target, value = node.children
                if isinstance(target, Var) and isinstance(value, Node):
                    aliases.setdefault(target.index, set()).update(
                        _objects(value, aliases) or {target.index}
                    )
        stack.extend(c for c in reversed(node.children) if isinstance(c, Node))
    return aliases


def _objects(node, aliases: dict[int, set[int]]) -> set[int]:
    """The existing lists (by the variable that holds them) a List expression may evaluate to."""
    if not isinstance(node, Node):
        return set()
    prod = GRAMMAR.productions[node.production]
    if prod.kind == "var" and isinstance(node.children[0], Var):
        j = node.children[0].index
        return aliases.get(j, set()) | {j}
    if prod.kind == "ifexp":
        return _objects(node.children[1], aliases) | _objects(node.children[2], aliases)
    return set()


_RETURN_PRODUCTIONS = frozenset(
    p.id for p in GRAMMAR.productions if p.kind == "return"
)
_DIVISIONS = frozenset(
    p.id for p in GRAMMAR.productions if p.kind == "binop" and p.arg in ("//", "%")
)
_POSITIVE_CONSTANTS = [GRAMMAR.production("Int", "const", k) for k in range(2, 11)]


def _steer(frame, candidates: list[int], rng: random.Random) -> list[int]:
    """Context rules that make kept programs likelier: a returned value is computed, not
    a literal; a divisor is usually a positive constant (fewer ZeroDivisionErrors)."""
    if frame.parent_action in _RETURN_PRODUCTIONS:
        computed = [a for a in candidates if GRAMMAR.productions[a].kind not in ("const", "literal")]
        return computed or candidates
    if frame.parent_action in _DIVISIONS and frame.position == 1 and rng.random() < 0.8:
        constants = [a for a in candidates if a in _POSITIVE_CONSTANTS]
        return constants or candidates
    return candidates


def _choose_variable(rng: random.Random, legal: list[int], slot: str, unread: dict[int, int],
                     new_probability: float = _NEW_VARIABLE_PROBABILITY) -> int:
    new = GRAMMAR.new_action
    if new in legal and (len(legal) == 1 or rng.random() < new_probability):
        return new
    existing = [a for a in legal if a != new]
    if slot.startswith("Use:"):
        # Prefer values that were stored but not read yet: fewer programs with dead code.
        waiting = [a for a in existing if a in unread]
        if waiting and rng.random() < _UNREAD_VARIABLE_PROBABILITY:
            return max(waiting)
        if rng.random() < _RECENT_VARIABLE_PROBABILITY:
            return max(existing)  # the newest variable: keeps computed values in use
    return rng.choice(existing)


_STORES = {"assign", "augassign", "extend", "append", "for"}
_EXPRESSIONS = frozenset({"Int", "Bool", "List", "Iter", "Elems"})
_SLOTS = GRAMMAR.slot_set
_USE_SLOTS = frozenset(s for s in GRAMMAR.slot_set if s.startswith("Use:"))
_VALUE_SYMBOLS = ("Int", "Bool", "List")
_FAMILY = {s: s.split(":")[0] for s in (*GRAMMAR.nonterminals, *GRAMMAR.slot_set)}
_WRAP_UP = 20  # actions left under the budget at which a program stops opening statements
_CONTINUATIONS = frozenset(
    p.id for p in GRAMMAR.productions if p.lhs.startswith("More:") and p.kind == "stmt"
)
_LITERALS = frozenset(p.id for p in GRAMMAR.productions if p.kind == "literal")
_LEN = GRAMMAR.production("Int", "call", "len")
_INDEX = GRAMMAR.production("Int", "index")
_LIST_MUTATION_KINDS = ("append", "extend")
_LIST_MUTATIONS = frozenset(p.id for p in GRAMMAR.productions if p.kind in _LIST_MUTATION_KINDS)
_LITERAL_LEAVES = frozenset(p.id for p in GRAMMAR.productions if p.kind in ("const", "nil"))
_VAR_PRODUCTION = {sym: GRAMMAR.production(sym, "var") for sym in _VALUE_SYMBOLS}
_VAR_SLOT = {GRAMMAR.production(sym, "var"): f"Use:{t}" for sym, t in
             (("Int", "int"), ("Bool", "bool"), ("List", "list"))}
# Productions that pass "must read an input" on to one child (by position) instead of requiring
# it of their last operand: `-k` is how a negative constant is written, `[...]` a list of
# elements, a comprehension reads its input through its iterable, `range(n)` counts.
_PASS_ON = {
    p.id: {"neg": 0, "literal": 0, "cons": 0, "comprehension": 1, "range": 0, "var": 0}[p.kind]
    for p in GRAMMAR.productions
    if p.kind in ("neg", "literal", "cons", "comprehension", "var") or (p.kind == "range" and len(p.rhs) == 1)
}
# Productions whose two operands must differ (what the generator's `has_trivial_expression`
# rejects), and `v -= v`, `v //= v`, `v %= v` (constants).
_PAIRS = frozenset(
    p.id for p in GRAMMAR.productions
    if (p.kind == "compare" and p.rhs == ("Int", "Int")) or p.kind == "boolop"
    or (p.kind == "binop" and p.arg in ("-", "//", "%"))
    or (p.kind == "call" and len(p.rhs) == 2) or (p.kind == "range" and len(p.rhs) == 2)
    or p.kind == "assign" or (p.kind == "augassign" and p.arg in ("-", "//", "%"))
)


def _literal_only_table() -> dict[str, dict[tuple, frozenset[int]]]:
    """For Int, Bool and List, by (an int, list, bool variable is readable; the expression must
    read one): the productions whose operands, all at the depth limit, could only be literals."""
    leaf_reads = {  # what a leaf of each symbol can read at the depth limit
        "Int": lambda i, li, b: i,
        "List": lambda i, li, b: li or i,  # `xs` or `[x]`
        "Bool": lambda i, li, b: i or li or b,  # `b`, or a comparison of leaves
    }
    table: dict[str, dict[tuple, frozenset[int]]] = {}
    for symbol in leaf_reads:
        table[symbol] = {}
        for readable in itertools.product((False, True), repeat=3):
            for need in (False, True):
                table[symbol][readable, need] = frozenset(
                    p.id for p in GRAMMAR.productions
                    if p.lhs == symbol and p.rhs and p.kind not in ("var", "literal", "comprehension")
                    and (p.kind != "neg" or need)
                    and not any(leaf_reads[c](*readable) for c in p.rhs if c in leaf_reads)
                )
    return table


_LITERAL_ONLY = _literal_only_table()
_UNREAD_BOOST = 10.0  # weight factor of a production that reads (toward) a value not read yet


def _toward_table() -> dict[tuple[str, frozenset], dict[int, float]]:
    """By (expression symbol, types of the values waiting to be read): weight factors of the
    productions that read such a value directly (`var`) or one level down (`len(xs)`)."""
    symbol_of = {"int": "Int", "list": "List", "bool": "Bool"}
    table: dict[tuple[str, frozenset], dict[int, float]] = {}
    for symbol in _VALUE_SYMBOLS:
        for n in range(1, 4):
            for types in itertools.combinations(sorted(symbol_of), n):
                wanted = {symbol_of[t] for t in types}
                boost: dict[int, float] = {}
                if symbol in wanted:
                    boost[_VAR_PRODUCTION[symbol]] = _UNREAD_BOOST
                else:
                    for p in GRAMMAR.productions:
                        operator = p.kind not in ("literal", "comprehension")
                        if p.lhs == symbol and operator and wanted & set(p.rhs):
                            boost[p.id] = _UNREAD_BOOST
                table[symbol, frozenset(types)] = boost
    return table


_TOWARD = _toward_table()
