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
#include "mlir/Dialect/SCF/IR/SCF.h"
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

static std::optional<SmallVector<float>>
readConstantGather(linalg::GenericOp op, RankedTensorType type);

/// The values of a static f32 constant of rank `rank`, row-major, if `v` is
/// one, a reshape or static slice of one, or a gather from constants.
static std::optional<SmallVector<float>> readConstantF32(Value v,
                                                         int64_t rank = 2) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() != rank || !type.hasStaticShape() ||
      !type.getElementType().isF32())
    return std::nullopt;
  // A reshape keeps the row-major order (a grouped convolution's filter,
  // split into its groups).
  if (isa_and_present<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(
          v.getDefiningOp())) {
    Value source = v.getDefiningOp()->getOperand(0);
    return readConstantF32(source,
                           cast<RankedTensorType>(source.getType()).getRank());
  }
  if (auto generic = v.getDefiningOp<linalg::GenericOp>())
    return readConstantGather(generic, type);
  // A static slice of a constant: a weight split in parts, as attention's
  // packed query/key/value projection is when the query and the keys come
  // from different inputs (cross-attention).
  if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>()) {
    if (slice.getSourceType().getRank() != rank ||
        ShapedType::isDynamicShape(slice.getStaticOffsets()) ||
        ShapedType::isDynamicShape(slice.getStaticStrides()))
      return std::nullopt;
    std::optional<SmallVector<float>> source =
        readConstantF32(slice.getSource(), rank);
    if (!source)
      return std::nullopt;
    ArrayRef<int64_t> shape = type.getShape();
    ArrayRef<int64_t> sourceShape = slice.getSourceType().getShape();
    ArrayRef<int64_t> offsets = slice.getStaticOffsets();
    ArrayRef<int64_t> strides = slice.getStaticStrides();
    SmallVector<float> values;
    values.reserve(type.getNumElements());
    SmallVector<int64_t> index(rank, 0);
    for (int64_t n = 0; n < type.getNumElements(); ++n) {
      int64_t flat = 0;
      for (int64_t d = 0; d < rank; ++d)
        flat = flat * sourceShape[d] + offsets[d] + index[d] * strides[d];
      values.push_back((*source)[flat]);
      for (int64_t d = rank - 1; d >= 0 && ++index[d] == shape[d]; --d)
        index[d] = 0;
    }
    return values;
  }
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

/// The most elements of a weight computed at compile time (a gather from
/// constants evaluated, a grouped filter made block diagonal): 16 MiB of
/// f32.
static constexpr int64_t kMaxComputedWeightElements = int64_t(1) << 22;

/// The values of a `linalg.generic` that only gathers from constants: no
/// inputs, and a body of index arithmetic on `linalg.index` and index
/// constants whose yield is a `tensor.extract` from a constant. torch-mlir
/// builds a transposed convolution's filter so (flipped, its channel
/// dimensions swapped); evaluated point by point, the convolution gets a
/// constant filter that the conv pattern packs.
static std::optional<SmallVector<float>>
readConstantGather(linalg::GenericOp op, RankedTensorType type) {
  if (op.getNumDpsInputs() != 0 || op.getNumDpsInits() != 1 ||
      op.getNumResults() != 1 || !op.isAllParallelLoops() ||
      !op.getIndexingMapsArray()[0].isIdentity() ||
      type.getNumElements() > kMaxComputedWeightElements)
    return std::nullopt;
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto result = yield.getOperand(0).getDefiningOp<tensor::ExtractOp>();
  if (!result || result->getBlock() != &body)
    return std::nullopt;
  // Every operation is index arithmetic or a read of a constant defined
  // outside the body; the constants are read once.
  struct Source {
    SmallVector<float> values;
    ArrayRef<int64_t> shape;
  };
  DenseMap<Value, Source> sources;
  for (Operation &inner : body.without_terminator()) {
    if (auto extract = dyn_cast<tensor::ExtractOp>(inner)) {
      Value tensor = extract.getTensor();
      auto tensorType = cast<RankedTensorType>(tensor.getType());
      if (tensor.getParentBlock() == &body)
        return std::nullopt;
      if (sources.contains(tensor))
        continue;
      std::optional<SmallVector<float>> values =
          readConstantF32(tensor, tensorType.getRank());
      if (!values)
        return std::nullopt;
      sources[tensor] = Source{std::move(*values), tensorType.getShape()};
      continue;
    }
    bool indexArith =
        isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::ConstantOp>(
            inner) &&
        inner.getResult(0).getType().isIndex();
    if (!indexArith && !isa<linalg::IndexOp>(inner))
      return std::nullopt;
  }
  // An index: computed in the body, or a constant from outside it.
  DenseMap<Value, int64_t> indices;
  auto indexOf = [&](Value v) -> std::optional<int64_t> {
    if (auto it = indices.find(v); it != indices.end())
      return it->second;
    APInt constant;
    if (matchPattern(v, m_ConstantInt(&constant)))
      return constant.getSExtValue();
    return std::nullopt;
  };
  ArrayRef<int64_t> shape = type.getShape();
  SmallVector<int64_t> point(shape.size(), 0);
  SmallVector<float> values;
  values.reserve(type.getNumElements());
  for (int64_t n = 0; n < type.getNumElements(); ++n) {
    std::optional<float> value;
    for (Operation &inner : body.without_terminator()) {
      if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
        indices[index] = point[index.getDim()];
        continue;
      }
      if (auto extract = dyn_cast<tensor::ExtractOp>(inner)) {
        if (extract != result)
          continue;
        const Source &source = sources.find(extract.getTensor())->second;
        int64_t flat = 0;
        for (auto [i, v] : llvm::enumerate(extract.getIndices())) {
          std::optional<int64_t> at = indexOf(v);
          if (!at || *at < 0 || *at >= source.shape[i])
            return std::nullopt;
          flat = flat * source.shape[i] + *at;
        }
        value = source.values[flat];
        continue;
      }
      if (isa<arith::ConstantOp>(inner))
        continue;
      std::optional<int64_t> lhs = indexOf(inner.getOperand(0));
      std::optional<int64_t> rhs = indexOf(inner.getOperand(1));
      if (!lhs || !rhs)
        return std::nullopt;
      indices[inner.getResult(0)] = isa<arith::AddIOp>(inner)   ? *lhs + *rhs
                                    : isa<arith::SubIOp>(inner) ? *lhs - *rhs
                                                                : *lhs * *rhs;
    }
    values.push_back(*value);
    for (int64_t d = shape.size() - 1; d >= 0 && ++point[d] == shape[d]; --d)
      point[d] = 0;
  }
  return values;
}

/// Marks a bsr_matmul whose weight was dense (every column stored).
static constexpr llvm::StringLiteral kDenseAttrName = "blkrew.dense";
/// Marks the loop over the images of a batched convolution.
static constexpr llvm::StringLiteral kImageLoopAttrName = "blkrew.image_loop";

namespace {
/// A weight packed in the blkrew format (docs/format.md).
struct PackedWeight {
  /// True when every column is stored (the layer is dense; the kernel then
  /// runs as a register-tiled dense GEMM).
  bool dense = false;
  SmallVector<int32_t> rowPtr;
  SmallVector<int32_t> colIdx;
  SmallVector<float> values; // [colIdx.size(), p], row-major
};
} // namespace

/// Packs the row-major `weight[rows, cols]` in groups of `p` rows: a column
/// is kept in a group when any of the group's rows is nonzero in it.
static PackedWeight pack(ArrayRef<float> weight, int64_t rows, int64_t cols,
                         int64_t p, bool keepAll = false) {
  PackedWeight packed;
  int64_t groups = (rows + p - 1) / p;
  packed.rowPtr.push_back(0);
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t k = 0; k < cols; ++k) {
      bool kept = keepAll;
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

/// What the patterns need from the pass options.
struct SparsifyOptions {
  int64_t blockRows, blockCols;
  double maxDensity;
  bool packDense;
  int64_t imageLoopMinPixels;
};

/// Packs a constant weight. If the packed form would store more than
/// `maxDensity` of the dense values, the layer is dense: it is packed with
/// every column kept when `packDense` is set, and left alone otherwise.
static std::optional<PackedWeight> packWeight(ArrayRef<float> weight,
                                              int64_t rows, int64_t cols,
                                              const SparsifyOptions &options) {
  PackedWeight packed = pack(weight, rows, cols, options.blockRows);
  double density = static_cast<double>(packed.values.size()) /
                   static_cast<double>(std::max<int64_t>(1, rows * cols));
  LLVM_DEBUG(llvm::dbgs() << "blkrew-sparsify: " << rows << "x" << cols
                          << " weight, density " << density << "\n");
  if (density <= options.maxDensity)
    return packed;
  if (!options.packDense)
    return std::nullopt;
  packed = pack(weight, rows, cols, options.blockRows, /*keepAll=*/true);
  packed.dense = true;
  return packed;
}

/// Reads the constant weight `w` (a 2-D matrix, or a conv filter
/// [F, C, KH, KW] viewed as [F, C*KH*KW]) and packs it. Nothing when `w` is
/// not a static f32 constant or the layer is left to linalg.
static std::optional<PackedWeight>
packConstant(Value w, const SparsifyOptions &options) {
  auto type = dyn_cast<RankedTensorType>(w.getType());
  if (!type || type.getRank() < 2 || !type.hasStaticShape() ||
      type.getDimSize(0) == 0)
    return std::nullopt;
  std::optional<SmallVector<float>> weight = readConstantF32(w, type.getRank());
  if (!weight)
    return std::nullopt;
  int64_t rows = type.getDimSize(0);
  return packWeight(*weight, rows, type.getNumElements() / rows, options);
}

/// Creates the three packed constants and the bsr_matmul computing
/// `init += weight x rhs`.
static Value buildBsrMatmul(PatternRewriter &rewriter, Location loc,
                            const PackedWeight &packed, Value rhs, Value init,
                            const SparsifyOptions &options) {
  int64_t blockRows = options.blockRows, blockCols = options.blockCols;
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
  auto op = BsrMatmulOp::create(rewriter, loc, init.getType(), layout, rp, ci,
                                v, rhs, init, /*overwrite=*/nullptr,
                                /*relu=*/nullptr, /*clamp=*/nullptr,
                                /*window=*/nullptr);
  if (packed.dense)
    op->setAttr(kDenseAttrName, rewriter.getUnitAttr());
  return op.getResult();
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

/// `x[N, K] x W[M, K]^T` accumulated into `init[N, M]`, as
/// `(W x x^T)^T` so the kernel's dense dimension is N.
static Value buildLinear(PatternRewriter &rewriter, Location loc,
                         const PackedWeight &packed, Value x, Value init,
                         const SparsifyOptions &options) {
  Value xT = transpose2D(rewriter, loc, x);
  Value initT = transpose2D(rewriter, loc, init);
  Value resultT = buildBsrMatmul(rewriter, loc, packed, xT, initT, options);
  return transpose2D(rewriter, loc, resultT);
}

/// A `linalg.transpose` with permutation [1, 0] of a constant 2-D f32
/// weight: returns the weight value.
static Value getTransposedConstant(Value v) {
  auto transpose = v.getDefiningOp<linalg::TransposeOp>();
  if (!transpose || transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
    return Value();
  return transpose.getInput();
}

/// The source of a broadcast along a new leading dimension: either
/// `linalg.broadcast ... dimensions = [0]` or the `linalg.generic` copy
/// torch-mlir emits for it.
static Value getLeadingBroadcastSource(Value v) {
  if (auto bcast = v.getDefiningOp<linalg::BroadcastOp>())
    return bcast.getDimensions() == ArrayRef<int64_t>{0} ? bcast.getInput()
                                                         : Value();
  auto generic = v.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 || !generic.isAllParallelLoops())
    return Value();
  Block &body = generic.getRegion().front();
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 1 || !yield ||
      yield.getNumOperands() != 1 || yield.getOperand(0) != body.getArgument(0))
    return Value();
  MLIRContext *ctx = v.getContext();
  AffineMap in = generic.getIndexingMapsArray()[0];
  AffineMap out = generic.getIndexingMapsArray()[1];
  AffineMap expected = AffineMap::get(
      3, 0, {getAffineDimExpr(1, ctx), getAffineDimExpr(2, ctx)}, ctx);
  if (!out.isIdentity() || in != expected)
    return Value();
  return generic.getDpsInputs()[0];
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

namespace {
/// Common checks and options of the matmul patterns.
struct SparsifyMatmulBase : public OpRewritePattern<linalg::MatmulOp> {
  SparsifyMatmulBase(MLIRContext *ctx, const SparsifyOptions &options)
      : OpRewritePattern(ctx), options(options) {}

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

  SparsifyOptions options;
};

/// W[M, K] (constant) x B[K, N] -> bsr_matmul.
struct SparsifyConstantLhs : public SparsifyMatmulBase {
  using SparsifyMatmulBase::SparsifyMatmulBase;

  LogicalResult matchAndRewrite(linalg::MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!isPlainTensorMatmul(op))
      return rewriter.notifyMatchFailure(op, "not a static f32 tensor matmul");
    Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
    std::optional<PackedWeight> packed = packConstant(lhs, options);
    if (!packed)
      return rewriter.notifyMatchFailure(op, "lhs is not a packable constant");
    rewriter.replaceOp(op, buildBsrMatmul(rewriter, op.getLoc(), *packed, rhs,
                                          op.getDpsInits()[0], options));
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
    Value w = getTransposedConstant(rhs);
    // Decide before creating any IR: a pattern that fails must not change it.
    std::optional<PackedWeight> packed =
        w ? packConstant(w, options) : std::nullopt;
    if (!packed)
      return rewriter.notifyMatchFailure(op, "rhs is not a transposed weight");
    rewriter.replaceOp(op, buildLinear(rewriter, op.getLoc(), *packed, lhs,
                                       op.getDpsInits()[0], options));
    return success();
  }
};

/// The input projection of GRU/LSTM as torch-mlir imports it:
/// `batch_matmul(x[T, B, I], broadcast(transpose(W[G, I])))`. Time and batch
/// fold into one dense dimension: `(W x x[T*B, I]^T)^T`, reshaped back.
struct SparsifyBroadcastBatchMatmul
    : public OpRewritePattern<linalg::BatchMatmulOp> {
  SparsifyBroadcastBatchMatmul(MLIRContext *ctx, const SparsifyOptions &options)
      : OpRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(linalg::BatchMatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.hasUserDefinedMaps())
      return rewriter.notifyMatchFailure(op, "not a plain tensor batch_matmul");
    Value x = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
    Value init = op.getDpsInits()[0];
    auto xType = dyn_cast<RankedTensorType>(x.getType());
    auto initType = dyn_cast<RankedTensorType>(init.getType());
    if (!xType || !initType || !xType.hasStaticShape() ||
        !initType.hasStaticShape() || !xType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not static f32");
    Value source = getLeadingBroadcastSource(rhs);
    Value w = source ? getTransposedConstant(source) : Value();
    std::optional<PackedWeight> packed =
        w ? packConstant(w, options) : std::nullopt;
    if (!packed)
      return rewriter.notifyMatchFailure(op, "rhs is not a broadcast weight");
    Location loc = op.getLoc();
    SmallVector<ReassociationIndices> fold = {{0, 1}, {2}};
    Value x2 = tensor::CollapseShapeOp::create(rewriter, loc, x, fold);
    Value init2 = tensor::CollapseShapeOp::create(rewriter, loc, init, fold);
    Value y2 = buildLinear(rewriter, loc, *packed, x2, init2, options);
    rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(op, initType, y2, fold);
    return success();
  }

  SparsifyOptions options;
};

/// `linalg.conv_2d_nchw_fchw` with a constant filter, through im2col: the
/// filter is the matrix W[F, C*KH*KW]; the input patches form
/// B[C*KH*KW, N*OH*OW]; `W x B` is the output with the batch after the
/// filters, transposed back to NCHW (reshaped, at batch 1).
/// A convolution's input, filter and init with their types, when it is on
/// tensors and its input and init are static f32.
struct ConvOperands {
  Value input, filter, init;
  RankedTensorType inType, fType, outType;
};
static FailureOr<ConvOperands> getConvOperands(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics())
    return failure();
  Value input = op.getDpsInputs()[0], filter = op.getDpsInputs()[1];
  Value init = op.getDpsInits()[0];
  auto inType = dyn_cast<RankedTensorType>(input.getType());
  auto fType = dyn_cast<RankedTensorType>(filter.getType());
  auto outType = dyn_cast<RankedTensorType>(init.getType());
  if (!inType || !fType || !outType || !inType.hasStaticShape() ||
      !outType.hasStaticShape() || !inType.getElementType().isF32() ||
      !outType.getElementType().isF32())
    return failure();
  return ConvOperands{input, filter, init, inType, fType, outType};
}

/// A convolution's operands and its constant filter's values (row-major),
/// for the patterns that rewrite it as another convolution.
struct ConstantFilterConv {
  ConvOperands operands;
  SmallVector<float> weights;
};
static FailureOr<ConstantFilterConv>
getConstantFilterConv(linalg::LinalgOp op, PatternRewriter &rewriter) {
  FailureOr<ConvOperands> operands = getConvOperands(op);
  if (failed(operands))
    return rewriter.notifyMatchFailure(op, "not static f32 tensors");
  std::optional<SmallVector<float>> weights =
      readConstantF32(operands->filter, operands->fType.getRank());
  if (!weights)
    return rewriter.notifyMatchFailure(op, "filter is not a constant");
  return ConstantFilterConv{*operands, std::move(*weights)};
}

namespace {
/// A pattern that rewrites a convolution with a constant filter as another
/// one (which SparsifyConv2D then packs).
template <typename OpTy>
struct ConstantFilterConvPattern : public OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const final {
    FailureOr<ConstantFilterConv> conv = getConstantFilterConv(op, rewriter);
    if (failed(conv))
      return failure();
    return rewriteConv(op, conv->operands, conv->weights, rewriter);
  }

  virtual LogicalResult rewriteConv(OpTy op, const ConvOperands &operands,
                                    ArrayRef<float> weights,
                                    PatternRewriter &rewriter) const = 0;
};
} // namespace

struct SparsifyConv2D : public OpRewritePattern<linalg::Conv2DNchwFchwOp> {
  SparsifyConv2D(MLIRContext *ctx, const SparsifyOptions &options)
      : OpRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(linalg::Conv2DNchwFchwOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<ConvOperands> operands = getConvOperands(op);
    if (failed(operands))
      return rewriter.notifyMatchFailure(op, "not static f32 tensors");
    auto [input, filter, init, inType, fType, outType] = *operands;
    std::optional<PackedWeight> packed = packConstant(filter, options);
    if (!packed)
      return rewriter.notifyMatchFailure(op, "filter is not a constant");
    int64_t n = outType.getDimSize(0);
    Location loc = op.getLoc();
    // The op that fills the output first, a bias broadcast or a fill, is
    // applied right before the product instead (after the patch copy; in
    // the image loop, to each image's slice), where the kernel folds it:
    // its tiles start from the bias or from zero, one pass over the output
    // less. The batched product's accumulator is a transpose of it.
    Operation *filler = nullptr;
    if (auto bias = init.getDefiningOp<linalg::BroadcastOp>();
        bias && bias.getDimensions() == ArrayRef<int64_t>{0, 2, 3})
      filler = bias;
    else if (auto fill = init.getDefiningOp<linalg::FillOp>())
      filler = fill;
    if (filler && !filler->hasOneUse())
      filler = nullptr;
    auto fillerDest = [&]() {
      return cast<DestinationStyleOpInterface>(filler).getDpsInits()[0];
    };
    // A 1x1 convolution's batched product costs only its transposes, no
    // patch copy: image by image it was no faster (MobileNetV2 at batch 8
    // 0.88-0.97x with them in the loop, pruned and dense).
    int64_t pixels = outType.getDimSize(2) * outType.getDimSize(3);
    bool pointwise = fType.getDimSize(2) == 1 && fType.getDimSize(3) == 1;
    bool images = n > 1 && options.imageLoopMinPixels > 0 && !pointwise &&
                  pixels >= options.imageLoopMinPixels;
    if (!images) {
      if (n > 1)
        filler = nullptr;
      Value dest = filler ? fillerDest() : init;
      rewriter.replaceOp(
          op, buildConv(rewriter, loc, op, *packed, input, dest, filler));
      return success();
    }
    // Image by image: each product reads its image and writes its output
    // in NCHW, where the batched product's [F, N*OH*OW] needed a transpose
    // on each side and its patch matrix N images' worth of copies.
    Value loopInit = filler ? fillerDest() : init;
    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value cn = arith::ConstantIndexOp::create(rewriter, loc, n);
    auto loop =
        scf::ForOp::create(rewriter, loc, c0, cn, c1, ValueRange{loopInit});
    loop->setAttr(kImageLoopAttrName, rewriter.getUnitAttr());
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(loop.getBody());
    Value image = loop.getInductionVar(), acc = loop.getRegionIterArgs()[0];
    // Image `image` of an NCHW tensor, [1, C, H, W]: where each product
    // reads its input and its init, and where its result goes back.
    SmallVector<OpFoldResult> offsets(4, rewriter.getIndexAttr(0));
    offsets[0] = image;
    SmallVector<OpFoldResult> ones(4, rewriter.getIndexAttr(1));
    auto imageSizes = [&](Value source) {
      SmallVector<int64_t> shape(
          cast<RankedTensorType>(source.getType()).getShape());
      shape[0] = 1;
      return getAsIndexOpFoldResult(rewriter.getContext(), shape);
    };
    auto slice = [&](Value source) -> Value {
      return tensor::ExtractSliceOp::create(rewriter, loc, source, offsets,
                                            imageSizes(source), ones);
    };
    Value y =
        buildConv(rewriter, loc, op, *packed, slice(input), slice(acc), filler);
    Value updated = tensor::InsertSliceOp::create(
        rewriter, loc, y, acc, offsets, imageSizes(acc), ones);
    scf::YieldOp::create(rewriter, loc, updated);
    rewriter.replaceOp(op, loop.getResults());
    return success();
  }

  /// The product for `op`'s convolution of `input` into `init`, both NCHW;
  /// `filler` (a broadcast or fill, at batch 1 only), when set, is applied
  /// to `init` first, right before the product.
  Value buildConv(PatternRewriter &rewriter, Location loc,
                  linalg::Conv2DNchwFchwOp op, const PackedWeight &packed,
                  Value input, Value init, Operation *filler) const {
    auto fType = cast<RankedTensorType>(op.getDpsInputs()[1].getType());
    auto outType = cast<RankedTensorType>(init.getType());
    int64_t f = fType.getDimSize(0), c = fType.getDimSize(1);
    int64_t kh = fType.getDimSize(2), kw = fType.getDimSize(3);
    int64_t n = outType.getDimSize(0), oh = outType.getDimSize(2);
    int64_t ow = outType.getDimSize(3);
    auto strides = llvm::to_vector(op.getStrides().getValues<int64_t>());
    auto dilations = llvm::to_vector(op.getDilations().getValues<int64_t>());
    MLIRContext *ctx = rewriter.getContext();
    Type f32 = rewriter.getF32Type();
    // The patch matrix B. At batch 1 a pointwise (1x1, stride 1)
    // convolution's is its input, [C, H*W]: a reshape, not a copy
    // (MobileNetV2's expand and project layers; no copy between the bias
    // broadcast and the product, which the kernel then folds). Otherwise
    // im2col, as a copy over (c, kh, kw, n, oh, ow) reading
    // input[n, c, oh * sh + kh * dh, ow * sw + kw * dw].
    Value b;
    if (n == 1 && kh == 1 && kw == 1 && strides[0] == 1 && strides[1] == 1) {
      b = tensor::CollapseShapeOp::create(
          rewriter, loc, input, ArrayRef<ReassociationIndices>{{0, 1}, {2, 3}});
    } else {
      auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
      AffineMap inMap =
          AffineMap::get(6, 0,
                         {d(3), d(0), d(4) * strides[0] + d(1) * dilations[0],
                          d(5) * strides[1] + d(2) * dilations[1]},
                         ctx);
      AffineMap outMap = AffineMap::getMultiDimIdentityMap(6, ctx);
      SmallVector<int64_t> colShape = {c, kh, kw, n, oh, ow};
      Value colInit = tensor::EmptyOp::create(rewriter, loc, colShape, f32);
      Value cols =
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{colInit.getType()}, ValueRange{input},
              ValueRange{colInit}, ArrayRef<AffineMap>{inMap, outMap},
              SmallVector<utils::IteratorType>(6,
                                               utils::IteratorType::parallel),
              /*doc=*/"", /*libraryCall=*/"",
              [](OpBuilder &b, Location loc, ValueRange args) {
                linalg::YieldOp::create(b, loc, args[0]);
              })
              ->getResult(0);
      b = tensor::CollapseShapeOp::create(
          rewriter, loc, cols,
          ArrayRef<ReassociationIndices>{{0, 1, 2}, {3, 4, 5}});
    }
    // The accumulator as [F, N*OH*OW]. At batch 1, NCHW and [F, OH*OW]
    // share one layout: reshapes, where a transpose would copy the
    // activation twice per layer.
    if (n == 1) {
      // After the patch copy: the kernel folds only what comes right
      // before it.
      if (auto bias = dyn_cast_or_null<linalg::BroadcastOp>(filler))
        init = linalg::BroadcastOp::create(rewriter, loc, bias.getInput(), init,
                                           bias.getDimensions())
                   ->getResult(0);
      else if (auto fill = dyn_cast_or_null<linalg::FillOp>(filler))
        init = linalg::FillOp::create(rewriter, loc, fill.getInputs(),
                                      ValueRange{init})
                   ->getResult(0);
      SmallVector<ReassociationIndices> fold = {{0, 1}, {2, 3}};
      Value acc = tensor::CollapseShapeOp::create(rewriter, loc, init, fold);
      Value y = buildBsrMatmul(rewriter, loc, packed, b, acc, options);
      return tensor::ExpandShapeOp::create(rewriter, loc, outType, y, fold);
    }
    Value initT = tensor::EmptyOp::create(rewriter, loc,
                                          ArrayRef<int64_t>{f, n, oh, ow}, f32);
    Value initFN = linalg::TransposeOp::create(rewriter, loc, init, initT,
                                               ArrayRef<int64_t>{1, 0, 2, 3})
                       ->getResult(0);
    SmallVector<ReassociationIndices> fold = {{0}, {1, 2, 3}};
    Value acc = tensor::CollapseShapeOp::create(rewriter, loc, initFN, fold);
    Value y = buildBsrMatmul(rewriter, loc, packed, b, acc, options);
    Value yFN =
        tensor::ExpandShapeOp::create(rewriter, loc, initT.getType(), y, fold);
    Value outInit =
        tensor::EmptyOp::create(rewriter, loc, outType.getShape(), f32);
    return linalg::TransposeOp::create(rewriter, loc, yFN, outInit,
                                       ArrayRef<int64_t>{1, 0, 2, 3})
        ->getResult(0);
  }

  SparsifyOptions options;
};
/// A 1-D convolution (nn.Conv1d, NCW) with a constant filter becomes the
/// 2-D convolution of height 1 that SparsifyConv2D packs: the input, the
/// filter and the output get a unit height, the strides and dilations a 1
/// in front. Left to linalg, its loops ran 10x slower than PyTorch.
struct Conv1DAsConv2D
    : public ConstantFilterConvPattern<linalg::Conv1DNcwFcwOp> {
  using ConstantFilterConvPattern::ConstantFilterConvPattern;

  LogicalResult rewriteConv(linalg::Conv1DNcwFcwOp op,
                            const ConvOperands &operands,
                            ArrayRef<float> weights,
                            PatternRewriter &rewriter) const override {
    auto [input, filter, init, inType, fType, outType] = operands;
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();
    SmallVector<ReassociationIndices> unitHeight = {{0}, {1}, {2, 3}};
    auto withHeight = [&](RankedTensorType t) {
      return RankedTensorType::get(
          {t.getDimSize(0), t.getDimSize(1), 1, t.getDimSize(2)}, f32);
    };
    Value input4 = tensor::ExpandShapeOp::create(
        rewriter, loc, withHeight(inType), input, unitHeight);
    Value init4 = tensor::ExpandShapeOp::create(
        rewriter, loc, withHeight(outType), init, unitHeight);
    RankedTensorType f4Type = withHeight(fType);
    Value filter4 = arith::ConstantOp::create(
        rewriter, loc, f4Type, DenseElementsAttr::get(f4Type, weights));
    int64_t stride = *op.getStrides().getValues<int64_t>().begin();
    int64_t dilation = *op.getDilations().getValues<int64_t>().begin();
    auto conv2d = linalg::Conv2DNchwFchwOp::create(
        rewriter, loc, TypeRange{init4.getType()}, ValueRange{input4, filter4},
        ValueRange{init4}, rewriter.getI64VectorAttr({1, stride}),
        rewriter.getI64VectorAttr({1, dilation}));
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
        op, outType, conv2d->getResult(0), unitHeight);
    return success();
  }
};
/// A grouped convolution (`groups` of nn.Conv2d between 1 and the channel
/// count: `conv_2d_ngchw_gfchw` on the input and output split into
/// groups) with a constant filter becomes the ungrouped convolution whose
/// filter is block diagonal: output channel f of group g sees input
/// channels of group g only, the rest are zeros. At a density of 1/groups
/// the conv pattern packs it as a sparse weight, so the kernel does the
/// grouped convolution's work and no more. Left to linalg, its loops ran 9x
/// slower than PyTorch.
struct GroupedConvAsConv2D
    : public ConstantFilterConvPattern<linalg::Conv2DNgchwGfchwOp> {
  using ConstantFilterConvPattern::ConstantFilterConvPattern;

  LogicalResult rewriteConv(linalg::Conv2DNgchwGfchwOp op,
                            const ConvOperands &operands,
                            ArrayRef<float> weights,
                            PatternRewriter &rewriter) const override {
    auto [input, filter, init, inType, fType, outType] = operands;
    int64_t groups = fType.getDimSize(0), fg = fType.getDimSize(1);
    int64_t cg = fType.getDimSize(2);
    int64_t taps = fType.getDimSize(3) * fType.getDimSize(4);
    if (groups * fg * groups * cg * taps > kMaxComputedWeightElements)
      return rewriter.notifyMatchFailure(op, "block-diagonal filter too large");
    // filter4[g * fg + f, g * cg + c, kh, kw] = filter[g, f, c, kh, kw].
    SmallVector<float> diagonal(groups * fg * groups * cg * taps, 0.0f);
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t f = 0; f < fg; ++f)
        for (int64_t c = 0; c < cg; ++c)
          for (int64_t t = 0; t < taps; ++t)
            diagonal[((g * fg + f) * groups * cg + g * cg + c) * taps + t] =
                weights[((g * fg + f) * cg + c) * taps + t];
    Location loc = op.getLoc();
    SmallVector<ReassociationIndices> merged = {{0}, {1, 2}, {3}, {4}};
    Value input4 =
        tensor::CollapseShapeOp::create(rewriter, loc, input, merged);
    Value init4 = tensor::CollapseShapeOp::create(rewriter, loc, init, merged);
    auto f4Type = RankedTensorType::get(
        {groups * fg, groups * cg, fType.getDimSize(3), fType.getDimSize(4)},
        rewriter.getF32Type());
    Value filter4 = arith::ConstantOp::create(
        rewriter, loc, f4Type,
        DenseElementsAttr::get(f4Type, ArrayRef<float>(diagonal)));
    auto conv2d = linalg::Conv2DNchwFchwOp::create(
        rewriter, loc, TypeRange{init4.getType()}, ValueRange{input4, filter4},
        ValueRange{init4}, op.getStrides(), op.getDilations());
    rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(
        op, outType, conv2d->getResult(0), merged);
    return success();
  }
};
} // namespace

void mlir::blkrew::populateSparsifyPatterns(RewritePatternSet &patterns,
                                            int64_t blockRows,
                                            int64_t blockCols,
                                            double maxDensity, bool packDense,
                                            int64_t imageLoopMinPixels) {
  SparsifyOptions options{blockRows, blockCols, maxDensity, packDense,
                          imageLoopMinPixels};
  patterns.add<SparsifyConstantLhs, SparsifyTransposedRhs,
               SparsifyBroadcastBatchMatmul, SparsifyConv2D>(
      patterns.getContext(), options);
  patterns.add<Conv1DAsConv2D, GroupedConvAsConv2D>(patterns.getContext());
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
    populateSparsifyPatterns(patterns, blockRows, blockCols, maxDensity,
                             packDense, imageLoopMinPixels);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
