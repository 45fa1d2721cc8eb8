//===- WidenBools.cpp - boolean tensors as i32 for the GPU ------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A tensor of i1 that lives between two ops (a boolean reduction's result,
// as in PyTorch's softmax guard against rows of -inf) becomes a buffer of
// i1, which the Vulkan path cannot store (SPIR-V has no 1-bit storage type;
// the runner's buffers hold 32-bit elements). On tensors, every i1 tensor
// in a function becomes an i32 tensor of 0 and 1: linalg ops extend what
// they yield and truncate what they read; fills take the extended value.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Transforms/Passes.h"

#define DEBUG_TYPE "blkrew-widen-bools"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWWIDENBOOLS
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;

static bool isBoolTensor(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.getElementType().isInteger(1);
}

namespace mlir::blkrew {
namespace {
struct BlkRewWidenBoolsPass
    : public impl::BlkRewWidenBoolsBase<BlkRewWidenBoolsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    FunctionType signature = func.getFunctionType();
    if (llvm::any_of(signature.getInputs(), isBoolTensor) ||
        llvm::any_of(signature.getResults(), isBoolTensor)) {
      func.emitOpError("takes or returns boolean tensors: blkrew-widen-bools "
                       "widens only those inside a function");
      return signalPassFailure();
    }
    OpBuilder b(&getContext());
    Type i1 = b.getI1Type(), i32 = b.getI32Type();
    auto widen = [&](Type type) {
      return cast<RankedTensorType>(type).clone(i32);
    };
    // Which operands and results are boolean tensors, found before any
    // type changes (a consumer's operand is retyped with its producer).
    struct Change {
      Operation *op;
      SmallVector<unsigned> operands;
    };
    SmallVector<Change> changes;
    WalkResult result = func.getBody().walk([&](Operation *op) {
      Change change{op, {}};
      for (OpOperand &operand : op->getOpOperands())
        if (isBoolTensor(operand.get().getType()))
          change.operands.push_back(operand.getOperandNumber());
      bool boolResults = llvm::any_of(op->getResultTypes(), isBoolTensor);
      if (change.operands.empty() && !boolResults)
        return WalkResult::advance();
      if (!isa<linalg::GenericOp, linalg::FillOp, tensor::EmptyOp,
               tensor::ExpandShapeOp, tensor::CollapseShapeOp,
               tensor::ExtractSliceOp, tensor::InsertSliceOp>(op)) {
        op->emitOpError("uses a boolean tensor blkrew-widen-bools cannot "
                        "widen (only linalg.generic, linalg.fill, tensor "
                        "reshapes and slices)");
        return WalkResult::interrupt();
      }
      changes.push_back(std::move(change));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    for (Change &change : changes) {
      Operation *op = change.op;
      if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
        // Block arguments of widened operands: truncated back to i1 where
        // the body reads them (0 and 1 keep their low bit).
        Block &body = generic.getRegion().front();
        b.setInsertionPointToStart(&body);
        for (unsigned i : change.operands) {
          BlockArgument arg = body.getArgument(i);
          arg.setType(i32);
          auto narrow = arith::TruncIOp::create(b, generic.getLoc(), i1, arg);
          arg.replaceAllUsesExcept(narrow, narrow);
        }
        // Yielded booleans: extended to the widened results.
        auto yield = cast<linalg::YieldOp>(body.getTerminator());
        b.setInsertionPoint(yield);
        for (auto [value, type] :
             llvm::zip(yield->getOpOperands(), generic->getResultTypes()))
          if (isBoolTensor(type))
            value.set(
                arith::ExtUIOp::create(b, generic.getLoc(), i32, value.get()));
      } else if (auto fill = dyn_cast<linalg::FillOp>(op)) {
        // A new fill: the op's body is built for its types. Its output (an
        // empty tensor, earlier in the walk) is i32 already.
        b.setInsertionPoint(fill);
        Value value = fill.getInputs()[0];
        if (value.getType() == i1)
          value = arith::ExtUIOp::create(b, fill.getLoc(), i32, value);
        auto wide = linalg::FillOp::create(b, fill.getLoc(), ValueRange{value},
                                           fill.getOutputs());
        fill->replaceAllUsesWith(wide);
        fill->erase();
        continue;
      }
      for (Value value : op->getResults())
        if (isBoolTensor(value.getType()))
          value.setType(widen(value.getType()));
    }
  }
};
} // namespace
} // namespace mlir::blkrew
