//===- PadToGenerate.cpp - padded tensors written in one pass ---*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Rewrites tensor.pad (static, constant padding value) as a tensor.generate
// selecting between the source element and the padding value: one kernel
// instead of a fill and a copy once bufferized for a GPU.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "blkrew-pad-to-generate"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWPADTOGENERATE
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

namespace {
struct PadToGenerate : public OpRewritePattern<tensor::PadOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::PadOp pad,
                                PatternRewriter &rewriter) const override {
    Value padValue = pad.getConstantPaddingValue();
    RankedTensorType sourceTy = pad.getSourceType();
    RankedTensorType resultTy = pad.getResultType();
    if (!padValue || !sourceTy.hasStaticShape() || !resultTy.hasStaticShape())
      return rewriter.notifyMatchFailure(pad, "needs static shapes and a "
                                              "constant padding value");
    SmallVector<int64_t> low(pad.getStaticLow());
    if (llvm::any_of(low, ShapedType::isDynamic))
      return rewriter.notifyMatchFailure(pad, "needs static low padding");
    Value source = pad.getSource();
    auto body = [&](OpBuilder &b, Location loc, ValueRange ivs) {
      Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
      Value inside;
      SmallVector<Value> at;
      for (auto [d, iv] : llvm::enumerate(ivs)) {
        int64_t size = sourceTy.getDimSize(d);
        if (low[d] == 0 && resultTy.getDimSize(d) == size) {
          at.push_back(iv); // not padded along d
          continue;
        }
        // low <= iv < low + size, as one unsigned compare of iv - low.
        Value shifted = arith::SubIOp::create(
            b, loc, iv, arith::ConstantIndexOp::create(b, loc, low[d]));
        Value in =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, shifted,
                                  arith::ConstantIndexOp::create(b, loc, size));
        inside =
            inside ? arith::AndIOp::create(b, loc, inside, in).getResult() : in;
        at.push_back(arith::SelectOp::create(b, loc, in, shifted, c0));
      }
      Value element = tensor::ExtractOp::create(b, loc, source, at);
      if (inside)
        element = arith::SelectOp::create(b, loc, inside, element, padValue);
      tensor::YieldOp::create(b, loc, element);
    };
    rewriter.replaceOpWithNewOp<tensor::GenerateOp>(pad, resultTy, ValueRange{},
                                                    body);
    return success();
  }
};

} // namespace

namespace mlir::blkrew {
namespace {
struct BlkRewPadToGeneratePass
    : public impl::BlkRewPadToGenerateBase<BlkRewPadToGeneratePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<PadToGenerate>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
