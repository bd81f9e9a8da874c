"""The tables of `astae dataset`, `astae inspect` and `astae train` read whole at 80 columns."""

import dataclasses
import json

import pytest

from astae.cli.render import (
    SIGNATURE_LEGEND,
    kv_table,
    render_build_report,
    render_checkpoint_summary,
    render_dataset_summary,
    render_grammar,
    render_latent_map,
    render_program,
    render_reconstructions,
    render_train_result,
    short_signature,
)
from astae.core.dataset import load_dataset
from astae.core.dataset_build import build_dataset
from astae.core.grammar import all_signatures
from astae.core.inspection import grammar_table, summarize_dataset, view_program
from astae.core.training_events import TrainResult
from tests.cli.narrow import assert_fits, kv_value, render, row, words
from tests.conftest import TINY


def test_short_signatures_are_short_and_name_one_signature_each():
    shorts = {sig.display: short_signature(sig.display) for sig in all_signatures()}
    assert len(set(shorts.values())) == len(shorts)
    assert max(len(s) for s in shorts.values()) == len("(L, L, L) -> L")
    assert shorts["(list[int], int) -> list[int]"] == "(L, I) -> L"
    assert "I = int" in SIGNATURE_LEGEND and "L = list[int]" in SIGNATURE_LEGEND
    assert short_signature("other (13 signatures)") == "other (13 signatures)"


def test_a_long_title_stays_one_line_above_a_narrow_table():
    path = "/data/runs/" + "d" * 50  # 70 characters: one line of 80, five times the table's width
    text = render(lambda console: console.print(kv_table(f"dataset {path}", [("programs", "50")])))
    assert_fits(text)
    assert f"dataset {path}" in text
    assert kv_value(text, "programs") == "50"


def test_build_report_fits_80_columns(tmp_path):
    report = build_dataset(tmp_path / "small", 12, seed=1, cfg=TINY, workers=1)
    text = render(render_build_report, report)
    assert_fits(text)
    assert kv_value(text, "programs") == f"{report.programs:,}"
    assert kv_value(text, "candidates tried") == f"{report.candidates:,}"
    for reason, count in report.rejected.items():
        assert kv_value(text, f"rejected: {reason}") == f"{count:,}"


def test_dataset_summary_fits_80_columns(tiny_dataset):
    s = summarize_dataset(load_dataset(tiny_dataset))
    text = render(render_dataset_summary, s)
    assert_fits(text)
    assert len(s.signatures) > 12 and SIGNATURE_LEGEND in text
    for name, count in s.signatures:
        assert row(text, short_signature(name))[:2] == [short_signature(name), f"{count:,}"]
    for production, count in s.top_productions:
        assert row(text, production) == [production, f"{count:,}"]
    assert kv_value(text, "programs") == f"{s.programs:,}"


def test_every_program_view_fits_80_columns(tiny_dataset):
    ds = load_dataset(tiny_dataset)
    for program_id in range(len(ds)):
        view = view_program(ds, program_id)
        text = render(render_program, view)
        assert_fits(text)
        shown = words(text)
        assert words(view.source) <= shown
        for i, action in enumerate(view.actions):
            assert words(f"{i} {action}") <= shown
        for example in view.examples:
            assert words(", ".join(json.dumps(a) for a in example["input"])) <= shown
            assert words(json.dumps(example["output"])) <= shown


def test_grammar_fits_80_columns():
    rows = grammar_table()
    text = render(render_grammar, rows)
    assert_fits(text)
    shown = words(text)
    for nonterminal, productions in rows:
        assert nonterminal in shown
        for production in productions:
            assert words(production) <= shown


@pytest.fixture(scope="module")
def checkpoint_summary(tiny_run):
    from astae.core.model_inspection import summarize_checkpoint

    return summarize_checkpoint(tiny_run / "best_model.pt")


def history_rows(text, h, records):
    from astae.cli.render import HISTORY_ROWS, _metric

    for key in HISTORY_ROWS:
        if any(key in r for r in records):
            assert row(text, key) == [key, *(_metric(r.get(key)) for r in records)]


def test_checkpoint_summary_fits_80_columns(checkpoint_summary):
    s = checkpoint_summary
    text = render(render_checkpoint_summary, s)
    assert_fits(text)
    for module in s.modules:
        assert row(text, module.name) == [module.name, f"{module.parameters:,}",
                                          f"{module.parameters / s.total_parameters:.1%}"]
    assert "min val loss" in text
    history_rows(text, s.history, [s.history.last, s.history.best])


def test_a_history_of_three_epochs_fits_80_columns(tiny_run, checkpoint_summary):
    # The lowest val loss at an epoch that was not decoded: three columns, the widest table.
    records = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if "val/loss" in r]
    first = next(r for r in epochs if "val/exact_match" not in r)
    history = dataclasses.replace(checkpoint_summary.history, best=first)
    text = render(render_checkpoint_summary, dataclasses.replace(checkpoint_summary, history=history))
    assert_fits(text)
    assert "best evaluated epoch" in text
    history_rows(text, history, [history.last, history.best, history.best_evaluated])


def test_latent_map_fits_80_columns(tiny_run, tmp_path):
    from astae.core.model_inspection import latent_map

    m = latent_map(tiny_run / "best_model.pt", split="all", out=tmp_path / "map.png")
    text = render(render_latent_map, m)
    assert_fits(text)
    assert SIGNATURE_LEGEND in text
    for name, count in m.signatures:
        label = f"other ({m.other_signatures} signatures)" if name == "other" else short_signature(name)
        assert row(text, label)[:2] == [label, f"{count:,}"]


def test_train_result_fits_80_columns(tiny_run):
    from astae.cli.render import VAL_METRICS

    records = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if "val/loss" in r]
    evaluated = [r for r in epochs if "val/exact_match" in r]
    best = min(evaluated, key=lambda r: r["val/loss"])
    result = TrainResult(tiny_run, epochs[-1]["epoch"], best["val/loss"], final=epochs[-1], best_eval=best)
    text = render(render_train_result, result)
    assert_fits(text)
    assert f"validation ({tiny_run})" in text
    for name in VAL_METRICS:
        assert row(text, name) == [name, *(f"{r[f'val/{name}']:.4f}" for r in (epochs[-1], best))]


def test_reconstructions_fit_80_columns(tiny_eval):
    _, dumped = tiny_eval
    examples = dumped[:5]
    text = render(render_reconstructions, examples)
    assert_fits(text)
    shown = words(text)
    for ex in examples:
        assert words(ex["original"]) <= shown
        assert words(ex["decoded"] or "(incomplete)") <= shown
