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
#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"

namespace mlir::blkrew {

/// Loads `memref[indices]` (an i32 array) and converts it to `index`.
Value loadIndex(OpBuilder &b, Location loc, Value memref, ValueRange indices);

/// The range of group `g`'s kept columns, `row_ptr[g]` to `row_ptr[g+1]`,
/// as indices.
std::pair<Value, Value> loadGroupBounds(OpBuilder &b, Location loc,
                                        Value rowPtr, Value g);

/// Returns a memref holding the layout's permutation, read from a private
/// constant global of the enclosing module (one per distinct permutation);
/// null when the layout has no permutation.
Value getPermBuffer(OpBuilder &b, Operation *op, LayoutAttr layout);

/// Replaces every element of the 2-D memref `init` with `max(x, 0)` (NaN
/// stays NaN): a `bsr_matmul relu` lowering that cannot apply it as it
/// stores. With `parallel`, one scf.parallel iteration per element.
void buildReluInPlace(OpBuilder &b, Location loc, Value init, Value rows,
                      Value cols, bool parallel);

/// Fails, with an error telling the user to run one-shot-bufferize first,
/// when a blkrew op in `module` still works on tensors: lowerings to loops
/// on buffers cannot handle them.
LogicalResult verifyBufferized(Operation *module, StringRef passName);

} // namespace mlir::blkrew

#endif // BLKREW_CONVERSION_PACKEDUTILS_H
