"""What every benchmark records about its run and where it writes its table:
bench/results/<stem>.json (the rows and the run's metadata) and <stem>.md."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_description() -> str:
    """The CPU's model name and widest f32 vectors, from /proc/cpuinfo (the
    kernels' shape depends on them: results from machines with different
    vector units do not compare)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "CPU unknown"
    fields = {}
    for line in info.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name") or "CPU unknown"
    flags = set(fields.get("flags", fields.get("Features", "")).split())
    for flag, isa in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("asimd", "NEON")):
        if flag in flags:
            return f"{name}, {isa}"
    return name


def run_meta(command: str, repeat: int, **extra) -> dict:
    """The date, machine, command and repeat count of this run, then `extra`."""
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs ({cpu_description()})",
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
