"""The tables of `astae eval`, `astae sample` and `astae synthesize` read whole at 80 columns."""

import dataclasses
import json

from astae.cli.render import SIGNATURE_LEGEND, short_signature
from astae.cli.render_model import (
    SIGNATURES_SHOWN,
    render_eval_report,
    render_sample_report,
    render_synthesis_result,
)
from astae.core.grammar import all_signatures
from astae.core.metrics import RATE_KEYS
from tests.cli.narrow import assert_fits, kv_value, render, row, words

COUNTS = {"exact_match": "exact", "compilation_rate": "compiled", "one_example_rate": "one_example",
          "all_examples_rate": "all_examples"}


def breakdown_row(group: dict, label: str) -> list[str]:
    return [label, f"{group['count']:,}", *(f"{group[k]:.3f}" for k in RATE_KEYS)]


def test_eval_tables_fit_80_columns_with_every_number_whole(tiny_eval):
    report, _ = tiny_eval
    text = render(render_eval_report, report)
    assert_fits(text)
    c = report.counts
    for key, value in report.metrics.items():
        count = f"{c[COUNTS[key]]:,} / {c['programs']:,}" if key in COUNTS else ""
        assert row(text, key) == [key, f"{value:.4f}", count]
    assert len(report.by_size) > 1
    for group in report.by_size:
        assert row(text, group["group"]) == breakdown_row(group, group["group"])
    assert len(report.by_signature) > SIGNATURES_SHOWN  # the title says how many are left out
    assert f"({len(report.by_signature) - SIGNATURES_SHOWN} rarer signatures not shown)" in text
    for group in report.by_signature[:SIGNATURES_SHOWN]:
        label = short_signature(group["group"])
        assert row(text, label) == breakdown_row(group, label)
    assert SIGNATURE_LEGEND in text


def test_the_longest_signatures_and_six_digit_counts_still_fit(tiny_eval):
    report, _ = tiny_eval
    longest = sorted((s.display for s in all_signatures()), key=len, reverse=True)[:SIGNATURES_SHOWN]
    rows = [{**group, "group": sig, "count": 123_456}
            for group, sig in zip(report.by_signature, longest, strict=False)]
    text = render(render_eval_report, dataclasses.replace(report, by_signature=rows))
    assert_fits(text)
    for group in rows:
        label = short_signature(group["group"])
        assert row(text, label) == breakdown_row(group, label)


def test_sample_report_fits_80_columns(tiny_run):
    from astae.core.sampling import sample_prior

    report = sample_prior(tiny_run / "best_model.pt", n=4, seed=2, workers=1)
    text = render(render_sample_report, report)
    assert_fits(text)
    for key, value in report.stats.items():
        assert kv_value(text, key) == ("not measured" if value is None else f"{value:.3f}")
    shown = words(text)
    for sample in report.samples:
        assert words(sample.source) <= shown
        for run in sample.runs:
            if run["status"] == "ok":
                assert words(json.dumps(run["output"])) <= shown


def test_synthesis_summary_fits_80_columns(tiny_run, tmp_path):
    from astae.core.synthesis import synthesize
    from astae.core.synthesis_tasks import load_task

    examples = tmp_path / "three_lists.json"
    examples.write_text(json.dumps([{"input": [[3, 1], [2], [7, 7, 7]], "output": [3, 1, 2]},
                                    {"input": [[], [5], []], "output": [5]}]))
    task = load_task(examples)
    result = synthesize(tiny_run / "best_model.pt", task, budget=40, workers=1)
    text = render(render_synthesis_result, task, result)
    assert_fits(text)
    assert f"{result.candidates:,} proposed, {result.distinct:,} different programs run" in text
    right = round(result.share * result.examples)
    assert kv_value(text, "best program") == (
        f"{right}/{result.examples} examples right, closeness {result.closeness:.3f}"
    )
    assert words(f"({result.examples} examples, {result.signature})") <= words(text)
