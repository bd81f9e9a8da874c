import json

import pytest

from astae.core.checkpoint import load_checkpoint, save_checkpoint
from astae.core.config import ConfigError
from astae.core.dataset import DatasetError
from astae.core.evaluation import evaluate_checkpoint
from astae.core.language import check_source
from astae.core.sampling import SamplingContext, interpolate, neighbours, sample_prior


def test_prior_samples_are_valid_and_the_statistics_count_them(tiny_run):
    report = sample_prior(tiny_run / "best_model.pt", n=12, seed=1, workers=1)
    assert len(report.samples) == 12 and report.mode == "prior" and report.prior == "aggregate"
    for s in report.samples:
        check_source(s.source)
        assert s.valid and s.signature and len(s.runs) == 3
        assert s.runs_ok == all(r["status"] == "ok" for r in s.runs)
    stats = report.stats
    assert stats["validity"] == 1.0
    assert stats["runs_rate"] == pytest.approx(sum(s.runs_ok for s in report.samples) / 12)
    assert stats["uniqueness"] == pytest.approx(len({s.source for s in report.samples}) / 12)
    assert stats["novelty"] == pytest.approx(sum(s.novel for s in report.samples) / 12)
    assert report.notes == []  # the prior was stored at the end of training


def test_novelty_is_measured_against_the_training_split_only(tiny_run):
    ctx = SamplingContext.open(tiny_run / "best_model.pt", None, need_data=False)
    programs = ctx.data.dataset.programs
    train, val = programs[int(ctx.data.train_ids[3])]["source"], programs[int(ctx.data.val_ids[0])]["source"]
    unseen = "def program(a0: int) -> int:\n    return a0 * 7 + 9 * a0"
    assert ctx.in_training({train, val, unseen}) == {train}


def test_samples_are_deterministic_for_a_seed(tiny_run):
    def sources(seed, **kw):
        report = sample_prior(tiny_run / "best_model.pt", n=6, seed=seed, workers=1, **kw)
        return [s.source for s in report.samples]

    assert sources(3) == sources(3)
    assert sources(3) != sources(4)
    assert sources(3, temperature=None) == sources(3, temperature=None)  # greedy
    assert sources(3, prior="standard") == sources(3, prior="standard")


def test_aggregate_prior_is_fitted_on_demand_when_the_checkpoint_has_none(tiny_run, tmp_path):
    payload = load_checkpoint(tiny_run / "best_model.pt")
    del payload["latent_prior"]
    bare = save_checkpoint(tmp_path / "bare.pt", payload)
    report = sample_prior(bare, n=3, workers=1)
    assert any("fitted now" in note for note in report.notes)
    stored = sample_prior(tiny_run / "best_model.pt", n=3, workers=1)
    assert [s.source for s in report.samples] == [s.source for s in stored.samples]


def test_without_the_dataset_novelty_is_not_measured(tiny_run, tmp_path):
    payload = load_checkpoint(tiny_run / "best_model.pt")
    payload["dataset"] = {"path": str(tmp_path / "gone"), "programs": 50}
    moved = save_checkpoint(tmp_path / "moved.pt", payload)
    report = sample_prior(moved, n=3, workers=1)
    assert report.stats["novelty"] is None and any("novelty not measured" in n for n in report.notes)
    with pytest.raises(DatasetError, match="pass data_dir=DIR"):
        interpolate(moved, 0, 1, workers=1)


@pytest.mark.slow
def test_interpolation_endpoints_decode_to_the_programs_of_an_overfitted_model(overfit_run):
    checkpoint = overfit_run / "final_model.pt"
    evaluate_checkpoint(checkpoint, split="train", workers=1, dump=overfit_run / "train.jsonl")
    rows = [json.loads(line) for line in (overfit_run / "train.jsonl").read_text().splitlines()]
    exact = [r for r in rows if r["exact"]]
    assert len(exact) >= 2, "the overfitted model should reconstruct training programs exactly"
    a, b = exact[0], exact[-1]
    report = interpolate(checkpoint, a["id"], b["id"], steps=5, workers=1)
    assert [s.note for s in report.samples] == ["t=0.00", "t=0.25", "t=0.50", "t=0.75", "t=1.00"]
    assert report.samples[0].source == a["original"]
    assert report.samples[-1].source == b["original"]


def test_neighbours_start_with_the_programs_own_decode(tiny_run, tmp_path):
    report = neighbours(tiny_run / "best_model.pt", 3, radius=0.3, n=4, workers=1)
    assert len(report.samples) == 5 and report.samples[0].note == "centre"
    evaluate_checkpoint(tiny_run / "best_model.pt", split="all", workers=1, dump=tmp_path / "all.jsonl")
    own = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text().splitlines()][3]
    assert own["id"] == 3
    assert report.samples[0].source == own["decoded"]
    assert all("sigma" in s.note for s in report.samples[1:])
    zero = neighbours(tiny_run / "best_model.pt", 3, radius=0.0, n=2, workers=1)
    assert {s.source for s in zero.samples} == {own["decoded"]}


def test_bad_arguments_are_clear_errors(tiny_run):
    ckpt = tiny_run / "best_model.pt"
    with pytest.raises(ConfigError, match="^prior: "):
        sample_prior(ckpt, prior="uniform")
    with pytest.raises(ConfigError, match="^temperature: "):
        sample_prior(ckpt, temperature=0.0)
    with pytest.raises(ConfigError, match="^steps: "):
        interpolate(ckpt, 0, 1, steps=1)
    with pytest.raises(DatasetError, match="no program 999"):
        interpolate(ckpt, 0, 999, workers=1)
    with pytest.raises(DatasetError, match="no program -1"):
        neighbours(ckpt, -1, workers=1)
