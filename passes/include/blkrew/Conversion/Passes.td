//===- Passes.td - blkrew conversion passes ---------------*- tablegen -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_CONVERSION_PASSES
#define BLKREW_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def ConvertBlkRewToSCF : Pass<"convert-blkrew-to-scf", "ModuleOp"> {
  let summary = "Lower bufferized blkrew ops to reference scf loops";
  let description = [{
    The reference lowering of the packed block-sparse format: every
    `blkrew.bsr_matmul` and `blkrew.to_dense` on memrefs becomes plain
    `scf.for` loops with scalar `memref.load`/`memref.store` and `arith`
    arithmetic. It is deliberately simple; faster lowerings are tested
    against it.

    #### Input invariant

    blkrew ops have memref operands (run `one-shot-bufferize` first). Ops on
    tensors are reported as errors.

    #### Output IR

    For `bsr_matmul`: a loop over row groups, over the group's kept columns
    (bounds read from `row_ptr`), over the `p` rows of the group (guarded by
    `i < M` for the padded last group) and over the `N` columns of `rhs`,
    accumulating `values[j, r] * rhs[col_idx[j], n]` into
    `init[perm(i), n]`. A layout permutation is stored once as a private
    `memref.global` of `i32`.

    For `to_dense`: loops that zero `init`, then the same group/column/row
    nest storing `values[j, r]` at `init[perm(i), col_idx[j]]`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def ConvertBlkRewToVector : Pass<"convert-blkrew-to-vector", "ModuleOp"> {
  let summary = "Lower bufferized blkrew.bsr_matmul to a register-tiled vector kernel";
  let description = [{
    The CPU kernel for the packed format. For every row group and every
    `vector-width`-wide slice of the dense dimension `N`, the `p` rows of the
    group accumulate in `p` vector registers (a `p x V` tile, loaded from and
    stored to `init` once); the loop over the group's kept columns loads the
    row slice `rhs[col, n:n+V]` once and feeds it to all `p` rows with
    `vector.fma`, the `p` weights of the column coming from one vector load.
    Full slices use plain vector loads and stores, the tail of `N` a masked
    one. Rows past `M` in the last group are neither loaded nor stored.

    Groups taller than `max-unroll-rows` and `blkrew.to_dense` use the
    reference loops of `convert-blkrew-to-scf`.

    #### Input invariant

    blkrew ops on memrefs whose last dimension is contiguous (identity or
    unit-stride-innermost layouts), as One-Shot Bufferize produces with
    identity layouts at function boundaries.

    #### Output IR

    `scf.for` (or, with `parallel`, `scf.parallel`) over groups, `scf.for`
    over `N` slices, an `scf.for` over kept columns
    carrying the `p` accumulators, `vector.load`/`vector.maskedload`,
    `vector.broadcast`, `vector.fma`, `vector.store`/`vector.maskedstore`.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes per vector along N (16 for AVX-512, 4 for NEON)">,
    Option<"maxUnrollRows", "max-unroll-rows", "int64_t", /*default=*/"32",
           "Largest group height kept in registers">,
    Option<"parallel", "parallel", "bool", /*default=*/"false",
           "Emit the loop over row groups as scf.parallel (groups write "
           "disjoint rows)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // BLKREW_CONVERSION_PASSES
