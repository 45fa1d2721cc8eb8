"""``blkrew.compile``: a PyTorch model to native block-sparse code.

import (torch-mlir, linalg-on-tensors text) -> ``blkrew-opt``
(``blkrew-sparsify``, then ``blkrew-cpu-pipeline`` or
``blkrew-spirv-pipeline``) -> for CPUs: LLVM IR -> object -> a shared
library (host, called in-process) or a static AArch64 executable (run under
qemu-aarch64); for mobile GPUs: SPIR-V kernels plus a dispatch plan, run
through Vulkan. The artifacts live in one folder with a manifest;
``save``/``blkrew.load`` copy and check it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from blkrew.compiler import toolchain
from blkrew.compiler.opt import BlkRewOptError, run_blkrew_opt

__all__ = ["CompileError", "CompiledModule", "compile", "load"]

TARGETS = ("host", "aarch64", "spirv")
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class CompileError(RuntimeError):
    """The model could not be compiled; the message says which step and why."""


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: str = "float32"

    def describe(self) -> str:
        return f"{self.dtype}{list(self.shape)}"


def _flatten_outputs(out) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        flat = []
        for o in out:
            flat.extend(_flatten_outputs(o))
        return flat
    raise CompileError(f"unsupported model output type {type(out).__name__}")


# Integer inputs (token ids for an nn.Embedding) reach the compiled code as
# int32: mobile GPUs have no 64-bit integers, and an index into a weight
# fits 32 bits. Callers may pass int64 or int32 tensors.
INTEGER_DTYPES = (torch.int64, torch.int32)
# On the CPU targets a convolution (larger than 1x1) at a batch above 1 runs
# image by image where an output image has at least this many pixels
# (blkrew-sparsify image-loop-min-pixels; docs/compile.md). The SPIR-V
# export takes no host loops.
IMAGE_LOOP_MIN_PIXELS = 16


class _Int32Inputs(torch.nn.Module):
    """``model`` taking its integer inputs as int32, converted back to the
    dtype each was given in before the model sees it."""

    def __init__(self, model: torch.nn.Module, dtypes: Sequence[torch.dtype]):
        super().__init__()
        self.model = model
        self.dtypes = list(dtypes)

    def forward(self, *inputs):
        return self.model(
            *(
                x.to(dtype) if dtype in INTEGER_DTYPES else x
                for x, dtype in zip(inputs, self.dtypes, strict=True)
            )
        )


def _index_bounds(model: torch.nn.Module, n_inputs: int) -> dict[int, int]:
    """For each input that feeds an ``nn.Embedding`` directly, the number of
    rows of the smallest such table: the call checks indices against it and
    raises IndexError, as PyTorch does, where the compiled code's own check
    would abort the process (or, on SPIR-V, read out of bounds). Empty where
    torch.fx cannot trace the model (no check then)."""
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception:
        return {}
    placeholders = [n for n in graph.nodes if n.op == "placeholder"][:n_inputs]
    position = {node: i for i, node in enumerate(placeholders)}
    modules = dict(model.named_modules())
    bounds: dict[int, int] = {}
    for node in graph.nodes:
        if node.op == "call_module" and isinstance(
            modules.get(node.target), torch.nn.Embedding
        ):
            rows = modules[node.target].num_embeddings
        elif (
            node.op == "call_function" and node.target is torch.nn.functional.embedding
        ):
            weight = node.args[1] if len(node.args) > 1 else node.kwargs.get("weight")
            if not (isinstance(weight, torch.fx.Node) and weight.op == "get_attr"):
                continue
            try:
                table = functools.reduce(getattr, weight.target.split("."), model)
                rows = table.shape[0]
            except (AttributeError, IndexError):
                continue
        else:
            continue
        source = node.args[0] if node.args else node.kwargs.get("input")
        if source in position:
            i = position[source]
            bounds[i] = min(rows, bounds.get(i, rows))
    return bounds


def _spec_dtype(x: torch.Tensor) -> str:
    return "int32" if x.dtype in INTEGER_DTYPES else "float32"


def import_model(model: torch.nn.Module, example_inputs: Sequence[torch.Tensor]) -> str:
    """torch-mlir FX import to ``linalg-on-tensors`` MLIR text."""
    try:
        from torch_mlir import fx
    except ImportError as e:  # pragma: no cover - torch-mlir is a dependency
        raise CompileError("torch-mlir is not installed: run `make setup`") from e
    from torch._decomp import get_decompositions
    from torch_mlir.extras.fx_decomp_util import get_decomposition_table

    # torch-mlir's own GELU lowering takes sqrt(2/pi) as 0.797724 for the
    # tanh form (2e-4 off: 5e-5 error in GELU) and x^3 as a powi, which
    # SPIR-V cannot take with an i64 exponent; PyTorch's decomposition uses
    # the exact constants and x*x*x (the erf form: blkrew-approximate-math).
    table = dict(get_decomposition_table())
    table.update(get_decompositions([torch.ops.aten.gelu]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            module = fx.export_and_import(
                model,
                *example_inputs,
                output_type="linalg-on-tensors",
                decomposition_table=table,
            )
        except Exception as e:
            raise CompileError(f"torch-mlir could not import the model: {e}") from e
    return str(module)


def fold_batchnorms(model: torch.nn.Module) -> tuple[torch.nn.Module, int]:
    """``model`` (in eval mode) with each BatchNorm that follows a
    convolution or linear layer folded into that layer's weight and bias,
    and how many were folded. The fold scales whole output rows, so a
    block-pruned weight keeps every zero block. Models that torch.fx
    cannot trace come back unchanged, with a warning that says why."""
    with warnings.catch_warnings():
        # The module imports torch.jit, which warns of its own deprecation.
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch.fx.experimental.optimization import fuse

    def count(m):
        return sum(
            isinstance(x, torch.nn.modules.batchnorm._BatchNorm) for x in m.modules()
        )

    before = count(model)
    if not before:
        return model, 0
    try:
        folded = fuse(model)
    except Exception as e:  # not traceable by torch.fx: compile it as it is
        warnings.warn(
            f"BatchNorm not folded: torch.fx could not trace the model "
            f"({type(e).__name__}: {(str(e).splitlines() or [''])[0]}); "
            f"its {before} BatchNorm layer(s) run as separate element-wise ops",
            stacklevel=3,
        )
        return model, 0
    return folded, before - count(folded)


# What blkrew-attach-spirv-target assumes of the device (see its docs).
SPIRV_TARGET_ENV = (
    "Vulkan 1.1 / SPIR-V 1.3, Shader capability only (no Int64, Float64, "
    "Float16); workgroups of 64 invocations (limit 128, [128, 128, 64]); "
    "at most 65535 workgroups per grid dimension; at most 8 storage buffers "
    "per kernel; 32-bit indices"
)


def plan_summary(plan: dict) -> dict:
    """Kernel and dispatch counts of a Vulkan plan, and the largest grid."""
    grids = [d["grid"] for d in plan["dispatches"]]
    workgroups = [g[0] * g[1] * g[2] for g in grids]
    return {
        "kernels": len(plan["kernels"]),
        "dispatches": len(grids),
        "workgroups_total": sum(workgroups),
        "workgroups_max": max(workgroups, default=0),
        "buffers": len(plan["buffers"]),
        "buffer_bytes": sum(b["bytes"] for b in plan["buffers"]),
    }


def _quote_option(path: Path) -> str:
    """A path as a (double-quoted) MLIR pass-option value."""
    text = str(path)
    if '"' in text:
        raise CompileError(f"workdir {text!r} contains a double quote")
    return f'"{text}"'


def _run_opt(ir: str, args: list[str], out_dir: Path) -> str:
    try:
        return run_blkrew_opt(ir, args, keep_dir=out_dir / "repro")
    except BlkRewOptError as e:
        # Lead with the first diagnostic: it names the op that failed.
        first = (
            next((ln for ln in e.diagnostics.splitlines() if "error:" in ln), "")
            .split("error:", 1)[-1]
            .strip()
        )
        raise CompileError(
            f"blkrew-opt could not compile the model: {first}\n{e}"
        ) from e


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# blkrew-plan-buffers' static arenas in LLVM IR: every temporary of a call.
_ARENA = re.compile(r"^@__blkrew_arena_\w+ = private global \[(\d+) x i8\]", re.M)


def _layers_summary(ir: str) -> dict:
    """Counts of what blkrew-sparsify did, read from the sparsified IR:
    sparse kernels, dense layers run by the same kernel (``blkrew.dense``),
    what stayed linalg (matmuls, convolutions), and the convolutions run
    image by image (``image_loops``)."""
    kernels = re.findall(r"blkrew\.bsr_matmul .*", ir)
    dense = [k for k in kernels if "{blkrew.dense}" in k]
    return {
        "sparse_matmuls": len(kernels) - len(dense),
        "reordered_matmuls": sum("perm = [" in k for k in kernels),
        "dense_packed_matmuls": len(dense),
        "dense_matmuls": len(re.findall(r"linalg\.(?:batch_)?matmul ", ir)),
        "convolutions": len(re.findall(r"linalg\.(?:depthwise_)?conv_[12]d\w*", ir)),
        "image_loops": ir.count("{blkrew.image_loop}"),
    }


def _cpu_bytes(name: str, value: int | None, target: str) -> int:
    """A CPU pipeline's byte-count option: None is -1, the pipeline's
    per-target default; others must be >= 0, on a CPU target."""
    if value is None:
        return -1
    if target == "spirv" or value < 0:
        raise ValueError(
            f"{name} must be >= 0 and applies to the CPU targets only, got "
            f"{value} for {target!r}"
        )
    return value


def compile(  # noqa: A001 - the public name is part of the API
    model: torch.nn.Module,
    example_inputs: Sequence[torch.Tensor] | torch.Tensor,
    target: str = "host",
    *,
    block: tuple[int, int] = (8, 4),
    max_density: float = 0.5,
    pack_dense: bool = True,
    reorder: bool = True,
    fold_bn: bool = True,
    tune: bool = False,
    vector_width: int = 0,
    tile_vectors: int = 0,
    prefetch_distance: int | None = None,
    weight_prefetch_bytes: int | None = None,
    panel_bytes: int | None = None,
    threads: int | None = None,
    parallel_min_fmas: int | None = None,
    parallel_min_outputs: int | None = None,
    implicit_im2col: bool = True,
    rows_per_invocation: int | None = None,
    half_weights: bool = False,
    workdir: str | os.PathLike | None = None,
    progress=None,
) -> CompiledModule:
    """Compiles ``model`` for inputs shaped like ``example_inputs``: float32
    tensors, or int64/int32 indices (an ``nn.Embedding``'s token ids), which
    the compiled code takes as int32 (see docs/compile.md, Limits).

    Args:
        target: ``"host"`` (x86-64, loaded in-process), ``"aarch64"``
            (NEON; run under qemu-aarch64) or ``"spirv"`` (Vulkan compute
            kernels for a mobile GPU; run through the Vulkan loader, e.g. on
            lavapipe).
        block: rows per packed group and block width (``blkrew-sparsify``).
        max_density: layers whose packed weight stores more than this
            fraction of the dense values count as dense.
        pack_dense: run dense constant-weight layers through the same
            register-tiled kernel (every column kept); False leaves them to
            the linalg loops.
        reorder: run ``blkrew-reorder``: regroup the rows of each packed
            weight so rows with the same kept columns share a group, where
            that makes the kernel cheaper (results are unchanged; the
            layout records the permutation).
        fold_bn: fold each BatchNorm that follows a convolution or linear
            layer into that layer (eval mode; torch.fx traces the model, and
            one it cannot trace compiles unfolded). Scaling output rows keeps
            the pruned blocks zero.
        tune: pick each sparse kernel's tile and prefetching by measuring
            every candidate on the host (AArch64: by llvm-mca's estimate);
            choices are cached on disk (``blkrew.compiler.tune``). CPU only.
        vector_width: f32 lanes of the sparse kernel; 0 = the target's
            (the host's widest: 16 with AVX-512, 8 with AVX; 4 on AArch64)
            (CPU targets only).
        tile_vectors: vectors per row in the sparse kernel's register tile
            (a rows x tile_vectors*V accumulator tile); 0 picks per layer,
            within three quarters of the vector registers (24 of 32 with
            AVX-512 and NEON, 12 of 16 with AVX2), a group's rows taken in
            slabs where it has more rows than that leaves room for
            (CPU targets only).
        prefetch_distance: the sparse kernel prefetches the input row this
            many kept columns ahead; 0 turns prefetching off; None is the
            target's default (16 on the host, off on AArch64). Kernels whose
            N fits one vector never prefetch. CPU targets.
        weight_prefetch_bytes: sparse kernels whose N is at most 64 (late
            layers, batch-1 FC and RNN steps: each weight feeds few FMAs)
            prefetch their packed weights this many bytes ahead; 0 turns
            it off; None is the target's default (4096 on the host, off on
            AArch64). CPU targets.
        panel_bytes: a sparse kernel whose input matrix (K x N, not a
            convolution's image) is larger than twice this, and each of whose
            elements feeds at least 64 multiply-adds, copies it in panels
            of N this many bytes large into a packed buffer that all row
            groups read before the next panel (its rows are then
            contiguous and stay in the core's L2); 0 turns it off; None is
            the target's default (a quarter of the host's L2; 128 KiB on
            AArch64). CPU targets.
        threads: host only. The sparse kernels run their row groups on
            OpenMP threads: ``None`` uses ``OMP_NUM_THREADS`` (or all cores),
            a number fixes the count, 1 compiles single-threaded code. Beside
            multi-threaded torch ops in one process, both runtimes' workers
            spin on the same cores: see docs/compile.md (Limits) for the
            environment that avoids it.
        parallel_min_fmas: with threads, a sparse kernel whose work (kept
            values x N multiply-adds) is below this stays on the calling
            thread, where waking another thread would cost more than it
            saves (batch-1 RNN steps); None is the pipeline's default
            (2**20), 0 threads every kernel.
        parallel_min_outputs: with threads, a sparse kernel whose output has
            fewer elements than this needs 8 x parallel_min_fmas of work to
            be threaded (on the x86 host, batch-1 CIFAR convolutions pruned
            8x, whose outputs fit a core's L2, ran slower on 2 threads than
            on 1); None is the pipeline's default (2**18), 0 drops this
            test.
        implicit_im2col: stride-1 convolutions read their patches from the
            padded image inside the sparse kernel (``blkrew-fold-im2col``)
            where the output width is a multiple of the vector width,
            instead of writing the patch matrix first; False always writes
            it (CPU targets; the SPIR-V kernels always read the image).
        rows_per_invocation: ``spirv`` only: rows of a packed group one
            invocation of the block-sparse kernel computes, each input
            element it loads feeding all of them (the largest divisor of the
            group's height not above it; 0: the whole group); None is the
            pipeline's default.
        half_weights: the sparse kernels that wait on their weights store
            them as f16 (``blkrew-half-weights``): those whose N (batch x
            output pixels) is below the vector width, with groups of 4 rows
            or more (batch-1 linear layers, RNN steps at small batch,
            convolutions on maps of a few pixels). Each weight is rounded
            to the nearest f16 (an error of at most 2**-11 of it, or 2**-25
            for |w| < 2**-14) and extended to f32 as the kernel reads it;
            inputs, outputs and all arithmetic stay f32. The other kernels
            keep f32 weights: there the multiply-adds set the time and
            extending each weight cost more than the halved bytes saved. A
            weight beyond f16's range is an error. CPU targets only.
        workdir: where the artifacts go. By default a new temporary folder,
            removed once the returned module is garbage-collected (or Python
            exits): pass a folder, or ``save()`` the module, to keep them.
        progress: called as ``progress(op, choice)`` as tuning settles each
            kernel (the CLI prints them).
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}: expected one of {TARGETS}")
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    example_inputs = tuple(example_inputs)
    for i, x in enumerate(example_inputs):
        if not isinstance(x, torch.Tensor) or (
            x.dtype != torch.float32 and x.dtype not in INTEGER_DTYPES
        ):
            raise TypeError(
                f"example input {i} must be a float32 tensor (or int64/int32 "
                f"indices, e.g. an nn.Embedding's), got "
                f"{x.dtype if isinstance(x, torch.Tensor) else type(x).__name__}"
            )
    p, q = block
    if p <= 0 or q <= 0:
        raise ValueError(f"block sizes must be positive, got {block}")
    if not 0.0 <= max_density <= 1.0:
        raise ValueError(f"max_density must be in [0, 1], got {max_density}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if target == "spirv" and (
        threads is not None or vector_width or tile_vectors or tune
    ):
        raise ValueError(
            "threads, vector_width, tile_vectors and tune apply to the CPU targets only"
        )
    if target == "spirv" and not implicit_im2col:
        raise ValueError(
            "implicit_im2col=False applies to the CPU targets only: the SPIR-V "
            "kernels always read convolution patches from the image"
        )
    if rows_per_invocation is not None and (
        target != "spirv" or rows_per_invocation < 0
    ):
        raise ValueError(
            "rows_per_invocation must be >= 0 and applies to the spirv target only"
        )
    if half_weights and target == "spirv":
        raise ValueError(
            "half_weights applies to the CPU targets only: the SPIR-V kernels "
            "read f32 weights (16-bit storage buffers are not requested from "
            "the device)"
        )
    if prefetch_distance is None:
        prefetch_distance = -1  # the pipeline's per-target default
    elif target == "spirv":
        raise ValueError("prefetch_distance applies to the CPU targets only")
    if vector_width < 0 or tile_vectors < 0 or prefetch_distance < -1:
        raise ValueError(
            "vector_width, tile_vectors and prefetch_distance must be >= 0, got "
            f"{vector_width}, {tile_vectors} and {prefetch_distance}"
        )
    weight_prefetch_bytes = _cpu_bytes(
        "weight_prefetch_bytes", weight_prefetch_bytes, target
    )
    panel_bytes = _cpu_bytes("panel_bytes", panel_bytes, target)
    # Each is the pipeline option of the same name (dashes for underscores).
    thresholds = {
        "parallel_min_fmas": parallel_min_fmas,
        "parallel_min_outputs": parallel_min_outputs,
    }
    for name, value in thresholds.items():
        if value is not None and (target != "host" or value < 0):
            raise ValueError(f"{name} must be >= 0 and applies to the host target only")
    if target == "aarch64" and threads not in (None, 1):
        raise ValueError(
            "threads > 1 needs an OpenMP runtime for the target; only the host "
            "has one here"
        )
    parallel = target == "host" and threads != 1

    model = model.eval()
    folded_batchnorms = 0
    if fold_bn:
        model, folded_batchnorms = fold_batchnorms(model)
    with torch.no_grad():
        outputs = _flatten_outputs(model(*example_inputs))
    out_dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="blkrew-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    timings = {}

    start = time.perf_counter()
    index_bounds = {}
    if any(x.dtype in INTEGER_DTYPES for x in example_inputs):
        index_bounds = _index_bounds(model, len(example_inputs))
        imported = import_model(
            _Int32Inputs(model, [x.dtype for x in example_inputs]),
            [
                x.to(torch.int32) if x.dtype in INTEGER_DTYPES else x
                for x in example_inputs
            ],
        )
    else:
        imported = import_model(model, example_inputs)
    # A C symbol named `main` would clash with the AArch64 harness.
    imported = imported.replace("func.func @main(", "func.func @forward(", 1)
    (out_dir / "imported.mlir").write_text(imported)
    timings["import_s"] = time.perf_counter() - start

    start = time.perf_counter()
    sparsify = (
        f"--blkrew-sparsify=block-rows={p} block-cols={q} max-density={max_density} "
        f"pack-dense={str(pack_dense).lower()} "
        f"image-loop-min-pixels={0 if target == 'spirv' else IMAGE_LOOP_MIN_PIXELS}"
    )
    sparse_ir = _run_opt(
        imported, [sparsify, *(["--blkrew-reorder"] if reorder else [])], out_dir
    )
    inputs = [TensorSpec(tuple(x.shape), _spec_dtype(x)) for x in example_inputs]
    output_specs = [TensorSpec(tuple(o.shape)) for o in outputs]
    extra = {}
    if target == "spirv":
        _run_opt(
            sparse_ir,
            [
                "--blkrew-spirv-pipeline"
                + (
                    ""
                    if rows_per_invocation is None
                    else f"=rows-per-invocation={rows_per_invocation}"
                ),
                f"--blkrew-export-vulkan=output-dir={_quote_option(out_dir)}",
            ],
            out_dir,
        )
        timings["blkrew_opt_s"] = time.perf_counter() - start
        start = time.perf_counter()
        plan = json.loads((out_dir / "plan.json").read_text())
        kernel_files = [k["file"] for k in plan["kernels"]]
        validated = [toolchain.validate_spirv(out_dir / f) for f in kernel_files]
        timings["spirv_val_s"] = time.perf_counter() - start
        artifact = out_dir / "plan.json"
        files = ["plan.json", plan["constants"], *kernel_files]
        extra["spirv"] = {
            "target_env": SPIRV_TARGET_ENV,
            "spirv_val": all(validated),
            "rows_per_invocation": rows_per_invocation,  # None: the default
            **plan_summary(plan),
        }
    else:
        if tune:
            from blkrew.compiler.tune import tune_kernels

            start_tune = time.perf_counter()
            sparse_ir, extra["tuning"] = tune_kernels(
                sparse_ir,
                target,
                threads if parallel else 1,
                progress=progress,
                half_weights=half_weights,
            )
            timings["tune_s"] = time.perf_counter() - start_tune
        pipeline = (
            f"--blkrew-cpu-pipeline=target={target} vector-width={vector_width} "
            f"tile-vectors={tile_vectors} prefetch-distance={prefetch_distance} "
            f"weight-prefetch-bytes={weight_prefetch_bytes} "
            f"panel-bytes={panel_bytes} "
            f"parallel={str(parallel).lower()} "
            f"implicit-im2col={str(implicit_im2col).lower()} "
            f"half-weights={str(half_weights).lower()}"
            + "".join(
                f" {name.replace('_', '-')}={value}"
                for name, value in thresholds.items()
                if value is not None
            )
        )
        llvm_dialect = _run_opt(sparse_ir, [pipeline], out_dir)
        timings["blkrew_opt_s"] = time.perf_counter() - start

        start = time.perf_counter()
        ll_path = out_dir / "model.ll"
        ll = toolchain.translate_to_llvm_ir(llvm_dialect)
        ll_path.write_text(ll)
        extra["arena_bytes"] = sum(int(n) for n in _ARENA.findall(ll))
        obj = out_dir / "model.o"
        toolchain.compile_object(ll_path, obj, target)
        if target == "host":
            artifact = out_dir / "model.so"
            toolchain.link_shared_library(obj, artifact, openmp=parallel)
        else:
            from blkrew.runtime.qemu import write_harness

            harness = out_dir / "harness.c"
            write_harness(harness, inputs, output_specs)
            artifact = out_dir / "model-aarch64"
            toolchain.link_aarch64_executable(obj, harness, artifact)
        timings["native_s"] = time.perf_counter() - start
        files = [artifact.name]
    shutil.rmtree(out_dir / "repro", ignore_errors=True)

    manifest = {
        "format_version": FORMAT_VERSION,
        "target": target,
        "artifact": artifact.name,
        "entry": "_mlir_ciface_forward",
        "inputs": [s.shape for s in inputs],
        "input_dtypes": [s.dtype for s in inputs],
        # Inputs that index an nn.Embedding directly: its number of rows.
        "index_bounds": {str(i): rows for i, rows in sorted(index_bounds.items())},
        "outputs": [s.shape for s in output_specs],
        "block": [p, q],
        "max_density": max_density,
        "pack_dense": pack_dense,
        "reorder": reorder,
        "implicit_im2col": implicit_im2col,
        "half_weights": half_weights,
        "folded_batchnorms": folded_batchnorms,
        "parallel": parallel,
        "threads": threads,
        **thresholds,
        "layers": _layers_summary(sparse_ir),
        **extra,
        "timings": timings,
        "files": {name: _sha256(out_dir / name) for name in [*files, "imported.mlir"]},
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    compiled = CompiledModule(out_dir)
    if workdir is None:
        # The temporary folder lives as long as the module that runs from
        # it (its library, or its AArch64 executable, is read from there).
        weakref.finalize(compiled, shutil.rmtree, str(out_dir), True)
    return compiled


class CompiledModule:
    """A compiled model: call it with tensors like the original model."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        manifest_path = self.directory / MANIFEST
        if not manifest_path.is_file():
            raise FileNotFoundError(f"{manifest_path} not found: not a blkrew artifact")
        try:
            self.manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{manifest_path} is not valid JSON: {e}") from e
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{manifest_path}: format version {self.manifest.get('format_version')}"
                f" is not {FORMAT_VERSION}; recompile the model"
            )
        for name, digest in self.manifest["files"].items():
            path = self.directory / name
            if not path.is_file():
                raise ValueError(f"{path} listed in the manifest is missing")
            if _sha256(path) != digest:
                raise ValueError(
                    f"{path} does not match its manifest hash: the folder was "
                    "modified or mixed with another model's files"
                )
        self.target = self.manifest["target"]
        # Manifests from before integer inputs have no input_dtypes.
        dtypes = self.manifest.get(
            "input_dtypes", ["float32"] * len(self.manifest["inputs"])
        )
        self.input_specs = [
            TensorSpec(tuple(s), d)
            for s, d in zip(self.manifest["inputs"], dtypes, strict=True)
        ]
        self.index_bounds = {
            int(i): rows for i, rows in self.manifest.get("index_bounds", {}).items()
        }
        self.output_specs = [TensorSpec(tuple(s)) for s in self.manifest["outputs"]]
        self._runner = None
        self._profiler = None
        # The shapes of a call's tensors (inputs, then outputs) on the fast
        # path of __call__: host models with float32 inputs only.
        self._fast_shapes = None
        self._fast_runner = None  # the host runner, once a call has set it up
        if all(s.dtype == "float32" for s in self.input_specs):
            self._fast_shapes = [
                s.shape for s in (*self.input_specs, *self.output_specs)
            ]

    @property
    def device_name(self) -> str | None:
        """The Vulkan device a ``spirv`` model runs on (None for CPU targets)."""
        if self.target != "spirv":
            return None
        if self._runner is None:
            from blkrew.runtime.vulkan import VulkanRunner

            self._runner = VulkanRunner(self.directory)
        return self._runner.device_name

    @property
    def layers(self) -> dict:
        """What blkrew-sparsify rewrote (sparse / dense matmuls, convs)."""
        return dict(self.manifest["layers"])

    def _check_inputs(self, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        if len(inputs) != len(self.input_specs):
            raise TypeError(
                f"expected {len(self.input_specs)} input(s) "
                f"({', '.join(s.describe() for s in self.input_specs)}), "
                f"got {len(inputs)}"
            )
        checked = []
        for i, (x, spec) in enumerate(zip(inputs, self.input_specs, strict=True)):
            if not isinstance(x, torch.Tensor):
                raise TypeError(
                    f"input {i} must be a torch.Tensor, got {type(x).__name__}"
                )
            if spec.dtype == "int32":
                if x.dtype not in INTEGER_DTYPES:
                    raise TypeError(
                        f"input {i} must be integer indices (int64 or int32), "
                        f"got {x.dtype}"
                    )
            elif x.dtype != torch.float32:
                raise TypeError(f"input {i} must be float32, got {x.dtype}")
            if x.shape != spec.shape:
                raise ValueError(
                    f"input {i} must have shape {list(spec.shape)} (the shape it was "
                    f"compiled for), got {list(x.shape)}"
                )
            # The kernels read the memory behind data_ptr(): a contiguous
            # CPU tensor as is (a new detached view per call cost a
            # microsecond of the ~10 the call adds), anything else copied.
            if spec.dtype == "int32":
                x = x.detach().cpu()
                if x.numel():
                    low, high = int(x.min()), int(x.max())
                    rows = self.index_bounds.get(i)
                    if rows is not None and (low < 0 or high >= rows):
                        bad = low if low < 0 else high
                        raise IndexError(
                            f"input {i} holds index {bad}, outside the "
                            f"embedding's {rows} rows"
                        )
                    if low < -(2**31) or high >= 2**31:
                        raise ValueError(
                            f"input {i} holds indices outside int32's range, "
                            "which the compiled model takes its integer inputs as"
                        )
                checked.append(x.to(torch.int32).contiguous())
            elif x.is_cpu and x.is_contiguous():
                checked.append(x)
            else:
                checked.append(x.detach().cpu().contiguous())
        return checked

    def _check_outputs(self, out) -> list[torch.Tensor]:
        outputs = [out] if isinstance(out, torch.Tensor) else list(out)
        if len(outputs) != len(self.output_specs):
            raise TypeError(
                f"out= needs {len(self.output_specs)} tensor(s) "
                f"({', '.join(s.describe() for s in self.output_specs)}), "
                f"got {len(outputs)}"
            )
        for i, (y, spec) in enumerate(zip(outputs, self.output_specs, strict=True)):
            if not isinstance(y, torch.Tensor):
                raise TypeError(
                    f"output {i} must be a torch.Tensor, got {type(y).__name__}"
                )
            if (
                y.dtype != torch.float32
                or y.shape != spec.shape
                or not y.is_cpu
                or not y.is_contiguous()
            ):
                raise ValueError(
                    f"output {i} must be a contiguous CPU float32 tensor of shape "
                    f"{list(spec.shape)}, got {y.dtype} {list(y.shape)} on "
                    f"{y.device}{'' if y.is_contiguous() else ', not contiguous'}"
                )
        return outputs

    def _fast_pointers(self, inputs, outputs) -> list[int] | None:
        """The data pointers of ``inputs`` and ``outputs`` when every one is
        a contiguous CPU float32 tensor of its compiled shape and no output
        overlaps an input (the common call), else None: the checked path
        then converts what it can and says what is wrong. One pass, few
        calls into torch, and the runner only repoints its descriptors: the
        digits GRU at batch 1 (a 4 us kernel) ran 1.09x faster per call than
        through the checked path, 1.28-1.31x with ``out=``."""
        ptrs = []
        for t, shape in zip((*inputs, *outputs), self._fast_shapes, strict=True):
            if not (
                isinstance(t, torch.Tensor)
                and t.dtype is torch.float32
                and t.shape == shape
                and t.is_contiguous()
                and t.is_cpu
            ):
                return None
            ptrs.append(t.data_ptr())
        n = len(inputs)
        for i in range(n, len(ptrs)):
            start, end = ptrs[i], ptrs[i] + outputs[i - n].nbytes
            for j in range(n):
                if ptrs[j] < end and start < ptrs[j] + inputs[j].nbytes:
                    return None
        return ptrs

    def __call__(self, *inputs: torch.Tensor, out=None):
        """Runs the compiled model. ``out``: the output tensor (a sequence of
        them for several outputs) to write into instead of new ones,
        contiguous CPU float32 of the compiled shape; returned. Reusing it
        saves allocating, and on Linux faulting in, the outputs on every
        call."""
        if self._fast_runner is not None and len(inputs) == len(self.input_specs):
            if out is None:
                outputs = [torch.empty(s.shape) for s in self.output_specs]
            elif isinstance(out, torch.Tensor):
                outputs = [out]
            else:
                outputs = list(out)
            if len(outputs) == len(self.output_specs):
                ptrs = self._fast_pointers(inputs, outputs)
                if ptrs is not None:
                    self._fast_runner.run_pointers(ptrs)
                    return outputs[0] if len(outputs) == 1 else tuple(outputs)
        inputs = self._check_inputs(inputs)
        outputs = None if out is None else self._check_outputs(out)
        for y in outputs or ():
            start, end = y.data_ptr(), y.data_ptr() + y.nbytes
            if any(
                x.data_ptr() < end and start < x.data_ptr() + x.nbytes for x in inputs
            ):
                raise ValueError("out= must not share memory with an input")
        if self._runner is None:
            if self.target == "spirv":
                from blkrew.runtime.vulkan import VulkanRunner

                self._runner = VulkanRunner(self.directory)
            elif self.target == "host":
                from blkrew.runtime.host import HostRunner

                self._runner = HostRunner(
                    self.directory / self.manifest["artifact"],
                    self.manifest["entry"],
                    # A build without OpenMP regions has no count to set.
                    threads=self.manifest.get("threads")
                    if self.manifest.get("parallel")
                    else None,
                )
            else:
                from blkrew.runtime.qemu import QemuRunner

                self._runner = QemuRunner(self.directory / self.manifest["artifact"])
        if outputs is None:
            outputs = [
                torch.empty(s.shape, dtype=torch.float32) for s in self.output_specs
            ]
        self._runner.run(inputs, outputs)
        if self.target == "host" and self._fast_shapes is not None:
            self._fast_runner = self._runner
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def profile(self, *inputs: torch.Tensor) -> list[dict]:
        """Runs a ``spirv`` model once with a GPU timestamp after every
        launch: one dict per launch in program order (``dispatch``,
        ``kernel``, ``entry``, ``grid``, ``block_sparse``: a launch of the
        block-sparse kernel, ``ms``: its time on the device). The first call
        also pays for the driver's shader compilation; profile twice."""
        if self.target != "spirv":
            raise ValueError(
                f"profile() times Vulkan launches: target 'spirv' only, this "
                f"model is compiled for {self.target!r}"
            )
        inputs = self._check_inputs(inputs)
        if self._profiler is None:
            from blkrew.runtime.vulkan import VulkanRunner

            self._profiler = VulkanRunner(self.directory, profile=True)
        outputs = [torch.empty(s.shape, dtype=torch.float32) for s in self.output_specs]
        self._profiler.run(inputs, outputs)
        return self._profiler.last_profile

    def save(self, directory: str | os.PathLike) -> Path:
        """Copies the artifacts (library or executable, IR, manifest) to
        ``directory``; ``blkrew.load(directory)`` loads them back."""
        dest = Path(directory)
        dest.mkdir(parents=True, exist_ok=True)
        for name in [*self.manifest["files"], MANIFEST]:
            shutil.copy2(self.directory / name, dest / name)
        return dest

    def __repr__(self) -> str:
        ins = ", ".join(s.describe() for s in self.input_specs)
        return (
            f"CompiledModule(target={self.target!r}, inputs=[{ins}], "
            f"dir={self.directory})"
        )


def load(directory: str | os.PathLike) -> CompiledModule:
    """Loads a folder written by :meth:`CompiledModule.save` (checks hashes)."""
    return CompiledModule(directory)
