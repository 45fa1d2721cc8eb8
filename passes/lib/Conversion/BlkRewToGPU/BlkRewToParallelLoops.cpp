//===- BlkRewToParallelLoops.cpp - blkrew ops as parallel loops -*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Lowers blkrew ops on memrefs to scf.parallel nests with one iteration per
// output element, the form the GPU mapping tiles into workgroups. The
// reduction over a group's kept columns stays sequential inside the
// iteration, its accumulator in a register.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Conversion/PackedUtils.h"
#include "blkrew/Conversion/Passes.h"
#include "blkrew/Dialect/BlkRewOps.h"
#include "mlir/Transforms/DialectConversion.h"

#define DEBUG_TYPE "convert-blkrew-to-parallel-loops"

namespace mlir::blkrew {
#define GEN_PASS_DEF_CONVERTBLKREWTOPARALLELLOOPS
#include "blkrew/Conversion/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

/// Emits `scf.parallel (g, r, inner...) = (0, 0, 0...) to (groups, p,
/// innerUbs...)`; inside, for rows `i = g*p + r` inside the matrix, calls
/// `body(b, loc, g, r, row, innerIvs)` with `row` the original (un-permuted)
/// row of `i`.
static void buildGroupRowParallel(
    OpBuilder &b, Location loc, LayoutAttr layout, Value perm, Value rows,
    ValueRange innerUbs,
    function_ref<void(OpBuilder &, Location, Value, Value, Value, ValueRange)>
        body) {
  int64_t p = layout.getGroupRows();
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value cp = arith::ConstantIndexOp::create(b, loc, p);
  Value groups = arith::CeilDivUIOp::create(b, loc, rows, cp);
  SmallVector<Value> lbs(2 + innerUbs.size(), c0);
  SmallVector<Value> steps(lbs.size(), c1);
  SmallVector<Value> ubs{groups, cp};
  llvm::append_range(ubs, innerUbs);
  scf::ParallelOp::create(
      b, loc, lbs, ubs, steps, [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value g = ivs[0], r = ivs[1];
        Value i = arith::AddIOp::create(
            b, loc, arith::MulIOp::create(b, loc, g, cp), r);
        Value inside =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, i, rows);
        scf::IfOp::create(b, loc, inside, [&](OpBuilder &b, Location loc) {
          Value row = perm ? loadIndex(b, loc, perm, i) : i;
          body(b, loc, g, r, row, ivs.drop_front(2));
          scf::YieldOp::create(b, loc);
        });
      });
}

/// One parallel iteration per element of the 2-D memref `init`, storing 0.
static void buildParallelZeroFill(OpBuilder &b, Location loc, Value init,
                                  Value rows, Value cols) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Type elemTy = cast<MemRefType>(init.getType()).getElementType();
  Value zero = arith::ConstantOp::create(b, loc, elemTy, b.getZeroAttr(elemTy));
  scf::ParallelOp::create(b, loc, ValueRange{c0, c0}, ValueRange{rows, cols},
                          ValueRange{c1, c1},
                          [&](OpBuilder &b, Location loc, ValueRange ivs) {
                            memref::StoreOp::create(b, loc, zero, init, ivs);
                          });
}

namespace {
struct BsrMatmulToParallel : public OpConversionPattern<BsrMatmulOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(BsrMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "expected memref operands");
    Location loc = op.getLoc();
    LayoutAttr layout = op.getLayout();
    Value init = adaptor.getInit(), rhs = adaptor.getRhs();
    Value values = adaptor.getValues(), rowPtr = adaptor.getRowPtr();
    Value colIdx = adaptor.getColIdx();
    auto dim = [&](int64_t d) -> Value {
      return memref::DimOp::create(rewriter, loc, init, d);
    };
    // Nothing kept (e.g. a matmul with an all-zero constant): init += 0, or
    // init = 0 with `overwrite`. Not reading the packed arrays also keeps
    // zero-sized arrays, which SPIR-V cannot declare, out of the kernels.
    if (cast<MemRefType>(colIdx.getType()).getShape()[0] == 0) {
      if (op.getOverwrite())
        buildParallelZeroFill(rewriter, loc, init, dim(0), dim(1));
      if (hasActivation(op))
        buildActivationInPlace(rewriter, loc, op, init, dim(0), dim(1),
                               /*parallel=*/true);
      rewriter.eraseOp(op);
      return success();
    }
    Value rows = dim(0), cols = dim(1);
    Value perm = getPermBuffer(rewriter, op, layout);
    RhsAccess access(rewriter, loc, op, rhs, colIdx);
    buildGroupRowParallel(
        rewriter, loc, layout, perm, rows, cols,
        [&](OpBuilder &b, Location loc, Value g, Value r, Value row,
            ValueRange inner) {
          Value n = inner.front();
          SmallVector<Value> rhsCol = access.colPart(b, loc, n);
          Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
          auto [begin, end] = loadGroupBounds(b, loc, rowPtr, g);
          Type elemTy = cast<MemRefType>(init.getType()).getElementType();
          Value acc0 =
              op.getOverwrite()
                  ? arith::ConstantOp::create(b, loc, elemTy,
                                              b.getZeroAttr(elemTy))
                        .getResult()
                  : memref::LoadOp::create(b, loc, init, ValueRange{row, n})
                        .getResult();
          auto loop = scf::ForOp::create(
              b, loc, begin, end, c1, ValueRange{acc0},
              [&](OpBuilder &b, Location loc, Value j, ValueRange iter) {
                SmallVector<Value> rhsRow = access.rowPart(b, loc, j);
                Value w =
                    memref::LoadOp::create(b, loc, values, ValueRange{j, r});
                Value x = memref::LoadOp::create(
                    b, loc, rhs, access.indices(b, loc, rhsRow, rhsCol));
                Value prod = arith::MulFOp::create(b, loc, w, x);
                Value sum = arith::AddFOp::create(b, loc, iter.front(), prod);
                scf::YieldOp::create(b, loc, sum);
              });
          Value sum = applyActivation(b, loc, op, loop.getResult(0));
          memref::StoreOp::create(b, loc, sum, init, ValueRange{row, n});
        });
    rewriter.eraseOp(op);
    return success();
  }
};

struct ToDenseToParallel : public OpConversionPattern<ToDenseOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ToDenseOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "expected memref operands");
    Location loc = op.getLoc();
    LayoutAttr layout = op.getLayout();
    Value init = adaptor.getInit(), values = adaptor.getValues();
    Value rowPtr = adaptor.getRowPtr(), colIdx = adaptor.getColIdx();
    Value rows = memref::DimOp::create(rewriter, loc, init, 0);
    Value cols = memref::DimOp::create(rewriter, loc, init, 1);
    // Pruned entries are zero: clear the destination first.
    buildParallelZeroFill(rewriter, loc, init, rows, cols);
    Value perm = getPermBuffer(rewriter, op, layout);
    buildGroupRowParallel(
        rewriter, loc, layout, perm, rows, ValueRange{},
        [&](OpBuilder &b, Location loc, Value g, Value r, Value row,
            ValueRange) {
          Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
          auto [begin, end] = loadGroupBounds(b, loc, rowPtr, g);
          scf::ForOp::create(
              b, loc, begin, end, c1, ValueRange{},
              [&](OpBuilder &b, Location loc, Value j, ValueRange) {
                Value col = loadIndex(b, loc, colIdx, j);
                Value w =
                    memref::LoadOp::create(b, loc, values, ValueRange{j, r});
                memref::StoreOp::create(b, loc, w, init, ValueRange{row, col});
                scf::YieldOp::create(b, loc);
              });
        });
    rewriter.eraseOp(op);
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

namespace mlir::blkrew {
namespace {
struct ConvertBlkRewToParallelLoopsPass
    : public impl::ConvertBlkRewToParallelLoopsBase<
          ConvertBlkRewToParallelLoopsPass> {
  using ConvertBlkRewToParallelLoopsBase::ConvertBlkRewToParallelLoopsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(verifyBufferized(module, "convert-blkrew-to-parallel-loops")))
      return signalPassFailure();

    ConversionTarget target(getContext());
    target.addIllegalDialect<BlkRewDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    patterns.add<BsrMatmulToParallel, ToDenseToParallel>(&getContext());
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
