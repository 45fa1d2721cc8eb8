"""Per-layer auto-tuning of the CPU sparse kernel.

For every ``blkrew.bsr_matmul`` of a sparsified module, a module holding that
op alone (its packed constants, a random ``rhs`` of its shape) is compiled
for each candidate kernel shape (``tile_vectors`` 1-4 and, on the host,
prefetching on or off) and:

- on the host, timed (medians of interleaved rounds);
- for AArch64, which cannot be timed here, costed by llvm-mca
  (``neoverse-n1``, the Cortex-A76's server sibling): estimated cycles per
  FMA of the inner loop.

The winner is written onto the op as ``blkrew.tile_vectors`` and
``blkrew.prefetch_distance``, which ``convert-blkrew-to-vector`` honours.
Choices are cached on disk (``$BLKREW_CACHE_DIR/tune.json``, default
``~/.cache/blkrew``), keyed by the op and its packed weight, the target, the
threads and the host CPU, so compiling the same model again measures
nothing and gives the same code.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

import torch

from blkrew.compiler import toolchain
from blkrew.compiler.opt import run_blkrew_opt
from blkrew.timing import interleaved_ms

__all__ = ["cache_path", "tune_kernels"]

_OP_RE = re.compile(
    r"^(?P<indent>\s*)(?P<result>%[\w.$-]+) = blkrew\.bsr_matmul (?P<layout><[^>]*>)"
    r"(?P<overwrite> overwrite)?"
    r" ins\((?P<operands>[^:]*) : (?P<types>[^)]*)\) outs\((?P<init>%[\w.$-]+) :"
    r" (?P<init_type>tensor<[^>]*>)\)(?P<attrs> \{[^}]*\})?"
    r" -> (?P<type>tensor<[^>]*>)$",
    re.M,
)
_TENSOR_RE = re.compile(r"tensor<([0-9x]+)x(f32|i32)>")


def cache_path() -> Path:
    root = os.environ.get("BLKREW_CACHE_DIR") or Path.home() / ".cache" / "blkrew"
    return Path(root) / "tune.json"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _shape(tensor_type: str) -> tuple[int, ...]:
    m = _TENSOR_RE.fullmatch(tensor_type.strip())
    if not m:
        raise ValueError(f"not a static f32/i32 tensor type: {tensor_type}")
    return tuple(int(d) for d in m.group(1).split("x"))


def _operand_types(op: re.Match) -> list[str]:
    return [t.strip() for t in re.split(r",\s*(?=tensor<)", op["types"])]


def _micro_module(ir: str, op: re.Match) -> str | None:
    """The op alone: its three packed constants, `rhs` as the argument, a
    zero-filled accumulator."""
    operands = [o.strip() for o in op["operands"].split(",")]
    types = _operand_types(op)
    if len(operands) != 4 or len(types) != 4:
        return None
    lines = []
    for name in operands[:3]:
        m = re.search(rf"^\s*{re.escape(name)} = arith\.constant .*$", ir, re.M)
        if not m:
            return None  # not a constant weight: nothing to tune against
        lines.append("  " + m.group(0).strip())
    attrs = op["attrs"] or ""
    out = op["type"]
    rhs = operands[3]
    return (
        f"func.func @forward({rhs}: {types[3]}) -> {out} {{\n"
        + "\n".join(lines)
        + f"\n  %blkrew_zero = arith.constant 0.0 : f32\n"
        f"  %blkrew_empty = tensor.empty() : {out}\n"
        f"  %blkrew_init = linalg.fill ins(%blkrew_zero : f32) outs(%blkrew_empty :"
        f" {out}) -> {out}\n"
        f"  %blkrew_y = blkrew.bsr_matmul {op['layout']}{op['overwrite'] or ''}"
        f" ins({op['operands']} :"
        f" {op['types']}) outs(%blkrew_init : {out}){attrs} -> {out}\n"
        f"  return %blkrew_y : {out}\n}}\n"
    )


def _candidates(target: str) -> list[tuple[int, int]]:
    if target == "aarch64":
        return [(u, 0) for u in (1, 2, 3, 4)]
    return [(u, d) for u in (1, 2, 3, 4) for d in (0, 16)]


def _pipeline(target, tile, prefetch, parallel, half_weights) -> str:
    return (
        f"--blkrew-cpu-pipeline=target={target} tile-vectors={tile} "
        f"prefetch-distance={prefetch} parallel={str(parallel).lower()} "
        f"half-weights={str(half_weights).lower()}"
    )


def _host_costs(
    module, rhs_shape, out_shape, candidates, threads, half_weights, workdir
):
    from blkrew.runtime.host import HostRunner

    parallel = threads != 1
    runners = {}
    for tile, prefetch in candidates:
        d = workdir / f"u{tile}-p{prefetch}"
        d.mkdir(parents=True, exist_ok=True)
        llvm = run_blkrew_opt(
            module, [_pipeline("host", tile, prefetch, parallel, half_weights)]
        )
        (d / "k.ll").write_text(toolchain.translate_to_llvm_ir(llvm))
        toolchain.compile_object(d / "k.ll", d / "k.o", "host")
        toolchain.link_shared_library(d / "k.o", d / "k.so", openmp=parallel)
        runners[(tile, prefetch)] = HostRunner(
            d / "k.so", "_mlir_ciface_forward", threads=threads
        )
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(rhs_shape, generator=gen)
    out = torch.empty(out_shape)
    return interleaved_ms(
        {key: lambda r=runner: r.run([x], [out]) for key, runner in runners.items()},
        repeat=15,
    )


def _aarch64_costs(module, candidates, half_weights, workdir: Path) -> dict:
    from blkrew.compiler.mca import aarch64_assembly, inner_loop, mca_cycles

    costs = {}
    for tile, prefetch in candidates:
        llvm = run_blkrew_opt(
            module, [_pipeline("aarch64", tile, prefetch, False, half_weights)]
        )
        ll = workdir / f"u{tile}.ll"
        ll.write_text(toolchain.translate_to_llvm_ir(llvm))
        loop = inner_loop(aarch64_assembly(ll))
        if loop:
            fmas = sum(i.startswith("fmla") for i in loop)
            costs[(tile, prefetch)] = mca_cycles(loop, "neoverse-n1") / fmas
    return costs


def tune_kernels(
    ir: str,
    target: str,
    threads: int | None,
    progress=None,
    half_weights: bool = False,
) -> tuple[str, list[dict]]:
    """Returns ``ir`` with every tunable ``blkrew.bsr_matmul`` annotated with
    its best kernel shape, and the choices made (one dict per op).
    ``half_weights``: the kernels are timed with f16 packed weights, as
    ``blkrew-cpu-pipeline{half-weights}`` will build them."""
    path = cache_path()
    try:
        cache = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        cache = {}
    choices = []
    edits = []
    machine = _cpu_name() if target == "host" else "llvm-mca neoverse-n1"
    for op in _OP_RE.finditer(ir):
        if "blkrew.tile_vectors" in (op["attrs"] or ""):
            continue
        # A small N runs the row-vectorized kernel, which has no tile to tune.
        if _shape(op["type"])[1] < (16 if target == "host" else 4):
            continue
        module = _micro_module(ir, op)
        if module is None:
            continue
        key = hashlib.sha256(
            f"{module}|{target}|{threads}|{machine}"
            f"{'|f16' if half_weights else ''}".encode()
        ).hexdigest()
        if key not in cache:
            with tempfile.TemporaryDirectory(prefix="blkrew-tune-") as tmp:
                if target == "host":
                    costs = _host_costs(
                        module,
                        _shape(_operand_types(op)[3]),
                        _shape(op["type"]),
                        _candidates(target),
                        threads,
                        half_weights,
                        Path(tmp),
                    )
                else:
                    costs = _aarch64_costs(
                        module, _candidates(target), half_weights, Path(tmp)
                    )
            if not costs:
                continue
            (tile, prefetch), best = min(costs.items(), key=lambda kv: kv[1])
            cache[key] = {
                "tile_vectors": tile,
                "prefetch_distance": prefetch,
                "cost": best,
                "unit": "ms" if target == "host" else "cycles per FMA (llvm-mca)",
                "candidates": {f"{u},{d}": c for (u, d), c in costs.items()},
            }
        choice = cache[key]
        choices.append({"op": op["result"], **choice})
        if progress:
            progress(op["result"], choice)
        tuned = (
            f"blkrew.tile_vectors = {choice['tile_vectors']} : i64, "
            f"blkrew.prefetch_distance = {choice['prefetch_distance']} : i64"
        )
        attrs = op["attrs"]
        new_attrs = f" {{{attrs.strip()[1:-1]}, {tuned}}}" if attrs else f" {{{tuned}}}"
        edits.append(
            (
                op.start("attrs") if attrs else op.end("init_type") + 1,
                op.end("attrs") if attrs else op.end("init_type") + 1,
                new_attrs,
            )
        )
    for start, end, text in reversed(edits):
        ir = ir[:start] + text + ir[end:]
    if choices:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cache, indent=1))
    return ir, choices
