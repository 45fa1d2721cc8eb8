"""MLIR's sparsifier as a benchmark peer: ``W @ X`` with W in a BSR encoding.

The module is upstream MLIR only: ``linalg.matmul`` whose sparse operand
has the block-sparse-row encoding

    (i, j) -> (i floordiv p : dense, j floordiv q : compressed,
               i mod p : dense, j mod q : dense)

built with ``sparse_tensor.assemble`` from the packed arrays (block-row
positions, block-column coordinates, p x q values per block: exactly
``torch.Tensor.to_sparse_bsr``'s), so the weights are packed once, outside
the timed call, as blkrew's are. ``mlir-opt --sparsifier`` (vector length
from the host, runtime library off, 32-bit indices) lowers it to LLVM; clang
-O3 -march=native compiles it like blkrew's kernels. The product accumulates
into the caller's output buffer, so each call zeroes it first (blkrew's
kernel writes its output without a separate fill; torch allocates one).

Blocks with a side of 1 are not measured: see ``UNSUPPORTED_1D``.

The upstream pipeline has no CPU threading (its parallelization strategies
produce ``scf.parallel``, which it lowers to sequential loops), so this peer
is measured at one thread only.
"""

from __future__ import annotations

import ctypes
import subprocess
import warnings
from pathlib import Path

import torch

from blkrew.compiler import toolchain
from blkrew.compiler.toolchain import llvm_tool
from blkrew.runtime.memref import make_descriptor

MODULE = """\
#BSR = #sparse_tensor.encoding<{{
  map = (i, j) -> ({levels}),
  posWidth = 32, crdWidth = 32
}}>
func.func @spmm(%pos: tensor<{npos}xi32>, %crd: tensor<{nblocks}xi32>,
                %val: tensor<{nvals}xf32>, %x: tensor<{k}x{n}xf32>,
                %out: memref<{m}x{n}xf32>) attributes {{llvm.emit_c_interface}} {{
  %w = sparse_tensor.assemble (%pos, %crd), %val
      : (tensor<{npos}xi32>, tensor<{nblocks}xi32>), tensor<{nvals}xf32>
      to tensor<{m}x{k}xf32, #BSR>
  %init = bufferization.to_tensor %out restrict writable
      : memref<{m}x{n}xf32> to tensor<{m}x{n}xf32>
  %y = linalg.matmul ins(%w, %x : tensor<{m}x{k}xf32, #BSR>, tensor<{k}x{n}xf32>)
                     outs(%init : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  bufferization.materialize_in_destination %y in restrict writable %out
      : (tensor<{m}x{n}xf32>, memref<{m}x{n}xf32>) -> ()
  return
}}
"""


# Why blocks with a side of 1 have no sparsifier number (mlir-opt 22.1).
UNSUPPORTED_1D = (
    'p x 1 blocks: the 4-level encoding cannot invert `j mod 1` ("failed to '
    'infer lvlToDim") and the 3-level (i floordiv p, j, i mod p) form '
    "crashes mlir-opt --sparsifier (AffineMap::compose)"
)


class SparsifierBSR:
    """``W @ x`` (x: [K, N]) compiled by MLIR's sparsifier for one W."""

    def __init__(self, w: torch.Tensor, block, n: int, workdir: Path, vl: int = 16):
        p, q = block
        m, k = w.shape
        if m % p or k % q:
            raise ValueError(f"{m}x{k} is not a multiple of the {p}x{q} block")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: BSR support is beta
            bsr = w.to_sparse_bsr((p, q))
        self.pos = bsr.crow_indices().to(torch.int32).contiguous()
        self.crd = bsr.col_indices().to(torch.int32).contiguous()
        self.val = bsr.values().reshape(-1).contiguous()
        self.shape = (m, n)
        if min(p, q) == 1:
            raise NotImplementedError(UNSUPPORTED_1D)
        text = MODULE.format(
            levels=f"i floordiv {p} : dense, j floordiv {q} : compressed, "
            f"i mod {p} : dense, j mod {q} : dense",
            m=m,
            k=k,
            n=n,
            npos=self.pos.numel(),
            nblocks=self.crd.numel(),
            nvals=self.val.numel(),
        )
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "sparsifier.mlir").write_text(text)
        proc = subprocess.run(
            [
                str(llvm_tool("mlir-opt")),
                f"--sparsifier=vl={vl} enable-runtime-library=false "
                "enable-index-optimizations=true",
            ],
            input=text,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"mlir-opt --sparsifier failed:\n{proc.stderr}")
        llvm = proc.stdout
        ll = workdir / "sparsifier.ll"
        ll.write_text(toolchain.translate_to_llvm_ir(llvm))
        obj, lib = workdir / "sparsifier.o", workdir / "sparsifier.so"
        toolchain.compile_object(ll, obj, "host")
        toolchain.link_shared_library(obj, lib)
        self._lib = ctypes.CDLL(str(lib))
        self._fn = self._lib._mlir_ciface_spmm
        self._fn.restype = None

    def __call__(self, x: torch.Tensor, out: torch.Tensor | None = None):
        if out is None:
            out = torch.empty(self.shape)
        out.zero_()
        # The descriptors view the tensors; keep them alive for the call.
        descs = [make_descriptor(t) for t in (self.pos, self.crd, self.val, x, out)]
        self._fn(*[ctypes.byref(d) for d in descs])
        return out


def _check() -> None:
    """Self-check: python bench/sparsifier.py"""
    import tempfile

    torch.manual_seed(0)
    w = torch.randn(64, 48)
    w[torch.rand(8, 12).repeat_interleave(8, 0).repeat_interleave(4, 1) < 0.7] = 0
    x = torch.randn(48, 40)
    for block in ((8, 4), (4, 4), (2, 8)):
        with tempfile.TemporaryDirectory() as tmp:
            got = SparsifierBSR(w, block, 40, Path(tmp))(x)
        torch.testing.assert_close(got, w @ x, rtol=1e-4, atol=1e-4)
        print(f"sparsifier BSR {block[0]}x{block[1]} matches torch")


if __name__ == "__main__":
    _check()
