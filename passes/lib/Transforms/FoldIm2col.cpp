//===- FoldIm2col.cpp - Convolution patches read in place -------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Replaces the im2col patch matrix a blkrew.bsr_matmul reads by the image it
// was copied from, with the op's `window`.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Dialect/BlkRewOps.h"
#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "blkrew-fold-im2col"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWFOLDIM2COL
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

/// Whether `e` is `d<a> + d<b>` (in either order).
static bool isDimSum(AffineExpr e, unsigned a, unsigned b) {
  auto add = dyn_cast<AffineBinaryOpExpr>(e);
  if (!add || add.getKind() != AffineExprKind::Add)
    return false;
  auto lhs = dyn_cast<AffineDimExpr>(add.getLHS());
  auto rhs = dyn_cast<AffineDimExpr>(add.getRHS());
  return lhs && rhs &&
         ((lhs.getPosition() == a && rhs.getPosition() == b) ||
          (lhs.getPosition() == b && rhs.getPosition() == a));
}

/// Whether `op` copies image `[C, H, W]` into its stride-1 patches
/// `[C, KH, KW, OH, OW]`: out[c, dy, dx, y, x] = in[c, y + dy, x + dx], with
/// H = KH + OH - 1 and W = KW + OW - 1 (every image element is read).
static bool isIm2col(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 5 ||
      op.getNumParallelLoops() != 5)
    return false;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap in = maps[0];
  if (!maps[1].isIdentity() || in.getNumResults() != 3 ||
      in.getResult(0) != getAffineDimExpr(0, op.getContext()) ||
      !isDimSum(in.getResult(1), 1, 3) || !isDimSum(in.getResult(2), 2, 4))
    return false;
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getValues()[0] != body.getArgument(0))
    return false;
  auto image = cast<RankedTensorType>(op.getDpsInputs()[0].getType());
  auto patches = cast<RankedTensorType>(op.getResult(0).getType());
  if (!image.hasStaticShape() || !patches.hasStaticShape())
    return false;
  ArrayRef<int64_t> i = image.getShape(), p = patches.getShape();
  return i[0] == p[0] && i[1] == p[1] + p[3] - 1 && i[2] == p[2] + p[4] - 1;
}

namespace {
struct FoldIm2colIntoBsrMatmul : public OpRewritePattern<BsrMatmulOp> {
  FoldIm2colIntoBsrMatmul(MLIRContext *ctx, int64_t rowMultiple)
      : OpRewritePattern(ctx), rowMultiple(rowMultiple) {}

  LogicalResult matchAndRewrite(BsrMatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getWindow())
      return rewriter.notifyMatchFailure(op, "on memrefs or already folded");
    // Back through reshapes: they keep the row-major element order, so the
    // matrix is the patches' linearization whatever the steps.
    Value v = op.getRhs();
    while (true) {
      Operation *def = v.getDefiningOp();
      if (auto reshape = dyn_cast_or_null<tensor::ExpandShapeOp>(def))
        v = reshape.getSrc();
      else if (auto reshape = dyn_cast_or_null<tensor::CollapseShapeOp>(def))
        v = reshape.getSrc();
      else
        break;
    }
    auto im2col = v.getDefiningOp<linalg::GenericOp>();
    if (!im2col || !isIm2col(im2col))
      return rewriter.notifyMatchFailure(op, "rhs is not an im2col copy");
    ArrayRef<int64_t> p =
        cast<RankedTensorType>(im2col.getResult(0).getType()).getShape();
    auto rhsTy = cast<RankedTensorType>(op.getRhs().getType());
    // Rows (c, dy, dx) and columns (y, x), each in row-major order.
    if (rhsTy.getShape() != ArrayRef<int64_t>{p[0] * p[1] * p[2], p[3] * p[4]})
      return rewriter.notifyMatchFailure(op, "rhs is not [C*KH*KW, OH*OW]");
    if (p[4] % rowMultiple != 0)
      return rewriter.notifyMatchFailure(op, "output width not a multiple");
    Value image = im2col.getDpsInputs()[0];
    rewriter.modifyOpInPlace(op, [&] {
      op.getRhsMutable().assign(image);
      op.setWindow(ArrayRef<int64_t>{p[1], p[2]});
    });
    return success();
  }

  int64_t rowMultiple;
};
} // namespace

namespace mlir::blkrew {
namespace {
struct BlkRewFoldIm2colPass
    : public impl::BlkRewFoldIm2colBase<BlkRewFoldIm2colPass> {
  using BlkRewFoldIm2colBase::BlkRewFoldIm2colBase;

  void runOnOperation() override {
    if (rowMultiple < 1) {
      getOperation().emitError("blkrew-fold-im2col: row-multiple must be "
                               "positive, got ")
          << static_cast<int64_t>(rowMultiple);
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldIm2colIntoBsrMatmul>(&getContext(), rowMultiple);
    // The driver also erases the copies left without users.
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
