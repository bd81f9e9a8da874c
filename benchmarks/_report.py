"""What every benchmark shares: writing its JSON result with the machine it ran on."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def write_result(name: str, data: dict) -> Path:
    """Write `results/<name>.json` atomically, with the Python, platform and CPU count added."""
    report = {"benchmark": name, "python": sys.version.split()[0], "platform": platform.platform(),
              "cpus": os.cpu_count(), **data}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}", file=sys.stderr)
    return out
