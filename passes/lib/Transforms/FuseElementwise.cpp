//===- FuseElementwise.cpp - fusion that adds no work -----------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Upstream's linalg-fuse-elementwise-ops, with one more rule in its control
// function: a producer is not fused into a contraction that reads it
// through a map that skips some of the contraction's loops, where its body
// would run once per iteration of those loops instead of once per element.
// In attention that put the softmax's exp and division inside the loop of
// the weights-times-v product (64 times each, one per column of v) and q's
// scaling inside q k^T; the products also stopped being plain
// contractions, which blkrew-vectorize-matmuls gives register tiles.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "blkrew-fuse-elementwise"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWFUSEELEMENTWISE
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;

/// Upstream's rule (a producer with one use), and no producer recomputed
/// inside a contraction.
static bool shouldFuse(OpOperand *fused) {
  Operation *producer = fused->get().getDefiningOp();
  if (!producer || !producer->hasOneUse())
    return false;
  auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
  if (!consumer || !linalg::isaContractionOpInterface(consumer))
    return true;
  return consumer.getMatchingIndexingMap(fused).isPermutation();
}

namespace mlir::blkrew {
namespace {
struct BlkRewFuseElementwisePass
    : public impl::BlkRewFuseElementwiseBase<BlkRewFuseElementwisePass> {
  void runOnOperation() override {
    Operation *op = getOperation();
    MLIRContext *ctx = op->getContext();
    RewritePatternSet patterns(ctx);
    // The pattern set of linalg-fuse-elementwise-ops, under shouldFuse.
    linalg::populateElementwiseOpsFusionPatterns(patterns, shouldFuse);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, shouldFuse);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    ctx->getLoadedDialect<linalg::LinalgDialect>()->getCanonicalizationPatterns(
        patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, shouldFuse);
    if (failed(applyPatternsGreedily(
            op, std::move(patterns),
            GreedyRewriteConfig().setUseTopDownTraversal())))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
