//===- BlkRewOps.td - blkrew operation definitions --------*- tablegen -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Ops that read packed block-sparse weights. Both are in destination-passing
// style and work on tensors (before bufferization) and on memrefs (after),
// like linalg structured ops.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_OPS
#define BLKREW_OPS

include "blkrew/Dialect/BlkRewDialect.td"
include "blkrew/Dialect/BlkRewAttrs.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def BlkRew_IndexArray : AnyTypeOf<[1DTensorOf<[I32]>, MemRefRankOf<[I32], [1]>],
    "1-D tensor or memref of i32">;
def BlkRew_ValueArray : AnyTypeOf<[TensorRankOf<[AnyFloat], [2]>,
                                   MemRefRankOf<[AnyFloat], [2]>],
    "2-D tensor or memref of floats">;

def BlkRew_TensorOrMemRef : AnyTypeOf<[AnyRankedTensor, AnyMemRef],
    "ranked tensor or memref">;

class BlkRew_PackedOp<string mnemonic, list<Trait> traits = []>
    : BlkRew_Op<mnemonic, !listconcat(traits, [
        DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
        DestinationStyleOpInterface])> {
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
    /// True when the op works on tensors (it then has one result).
    bool hasPureTensorSemantics() {
      return ::llvm::isa<::mlir::RankedTensorType>(getInit().getType());
    }
  }];
}

def BlkRew_BsrMatmulOp : BlkRew_PackedOp<"bsr_matmul"> {
  let summary = "Block-sparse x dense matmul, accumulating into `init`";
  let description = [{
    Computes `init[M, N] += W[M, K] * rhs[K, N]` where `W` is a block-sparse
    matrix packed as described by `layout` (see `#blkrew.layout` and
    `docs/format.md`). With `overwrite`, `init`'s contents are not read and
    the op computes `init[M, N] = W[M, K] * rhs[K, N]`, writing every
    element of `init` (zeros in rows without kept columns). The canonicalizer
    sets it when `init` is a zero `linalg.fill`: the kernels then start their
    accumulators at zero instead of filling and re-reading the output.
    With `relu`, each element of the result is `max(sum, 0)` (NaN stays
    NaN), written once: `blkrew-fuse-activations` sets it where a ReLU
    followed the product, so the activation is not walked a second time.
    With `clamp [lo, hi]` (not with `relu`), each element is
    `min(max(sum, lo), hi)` with NaN giving `lo` (`maxnumf`, then
    `minnumf`): ReLU6 and hardtanh as torch-mlir imports them.

    With `window [KH, KW]`, `rhs` is not the matrix itself but an image
    `[C, H, W]` (already padded) and the op reads its im2col patch matrix
    in place: the stride-1 convolution's `K = C * KH * KW` rows by
    `N = OH * OW` columns, `OH = H - KH + 1`, `OW = W - KW + 1`, with
    `rhs[k, n] = image[k / (KH * KW), (k / KW) % KH + n / OW,
    k % KW + n % OW]`. `blkrew-fold-im2col` sets it where the patch matrix
    would otherwise be written out and read back.

    * `row_ptr : [G + 1] x i32`, `G = ceil(M / p)`: the kept columns of row
      group `g` are entries `row_ptr[g] .. row_ptr[g + 1]` of `col_idx`;
    * `col_idx : [nnz] x i32`: kept column indices, strictly increasing
      within a group, each in `[0, K)`;
    * `values : [nnz, p]`: for each kept column, its `p` values in the group
      (rows past `M` in the last group are padding and ignored); of
      `rhs`'s element type, or f16 where `rhs` and `init` are f32 (each
      value extended to f32 as it is read: `blkrew-half-weights`).

    With `perm` in the layout, packed row `r` is written to `init[perm[r]]`.
    Constant packed arrays (`arith.constant`) are checked against the
    layout by the verifier.

    ```mlir
    %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
        ins(%row_ptr, %col_idx, %values, %x
            : tensor<3xi32>, tensor<3xi32>, tensor<3x2xf32>, tensor<4x8xf32>)
        outs(%init : tensor<4x8xf32>) -> tensor<4x8xf32>
    %z = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
        overwrite ins(%row_ptr, %col_idx, %values, %x
            : tensor<3xi32>, tensor<3xi32>, tensor<3x2xf32>, tensor<4x8xf32>)
        outs(%empty : tensor<4x8xf32>) -> tensor<4x8xf32>
    %r = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
        overwrite relu ins(%row_ptr, %col_idx, %values, %x
            : tensor<3xi32>, tensor<3xi32>, tensor<3x2xf32>, tensor<4x8xf32>)
        outs(%empty : tensor<4x8xf32>) -> tensor<4x8xf32>
    // A 3x3 convolution of a 2-channel 6x10 padded image: K = 18, N = 32.
    %c = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
        window [3, 3] ins(%row_ptr, %col_idx, %values, %image
            : tensor<3xi32>, tensor<3xi32>, tensor<3x2xf32>, tensor<2x6x10xf32>)
        outs(%init : tensor<4x32xf32>) -> tensor<4x32xf32>
    ```
  }];
  let arguments = (ins BlkRew_LayoutAttr:$layout,
                       BlkRew_IndexArray:$row_ptr,
                       BlkRew_IndexArray:$col_idx,
                       BlkRew_ValueArray:$values,
                       BlkRew_TensorOrMemRef:$rhs,
                       BlkRew_TensorOrMemRef:$init,
                       UnitAttr:$overwrite,
                       UnitAttr:$relu,
                       OptionalAttr<DenseF32ArrayAttr>:$clamp,
                       OptionalAttr<DenseI64ArrayAttr>:$window);
  let results = (outs Optional<AnyRankedTensor>:$result);
  let hasCanonicalizer = 1;
  let assemblyFormat = [{
    $layout (`overwrite` $overwrite^)? (`relu` $relu^)? (`clamp` $clamp^)?
    (`window` $window^)?
    `ins` `(` $row_ptr `,` $col_idx `,` $values `,` $rhs `:`
        type($row_ptr) `,` type($col_idx) `,` type($values) `,` type($rhs) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result)^)?
  }];
}

def BlkRew_ToDenseOp : BlkRew_PackedOp<"to_dense"> {
  let summary = "Expand packed block-sparse weights into a dense matrix";
  let description = [{
    Overwrites `init[M, K]` with the dense matrix `W` that the packed arrays
    describe (zeros where the pruner removed weights, rows in original order
    when the layout carries `perm`). Used when a layer is left dense and as
    the reference semantics of the packed format in tests.

    ```mlir
    %w = blkrew.to_dense #blkrew.layout<block = [2, 2], scheme = column>
        ins(%row_ptr, %col_idx, %values
            : tensor<3xi32>, tensor<3xi32>, tensor<3x2xf32>)
        outs(%init : tensor<4x4xf32>) -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins BlkRew_LayoutAttr:$layout,
                       BlkRew_IndexArray:$row_ptr,
                       BlkRew_IndexArray:$col_idx,
                       BlkRew_ValueArray:$values,
                       BlkRew_TensorOrMemRef:$init);
  let results = (outs Optional<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    $layout `ins` `(` $row_ptr `,` $col_idx `,` $values `:`
        type($row_ptr) `,` type($col_idx) `,` type($values) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result)^)?
  }];
}

#endif // BLKREW_OPS
