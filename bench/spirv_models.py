"""SPIR-V target: what each zoo model compiles to, and how it runs.

For every zoo model (random weights, BLK-REW hard-pruned 8x in 8x4 column
blocks, batch 1): the sparse layers, the SPIR-V kernels and launches, the
dispatch sizes (workgroups per launch), the buffers, the compile time, and
medians of repeated runs on the Vulkan device at hand next to torch eager on
the CPU. On a machine with only lavapipe, Mesa's CPU Vulkan driver, the run
times are CPU emulation, not GPU figures; the table says which device ran.

    .venv/bin/python bench/spirv_models.py        # or: make bench-spirv

Writes bench/results/spirv.json and bench/results/spirv.md.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from bench_io import run_meta, write_results
from blkrew.compiler.api import compile
from blkrew.models import MODELS, example_input, pruned_random_model
from blkrew.timing import interleaved_ms


def measure(name: str, repeat: int, workdir: Path) -> dict:
    model = pruned_random_model(name)
    x = example_input(name, batch=1, seed=1)
    start = time.perf_counter()
    compiled = compile(model, x, target="spirv", workdir=workdir / name)
    compile_s = time.perf_counter() - start
    plan = json.loads((workdir / name / "plan.json").read_text())
    with torch.no_grad():
        want = model(x)
        got = compiled(x)
        err = (got - want).abs().max().item()
        t = interleaved_ms(
            {"vulkan": lambda: compiled(x), "torch": lambda: model(x)}, repeat
        )
        vulkan_ms, torch_ms = t["vulkan"], t["torch"]
    workgroups = sorted(
        g[0] * g[1] * g[2] for g in (d["grid"] for d in plan["dispatches"])
    )
    constant_bytes = sum(b["bytes"] for b in plan["buffers"] if b["kind"] == "constant")
    return {
        "model": name,
        "layers": compiled.layers,
        **compiled.manifest["spirv"],
        "workgroups_per_dispatch": {
            "min": workgroups[0],
            "median": workgroups[len(workgroups) // 2],
            "max": workgroups[-1],
        },
        "workgroup_sizes": sorted(
            {tuple(k["workgroup_size"]) for k in plan["kernels"]}
        ),
        "constant_bytes": constant_bytes,
        "grids": [d["grid"] for d in plan["dispatches"]],
        "compile_s": compile_s,
        "vulkan_device": compiled.device_name,
        "vulkan_median_ms": vulkan_ms,
        "torch_cpu_median_ms": torch_ms,
        "max_abs_err_vs_torch": err,
    }


def markdown(rows: list[dict], meta: dict) -> str:
    device = rows[0]["vulkan_device"] if rows else "?"
    lavapipe = "llvmpipe" in device.lower()
    lines = [
        "# SPIR-V target: kernels, launches and run times",
        "",
        f"Measured {meta['date']} on {meta['machine']} with `{meta['command']}`; "
        f"{meta['repeat']} timed runs per model after one warm-up, medians.",
        "Models: random weights, BLK-REW hard-pruned 8x in 8x4 column blocks, batch 1.",
        "",
        f"Vulkan device: **{device}**."
        + (
            " This is lavapipe, Mesa's CPU implementation of Vulkan: its times are"
            " CPU emulation of the kernels, **not GPU figures**, and only say the"
            " path runs end to end."
            if lavapipe
            else ""
        ),
        "",
        "| model | sparse layers | kernels | launches | workgroups per launch"
        " (min / median / max) | total workgroups | weights on device |"
        " compile (s) | Vulkan run (ms) | torch eager CPU (ms) | max err |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        w = r["workgroups_per_dispatch"]
        lines.append(
            f"| {r['model']} | {r['layers']['sparse_matmuls']} | {r['kernels']} |"
            f" {r['dispatches']} | {w['min']} / {w['median']} / {w['max']} |"
            f" {r['workgroups_total']} | {r['constant_bytes'] / 2**20:.2f} MiB |"
            f" {r['compile_s']:.1f} | {r['vulkan_median_ms']:.2f} |"
            f" {r['torch_cpu_median_ms']:.2f} | {r['max_abs_err_vs_torch']:.1e} |"
        )
    lines += [
        "",
        "Workgroups are 64 invocations (smaller when an op has fewer elements);",
        "every kernel passed `spirv-val --target-env vulkan1.1`. Launches of the",
        "same computation share a kernel, hence fewer kernels than launches.",
        "The per-launch grids are in `spirv.json`.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault(
        "MESA_SHADER_CACHE_DIR", str(Path(tempfile.gettempdir()) / "blkrew-mesa-cache")
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="blkrew-bench-") as tmp:
        for name in args.models:
            print(f"[spirv] {name} ...", flush=True)
            row = measure(name, args.repeat, Path(tmp))
            print(
                f"  {row['kernels']} kernels, {row['dispatches']} launches,"
                f" Vulkan {row['vulkan_median_ms']:.2f} ms"
                f" (torch CPU {row['torch_cpu_median_ms']:.2f} ms)",
                flush=True,
            )
            rows.append(row)
    meta = run_meta(
        "make bench-spirv", args.repeat, torch_threads=torch.get_num_threads()
    )
    write_results("spirv", {"meta": meta, "rows": rows}, markdown(rows, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
