"""The SPIR-V kernels on a real GPU: compile here, run there, report here.

The machine with the GPU has no MLIR and no blkrew-opt, so the work is in
three steps:

    # here: compile the zoo for target="spirv"; inputs and PyTorch's outputs
    .venv/bin/python bench/spirv_device.py export .gpu/models
    # there (Python, numpy, torch, the `vulkan` package and a Vulkan loader):
    python3 bench/spirv_device.py run .gpu/models --out result.json
    # here again: the table
    .venv/bin/python bench/spirv_device.py report result.json

`run` loads each model's plan with the Vulkan runner in every memory
placement the device offers (`unified`, `staged`, `host`: see
blkrew.runtime.vulkan), checks the outputs against PyTorch's, times repeated
calls (wall clock: inputs in, submit, wait, outputs out) and the launches
themselves (GPU timestamps), and, where CUDA is there, torch eager on the same
GPU as a reference point. `report` writes bench/results/spirv-gpu.{json,md}.
The runner is loaded from its file, so `run` needs no blkrew install.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
# (case name, zoo model, batch): the models the SPIR-V tests run on lavapipe.
CASES = [
    ("digits-cnn", "digits-cnn", 1),
    ("digits-gru", "digits-gru", 1),
    ("digits-gru-b3", "digits-gru", 3),
    ("digits-lstm", "digits-lstm", 1),
    ("digits-lstm-b3", "digits-lstm", 3),
    ("vgg16-cifar", "vgg16-cifar", 1),
    ("resnet18-cifar", "resnet18-cifar", 1),
    ("mobilenetv2-cifar", "mobilenetv2-cifar", 1),
]
# What `run` reads of a compiled model's folder (the kernels besides), and
# the manifest to say what was compiled how.
KEEP = ("plan.json", "constants.bin", "manifest.json")


def export(out: Path, names: list[str], rows: list[int | None]) -> None:
    import shutil
    import tempfile

    sys.path.insert(0, str(ROOT / "frontend"))
    from blkrew.compiler.api import compile
    from blkrew.models import example_input, pruned_random_model

    out.mkdir(parents=True, exist_ok=True)

    def folder(case_name: str, r: int | None) -> str:
        # Several kernel shapes: one folder each, named after the rows.
        return case_name if len(rows) == 1 else f"{case_name}.rows{r}"

    with tempfile.TemporaryDirectory(prefix="blkrew-gpu-") as tmp:
        for case_name, model_name, batch in CASES:
            if names and case_name not in names:
                continue
            model = pruned_random_model(model_name)
            x = example_input(model_name, batch=batch, seed=1)
            with torch.no_grad():
                want = model(x)
            first = out / folder(case_name, rows[0])
            for r in rows:
                case = folder(case_name, r)
                print(f"[export] {case} ...", flush=True)
                work = Path(tmp) / case
                compile(model, x, target="spirv", workdir=work, rows_per_invocation=r)
                dest = out / case
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir()
                for f in [*KEEP, *(p.name for p in work.glob("kernel*.spv"))]:
                    shutil.copy(work / f, dest / f)
                # The weights do not depend on the kernel shape: variants of
                # a model point at the first one's (the GPU machine takes 64
                # MiB).
                if (
                    first != dest
                    and (first / "constants.bin").read_bytes()
                    == (dest / "constants.bin").read_bytes()
                ):
                    (dest / "constants.bin").unlink()
                    plan = json.loads((dest / "plan.json").read_text())
                    plan["constants"] = f"../{first.name}/constants.bin"
                    (dest / "plan.json").write_text(json.dumps(plan))
                np.save(dest / "input.npy", x.numpy())
                np.save(dest / "want.npy", want.numpy())
                (dest / "case.json").write_text(
                    json.dumps(
                        {"model": model_name, "batch": batch, "rows_per_invocation": r}
                    )
                )


def _load_runner_module():
    path = ROOT / "frontend" / "blkrew" / "runtime" / "vulkan.py"
    spec = importlib.util.spec_from_file_location("blkrew_vulkan_runner", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _median_ms(fn, repeat: int, warmup: int = 3) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times)


def _device_info(vkmod) -> dict:
    vk = vkmod.load_vulkan()
    ctx = vkmod._shared_context(vk)  # the one the runners use
    physical, props, name = ctx.physical, ctx.props, ctx.name
    mem = vk.vkGetPhysicalDeviceMemoryProperties(physical)
    flags = {
        "DEVICE_LOCAL": vk.VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
        "HOST_VISIBLE": vk.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
        "HOST_COHERENT": vk.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
        "HOST_CACHED": vk.VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
    }
    types = [
        {
            "flags": [
                k for k, v in flags.items() if mem.memoryTypes[i].propertyFlags & v
            ],
            "heap_gib": mem.memoryHeaps[mem.memoryTypes[i].heapIndex].size / 2**30,
        }
        for i in range(mem.memoryTypeCount)
    ]
    version = props.apiVersion
    return {
        "name": name,
        "api": f"{version >> 22}.{(version >> 12) & 0x3FF}.{version & 0xFFF}",
        "driver_version": props.driverVersion,
        "timestamp_period_ns": props.limits.timestampPeriod,
        "memory_types": types,
    }


def _torch_cuda_ms(model_name: str, batch: int, repeat: int) -> dict | None:
    """torch eager on the same GPU (CUDA): a reference point, not a peer
    blkrew targets. None without CUDA or the zoo."""
    if not torch.cuda.is_available():
        return None
    try:
        sys.path.insert(0, str(ROOT / "frontend"))
        from blkrew.models import example_input, pruned_random_model
    except Exception as e:  # noqa: BLE001 - the reference is optional
        return {"error": repr(e)}
    model = pruned_random_model(model_name).cuda()
    x = example_input(model_name, batch=batch, seed=1).cuda()

    def call():
        model(x)
        torch.cuda.synchronize()

    with torch.no_grad():
        median, best = _median_ms(call, repeat)
    return {"median_ms": median, "min_ms": best, "device": torch.cuda.get_device_name()}


def run(
    folder: Path, out: Path, repeat: int, names: list[str], modes: list[str]
) -> int:
    vkmod = _load_runner_module()
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "host": f"{platform.machine()}, python {platform.python_version()}, "
        f"torch {torch.__version__}",
        "repeat": repeat,
        "device": _device_info(vkmod),
        "rows": [],
    }
    print(json.dumps(result["device"], indent=1), flush=True)
    failures = 0
    for case_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        if names and case_dir.name.split(".rows")[0] not in names:
            continue
        case = json.loads((case_dir / "case.json").read_text())
        plan = json.loads((case_dir / "plan.json").read_text())
        x = torch.from_numpy(np.load(case_dir / "input.npy"))
        want = torch.from_numpy(np.load(case_dir / "want.npy"))
        row = {"case": case_dir.name, **case, "dispatches": len(plan["dispatches"])}
        for mode in modes:
            entry = {}
            try:
                start = time.perf_counter()
                runner = vkmod.VulkanRunner(case_dir, memory=mode)
                entry["load_s"] = time.perf_counter() - start
                y = torch.empty_like(want)
                runner.run([x], [y])
                entry["max_abs_err"] = (y - want).abs().max().item()
                scale = want.abs().max().item()
                entry["ok"] = bool(
                    torch.allclose(y, want, rtol=1e-4, atol=1e-4 * max(scale, 1))
                )
                failures += not entry["ok"]
                median, best = _median_ms(
                    lambda r=runner, x=x, y=y: r.run([x], [y]), repeat
                )
                entry.update(median_ms=median, min_ms=best)
                runner.close()
                profiled = vkmod.VulkanRunner(case_dir, memory=mode, profile=True)
                totals, sparse_totals, per_launch = [], [], []
                for _ in range(max(3, repeat // 4)):
                    profiled.run([x], [y])
                    ms = [p["ms"] for p in profiled.last_profile]
                    totals.append(sum(ms))
                    sparse_totals.append(
                        sum(p["ms"] for p in profiled.last_profile if p["block_sparse"])
                    )
                    per_launch.append(ms)
                profiled.close()
                entry["gpu_ms"] = statistics.median(totals)
                entry["gpu_sparse_ms"] = statistics.median(sparse_totals)
                entry["gpu_launch_ms"] = [
                    statistics.median(c) for c in zip(*per_launch, strict=True)
                ]
            except vkmod.VulkanError as e:
                entry["error"] = str(e)
                # A device without a memory type for `unified` is no failure.
                failures += not (mode == "unified" and "device-local" in str(e))
            row[mode] = entry
            print(f"[{case_dir.name}] {mode}: {_brief(entry)}", flush=True)
        row["torch_cuda"] = _torch_cuda_ms(case["model"], case["batch"], repeat)
        print(f"[{case_dir.name}] torch cuda: {row['torch_cuda']}", flush=True)
        result["rows"].append(row)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}; {failures} failed (mismatches or errors)")
    return 1 if failures else 0


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _brief(entry: dict) -> str:
    if "error" in entry:
        return "error: " + entry["error"]
    return (
        f"{'ok' if entry['ok'] else 'MISMATCH'} (err {entry['max_abs_err']:.1e}),"
        f" call {entry['median_ms']:.3f} ms, GPU {entry['gpu_ms']:.3f} ms"
        f" (sparse {entry['gpu_sparse_ms']:.3f}), load {entry['load_s']:.1f} s"
    )


def report(path: Path, variants: Path | None) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_io import write_results

    data = json.loads(path.read_text())
    dev = data["device"]
    lines = [
        "# SPIR-V kernels on a GPU through Vulkan",
        "",
        f"Measured {data['date']} on **{dev['name']}** (Vulkan {dev['api']}),"
        f" {data['host']}; models compiled on the CPU machine with"
        " `bench/spirv_device.py export`, run with `bench/spirv_device.py run`"
        f" ({data['repeat']} timed calls after 3 warm-ups, medians).",
        "Models: random weights, BLK-REW hard-pruned 8x in 8x4 column blocks.",
        "",
        *_kernel_shape_note(data["rows"]),
        "A data-centre GPU, not a phone's: these figures say the kernels run and"
        " agree with PyTorch on a real GPU driver, and how the memory placement"
        " and the launches cost there; a mobile GPU's would differ.",
        "",
        "- **call**: wall clock of one call through the Python runner (inputs"
        " in, submit, wait on the fence, outputs out);",
        "- **GPU**: the sum of the launches' GPU times (a timestamp after each,"
        " barriers included); in brackets the share of the launches of the"
        " block-sparse kernel (pruned layers and the dense ones packed whole);",
        "- placements: `unified` (device-local and host-visible memory, what"
        " `auto` picks here), `staged` (device-local, arguments copied through"
        " host memory), `host` (host memory: every weight read over the bus);",
        "- torch eager CUDA: the same pruned model as dense layers (cuDNN,"
        " cuBLAS), one op at a time from Python: at batch 1 mostly launch"
        " overhead. A reference point on the same GPU, not a peer blkrew"
        " targets.",
        "",
        "| model | batch | launches | max err | "
        + " | ".join(
            f"{m} call / GPU (sparse) ms" for m in ("unified", "staged", "host")
        )
        + " | torch eager CUDA (ms) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in data["rows"]:
        errs = [
            r.get(m, {})["max_abs_err"]
            for m in ("unified", "staged", "host")
            if "max_abs_err" in r.get(m, {})
        ]
        cells = []
        for m in ("unified", "staged", "host"):
            e = r.get(m, {"error": "not run"})
            if "error" in e:
                cells.append("n/a")
            else:
                cells.append(
                    f"{e['median_ms']:.3f} / {e['gpu_ms']:.3f}"
                    f" ({e['gpu_sparse_ms']:.3f})"
                    + ("" if e["ok"] else " **mismatch**")
                )
        cuda = r.get("torch_cuda") or {}
        cuda_cell = f"{cuda['median_ms']:.3f}" if "median_ms" in cuda else "n/a"
        err = f"{max(errs):.1e}" if errs else "n/a"
        lines.append(
            f"| {r['case']} | {r['batch']} | {r['dispatches']} | {err} | "
            + " | ".join(cells)
            + f" | {cuda_cell} |"
        )
    lines += [
        "",
        "Per launch (unified): "
        + "; ".join(
            f"{r['case']} median {_median(r['unified'].get('gpu_launch_ms')):.4f} ms"
            for r in data["rows"]
            if r.get("unified", {}).get("gpu_launch_ms")
        )
        + ".",
    ]
    if variants is not None:
        data["variants"] = json.loads(variants.read_text())
        lines += _variant_table(data["variants"])
    lines += ["", "Memory types the device offered:", ""]
    for t in dev["memory_types"]:
        lines.append(
            f"- {' | '.join(t['flags']) or '(none)'}: heap {t['heap_gib']:.1f} GiB"
        )
    lines.append("")
    write_results("spirv-gpu", data, "\n".join(lines))


def _kernel_shape_note(rows: list[dict]) -> list[str]:
    shapes = {r.get("rows_per_invocation", "absent") for r in rows}
    if shapes == {"absent"}:
        # Exported before the option existed: one row per invocation.
        return [
            "Kernel shape: one row of a group per invocation (the only one"
            " when this was measured; `docs/spirv.md`, rows per invocation).",
            "",
        ]
    names = ", ".join(
        "the default" if s is None else _shape_name(s) for s in sorted(shapes, key=str)
    )
    return [f"Kernel shape: {names} per invocation.", ""]


def _variant_table(variants: dict) -> list[str]:
    """Device time per kernel shape: rows of a group per invocation."""
    by_case: dict[str, dict] = {}
    for r in variants["rows"]:
        base = r["case"].split(".rows")[0]
        by_case.setdefault(base, {"batch": r["batch"], "shapes": {}})
        by_case[base]["shapes"][r["rows_per_invocation"]] = r.get("unified", {})
    shapes = sorted({k for c in by_case.values() for k in c["shapes"]}, key=_shape_key)
    lines = [
        "",
        "## Kernel shape: rows of a group per invocation",
        "",
        f"Measured in a separate run ({variants['date']}, unified placement,"
        f" {variants['repeat']} calls): the same models compiled with"
        " `rows_per_invocation` = "
        + ", ".join(_shape_name(k) for k in shapes)
        + " (`bench/spirv_device.py export --rows ...`); device time of all"
        " launches / of the block-sparse kernel's, ms, medians.",
        "",
        "| model | batch | "
        + " | ".join(_shape_name(k) for k in shapes)
        + " | max err |",
        "|---|---|" + "---|" * (len(shapes) + 1),
    ]
    for case, c in by_case.items():
        cells, errs = [], []
        for k in shapes:
            e = c["shapes"].get(k, {})
            if "gpu_ms" not in e:
                cells.append("n/a")
                continue
            errs.append(e["max_abs_err"])
            cells.append(
                f"{e['gpu_ms']:.3f} / {e['gpu_sparse_ms']:.3f}"
                + ("" if e["ok"] else " **mismatch**")
            )
        err = f"{max(errs):.1e}" if errs else "n/a"
        lines.append(f"| {case} | {c['batch']} | " + " | ".join(cells) + f" | {err} |")
    return lines


def _shape_key(rows: int | None) -> int:
    return 1 if rows is None else (99 if rows == 0 else rows)


def _shape_name(rows: int | None) -> str:
    return {None: "default", 0: "whole group"}.get(rows, f"{rows} rows")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "export", help="compile the zoo for target=spirv (needs blkrew-opt)"
    )
    p.add_argument("folder", type=Path)
    p.add_argument("--cases", nargs="*", default=[])
    p.add_argument(
        "--rows",
        nargs="*",
        type=int,
        default=[None],
        help="rows_per_invocation values to compile each model with (one "
        "folder each); the default: the pipeline's",
    )
    p = sub.add_parser("run", help="run the exported models on the Vulkan device")
    p.add_argument("folder", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--cases", nargs="*", default=[])
    p.add_argument(
        "--modes", nargs="*", default=["unified", "staged", "host"], help="placements"
    )
    p = sub.add_parser("report", help="write bench/results/spirv-gpu.{json,md}")
    p.add_argument("result", type=Path)
    p.add_argument(
        "--variants", type=Path, help="a run of models exported with several --rows"
    )
    args = parser.parse_args()
    if args.command == "export":
        export(args.folder, args.cases, args.rows)
        return 0
    if args.command == "run":
        return run(args.folder, args.out, args.repeat, args.cases, args.modes)
    report(args.result, args.variants)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
