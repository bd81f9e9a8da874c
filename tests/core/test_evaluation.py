import json
import shutil

import pytest

from astae.core.checkpoint import load_checkpoint, save_checkpoint
from astae.core.config import ConfigError
from astae.core.dataset import DatasetError
from astae.core.evaluation import evaluate_checkpoint, size_bucket
from astae.core.metrics import RATE_KEYS

DESIGN_KEYS = ("loss", "reconstruction_loss", "kl", "similarity", "exact_match", "compilation_rate",
               "one_example_rate", "all_examples_rate")


class Evaluated:
    """A report and its dump's rows."""

    def __init__(self, report, rows):
        self.report, self.programs = report, rows

    def __getattr__(self, name):
        return getattr(self.report, name)


def evaluated(tmp_path, checkpoint, name="dump.jsonl", **kw) -> Evaluated:
    dump = tmp_path / name
    report = evaluate_checkpoint(checkpoint, workers=1, dump=dump, **kw)
    return Evaluated(report, [json.loads(line) for line in dump.read_text().splitlines()])


@pytest.fixture(scope="module")
def report(tiny_run, tmp_path_factory):
    return evaluated(tmp_path_factory.mktemp("eval"), tiny_run / "best_model.pt")


def test_report_has_every_design_metric_and_its_counts_agree_with_the_rows(report):
    for key in DESIGN_KEYS:
        assert report.metrics[key] >= 0.0 or key in ("loss", "reconstruction_loss")
    rows = report.programs
    n = report.counts["programs"]
    assert n == len(rows) > 0
    assert report.metrics["exact_match"] == pytest.approx(sum(r["exact"] for r in rows) / n)
    assert report.metrics["compilation_rate"] == pytest.approx(sum(r["compiles"] for r in rows) / n)
    assert report.metrics["one_example_rate"] == pytest.approx(sum(r["passed"] >= 1 for r in rows) / n)
    assert report.metrics["all_examples_rate"] == pytest.approx(
        sum(r["passed"] == len(r["outcomes"]) for r in rows) / n
    )
    assert report.metrics["similarity"] == pytest.approx(sum(r["similarity"] for r in rows) / n)
    assert report.counts["exact"] == sum(r["exact"] for r in rows)
    assert report.throughput["decode_programs_per_second"] > 0


def test_the_split_is_the_checkpoints_own(report, tiny_run, tmp_path):
    from astae.core.training_data import prepare_data

    data = prepare_data(report.data_dir, 100, 42, 0.2)
    assert [r["id"] for r in report.programs] == data.val_ids.tolist()
    everything = evaluated(tmp_path, tiny_run / "best_model.pt", split="all")
    assert [r["id"] for r in everything.programs] == sorted([*data.val_ids, *data.train_ids])
    train = evaluated(tmp_path, tiny_run / "best_model.pt", "train.jsonl", split="train", limit=5)
    assert [r["id"] for r in train.programs] == data.train_ids[:5].tolist()


def test_the_test_split_is_the_one_the_checkpoints_config_holds_out(tiny_run, tmp_path):
    from astae.core.training_data import prepare_data

    payload = load_checkpoint(tiny_run / "best_model.pt")
    payload["config"]["data"]["test_fraction"] = 0.3
    held_out = save_checkpoint(tmp_path / "held_out.pt", payload)
    report = evaluated(tmp_path, held_out, split="test")
    data = prepare_data(report.data_dir, 100, 42, 0.2, test_fraction=0.3)
    assert [r["id"] for r in report.programs] == data.test_ids.tolist() and len(data.test_ids) > 0
    assert not set(data.test_ids.tolist()) & set(data.val_ids.tolist())


def test_chunked_evaluation_equals_one_chunk(report, tiny_run, tmp_path):
    chunked = evaluated(tmp_path, tiny_run / "best_model.pt", chunk_size=3)
    assert chunked.metrics == pytest.approx(report.metrics)
    assert chunked.counts == report.counts and chunked.by_signature == report.by_signature
    def exact_fields(rows):
        return [{k: v for k, v in r.items() if k not in ("log_prob", "score")} for r in rows]

    assert exact_fields(chunked.programs) == exact_fields(report.programs)
    log_probs = [r["log_prob"] for r in report.programs]
    assert [r["log_prob"] for r in chunked.programs] == pytest.approx(log_probs)


def test_breakdowns_cover_every_program_once(report):
    for groups in (report.by_size, report.by_signature):
        assert sum(g["count"] for g in groups) == report.counts["programs"]
        for g in groups:
            assert set(RATE_KEYS) <= set(g)
    sizes = {r["id"]: size_bucket(r["actions"]) for r in report.programs}
    assert {g["group"] for g in report.by_size} == set(sizes.values())


def test_json_report_is_plain_data_without_the_rows(report):
    data = json.loads(json.dumps(report.report.to_json()))
    assert "programs" not in data and data["split"] == "val" and data["decoding"]["strategy"] == "greedy"


def test_beam_search_evaluation(tiny_run, report, tmp_path):
    beam = evaluated(tmp_path, tiny_run / "best_model.pt", beam=3)
    assert beam.decoding == {**report.decoding, "strategy": "beam", "beam": 3}
    assert beam.metrics["compilation_rate"] == 1.0
    for b, g in zip(beam.programs, report.programs):
        assert b["score"] >= g["score"] - 1e-5


def test_size_buckets():
    labels = [size_bucket(n) for n in (1, 15, 16, 23, 64, 500)]
    assert labels == ["1-15", "1-15", "16-23", "16-23", "64+", "64+"]


def test_bad_split_and_beam_are_config_errors(tiny_run):
    with pytest.raises(ConfigError, match="^split: 'holdout' is not one of val, train, test, all"):
        evaluate_checkpoint(tiny_run / "best_model.pt", split="holdout")
    with pytest.raises(ConfigError, match="^split: 'test': this checkpoint has no test programs"):
        evaluate_checkpoint(tiny_run / "best_model.pt", split="test")
    with pytest.raises(ConfigError, match="^beam: the beam width must be at least 1"):
        evaluate_checkpoint(tiny_run / "best_model.pt", beam=0)


def test_a_gone_dataset_asks_for_data_dir_and_data_dir_overrides(tiny_run, tiny_dataset, tmp_path):
    payload = load_checkpoint(tiny_run / "best_model.pt")
    payload["dataset"] = {"path": str(tmp_path / "gone"), "programs": 50}
    moved = save_checkpoint(tmp_path / "moved.pt", payload)
    with pytest.raises(DatasetError, match="pass data_dir=DIR"):
        evaluate_checkpoint(moved, workers=1)
    copy = tmp_path / "copy"
    shutil.copytree(tiny_dataset, copy)
    report = evaluate_checkpoint(moved, data_dir=copy, limit=3, workers=1)
    assert report.data_dir == str(copy) and report.counts["programs"] == 3


def test_a_failed_evaluation_leaves_no_dump(tiny_run, tmp_path):
    dump = tmp_path / "dump.jsonl"
    dump.write_text("previous\n")
    with pytest.raises(ConfigError):
        evaluate_checkpoint(tiny_run / "best_model.pt", split="test", dump=dump)
    assert dump.read_text() == "previous\n" and list(tmp_path.iterdir()) == [dump]


def test_eval_reproduces_the_validation_metrics_training_logged(tiny_run):
    from astae.core.tracking import read_metrics

    last = [r for r in read_metrics(tiny_run / "metrics.jsonl") if "val/exact_match" in r][-1]
    report = evaluate_checkpoint(tiny_run / "final_model.pt", workers=1)
    for key in ("loss", "reconstruction_loss", "similarity", "exact_match", "compilation_rate",
                "one_example_rate", "all_examples_rate"):
        assert report.metrics[key] == pytest.approx(last[f"val/{key}"], abs=1e-4), key


def test_a_corrupt_record_in_the_split_is_a_clear_error(tiny_run, tiny_dataset, tmp_path):
    from astae.core.training_data import prepare_data

    copy = tmp_path / "copy"
    shutil.copytree(tiny_dataset, copy)
    victim = prepare_data(tiny_dataset, 100, 42, 0.2).val_ids[0]
    lines = (copy / "programs.jsonl").read_text().splitlines()
    record = json.loads(lines[victim])
    record["actions"] = record["actions"][1:] + record["actions"][:1]
    lines[victim] = json.dumps(record)
    (copy / "programs.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=f"programs.jsonl:{victim + 1}: field `actions`"):
        evaluate_checkpoint(tiny_run / "best_model.pt", data_dir=copy, workers=1)
