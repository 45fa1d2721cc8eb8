//===- Passes.td - blkrew transformation passes -----------*- tablegen -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_TRANSFORMS_PASSES
#define BLKREW_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

def BlkRewSparsify : Pass<"blkrew-sparsify", "func::FuncOp"> {
  let summary = "Rewrite matmuls with constant block-sparse weights to blkrew ops";
  let description = [{
    Finds matrix products whose weight is a compile-time constant, reads the
    weight, packs it in the blkrew format for the configured block shape and
    rewrites the product to `blkrew.bsr_matmul`. A weight whose packed form
    stores more than `max-density` of the dense values counts as dense: with
    `pack-dense` (the default) it is packed with every column kept and marked
    `blkrew.dense`, so dense layers run the same register-tiled kernel (a
    dense GEMM with regular, sequential weight reads); without it the product
    is left to the linalg path. Products that do not match stay unchanged.

    Recognized forms (tensor semantics, static shapes):

    * `linalg.matmul ins(%W, %B)` with `%W` constant: `W[M, K] x B[K, N]`
      becomes one `blkrew.bsr_matmul`.
    * `linalg.matmul ins(%X, %T)` with `%T = linalg.transpose %W` (permutation
      `[1, 0]`) and `%W` constant: the `nn.Linear` form torch-mlir emits,
      `X[N, K] x W[M, K]^T`. It becomes `(W x X^T)^T`: the activations and the
      accumulator are transposed around a `blkrew.bsr_matmul`.
    * `linalg.batch_matmul ins(%X, %B)` with `%B` a broadcast over the leading
      dimension of such a transposed constant: the GRU/LSTM input projection
      over all time steps. Time and batch fold into `N`.
    * `linalg.conv_2d_nchw_fchw` with a constant filter (any stride,
      dilation; padding is a separate `tensor.pad`), through im2col: the
      filter is `W[F, C*KH*KW]`, the patches a strided copy
      `B[C*KH*KW, N*OH*OW]`, the accumulator viewed as `[F, N*OH*OW]`.
      Depthwise and grouped convolutions stay dense.

    Weights may be `dense<...>` or `dense_resource<...>` f32 constants (the
    latter is how torch-mlir stores parameters).

    #### Input invariant

    Tensor-level linalg IR, as imported by torch-mlir (`linalg-on-tensors`).

    #### Output IR

    Packed weights as three `arith.constant` tensors (`row_ptr`, `col_idx`,
    `values`) feeding `blkrew.bsr_matmul` with a
    `#blkrew.layout<block = [p, q], scheme = column>`; the dense weight
    constant is left for DCE/canonicalization to remove.
  }];
  let options = [
    Option<"blockRows", "block-rows", "int64_t", /*default=*/"8",
           "Rows per packed group (p)">,
    Option<"blockCols", "block-cols", "int64_t", /*default=*/"4",
           "Block width the pruner used (q), recorded in the layout">,
    Option<"maxDensity", "max-density", "double", /*default=*/"0.5",
           "Above this fraction of stored values a layer counts as dense">,
    Option<"packDense", "pack-dense", "bool", /*default=*/"true",
           "Run dense constant-weight layers through the same kernel, every "
           "column kept (marked blkrew.dense); false leaves them to linalg">
  ];
  let dependentDialects = ["::mlir::blkrew::BlkRewDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // BLKREW_TRANSFORMS_PASSES
