"""Experiment tracking: every record goes to RUN_DIR/metrics.jsonl and, when enabled, to wandb.

wandb is imported lazily and only when a run is not disabled. The wandb mode is decided here,
before `wandb.init`, so wandb never shows its login prompt (which blocks forever in a terminal):
with no API key and no `WANDB_MODE`, runs are logged offline and can be synced later.
"""

from __future__ import annotations

import json
import logging
import netrc
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from astae.core.files import atomic_file, write_error

logger = logging.getLogger(__name__)

WANDB_PROJECT = "AST-Autoencoder"
METRICS_FILE = "metrics.jsonl"

_MODE_ALIASES = {"online": "online", "run": "online", "offline": "offline", "dryrun": "offline",
                 "disabled": "disabled"}
# wandb >= 0.31 talks to api.forge.coreweave.com by default and also reads netrc entries for
# api.wandb.ai; older versions use api.wandb.ai. Either entry means the user has logged in.
_DEFAULT_HOSTS = ("api.wandb.ai", "api.forge.coreweave.com")


@dataclass(frozen=True)
class WandbChoice:
    """The wandb mode to run in, and one line to show the user about it (or None)."""

    mode: str  # "online" | "offline" | "disabled"
    notice: str | None = None


def choose_wandb_mode(
    enabled: bool, env: Mapping[str, str] | None = None, netrc_path: Path | None = None
) -> WandbChoice:
    """Pick the wandb mode from the flag, `WANDB_MODE` and the credentials present; never prompts."""
    env = os.environ if env is None else env
    if not enabled:
        return WandbChoice("disabled")
    raw = env.get("WANDB_MODE", "").strip()
    has_key = _has_credentials(env, netrc_path)
    if raw:
        mode = _MODE_ALIASES.get(raw.lower())
        if mode is None:
            return WandbChoice("offline", f"wandb: unknown WANDB_MODE={raw!r}; logging offline")
        if mode == "online" and not has_key:
            return WandbChoice(
                "offline", "wandb: WANDB_MODE=online but no API key found; logging offline instead"
                " of prompting for one (set WANDB_API_KEY or run `wandb login`)"
            )
        return WandbChoice(mode)
    if has_key:
        return WandbChoice("online")
    return WandbChoice(
        "offline", "wandb: no API key and WANDB_MODE unset; logging offline"
        " (set WANDB_API_KEY or run `wandb login` to log online, or pass --no_wandb)"
    )


def _has_credentials(env: Mapping[str, str], netrc_path: Path | None) -> bool:
    """True if wandb would find credentials without prompting: an env key or a netrc entry."""
    if env.get("WANDB_API_KEY", "").strip() or env.get("WANDB_IDENTITY_TOKEN_FILE", "").strip():
        return True
    path = netrc_path or _netrc_path(env)
    try:
        entries = netrc.netrc(str(path))
    except (OSError, netrc.NetrcParseError):
        return False
    base_url = env.get("WANDB_BASE_URL", "").strip()
    hosts = (urlsplit(base_url).netloc,) if base_url else _DEFAULT_HOSTS
    for host in hosts:
        creds = entries.authenticators(host) if host else None
        if creds and creds[2]:
            return True
    return False


def _netrc_path(env: Mapping[str, str]) -> Path:
    if env.get("NETRC"):
        return Path(env["NETRC"]).expanduser()
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".netrc"


class Tracker:
    """Writes every logged record to RUN_DIR/metrics.jsonl and, unless disabled, to wandb.

    `notices` lists lines to show the user beside `choice.notice` (which it does not repeat):
    any wandb failure (init falls back online -> offline -> no wandb instead of raising), where an
    offline run was saved, an online run's URL. `mode` is the mode actually in use after any
    fallback. Use as a context manager or call `finish()` (idempotent).
    """

    def __init__(
        self,
        run_dir: Path,
        config: dict,
        *,
        choice: WandbChoice,
        project: str = WANDB_PROJECT,
        run_name: str | None = None,
        wandb_dir: Path | None = None,
        resume_lines: bool = True,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.metrics_path = self.run_dir / METRICS_FILE
        self.notices: list[str] = []
        try:
            if resume_lines:
                _trim_torn_tail(self.metrics_path)
            # Unbuffered: each record is one write, so nothing waits in a buffer to be lost (a kill)
            # or half-flushed later (a full disk).
            self._file = self.metrics_path.open("ab" if resume_lines else "wb", buffering=0)
        except OSError as e:
            raise write_error(self.metrics_path, e) from None
        self._run: Any = None
        self._mode = "disabled"
        self._wandb_run_dir: Path | None = None
        self._finished = False
        if choice.mode != "disabled":
            self._start_wandb(choice.mode, project, run_name, config, Path(wandb_dir or run_dir))

    def _start_wandb(self, mode: str, project: str, name: str | None, config: dict, dir_: Path) -> None:
        if mode == "online" and not _has_credentials(os.environ, None):
            self.notices.append("wandb: no API key found; logging offline instead of prompting")
            mode = "offline"
        try:
            import wandb
        except Exception as exc:  # a broken install must not stop training
            self.notices.append(f"wandb: cannot import ({_brief(exc)}); logging to {METRICS_FILE} only")
            return
        for attempt in [mode, "offline"] if mode == "online" else [mode]:
            try:
                dir_.mkdir(parents=True, exist_ok=True)
                self._run = wandb.init(
                    project=project, name=name, config=config, mode=attempt, dir=str(dir_),
                    reinit="finish_previous",
                    # silent: wandb's banners would interleave with the CLI's own output;
                    # console="off": leave stdout/stderr (and rich's live bars) alone.
                    settings=wandb.Settings(silent=True, console="off"),
                )
            except Exception as exc:  # no network, bad key, server error, unwritable dir, ...
                logger.debug("wandb.init(mode=%s) failed", attempt, exc_info=True)
                then = "falling back to offline" if attempt == "online" else f"logging to {METRICS_FILE} only"
                self.notices.append(f"wandb: {attempt} init failed ({_brief(exc)}); {then}")
                continue
            self._mode = attempt
            self._wandb_run_dir = Path(self._run.dir).parent
            if attempt == "offline":
                self.notices.append(
                    f"wandb: logging offline to {self._wandb_run_dir}"
                    f" (sync later with `wandb sync {self._wandb_run_dir}`)"
                )
            elif getattr(self._run, "url", None):
                self.notices.append(f"wandb: run at {self._run.url}")
            return

    @property
    def wandb_run_dir(self) -> Path | None:
        """The wandb run's folder (e.g. .../wandb/offline-run-...), or None without wandb."""
        return self._wandb_run_dir

    @property
    def mode(self) -> str:
        """The wandb mode in use after any fallback: "online", "offline" or "disabled"."""
        return self._mode

    def log(self, record: dict[str, float | int], step: int | None = None) -> None:
        """Append `record` as one JSON line (written through at once) and send it to wandb if active;
        a failed write is a `WriteError`."""
        if self._finished:
            raise RuntimeError("Tracker.log called after finish()")
        line = memoryview((json.dumps(record, default=_scalar) + "\n").encode("utf-8"))
        try:
            while line:
                line = line[self._file.write(line):]
        except OSError as e:  # a full disk: the lines before are intact, a torn last one is trimmed on resume
            raise write_error(self.metrics_path, e) from None
        if self._run is not None:
            try:
                self._run.log(record, step=step)
            except Exception as exc:
                self._drop_wandb(f"wandb: log failed ({_brief(exc)}); logging to {METRICS_FILE} only")

    def summary(self, values: dict) -> None:
        """Set values in the wandb run summary (no-op without wandb)."""
        if self._run is not None:
            try:
                self._run.summary.update(values)
            except Exception as exc:
                self._drop_wandb(f"wandb: summary failed ({_brief(exc)}); logging to {METRICS_FILE} only")

    def finish(self) -> None:
        """Close metrics.jsonl and the wandb run; safe to call more than once."""
        self._close(exit_code=0)

    def _close(self, exit_code: int) -> None:
        if self._finished:
            return
        self._finished = True
        self._file.close()
        if self._run is not None:
            run, self._run = self._run, None
            try:
                run.finish(exit_code=exit_code)
            except Exception as exc:
                self.notices.append(f"wandb: finish failed ({_brief(exc)})")

    def _drop_wandb(self, notice: str) -> None:
        logger.debug("dropping wandb run", exc_info=True)
        self.notices.append(notice)
        run, self._run, self._mode = self._run, None, "disabled"
        try:
            run.finish(exit_code=1)
        except Exception:
            logger.debug("wandb finish after failure also failed", exc_info=True)

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close(exit_code=0 if exc_type is None else 1)


def read_metrics(path: Path) -> list[dict]:
    """Parse a metrics.jsonl file; a torn last line (a crash mid-write) is skipped, not raised."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == len(lines):
                logger.warning("%s: skipping torn last line %d", path, number)
                break
            raise ValueError(f"{path}:{number}: not a JSON record ({exc.msg})") from None
    return records


def rewind_metrics(path: Path, epoch: int) -> int:
    """Drop the records of epochs after `epoch` from a metrics.jsonl (rewritten atomically), so that
    a run resumed from that epoch's checkpoint reads as one straight run; return how many went.
    A missing or unreadable file is left alone."""
    path = Path(path)
    try:
        records = read_metrics(path)
    except (OSError, ValueError, UnicodeDecodeError):
        return 0
    kept = [r for r in records if not (isinstance(r, dict) and isinstance(r.get("epoch"), int))
            or r["epoch"] <= epoch]
    if len(kept) < len(records):
        with atomic_file(path) as f:
            f.writelines(json.dumps(r) + "\n" for r in kept)
    return len(records) - len(kept)


def _trim_torn_tail(path: Path, chunk: int = 1 << 16) -> None:
    """Cut a partial last line (no trailing newline) so appended records start on a fresh line."""
    if not path.exists():
        return
    with path.open("rb+") as f:
        end = f.seek(0, os.SEEK_END)
        if end == 0:
            return
        f.seek(end - 1)
        if f.read(1) == b"\n":
            return
        pos = end
        while pos > 0:
            start = max(0, pos - chunk)
            f.seek(start)
            newline = f.read(pos - start).rfind(b"\n")
            if newline >= 0:
                f.truncate(start + newline + 1)
                return
            pos = start
        f.truncate(0)


def _scalar(value: Any) -> Any:
    """JSON fallback for numpy / torch scalars."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _brief(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {first[0]}" if first else type(exc).__name__
