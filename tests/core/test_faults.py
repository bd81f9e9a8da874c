"""Faults and interruptions: processes killed mid-write, Ctrl-C, a full disk, hostile checkpoints.

The kills are real signals sent to real `astae` processes. A full disk is made three ways: a file
that fails with ENOSPC after some bytes (any write astae makes, in-process), the kernel's file size
limit (RLIMIT_FSIZE: real failed writes, EFBIG), and, where user namespaces allow it, a tiny tmpfs
that really fills up.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from astae.cli.app import app
from astae.core import training
from astae.core.checkpoint import load_checkpoint, load_model, read_checkpoint, save_checkpoint
from astae.core.config import TrainConfig
from astae.core.dataset import DatasetError, load_dataset
from astae.core.errors import CheckpointError, WriteError
from astae.core.files import atomic_file, write_json, write_jsonl
from astae.core.plots import plot_curves
from astae.core.tracking import Tracker, WandbChoice, read_metrics
from tests.conftest import TINY_MODEL

runner = CliRunner()
TINY = ["--set", "model.hidden_dim=16", "--set", "model.latent_dim=8", "--set", "model.encoder_layers=1",
        "--set", "training.eval_workers=1", "--set", "training.threads=1", "--batch_size", "16",
        "--set", "training.checkpoint_interval=1", "--no_wandb"]
ENV = {**os.environ, "WANDB_MODE": "disabled"}


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def only_run_dir(artifacts: Path) -> Path:
    (run_dir,) = [p for p in artifacts.iterdir() if p.name.startswith("run_")]
    return run_dir


def temp_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith("."))


def flat(output: str) -> str:
    """`output` with rich's line wrapping undone (whitespace runs become one space)."""
    return " ".join(output.split())


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def val_epochs(run_dir: Path) -> list[int]:
    return [r["epoch"] for r in read_metrics(run_dir / "metrics.jsonl") if "val/loss" in r]


# -- real processes ----------------------------------------------------------------------------


@dataclass
class Spawned:
    proc: subprocess.Popen
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Spawned]]:
    """Start a process in its own session (output to files); kill whatever is left of it after.
    Ctrl-C is restored to its default in the child: a suite started in the background (`pytest &`)
    inherits SIGINT ignored, and the Ctrl-C tests would then see a run that cannot be interrupted."""
    started: list[Spawned] = []

    def start(*args: object, name: str = "proc") -> Spawned:
        with open(tmp_path / f"{name}.out", "w") as out, open(tmp_path / f"{name}.err", "w") as err:
            proc = subprocess.Popen([str(a) for a in args], stdout=out, stderr=err, env=ENV,
                                    start_new_session=True, preexec_fn=_default_sigint)
        started.append(Spawned(proc, tmp_path / f"{name}.err"))
        return started[-1]

    yield start
    for spawned in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(spawned.proc.pid, signal.SIGKILL)
        spawned.proc.wait()


def wait_for(condition: Callable[[], object], spawned: Spawned, timeout: float = 120) -> object:
    """Poll `condition` until it is truthy; fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if spawned.proc.poll() is not None:
            pytest.fail(f"exited with {spawned.proc.returncode} too early:\n{spawned.stderr()[-2000:]}")
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout} s:\n{spawned.stderr()[-2000:]}")


# `astae` with torch.save replaced: the first checkpoint of epoch KILL_EPOCH gets half its bytes
# flushed to the temp file, then the process SIGKILLs itself, in the middle of the write.
KILL_MID_SAVE = """
import io, os, signal, sys
import torch

KILL_EPOCH = int(sys.argv.pop(1))
real_save = torch.save


def save(obj, f, *args, **kwargs):
    if isinstance(obj, dict) and obj.get("epoch") == KILL_EPOCH:
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        data = buffer.getvalue()
        f.write(data[: len(data) // 2])
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return real_save(obj, f, *args, **kwargs)


torch.save = save
from astae.cli.app import main

sys.argv[0] = "astae"
main()
"""


@pytest.mark.slow
def test_sigkill_mid_checkpoint_keeps_the_previous_ones_and_resume_equals_a_straight_run(
    tiny_dataset, tmp_path, spawn
):
    wrapper = tmp_path / "kill_mid_save.py"
    wrapper.write_text(KILL_MID_SAVE)
    train = ["train", "--data_dir", tiny_dataset, "--epochs", 3, *TINY]
    killed = spawn(sys.executable, wrapper, 2, *train, "--artifacts_dir", tmp_path / "killed")
    assert killed.proc.wait(timeout=180) == -signal.SIGKILL, killed.stderr()

    run_dir = only_run_dir(tmp_path / "killed")
    (torn,) = temp_files(run_dir)  # the write that was cut short, under a temp name only
    assert torn.name.endswith(".tmp") and torn.stat().st_size > 0
    checkpoints = sorted(p.name for p in run_dir.glob("*.pt"))
    assert "checkpoint_epoch_1.pt" in checkpoints and "checkpoint_epoch_2.pt" not in checkpoints
    for name in checkpoints:  # every checkpoint under a final name is whole, and from epoch 1
        assert load_checkpoint(run_dir / name)["epoch"] == 1, name

    resumed = run("train", "--resume", run_dir / "checkpoint_epoch_1.pt", "--epochs", 3)
    assert resumed.exit_code == 0, resumed.output
    assert f"removed 1 temp file(s) left by a write that was cut short: {torn.name}" in flat(resumed.output)
    assert not temp_files(run_dir)
    straight = run(*train, "--artifacts_dir", tmp_path / "straight")
    assert straight.exit_code == 0, straight.output

    a = load_checkpoint(only_run_dir(tmp_path / "straight") / "final_model.pt")
    b = load_checkpoint(run_dir / "final_model.pt")
    assert a["epoch"] == b["epoch"] == 3
    assert all(torch.allclose(a["model"][k], b["model"][k], atol=1e-6) for k in a["model"])
    assert val_epochs(run_dir) == [1, 2, 3]  # the killed epoch's step logs were dropped, not doubled


@pytest.mark.slow
def test_sigint_saves_the_last_completed_epoch_exits_130_and_resume_finishes(tiny_dataset, tmp_path, spawn):
    artifacts = tmp_path / "runs"
    training = spawn(sys.executable, "-m", "astae", "train", "--data_dir", tiny_dataset, "--epochs", 50,
                     "--log_interval", 1, "--artifacts_dir", artifacts, *TINY)

    def in_epoch_two() -> bool:
        for metrics in artifacts.glob("run_*/metrics.jsonl"):
            return any(r.get("epoch", 0) >= 2 and "step" in r for r in read_metrics(metrics))
        return False

    wait_for(in_epoch_two, training)
    training.proc.send_signal(signal.SIGINT)
    assert training.proc.wait(timeout=120) == 130
    run_dir = only_run_dir(artifacts)
    (interrupted,) = run_dir.glob("interrupted_epoch_*.pt")
    epoch = int(interrupted.stem.rpartition("_")[2])
    assert epoch >= 1 and load_checkpoint(interrupted)["epoch"] == epoch
    stderr = training.stderr()
    assert "Traceback" not in stderr
    assert f"error: interrupted; resume with: astae train --resume {interrupted}" in stderr
    assert not temp_files(run_dir)

    resumed = run("train", "--resume", interrupted, "--epochs", epoch + 1)
    assert resumed.exit_code == 0, resumed.output
    assert load_checkpoint(run_dir / "final_model.pt")["epoch"] == epoch + 1
    assert val_epochs(run_dir) == list(range(1, epoch + 2))


@pytest.mark.slow
def test_sigkill_during_dataset_build_leaves_no_dataset_and_a_rerun_finishes(tmp_path, spawn):
    parent = tmp_path / "data"
    build = ["dataset", "build", "--n", 150, "--workers", 2, "--seed", 3]
    first = spawn(sys.executable, "-m", "astae", *build, "--out", parent / "D", name="first")

    def half_written() -> bool:
        return any(p.stat().st_size > 0 for p in parent.glob(".D.partial-*/programs.jsonl"))

    wait_for(half_written, first)
    first.proc.kill()  # the main process only, as the OOM killer would; its workers see EOF and exit
    first.proc.wait(timeout=30)

    assert not (parent / "D").exists()
    assert all(p.name.startswith(".D.partial-") for p in parent.iterdir())  # hidden leftovers only
    with pytest.raises(DatasetError):
        load_dataset(parent / "D")

    again = spawn(sys.executable, "-m", "astae", *build, "--out", parent / "D", name="again")
    assert again.proc.wait(timeout=180) == 0, again.stderr()
    assert len(load_dataset(parent / "D")) == 150
    clean = run(*build, "--out", tmp_path / "clean")
    assert clean.exit_code == 0, clean.output
    programs = (parent / "D" / "programs.jsonl").read_bytes()
    assert programs == (tmp_path / "clean" / "programs.jsonl").read_bytes()


def test_ctrl_c_during_an_atomic_write_keeps_the_previous_file_and_no_temp_file(tmp_path):
    path = write_json(tmp_path / "report.json", {"previous": True})
    with pytest.raises(KeyboardInterrupt), atomic_file(path) as f:
        f.write('{"half": ')
        raise KeyboardInterrupt
    assert json.loads(path.read_text()) == {"previous": True}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_ctrl_c_during_the_final_saves_still_saves_a_checkpoint_to_resume_from(
    tiny_dataset, tmp_path, monkeypatch
):
    cfg = TrainConfig.model_validate({
        "data": {"data_dir": str(tiny_dataset)}, "model": TINY_MODEL,
        "training": {"epochs": 1, "batch_size": 16, "eval_workers": 1, "threads": 1},
        "tracking": {"wandb": False, "artifacts_dir": str(tmp_path)},
    })

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(training, "_latent_prior", interrupted)  # fitting the prior comes after the last epoch
        try:
            result = training.train(cfg)
        except KeyboardInterrupt:  # would otherwise stop the whole test session
            pytest.fail("Ctrl-C during the final saves escaped train() without saving")
    assert result.interrupted and result.checkpoint.name == "interrupted_epoch_1.pt"
    resumed = training.train(cfg, resume=result.checkpoint)
    assert not resumed.interrupted
    assert load_checkpoint(resumed.run_dir / "final_model.pt")["epoch"] == 1


# -- a full disk ---------------------------------------------------------------------------------


class _FullDisk:
    """A file that takes `room` more bytes (or characters), then fails as a full disk does."""

    def __init__(self, file, room: int) -> None:
        self.file, self.room = file, room

    def write(self, data):
        if len(data) > self.room:
            self.file.write(data[: self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.file.write(data)

    def __getattr__(self, name: str):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.file.close()


@pytest.fixture
def full_disk(monkeypatch) -> Callable[[str], None]:
    """`full_disk(NAME)`: from now on, atomic writes of files called NAME run out of space."""

    def fill(name: str, room: int = 1000) -> None:
        real_fdopen = os.fdopen

        def fdopen(fd, *args, **kwargs):
            file = real_fdopen(fd, *args, **kwargs)
            target = Path(os.readlink(f"/proc/self/fd/{fd}")).name
            return _FullDisk(file, room) if target.startswith(f".{name}.") else file

        monkeypatch.setattr(os, "fdopen", fdopen)

    return fill


def test_a_full_disk_stops_astae_train_with_one_error_line_and_keeps_the_previous_checkpoint(
    tiny_dataset, tmp_path, full_disk
):
    first = run("train", "--data_dir", tiny_dataset, "--epochs", 1, "--artifacts_dir", tmp_path, *TINY)
    assert first.exit_code == 0, first.output
    run_dir = only_run_dir(tmp_path)
    before = (run_dir / "final_model.pt").read_bytes()

    full_disk("final_model.pt")
    result = run("train", "--resume", run_dir / "final_model.pt", "--epochs", 2)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    (line,) = error_lines(result.output)
    assert (f"cannot write {run_dir / 'final_model.pt'}: no space left on device (the disk is full); "
            "the previous final_model.pt is intact; training stopped (fix that, then resume with: "
            f"astae train --resume {run_dir / 'checkpoint_epoch_2.pt'})") in line
    assert (run_dir / "final_model.pt").read_bytes() == before
    assert load_checkpoint(run_dir / "checkpoint_epoch_2.pt")["epoch"] == 2
    assert not temp_files(run_dir)


def test_a_full_disk_before_the_first_checkpoint_says_none_was_written(tiny_dataset, tmp_path, full_disk):
    full_disk("config.json", room=10)
    result = run("train", "--data_dir", tiny_dataset, "--epochs", 1, "--artifacts_dir", tmp_path, *TINY)
    assert result.exit_code == 1, result.output
    (line,) = error_lines(result.output)
    assert "config.json: no space left on device (the disk is full); no config.json was written" in line
    assert not temp_files(only_run_dir(tmp_path))


def test_a_full_disk_keeps_the_previous_eval_report(tiny_run, tmp_path, full_disk):
    report = tmp_path / "report.json"
    report.write_text('{"previous": true}\n')
    full_disk("report.json")
    result = run("eval", tiny_run / "best_model.pt", "--out", report, "--workers", 1)
    assert result.exit_code == 1, result.output
    (line,) = error_lines(result.output)
    assert f"cannot write {report}: no space left on device (the disk is full)" in line
    assert report.read_text() == '{"previous": true}\n'
    assert not temp_files(tmp_path)


@contextlib.contextmanager
def file_size_limit(nbytes: int) -> Iterator[None]:
    """The kernel refuses writes past `nbytes` (EFBIG) in this process for the block's duration."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the process is killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def _records(epochs: int) -> list[dict]:
    return [{"epoch": e, "train/loss": 1.0 / e, "val/loss": 2.0 / e, "val/similarity": e / epochs}
            for e in range(1, epochs + 1)]


WRITERS = {
    "write_json": lambda path, n: write_json(path, {"rows": list(range(n))}),
    "write_jsonl": lambda path, n: write_jsonl(path, ({"i": i} for i in range(n))),
    "save_checkpoint": lambda path, n: save_checkpoint(path, {"model": {"w": torch.zeros(n)}}),
    "plot_curves": lambda path, n: plot_curves(_records(n // 1000 + 2), path),
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_write_the_kernel_refuses_keeps_the_previous_file_and_no_temp_file(tmp_path, writer):
    path = tmp_path / ("out.png" if writer == "plot_curves" else "out.bin")
    WRITERS[writer](path, 10)  # the previous file (of any size: the failed write goes to a temp file)
    before = path.read_bytes()
    with file_size_limit(10_000), pytest.raises(WriteError) as caught:
        WRITERS[writer](path, 100_000)
    assert str(caught.value).startswith(f"cannot write {path}: file too large")
    assert str(caught.value).endswith("the previous out.png is intact" if writer == "plot_curves"
                                      else "the previous out.bin is intact")
    assert caught.value.errno == errno.EFBIG
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_metrics_line_the_kernel_refuses_is_a_write_error_and_resume_trims_it(tmp_path):
    choice = WandbChoice("disabled")
    with Tracker(tmp_path, {}, choice=choice) as tracker:
        tracker.log({"epoch": 1, "val/loss": 1.0})
        size = (tmp_path / "metrics.jsonl").stat().st_size
        with file_size_limit(size + 10), pytest.raises(WriteError, match="metrics.jsonl: file too large"):
            tracker.log({"epoch": 2, "val/loss": 0.5, "padding": "x" * 100})
    assert (tmp_path / "metrics.jsonl").stat().st_size == size + 10  # a torn line
    with Tracker(tmp_path, {}, choice=choice) as tracker:
        tracker.log({"epoch": 2, "val/loss": 0.5})
    assert [r["epoch"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2]


def _can_mount_a_tmpfs(directory: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {directory}"],
                           capture_output=True)
    return probe.returncode == 0


# Runs inside a user and mount namespace whose ARTIFACTS is a small tmpfs: trains until the disk
# is full, then reports what is left there (the tmpfs vanishes with the namespace).
ON_A_SMALL_DISK = """
import json, subprocess, sys
from pathlib import Path
from astae.core.checkpoint import load_checkpoint

artifacts, args = Path(sys.argv[1]), sys.argv[2:]
done = subprocess.run([sys.executable, "-m", "astae", *args], capture_output=True, text=True)
(run_dir,) = artifacts.glob("run_*")
print(json.dumps({
    "code": done.returncode, "stderr": done.stderr,
    "files": sorted(p.name for p in run_dir.iterdir()),
    "epochs": {p.name: load_checkpoint(p)["epoch"] for p in run_dir.glob("*.pt")},
}))
"""


@pytest.mark.slow
def test_astae_train_on_a_disk_that_fills_up_stops_cleanly(tiny_dataset, tmp_path):
    artifacts = tmp_path / "small_disk"
    artifacts.mkdir()
    if not _can_mount_a_tmpfs(artifacts):
        pytest.skip("cannot mount a tmpfs in a user namespace here")
    script = tmp_path / "on_a_small_disk.py"
    script.write_text(ON_A_SMALL_DISK)
    # 900 KiB: config, metrics, curves and epoch 1's two checkpoints (~350 KB each) fit; epoch 2's do not.
    inner = [sys.executable, script, artifacts, "train", "--data_dir", tiny_dataset, "--epochs", 3,
             "--artifacts_dir", artifacts, *TINY]
    command = (f"mount -t tmpfs -o size=900k tmpfs {shlex.quote(str(artifacts))} && "
               + " ".join(shlex.quote(str(a)) for a in inner))
    done = subprocess.run(["unshare", "-rm", "sh", "-c", command], capture_output=True, text=True, env=ENV,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 1, report["stderr"]
    assert "Traceback" not in report["stderr"]
    (line,) = error_lines(report["stderr"])
    assert "no space left on device (the disk is full)" in line
    assert "resume with: astae train --resume" in line
    assert not [name for name in report["files"] if name.startswith(".")]
    assert report["epochs"]["checkpoint_epoch_1.pt"] == 1
    assert "final_model.pt" not in report["files"]


# -- checkpoints that would run code -------------------------------------------------------------


class _Payload:
    """Unpickling this runs a shell command that creates `canary`."""

    def __init__(self, canary: Path) -> None:
        self.canary = canary

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.canary))}",))


class _Scripted(torch.nn.Module):
    """Scripted and saved, a TorchScript archive whose loading runs `__setstate__` (a print)."""

    def __init__(self) -> None:
        super().__init__()
        self.x = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.x

    @torch.jit.export
    def __getstate__(self) -> tuple[int, bool]:
        return (self.x, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[int, bool]) -> None:
        print("code from the archive ran")
        self.x = state[0]
        self.training = state[1]


def _hostile(kind: str, path: Path, canary: Path) -> None:
    payload = {"format": 1, "model": _Payload(canary), "config": {}, "epoch": 1}
    if kind == "zip-format pickle":
        torch.save(payload, path)
    elif kind == "legacy-format pickle":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    elif kind == "plain pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        torch.jit.save(torch.jit.script(_Scripted()), str(path))


HOSTILE = ["zip-format pickle", "legacy-format pickle", "plain pickle", "TorchScript archive"]
LOADERS = {"read_checkpoint": read_checkpoint, "load_checkpoint": load_checkpoint, "load_model": load_model}


@pytest.fixture
def hostile(tmp_path, monkeypatch) -> Callable[[str], tuple[Path, Path]]:
    """`hostile(KIND)`: a checkpoint whose loading would create a canary file (for TorchScript:
    anything that reaches `torch.jit.load`, which runs the archive's code)."""

    def make(kind: str) -> tuple[Path, Path]:
        path, canary = tmp_path / f"{kind.replace(' ', '_')}.pt", tmp_path / "CANARY"
        _hostile(kind, path, canary)

        def jit_load(*args, **kwargs):
            canary.touch()
            raise AssertionError("torch.jit.load reached")

        monkeypatch.setattr(torch.jit, "load", jit_load)
        return path, canary

    return make


@pytest.mark.parametrize("loader", list(LOADERS))
@pytest.mark.parametrize("kind", HOSTILE)
def test_a_checkpoint_that_would_run_code_is_refused_unrun(hostile, kind, loader):
    path, canary = hostile(kind)
    with pytest.raises(CheckpointError, match="not a readable astae checkpoint") as caught:
        LOADERS[loader](path)
    assert str(caught.value).startswith(f"{path}: ")
    if kind in ("zip-format pickle", "TorchScript archive"):
        assert "refused" in str(caught.value)
    assert not canary.exists()


@pytest.mark.parametrize("command", [["eval"], ["sample"], ["inspect", "checkpoint"], ["train", "--resume"]])
@pytest.mark.parametrize("kind", HOSTILE)
def test_every_command_taking_a_checkpoint_refuses_one_that_would_run_code(hostile, kind, command):
    path, canary = hostile(kind)
    result = run(*command, path)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = error_lines(result.output)
    assert f"{path}: not a readable astae checkpoint" in line
    assert not canary.exists()


def test_the_hostile_files_do_run_code_without_the_safeguards(hostile, tmp_path):
    """The canary is real: plain `pickle.load` of the zip-format payload does create it."""
    path, canary = hostile("plain pickle")
    pickle.loads(path.read_bytes())
    assert canary.exists()


def test_torch_load_runs_a_torchscript_archives_code_but_read_checkpoint_refuses_it_unread(tmp_path, capfd):
    """Why `read_checkpoint` checks the format first: torch 2.2's `torch.load(weights_only=True)`
    hands a TorchScript archive to `torch.jit.load`, which runs the archive's `__setstate__`."""
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(_Scripted()), str(path))
    with pytest.raises(CheckpointError, match="refused: a TorchScript archive"):
        read_checkpoint(path)
    assert "code from the archive ran" not in capfd.readouterr().out
    with pytest.warns(UserWarning, match="TorchScript"):
        torch.load(path, weights_only=True)
    assert "code from the archive ran" in capfd.readouterr().out

