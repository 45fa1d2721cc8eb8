//===- BlkRewToVector.cpp - Register-tiled bsr_matmul kernel --*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Lowers blkrew.bsr_matmul on memrefs to the register-tiled kernel the
// packed format is designed for: a p x V accumulator tile per row group and
// N slice, one load of each kept rhs row slice shared by the p rows. Expects
// bufferized IR whose memrefs are contiguous in their last dimension.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Conversion/PackedUtils.h"
#include "blkrew/Conversion/Passes.h"
#include "blkrew/Dialect/BlkRewOps.h"
#include "mlir/Transforms/DialectConversion.h"

#define DEBUG_TYPE "convert-blkrew-to-vector"

namespace mlir::blkrew {
#define GEN_PASS_DEF_CONVERTBLKREWTOVECTOR
#include "blkrew/Conversion/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

namespace {
struct BsrMatmulToVector : public OpConversionPattern<BsrMatmulOp> {
  BsrMatmulToVector(MLIRContext *ctx, int64_t vectorWidth,
                    int64_t maxUnrollRows, bool parallel)
      : OpConversionPattern(ctx, /*benefit=*/2), vectorWidth(vectorWidth),
        maxUnrollRows(maxUnrollRows), parallel(parallel) {}

  LogicalResult
  matchAndRewrite(BsrMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "expected memref operands");
    LayoutAttr layout = op.getLayout();
    int64_t p = layout.getGroupRows();
    if (p > maxUnrollRows)
      return rewriter.notifyMatchFailure(op, "group too tall for registers");
    // Vector loads and stores need rows that are contiguous in memory.
    for (Value v : {adaptor.getInit(), adaptor.getRhs(), adaptor.getValues()})
      if (!cast<MemRefType>(v.getType()).isLastDimUnitStride())
        return rewriter.notifyMatchFailure(op, "innermost stride is not 1");
    Location loc = op.getLoc();
    Value init = adaptor.getInit(), rhs = adaptor.getRhs();
    Value values = adaptor.getValues(), rowPtr = adaptor.getRowPtr();
    Value colIdx = adaptor.getColIdx();
    Type elemTy = cast<MemRefType>(init.getType()).getElementType();
    auto vecTy = VectorType::get({vectorWidth}, elemTy);
    auto wTy = VectorType::get({p}, elemTy);
    auto maskTy = VectorType::get({vectorWidth}, rewriter.getI1Type());

    auto cst = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(rewriter, loc, v);
    };
    Value c0 = cst(0), c1 = cst(1), cp = cst(p), cv = cst(vectorWidth);
    Value rows = memref::DimOp::create(rewriter, loc, init, 0);
    Value cols = memref::DimOp::create(rewriter, loc, init, 1);
    Value perm = getPermBuffer(rewriter, op, layout);
    Value zeroVec = arith::ConstantOp::create(
        rewriter, loc, vecTy,
        DenseElementsAttr::get(vecTy, rewriter.getZeroAttr(elemTy)));
    // N split into full slices and a (possibly empty) masked tail.
    Value tail = arith::RemUIOp::create(rewriter, loc, cols, cv);
    Value fullEnd = arith::SubIOp::create(rewriter, loc, cols, tail);
    Value groups = arith::CeilDivUIOp::create(rewriter, loc, rows, cp);

    // One p x V tile: rows of group g, columns n0 .. n0 + V (masked if
    // `mask` is set).
    auto emitTile = [&](OpBuilder &b, Location loc, Value g, Value n0,
                        Value mask) {
      Value begin = loadIndex(b, loc, rowPtr, g);
      Value gNext = arith::AddIOp::create(b, loc, g, c1);
      Value end = loadIndex(b, loc, rowPtr, gNext);
      Value rowBase = arith::MulIOp::create(b, loc, g, cp);
      SmallVector<Value> inside, outRows, accs;
      for (int64_t r = 0; r < p; ++r) {
        Value i = arith::AddIOp::create(
            b, loc, rowBase, arith::ConstantIndexOp::create(b, loc, r));
        Value in =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, i, rows);
        Value row = i;
        // Padded rows of the last group are neither loaded nor stored; their
        // index is clamped so no out-of-range address is even formed.
        if (perm) {
          auto ifOp = scf::IfOp::create(
              b, loc, in,
              [&](OpBuilder &b, Location loc) {
                scf::YieldOp::create(b, loc, loadIndex(b, loc, perm, i));
              },
              [&](OpBuilder &b, Location loc) {
                scf::YieldOp::create(b, loc, c0);
              });
          row = ifOp.getResult(0);
        }
        auto load = scf::IfOp::create(
            b, loc, in,
            [&](OpBuilder &b, Location loc) {
              Value acc = mask ? vector::MaskedLoadOp::create(
                                     b, loc, vecTy, init, ValueRange{row, n0},
                                     mask, zeroVec)
                                     .getResult()
                               : vector::LoadOp::create(b, loc, vecTy, init,
                                                        ValueRange{row, n0})
                                     .getResult();
              scf::YieldOp::create(b, loc, acc);
            },
            [&](OpBuilder &b, Location loc) {
              scf::YieldOp::create(b, loc, zeroVec);
            });
        inside.push_back(in);
        outRows.push_back(row);
        accs.push_back(load.getResult(0));
      }
      // The reduction over the group's kept columns, accumulators in
      // registers.
      auto loop = scf::ForOp::create(
          b, loc, begin, end, c1, accs,
          [&](OpBuilder &b, Location loc, Value j, ValueRange iterAccs) {
            Value col = loadIndex(b, loc, colIdx, j);
            Value x = mask ? vector::MaskedLoadOp::create(b, loc, vecTy, rhs,
                                                          ValueRange{col, n0},
                                                          mask, zeroVec)
                                 .getResult()
                           : vector::LoadOp::create(b, loc, vecTy, rhs,
                                                    ValueRange{col, n0})
                                 .getResult();
            Value w =
                vector::LoadOp::create(b, loc, wTy, values, ValueRange{j, c0});
            SmallVector<Value> next;
            for (int64_t r = 0; r < p; ++r) {
              Value wr = vector::ExtractOp::create(b, loc, w, r);
              Value wb = vector::BroadcastOp::create(b, loc, vecTy, wr);
              next.push_back(vector::FMAOp::create(b, loc, wb, x, iterAccs[r]));
            }
            scf::YieldOp::create(b, loc, next);
          });
      for (int64_t r = 0; r < p; ++r) {
        scf::IfOp::create(b, loc, inside[r], [&](OpBuilder &b, Location loc) {
          Value acc = loop.getResult(r);
          if (mask)
            vector::MaskedStoreOp::create(
                b, loc, init, ValueRange{outRows[r], n0}, mask, acc);
          else
            vector::StoreOp::create(b, loc, acc, init,
                                    ValueRange{outRows[r], n0});
          scf::YieldOp::create(b, loc);
        });
      }
    };

    // One row group: its N slices, then the masked tail.
    auto emitGroup = [&](OpBuilder &b, Location loc, Value g) {
      scf::ForOp::create(b, loc, c0, fullEnd, cv, ValueRange{},
                         [&](OpBuilder &b, Location loc, Value n0, ValueRange) {
                           emitTile(b, loc, g, n0, Value());
                           scf::YieldOp::create(b, loc);
                         });
      Value hasTail =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, tail, c0);
      scf::IfOp::create(b, loc, hasTail, [&](OpBuilder &b, Location loc) {
        Value mask =
            vector::CreateMaskOp::create(b, loc, maskTy, ValueRange{tail});
        emitTile(b, loc, g, fullEnd, mask);
        scf::YieldOp::create(b, loc);
      });
    };
    // Row groups write disjoint rows of init, so they may run in parallel.
    if (parallel) {
      scf::ParallelOp::create(rewriter, loc, ValueRange{c0}, ValueRange{groups},
                              ValueRange{c1},
                              [&](OpBuilder &b, Location loc, ValueRange ivs) {
                                emitGroup(b, loc, ivs[0]);
                              });
    } else {
      scf::ForOp::create(rewriter, loc, c0, groups, c1, ValueRange{},
                         [&](OpBuilder &b, Location loc, Value g, ValueRange) {
                           emitGroup(b, loc, g);
                           scf::YieldOp::create(b, loc);
                         });
    }
    rewriter.eraseOp(op);
    return success();
  }

  int64_t vectorWidth, maxUnrollRows;
  bool parallel;
};
} // namespace

void mlir::blkrew::populateBlkRewToVectorConversionPatterns(
    RewritePatternSet &patterns, int64_t vectorWidth, int64_t maxUnrollRows,
    bool parallel) {
  patterns.add<BsrMatmulToVector>(patterns.getContext(), vectorWidth,
                                  maxUnrollRows, parallel);
}

namespace mlir::blkrew {
namespace {
struct ConvertBlkRewToVectorPass
    : public impl::ConvertBlkRewToVectorBase<ConvertBlkRewToVectorPass> {
  using ConvertBlkRewToVectorBase::ConvertBlkRewToVectorBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (vectorWidth <= 0 || maxUnrollRows <= 0) {
      module.emitError("convert-blkrew-to-vector: vector-width and "
                       "max-unroll-rows must be positive");
      return signalPassFailure();
    }
    if (failed(verifyBufferized(module, "convert-blkrew-to-vector")))
      return signalPassFailure();

    ConversionTarget target(getContext());
    target.addIllegalDialect<BlkRewDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateBlkRewToVectorConversionPatterns(patterns, vectorWidth,
                                             maxUnrollRows, parallel);
    // Fallback for to_dense and very tall groups.
    populateBlkRewToSCFConversionPatterns(patterns);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
