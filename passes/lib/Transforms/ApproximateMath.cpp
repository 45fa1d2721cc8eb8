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
// targets lower and LLVM vectorizes.
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

namespace mlir::blkrew {
namespace {
struct BlkRewApproximateMathPass
    : public impl::BlkRewApproximateMathBase<BlkRewApproximateMathPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populatePolynomialApproximateErfPattern(patterns);
    populatePolynomialApproximateErfcPattern(patterns);
    if (exp)
      populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
        return name == math::ExpOp::getOperationName();
      });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
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
