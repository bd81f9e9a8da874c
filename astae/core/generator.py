"""Random typed programs and their input/output examples.

Programs are sampled by driving `DerivationState` with weighted random choices,
so every sample is in the language and canonical by construction. A chunk of
candidates is generated, run and filtered inside one sandbox worker
(`generate_chunk`); the parent keeps them in chunk order, which makes a build
the same whatever the number of workers. Imports neither torch nor DGL.
"""

from __future__ import annotations

import ast
import functools
import json
import random
from dataclasses import dataclass, field

from astae.core.astgraph import ASTGraph, blocks, build_ast_graph, dead_stores, statements
from astae.core.config import GeneratorConfig
from astae.core.derivation import DerivationState, tree_depth
from astae.core.executor import (
    ExampleResult,
    ExecutionLimits,
    Outcome,
    WorkBudget,
    mark_progress,
    run_examples,
)
from astae.core.grammar import GRAMMAR, MAX_PARAMS, Signature
from astae.core.language import LanguageError, Program, parse_program

# Relative weight of each production kind (split evenly among its variants unless
# `_VARIANT_WEIGHTS` says otherwise). Tuned so programs read like small list and
# arithmetic routines rather than noise.
_KIND_WEIGHTS: dict[tuple[str, str], float] = {
    ("Stmt", "assign"): 4.0, ("Stmt", "augassign"): 1.0, ("Stmt", "extend"): 0.3,
    ("Stmt", "append"): 0.8, ("Stmt", "for"): 1.2, ("Stmt", "if"): 1.0,
    ("Else", "no_else"): 0.6, ("Else", "else"): 0.4,
    ("More", "stmt"): 0.35, ("More", "end"): 0.55, ("More", "return"): 0.1,
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
    state.apply(GRAMMAR.production("Program", "function", signature))
    while not state.done:
        sampler.step(state)
    return state


class Sampler:
    """The generator's weighted choices, with the context they depend on (statements so far,
    variables stored but not read yet, the variable read last). Drives a `DerivationState`."""

    def __init__(self, rng: random.Random, cfg: GeneratorConfig) -> None:
        self.rng = rng
        self.cfg = cfg
        self.target_statements = rng.randint(cfg.min_statements, cfg.max_statements)
        self.statements = 0
        self.unread: set[int] = set()  # variable actions whose latest stored value is not read yet
        self.last_read: int | None = None

    def choose(self, state: DerivationState) -> int:
        """A random legal action for the state's frontier."""
        rng, cfg = self.rng, self.cfg
        frame = state.frontier
        legal = state.legal_actions()
        if frame.symbol in GRAMMAR.slot_set:
            if self.last_read is not None and len(legal) > 1 and frame.symbol.startswith("Use:"):
                legal = [a for a in legal if a != self.last_read]  # `x - x`, `x < x` say nothing
            return _choose_variable(rng, legal, frame.symbol, self.unread)
        family = frame.symbol.split(":")[0]
        candidates = legal
        if family == "Body":
            want = "stmt" if self.statements < self.target_statements else "return"
            preferred = [a for a in legal if GRAMMAR.productions[a].kind == want]
            candidates = preferred or legal
        elif family == "Stmt" and frame.depth >= cfg.max_nesting:
            candidates = [a for a in legal if GRAMMAR.productions[a].kind not in ("for", "if")]
        elif frame.symbol in ("Int", "Bool", "List") and frame.depth >= cfg.max_depth:
            leaf_kinds = _LEAF_KINDS | ({"compare"} if frame.symbol == "Bool" else set())
            leaves = [a for a in legal if GRAMMAR.productions[a].kind in leaf_kinds]
            candidates = leaves or legal
        return self.pick(_steer(frame, candidates, rng))

    def pick(self, candidates: list[int]) -> int:
        """One of `candidates` drawn by the generator's production weights."""
        return self.rng.choices(candidates, weights=[_WEIGHTS[a] for a in candidates])[0]

    def apply(self, state: DerivationState, action: int, validate: bool = False) -> None:
        """Apply `action` to `state` and update the context."""
        frame = state.frontier
        state.apply(action, validate=validate)
        if frame.symbol in GRAMMAR.slot_set:
            if frame.symbol.startswith("Use:"):
                self.last_read = action
            if action == GRAMMAR.new_action:  # the variable just declared
                action = GRAMMAR.var_action(MAX_PARAMS + state.num_locals - 1)
            if GRAMMAR.productions[frame.parent_action].kind in _STORES:
                self.unread.add(action)
            else:
                self.unread.discard(action)
        elif frame.symbol.startswith("Body:") and GRAMMAR.productions[action].kind == "stmt":
            self.statements += 1

    def step(self, state: DerivationState) -> int:
        """Choose and apply one action; return it."""
        action = self.choose(state)
        self.apply(state, action)
        return action

    def subtree(self, state: DerivationState) -> None:
        """Derive a complete subtree for the frontier symbol (and nothing after it)."""
        pending = 1  # symbols of the subtree not expanded yet
        while pending:
            pending += ACTION_ARITY[self.step(state)] - 1


_RETURN_PRODUCTIONS = frozenset(
    p.id for p in GRAMMAR.productions if p.kind == "return"
)
_DIVISIONS = frozenset(
    p.id for p in GRAMMAR.productions if p.kind == "binop" and p.arg in ("//", "%")
)
_POSITIVE_CONSTANTS = [GRAMMAR.production("Int", "const", k) for k in range(2, 11)]


def _steer(frame, candidates: list[int], rng: random.Random) -> list[int]:
    """Context rules that make kept programs likelier: a returned value is computed, not
    a constant; a divisor is usually a positive constant (fewer ZeroDivisionErrors)."""
    if frame.parent_action in _RETURN_PRODUCTIONS:
        computed = [a for a in candidates if GRAMMAR.productions[a].kind not in ("const", "literal")]
        return computed or candidates
    if frame.parent_action in _DIVISIONS and frame.position == 1 and rng.random() < 0.8:
        constants = [a for a in candidates if a in _POSITIVE_CONSTANTS]
        return constants or candidates
    return candidates


def _choose_variable(rng: random.Random, legal: list[int], slot: str, unread: set[int]) -> int:
    new = GRAMMAR.new_action
    if new in legal and (len(legal) == 1 or rng.random() < _NEW_VARIABLE_PROBABILITY):
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


def sample_value(rng: random.Random, type_: str, cfg: GeneratorConfig) -> int | list[int]:
    """A random argument of `type_` within the config's value ranges."""
    if type_ == "int":
        return rng.randint(cfg.int_min, cfg.int_max)
    n = rng.randint(cfg.list_len_min, cfg.list_len_max)
    return [rng.randint(cfg.int_min, cfg.int_max) for _ in range(n)]


def sample_inputs(rng: random.Random, sig: Signature, cfg: GeneratorConfig, n: int) -> list[list]:
    """`n` random argument lists for `sig`."""
    return [[sample_value(rng, t, cfg) for t in sig.params] for _ in range(n)]


def probe_inputs(sig: Signature, cfg: GeneratorConfig) -> list[list]:
    """The fixed probe inputs of a signature (the same for every dataset with this config)."""
    ranges = (cfg.int_min, cfg.int_max, cfg.list_len_min, cfg.list_len_max)
    return _probe_inputs(sig, cfg.probe_seed, cfg.probe_count, ranges)


@functools.lru_cache(maxsize=256)
def _probe_inputs(sig: Signature, seed: int, count: int, ranges: tuple) -> list[list]:
    cfg = GeneratorConfig(
        int_min=ranges[0], int_max=ranges[1], list_len_min=ranges[2], list_len_max=ranges[3]
    )
    rng = random.Random(f"probe:{seed}:{sig.display}")
    return sample_inputs(rng, sig, cfg, count)


@dataclass
class Candidate:
    """A generated program that passed the filters, with everything the dataset stores."""

    source: str
    signature: str
    actions: list[int]
    examples: list[dict]
    probe_outputs: list
    depth: int
    graph: ASTGraph

    @property
    def behaviour_key(self) -> str:
        """Signature plus probe outputs: programs with equal keys behave alike."""
        return self.signature + json.dumps(self.probe_outputs, separators=(",", ":"))


@dataclass
class ChunkResult:
    """What one worker task returns: kept candidates and rejection counts, in order."""

    chunk: int
    candidates: list[Candidate | str] = field(default_factory=list)  # str: rejection reason


def _fits(value: object, cfg: GeneratorConfig) -> bool:
    if isinstance(value, list):
        return len(value) <= cfg.max_output_len and all(abs(v) <= cfg.max_abs_output for v in value)
    return isinstance(value, int) and abs(value) <= cfg.max_abs_output


def judge(
    results: list[ExampleResult], n_probes: int, cfg: GeneratorConfig
) -> str | None:
    """Why a program's runs make it uninteresting, or None if it is kept."""
    statuses = [r.status for r in results]
    if Outcome.TIMEOUT in statuses or Outcome.MEMORY in statuses:
        return "too_expensive"
    errors = sum(s != Outcome.OK for s in statuses)
    if errors > cfg.max_error_rate * len(results):
        return "errors"
    outputs = [r.output for r in results if r.status == Outcome.OK]
    if not all(_fits(o, cfg) for o in outputs):
        return "output_bounds"
    if len({json.dumps(o) for o in outputs}) < 2:
        return "constant_output"
    return None


# 20,000 traced lines take >= ~0.6 ms untraced, 8 MiB of allocations >= ~1 ms: both far
# above the 0.2 ms under which a call skips the metered re-run.
_BUDGET = WorkBudget(max_lines=20_000, max_bytes=8 * 2**20)
_FAST_CALL_SECONDS = 0.0002
_LIMITS = (Outcome.TIMEOUT, Outcome.MEMORY)
# CPU seconds a metered call may take: only C-level work on large values (which the budget does
# not see) gets near it. The generator's watchdog waits ten times as long without progress, so
# that a metered call slowed by other processes sharing the cores is never taken for a hang:
# whether a candidate is kept must not depend on machine load.
METERED_CPU_SECONDS = 1.0
GENERATOR_HANG_SECONDS = 10 * METERED_CPU_SECONDS


def evaluate_candidate(
    source: str, sig: Signature, rng: random.Random, cfg: GeneratorConfig, limits: ExecutionLimits
) -> tuple[str | None, list[dict], list]:
    """Run a program on its probes and fresh random inputs: (rejection, examples, probe outputs)."""
    probes = probe_inputs(sig, cfg)
    k = rng.randint(cfg.examples_min, cfg.examples_max)
    # Draw spare inputs so that a few failing ones still leave k examples.
    spare = k + max(2, int(k * cfg.max_error_rate) + 1)
    inputs = sample_inputs(rng, sig, cfg, spare)
    results = run_examples(source, probes + inputs, None, limits, check=False, stop_at_limit=True)
    if any(r.seconds > _FAST_CALL_SECONDS or r.status in _LIMITS for r in results):
        # Decide "too expensive" by deterministic work, not by wall time, so that the
        # kept set never depends on machine load. A call under _FAST_CALL_SECONDS is far
        # inside the budget, so the fast path above never disagrees with this one.
        slow = ExecutionLimits(time_limit=METERED_CPU_SECONDS, memory_limit_mb=limits.memory_limit_mb)
        results = run_examples(
            source, probes + inputs, None, slow, check=False, stop_at_limit=True, budget=_BUDGET
        )
    reason = judge(results, len(probes), cfg)
    probe_outputs = [r.output if r.status == Outcome.OK else None for r in results[: len(probes)]]
    examples = [
        {"input": args, "output": r.output}
        for args, r in zip(inputs, results[len(probes):])
        if r.status == Outcome.OK
    ][:k]
    if reason is None and len(examples) < k:
        reason = "errors"
    return reason, examples, probe_outputs


def generate_chunk(payload: tuple[dict, int, int, frozenset]) -> ChunkResult:
    """Worker task: generate, run and filter candidates `chunk_size * chunk` onwards."""
    cfg_data, seed, chunk, skip = payload
    cfg = GeneratorConfig.model_validate(cfg_data)
    limits = ExecutionLimits(time_limit=cfg.time_limit, memory_limit_mb=cfg.memory_limit_mb)
    rng = random.Random(f"astae:{seed}:{chunk}")
    out = ChunkResult(chunk)
    for i in range(cfg.chunk_size):
        state = sample_program(rng, cfg)
        sig = state.signature
        assert sig is not None
        run_rng = random.Random(rng.random())
        if i in skip:
            out.candidates.append("too_expensive")
            continue
        mark_progress(i)
        program = _pruned_program(state)
        if program is None:
            out.candidates.append("dead_code")
            continue
        source = program.source
        reason, examples, probe_outputs = evaluate_candidate(source, sig, run_rng, cfg, limits)
        if reason is not None:
            out.candidates.append(reason)
            continue
        if has_trivial_expression(source):
            out.candidates.append("trivial_expression")
            continue
        out.candidates.append(
            Candidate(
                source=source,
                signature=sig.display,
                actions=list(program.actions),
                examples=examples,
                probe_outputs=probe_outputs,
                depth=program.depth,
                graph=build_ast_graph(source),
            )
        )
    return out


def _pruned_program(state: DerivationState) -> Program | None:
    source = state.to_source()
    pruned = prune_dead_stores(source)
    if pruned is None:
        return None
    if pruned != source:
        try:
            return parse_program(pruned)  # canonical names may shift once statements are gone
        except LanguageError:
            return None  # it removed unreachable code after an if/else that always returns
    assert state.signature is not None
    return Program(source, tuple(state.actions), state.signature, tree_depth(state.tree()))


def prune_dead_stores(source: str) -> str | None:
    """The program without statements whose stored value is never read, or None when one
    cannot be removed (it is alone in its block)."""
    fn = ast.parse(source).body[0]
    assert isinstance(fn, ast.FunctionDef)
    changed = False
    while dead := set(dead_stores(fn)):
        removed = False
        for node in [fn, *statements(fn)]:
            for block in blocks(node):
                keep = [stmt for stmt in block if stmt not in dead]
                if keep and len(keep) < len(block):
                    block[:] = keep
                    removed = True
        if not removed:
            return None
        changed = True
    return ast.unparse(fn) if changed else source


def _matches(value: object, type_: str) -> bool:
    if type_ == "int":
        return type(value) is int
    return isinstance(value, list) and all(type(v) is int for v in value)


def _check_examples(examples: list, sig: Signature) -> str | None:
    for k, ex in enumerate(examples, 1):
        if not isinstance(ex, dict) or "input" not in ex or "output" not in ex:
            return f'example {k} must be an object with "input" and "output"'
        args = ex["input"]
        if not isinstance(args, list) or len(args) != len(sig.params):
            return f"example {k}: input must be a list of {len(sig.params)} argument(s)"
        for arg, type_ in zip(args, sig.params):
            if not _matches(arg, type_):
                return f"example {k}: argument {arg!r} is not {type_} ({sig.display})"
        if not _matches(ex["output"], sig.returns):
            return f"example {k}: output {ex['output']!r} is not {sig.returns} ({sig.display})"
    return None


def import_task(payload: tuple) -> Candidate | str:
    """Worker task: probe outputs and examples (checked or generated) of one user program."""
    cfg_data, seed, index, source, actions, given = payload
    cfg = GeneratorConfig.model_validate(cfg_data)
    limits = ExecutionLimits(time_limit=cfg.time_limit, memory_limit_mb=cfg.memory_limit_mb)
    state = DerivationState()
    for a in actions:
        state.apply(a)
    sig = state.signature
    assert sig is not None
    mark_progress(index)
    probe_results = run_examples(source, probe_inputs(sig, cfg), None, limits)
    probe_outputs = [r.output if r.status == Outcome.OK else None for r in probe_results]
    if given:
        problem = _check_examples(given, sig)
        if problem:
            return problem
        inputs = [ex["input"] for ex in given]
        results = run_examples(source, inputs, [ex["output"] for ex in given], limits)
        for k, (ex, r) in enumerate(zip(given, results), 1):
            if r.status != Outcome.OK:
                got = repr(r.output) if r.status == Outcome.WRONG else f"{r.status.value} {r.error or ''}"
                return f"example {k}: expected {ex['output']!r}, the program gives {got.strip()}"
        examples = [{"input": ex["input"], "output": ex["output"]} for ex in given]
    else:
        rng = random.Random(f"import:{seed}:{index}")
        _, examples, _ = evaluate_candidate(source, sig, rng, cfg, limits)
        if len(examples) < cfg.examples_min:
            return (
                f"runs without error on only {len(examples)} random inputs; give examples "
                f"or widen the input ranges (at least {cfg.examples_min} are needed)"
            )
    return Candidate(
        source=source,
        signature=sig.display,
        actions=list(actions),
        examples=examples,
        probe_outputs=probe_outputs,
        depth=tree_depth(state.tree()),
        graph=build_ast_graph(source),
    )


def has_trivial_expression(source: str) -> bool:
    """Whether the program compares or combines an expression with itself (`x >= x`,
    `x and x`, `range(x, x)`, `x - x`, `x // x`, `x % x`) or assigns a variable to itself."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            pair = (node.left, node.comparators[0])
        elif isinstance(node, ast.BoolOp):
            pair = (node.values[0], node.values[1])
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Sub, ast.FloorDiv, ast.Mod)):
            pair = (node.left, node.right)
        elif isinstance(node, ast.Call) and len(node.args) == 2:
            pair = (node.args[0], node.args[1])
        elif isinstance(node, ast.Assign):
            pair = (node.targets[0], node.value)
        else:
            continue
        if ast.dump(pair[0]).replace("Store", "Load") == ast.dump(pair[1]).replace("Store", "Load"):
            return True
    return False
