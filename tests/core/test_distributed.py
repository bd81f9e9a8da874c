"""Training on two CPU processes (torchrun, gloo on the loopback address) against one process.

Tolerance of the comparison with one process: the two runs add the same float32 numbers in another
order (each rank sums its half of a batch, gloo adds the halves), so gradients differ by rounding,
~1e-7 relative. AdamW divides each gradient by its running RMS, which turns rounding on a
parameter whose true gradient is ~0 (the key bias of the pointer scores, shift-invariant under
the softmax) into up to a full step of lr = 0.003. Measured over these 6 steps: largest weight
difference 1.2e-4; the difference vector is 3e-4 of how far the second epoch moved the weights;
0.06% of the weights differ by more than 1e-5. Dropping the share weighting (DDP's plain average
of unequal halves) gives 1.8e-2, 13% and 57%. So: every weight within 1e-3, and the difference
vector within 1e-2 of the second epoch's movement.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from astae.core.checkpoint import load_checkpoint
from astae.core.config import ConfigError, ModelConfig, TrainConfig
from astae.core.distributed import Cluster, share, share_weight, unshare, weights_digest
from astae.core.model.autoencoder import ASTAutoencoder
from astae.core.tracking import read_metrics
from astae.core.training import share_loss, train

# The same run as flags and as a config; batch 15 splits 38 training programs 15 + 15 + 8,
# so the first two batches give the ranks unequal halves (8 and 7).
MODEL = {"hidden_dim": 16, "latent_dim": 8, "encoder_layers": 1, "dropout": 0.0}
TRAINING = {"epochs": 2, "batch_size": 15, "threads": 1, "eval_workers": 1, "warmup_steps": 0,
            "checkpoint_interval": 1, "log_interval": 1}
ATOL = 1e-3


def _flags(data_dir: Path, artifacts: Path) -> list[str]:
    sets = [f"model.{k}={v}" for k, v in MODEL.items()] + [f"training.{k}={v}" for k, v in TRAINING.items()]
    return ["--data_dir", str(data_dir), "--artifacts_dir", str(artifacts), "--no_wandb",
            *[arg for s in sets for arg in ("--set", s)]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun_command(port: int, *options: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", *options,
            "--master_addr", "127.0.0.1", "--master_port", str(port)]


def _torchrun_env(env: dict | None = None) -> dict:
    return {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "WANDB_MODE": "disabled", **(env or {})}


def _torchrun(target: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `target` (e.g. ["-m", "astae", "train", ...]) on 2 CPU processes over the loopback."""
    command = [*_torchrun_command(_free_port(), "--nproc_per_node", "2"), *target]
    done = subprocess.run(command, cwd=cwd, env=_torchrun_env(env), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _only_run(artifacts: Path) -> Path:
    runs = list(artifacts.glob("run_*"))
    assert len(runs) == 1, runs
    return runs[0]


def _weights(run_dir: Path, name: str = "final_model.pt") -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / name)["model"]


# Each rank records the digest of its weights as `check_replicas` (which raises if they differ)
# compares them at the end of training; only this test's launcher does that.
SPY = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    import astae.core.distributed as d
    original = d.check_replicas
    def spy(cluster, model):
        original(cluster, model)
        digest = d.weights_digest(model.state_dict())
        Path(os.environ["SPY_DIR"], f"rank{cluster.rank}.sha256").write_text(digest)
    d.check_replicas = spy
    from astae.cli.app import app
    app(sys.argv[1:], prog_name="astae")
""")


@pytest.fixture(scope="module")
def single_run(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run of one process."""
    artifacts = tmp_path_factory.mktemp("single")
    cfg = TrainConfig.model_validate({
        "data": {"data_dir": str(tiny_dataset)}, "model": MODEL, "training": TRAINING,
        "tracking": {"wandb": False, "artifacts_dir": str(artifacts)},
    })
    return train(cfg).run_dir


@pytest.fixture(scope="module")
def two_process_run(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same run on two processes: (its run dir, the folder of each rank's weight digest)."""
    root = tmp_path_factory.mktemp("two")
    (root / "spy.py").write_text(SPY)
    (root / "spy").mkdir()
    _torchrun([str(root / "spy.py"), "train", *_flags(tiny_dataset, root / "artifacts")], cwd=root,
              env={"SPY_DIR": str(root / "spy")})
    return _only_run(root / "artifacts"), root / "spy"


def _assert_close_weights(got: dict, want: dict, start: dict) -> None:
    for key in want:
        assert torch.allclose(got[key], want[key], rtol=0, atol=ATOL), key
    diff = torch.cat([(got[k] - want[k]).flatten() for k in want]).norm()
    moved = torch.cat([(want[k] - start[k]).flatten() for k in want]).norm()
    assert diff < 1e-2 * moved


@pytest.mark.slow
def test_two_processes_train_what_one_process_trains_on_the_same_global_batch(single_run, two_process_run):
    run_dir, _ = two_process_run
    single = json.loads((single_run / "config.json").read_text())
    double = json.loads((run_dir / "config.json").read_text())
    single["tracking"].pop("artifacts_dir"), double["tracking"].pop("artifacts_dir")
    assert single == double
    epoch_1 = _weights(single_run, "checkpoint_epoch_1.pt")
    _assert_close_weights(_weights(run_dir), _weights(single_run), epoch_1)
    one, two = read_metrics(single_run / "metrics.jsonl"), read_metrics(run_dir / "metrics.jsonl")
    assert [sorted(r) for r in one] == [sorted(r) for r in two]  # rank 0 alone logged, once per step
    for a, b in zip(one, two):
        for key, value in a.items():
            if key != "val/decode_seconds":
                assert b[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key


@pytest.mark.slow
def test_ranks_end_with_identical_weights_and_rank_0_alone_writes(two_process_run):
    run_dir, spy = two_process_run
    digests = {p.name: p.read_text() for p in spy.iterdir()}
    assert set(digests) == {"rank0.sha256", "rank1.sha256"}
    assert digests["rank0.sha256"] == digests["rank1.sha256"] == weights_digest(_weights(run_dir))
    assert {p.name for p in run_dir.iterdir()} == {
        "config.json", "metrics.jsonl", "curves.png", "best_model.pt", "final_model.pt",
        "checkpoint_epoch_1.pt", "checkpoint_epoch_2.pt",
    }


@pytest.mark.slow
def test_two_processes_resume_as_if_never_stopped(tiny_dataset, two_process_run, tmp_path):
    straight, _ = two_process_run
    run_dir = tmp_path / "artifacts" / straight.name
    shutil.copytree(straight, run_dir)
    for name in ("final_model.pt", "best_model.pt", "checkpoint_epoch_2.pt"):
        (run_dir / name).unlink()
    _torchrun(["-m", "astae", "train", "--resume", str(run_dir / "checkpoint_epoch_1.pt"),
               "--epochs", "2"], cwd=tmp_path)
    assert _only_run(tmp_path / "artifacts") == run_dir
    resumed, want = _weights(run_dir), _weights(straight)
    assert all(torch.equal(resumed[k], want[k]) for k in want)
    epochs = [r["epoch"] for r in read_metrics(run_dir / "metrics.jsonl") if "val/loss" in r]
    assert epochs == [1, 2]


@pytest.mark.slow
def test_two_machines_train_exactly_what_two_processes_on_one_machine_train(
    tiny_dataset, two_process_run, tmp_path
):
    """Two torchrun agents (`--nnodes 2 --node_rank K`, one process each), each started in its own
    folder as on two machines that share the dataset, meet over the loopback."""
    port, agents = _free_port(), []
    for node in (0, 1):
        home = tmp_path / f"machine{node}"
        home.mkdir()
        agent = _torchrun_command(port, "--nnodes", "2", "--node_rank", str(node), "--nproc_per_node", "1")
        command = [*agent, "-m", "astae", "train", *_flags(tiny_dataset, Path("artifacts"))]
        agents.append(subprocess.Popen(command, cwd=home, env=_torchrun_env(), text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    for agent in agents:
        output, _ = agent.communicate(timeout=300)
        assert agent.returncode == 0, output[-3000:]
    assert not (tmp_path / "machine1" / "artifacts").exists()  # only node 0 (rank 0) writes
    run_dir, want = _only_run(tmp_path / "machine0" / "artifacts"), _weights(two_process_run[0])
    got = _weights(run_dir)
    assert all(torch.equal(got[k], want[k]) for k in want)


@pytest.mark.parametrize("size", [0, 1, 2, 7, 15, 16])
@pytest.mark.parametrize("world", [1, 2, 3])
def test_shares_split_a_batch_disjointly_and_unshare_restores_it(size, world):
    items = list(range(100, 100 + size))
    parts = [share(items, Cluster(rank, world)) for rank in range(world)]
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert unshare(parts) == items
    assert sum(share_weight(len(p), size, Cluster(0, world)) for p in parts if size) == (world if size else 0)


@pytest.mark.parametrize("batch", [7, 1])  # unequal halves; one program for two ranks
def test_weighted_shares_average_to_the_gradient_of_the_global_batch(tiny_training_data, batch):
    data = tiny_training_data
    torch.manual_seed(0)
    model = ASTAutoencoder(ModelConfig(**MODEL), data.num_features)
    ids = data.train_ids[:batch]
    cpu = torch.device("cpu")

    def gradients(cluster: Cluster) -> list[torch.Tensor]:
        model.zero_grad(set_to_none=True)
        share_loss(model, data, ids, cluster, cpu)[0].backward()
        return [p.grad.clone() for p in model.parameters()]

    whole = gradients(Cluster())
    ranks = [gradients(Cluster(rank, 2)) for rank in range(2)]
    averaged = [(a + b) / 2 for a, b in zip(*ranks)]  # what DDP's all-reduce makes of them
    for want, got in zip(whole, averaged):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6)


def test_cluster_is_read_from_torchruns_environment():
    assert Cluster.from_env({}) == Cluster()
    env = {"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "MASTER_ADDR": "h", "MASTER_PORT": "1"}
    cluster = Cluster.from_env(env)
    assert (cluster.rank, cluster.world_size, cluster.local_rank, cluster.is_main) == (3, 4, 1, False)
    with pytest.raises(ConfigError, match="RANK"):
        Cluster.from_env({**env, "RANK": "4"})
    with pytest.raises(ConfigError, match="MASTER_ADDR"):
        Cluster.from_env({"WORLD_SIZE": "2", "RANK": "0"})
