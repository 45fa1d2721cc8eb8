//===- PrepareLoops.cpp - Dense ops shaped for vectorization ---*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Prepares the dense ops that convert-linalg-to-loops turns into plain
// loops for LLVM's vectorizers: strided memref.copy becomes linalg.copy
// (loops, not the runner library's element-by-element memrefCopy), and
// NCHW depthwise convolutions get a contiguous innermost loop.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"

#define DEBUG_TYPE "blkrew-prepare-loops"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWPREPARELOOPS
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

/// True when `value` is a memref whose elements are one dense row-major
/// block: what finalize-memref-to-llvm copies with memcpy (the same test).
static bool isContiguous(Value value) {
  auto type = cast<MemRefType>(value.getType());
  return type.getLayout().isIdentity() ||
         memref::isStaticShapeAndContiguousRowMajor(type);
}

namespace mlir::blkrew {
namespace {
struct BlkRewPrepareLoopsPass
    : public impl::BlkRewPrepareLoopsBase<BlkRewPrepareLoopsPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) {
      if (!isContiguous(copy.getSource()) || !isContiguous(copy.getTarget()))
        copies.push_back(copy);
    });
    IRRewriter rewriter(&getContext());
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    }
    // The generalized depthwise convolution's loops are (n, oh, ow, c, kh,
    // kw); run them as (n, c, oh, kh, kw, ow) instead.
    SmallVector<linalg::DepthwiseConv2DNchwChwOp> convs;
    getOperation().walk(
        [&](linalg::DepthwiseConv2DNchwChwOp conv) { convs.push_back(conv); });
    for (linalg::DepthwiseConv2DNchwChwOp conv : convs) {
      rewriter.setInsertionPoint(conv);
      FailureOr<linalg::GenericOp> generic =
          linalg::generalizeNamedOp(rewriter, conv);
      if (failed(generic) || failed(linalg::interchangeGenericOp(
                                 rewriter, *generic, {0, 3, 1, 4, 5, 2}))) {
        conv.emitOpError("could not be put in row order");
        return signalPassFailure();
      }
    }
  }
};
} // namespace
} // namespace mlir::blkrew
