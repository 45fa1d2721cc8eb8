//===- FuseActivations.cpp - ReLU into block-sparse products ----*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Folds an element-wise ReLU that follows a blkrew.bsr_matmul (through
// reshapes and transposes) into the product's `relu` flag.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Dialect/BlkRewOps.h"
#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "blkrew-fuse-activations"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWFUSEACTIVATIONS
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

/// Whether `v` is a float constant zero; with `positive`, +0.0 only (a
/// ReLU that yields -0.0 for negative inputs is not `max(x, +0.0)`).
static bool isZero(Value v, bool positive) {
  FloatAttr attr;
  return matchPattern(v, m_Constant(&attr)) &&
         (positive ? attr.getValue().isPosZero() : attr.getValue().isZero());
}

/// Whether `op` is an element-wise ReLU of its one input: identity maps,
/// all loops parallel, yielding `select(cmpf ugt x, 0, x, +0.0)` or
/// `maximumf(x, +0.0)` (either operand order).
static bool isRelu(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return false;
  Block &body = op.getRegion().front();
  Value x = body.getArgument(0);
  Value y = cast<linalg::YieldOp>(body.getTerminator()).getValues()[0];
  if (auto max = y.getDefiningOp<arith::MaximumFOp>())
    return (max.getLhs() == x && isZero(max.getRhs(), true)) ||
           (max.getRhs() == x && isZero(max.getLhs(), true));
  auto select = y.getDefiningOp<arith::SelectOp>();
  if (!select || select.getTrueValue() != x ||
      !isZero(select.getFalseValue(), true))
    return false;
  auto cmp = select.getCondition().getDefiningOp<arith::CmpFOp>();
  return cmp && cmp.getPredicate() == arith::CmpFPredicate::UGT &&
         cmp.getLhs() == x && isZero(cmp.getRhs(), false);
}

namespace {
struct FuseRelu : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || !isRelu(op))
      return rewriter.notifyMatchFailure(op, "not a ReLU on tensors");
    Value input = op.getDpsInputs()[0];
    if (input.getType() != op.getResult(0).getType())
      return rewriter.notifyMatchFailure(op, "changes the element type");
    // Back through element moves, each value used only on this path.
    Value v = input;
    while (true) {
      if (!v.hasOneUse())
        return rewriter.notifyMatchFailure(op, "input has other uses");
      Operation *def = v.getDefiningOp();
      if (auto reshape = dyn_cast_or_null<tensor::ExpandShapeOp>(def))
        v = reshape.getSrc();
      else if (auto reshape = dyn_cast_or_null<tensor::CollapseShapeOp>(def))
        v = reshape.getSrc();
      else if (auto transpose = dyn_cast_or_null<linalg::TransposeOp>(def))
        v = transpose.getInput();
      else
        break;
    }
    auto matmul = v.getDefiningOp<BsrMatmulOp>();
    if (!matmul)
      return rewriter.notifyMatchFailure(op, "not after a bsr_matmul");
    rewriter.modifyOpInPlace(matmul, [&] { matmul.setRelu(true); });
    rewriter.replaceOp(op, input);
    return success();
  }
};
} // namespace

namespace mlir::blkrew {
namespace {
struct BlkRewFuseActivationsPass
    : public impl::BlkRewFuseActivationsBase<BlkRewFuseActivationsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseRelu>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
