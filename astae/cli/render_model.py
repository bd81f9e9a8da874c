"""Rich rendering of what trained models produce: `astae eval` reports, `astae sample` programs and
`astae synthesize` results."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from astae.cli.render import SIGNATURE_LEGEND, kv_table, number_column, short_signature, text_column
from astae.core.metrics import RATE_KEYS

if TYPE_CHECKING:  # the reports' modules load the model stack; rendering does not need it
    from astae.core.evaluation import EvalReport
    from astae.core.sampling import SampleReport
    from astae.core.synthesis import SynthesisResult
    from astae.core.synthesis_tasks import SynthesisTask

SIGNATURES_SHOWN = 12
_COUNT_OF = {"exact_match": "exact", "compilation_rate": "compiled", "one_example_rate": "one_example",
             "all_examples_rate": "all_examples"}


# Headers of the breakdown tables, as in the epoch lines of `astae train`: a label column, the
# programs and five rates fit 80 columns (the metrics table above names the rates in full).
_SHORT = {"similarity": "sim", "exact_match": "exact", "compilation_rate": "compiles",
          "one_example_rate": "1+ ex", "all_examples_rate": "all ex"}


def _group_table(title: str, header: str, rows: list[dict], signatures: bool = False) -> Table:
    table = Table(title=title, title_justify="left", caption=escape(SIGNATURE_LEGEND) if signatures else None,
                  caption_justify="left")
    text_column(table, header)
    number_column(table, "programs")
    for key in RATE_KEYS:
        number_column(table, _SHORT[key])
    for row in rows:
        label = short_signature(row["group"]) if signatures else row["group"]
        table.add_row(escape(label), f"{row['count']:,}", *(f"{row[k]:.3f}" for k in RATE_KEYS))
    return table


def render_eval_report(console: Console, report: EvalReport) -> None:
    """Header, metrics with counts, and the breakdowns by size and signature."""
    d, c, t = report.decoding, report.counts, report.throughput
    strategy = f"beam search, width {d['beam']}" if d["beam"] > 1 else "greedy"
    console.print(kv_table("evaluation", [
        ("checkpoint", report.checkpoint),
        ("dataset", f"{report.data_dir} ({report.split} split)"),
        ("programs", f"{c['programs']:,} ({c['examples']:,} examples)"
                     + (f"; {c['skipped']} over the decode budget, not evaluated" if c["skipped"] else "")),
        ("decoding", f"{strategy} on {d['device']}, {d['max_decode_steps']} actions at most"),
        ("model time", f"{t['decode_seconds']:.1f} s ({t['decode_programs_per_second']:,.0f} programs/s: "
                       "encoding, teacher-forced loss, decoding)"),
        ("run time", f"{t['run_seconds']:.1f} s (decodes run on the examples)"),
    ]))
    table = Table(title="metrics", title_justify="left")
    text_column(table, "metric")
    number_column(table, "value")
    number_column(table, "programs")
    for key, value in report.metrics.items():
        count = c.get(_COUNT_OF.get(key, ""))
        table.add_row(key, f"{value:.4f}", f"{count:,} / {c['programs']:,}" if count is not None else "")
    console.print(table)
    console.print(_group_table("by program size (actions)", "actions", report.by_size))
    shown = report.by_signature[:SIGNATURES_SHOWN]
    more = len(report.by_signature) - len(shown)
    console.print(_group_table(
        "by signature" + (f" ({more} rarer signatures not shown)" if more > 0 else ""), "signature", shown,
        signatures=True,
    ))


def _runs_table(runs: list[dict]) -> Table:
    table = Table(show_header=True, box=None, padding=(0, 1))
    text_column(table, "input", style="dim")
    text_column(table, "output")
    for run in runs:
        args = ", ".join(json.dumps(a) for a in run["input"])
        if run["status"] == "ok":
            table.add_row(escape(args), escape(json.dumps(run["output"])))
        else:
            detail = f"{run['status']}: {run['output']}" if run["output"] else run["status"]
            table.add_row(escape(args), Text(detail, style="red"))
    return table


def render_sample_report(console: Console, report: SampleReport) -> None:
    """Each program syntax-highlighted with its runs, then the statistics."""
    for message in report.notes:
        console.print(f"[yellow]{escape(message)}[/]")
    for i, s in enumerate(report.samples):
        title = f"{i}  {s.signature or 'invalid'}" + (f"  ({s.note})" if s.note else "")
        tags = [] if s.novel is None else ["novel" if s.novel else "in training set"]
        if not s.valid:
            tags.append(f"rejected: {s.error}")
        source = Syntax(s.source, "python", theme="ansi_dark", word_wrap=True)
        body = Group(source, _runs_table(s.runs)) if s.runs else source
        console.print(Panel(body, title=escape(title), title_align="left",
                            subtitle=escape(", ".join(tags)), subtitle_align="right"))
    d = report.decoding
    how = f"sampling at temperature {d['temperature']}" if d["strategy"] == "sampling" else "greedy"
    rows = [("checkpoint", report.checkpoint), ("latent codes", _describe_mode(report)), ("decoding", how)]
    for key, value in report.stats.items():
        rows.append((key, "not measured" if value is None else f"{value:.3f}"))
    console.print(kv_table(f"{len(report.samples)} programs", rows))


def _describe_mode(report: SampleReport) -> str:
    if report.mode == "prior":
        return f"drawn from the {report.prior} prior"
    if report.mode == "interpolate":
        return "evenly spaced between two programs' codes"
    return "around one program's code"


def render_synthesis_result(console: Console, task: SynthesisTask, result: SynthesisResult) -> None:
    """The program found (or the best partial one), then what the search cost."""
    for message in result.notes:
        console.print(f"[yellow]{escape(message)}[/]")
    if result.program is not None:
        title = "solution" if result.solved else "best partial program"
        if result.found is not None:
            title += " (shrunk: parts the examples do not need removed)"
        source = Syntax(result.program, "python", theme="ansi_dark", word_wrap=True)
        console.print(Panel(source, title=title, title_align="left", border_style="green" if result.solved
                            else "yellow"))
    right = round(result.share * result.examples)
    verdict = (Text(f"solved after {result.candidates:,} candidates", style="green") if result.solved
               else Text(f"not solved within {result.budget:,} candidates", style="yellow"))
    rows = [
        ("task", f"{task.path} ({result.examples} examples, {result.signature})"),
        ("method", f"{result.method} (seed {result.seed})"),
        ("result", verdict),
        ("best program", f"{right}/{result.examples} examples right, closeness {result.closeness:.3f}"),
        ("candidates", f"{result.candidates:,} proposed, {result.distinct:,} different programs run"
         + (f"; {result.shrink_runs:,} shrinking runs" if result.shrink_runs else "")),
        ("time", f"{result.seconds:.1f} s"),
    ]
    console.print(kv_table("synthesis", rows))
