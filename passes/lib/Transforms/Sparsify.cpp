//===- Sparsify.cpp - Constant-weight matmuls to blkrew ops ---*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Rewrites matrix products whose weight is a constant into blkrew.bsr_matmul
// with the weight packed in the blkrew format (docs/format.md). Expects
// tensor-level linalg IR with static shapes, as torch-mlir imports it.
// Products that do not match, or whose packed weight would not be small
// enough to pay, are left as they are.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Dialect/BlkRewOps.h"
#include "blkrew/Transforms/Passes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "blkrew-sparsify"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWSPARSIFY
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

//===----------------------------------------------------------------------===//
// Reading and packing constant weights
//===----------------------------------------------------------------------===//

/// The values of a 2-D f32 constant, row-major, if `v` is one.
static std::optional<SmallVector<float>> readConstantF32(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() != 2 || !type.hasStaticShape() ||
      !type.getElementType().isF32())
    return std::nullopt;
  Attribute attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    auto values = dense.getValues<float>();
    return SmallVector<float>(values.begin(), values.end());
  }
  // torch-mlir stores parameters as dense_resource blobs.
  if (auto resource = dyn_cast<DenseF32ResourceElementsAttr>(attr)) {
    std::optional<ArrayRef<float>> data = resource.tryGetAsArrayRef();
    if (!data || static_cast<int64_t>(data->size()) != type.getNumElements())
      return std::nullopt;
    return SmallVector<float>(data->begin(), data->end());
  }
  return std::nullopt;
}

namespace {
/// A weight packed in the blkrew format (docs/format.md).
struct PackedWeight {
  SmallVector<int32_t> rowPtr;
  SmallVector<int32_t> colIdx;
  SmallVector<float> values; // [colIdx.size(), p], row-major
};
} // namespace

/// Packs the row-major `weight[rows, cols]` in groups of `p` rows: a column
/// is kept in a group when any of the group's rows is nonzero in it.
static PackedWeight pack(ArrayRef<float> weight, int64_t rows, int64_t cols,
                         int64_t p) {
  PackedWeight packed;
  int64_t groups = (rows + p - 1) / p;
  packed.rowPtr.push_back(0);
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t k = 0; k < cols; ++k) {
      bool kept = false;
      for (int64_t r = g * p; r < std::min(rows, (g + 1) * p) && !kept; ++r)
        kept = weight[r * cols + k] != 0.0f;
      if (!kept)
        continue;
      packed.colIdx.push_back(static_cast<int32_t>(k));
      for (int64_t r = g * p; r < (g + 1) * p; ++r)
        packed.values.push_back(r < rows ? weight[r * cols + k] : 0.0f);
    }
    packed.rowPtr.push_back(static_cast<int32_t>(packed.colIdx.size()));
  }
  return packed;
}

/// Packs a constant weight if the packed form stores at most `maxDensity`
/// of the dense values; otherwise returns nothing (the layer stays dense).
static std::optional<PackedWeight> packIfSparse(ArrayRef<float> weight,
                                                int64_t rows, int64_t cols,
                                                int64_t blockRows,
                                                double maxDensity) {
  PackedWeight packed = pack(weight, rows, cols, blockRows);
  double density = static_cast<double>(packed.values.size()) /
                   static_cast<double>(std::max<int64_t>(1, rows * cols));
  LLVM_DEBUG(llvm::dbgs() << "blkrew-sparsify: " << rows << "x" << cols
                          << " weight, density " << density << "\n");
  if (density > maxDensity)
    return std::nullopt;
  return packed;
}

/// Creates the three packed constants and the bsr_matmul computing
/// `init += weight x rhs`.
static Value buildBsrMatmul(PatternRewriter &rewriter, Location loc,
                            const PackedWeight &packed, Value rhs, Value init,
                            int64_t blockRows, int64_t blockCols) {
  auto i32 = rewriter.getI32Type();
  auto f32 = rewriter.getF32Type();
  int64_t nnz = packed.colIdx.size();
  auto rpType = RankedTensorType::get({(int64_t)packed.rowPtr.size()}, i32);
  auto ciType = RankedTensorType::get({nnz}, i32);
  auto vType = RankedTensorType::get({nnz, blockRows}, f32);
  Value rp = arith::ConstantOp::create(
      rewriter, loc, rpType,
      DenseElementsAttr::get(rpType, ArrayRef<int32_t>(packed.rowPtr)));
  Value ci = arith::ConstantOp::create(
      rewriter, loc, ciType,
      DenseElementsAttr::get(ciType, ArrayRef<int32_t>(packed.colIdx)));
  Value v = arith::ConstantOp::create(
      rewriter, loc, vType,
      DenseElementsAttr::get(vType, ArrayRef<float>(packed.values)));
  auto layout = LayoutAttr::get(rewriter.getContext(), {blockRows, blockCols},
                                PruneScheme::Column, /*perm=*/{});
  return BsrMatmulOp::create(rewriter, loc, init.getType(), layout, rp, ci, v,
                             rhs, init)
      .getResult();
}

/// `linalg.transpose` of a 2-D tensor into a fresh `tensor.empty`.
static Value transpose2D(PatternRewriter &rewriter, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  Value empty = tensor::EmptyOp::create(
      rewriter, loc, ArrayRef<int64_t>{type.getDimSize(1), type.getDimSize(0)},
      type.getElementType());
  return linalg::TransposeOp::create(rewriter, loc, v, empty,
                                     ArrayRef<int64_t>{1, 0})
      ->getResult(0);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

namespace {
/// Common checks and options of the matmul patterns.
struct SparsifyMatmulBase : public OpRewritePattern<linalg::MatmulOp> {
  SparsifyMatmulBase(MLIRContext *ctx, int64_t blockRows, int64_t blockCols,
                     double maxDensity)
      : OpRewritePattern(ctx), blockRows(blockRows), blockCols(blockCols),
        maxDensity(maxDensity) {}

  /// A plain matmul on static f32 tensors.
  static bool isPlainTensorMatmul(linalg::MatmulOp op) {
    if (!op.hasPureTensorSemantics() || op.hasUserDefinedMaps())
      return false;
    for (Value v : op->getOperands()) {
      auto t = dyn_cast<RankedTensorType>(v.getType());
      if (!t || !t.hasStaticShape() || !t.getElementType().isF32())
        return false;
    }
    return true;
  }

  int64_t blockRows, blockCols;
  double maxDensity;
};

/// W[M, K] (constant) x B[K, N] -> bsr_matmul.
struct SparsifyConstantLhs : public SparsifyMatmulBase {
  using SparsifyMatmulBase::SparsifyMatmulBase;

  LogicalResult matchAndRewrite(linalg::MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!isPlainTensorMatmul(op))
      return rewriter.notifyMatchFailure(op, "not a static f32 tensor matmul");
    Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
    std::optional<SmallVector<float>> weight = readConstantF32(lhs);
    if (!weight)
      return rewriter.notifyMatchFailure(op, "lhs is not a constant");
    auto type = cast<RankedTensorType>(lhs.getType());
    std::optional<PackedWeight> packed = packIfSparse(
        *weight, type.getDimSize(0), type.getDimSize(1), blockRows, maxDensity);
    if (!packed)
      return rewriter.notifyMatchFailure(op, "weight too dense to pay");
    rewriter.replaceOp(op, buildBsrMatmul(rewriter, op.getLoc(), *packed, rhs,
                                          op.getDpsInits()[0], blockRows,
                                          blockCols));
    return success();
  }
};

/// X[N, K] x transpose(W[M, K]) (constant W) -> (W x X^T)^T.
struct SparsifyTransposedRhs : public SparsifyMatmulBase {
  using SparsifyMatmulBase::SparsifyMatmulBase;

  LogicalResult matchAndRewrite(linalg::MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!isPlainTensorMatmul(op))
      return rewriter.notifyMatchFailure(op, "not a static f32 tensor matmul");
    Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
    auto transpose = rhs.getDefiningOp<linalg::TransposeOp>();
    if (!transpose || transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
      return rewriter.notifyMatchFailure(op, "rhs is not a 2-D transpose");
    Value w = transpose.getInput();
    std::optional<SmallVector<float>> weight = readConstantF32(w);
    if (!weight)
      return rewriter.notifyMatchFailure(op, "transposed rhs is not constant");
    auto type = cast<RankedTensorType>(w.getType());
    // Decide before creating any IR: a pattern that fails must not change it.
    std::optional<PackedWeight> packed = packIfSparse(
        *weight, type.getDimSize(0), type.getDimSize(1), blockRows, maxDensity);
    if (!packed)
      return rewriter.notifyMatchFailure(op, "weight too dense to pay");
    Location loc = op.getLoc();
    Value lhsT = transpose2D(rewriter, loc, lhs);
    Value initT = transpose2D(rewriter, loc, op.getDpsInits()[0]);
    Value resultT = buildBsrMatmul(rewriter, loc, *packed, lhsT, initT,
                                   blockRows, blockCols);
    rewriter.replaceOp(op, transpose2D(rewriter, loc, resultT));
    return success();
  }
};
} // namespace

void mlir::blkrew::populateSparsifyPatterns(RewritePatternSet &patterns,
                                            int64_t blockRows,
                                            int64_t blockCols,
                                            double maxDensity) {
  patterns.add<SparsifyConstantLhs, SparsifyTransposedRhs>(
      patterns.getContext(), blockRows, blockCols, maxDensity);
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

namespace mlir::blkrew {
namespace {
struct BlkRewSparsifyPass
    : public impl::BlkRewSparsifyBase<BlkRewSparsifyPass> {
  using BlkRewSparsifyBase::BlkRewSparsifyBase;

  void runOnOperation() override {
    if (blockRows <= 0 || blockCols <= 0) {
      getOperation().emitError("blkrew-sparsify: block-rows and block-cols "
                               "must be positive, got ")
          << static_cast<int64_t>(blockRows) << " and "
          << static_cast<int64_t>(blockCols);
      return signalPassFailure();
    }
    if (maxDensity < 0.0 || maxDensity > 1.0) {
      getOperation().emitError("blkrew-sparsify: max-density must be in "
                               "[0, 1], got ")
          << static_cast<double>(maxDensity);
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    populateSparsifyPatterns(patterns, blockRows, blockCols, maxDensity);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
