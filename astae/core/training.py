"""The training loop of `astae train` (DESIGN §4, §7).

`train(cfg)` builds the model, runs the epochs, validates every `eval_interval` epochs (greedy
decodes executed on the examples), logs to the terminal (through `TrainCallbacks`), to
`metrics.jsonl` and wandb, and writes the run's artifacts:

```
ARTIFACTS_DIR/run_YYYYMMDD_HHMMSS/
  config.json  metrics.jsonl  curves.png  best_model.pt  final_model.pt
  checkpoint_epoch_X.pt (every checkpoint_interval)  validation_epoch_X.json (every dump_interval)
```

Resuming from a checkpoint restores weights, optimiser, scheduler, RNG and counters, and keeps
writing into the checkpoint's run directory: on CPU, N epochs + resume to M equals M straight.
Resuming also tidies what a killed run left there: temp files of a cut-short write, and
metrics.jsonl records of epochs after the checkpoint's.

Ctrl-C saves `interrupted_epoch_X.pt` (the last completed epoch); a file that cannot be written
(a full disk) stops the run with a `WriteError` naming the file and the checkpoint to resume from.

Under torchrun the same loop runs on every process (astae/core/distributed.py): the model is
wrapped in DistributedDataParallel, each rank trains on its share of every global batch and
validates on its share of the validation split, metrics are summed over ranks, and only rank 0
writes files and talks to wandb.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from astae.core import distributed
from astae.core.checkpoint import load_checkpoint, load_model, save_checkpoint
from astae.core.config import ConfigError, TrainConfig
from astae.core.devices import resolve_device
from astae.core.distributed import Cluster
from astae.core.errors import WriteError
from astae.core.evaluation import DECODE_LIMITS, EVAL_CHUNK, measure_ids, score_chunk
from astae.core.executor import Executor
from astae.core.files import JsonListWriter, atomic_file, remove_stale_temp_files, write_json
from astae.core.latent import fit_prior
from astae.core.metrics import ScoreTally
from astae.core.model.autoencoder import LOSS_KEYS, ASTAutoencoder, LossOutput
from astae.core.plots import plot_curves
from astae.core.tracking import METRICS_FILE, Tracker, choose_wandb_mode, read_metrics, rewind_metrics
from astae.core.training_data import TrainingData, batches, config_data, epoch_batches, make_batch
from astae.core.training_events import RunInfo, TrainCallbacks, TrainResult

EXAMPLES_SHOWN = 5  # decoded programs beside their originals in a TrainResult


def _lr_lambda(cfg: TrainConfig, steps_per_epoch: int):
    """Learning-rate factor per step: linear warm-up, then the configured schedule."""
    t = cfg.training
    total = steps_per_epoch * t.epochs

    def factor(step: int) -> float:
        if t.warmup_steps and step < t.warmup_steps:
            return (step + 1) / t.warmup_steps
        if t.lr_schedule == "exponential":  # depends on the step only: resuming with more epochs is exact
            return t.lr_decay ** (step / steps_per_epoch)
        if t.lr_schedule == "constant":
            return 1.0
        progress = min(1.0, (step - t.warmup_steps) / max(1, total - t.warmup_steps))
        return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def _new_run_dir(artifacts_dir: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    run_dir = Path(artifacts_dir) / f"run_{stamp}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = Path(artifacts_dir) / f"run_{stamp}_{suffix}"
    try:
        run_dir.mkdir(parents=True)
    except OSError as e:
        raise ConfigError(f"tracking.artifacts_dir: cannot create {run_dir} ({e.strerror})") from None
    return run_dir


class _Run:
    """The state of one training run (of this rank, under torchrun); `train` drives it."""

    def __init__(self, cfg: TrainConfig, resume: dict | None, resume_path: Path | None,
                 callbacks: TrainCallbacks, cluster: Cluster, device: torch.device) -> None:
        self.cfg = cfg
        self.cb = callbacks
        self.cluster = cluster
        self.device = device
        t = cfg.training
        if cfg.data.data_dir is None:
            raise ConfigError("data.data_dir: no dataset given; set data.data_dir")
        self.data: TrainingData = config_data(cfg, cfg.data.data_dir)
        torch.manual_seed(t.seed)
        self.model = ASTAutoencoder(cfg.model, self.data.num_features).to(self.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
        self.steps_per_epoch = math.ceil(len(self.data.train_ids) / t.batch_size)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, _lr_lambda(cfg, self.steps_per_epoch)
        )
        self.epoch, self.step, self.best_val_loss = 0, 0, math.inf
        self.best_eval: dict = {}
        self.last_saved: Path | None = None  # the newest checkpoint of this run on disk
        self.run_dir: Path | None = None  # set by `train` (rank 0 makes it, the others are told)
        if resume is not None:
            self._restore(resume, Path(resume_path))
        # What runs the training steps: the model itself, or its DDP wrapper under torchrun (every
        # parameter is used in every step, so DDP need not look for unused ones).
        self.net: torch.nn.Module = self.model
        if cluster.distributed:
            ids = [device.index] if device.type == "cuda" else None
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.snapshot = copy.deepcopy(self.payload())  # the last completed epoch, saved on Ctrl-C

    def _restore(self, resume: dict, resume_path: Path) -> None:
        """Continue from a checkpoint's weights, optimiser, scheduler, RNG and counters."""
        try:
            self.model.load_state_dict(resume["model"])
            self.optimizer.load_state_dict(resume["optimizer"])
            self.scheduler.load_state_dict(resume["scheduler"])
        except (RuntimeError, ValueError, KeyError) as e:
            lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
            first = next((ln for ln in lines if not ln.endswith(":")), type(e).__name__)
            raise ConfigError(
                f"{resume_path}: a resumed run keeps the model it was trained with; the config's "
                f"model does not fit its weights ({first[:200]})"
            ) from None
        self.scheduler.lr_lambdas[0] = _lr_lambda(self.cfg, self.steps_per_epoch)
        torch.set_rng_state(resume["rng"]["torch"])
        self.epoch, self.step = resume["epoch"], resume["step"]
        self.best_val_loss = resume["best_val_loss"]
        self.best_eval = resume.get("best_eval", {})
        self.run_dir = resume_path.parent
        self.last_saved = resume_path

    def payload(self) -> dict:
        """Everything a checkpoint holds about the run's current state."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": {"torch": torch.get_rng_state()},
            "epoch": self.epoch,
            "step": self.step,
            "best_val_loss": self.best_val_loss,
            "best_eval": self.best_eval,
            "config": self.cfg.model_dump(mode="json"),
            "num_features": self.data.num_features,
            "dataset": {"path": str(self.data.dataset.path), "programs": len(self.data.dataset)},
            "run_dir": str(self.run_dir),
        }

    def kl_scale(self) -> float:
        """Linear KL warm-up factor in [0, 1]."""
        warmup = self.cfg.model.kl_warmup_epochs * self.steps_per_epoch
        return 1.0 if warmup == 0 else min(1.0, self.step / warmup)

    def share_loss(self, ids: list[int]) -> tuple[torch.Tensor, LossOutput | None, int]:
        """`share_loss` of this rank for the global batch `ids`, through the DDP wrapper."""
        return share_loss(self.net, self.data, ids, self.cluster, self.device, self.kl_scale())

    def train_epoch(self, tracker: Tracker | _Silent) -> dict:
        """One pass over the training split; returns the epoch's train/ metrics (over all ranks)."""
        t = self.cfg.training
        rng = np.random.default_rng([t.seed, self.epoch])
        if self.cluster.distributed:
            distributed.seed_rank(t.seed, self.epoch, self.cluster)
        self.net.train()
        window: deque = deque(maxlen=t.log_interval)
        sums = dict.fromkeys(LOSS_KEYS, 0.0)
        chunks = epoch_batches(self.data, t.batch_size, rng)  # global batches, the same on every rank
        self.cb.epoch_started(self.epoch + 1, len(chunks))
        for batch_idx, ids in enumerate(chunks):
            weighted, out, mine = self.share_loss(ids)
            self.optimizer.zero_grad(set_to_none=True)
            weighted.backward()
            if t.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), t.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            self.step += 1
            n = len(ids)
            loss = similarity = 0.0
            if out is not None:
                loss, similarity = out.loss.item(), out.accuracy.mean().item()
                sums["loss"] += loss * mine
                for key, value in out.totals().items():
                    sums[key] += value
            # This rank's part of the global batch's mean loss and similarity (all of it on one process).
            window.append((loss * (mine / n), similarity * (mine / n)))
            self.cb.step_done(loss, n)
            if self.step % t.log_interval == 0:
                means = distributed.all_sum(self.cluster, {
                    "loss": sum(w[0] for w in window) / len(window),
                    "similarity": sum(w[1] for w in window) / len(window),
                })
                record = {
                    "train/step_loss": means["loss"],
                    "train/step_similarity": means["similarity"],
                    "step": self.step,
                    "train/step_batch_idx": batch_idx,
                    "epoch": self.epoch + 1,
                }
                tracker.log(record, step=self.step)
                self.cb.step_logged(record)
        sums = distributed.all_sum(self.cluster, sums)
        total = len(self.data.train_ids)
        return {f"train/{k}": v / total for k, v in sums.items()}

    def validate(self, executor: Executor, evaluate: bool) -> tuple[dict, list | None]:
        """val/ metrics: teacher-forced always; greedy decodes run on the examples if `evaluate`,
        and then the first EXAMPLES_SHOWN (id, score) pairs too (None otherwise). Decodes are
        scored a chunk at a time; on a dump epoch rank 0 writes each chunk's rows to
        validation_epoch_X.json as it goes, so nothing is held for every validation program.
        Under torchrun each rank measures and decodes its share; the results are combined."""
        t = self.cfg.training
        ids = self.data.val_ids
        decode_ids = (ids[: t.eval_max_programs] if t.eval_max_programs else ids) if evaluate else ids[:0]
        # The decoded programs' teacher-forced loss comes from score_chunk (the same codes); the rest here.
        sums, _ = measure_ids(self.model, self.data, distributed.share(ids[len(decode_ids):], self.cluster),
                              self.device, t.batch_size)
        if evaluate:
            self.cb.evaluating(len(decode_ids))
        start = time.perf_counter()
        dump = evaluate and self.epoch % t.dump_interval == 0
        tally, shown = ScoreTally(), []
        with self._dump_file(dump) as rows:
            # global chunks, the same on every rank: a rank's shares of them are its share of the split
            for chunk in batches(decode_ids, EVAL_CHUNK * self.cluster.world_size):
                mine = distributed.share(chunk, self.cluster)
                scored = score_chunk(self.model, self.data, mine, self.device, executor,
                                     max(t.batch_size, 128))
                for key, value in scored.sums.items():
                    sums[key] += value
                tally.add(scored.scores)
                if dump or len(shown) < EXAMPLES_SHOWN:  # the same on every rank
                    scores = scored.scores
                    if self.cluster.distributed:
                        scores = distributed.unshare(distributed.all_gather(self.cluster, scores))
                    pairs = list(zip(chunk, scores))
                    if rows is not None:
                        for i, score in pairs:
                            rows.write({"id": i, **score.to_json()})
                    shown.extend(pairs[: EXAMPLES_SHOWN - len(shown)])
        sums = distributed.all_sum(self.cluster, sums)
        metrics = {k: v / max(1, len(ids)) for k, v in sums.items()}
        record = {f"val/{k}": v for k, v in metrics.items() if k not in ("similarity", "exact_match")}
        record["val/tf_similarity"] = metrics["similarity"]
        record["val/tf_exact_match"] = metrics["exact_match"]
        if not evaluate:
            return record, None
        if self.cluster.distributed:
            counted = distributed.all_sum(self.cluster, {**tally.sums, "count": tally.count})
            tally.count = round(counted.pop("count"))
            tally.sums = counted
        summary = tally.summary()
        record.update({f"val/{k}": v for k, v in summary.items() if k != "count"})
        record["val/decoded_programs"] = summary["count"]
        record["val/decode_seconds"] = time.perf_counter() - start
        return record, shown

    @contextlib.contextmanager
    def _dump_file(self, wanted: bool) -> Iterator[JsonListWriter | None]:
        """validation_epoch_X.json being written (on rank 0, if `wanted`), or None."""
        if not (wanted and self.cluster.is_main):
            yield None
            return
        with atomic_file(self.run_dir / f"validation_epoch_{self.epoch}.json") as f:
            dump = JsonListWriter(f, {"epoch": self.epoch}, "programs")
            yield dump
            dump.close()

    def save(self, name: str, payload: dict | None = None) -> Path:
        """Write a checkpoint into the run directory (rank 0 only; the others write nothing)."""
        path = self.run_dir / name
        if not self.cluster.is_main:
            return path
        payload = payload if payload is not None else self.payload()
        self.last_saved = save_checkpoint(path, payload)
        return self.last_saved


def share_loss(
    net: torch.nn.Module, data: TrainingData, ids: list[int], cluster: Cluster, device: torch.device,
    kl_scale: float = 1.0,
) -> tuple[torch.Tensor, LossOutput | None, int]:
    """The loss to back-propagate for this rank's share of the global batch `ids`, the share's
    output (None if it is empty) and its size. On several ranks the loss is weighted by the share's
    part of the batch, so that DDP's average over ranks is the global batch's mean loss; a rank
    left without programs (a last batch smaller than the world) still joins the gradient
    all-reduce, with weight 0. On one process: the batch's loss, unchanged."""
    mine = distributed.share(ids, cluster)
    if not len(mine):
        out = net(make_batch(data, ids[:1], device), kl_scale=kl_scale)
        return out.loss * 0.0, None, 0
    out = net(make_batch(data, mine, device), kl_scale=kl_scale)
    if not cluster.distributed:
        return out.loss, out, len(mine)
    return out.loss * distributed.share_weight(len(mine), len(ids), cluster), out, len(mine)


class _Silent:
    """The tracker of ranks other than 0: rank 0 alone writes metrics.jsonl and talks to wandb."""

    mode = "disabled"
    notices: list[str] = []

    def log(self, record: dict, step: int | None = None) -> None:
        """Nothing: rank 0 logs the (already reduced) record."""

    def summary(self, values: dict) -> None:
        """Nothing."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def read_resume(resume: Path) -> dict:
    """The checkpoint a run resumes from, checked: this astae can use it and its weights fit the
    model its own config describes (a CheckpointError naming the file otherwise)."""
    return load_model(resume)[2]


def train(
    cfg: TrainConfig, resume: Path | None = None, callbacks: TrainCallbacks | None = None,
    checkpoint: dict | None = None,
) -> TrainResult:
    """Train an autoencoder as `cfg` says (continuing `resume` if given); return where it went.
    Under torchrun every process calls this; they train one model together (distributed.py).

    `checkpoint`: the already loaded contents of `resume`, if the caller has read it."""
    if resume is not None and checkpoint is None:
        checkpoint = read_resume(resume)
    cluster = Cluster.from_env()
    t = cfg.training
    if t.threads:
        torch.set_num_threads(t.threads)
    device = distributed.rank_device(cluster, resolve_device(t.device))
    try:
        with distributed.process_group(cluster, device) as cluster:
            cb = (callbacks or TrainCallbacks()) if cluster.is_main else TrainCallbacks()
            run = _Run(cfg, checkpoint, Path(resume) if resume is not None else None, cb, cluster, device)
            try:
                opened = distributed.on_main(cluster, lambda: _open_run(run, resumed=checkpoint is not None))
                tracker, notices = opened if opened is not None else (_Silent(), [])
                run.run_dir = Path(distributed.broadcast(cluster, str(run.run_dir)))
                with tracker:  # closes metrics.jsonl and the wandb run however training ends
                    result = _train(run, tracker, notices)
                if result.interrupted:  # the other ranks may be gone: leave without a closing barrier
                    raise _Interrupted(result)
                return result
            finally:
                run.net = run.model  # the DDP wrapper goes before its process group (distributed.py)
    except _Interrupted as stop:
        return stop.result


class _Interrupted(Exception):
    """Carries an interrupted run's result out of its process group."""

    def __init__(self, result: TrainResult) -> None:
        super().__init__("interrupted")
        self.result = result


def _open_run(run: _Run, resumed: bool) -> tuple[Tracker, list[str]]:
    """On rank 0: the run folder (made, or tidied when resumed), config.json and the tracker."""
    cfg = run.cfg
    notices = _tidy_resumed_run(run) if resumed else []
    if not resumed:
        run.run_dir = _new_run_dir(cfg.tracking.artifacts_dir)
        write_json(run.run_dir / "config.json", cfg.model_dump(mode="json"))
    choice = choose_wandb_mode(cfg.tracking.wandb)
    tracker = Tracker(
        run.run_dir, cfg.model_dump(mode="json"), choice=choice, project=cfg.tracking.wandb_project,
        run_name=cfg.tracking.wandb_run, wandb_dir=Path(cfg.tracking.artifacts_dir),
    )
    return tracker, [*notices, choice.notice, *tracker.notices]


def _train(run: _Run, tracker: Tracker | _Silent, notices: list[str]) -> TrainResult:
    """Run the epochs and the final saves; Ctrl-C saves the last completed epoch."""
    cb, t, cluster = run.cb, run.cfg.training, run.cluster
    if cluster.distributed:
        notices.append(f"distributed: {cluster.world_size} processes ({run.device.type}); each trains on "
                       f"1/{cluster.world_size} of every batch of {t.batch_size}")
    for message in notices:
        if message:
            cb.notice(message)
    cb.run_started(RunInfo(
        run.run_dir, str(run.device), len(run.data.train_ids), len(run.data.val_ids), run.data.skipped,
        sum(p.numel() for p in run.model.parameters()), run.epoch, t.epochs, tracker.mode,
    ))
    result = TrainResult(run.run_dir, run.epoch, run.best_val_loss, best_eval=run.best_eval)
    try:
        _run_epochs(run, tracker, result)
        distributed.check_replicas(cluster, run.model)
        if cluster.is_main:
            _save_with_prior(run, run.run_dir / "best_model.pt")
            run.save("final_model.pt", {**run.payload(), "latent_prior": _latent_prior(run, run.model)})
    except KeyboardInterrupt:
        result.interrupted = True
        result.checkpoint = _save_snapshot(run)
        return result
    except WriteError as e:
        raise _stopped(run, e) from None
    except RuntimeError as e:
        if not distributed.is_lost_peer(cluster, e):
            raise
        raise _lost_peer(run, e) from None
    tracker.summary({k: v for k, v in result.final.items() if k.startswith("val/")})
    result.best_val_loss, result.best_eval = run.best_val_loss, run.best_eval
    result.checkpoint = run.run_dir / "final_model.pt"
    return result


def _run_epochs(run: _Run, tracker: Tracker | _Silent, result: TrainResult) -> None:
    """The epochs still to do: train, validate, save; `result` follows the last one."""
    t = run.cfg.training
    with Executor(workers=t.eval_workers, limits=DECODE_LIMITS) as executor:
        while run.epoch < t.epochs:
            record = {"epoch": run.epoch + 1, **run.train_epoch(tracker)}
            run.epoch += 1
            evaluate = run.epoch % t.eval_interval == 0 or run.epoch == t.epochs
            val, scored = run.validate(executor, evaluate)
            record.update(val)
            record["lr"] = run.scheduler.get_last_lr()[0]
            _finish_epoch(run, record, scored, tracker)
            result.final, result.epochs_done = record, run.epoch
            if scored is not None:
                result.examples = [{"id": i, **score.to_json()} for i, score in scored[:EXAMPLES_SHOWN]]


def _tidy_resumed_run(run: _Run) -> list[str]:
    """Clear what a killed run left in the folder a resumed run continues: temp files of a write cut
    short, and metrics.jsonl records of epochs after the checkpoint's. Returns notices."""
    notices = []
    removed = remove_stale_temp_files(run.run_dir)
    if removed:
        notices.append(f"removed {len(removed)} temp file(s) left by a write that was cut short: "
                       + ", ".join(p.name for p in removed))
    dropped = rewind_metrics(run.run_dir / METRICS_FILE, run.epoch)
    if dropped:
        notices.append(f"{METRICS_FILE}: dropped {dropped} records logged after epoch {run.epoch}, "
                       "the checkpoint's (they are logged again)")
    return notices


def _save_snapshot(run: _Run) -> Path:
    """Save the state at the end of the last completed epoch as interrupted_epoch_X.pt."""
    return run.save(f"interrupted_epoch_{run.snapshot['epoch']}.pt", run.snapshot)


def _lost_peer(run: _Run, error: RuntimeError) -> distributed.PeerLost:
    """A failed collective as one message; rank 0 first saves the last completed epoch."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    message = f"rank {run.cluster.rank} lost contact with another training process ({reason})"
    if run.cluster.is_main:
        message += f"; resume with: astae train --resume {_save_snapshot(run)}"
    return distributed.PeerLost(message)


def _stopped(run: _Run, error: WriteError) -> WriteError:
    """`error` plus where training stopped and how to go on."""
    if run.last_saved is not None:
        hint = f"fix that, then resume with: astae train --resume {run.last_saved}"
    else:
        hint = "no checkpoint of this run was written"
    stopped = WriteError(f"{error}; training stopped ({hint})")
    stopped.errno, stopped.strerror, stopped.filename = error.errno, error.strerror, error.filename
    return stopped


def _finish_epoch(run: _Run, record: dict, scored: list | None, tracker: Tracker | _Silent) -> None:
    """Best model, checkpoints, metrics and curves at the end of an epoch (the record is the same
    on every rank; rank 0 writes). `scored`: the examples shown, None if the epoch did not decode."""
    t = run.cfg.training
    if scored is not None and record["val/loss"] < run.best_eval.get("val/loss", math.inf):
        run.best_eval = dict(record)
    if record["val/loss"] < run.best_val_loss:
        run.best_val_loss = record["val/loss"]
        run.save("best_model.pt")
    if run.epoch % t.checkpoint_interval == 0:
        run.save(f"checkpoint_epoch_{run.epoch}.pt")
    if run.cluster.is_main:
        tracker.log(record, step=run.step)
        if scored is not None:
            plot_curves(read_metrics(run.run_dir / "metrics.jsonl"), run.run_dir / "curves.png")
    run.snapshot = copy.deepcopy(run.payload())
    run.cb.epoch_done(record)


def _latent_prior(run: _Run, model: ASTAutoencoder) -> dict:
    """The aggregate prior of `model`: a Gaussian fitted to the training split's codes."""
    batch = max(run.cfg.training.batch_size, 256)
    return fit_prior(model, run.data, run.data.train_ids, run.device, batch).to_payload()


def _save_with_prior(run: _Run, path: Path) -> None:
    """Add the aggregate prior of a saved checkpoint's own weights to it."""
    if not path.is_file():
        return
    payload = load_checkpoint(path)
    model = copy.deepcopy(run.model)
    model.load_state_dict(payload["model"])
    payload["latent_prior"] = _latent_prior(run, model)
    save_checkpoint(path, payload)
