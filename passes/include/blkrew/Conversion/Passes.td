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

#endif // BLKREW_CONVERSION_PASSES
