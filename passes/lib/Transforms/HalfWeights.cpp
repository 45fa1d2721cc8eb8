//===- HalfWeights.cpp - packed weights stored as f16 -----------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Replaces the f32 constant packed values of each blkrew.bsr_matmul with an
// f16 constant: half the bytes for the kernels that wait on their weights.
// The kernels extend each weight to f32 as they read it.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Conversion/KernelShape.h"
#include "blkrew/Dialect/BlkRewOps.h"
#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/APFloat.h"

#define DEBUG_TYPE "blkrew-half-weights"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWHALFWEIGHTS
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

/// The f16 form of the f32 constant `dense` (round to nearest, ties to
/// even), or failure with `op` told why: a weight f16 cannot hold.
static FailureOr<DenseElementsAttr> toHalf(Operation *op,
                                           DenseElementsAttr dense) {
  auto type = cast<RankedTensorType>(dense.getType());
  auto f16 = Float16Type::get(op->getContext());
  SmallVector<APFloat> halves;
  halves.reserve(type.getNumElements());
  for (auto [i, value] : llvm::enumerate(dense.getValues<APFloat>())) {
    bool lost;
    APFloat half = value;
    half.convert(APFloat::IEEEhalf(), APFloat::rmNearestTiesToEven, &lost);
    if (half.isInfinity() && !value.isInfinity())
      return op->emitOpError("weight ")
             << value.convertToFloat() << " (packed value " << i
             << ") is outside f16's range (|w| <= 65504): the layer cannot "
                "store its weights as f16";
    halves.push_back(half);
  }
  return DenseElementsAttr::get(type.clone(f16), halves);
}

namespace mlir::blkrew {
namespace {
struct BlkRewHalfWeightsPass
    : public impl::BlkRewHalfWeightsBase<BlkRewHalfWeightsPass> {
  using BlkRewHalfWeightsBase::BlkRewHalfWeightsBase;

  void runOnOperation() override {
    if (vectorWidth < 0) {
      getOperation().emitError("blkrew-half-weights: vector-width must be "
                               ">= 0, got ")
          << static_cast<int64_t>(vectorWidth);
      return signalPassFailure();
    }
    auto result = getOperation().walk([&](BsrMatmulOp op) {
      Value values = op.getValues();
      auto type = dyn_cast<RankedTensorType>(values.getType());
      DenseElementsAttr dense;
      if (!type || !type.getElementType().isF32() ||
          !matchPattern(values, m_Constant(&dense)))
        return WalkResult::advance();
      int64_t n = cast<ShapedType>(op.getInit().getType()).getDimSize(1);
      if (vectorWidth > 0 &&
          !isSmallNKernel(n, op.getLayout().getGroupRows(), vectorWidth))
        return WalkResult::advance();
      FailureOr<DenseElementsAttr> half = toHalf(op, dense);
      if (failed(half))
        return WalkResult::interrupt();
      OpBuilder b(op);
      Value narrow =
          arith::ConstantOp::create(b, values.getLoc(), half->getType(), *half);
      op.getValuesMutable().set(narrow);
      if (Operation *wide = values.getDefiningOp(); wide && wide->use_empty())
        wide->erase();
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
