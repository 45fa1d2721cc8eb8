//===- Passes.h - blkrew transformation passes ------------------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_TRANSFORMS_PASSES_H
#define BLKREW_TRANSFORMS_PASSES_H

#include "blkrew/Dialect/BlkRewDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace blkrew {

#define GEN_PASS_DECL
#include "blkrew/Transforms/Passes.h.inc"

/// The module attribute in which blkrew-plan-buffers records each arena's
/// views, (offset, bytes) pairs by arena name, for
/// blkrew-arena-alias-scopes.
inline constexpr llvm::StringLiteral kArenaViewsAttrName = "blkrew.arena_views";

/// Patterns rewriting constant-weight matmuls to blkrew.bsr_matmul.
void populateSparsifyPatterns(RewritePatternSet &patterns, int64_t blockRows,
                              int64_t blockCols, double maxDensity,
                              bool packDense, int64_t imageLoopMinPixels = 0);

#define GEN_PASS_REGISTRATION
#include "blkrew/Transforms/Passes.h.inc"

} // namespace blkrew
} // namespace mlir

#endif // BLKREW_TRANSFORMS_PASSES_H
