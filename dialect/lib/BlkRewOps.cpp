//===- BlkRewOps.cpp - blkrew operations ----------------------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Verifiers and memory effects of the ops that read packed block-sparse
// weights. Shapes are checked whenever they are static; the contents of the
// packed index arrays are checked whenever they are constants, which is how
// blkrew-sparsify emits them.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Dialect/BlkRewOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::blkrew;

#define GET_OP_CLASSES
#include "blkrew/Dialect/BlkRewOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shared verification of the packed arrays
//===----------------------------------------------------------------------===//

static int64_t dimOrDynamic(Value v, unsigned d) {
  return cast<ShapedType>(v.getType()).getDimSize(d);
}

/// Reads the integer contents of `v` when it is a constant tensor.
static std::optional<SmallVector<int64_t>> constantInts(Value v) {
  DenseIntElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  SmallVector<int64_t> out;
  out.reserve(attr.getNumElements());
  for (const APInt &x : attr.getValues<APInt>())
    out.push_back(x.getSExtValue());
  return out;
}

/// Verifies what bsr_matmul and to_dense share: the packed arrays against
/// the layout, a matrix of `rows` x `cols` (either may be dynamic), and the
/// destination `init`. `elemOperands` must all have the element type of the
/// values.
static LogicalResult verifyPacked(Operation *op, LayoutAttr layout,
                                  Value rowPtr, Value colIdx, Value values,
                                  Value init, int64_t rows, int64_t cols,
                                  ArrayRef<Value> elemOperands) {
  // Tensors in, one tensor out; or memrefs in, nothing out.
  bool tensorInit = isa<RankedTensorType>(init.getType());
  for (Value v : op->getOperands())
    if (isa<RankedTensorType>(v.getType()) != tensorInit)
      return op->emitOpError("operands must be all tensors or all memrefs");
  if (tensorInit != (op->getNumResults() == 1))
    return op->emitOpError(tensorInit
                               ? "with tensor operands must return the "
                                 "updated init tensor"
                               : "with memref operands must not return a "
                                 "value");
  if (tensorInit && op->getResult(0).getType() != init.getType())
    return op->emitOpError("result type ")
           << op->getResult(0).getType() << " must match init type "
           << init.getType();
  if (cast<ShapedType>(init.getType()).getRank() != 2)
    return op->emitOpError("init must be 2-D, got rank ")
           << cast<ShapedType>(init.getType()).getRank();

  // f16 values with f32 operands: stored narrow, extended as read.
  Type elemTy = cast<ShapedType>(values.getType()).getElementType();
  for (Value v : elemOperands) {
    Type t = cast<ShapedType>(v.getType()).getElementType();
    if (t != elemTy && !(elemTy.isF16() && t.isF32()))
      return op->emitOpError("element type mismatch: values hold ")
             << elemTy << " but an operand of type " << v.getType() << " holds "
             << t << " (values may be f16 only where the operands are f32)";
  }

  int64_t p = layout.getGroupRows();
  int64_t valueRows = dimOrDynamic(values, 0);
  int64_t valueCols = dimOrDynamic(values, 1);
  if (!ShapedType::isDynamic(valueCols) && valueCols != p)
    return op->emitOpError("values has ")
           << valueCols << " columns but the layout's block has " << p
           << " rows: each kept column stores one value per block row";
  int64_t nnz = dimOrDynamic(colIdx, 0);
  if (!ShapedType::isDynamic(nnz) && !ShapedType::isDynamic(valueRows) &&
      nnz != valueRows)
    return op->emitOpError("col_idx has ")
           << nnz << " entries but values has " << valueRows
           << " rows: values needs one row per kept column";
  if (!ShapedType::isDynamic(rows)) {
    int64_t groups = layout.getNumGroups(rows);
    int64_t ptrs = dimOrDynamic(rowPtr, 0);
    if (!ShapedType::isDynamic(ptrs) && ptrs != groups + 1)
      return op->emitOpError("row_ptr has ")
             << ptrs << " entries; a " << rows << "-row matrix in groups of "
             << p << " rows needs " << groups + 1;
    if (!layout.getPerm().empty() &&
        static_cast<int64_t>(layout.getPerm().size()) != rows)
      return op->emitOpError("layout perm has ")
             << layout.getPerm().size() << " entries but the matrix has "
             << rows << " rows";
  }

  // Contents of constant index arrays.
  std::optional<SmallVector<int64_t>> ptr = constantInts(rowPtr);
  if (ptr && !ptr->empty()) {
    if ((*ptr)[0] != 0)
      return op->emitOpError("row_ptr must start at 0, got ") << (*ptr)[0];
    for (size_t g = 0; g + 1 < ptr->size(); ++g)
      if ((*ptr)[g + 1] < (*ptr)[g])
        return op->emitOpError("row_ptr must be non-decreasing: row_ptr[")
               << g + 1 << "] = " << (*ptr)[g + 1] << " < row_ptr[" << g
               << "] = " << (*ptr)[g];
    if (!ShapedType::isDynamic(nnz) && ptr->back() != nnz)
      return op->emitOpError("row_ptr ends at ")
             << ptr->back() << " but col_idx has " << nnz << " entries";
  }
  std::optional<SmallVector<int64_t>> idx = constantInts(colIdx);
  if (idx) {
    for (auto [j, c] : llvm::enumerate(*idx))
      if (c < 0 || (!ShapedType::isDynamic(cols) && c >= cols))
        return op->emitOpError("col_idx[")
               << j << "] = " << c << " is out of range for a matrix with "
               << cols << " columns";
    if (ptr && !ptr->empty() &&
        ptr->back() == static_cast<int64_t>(idx->size())) {
      for (size_t g = 0; g + 1 < ptr->size(); ++g)
        for (int64_t j = (*ptr)[g] + 1; j < (*ptr)[g + 1]; ++j)
          if ((*idx)[j] <= (*idx)[j - 1])
            return op->emitOpError("col_idx must be strictly increasing "
                                   "within a row group: group ")
                   << g << " has col_idx[" << j << "] = " << (*idx)[j]
                   << " after " << (*idx)[j - 1];
    }
  }
  return success();
}

/// Memory effects of a packed op on memrefs: it reads every operand and
/// writes its destination. On tensors it has none.
static void getPackedEffects(
    Operation *op, OpOperand &init,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    effects.emplace_back(MemoryEffects::Read::get(), &operand,
                         SideEffects::DefaultResource::get());
    if (&operand == &init)
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

//===----------------------------------------------------------------------===//
// BsrMatmulOp
//===----------------------------------------------------------------------===//

LogicalResult BsrMatmulOp::verify() {
  if (std::optional<ArrayRef<float>> clamp = getClamp()) {
    if (clamp->size() != 2 || !((*clamp)[0] <= (*clamp)[1]))
      return emitOpError("clamp must be [lo, hi] with lo <= hi");
    if (getRelu())
      return emitOpError("takes relu or clamp, not both");
  }
  auto rhsTy = cast<ShapedType>(getRhs().getType());
  auto initTy = cast<ShapedType>(getInit().getType());
  // The matrix rhs stands for: itself, or an image's im2col patch matrix.
  int64_t rhsRows = ShapedType::kDynamic, rhsCols = ShapedType::kDynamic;
  if (std::optional<ArrayRef<int64_t>> window = getWindow()) {
    if (window->size() != 2 || (*window)[0] < 1 || (*window)[1] < 1)
      return emitOpError("window must be two positive sizes [KH, KW]");
    if (rhsTy.getRank() != 3)
      return emitOpError("rhs must be a 3-D image [C, H, W] with a window, "
                         "got rank ")
             << rhsTy.getRank();
    int64_t kh = (*window)[0], kw = (*window)[1];
    if (rhsTy.hasStaticShape()) {
      ArrayRef<int64_t> image = rhsTy.getShape();
      if (image[1] < kh || image[2] < kw)
        return emitOpError("window [")
               << kh << ", " << kw << "] does not fit in a " << image[1] << "x"
               << image[2] << " image";
      rhsRows = image[0] * kh * kw;
      rhsCols = (image[1] - kh + 1) * (image[2] - kw + 1);
    }
  } else {
    if (rhsTy.getRank() != 2)
      return emitOpError("rhs must be 2-D, got rank ") << rhsTy.getRank();
    rhsRows = rhsTy.getDimSize(0);
    rhsCols = rhsTy.getDimSize(1);
  }
  if (initTy.getRank() == 2 && !ShapedType::isDynamic(rhsCols) &&
      !initTy.isDynamicDim(1) && rhsCols != initTy.getDimSize(1))
    return emitOpError(getWindow() ? "the window has " : "rhs has ")
           << rhsCols << " columns but init has " << initTy.getDimSize(1);
  int64_t rows =
      initTy.getRank() == 2 ? initTy.getDimSize(0) : ShapedType::kDynamic;
  return verifyPacked(*this, getLayout(), getRowPtr(), getColIdx(), getValues(),
                      getInit(), rows, rhsRows, {getRhs(), getInit()});
}

namespace {
/// `bsr_matmul(init = linalg.fill(+0.0, dest))` -> `bsr_matmul overwrite
/// (init = dest)`: the kernel starts its accumulators at zero, so the output
/// is neither zero-filled (serially, before a parallel kernel) nor re-read.
struct FoldZeroFillIntoBsrMatmul : public OpRewritePattern<BsrMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BsrMatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getOverwrite() || !op.hasPureTensorSemantics())
      return failure();
    auto fill = op.getInit().getDefiningOp<linalg::FillOp>();
    if (!fill)
      return failure();
    // Only +0.0: -0.0 + (-0.0) is -0.0, which a zero start would not give.
    FloatAttr value;
    if (!matchPattern(fill.getInputs()[0], m_Constant(&value)) ||
        !value.getValue().isPosZero())
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.getInitMutable().assign(fill.getOutputs()[0]);
      op.setOverwrite(true);
    });
    return success();
  }
};
} // namespace

void BsrMatmulOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<FoldZeroFillIntoBsrMatmul>(context);
}

void BsrMatmulOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getPackedEffects(*this, getInitMutable(), effects);
}

//===----------------------------------------------------------------------===//
// ToDenseOp
//===----------------------------------------------------------------------===//

LogicalResult ToDenseOp::verify() {
  auto initTy = cast<ShapedType>(getInit().getType());
  int64_t rows = ShapedType::kDynamic, cols = ShapedType::kDynamic;
  if (initTy.getRank() == 2) {
    rows = initTy.getDimSize(0);
    cols = initTy.getDimSize(1);
  }
  return verifyPacked(*this, getLayout(), getRowPtr(), getColIdx(), getValues(),
                      getInit(), rows, cols, {getInit()});
}

void ToDenseOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getPackedEffects(*this, getInitMutable(), effects);
}
