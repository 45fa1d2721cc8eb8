"""Run packed block-sparse matmuls through the reference lowering.

Builds a small MLIR module around one ``blkrew.bsr_matmul``, lowers it with
``blkrew-opt --blkrew-reference-to-llvm-pipeline`` and executes it with
LLVM 22's ``mlir-runner``. It is the slow, obviously-correct path the tests
compare against PyTorch.
"""

from __future__ import annotations

import re
import subprocess

import numpy as np

from blkrew.compiler.format import PackedMatrix
from blkrew.compiler.opt import run_blkrew_opt
from blkrew.compiler.toolchain import LLVM_ROOT, llvm_tool

__all__ = [
    "bsr_matmul_module",
    "dense_attr",
    "run_reference_matmul",
    "run_reference_module",
]

_MLIR_TYPES = {
    np.dtype(np.float32): "f32",
    np.dtype(np.float64): "f64",
    np.dtype(np.int32): "i32",
}


def _tensor_type(array: np.ndarray) -> str:
    dims = "x".join(str(d) for d in array.shape)
    return f"tensor<{dims}x{_MLIR_TYPES[array.dtype]}>"


def dense_attr(array: np.ndarray) -> str:
    """An exact ``dense<"0x...">`` attribute with its tensor type."""
    array = np.ascontiguousarray(array)
    if array.dtype not in _MLIR_TYPES:
        raise TypeError(f"unsupported dtype {array.dtype}")
    if array.size == 0:
        return f"dense<> : {_tensor_type(array)}"
    blob = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    return f'dense<"0x{blob.hex().upper()}"> : {_tensor_type(array)}'


def bsr_matmul_module(packed: PackedMatrix, x: np.ndarray) -> str:
    """A module whose ``main`` prints ``W @ x`` computed by bsr_matmul."""
    x = np.ascontiguousarray(x, dtype=packed.values.dtype)
    m, k = packed.shape
    if x.ndim != 2 or x.shape[0] != k:
        raise ValueError(f"x must have shape [{k}, N], got {list(x.shape)}")
    n = x.shape[1]
    elem = _MLIR_TYPES[packed.values.dtype]
    out_ty = f"tensor<{m}x{n}x{elem}>"
    rp, ci, v = packed.row_ptr, packed.col_idx, packed.values
    return f"""
func.func private @printMemrefF32(tensor<*xf32>)
func.func @main() {{
  %rp = arith.constant {dense_attr(rp)}
  %ci = arith.constant {dense_attr(ci)}
  %v = arith.constant {dense_attr(v)}
  %x = arith.constant {dense_attr(x)}
  %zero = arith.constant 0.0 : {elem}
  %e = tensor.empty() : {out_ty}
  %init = linalg.fill ins(%zero : {elem}) outs(%e : {out_ty}) -> {out_ty}
  %y = blkrew.bsr_matmul {packed.layout_attr()}
      ins(%rp, %ci, %v, %x : {_tensor_type(rp)}, {_tensor_type(ci)},
                             {_tensor_type(v)}, {_tensor_type(x)})
      outs(%init : {out_ty}) -> {out_ty}
  %u = tensor.cast %y : {out_ty} to tensor<*x{elem}>
  call @printMemrefF32(%u) : (tensor<*x{elem}>) -> ()
  return
}}
"""


_DATA_RE = re.compile(
    r"sizes = \[([0-9, ]*)\].*?data =\s*(.*?)(?=Unranked Memref|\Z)", re.S
)


def _parse_printed(stdout: str) -> list[np.ndarray]:
    out = []
    for sizes, data in _DATA_RE.findall(stdout):
        shape = [int(s) for s in sizes.split(",") if s.strip()]
        nums = re.findall(r"[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|nan|inf)", data)
        out.append(np.array([float(t) for t in nums], dtype=np.float32).reshape(shape))
    return out


def _run_runner(llvm_ir: str) -> list[np.ndarray]:
    lib = LLVM_ROOT / "lib"
    proc = subprocess.run(
        [
            str(llvm_tool("mlir-runner")),
            "-e",
            "main",
            "-entry-point-result=void",
            f"-shared-libs={lib / 'libmlir_runner_utils.so'}",
            f"-shared-libs={lib / 'libmlir_c_runner_utils.so'}",
        ],
        input=llvm_ir,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"mlir-runner failed:\n{proc.stderr}")
    return _parse_printed(proc.stdout)


def run_reference_matmul(packed: PackedMatrix, x: np.ndarray) -> np.ndarray:
    """``W @ x`` through blkrew-opt's reference pipeline and mlir-runner."""
    if packed.values.dtype != np.float32:
        raise TypeError("the reference runner prints f32 results only")
    llvm_ir = run_blkrew_opt(
        bsr_matmul_module(packed, x), ["--blkrew-reference-to-llvm-pipeline"]
    )
    results = _run_runner(llvm_ir)
    if len(results) != 1:
        raise RuntimeError(f"expected one printed result, got {len(results)}")
    return results[0]


_SIGNATURE_RE = re.compile(r"func\.func @main\((.*?)\) -> \(?(.*?)\)? \{")


def run_reference_module(
    module: str, inputs: list[np.ndarray], passes: list[str] = ()
) -> list[np.ndarray]:
    """Runs the ``@main`` of a torch-mlir ``linalg-on-tensors`` module.

    ``passes`` (blkrew-opt flags, e.g. ``--blkrew-sparsify=...``) run first,
    then the reference pipeline; the results are printed by a generated
    driver and parsed back. f32 inputs and results only.
    """
    match = _SIGNATURE_RE.search(module)
    if match is None:
        raise ValueError("no `func.func @main(...) -> ...` in the module")
    result_types = [t.strip() for t in re.split(r",\s*(?=tensor<)", match.group(2))]
    module = module.replace("func.func @main(", "func.func @forward(", 1)
    lines = [
        "  func.func private @printMemrefF32(tensor<*xf32>)",
        "  func.func @main() {",
    ]
    args, arg_types = [], []
    for i, x in enumerate(inputs):
        x = np.ascontiguousarray(x, dtype=np.float32)
        lines.append(f"    %in{i} = arith.constant {dense_attr(x)}")
        args.append(f"%in{i}")
        arg_types.append(_tensor_type(x))
    outs = ", ".join(f"%out{i}" for i in range(len(result_types)))
    lines.append(
        f"    {outs} = call @forward({', '.join(args)}) : "
        f"({', '.join(arg_types)}) -> ({', '.join(result_types)})"
    )
    for i, ty in enumerate(result_types):
        lines.append(f"    %u{i} = tensor.cast %out{i} : {ty} to tensor<*xf32>")
        lines.append(f"    call @printMemrefF32(%u{i}) : (tensor<*xf32>) -> ()")
    lines += ["    return", "  }"]
    # The driver goes inside the module, before its closing brace (the
    # dialect_resources section, if any, follows the module).
    end = module.rfind("\n}", 0, module.find("{-#") if "{-#" in module else None)
    module = module[:end] + "\n" + "\n".join(lines) + module[end:]
    llvm_ir = run_blkrew_opt(module, [*passes, "--blkrew-reference-to-llvm-pipeline"])
    results = _run_runner(llvm_ir)
    if len(results) != len(result_types):
        raise RuntimeError(f"expected {len(result_types)} results, got {len(results)}")
    return results
