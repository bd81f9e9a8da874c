"""Random typed programs and their input/output examples.

Programs are sampled by `astae.core.sampler` (weighted random choices driving
`DerivationState`, steered away from what the filters below reject), so every sample is in
the language and canonical by construction. A chunk of candidates is generated, run and
filtered inside one sandbox worker (`generate_chunk`); the parent keeps them in chunk order,
which makes a build the same whatever the number of workers. Imports neither torch nor DGL.
"""

from __future__ import annotations

import ast
import functools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from astae.core.astgraph import (
    ASTGraph,
    blocks,
    build_ast_graph,
    dead_statements,
    function_graph,
    statements,
)
from astae.core.composer import compose_program
from astae.core.config import GeneratorConfig
from astae.core.derivation import DerivationState, tree_depth
from astae.core.grammar import GRAMMAR, Signature
from astae.core.language import LanguageError, parse_program
from astae.core.sampler import ACTION_ARITY, Sampler, sample_program, subtree_ends
from astae.core.sandbox import ExampleResult, Outcome, WorkBudget, run_examples
from astae.core.sandbox_pool import ExecutionLimits, mark_progress

__all__ = ["ACTION_ARITY", "Candidate", "ChunkResult", "Sampler", "evaluate_candidate",
           "generate_chunk", "has_trivial_expression", "import_task", "judge", "probe_inputs",
           "prune_dead_stores", "sample_inputs", "sample_program", "sample_value"]


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
    calls = probes + inputs
    results = run_examples(
        source, calls, None, limits, check=False, stop_at_limit=True,
        stop_after_seconds=_FAST_CALL_SECONDS,
    )
    slow = next(
        (i for i, r in enumerate(results) if r.seconds > _FAST_CALL_SECONDS or r.status in _LIMITS),
        None,
    )
    if slow is not None:
        results = _metered_results(source, calls, slow, limits)
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


def _metered_results(
    source: str, calls: list[list], slow: int, limits: ExecutionLimits
) -> list[ExampleResult]:
    """Every call of `calls` run under the deterministic WorkBudget, call `slow` (the first that
    was slow or hit a limit on the fast path) first: if it is over budget the program is too
    expensive whatever the others do, and they are not run (their results repeat its outcome).

    "Too expensive" is decided by deterministic work, not by wall time, so that the kept set never
    depends on machine load. A call under _FAST_CALL_SECONDS is far inside the budget, so the fast
    path never disagrees with this one; and calls are independent, so the order changes nothing
    but the cost (an over-budget call can take 0.1-1 s, and used to be preceded by up to 15 others)."""
    metered = ExecutionLimits(time_limit=METERED_CPU_SECONDS, memory_limit_mb=limits.memory_limit_mb)
    order = [slow] + [i for i in range(len(calls)) if i != slow]
    ran = run_examples(
        source, [calls[i] for i in order], None, metered, check=False, stop_at_limit=True,
        budget=_BUDGET,
    )
    results: list[ExampleResult] = [ran[0]] * len(calls)
    for i, result in zip(order, ran):
        results[i] = result
    return results


def generate_chunk(payload: tuple[dict, int, int, frozenset]) -> ChunkResult:
    """Worker task: generate, run and filter candidates `chunk_size * chunk` onwards.

    The checks run cheapest first, on the AST the derivation prints: dead code (pruned when it
    can be), trivial expressions, and only then the runs; the AST graph is built for kept
    programs only, from the same AST unless pruning changed the program."""
    cfg_data, seed, chunk, skip = payload
    cfg = GeneratorConfig.model_validate(cfg_data)
    limits = ExecutionLimits(time_limit=cfg.time_limit, memory_limit_mb=cfg.memory_limit_mb)
    rng = random.Random(f"astae:{seed}:{chunk}")
    out = ChunkResult(chunk)
    for i in range(cfg.chunk_size):
        # Drawn only when asked for, so that a config without composed programs keeps its datasets.
        composed = cfg.composed_share > 0 and rng.random() < cfg.composed_share
        drawn = compose_program(rng, cfg) if composed else sample_program(rng, cfg)
        run_rng = random.Random(rng.random())
        if i in skip:
            out.candidates.append("too_expensive")
            continue
        mark_progress(i)
        if isinstance(drawn, DerivationState):
            out.candidates.append(_candidate(drawn, run_rng, cfg, limits))
        else:
            out.candidates.append(_composed_candidate(drawn, run_rng, cfg, limits))
    return out


def _composed_candidate(
    source: str | None, rng: random.Random, cfg: GeneratorConfig, limits: ExecutionLimits
) -> Candidate | str:
    """The kept candidate of a composed program (`astae.core.composer`), or why it is rejected."""
    if source is None:
        return "no_composition"  # the draw could not end in one of the config's return types
    try:
        program = parse_program(source, idioms=False)  # composed programs are in the grammar as written
    except LanguageError:
        return "no_composition"  # a composer bug: the tests draw thousands and expect none
    if len(program.actions) > cfg.max_actions:
        return "too_long"
    fn = ast.parse(program.source).body[0]
    assert isinstance(fn, ast.FunctionDef)
    return _checked(fn, program.signature, lambda: (list(program.actions), program.depth), rng, cfg, limits)


def _candidate(
    state: DerivationState, rng: random.Random, cfg: GeneratorConfig, limits: ExecutionLimits
) -> Candidate | str:
    """The kept candidate of a sampled program, or why it is rejected."""
    sig = state.signature
    assert sig is not None
    actions_and_depth = lambda: (list(state.actions), tree_depth(state.tree()))  # noqa: E731
    return _checked(state.to_ast(), sig, actions_and_depth, rng, cfg, limits)


def _checked(
    fn: ast.FunctionDef, sig: Signature, unpruned: Callable[[], tuple[list[int], int]], rng: random.Random,
    cfg: GeneratorConfig, limits: ExecutionLimits,
) -> Candidate | str:
    """The filters, cheapest first, on a program's AST (pruned in place); `unpruned` gives its
    actions and depth should pruning leave it as it is."""
    pruned = _prune(fn)
    if pruned is None:
        return "dead_code"
    source = ast.unparse(fn)
    if pruned:
        try:
            program = parse_program(source)  # canonical names may shift once statements are gone
        except LanguageError:
            return "dead_code"  # it removed unreachable code after an if/else that always returns
        source, actions, depth = program.source, list(program.actions), program.depth
    else:
        actions, depth = unpruned()
    if _equal_operands(actions) and _has_trivial(fn):
        return "trivial_expression"
    reason, examples, probe_outputs = evaluate_candidate(source, sig, rng, cfg, limits)
    if reason is not None:
        return reason
    graph = build_ast_graph(source) if pruned else function_graph(fn)
    return Candidate(source, sig.display, actions, examples, probe_outputs, depth, graph)


def _prune(fn: ast.FunctionDef) -> bool | None:
    """Remove the function's dead statements in place, again until none is left (a removal can
    make another statement dead). Whether any went; None if a block is left empty whose statement
    cannot go (a loop whose variable is read after it, an `if` whose `else` is not empty)."""
    changed = False
    while dead := set(dead_statements(fn)):
        for node in [fn, *statements(fn)]:
            for block in blocks(node):
                block[:] = [stmt for stmt in block if stmt not in dead]
        changed = True
    if changed and any(isinstance(s, (ast.For, ast.If)) and not s.body for s in statements(fn)):
        return None
    return changed


def prune_dead_stores(source: str) -> str | None:
    """The program without its dead statements (stores whose value is never read, and the loops and
    `if`s left empty), or None when what is left is not a program (`_prune`)."""
    fn = ast.parse(source).body[0]
    assert isinstance(fn, ast.FunctionDef)
    pruned = _prune(fn)
    if pruned is None:
        return None
    return ast.unparse(fn) if pruned else source


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


# What `has_trivial_expression` compares, as productions (the first two children of each; for an
# assignment, the target and the value). `x in xs` is not here: its operands have different types.
_PAIRED = frozenset(
    p.id for p in GRAMMAR.productions
    if (p.kind == "compare" and p.rhs == ("Int", "Int")) or p.kind == "boolop"
    or (p.kind == "binop" and p.arg in ("-", "//", "%"))
    or (p.kind in ("call", "range") and len(p.rhs) == 2) or p.kind == "assign"
)
_VAR_OF = {f"Target:{t}": GRAMMAR.production(sym, "var") for t, sym in
           (("int", "Int"), ("bool", "Bool"), ("list", "List"))}
_ASSIGN_TARGET = {p.id: _VAR_OF[p.rhs[0]] for p in GRAMMAR.productions if p.kind == "assign"}


def _equal_operands(actions: list[int]) -> bool:
    """Whether some pair that `has_trivial_expression` compares has equal action spans. Equal
    subtrees have equal spans, so False means the program has no trivial expression (True is
    checked on the AST: `[v1 for v1 in a]` and `[v2 for v2 in a]` have equal spans)."""
    ends = None
    for i, action in enumerate(actions):
        if action not in _PAIRED:
            continue
        ends = ends or subtree_ends(actions)
        first = i + 1
        second = ends[first]
        if action in _ASSIGN_TARGET:
            if actions[second:ends[second]] == [_ASSIGN_TARGET[action], actions[first]]:
                return True
        elif actions[first:second] == actions[second:ends[second]]:
            return True
    return False


def has_trivial_expression(source: str) -> bool:
    """Whether the program compares or combines an expression with itself (`x >= x`,
    `x and x`, `range(x, x)`, `x - x`, `x // x`, `x % x`) or assigns a variable to itself."""
    return _has_trivial(ast.parse(source))


def _has_trivial(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
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
