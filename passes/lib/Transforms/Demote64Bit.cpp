//===- Demote64Bit.cpp - 64-bit values in 32 bits for the GPU ---*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// torch-mlir computes some f32 ops through f64 (LayerNorm's mean and
// variance, Softplus's threshold test) and index arithmetic in i64
// (Upsample's source coordinates, reflection padding). Mobile GPUs rarely
// have 64-bit types (the SPIR-V target asks for neither Float64 nor Int64),
// so the GPU pipeline retypes every f64 value inside a function as f32 and
// every i64 value as i32.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Transforms/Passes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/APFloat.h"

#define DEBUG_TYPE "blkrew-demote-64bit"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWDEMOTE64BIT
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;

/// The 32-bit type for a scalar type: f32 for f64, i32 for i64 (signless).
static Type demoteScalar(Type type) {
  if (type.isF64())
    return Float32Type::get(type.getContext());
  if (type.isSignlessInteger(64))
    return IntegerType::get(type.getContext(), 32);
  return type;
}

/// `type` with f64 and i64 (as themselves or as the elements of a tensor,
/// memref or vector) replaced by their 32-bit types.
static Type demote(Type type) {
  if (auto shaped = dyn_cast<ShapedType>(type)) {
    Type element = demoteScalar(shaped.getElementType());
    return element == shaped.getElementType() ? type : shaped.clone(element);
  }
  return demoteScalar(type);
}

static bool has64Bit(Type type) { return demote(type) != type; }

/// `value` rounded to f32 (an f64 beyond f32's range becomes an infinity,
/// as the `-max` starts of max-reductions are meant).
static APFloat toF32(APFloat value) {
  bool lost;
  value.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
  return value;
}

/// The 32-bit form of a 64-bit constant's value; null where there is none
/// (a kind of attribute not handled, or an integer outside i32's range,
/// which `outOfRange` then holds).
static TypedAttr demoteConstant(TypedAttr value,
                                std::optional<APInt> &outOfRange) {
  Type type = demote(value.getType());
  auto fitsI32 = [&](const APInt &v) {
    if (v.isSignedIntN(32))
      return true;
    outOfRange = v;
    return false;
  };
  if (auto scalar = dyn_cast<FloatAttr>(value))
    return FloatAttr::get(type, toF32(scalar.getValue()));
  if (auto scalar = dyn_cast<IntegerAttr>(value)) {
    if (!fitsI32(scalar.getValue()))
      return {};
    return IntegerAttr::get(type, scalar.getValue().trunc(32));
  }
  auto elementTy = getElementTypeOrSelf(type);
  if (auto dense = dyn_cast<DenseFPElementsAttr>(value))
    return dense.mapValues(
        elementTy, [](const APFloat &v) { return toF32(v).bitcastToAPInt(); });
  if (auto dense = dyn_cast<DenseIntElementsAttr>(value)) {
    if (!llvm::all_of(dense.getValues<APInt>(), fitsI32))
      return {};
    return dense.mapValues(elementTy,
                           [](const APInt &v) { return v.trunc(32); });
  }
  // torch-mlir's own index tables (GroupNorm's) arrive as resources.
  auto shapedTy = cast<ShapedType>(type);
  if (auto resource = dyn_cast<DenseI64ResourceElementsAttr>(value)) {
    std::optional<ArrayRef<int64_t>> data = resource.tryGetAsArrayRef();
    if (!data)
      return {};
    SmallVector<int32_t> narrow;
    for (int64_t v : *data) {
      if (!fitsI32(APInt(64, v, /*isSigned=*/true)))
        return {};
      narrow.push_back(static_cast<int32_t>(v));
    }
    return DenseElementsAttr::get(shapedTy, ArrayRef<int32_t>(narrow));
  }
  if (auto resource = dyn_cast<DenseF64ResourceElementsAttr>(value)) {
    std::optional<ArrayRef<double>> data = resource.tryGetAsArrayRef();
    if (!data)
      return {};
    SmallVector<float> narrow;
    for (double v : *data)
      narrow.push_back(toF32(APFloat(v)).convertToFloat());
    return DenseElementsAttr::get(shapedTy, ArrayRef<float>(narrow));
  }
  return {};
}

namespace mlir::blkrew {
namespace {
struct BlkRewDemote64BitPass
    : public impl::BlkRewDemote64BitBase<BlkRewDemote64BitPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    FunctionType signature = func.getFunctionType();
    if (llvm::any_of(signature.getInputs(), has64Bit) ||
        llvm::any_of(signature.getResults(), has64Bit)) {
      func.emitOpError("takes or returns 64-bit values: blkrew-demote-64bit "
                       "retypes only the arithmetic inside a function");
      return signalPassFailure();
    }
    // Retype every value, then drop the extensions and truncations between
    // 32 and (what were) 64 bits, which now go from a type to itself.
    WalkResult result = func.getBody().walk([&](Operation *op) {
      if (auto constant = dyn_cast<arith::ConstantOp>(op);
          constant && has64Bit(constant.getType())) {
        std::optional<APInt> outOfRange;
        TypedAttr value = demoteConstant(constant.getValue(), outOfRange);
        if (outOfRange) {
          op->emitOpError("holds ")
              << outOfRange->getSExtValue()
              << ", which does not fit in i32: the model needs 64-bit "
                 "integers, which the target does not have";
          return WalkResult::interrupt();
        }
        if (!value) {
          op->emitOpError("holds a 64-bit value blkrew-demote-64bit cannot "
                          "read (only dense, resource and scalar constants)");
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
      if (isa<arith::ExtFOp, arith::TruncFOp, arith::ExtSIOp, arith::ExtUIOp,
              arith::TruncIOp>(op) &&
          op->getOperand(0).getType() == op->getResult(0).getType()) {
        op->getResult(0).replaceAllUsesWith(op->getOperand(0));
        op->erase();
      }
    });
  }
};
} // namespace
} // namespace mlir::blkrew
