"""What every benchmark records about its run and where it writes its table:
bench/results/<stem>.json (the rows and the run's metadata) and <stem>.md."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def run_meta(command: str, repeat: int, **extra) -> dict:
    """The date, machine, command and repeat count of this run, then `extra`."""
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "command": command,
        "repeat": repeat,
        **extra,
    }


def write_results(stem: str, data: dict, markdown: str) -> None:
    """Writes RESULTS/<stem>.json (`data`) and RESULTS/<stem>.md."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(data, indent=1))
    (RESULTS / f"{stem}.md").write_text(markdown)
    print(f"wrote {RESULTS / (stem + '.md')}")
