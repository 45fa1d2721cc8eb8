//===- ApproximateMath.cpp - math ops no target lowers ----------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Rewrites the math ops that neither the LLVM nor the SPIR-V lowering
// handles (erf and erfc: no LLVM intrinsic, no GLSL.std.450 instruction) as
// upstream's polynomial approximations, in plain arith ops that both
// targets lower and LLVM vectorizes. With guard-exp (the CPU pipeline), an
// f32 exp whose result would be below 2^-126 is 0 without the call, which
// keeps glibc's vector expf on its fast path.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "blkrew-approximate-math"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWAPPROXIMATEMATH
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;

/// Below this, f32 exp's result is under 2^-126 (not a normal float), and
/// glibc's vector expf leaves its fast path for the whole vector (measured:
/// 6x the time per call).
static constexpr float kExpNormalMin = -87.33654f;

/// Rewrites each f32 `math.exp(x)` as `x < kExpNormalMin ? 0 : exp(max(x,
/// kExpNormalMin))`: the call only sees inputs its fast path takes (NaN
/// still reaches it, through the NaN-propagating max).
static void guardExpUnderflow(Operation *root) {
  SmallVector<math::ExpOp> exps;
  root->walk([&](math::ExpOp op) {
    if (getElementTypeOrSelf(op.getType()).isF32())
      exps.push_back(op);
  });
  for (math::ExpOp op : exps) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Type type = op.getType();
    auto splat = [&](float value) -> Value {
      TypedAttr attr = b.getF32FloatAttr(value);
      if (auto shaped = dyn_cast<ShapedType>(type))
        attr = DenseElementsAttr::get(shaped, attr);
      return arith::ConstantOp::create(b, loc, attr);
    };
    Value x = op.getOperand();
    Value floor = splat(kExpNormalMin);
    Value inRange = arith::MaximumFOp::create(b, loc, x, floor);
    Value exp = math::ExpOp::create(b, loc, inRange, op.getFastmathAttr());
    Value under =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x, floor);
    Value result = arith::SelectOp::create(b, loc, under, splat(0.0f), exp);
    op.replaceAllUsesWith(result);
    op.erase();
  }
}

namespace mlir::blkrew {
namespace {
struct BlkRewApproximateMathPass
    : public impl::BlkRewApproximateMathBase<BlkRewApproximateMathPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populatePolynomialApproximateErfPattern(patterns);
    populatePolynomialApproximateErfcPattern(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    if (guardExp)
      guardExpUnderflow(getOperation());
    // What the patterns do not cover (f64 erf, say) would only fail later,
    // deep in a lowering: say here which op and why.
    WalkResult result = getOperation()->walk([](Operation *op) {
      if (!isa<math::ErfOp, math::ErfcOp>(op))
        return WalkResult::advance();
      op->emitOpError("has no lowering for ")
          << op->getResult(0).getType()
          << ": blkrew approximates erf and erfc in f32 only";
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
