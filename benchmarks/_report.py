"""What every benchmark shares: writing its JSON result with the machine it ran on."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def commit() -> str:
    """The checked-out commit, with `+dirty` when tracked files under astae/ differ from it."""
    root = Path(__file__).parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "astae"], cwd=root).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def write_result(name: str, data: dict) -> Path:
    """Write `results/<name>.json` atomically, with the commit, Python, platform and CPU count added."""
    report = {"benchmark": name, "commit": commit(), "python": sys.version.split()[0],
              "platform": platform.platform(), "cpus": os.cpu_count(), **data}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}", file=sys.stderr)
    return out


@contextlib.contextmanager
def worktree(rev: str, where: Path) -> Iterator[Path]:
    """Git revision `rev` of this repository checked out at `where` for the block (then removed)."""
    here = Path(__file__).resolve().parents[1]
    subprocess.run(["git", "-C", str(here), "worktree", "add", "--detach", "-q", str(where), rev], check=True)
    try:
        yield where
    finally:
        subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", str(where)], check=True)
