//===- FuseActivations.cpp - ReLU into block-sparse products ----*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Folds an element-wise ReLU that follows a blkrew.bsr_matmul (through
// reshapes and transposes) into the product's `relu` flag, and a residual
// or a row bias added after it into its init.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Dialect/BlkRewOps.h"
#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "blkrew-fuse-activations"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWFUSEACTIVATIONS
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

/// Whether `v` is a float constant zero; with `positive`, +0.0 only (a
/// ReLU that yields -0.0 for negative inputs is not `max(x, +0.0)`).
static bool isZero(Value v, bool positive) {
  FloatAttr attr;
  return matchPattern(v, m_Constant(&attr)) &&
         (positive ? attr.getValue().isPosZero() : attr.getValue().isZero());
}

/// Whether `y` is ReLU of `x` in the forms torch-mlir and upstream write:
/// `select(cmpf ugt x, 0, x, +0.0)` or `maximumf(x, +0.0)` (either operand
/// order). Both keep NaN.
static bool isReluOf(Value y, Value x) {
  if (auto max = y.getDefiningOp<arith::MaximumFOp>())
    return (max.getLhs() == x && isZero(max.getRhs(), true)) ||
           (max.getRhs() == x && isZero(max.getLhs(), true));
  auto select = y.getDefiningOp<arith::SelectOp>();
  if (!select || select.getTrueValue() != x ||
      !isZero(select.getFalseValue(), true))
    return false;
  auto cmp = select.getCondition().getDefiningOp<arith::CmpFOp>();
  return cmp && cmp.getPredicate() == arith::CmpFPredicate::UGT &&
         cmp.getLhs() == x && isZero(cmp.getRhs(), false);
}

/// Whether `op` is element-wise with `inputs` inputs on tensors: one init,
/// identity maps, all loops parallel.
static bool isElementwise(linalg::GenericOp op, unsigned inputs) {
  return op.hasPureTensorSemantics() && op.getNumDpsInputs() == inputs &&
         op.getNumDpsInits() == 1 &&
         op.getNumParallelLoops() == op.getNumLoops() &&
         llvm::all_of(op.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isIdentity(); });
}

/// The value `op` yields.
static Value yielded(linalg::GenericOp op) {
  return cast<linalg::YieldOp>(op.getRegion().front().getTerminator())
      .getValues()[0];
}

/// Whether `op` is an element-wise ReLU of its one input.
static bool isRelu(linalg::GenericOp op) {
  return isElementwise(op, 1) &&
         isReluOf(yielded(op), op.getRegion().front().getArgument(0));
}

/// Whether the two-input `op` yields the sum of its inputs' elements
/// (either order), `relu(a + b)` when it returns true, `a + b` when false;
/// nullopt for anything else.
static std::optional<bool> matchSum(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getNumArguments() < 2)
    return std::nullopt;
  Value a = body.getArgument(0), b = body.getArgument(1);
  for (Operation *user : a.getUsers()) {
    auto add = dyn_cast<arith::AddFOp>(user);
    if (!add || !((add.getLhs() == a && add.getRhs() == b) ||
                  (add.getLhs() == b && add.getRhs() == a)))
      continue;
    Value y = yielded(op);
    if (y == add.getResult())
      return false;
    if (isReluOf(y, add.getResult()))
      return true;
  }
  return std::nullopt;
}

/// Follows `v` back through element moves (reshapes, transposes), each
/// value on the way used only there, to the bsr_matmul that produced it;
/// the moves are appended to `chain`, last applied first. Null when there
/// is none.
static BsrMatmulOp traceToMatmul(Value v, SmallVectorImpl<Operation *> *chain) {
  while (true) {
    if (!v.hasOneUse())
      return nullptr;
    Operation *def = v.getDefiningOp();
    if (!isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                         linalg::TransposeOp>(def))
      break;
    if (chain)
      chain->push_back(def);
    v = def->getOperand(0);
  }
  return v.getDefiningOp<BsrMatmulOp>();
}

namespace {
struct FuseRelu : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || !isRelu(op))
      return rewriter.notifyMatchFailure(op, "not a ReLU on tensors");
    Value input = op.getDpsInputs()[0];
    if (input.getType() != op.getResult(0).getType())
      return rewriter.notifyMatchFailure(op, "changes the element type");
    auto matmul = traceToMatmul(input, nullptr);
    if (!matmul || matmul.getClamp())
      return rewriter.notifyMatchFailure(
          op, "not after a bsr_matmul without a clamp whose result has no "
              "other use");
    rewriter.modifyOpInPlace(matmul, [&] { matmul.setRelu(true); });
    rewriter.replaceOp(op, input);
    return success();
  }
};

/// Whether `op` clamps its one input to constants [lo, hi] as torch-mlir
/// imports ReLU6 and hardtanh: `a = select(cmpf ogt x, lo, x, lo)`, then
/// `select(cmpf olt hi, a, hi, a)` (NaN gives lo, like `maxnumf`).
static std::optional<std::pair<APFloat, APFloat>>
matchClamp(linalg::GenericOp op) {
  if (!isElementwise(op, 1))
    return std::nullopt;
  Value x = op.getRegion().front().getArgument(0);
  auto upper = yielded(op).getDefiningOp<arith::SelectOp>();
  if (!upper)
    return std::nullopt;
  Value a = upper.getFalseValue();
  auto lower = a.getDefiningOp<arith::SelectOp>();
  auto upperCmp = upper.getCondition().getDefiningOp<arith::CmpFOp>();
  if (!lower || !upperCmp)
    return std::nullopt;
  auto lowerCmp = lower.getCondition().getDefiningOp<arith::CmpFOp>();
  FloatAttr lo, hi;
  if (!lowerCmp || lowerCmp.getPredicate() != arith::CmpFPredicate::OGT ||
      lowerCmp.getLhs() != x || lower.getTrueValue() != x ||
      lower.getFalseValue() != lowerCmp.getRhs() ||
      !matchPattern(lowerCmp.getRhs(), m_Constant(&lo)) ||
      upperCmp.getPredicate() != arith::CmpFPredicate::OLT ||
      upperCmp.getRhs() != a || upper.getTrueValue() != upperCmp.getLhs() ||
      !matchPattern(upperCmp.getLhs(), m_Constant(&hi)))
    return std::nullopt;
  return std::make_pair(lo.getValue(), hi.getValue());
}

namespace {
/// A clamp (ReLU6) after a bsr_matmul -> the matmul's `clamp`.
struct FuseClamp : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<std::pair<APFloat, APFloat>> bounds = matchClamp(op);
    if (!bounds)
      return rewriter.notifyMatchFailure(op, "not a clamp to constants");
    Value input = op.getDpsInputs()[0];
    if (input.getType() != op.getResult(0).getType())
      return rewriter.notifyMatchFailure(op, "changes the element type");
    BsrMatmulOp matmul = traceToMatmul(input, nullptr);
    if (!matmul || matmul.getRelu() || matmul.getClamp())
      return rewriter.notifyMatchFailure(
          op, "not after a bsr_matmul without an activation");
    // The bounds as f32 (the attribute's type), exactly.
    bool lossy = false;
    for (APFloat *v : {&bounds->first, &bounds->second}) {
      bool inexact = false;
      v->convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &inexact);
      lossy |= inexact;
    }
    float lo = bounds->first.convertToFloat(),
          hi = bounds->second.convertToFloat();
    if (lossy || !(lo <= hi))
      return rewriter.notifyMatchFailure(op, "bounds not an f32 range");
    rewriter.modifyOpInPlace(matmul,
                             [&] { matmul.setClamp(ArrayRef<float>{lo, hi}); });
    rewriter.replaceOp(op, input);
    return success();
  }
};
} // namespace

/// Applies the inverse of the element move `move` to `v` (shaped like the
/// move's result): the value shaped like its source.
static Value undoMove(OpBuilder &b, Location loc, Operation *move, Value v) {
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(move))
    return tensor::CollapseShapeOp::create(b, loc, v,
                                           expand.getReassociationIndices());
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(move))
    return tensor::ExpandShapeOp::create(b, loc, collapse.getSrcType(), v,
                                         collapse.getReassociationIndices());
  auto transpose = cast<linalg::TransposeOp>(move);
  auto srcTy = cast<RankedTensorType>(transpose.getInput().getType());
  Value empty =
      tensor::EmptyOp::create(b, loc, srcTy.getShape(), srcTy.getElementType());
  SmallVector<int64_t> inverse =
      invertPermutationVector(transpose.getPermutation());
  return linalg::TransposeOp::create(b, loc, v, empty, inverse).getResult()[0];
}

/// `relu(y + r)` with `y` from a bsr_matmul (through element moves) ->
/// the matmul with `r` added to its init and `relu`: a residual block's
/// sum and activation happen in the kernel, not in a pass of their own.
/// `r` must be available before the matmul. A bias broadcast in the init
/// is generalized so elementwise fusion merges it with the addition.
struct FuseResidualRelu : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!isElementwise(op, 2))
      return rewriter.notifyMatchFailure(op, "not element-wise, 2 inputs");
    if (matchSum(op) != true)
      return rewriter.notifyMatchFailure(op, "not relu(a + b)");
    Type type = op.getResult(0).getType();
    if (op.getDpsInputs()[0].getType() != type ||
        op.getDpsInputs()[1].getType() != type)
      return rewriter.notifyMatchFailure(op, "broadcasts or converts");
    for (int i : {0, 1}) {
      Value input = op.getDpsInputs()[i];
      Value residual = op.getDpsInputs()[1 - i];
      SmallVector<Operation *> chain;
      BsrMatmulOp matmul = traceToMatmul(input, &chain);
      if (!matmul || matmul.getRelu() || matmul.getClamp() ||
          !matmul.hasPureTensorSemantics())
        continue;
      // The residual becomes an operand of the matmul. One computed after
      // it (a downsampling shortcut) is reached by moving the matmul and
      // its moves down to the sum: their results have no other use and
      // their operands are all defined earlier.
      Block *block = matmul->getBlock();
      if (op->getBlock() != block || llvm::any_of(chain, [&](Operation *move) {
            return move->getBlock() != block;
          }))
        continue;
      Operation *def = residual.getDefiningOp();
      if (def ? def->getBlock() != block
              : cast<BlockArgument>(residual).getOwner() != block)
        continue;
      if (def && !def->isBeforeInBlock(matmul)) {
        rewriter.moveOpBefore(matmul, op);
        for (Operation *move : llvm::reverse(chain))
          rewriter.moveOpBefore(move, op);
      }
      Location loc = op.getLoc();
      rewriter.setInsertionPoint(matmul);
      Value r = residual;
      for (Operation *move : chain)
        r = undoMove(rewriter, loc, move, r);
      Value init = r;
      if (!matmul.getOverwrite()) {
        Value bias = matmul.getInit();
        while (isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(
            bias.getDefiningOp()))
          bias = bias.getDefiningOp()->getOperand(0);
        if (auto broadcast = bias.getDefiningOp<linalg::BroadcastOp>()) {
          OpBuilder::InsertionGuard guard(rewriter);
          rewriter.setInsertionPoint(broadcast);
          (void)linalg::generalizeNamedOp(rewriter, broadcast);
        }
        auto initTy = cast<RankedTensorType>(matmul.getInit().getType());
        Value empty = tensor::EmptyOp::create(rewriter, loc, initTy.getShape(),
                                              initTy.getElementType());
        AffineMap id = rewriter.getMultiDimIdentityMap(initTy.getRank());
        SmallVector<utils::IteratorType> parallel(
            initTy.getRank(), utils::IteratorType::parallel);
        init = linalg::GenericOp::create(
                   rewriter, loc, initTy, ValueRange{matmul.getInit(), r},
                   ValueRange{empty}, ArrayRef<AffineMap>{id, id, id}, parallel,
                   [](OpBuilder &b, Location loc, ValueRange args) {
                     linalg::YieldOp::create(b, loc,
                                             ValueRange{arith::AddFOp::create(
                                                 b, loc, args[0], args[1])});
                   })
                   .getResult(0);
      }
      rewriter.modifyOpInPlace(matmul, [&] {
        matmul.getInitMutable().assign(init);
        matmul.setOverwrite(false);
        matmul.setRelu(true);
      });
      rewriter.replaceOp(op, input);
      return success();
    }
    return rewriter.notifyMatchFailure(
        op, "no addend from a bsr_matmul the other addend can join");
  }
};

/// `y + b` or `relu(y + b)` with `y` from an `overwrite` bsr_matmul through
/// transposes and `b` a 1-D bias along the dimension that was the
/// product's rows (a linear layer's bias at a batch above 1, added to
/// y[N, M] after the product's [M, N] is transposed back) -> the product
/// with `b` broadcast into its init (and `relu`): the kernel starts each
/// row from its bias instead of the output being read and written again.
struct FuseRowBias : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
        op.getNumDpsInits() != 1 ||
        op.getNumParallelLoops() != op.getNumLoops())
      return rewriter.notifyMatchFailure(op, "not element-wise, 2 inputs");
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    Type type = op.getResult(0).getType();
    Value y = op.getDpsInputs()[0], b = op.getDpsInputs()[1];
    auto biasTy = dyn_cast<RankedTensorType>(b.getType());
    if (y.getType() != type || !maps[0].isIdentity() || !maps[2].isIdentity() ||
        !biasTy || biasTy.getRank() != 1 || maps[1].getNumResults() != 1 ||
        !maps[1].isProjectedPermutation())
      return rewriter.notifyMatchFailure(op, "not y + a 1-D bias");
    std::optional<bool> relu = matchSum(op);
    if (!relu)
      return rewriter.notifyMatchFailure(op, "not y + b or relu(y + b)");
    SmallVector<Operation *> chain;
    BsrMatmulOp matmul = traceToMatmul(y, &chain);
    if (!matmul || !matmul.getOverwrite() || matmul.getRelu() ||
        matmul.getClamp() || !matmul.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(
          op, "not after an overwrite bsr_matmul without an activation");
    // The bias's dimension, back through the transposes to the product's.
    int64_t dim = cast<AffineDimExpr>(maps[1].getResult(0)).getPosition();
    for (Operation *move : chain) {
      auto transpose = dyn_cast<linalg::TransposeOp>(move);
      if (!transpose)
        return rewriter.notifyMatchFailure(op, "reshaped on the way");
      dim = transpose.getPermutation()[dim];
    }
    auto initTy = cast<RankedTensorType>(matmul.getInit().getType());
    if (dim != 0 || initTy.getRank() != 2 ||
        biasTy.getDimSize(0) != initTy.getDimSize(0))
      return rewriter.notifyMatchFailure(op, "not along the product's rows");
    // The bias must be there before the product.
    if (Operation *def = b.getDefiningOp())
      if (def->getBlock() != matmul->getBlock() ||
          !def->isBeforeInBlock(matmul))
        return rewriter.notifyMatchFailure(op, "bias computed after");
    rewriter.setInsertionPoint(matmul);
    Location loc = op.getLoc();
    Value empty = tensor::EmptyOp::create(rewriter, loc, initTy.getShape(),
                                          initTy.getElementType());
    Value init = linalg::BroadcastOp::create(rewriter, loc, b, empty,
                                             ArrayRef<int64_t>{1})
                     ->getResult(0);
    rewriter.modifyOpInPlace(matmul, [&] {
      matmul.getInitMutable().assign(init);
      matmul.setOverwrite(false);
      matmul.setRelu(*relu);
    });
    rewriter.replaceOp(op, y);
    return success();
  }
};
} // namespace

namespace mlir::blkrew {
namespace {
struct BlkRewFuseActivationsPass
    : public impl::BlkRewFuseActivationsBase<BlkRewFuseActivationsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseRelu, FuseClamp, FuseResidualRelu, FuseRowBias>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
