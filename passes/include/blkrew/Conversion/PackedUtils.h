//===- PackedUtils.h - helpers for lowering packed blkrew ops ---*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Shared by the lowerings of blkrew ops on memrefs.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_CONVERSION_PACKEDUTILS_H
#define BLKREW_CONVERSION_PACKEDUTILS_H

#include "blkrew/Dialect/BlkRewAttrs.h"
#include "blkrew/Dialect/BlkRewOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"

namespace mlir::blkrew {

/// Loads `memref[indices]` (an i32 array) and converts it to `index`.
Value loadIndex(OpBuilder &b, Location loc, Value memref, ValueRange indices);

/// `v` (packed values: a scalar or a vector of them) extended to elements
/// of `elemTy` where the values are stored narrower (f16 with f32
/// operands: blkrew-half-weights); `v` itself otherwise.
Value extendValue(OpBuilder &b, Location loc, Value v, Type elemTy);

/// Loads `values[indices]`, extended to `elemTy` (extendValue).
Value loadValue(OpBuilder &b, Location loc, Value values, ValueRange indices,
                Type elemTy);

/// The range of group `g`'s kept columns, `row_ptr[g]` to `row_ptr[g+1]`,
/// as indices.
std::pair<Value, Value> loadGroupBounds(OpBuilder &b, Location loc,
                                        Value rowPtr, Value g);

/// Returns a memref holding `values`, read from a private constant global
/// of `op`'s module named after `prefix` (one per distinct contents).
Value getConstantIndexArray(OpBuilder &b, Operation *op, StringRef prefix,
                            ArrayRef<int32_t> values);

/// Returns a memref holding the layout's permutation, read from a private
/// constant global of the enclosing module (one per distinct permutation);
/// null when the layout has no permutation.
Value getPermBuffer(OpBuilder &b, Operation *op, LayoutAttr layout);

/// Whether `prev` is a transpose into `op`'s rhs: it writes a buffer
/// other than init and reads what `op` does not write, so `op`'s bias
/// broadcast and its input transpose may come in either order.
bool isRhsTranspose(BsrMatmulOp op, Operation *prev);

/// The broadcast that fills `init` with one value per row (a layer's bias)
/// just before `op` reads it as its accumulator: the `linalg.broadcast`
/// into `init`, or into the buffer `init` collapses, that is the last op
/// with memory effects before `op` (but for a transpose into its rhs), its
/// 1-D input running along the dimension that becomes init's rows (the
/// others in that group of size 1). Null when there is none; then init is
/// loaded as it is. A lowering that starts each row's accumulator from the
/// broadcast's input erases it.
linalg::BroadcastOp findRowBroadcast(BsrMatmulOp op, Value init);

/// Whether `op` applies an activation to its sums (`relu` or `clamp`).
bool hasActivation(BsrMatmulOp op);

/// `op`'s activation applied to `x` (a float or a vector of floats of the
/// op's element type): `maximumf(x, 0)` for `relu` (NaN stays NaN),
/// `minnumf(maxnumf(x, lo), hi)` for `clamp`; `x` itself without one.
Value applyActivation(OpBuilder &b, Location loc, BsrMatmulOp op, Value x);

/// Applies `op`'s activation to every element of the 2-D memref `init`: a
/// lowering that cannot apply it as it stores. With `parallel`, one
/// scf.parallel iteration per element.
void buildActivationInPlace(OpBuilder &b, Location loc, BsrMatmulOp op,
                            Value init, Value rows, Value cols, bool parallel);

/// How a lowered bsr_matmul addresses the matrix `rhs` stands for: `rhs`
/// itself, or (with a window) the image whose im2col patch matrix it is.
/// Indices split into a part that depends on the kept column `j` only and
/// one that depends on the matrix column `n` only, so kernels can compute
/// each outside the loops that do not change it.
class RhsAccess {
public:
  /// Reads the window and, when there is one, the output width off `rhs`
  /// (the op's bufferized rhs) at `b`'s insertion point. With
  /// `precomputeOffsets`, a contiguous static `rhs` (or image) and constant
  /// `colIdx` (a constant global), each kept column's offset into the
  /// flattened `rhs` is computed now, into a constant global of 32-bit
  /// offsets followed by `padding` zeros, and `rhs` is read as 1-D: a
  /// kernel then loads one offset per kept column instead of scaling `k`
  /// (or splitting it into (channel, dy, dx)) in its reduction loop, and
  /// may read up to `padding` offsets past the last kept column.
  RhsAccess(OpBuilder &b, Location loc, BsrMatmulOp op, Value rhs, Value colIdx,
            bool precomputeOffsets = false, int64_t padding = 0);

  bool hasWindow() const { return kh != 0; }
  /// How many offsets past the last kept column `rowPart` may read: the
  /// `padding` asked for when the offsets were precomputed, else 0.
  int64_t getPadding() const { return offsets ? padding : 0; }
  /// The memref to load from with `indices`.
  Value getSource() const { return source; }
  /// `{k}` for k = col_idx[j], or `{c, dy, dx}` for the image, or the
  /// precomputed `{offset}`.
  SmallVector<Value> rowPart(OpBuilder &b, Location loc, Value j) const;
  /// The same for a kept column's index `k` already loaded; not with
  /// precomputed offsets.
  SmallVector<Value> rowPartOfColumn(OpBuilder &b, Location loc, Value k) const;
  /// `{n}`, or `{y, x}` for the image, or `{y * W + x}` with offsets.
  SmallVector<Value> colPart(OpBuilder &b, Location loc, Value n) const;
  /// Indices into `getSource()` of element (col_idx[j], n) from its parts.
  SmallVector<Value> indices(OpBuilder &b, Location loc, ArrayRef<Value> row,
                             ArrayRef<Value> col) const;

private:
  Value source, colIdx, offsets;
  int64_t kh = 0, kw = 0, width = 0, padding = 0;
  Value outWidth;
};

/// Fails, with an error telling the user to run one-shot-bufferize first,
/// when a blkrew op in `module` still works on tensors: lowerings to loops
/// on buffers cannot handle them.
LogicalResult verifyBufferized(Operation *module, StringRef passName);

} // namespace mlir::blkrew

#endif // BLKREW_CONVERSION_PACKEDUTILS_H
