//===- BlkRewToSCF.cpp - Reference lowering of blkrew to loops -*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Lowers blkrew ops on memrefs to scalar scf loops. This lowering expects
// bufferized IR: blkrew ops on tensors are rejected with an error telling the
// user to run one-shot-bufferize first. The loops follow the packed format
// literally (group -> kept column -> row in group -> rhs column), which makes
// this the reference against which faster lowerings are tested.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Conversion/PackedUtils.h"
#include "blkrew/Conversion/Passes.h"
#include "blkrew/Dialect/BlkRewOps.h"
#include "mlir/Transforms/DialectConversion.h"

#define DEBUG_TYPE "convert-blkrew-to-scf"

namespace mlir::blkrew {
#define GEN_PASS_DEF_CONVERTBLKREWTOSCF
#include "blkrew/Conversion/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Emits the loop nest shared by both ops: for every row group g, kept column
/// j of the group and row r of the group that lies inside the matrix, calls
/// `body(b, loc, j, r, originalRow, column)`.
static void buildGroupNest(
    OpBuilder &b, Location loc, LayoutAttr layout, Value rowPtr, Value colIdx,
    Value perm, Value rows,
    function_ref<void(OpBuilder &, Location, Value, Value, Value, Value)>
        body) {
  int64_t p = layout.getGroupRows();
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value cp = arith::ConstantIndexOp::create(b, loc, p);
  // groups = ceil(rows / p)
  Value groups = arith::CeilDivUIOp::create(b, loc, rows, cp);
  scf::ForOp::create(
      b, loc, c0, groups, c1, ValueRange{},
      [&](OpBuilder &b, Location loc, Value g, ValueRange) {
        auto [begin, end] = loadGroupBounds(b, loc, rowPtr, g);
        Value rowBase = arith::MulIOp::create(b, loc, g, cp);
        scf::ForOp::create(
            b, loc, begin, end, c1, ValueRange{},
            [&](OpBuilder &b, Location loc, Value j, ValueRange) {
              Value col = loadIndex(b, loc, colIdx, j);
              scf::ForOp::create(
                  b, loc, c0, cp, c1, ValueRange{},
                  [&](OpBuilder &b, Location loc, Value r, ValueRange) {
                    Value i = arith::AddIOp::create(b, loc, rowBase, r);
                    Value inside = arith::CmpIOp::create(
                        b, loc, arith::CmpIPredicate::ult, i, rows);
                    scf::IfOp::create(
                        b, loc, inside, [&](OpBuilder &b, Location loc) {
                          Value row = perm ? loadIndex(b, loc, perm, i) : i;
                          body(b, loc, j, r, row, col);
                          scf::YieldOp::create(b, loc);
                        });
                    scf::YieldOp::create(b, loc);
                  });
              scf::YieldOp::create(b, loc);
            });
        scf::YieldOp::create(b, loc);
      });
}

/// Stores zero into every element of the 2-D memref `init`.
static void buildZeroFill(OpBuilder &b, Location loc, Value init, Value rows,
                          Value cols) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Type elemTy = cast<MemRefType>(init.getType()).getElementType();
  Value zero = arith::ConstantOp::create(b, loc, elemTy, b.getZeroAttr(elemTy));
  scf::ForOp::create(
      b, loc, c0, rows, c1, ValueRange{},
      [&](OpBuilder &b, Location loc, Value i, ValueRange) {
        scf::ForOp::create(
            b, loc, c0, cols, c1, ValueRange{},
            [&](OpBuilder &b, Location loc, Value k, ValueRange) {
              memref::StoreOp::create(b, loc, zero, init, ValueRange{i, k});
              scf::YieldOp::create(b, loc);
            });
        scf::YieldOp::create(b, loc);
      });
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

namespace {
struct BsrMatmulToSCF : public OpConversionPattern<BsrMatmulOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(BsrMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "expected memref operands");
    Location loc = op.getLoc();
    LayoutAttr layout = op.getLayout();
    Value init = adaptor.getInit(), rhs = adaptor.getRhs();
    Value values = adaptor.getValues();
    Value rows = memref::DimOp::create(rewriter, loc, init, 0);
    Value cols = memref::DimOp::create(rewriter, loc, init, 1);
    Value perm = getPermBuffer(rewriter, op, layout);
    RhsAccess access(rewriter, loc, op, rhs, adaptor.getColIdx());
    // The reference lowering accumulates in place: `overwrite` starts from
    // a cleared destination.
    if (op.getOverwrite())
      buildZeroFill(rewriter, loc, init, rows, cols);
    buildGroupNest(
        rewriter, loc, layout, adaptor.getRowPtr(), adaptor.getColIdx(), perm,
        rows,
        [&](OpBuilder &b, Location loc, Value j, Value r, Value row,
            Value col) {
          Value w =
              loadValue(b, loc, values, ValueRange{j, r},
                        cast<MemRefType>(init.getType()).getElementType());
          SmallVector<Value> rhsRow = access.rowPartOfColumn(b, loc, col);
          Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
          Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
          scf::ForOp::create(
              b, loc, c0, cols, c1, ValueRange{},
              [&](OpBuilder &b, Location loc, Value n, ValueRange) {
                Value x = memref::LoadOp::create(
                    b, loc, rhs,
                    access.indices(b, loc, rhsRow, access.colPart(b, loc, n)));
                Value acc =
                    memref::LoadOp::create(b, loc, init, ValueRange{row, n});
                Value prod = arith::MulFOp::create(b, loc, w, x);
                Value sum = arith::AddFOp::create(b, loc, acc, prod);
                memref::StoreOp::create(b, loc, sum, init, ValueRange{row, n});
                scf::YieldOp::create(b, loc);
              });
        });
    // The sums are complete only now: rows without kept columns are never
    // visited above.
    if (hasActivation(op))
      buildActivationInPlace(rewriter, loc, op, init, rows, cols,
                             /*parallel=*/false);
    rewriter.eraseOp(op);
    return success();
  }
};

struct ToDenseToSCF : public OpConversionPattern<ToDenseOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ToDenseOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "expected memref operands");
    Location loc = op.getLoc();
    LayoutAttr layout = op.getLayout();
    Value init = adaptor.getInit(), values = adaptor.getValues();
    Value rows = memref::DimOp::create(rewriter, loc, init, 0);
    Value cols = memref::DimOp::create(rewriter, loc, init, 1);
    // Pruned entries are zero: clear the destination first.
    buildZeroFill(rewriter, loc, init, rows, cols);
    Value perm = getPermBuffer(rewriter, op, layout);
    buildGroupNest(
        rewriter, loc, layout, adaptor.getRowPtr(), adaptor.getColIdx(), perm,
        rows,
        [&](OpBuilder &b, Location loc, Value j, Value r, Value row,
            Value col) {
          Value w =
              loadValue(b, loc, values, ValueRange{j, r},
                        cast<MemRefType>(init.getType()).getElementType());
          memref::StoreOp::create(b, loc, w, init, ValueRange{row, col});
        });
    rewriter.eraseOp(op);
    return success();
  }
};
} // namespace

void mlir::blkrew::populateBlkRewToSCFConversionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<BsrMatmulToSCF, ToDenseToSCF>(patterns.getContext());
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

namespace mlir::blkrew {
namespace {
struct ConvertBlkRewToSCFPass
    : public impl::ConvertBlkRewToSCFBase<ConvertBlkRewToSCFPass> {
  using ConvertBlkRewToSCFBase::ConvertBlkRewToSCFBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(verifyBufferized(module, "convert-blkrew-to-scf")))
      return signalPassFailure();

    ConversionTarget target(getContext());
    target.addIllegalDialect<BlkRewDialect>();
    target.addLegalDialect<arith::ArithDialect, memref::MemRefDialect,
                           scf::SCFDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateBlkRewToSCFConversionPatterns(patterns);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
