import json
import sys
from pathlib import Path

import numpy as np
import pytest

from astae.core.tracking import (
    METRICS_FILE,
    Tracker,
    WandbChoice,
    choose_wandb_mode,
    read_metrics,
)

KEY = "k" * 40
STEP = {"train/step_loss": 2.5, "train/step_similarity": 0.25, "step": 10, "train/step_batch_idx": 3}
EPOCH = {"epoch": 3, "train/loss": 2.0, "val/loss": 2.25, "val/exact_match": 0.5}


@pytest.fixture
def offline_home(monkeypatch, tmp_path):
    """No API key, HOME and NETRC in a tmp dir, WANDB_MODE=offline: wandb cannot reach anything."""
    for name in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_BASE_URL", "WANDB_DIR"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NETRC", str(home / ".netrc"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    return home


def _netrc(tmp_path: Path, machine: str) -> Path:
    path = tmp_path / "netrc"
    path.write_text(f"machine {machine}\n  login user\n  password {KEY}\n")
    return path


@pytest.mark.parametrize(
    ("enabled", "env", "mode"),
    [
        (False, {"WANDB_MODE": "online", "WANDB_API_KEY": KEY}, "disabled"),
        (True, {"WANDB_MODE": "offline", "WANDB_API_KEY": KEY}, "offline"),
        (True, {"WANDB_MODE": "disabled", "WANDB_API_KEY": KEY}, "disabled"),
        (True, {"WANDB_MODE": "online", "WANDB_API_KEY": KEY}, "online"),
        (True, {"WANDB_MODE": "dryrun"}, "offline"),
        (True, {"WANDB_MODE": " Run ", "WANDB_API_KEY": KEY}, "online"),
        (True, {"WANDB_API_KEY": KEY}, "online"),
    ],
)
def test_choose_wandb_mode_honours_flag_mode_and_key_without_notice(tmp_path, enabled, env, mode):
    choice = choose_wandb_mode(enabled, env, netrc_path=tmp_path / "missing")
    assert choice == WandbChoice(mode, None)


def test_choose_wandb_mode_without_key_or_mode_goes_offline_with_notice(tmp_path):
    choice = choose_wandb_mode(True, {}, netrc_path=tmp_path / "missing")
    assert choice.mode == "offline"
    assert "no API key" in choice.notice and "offline" in choice.notice


def test_choose_wandb_mode_online_without_key_goes_offline_instead_of_prompting(tmp_path):
    choice = choose_wandb_mode(True, {"WANDB_MODE": "online"}, netrc_path=tmp_path / "missing")
    assert choice.mode == "offline"
    assert "WANDB_MODE=online" in choice.notice


def test_choose_wandb_mode_bad_mode_goes_offline_naming_the_value(tmp_path):
    choice = choose_wandb_mode(True, {"WANDB_MODE": "sideways"}, netrc_path=tmp_path / "missing")
    assert choice.mode == "offline"
    assert "sideways" in choice.notice


@pytest.mark.parametrize("machine", ["api.wandb.ai", "api.forge.coreweave.com"])
def test_choose_wandb_mode_netrc_entry_means_online(tmp_path, machine):
    assert choose_wandb_mode(True, {}, netrc_path=_netrc(tmp_path, machine)) == WandbChoice("online")


def test_choose_wandb_mode_finds_netrc_via_env_netrc_and_home(tmp_path):
    path = _netrc(tmp_path, "api.wandb.ai")
    assert choose_wandb_mode(True, {"NETRC": str(path)}).mode == "online"
    (tmp_path / ".netrc").write_text(path.read_text())
    assert choose_wandb_mode(True, {"HOME": str(tmp_path)}).mode == "online"


def test_choose_wandb_mode_ignores_netrc_entry_for_another_host(tmp_path):
    choice = choose_wandb_mode(True, {}, netrc_path=_netrc(tmp_path, "github.com"))
    assert choice.mode == "offline"


def test_choose_wandb_mode_uses_netrc_entry_for_custom_base_url(tmp_path):
    env = {"WANDB_BASE_URL": "https://wandb.example.org"}
    assert choose_wandb_mode(True, env, netrc_path=_netrc(tmp_path, "wandb.example.org")).mode == "online"
    assert choose_wandb_mode(True, env, netrc_path=_netrc(tmp_path, "api.wandb.ai")).mode == "offline"


def test_disabled_tracker_writes_logged_records_and_no_wandb_folder(tmp_path):
    with Tracker(tmp_path, {"lr": 1e-3}, choice=WandbChoice("disabled")) as tracker:
        tracker.log(STEP, step=10)
        tracker.log(EPOCH)
        tracker.summary({"best/val_loss": 2.25})
    lines = (tmp_path / METRICS_FILE).read_text().splitlines()
    assert [json.loads(line) for line in lines] == [STEP, EPOCH]
    assert sorted(p.name for p in tmp_path.iterdir()) == [METRICS_FILE]
    assert tracker.wandb_run_dir is None
    assert tracker.mode == "disabled"
    assert tracker.notices == []


def test_disabled_tracker_never_imports_wandb(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # any `import wandb` now raises ImportError
    with Tracker(tmp_path, {}, choice=WandbChoice("disabled")) as tracker:
        tracker.log(EPOCH)
    assert tracker.notices == []


def test_tracker_writes_each_record_before_finish(tmp_path):
    tracker = Tracker(tmp_path, {}, choice=WandbChoice("disabled"))
    tracker.log(STEP)
    assert read_metrics(tmp_path / METRICS_FILE) == [STEP]
    tracker.finish()


def test_tracker_logs_numpy_scalars_as_numbers(tmp_path):
    with Tracker(tmp_path, {}, choice=WandbChoice("disabled")) as tracker:
        tracker.log({"epoch": np.int64(2), "val/loss": np.float32(0.5)})
    assert read_metrics(tmp_path / METRICS_FILE) == [{"epoch": 2, "val/loss": 0.5}]


def test_tracker_log_after_finish_raises(tmp_path):
    tracker = Tracker(tmp_path, {}, choice=WandbChoice("disabled"))
    tracker.finish()
    with pytest.raises(RuntimeError, match="after finish"):
        tracker.log(STEP)


def test_resumed_tracker_appends_to_metrics(tmp_path):
    with Tracker(tmp_path, {}, choice=WandbChoice("disabled")) as tracker:
        tracker.log(STEP)
    with Tracker(tmp_path, {}, choice=WandbChoice("disabled")) as tracker:
        tracker.log(EPOCH)
    assert read_metrics(tmp_path / METRICS_FILE) == [STEP, EPOCH]


def test_tracker_without_resume_lines_starts_a_fresh_file(tmp_path):
    with Tracker(tmp_path, {}, choice=WandbChoice("disabled")) as tracker:
        tracker.log(STEP)
    with Tracker(tmp_path, {}, choice=WandbChoice("disabled"), resume_lines=False) as tracker:
        tracker.log(EPOCH)
    assert read_metrics(tmp_path / METRICS_FILE) == [EPOCH]


def test_resumed_tracker_drops_a_torn_last_line_before_appending(tmp_path):
    (tmp_path / METRICS_FILE).write_text(json.dumps(STEP) + "\n" + '{"epoch": 3, "train/lo')
    with Tracker(tmp_path, {}, choice=WandbChoice("disabled")) as tracker:
        tracker.log(EPOCH)
    assert (tmp_path / METRICS_FILE).read_text() == json.dumps(STEP) + "\n" + json.dumps(EPOCH) + "\n"


def test_read_metrics_skips_a_torn_last_line(tmp_path):
    path = tmp_path / METRICS_FILE
    path.write_text(json.dumps(STEP) + "\n" + json.dumps(EPOCH) + "\n" + '{"epoch": 4, "val/lo')
    assert read_metrics(path) == [STEP, EPOCH]


def test_read_metrics_rejects_a_corrupt_line_in_the_middle(tmp_path):
    path = tmp_path / METRICS_FILE
    path.write_text(json.dumps(STEP) + "\n{oops\n" + json.dumps(EPOCH) + "\n")
    with pytest.raises(ValueError, match=":2:"):
        read_metrics(path)


def test_tracker_notices_do_not_repeat_the_choice_notice(tmp_path, offline_home):
    choice = WandbChoice("offline", "wandb: no API key and WANDB_MODE unset; logging offline")
    with Tracker(tmp_path, {}, choice=choice, wandb_dir=tmp_path / "wb") as tracker:
        pass
    assert choice.notice not in tracker.notices
    assert len(tracker.notices) == 1 and "wandb sync" in tracker.notices[0]


def test_offline_tracker_makes_an_offline_run_under_wandb_dir(tmp_path, offline_home):
    run_dir, wandb_dir = tmp_path / "run", tmp_path / "wb"
    run_dir.mkdir()
    tracker = Tracker(run_dir, {"lr": 1e-3}, choice=WandbChoice("offline"), run_name="t", wandb_dir=wandb_dir)
    tracker.log(STEP, step=10)
    tracker.log(EPOCH, step=11)
    tracker.summary({"best/val_loss": 2.25})
    tracker.finish()
    tracker.finish()
    assert tracker.mode == "offline"
    assert tracker.wandb_run_dir.name.startswith("offline-run-")
    assert tracker.wandb_run_dir.is_relative_to(wandb_dir)
    assert list(tracker.wandb_run_dir.glob("*.wandb"))
    assert any(f"wandb sync {tracker.wandb_run_dir}" in n for n in tracker.notices)
    assert read_metrics(run_dir / METRICS_FILE) == [STEP, EPOCH]
    assert not (run_dir / "wandb").exists()


def test_failed_online_init_falls_back_to_offline(tmp_path, offline_home, monkeypatch):
    import wandb

    monkeypatch.setenv("WANDB_API_KEY", KEY)
    real_init, modes = wandb.init, []

    def flaky_init(**kwargs):
        modes.append(kwargs["mode"])
        if kwargs["mode"] == "online":
            raise wandb.errors.CommError("dial tcp: connection refused")
        return real_init(**kwargs)

    monkeypatch.setattr(wandb, "init", flaky_init)
    with Tracker(tmp_path, {}, choice=WandbChoice("online"), wandb_dir=tmp_path / "wb") as tracker:
        tracker.log(EPOCH)
    assert modes == ["online", "offline"]
    assert tracker.mode == "offline"
    assert tracker.wandb_run_dir.name.startswith("offline-run-")
    assert "online init failed (CommError: dial tcp: connection refused)" in tracker.notices[0]


def test_failed_offline_init_keeps_logging_to_metrics_only(tmp_path, offline_home, monkeypatch):
    import wandb

    def broken_init(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(wandb, "init", broken_init)
    with Tracker(tmp_path, {}, choice=WandbChoice("offline")) as tracker:
        tracker.log(EPOCH)
        tracker.summary({"x": 1})
    assert tracker.wandb_run_dir is None
    assert tracker.mode == "disabled"
    assert read_metrics(tmp_path / METRICS_FILE) == [EPOCH]
    assert tracker.notices == [
        "wandb: offline init failed (OSError: disk full); logging to metrics.jsonl only"
    ]


def test_online_choice_without_credentials_never_asks_wandb_to_go_online(tmp_path, offline_home, monkeypatch):
    import wandb

    real_init, modes = wandb.init, []

    def recording_init(**kwargs):
        modes.append(kwargs["mode"])
        return real_init(**kwargs)

    monkeypatch.setattr(wandb, "init", recording_init)
    with Tracker(tmp_path, {}, choice=WandbChoice("online"), wandb_dir=tmp_path / "wb") as tracker:
        tracker.log(EPOCH)
    assert modes == ["offline"]
    assert "no API key" in tracker.notices[0]
