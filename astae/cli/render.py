"""Rich rendering of the data that core functions return."""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING

from rich.columns import Columns
from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from astae.core.dataset_build import BuildReport
from astae.core.derivation import Node, Var
from astae.core.grammar import GRAMMAR, variable_name
from astae.core.inspection import DatasetSummary, ProgramView
from astae.core.training_events import RunInfo, TrainCallbacks, TrainResult

if TYPE_CHECKING:  # these core modules load torch; `astae --help` must not
    from astae.core.model_inspection import CheckpointSummary, LatentMap, TrainingHistory


# Every table must read whole in an 80-column terminal: number columns never wrap (`number_column`),
# text columns wrap at spaces and fold a word too long for them, never cut it to "…".


def number_column(table: Table, header: str) -> None:
    """A right-aligned column whose values are never wrapped or cut."""
    table.add_column(header, justify="right", no_wrap=True)


def text_column(table: Table, header: str = "", **options: object) -> None:
    """A column that wraps at spaces and folds longer words (a path, a production), never ellipsises."""
    table.add_column(header, overflow="fold", **options)


# The language's two types as letters: `(list[int], list[int], int) -> list[int]` is `(L, L, I) -> L`,
# short enough for a signature column beside numbers; tables of signatures carry the legend.
SIGNATURE_LEGEND = "I = int, L = list[int]"
_TYPE_LETTERS = {"list[int]": "L", "int": "I"}


def short_signature(signature: str) -> str:
    """`(list[int], int) -> int` as `(L, I) -> I` (SIGNATURE_LEGEND); other text is kept as it is."""
    return re.sub(r"\blist\[int\]|\bint\b", lambda m: _TYPE_LETTERS[m.group()], signature)


def heading(title: str) -> Text:
    """A table's title as a line of its own: a title inside the table wraps at the table's width,
    which cuts a path (a run directory, a dataset) into a column of fragments."""
    return Text(title, style="table.title")


def kv_table(title: str, rows: list[tuple[str, object]]) -> Group:
    """A heading over a borderless two-column table of (key, value) rows (a `Text` value keeps its
    style)."""
    table = Table(show_header=False, box=None)
    table.add_column(style="bold", no_wrap=True)
    text_column(table)
    for key, value in rows:
        table.add_row(escape(key), value if isinstance(value, Text) else escape(str(value)))
    return Group(heading(title), table)


def count_table(title: str, header: str, rows: list[tuple[str, int]], bar: bool = False,
                caption: str | None = None) -> Table:
    """(label, count) rows, optionally with a bar scaled to the largest count."""
    table = Table(title=title, title_justify="left", caption=caption and escape(caption),
                  caption_justify="left")
    text_column(table, header)
    number_column(table, "count")
    if bar:
        table.add_column("", no_wrap=True)
    peak = max((c for _, c in rows), default=1) or 1
    for label, count in rows:
        cells = [escape(label), f"{count:,}"]
        if bar:
            cells.append("█" * max(1 if count else 0, round(24 * count / peak)))
        table.add_row(*cells)
    return table


def render_build_report(console: Console, report: BuildReport) -> None:
    """Summary of a dataset build or import."""
    rows = [
        ("dataset", report.path),
        ("programs", f"{report.programs:,}"),
        ("candidates tried", f"{report.candidates:,}"),
        ("time", f"{report.seconds:.1f} s ({report.programs_per_second:,.0f} programs/s, "
                 f"{report.workers} worker{'s' if report.workers > 1 else ''})"),
    ]
    rows += [(f"rejected: {k}", f"{v:,}") for k, v in sorted(report.rejected.items())]
    console.print(kv_table("dataset written", rows))


def render_dataset_summary(console: Console, s: DatasetSummary) -> None:
    """`astae inspect dataset`."""
    lo, mean, hi = s.examples_per_program
    overview = kv_table(
        f"dataset {s.path}",
        [
            ("origin", s.origin),
            ("programs", f"{s.programs:,}"),
            ("candidates tried", f"{s.candidates:,}"),
            *[(f"rejected: {k}", f"{v:,}") for k, v in sorted(s.rejected.items())],
            ("examples per program", f"{lo}-{hi} (mean {mean:.1f})"),
            ("outputs", ", ".join(f"{k} {v:,}" for k, v in s.output_types.items())),
            ("mean output list length", f"{s.mean_output_list_length:.1f}"),
            *[(f"mean {k}", f"{v:.1f}") for k, v in s.size_means.items()],
        ],
    )
    console.print(overview)
    signatures = [(short_signature(name), count) for name, count in s.signatures]
    console.print(count_table("signatures", "signature", signatures, bar=True, caption=SIGNATURE_LEGEND))
    console.print(
        Columns(
            [count_table(f"{k} per program", k, rows, bar=True) for k, rows in s.sizes.items()]
        )
    )
    console.print(count_table("most frequent productions", "production", s.top_productions))


def _tree_label(node: Node | Var) -> str:
    if isinstance(node, Var):
        return f"[cyan]{variable_name(node.index)}[/]"
    prod = GRAMMAR.productions[node.production]
    arg = f"[{prod.arg}]" if prod.arg is not None and prod.kind != "function" else ""
    if prod.kind == "function":
        arg = f" {prod.arg.display}"
    return f"[dim]{prod.lhs}[/] {escape(prod.kind + arg)}"


_BLOCKS = ("Body:", "Block:", "More:")


def _add_subtree(tree: Tree, node: Node | Var) -> None:
    # Statement lists are chains in the derivation (stmt, rest); show them as siblings.
    if isinstance(node, Node) and GRAMMAR.productions[node.production].lhs.startswith(_BLOCKS):
        while GRAMMAR.productions[node.production].kind == "stmt":
            _add_subtree(tree, node.children[0])
            node = node.children[1]
        if GRAMMAR.productions[node.production].kind == "end":
            return
    branch = tree.add(_tree_label(node))
    if isinstance(node, Node):
        for child in node.children:
            _add_subtree(branch, child)


def render_program(console: Console, view: ProgramView) -> None:
    """`astae inspect program`."""
    console.print(Panel(Syntax(view.source, "python", theme="ansi_dark", word_wrap=True),
                        title=escape(f"program {view.id}  {view.signature}"), title_align="left"))
    tree = Tree("[bold]typed AST (derivation)[/]")
    _add_subtree(tree, view.tree)
    console.print(tree)
    console.print(Columns([
        count_table("graph nodes by type", "node type", view.node_types),
        count_table("graph edges by type", "edge type", view.edge_types),
    ]))
    actions = Table(title=f"action sequence ({len(view.actions)} actions)", title_justify="left")
    number_column(actions, "#")
    text_column(actions, "action")
    for i, label in enumerate(view.actions):
        actions.add_row(str(i), escape(label))
    console.print(actions)
    examples = Table(title="examples", title_justify="left")
    text_column(examples, "input")
    text_column(examples, "output")
    for ex in view.examples:
        examples.add_row(
            ", ".join(json.dumps(a) for a in ex["input"]), json.dumps(ex["output"])
        )
    console.print(Group(examples, kv_table("sizes", list(view.sizes.items()))))


def render_grammar(console: Console, rows: list[tuple[str, list[str]]]) -> None:
    """`astae inspect grammar`."""
    table = Table(
        title=f"grammar {GRAMMAR.fingerprint}: {len(GRAMMAR.productions)} productions, "
        f"{GRAMMAR.num_actions} actions",
        title_justify="left",
    )
    table.add_column("nonterminal", style="bold", no_wrap=True)
    text_column(table, "productions")
    for nt, productions in rows:
        table.add_row(nt, "\n".join(productions), end_section=True)
    console.print(table, markup=False)


class TrainProgress(TrainCallbacks):
    """Renders a training run: a progress bar per epoch, step logs, one line per epoch."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.3f}"), TextColumn("{task.fields[rate]:,.0f} programs/s"),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=console, transient=True,
        )
        self.task = None
        self.epochs = 0
        self._epoch = ""
        self._started = 0.0
        self._programs = 0

    def __enter__(self) -> TrainProgress:
        return self  # the bar starts with the first epoch: a run that fails before shows only its error

    def __exit__(self, *exc: object) -> None:
        if self.progress.live.is_started:
            self.progress.stop()

    def notice(self, message: str) -> None:
        self.console.print(f"[yellow]{escape(message)}[/]")

    def run_started(self, info: RunInfo) -> None:
        self.epochs = info.epochs
        rows = [
            ("run", info.run_dir), ("device", info.device),
            ("programs", f"{info.train_programs:,} train / {info.val_programs:,} validation"
                         + (f" ({info.skipped_programs} over the decode budget, skipped)"
                            if info.skipped_programs else "")),
            ("parameters", f"{info.parameters:,}"), ("wandb", info.wandb_mode),
        ]
        if info.start_epoch:
            rows.append(("resuming after epoch", info.start_epoch))
        self.console.print(kv_table("training", rows))

    def epoch_started(self, epoch: int, steps: int) -> None:
        if not self.progress.live.is_started:
            self.progress.start()
        if self.task is not None:
            self.progress.remove_task(self.task)
        self._started, self._programs = time.perf_counter(), 0
        self._epoch = f"{epoch}/{self.epochs}"
        self.task = self.progress.add_task("", total=steps, epoch=self._epoch, loss=0.0, rate=0.0)

    def step_done(self, loss: float, programs: int) -> None:
        self._programs += programs
        rate = self._programs / max(1e-9, time.perf_counter() - self._started)
        self.progress.update(self.task, advance=1, loss=loss, rate=rate)

    def step_logged(self, record: dict) -> None:
        self.progress.console.print(
            f"[dim]step {record['step']:>6}  loss {record['train/step_loss']:8.3f}  "
            f"similarity {record['train/step_similarity']:.3f}[/]"
        )

    def evaluating(self, programs: int) -> None:
        self.progress.update(self.task, epoch=f"{self._epoch} (decoding {programs} programs)")

    def epoch_done(self, record: dict) -> None:
        parts = [f"epoch {record['epoch']:>3}", f"train loss {record['train/loss']:8.3f}",
                 f"val loss {record['val/loss']:8.3f}"]
        for key, label in (("val/exact_match", "exact"), ("val/similarity", "sim"),
                           ("val/compilation_rate", "compiles"), ("val/all_examples_rate", "all ex")):
            if key in record:
                parts.append(f"{label} {record[key]:.3f}")
        self.progress.console.print("  ".join(parts))


VAL_METRICS = ("loss", "reconstruction_loss", "kl", "semantic_loss", "similarity", "exact_match",
               "compilation_rate", "one_example_rate", "all_examples_rate")


def render_train_result(console: Console, result: TrainResult) -> None:
    """The summary table at the end of `astae train`."""
    table = Table()
    text_column(table, "metric")
    number_column(table, "last epoch")
    number_column(table, "best evaluated epoch")
    for name in VAL_METRICS:
        key = f"val/{name}"
        if key in result.final or key in result.best_eval:
            cells = [f"{r[key]:.4f}" if key in r else "-" for r in (result.final, result.best_eval)]
            table.add_row(name, *cells)
    if result.final:
        table.add_row("epoch", str(result.final.get("epoch", "-")), str(result.best_eval.get("epoch", "-")))
    console.print(heading(f"validation ({result.run_dir})"))
    console.print(table)
    files = sorted(p.name for p in result.run_dir.iterdir() if not p.name.startswith("."))
    console.print(f"artifacts: {escape(str(result.run_dir))}/ ({', '.join(files)})")


def render_reconstructions(console: Console, examples: list[dict]) -> None:
    """Decoded validation programs beside their originals."""
    if not examples:
        return
    table = Table(title="validation programs and their greedy decodes", title_justify="left", show_lines=True)
    table.add_column("original")
    table.add_column("decoded")
    for ex in examples:
        total = len(ex["outcomes"])
        verdict = "exact" if ex["exact"] else f"{ex['passed']}/{total} examples pass"
        table.add_row(  # half the width each: the source lines wrap rather than lose their ends
            Syntax(ex["original"], "python", theme="ansi_dark", word_wrap=True),
            Group(Syntax(ex["decoded"] or "(incomplete)", "python", theme="ansi_dark", word_wrap=True),
                  Text(verdict, style="green" if ex["exact"] else "yellow")),
        )
    console.print(table)


# --- astae inspect checkpoint | latent ---------------------------------------------------------------


def _file_size(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:,.0f} {unit}"
        n /= 1024
    return f"{n:,.1f} GiB"


def render_checkpoint_summary(console: Console, s: CheckpointSummary) -> None:
    """`astae inspect checkpoint`."""
    dataset = f"{s.dataset_path} ({s.dataset_programs:,} programs)" if s.dataset_path else "(not recorded)"
    if s.dataset_path and not s.dataset_present:
        dataset += " - no longer there (pass --data_dir to commands that need it)"
    rows: list[tuple[str, object]] = [
        ("file", _file_size(s.file_bytes)),
        ("epoch", f"{s.epoch}" + (f" (step {s.step:,})" if s.step is not None else "")),
        ("best val loss", f"{s.best_val_loss:.4f}" if s.best_val_loss is not None else "-"),
        ("grammar", s.grammar_fingerprint),
        ("dataset", dataset),
        ("behaviour features", s.num_features if s.num_features is not None else "-"),
        ("latent prior", "stored (Gaussian fitted to the training codes)" if s.latent_prior
         else "not stored (written when training ends)"),
    ]
    if s.run_dir:
        rows.append(("run", s.run_dir))
    console.print(kv_table(f"checkpoint {s.path}", rows))
    if s.compatible:
        console.print(f"[green]compatible:[/] grammar {s.current_fingerprint} and vocabularies match")
    else:
        console.print(f"[bold red]incompatible:[/] {escape('; '.join(s.problems))}; this astae cannot load "
                      "its weights")
    sections = [(name, values) for name, values in s.config.items() if isinstance(values, dict)]
    console.print(Columns([kv_table(f"config: {name}", list(values.items())) for name, values in sections]))
    console.print(_parameter_table(s))
    if s.history is not None:
        _render_history(console, s.history)


def _parameter_table(s: CheckpointSummary) -> Table:
    total = s.total_parameters or 1
    table = Table(title=f"parameters ({s.total_parameters:,})", title_justify="left")
    text_column(table, "module")
    number_column(table, "parameters")
    number_column(table, "share")
    for module in s.modules:
        table.add_row(f"[bold]{escape(module.name)}[/]", f"{module.parameters:,}",
                      f"{module.parameters / total:.1%}")
        for part, count in module.parts:
            table.add_row(f"  {escape(part)}", f"[dim]{count:,}[/]", f"[dim]{count / total:.1%}[/]")
    return table


HISTORY_ROWS = ("epoch", "train/loss", *(f"val/{m}" for m in VAL_METRICS), "val/tf_similarity",
                "val/tf_exact_match")


def _render_history(console: Console, h: TrainingHistory) -> None:
    # Headers short enough for the metric names and three columns of numbers within 80 columns.
    columns = [("last epoch", h.last), ("min val loss", h.best)]
    if h.best_evaluated and h.best_evaluated is not h.best:
        columns.append(("best evaluated epoch", h.best_evaluated))
    columns = [(label, record) for label, record in columns if record]
    source = "the checkpoint's best evaluated epoch" if h.epochs is None else f"{h.source}, {h.epochs} epochs"
    # Headings as lines, not table titles: a title wraps at the width of its (narrow) table.
    console.print(f"[italic]training history[/] ({escape(source)})", soft_wrap=True)
    if h.note:
        console.print(f"[yellow]{escape(h.note)}[/]", soft_wrap=True)
    if not columns:
        return
    table = Table()
    text_column(table, "metric")
    for label, _ in columns:
        number_column(table, label)
    for key in HISTORY_ROWS:
        if any(key in record for _, record in columns):
            table.add_row(key, *(_metric(record.get(key)) for _, record in columns))
    console.print(table)


def _metric(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}" if isinstance(value, float) else escape(str(value))


def render_latent_map(console: Console, m: LatentMap) -> None:
    """`astae inspect latent`."""
    pc1, pc2 = m.explained_variance
    rows: list[tuple[str, object]] = [
        ("checkpoint", m.checkpoint),
        ("dataset", m.dataset),
        ("programs", f"{len(m.ids):,} ({m.split} split)"),
        ("latent dim", m.latent_dim),
        ("explained variance", f"PC1 {pc1:.1%}, PC2 {pc2:.1%} (together {pc1 + pc2:.1%})"),
        ("program size", f"{m.actions[0]}-{m.actions[1]} actions"),
    ]
    console.print(kv_table("latent map (PCA of the mean codes)", rows))
    legend = [(f"other ({m.other_signatures} signatures)" if name == "other" else short_signature(name),
               count) for name, count in m.signatures]
    console.print(count_table("colours by signature", "signature", legend, bar=True,
                              caption=SIGNATURE_LEGEND))
    console.print(f"wrote {escape(str(m.out))}", soft_wrap=True)  # a path to copy, unbroken
