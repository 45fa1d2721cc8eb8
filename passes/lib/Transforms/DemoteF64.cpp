//===- DemoteF64.cpp - f64 arithmetic in f32 for the GPU --------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// torch-mlir computes some f32 ops through f64 (LayerNorm's mean and
// variance, Softplus's threshold test). Mobile GPUs rarely have 64-bit
// floats (the SPIR-V target asks for no Float64 capability), so the GPU
// pipeline retypes every f64 value inside a function as f32: the f32 that
// PyTorch itself computes these ops in.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Transforms/Passes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/APFloat.h"

#define DEBUG_TYPE "blkrew-demote-f64"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWDEMOTEF64
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;

/// `type` with f64 (as itself or as the element of a tensor, memref or
/// vector) replaced by f32.
static Type demote(Type type) {
  auto f32 = Float32Type::get(type.getContext());
  if (type.isF64())
    return f32;
  if (auto shaped = dyn_cast<ShapedType>(type);
      shaped && shaped.getElementType().isF64())
    return shaped.clone(f32);
  return type;
}

static bool hasF64(Type type) { return demote(type) != type; }

/// `value` rounded to f32 (an f64 beyond f32's range becomes an infinity,
/// as the `-max` starts of max-reductions are meant).
static APFloat toF32(APFloat value) {
  bool lost;
  value.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
  return value;
}

/// The f32 form of an f64 constant's value, or null if it has none here.
static TypedAttr demoteConstant(TypedAttr value) {
  if (auto scalar = dyn_cast<FloatAttr>(value))
    return FloatAttr::get(demote(scalar.getType()), toF32(scalar.getValue()));
  if (auto dense = dyn_cast<DenseFPElementsAttr>(value))
    return dense.mapValues(
        Float32Type::get(value.getContext()),
        [](const APFloat &v) { return toF32(v).bitcastToAPInt(); });
  return {};
}

namespace mlir::blkrew {
namespace {
struct BlkRewDemoteF64Pass
    : public impl::BlkRewDemoteF64Base<BlkRewDemoteF64Pass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    FunctionType signature = func.getFunctionType();
    if (llvm::any_of(signature.getInputs(), hasF64) ||
        llvm::any_of(signature.getResults(), hasF64)) {
      func.emitOpError("takes or returns f64 values: blkrew-demote-f64 "
                       "retypes only the f64 arithmetic inside a function");
      return signalPassFailure();
    }
    // Retype every value, then drop the extensions and truncations between
    // f32 and (what was) f64, which are now from f32 to f32.
    WalkResult result = func.getBody().walk([&](Operation *op) {
      if (auto constant = dyn_cast<arith::ConstantOp>(op);
          constant && hasF64(constant.getType())) {
        TypedAttr value = demoteConstant(constant.getValue());
        if (!value) {
          op->emitOpError("holds an f64 value blkrew-demote-f64 cannot "
                          "read (only dense and scalar f64 constants)");
          return WalkResult::interrupt();
        }
        constant.setValueAttr(value);
      }
      for (Value result : op->getResults())
        result.setType(demote(result.getType()));
      for (Region &region : op->getRegions())
        for (Block &block : region)
          for (BlockArgument arg : block.getArguments())
            arg.setType(demote(arg.getType()));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    func.getBody().walk([](Operation *op) {
      if (isa<arith::ExtFOp, arith::TruncFOp>(op) &&
          op->getOperand(0).getType() == op->getResult(0).getType()) {
        op->getResult(0).replaceAllUsesWith(op->getOperand(0));
        op->erase();
      }
    });
  }
};
} // namespace
} // namespace mlir::blkrew
