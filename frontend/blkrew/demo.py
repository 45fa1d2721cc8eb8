"""``make demo``: what blkrew can do end to end today.

Prunes a random FC weight block by block (8x4 blocks, column scheme, 8x
compression), packs it in the blkrew format, compiles a block-sparse matmul
through ``blkrew-opt`` (blkrew dialect -> reference scf loops -> LLVM),
executes it with ``mlir-runner`` and checks it against PyTorch's dense
product. Pruning a real model and compiling it with ``blkrew.compile`` are
not here yet; this demo says so instead of pretending.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from blkrew.compiler.format import pack
from blkrew.compiler.opt import find_blkrew_opt
from blkrew.compiler.reference import run_reference_matmul


def _block_column_prune(w: np.ndarray, block: tuple[int, int], compression: float):
    """Keeps the largest-norm block columns so that 1/compression survive."""
    p, q = block
    m, k = w.shape
    rows, cols = -(-m // p), k
    padded = np.zeros((rows * p, cols), w.dtype)
    padded[:m] = w
    norms = np.linalg.norm(padded.reshape(rows, p, cols), axis=1)  # [rows, k]
    keep = max(1, round(norms.size / compression))
    threshold = np.sort(norms, axis=None)[-keep]
    mask = np.repeat(norms >= threshold, p, axis=0)[:m]
    return w * mask


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--cols", type=int, default=512)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--compression", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    block = (8, 4)
    rng = np.random.default_rng(args.seed)
    dense = rng.standard_normal((args.rows, args.cols)).astype(np.float32)
    w = _block_column_prune(dense, block, args.compression)
    x = rng.standard_normal((args.cols, args.batch)).astype(np.float32)
    packed = pack(w, block)

    def row(label: str, text: str) -> None:
        print(f"  {label:<17} : {text}")

    print("blkrew demo (foundation stage)")
    row("blkrew-opt", str(find_blkrew_opt()))
    row("weight", f"{args.rows}x{args.cols} f32, {block[0]}x{block[1]} blocks, column")
    kept = np.count_nonzero(w)
    row(
        "kept weights", f"{kept} of {w.size} ({w.size / max(1, kept):.2f}x compression)"
    )
    packed_bytes = packed.values.nbytes + packed.col_idx.nbytes + packed.row_ptr.nbytes
    row(
        "packed",
        f"{packed.nnz_columns} column vectors of {block[0]}, "
        f"{packed_bytes} bytes vs {dense.nbytes} dense",
    )
    start = time.perf_counter()
    got = run_reference_matmul(packed, x)
    elapsed = time.perf_counter() - start
    want = (torch.from_numpy(w) @ torch.from_numpy(x)).numpy()
    err = float(np.max(np.abs(got - want)))
    ok = np.allclose(got, want, rtol=1e-4, atol=1e-4)
    row("pipeline", "blkrew-opt --blkrew-reference-to-llvm-pipeline | mlir-runner")
    row(
        "compile + run", f"{elapsed:.2f} s (reference scalar loops: not a speed figure)"
    )
    row("vs torch W @ X", f"max |diff| = {err:.2e} -> {'MATCH' if ok else 'MISMATCH'}")
    row("not yet", "BLK-REW training of a model, blkrew.compile; see docs/status.md")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
