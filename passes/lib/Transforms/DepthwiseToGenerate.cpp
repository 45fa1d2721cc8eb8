//===- DepthwiseToGenerate.cpp - depthwise convolutions as one kernel -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Rewrites a depthwise convolution, with its bias broadcast and the
// element-wise activation after it, as one tensor.generate computing each
// output element: one GPU kernel instead of three or four.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "blkrew-depthwise-to-generate"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWDEPTHWISETOGENERATE
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

/// The 1-D input of a `linalg.broadcast` into `init` along every dimension
/// but the channel (1) of an NCHW tensor: a per-channel bias. Null else.
static Value channelBias(Value init) {
  auto broadcast = init.getDefiningOp<linalg::BroadcastOp>();
  if (broadcast && broadcast.getDimensions() == ArrayRef<int64_t>{0, 2, 3})
    return broadcast.getInput();
  return {};
}

/// The element-wise `linalg.generic` that is `value`'s only user: one
/// input (`value`, identity map), one init it does not read, one result of
/// the same type, a body of pure ops. Null else.
static linalg::GenericOp elementwiseUser(Value value) {
  if (!value.hasOneUse())
    return {};
  auto generic = dyn_cast<linalg::GenericOp>(*value.getUsers().begin());
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 || generic->getNumResults() != 1 ||
      generic.getDpsInputOperand(0)->get() != value ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }) ||
      generic->getResult(0).getType() != value.getType() ||
      generic.payloadUsesValueFromOperand(generic.getDpsInitOperand(0)))
    return {};
  for (Operation &op : generic.getBody()->without_terminator())
    if (!isPure(&op) || op.getNumRegions() != 0)
      return {};
  return generic;
}

namespace {
struct DepthwiseToGenerate
    : public OpRewritePattern<linalg::DepthwiseConv2DNchwChwOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::DepthwiseConv2DNchwChwOp conv,
                                PatternRewriter &rewriter) const override {
    if (!conv.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(conv, "expected tensors");
    Value in = conv.getDpsInputOperand(0)->get();
    Value filter = conv.getDpsInputOperand(1)->get();
    Value init = conv.getDpsInitOperand(0)->get();
    auto inTy = cast<RankedTensorType>(in.getType());
    auto filterTy = cast<RankedTensorType>(filter.getType());
    auto outTy = cast<RankedTensorType>(init.getType());
    if (!inTy.hasStaticShape() || !filterTy.hasStaticShape() ||
        !outTy.hasStaticShape() || !outTy.getElementType().isF32())
      return rewriter.notifyMatchFailure(conv, "expected static f32 shapes");
    SmallVector<int64_t> strides(conv.getStrides().getValues<int64_t>());
    SmallVector<int64_t> dilations(conv.getDilations().getValues<int64_t>());
    int64_t kh = filterTy.getDimSize(1), kw = filterTy.getDimSize(2);
    if (kh * kw > 49)
      return rewriter.notifyMatchFailure(conv, "kernel window too large to "
                                               "unroll");
    Value bias = channelBias(init);
    linalg::GenericOp activation = elementwiseUser(conv->getResult(0));

    auto body = [&](OpBuilder &b, Location loc, ValueRange ivs) {
      Value n = ivs[0], c = ivs[1], y = ivs[2], x = ivs[3];
      auto cst = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, loc, v);
      };
      Value acc =
          bias ? tensor::ExtractOp::create(b, loc, bias, ValueRange{c})
               : tensor::ExtractOp::create(b, loc, init, ivs).getResult();
      Value y0 = arith::MulIOp::create(b, loc, y, cst(strides[0]));
      Value x0 = arith::MulIOp::create(b, loc, x, cst(strides[1]));
      for (int64_t ky = 0; ky < kh; ++ky) {
        Value iy = arith::AddIOp::create(b, loc, y0, cst(ky * dilations[0]));
        for (int64_t kx = 0; kx < kw; ++kx) {
          Value ix = arith::AddIOp::create(b, loc, x0, cst(kx * dilations[1]));
          Value v =
              tensor::ExtractOp::create(b, loc, in, ValueRange{n, c, iy, ix});
          Value w = tensor::ExtractOp::create(b, loc, filter,
                                              ValueRange{c, cst(ky), cst(kx)});
          acc = arith::AddFOp::create(b, loc, acc,
                                      arith::MulFOp::create(b, loc, v, w));
        }
      }
      if (activation) {
        // The activation's body on the sum (its block arguments: the
        // convolution's element, then the unread init's).
        Block *payload = activation.getBody();
        IRMapping map;
        map.map(payload->getArgument(0), acc);
        for (Operation &op : payload->without_terminator())
          b.clone(op, map);
        acc = map.lookup(payload->getTerminator()->getOperand(0));
      }
      tensor::YieldOp::create(b, loc, acc);
    };
    auto generate = tensor::GenerateOp::create(rewriter, conv.getLoc(), outTy,
                                               ValueRange{}, body);
    if (activation) {
      rewriter.replaceOp(activation, generate.getResult());
      rewriter.eraseOp(conv);
    } else {
      rewriter.replaceOp(conv, generate.getResult());
    }
    return success();
  }
};
} // namespace

namespace mlir::blkrew {
namespace {
struct BlkRewDepthwiseToGeneratePass
    : public impl::BlkRewDepthwiseToGenerateBase<
          BlkRewDepthwiseToGeneratePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<DepthwiseToGenerate>(&getContext());
    tensor::GenerateOp::getCanonicalizationPatterns(patterns, &getContext());
    tensor::ExtractOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
