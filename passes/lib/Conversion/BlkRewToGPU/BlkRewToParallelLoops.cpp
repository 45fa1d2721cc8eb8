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

/// Emits `scf.parallel (g, t, inner...) = (0, 0, 0...) to (groups,
/// p / tile, innerUbs...)`: iteration (g, t) covers rows `i = g*p + t*tile
/// + k`, k < tile, of the packed (permuted) order. Inside, where its first
/// row is inside the matrix, calls `body(b, loc, g, r, i, innerIvs)` with
/// `r = t*tile` the first row's index in the group and `i` its row.
static void buildGroupRowParallel(
    OpBuilder &b, Location loc, LayoutAttr layout, Value rows,
    ValueRange innerUbs, int64_t tile,
    function_ref<void(OpBuilder &, Location, Value, Value, Value, ValueRange)>
        body) {
  int64_t p = layout.getGroupRows();
  assert(p % tile == 0 && "the row tile must divide the group");
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value cp = arith::ConstantIndexOp::create(b, loc, p);
  Value groups = arith::CeilDivUIOp::create(b, loc, rows, cp);
  SmallVector<Value> lbs(2 + innerUbs.size(), c0);
  SmallVector<Value> steps(lbs.size(), c1);
  Value tiles =
      tile == 1 ? cp : arith::ConstantIndexOp::create(b, loc, p / tile);
  SmallVector<Value> ubs{groups, tiles};
  llvm::append_range(ubs, innerUbs);
  scf::ParallelOp::create(
      b, loc, lbs, ubs, steps, [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value g = ivs[0], r = ivs[1];
        if (tile > 1)
          r = arith::MulIOp::create(
              b, loc, r, arith::ConstantIndexOp::create(b, loc, tile));
        Value i = arith::AddIOp::create(
            b, loc, arith::MulIOp::create(b, loc, g, cp), r);
        Value inside =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, i, rows);
        scf::IfOp::create(b, loc, inside, [&](OpBuilder &b, Location loc) {
          body(b, loc, g, r, i, ivs.drop_front(2));
          scf::YieldOp::create(b, loc);
        });
      });
}

/// The original (un-permuted) row of packed row `i`.
static Value originalRow(OpBuilder &b, Location loc, Value perm, Value i) {
  return perm ? loadIndex(b, loc, perm, i) : i;
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
  /// `rowsPerInvocation`: rows of a group one iteration computes (dividing
  /// the group; 0: the whole group).
  BsrMatmulToParallel(MLIRContext *ctx, int64_t rowsPerInvocation)
      : OpConversionPattern(ctx), rowsPerInvocation(rowsPerInvocation) {}

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
    // A bias broadcast into init just before: each accumulator starts
    // from its row's bias, and the broadcast (a launch, and a pass over
    // the output) goes.
    Value bias;
    if (!op.getOverwrite())
      if (linalg::BroadcastOp broadcast = findRowBroadcast(op, init)) {
        bias = broadcast.getInput();
        rewriter.eraseOp(broadcast);
      }
    Value rows = dim(0), cols = dim(1);
    Value perm = getPermBuffer(rewriter, op, layout);
    RhsAccess access(rewriter, loc, op, rhs, colIdx);
    // The largest divisor of the group's height within the asked rows.
    int64_t p = layout.getGroupRows();
    int64_t tile = rowsPerInvocation > 0 ? std::min(rowsPerInvocation, p) : p;
    while (p % tile)
      --tile;
    Type elemTy = cast<MemRefType>(init.getType()).getElementType();
    buildGroupRowParallel(
        rewriter, loc, layout, rows, cols, tile,
        [&](OpBuilder &b, Location loc, Value g, Value r, Value i,
            ValueRange inner) {
          Value n = inner.front();
          SmallVector<Value> rhsCol = access.colPart(b, loc, n);
          Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
          auto [begin, end] = loadGroupBounds(b, loc, rowPtr, g);
          // Row k of the tile: its index in the group, whether it is inside
          // the matrix (the first one is), and its original row (row 0's
          // when outside, a safe index to read the initial value from).
          SmallVector<Value> groupRows, insides, origRows, accs;
          for (int64_t k = 0; k < tile; ++k) {
            Value ck = k ? arith::ConstantIndexOp::create(b, loc, k).getResult()
                         : Value();
            Value ik = k ? arith::AddIOp::create(b, loc, i, ck).getResult() : i;
            Value inside = k ? arith::CmpIOp::create(
                                   b, loc, arith::CmpIPredicate::ult, ik, rows)
                                   .getResult()
                             : Value();
            Value safe =
                k ? arith::SelectOp::create(b, loc, inside, ik, i).getResult()
                  : ik;
            groupRows.push_back(
                k ? arith::AddIOp::create(b, loc, r, ck).getResult() : r);
            insides.push_back(inside);
            origRows.push_back(originalRow(b, loc, perm, safe));
            Value acc;
            if (op.getOverwrite())
              acc = arith::ConstantOp::create(b, loc, elemTy,
                                              b.getZeroAttr(elemTy));
            else if (bias)
              acc = memref::LoadOp::create(b, loc, bias,
                                           ValueRange{origRows.back()});
            else
              acc = memref::LoadOp::create(b, loc, init,
                                           ValueRange{origRows.back(), n});
            accs.push_back(acc);
          }
          // Each rhs element read feeds every row of the tile.
          auto loop = scf::ForOp::create(
              b, loc, begin, end, c1, accs,
              [&](OpBuilder &b, Location loc, Value j, ValueRange iter) {
                SmallVector<Value> rhsRow = access.rowPart(b, loc, j);
                SmallVector<Value> ws;
                for (int64_t k = 0; k < tile; ++k)
                  ws.push_back(memref::LoadOp::create(
                      b, loc, values, ValueRange{j, groupRows[k]}));
                Value x = memref::LoadOp::create(
                    b, loc, rhs, access.indices(b, loc, rhsRow, rhsCol));
                SmallVector<Value> sums;
                for (int64_t k = 0; k < tile; ++k) {
                  Value prod = arith::MulFOp::create(b, loc, ws[k], x);
                  sums.push_back(arith::AddFOp::create(b, loc, iter[k], prod));
                }
                scf::YieldOp::create(b, loc, sums);
              });
          for (int64_t k = 0; k < tile; ++k) {
            auto store = [&](OpBuilder &b, Location loc) {
              Value sum = applyActivation(b, loc, op, loop.getResult(k));
              memref::StoreOp::create(b, loc, sum, init,
                                      ValueRange{origRows[k], n});
            };
            if (!insides[k]) {
              store(b, loc);
              continue;
            }
            scf::IfOp::create(b, loc, insides[k],
                              [&](OpBuilder &b, Location loc) {
                                store(b, loc);
                                scf::YieldOp::create(b, loc);
                              });
          }
        });
    rewriter.eraseOp(op);
    return success();
  }

  int64_t rowsPerInvocation;
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
        rewriter, loc, layout, rows, ValueRange{}, /*tile=*/1,
        [&](OpBuilder &b, Location loc, Value g, Value r, Value i, ValueRange) {
          Value row = originalRow(b, loc, perm, i);
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
    if (rowsPerInvocation < 0) {
      module.emitError("convert-blkrew-to-parallel-loops: rows-per-invocation "
                       "must be 0 (the whole group) or positive, got ")
          << static_cast<int64_t>(rowsPerInvocation);
      return signalPassFailure();
    }
    if (failed(verifyBufferized(module, "convert-blkrew-to-parallel-loops")))
      return signalPassFailure();
    // Values stored narrower than the operands (blkrew-half-weights) would
    // need 16-bit storage buffers, which the SPIR-V target and the Vulkan
    // runner do not ask for.
    auto sameTypes = [](Operation *op, Value values, Value init) {
      Type valueTy = getElementTypeOrSelf(values.getType());
      Type initTy = getElementTypeOrSelf(init.getType());
      if (valueTy == initTy)
        return WalkResult::advance();
      op->emitOpError("convert-blkrew-to-parallel-loops: packed values of ")
          << valueTy << " with " << initTy
          << " operands are not supported on the GPU path (blkrew-half-weights "
             "is for the CPU pipeline)";
      return WalkResult::interrupt();
    };
    auto narrow = module.walk([&](Operation *op) {
      if (auto matmul = dyn_cast<BsrMatmulOp>(op))
        return sameTypes(op, matmul.getValues(), matmul.getInit());
      if (auto toDense = dyn_cast<ToDenseOp>(op))
        return sameTypes(op, toDense.getValues(), toDense.getInit());
      return WalkResult::advance();
    });
    if (narrow.wasInterrupted())
      return signalPassFailure();

    ConversionTarget target(getContext());
    target.addIllegalDialect<BlkRewDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    patterns.add<BsrMatmulToParallel>(&getContext(), rowsPerInvocation);
    patterns.add<ToDenseToParallel>(&getContext());
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
