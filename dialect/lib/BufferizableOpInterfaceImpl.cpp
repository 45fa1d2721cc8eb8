//===- BufferizableOpInterfaceImpl.cpp - blkrew bufferization -*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// One-Shot Bufferize support for blkrew ops. They are in destination-passing
// style, so the upstream DPS model gives the aliasing (the result is the
// `init` buffer); bufferize() rebuilds the op on memrefs.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Dialect/BlkRewDialect.h"
#include "blkrew/Dialect/BlkRewOps.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::bufferization;

namespace {
template <typename OpTy>
struct PackedOpInterface
    : public DstBufferizableOpInterfaceExternalModel<PackedOpInterface<OpTy>,
                                                     OpTy> {
  /// Inits are read, except by ops that overwrite them (`to_dense`, and
  /// `bsr_matmul` with `overwrite`): One-Shot Bufferize then need not keep
  /// their previous contents alive.
  bool bufferizesToMemoryRead(Operation *op, OpOperand &operand,
                              const AnalysisState &state) const {
    auto dpsOp = cast<DestinationStyleOpInterface>(op);
    if (!dpsOp.isDpsInit(&operand))
      return true;
    if (auto matmul = dyn_cast<blkrew::BsrMatmulOp>(op))
      return !matmul.getOverwrite();
    return !isa<blkrew::ToDenseOp>(op);
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto packedOp = cast<OpTy>(op);
    if (!packedOp.hasPureTensorSemantics())
      return success();
    SmallVector<Value> buffers;
    for (Value operand : op->getOperands()) {
      FailureOr<Value> buffer = getBuffer(rewriter, operand, options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    rewriter.setInsertionPoint(op);
    OperationState newState(op->getLoc(), op->getName(), buffers,
                            /*types=*/TypeRange{});
    newState.propertiesAttr = op->getPropertiesAsAttribute();
    for (NamedAttribute attr : op->getDiscardableAttrs())
      newState.addAttribute(attr.getName(), attr.getValue());
    rewriter.create(newState);
    replaceOpWithBufferizedValues(rewriter, op, buffers.back());
    return success();
  }
};
} // namespace

void mlir::blkrew::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, BlkRewDialect *) {
    BsrMatmulOp::attachInterface<PackedOpInterface<BsrMatmulOp>>(*ctx);
    ToDenseOp::attachInterface<PackedOpInterface<ToDenseOp>>(*ctx);
  });
}
