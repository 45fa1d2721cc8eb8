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
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

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

/// True when the innermost dimension of `value` (a memref) has unit stride.
static bool hasUnitInnerStride(Value value) {
  auto type = cast<MemRefType>(value.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  return type.getRank() > 0 &&
         succeeded(type.getStridesAndOffset(strides, offset)) &&
         strides.back() == 1;
}

/// True when `e` is `d` plus terms free of loop `inner` (which `d` is).
static bool isShiftOf(AffineExpr e, AffineExpr d, unsigned inner) {
  if (e == d)
    return true;
  auto add = dyn_cast<AffineBinaryOpExpr>(e);
  if (!add || add.getKind() != AffineExprKind::Add)
    return false;
  AffineExpr lhs = add.getLHS(), rhs = add.getRHS();
  return (isShiftOf(lhs, d, inner) && !rhs.isFunctionOfDim(inner)) ||
         (isShiftOf(rhs, d, inner) && !lhs.isFunctionOfDim(inner));
}

/// The length of the vector rows a copy-like generic is moved in: its
/// innermost loop when that is at most 64, else the largest of 64, 32, 16
/// dividing it; 0 when the op is not a row copy: one input, yielded as is,
/// all loops parallel with static ranges, the innermost loop indexing the
/// last dimension of both operands (input: `e + d`, with `e` free of it;
/// output: `d`), with unit stride there and nowhere else.
static int64_t rowCopyLength(linalg::LinalgOp op) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 0 || !op.hasPureBufferSemantics())
    return 0;
  Block &body = *op.getBlock();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 1 ||
      yield.getValues().front() != body.getArgument(0))
    return 0;
  OpOperand *in = op.getDpsInputOperand(0);
  OpOperand *out = op.getDpsInitOperand(0);
  if (!hasUnitInnerStride(in->get()) || !hasUnitInnerStride(out->get()))
    return 0;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ranges.empty() || llvm::any_of(ranges, ShapedType::isDynamic))
    return 0;
  unsigned inner = ranges.size() - 1;
  AffineMap inMap = op.getMatchingIndexingMap(in);
  AffineMap outMap = op.getMatchingIndexingMap(out);
  AffineExpr d = getAffineDimExpr(inner, op.getContext());
  // Each map's last result moves with the innermost loop, one for one
  // (the output's is that loop); no other result moves with it.
  for (AffineMap map : {inMap, outMap}) {
    for (AffineExpr e : map.getResults().drop_back())
      if (e.isFunctionOfDim(inner))
        return 0;
    if (!isShiftOf(map.getResults().back(), d, inner))
      return 0;
  }
  if (outMap.getResults().back() != d)
    return 0;
  int64_t length = ranges[inner];
  if (length < 4)
    return 0;
  if (length <= 64)
    return length;
  for (int64_t chunk : {64, 32, 16})
    if (length % chunk == 0)
      return chunk;
  return 0;
}

/// Rewrites a row copy (see rowCopyLength) as loops over its outer
/// dimensions around one vector load and store per row of `length`.
static void vectorizeRowCopy(RewriterBase &rewriter, linalg::LinalgOp op,
                             int64_t length) {
  Location loc = op.getLoc();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  unsigned inner = ranges.size() - 1;
  Value src = op.getDpsInputOperand(0)->get();
  Value dst = op.getDpsInitOperand(0)->get();
  AffineMap inMap = op.getMatchingIndexingMap(op.getDpsInputOperand(0));
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  auto elemType = cast<MemRefType>(src.getType()).getElementType();
  auto vecType = VectorType::get({length}, elemType);

  rewriter.setInsertionPoint(op);
  SmallVector<Value> lbs, ubs, steps;
  for (auto [i, range] : llvm::enumerate(ranges)) {
    lbs.push_back(arith::ConstantIndexOp::create(rewriter, loc, 0));
    ubs.push_back(arith::ConstantIndexOp::create(rewriter, loc, range));
    steps.push_back(
        arith::ConstantIndexOp::create(rewriter, loc, i == inner ? length : 1));
  }
  scf::buildLoopNest(
      rewriter, loc, lbs, ubs, steps,
      [&](OpBuilder &b, Location loc, ValueRange ivs) {
        auto indices = [&](AffineMap map) {
          SmallVector<Value> values;
          for (unsigned r = 0; r < map.getNumResults(); ++r)
            values.push_back(getValueOrCreateConstantIndexOp(
                b, loc,
                affine::makeComposedFoldedAffineApply(
                    b, loc, map.getSubMap({r}), getAsOpFoldResult(ivs))));
          return values;
        };
        Value row =
            vector::LoadOp::create(b, loc, vecType, src, indices(inMap));
        vector::StoreOp::create(b, loc, row, dst, indices(outMap));
      });
  rewriter.eraseOp(op);
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
    // Row copies (im2col, the interior of padded activations) as vector
    // rows: as scalar loops LLVM fully unrolls the short rows and then
    // cannot vectorize them, not knowing that source and destination are
    // apart.
    SmallVector<std::pair<linalg::LinalgOp, int64_t>> rowCopies;
    getOperation().walk([&](Operation *op) {
      if (!isa<linalg::GenericOp, linalg::CopyOp>(op))
        return;
      auto linalgOp = cast<linalg::LinalgOp>(op);
      if (int64_t length = rowCopyLength(linalgOp))
        rowCopies.push_back({linalgOp, length});
    });
    for (auto [op, length] : rowCopies)
      vectorizeRowCopy(rewriter, op, length);
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
