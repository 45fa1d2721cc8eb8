//===- Reorder.cpp - regroup rows of packed block-sparse weights -*- C++
//-*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// blkrew-reorder: rows with the same (or similar) kept columns are packed
// into the same group, recorded as the layout's permutation. Row patterns
// are bit vectors over the columns, so a candidate's cost (the columns it
// would add to a group) is a few word operations.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Dialect/BlkRewOps.h"
#include "blkrew/Transforms/Passes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/Support/Debug.h"
#include <numeric>

#define DEBUG_TYPE "blkrew-reorder"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWREORDER
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

namespace {
/// A packed weight read back as rows: the dense values and, per row, the
/// columns it keeps.
struct Rows {
  int64_t numRows, numCols;
  SmallVector<float> dense; // [numRows, numCols]
  SmallVector<llvm::BitVector> kept;
};
} // namespace

/// The contents of a constant tensor operand, if it is one.
template <typename T>
static std::optional<SmallVector<T>> readConstant(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  auto values = attr.getValues<T>();
  return SmallVector<T>(values.begin(), values.end());
}

/// Reads `op`'s packed constant weight back into rows.
static std::optional<Rows> readRows(BsrMatmulOp op) {
  auto initTy = dyn_cast<RankedTensorType>(op.getInit().getType());
  auto rhsTy = dyn_cast<RankedTensorType>(op.getRhs().getType());
  if (!initTy || !rhsTy || !initTy.hasStaticShape() ||
      ShapedType::isDynamic(rhsTy.getDimSize(0)) ||
      !initTy.getElementType().isF32())
    return std::nullopt;
  auto rowPtr = readConstant<int32_t>(op.getRowPtr());
  auto colIdx = readConstant<int32_t>(op.getColIdx());
  auto values = readConstant<float>(op.getValues());
  if (!rowPtr || !colIdx || !values)
    return std::nullopt;
  int64_t p = op.getLayout().getGroupRows();
  Rows rows{initTy.getDimSize(0), rhsTy.getDimSize(0), {}, {}};
  rows.dense.assign(rows.numRows * rows.numCols, 0.0f);
  rows.kept.assign(rows.numRows, llvm::BitVector(rows.numCols));
  for (size_t g = 0; g + 1 < rowPtr->size(); ++g)
    for (int32_t j = (*rowPtr)[g]; j < (*rowPtr)[g + 1]; ++j)
      for (int64_t r = 0; r < p; ++r) {
        int64_t i = static_cast<int64_t>(g) * p + r;
        float w = (*values)[j * p + r];
        if (i >= rows.numRows || w == 0.0f)
          continue;
        rows.dense[i * rows.numCols + (*colIdx)[j]] = w;
        rows.kept[i].set((*colIdx)[j]);
      }
  return rows;
}

/// Kept columns stored when `order` is packed in groups of `p` rows.
static int64_t storedColumns(const Rows &rows, ArrayRef<int64_t> order,
                             int64_t p) {
  int64_t total = 0;
  for (size_t start = 0; start < order.size(); start += p) {
    llvm::BitVector group(rows.numCols);
    for (size_t i = start; i < std::min(order.size(), start + p); ++i)
      group |= rows.kept[order[i]];
    total += group.count();
  }
  return total;
}

/// Greedy grouping: the remaining row with the most kept columns opens a
/// group; the rows adding the fewest new columns to its union join it
/// (ties: the lower row index, which keeps identical patterns in order).
static SmallVector<int64_t> greedyOrder(const Rows &rows, int64_t p) {
  SmallVector<int64_t> remaining(rows.numRows);
  std::iota(remaining.begin(), remaining.end(), 0);
  llvm::sort(remaining, [&](int64_t a, int64_t b) {
    size_t ca = rows.kept[a].count(), cb = rows.kept[b].count();
    return ca != cb ? ca > cb : a < b;
  });
  SmallVector<int64_t> order;
  llvm::BitVector added(rows.numCols);
  while (!remaining.empty()) {
    llvm::BitVector group = rows.kept[remaining.front()];
    order.push_back(remaining.front());
    remaining.erase(remaining.begin());
    for (int64_t n = 1; n < p && !remaining.empty(); ++n) {
      size_t best = 0;
      int64_t bestCost = std::numeric_limits<int64_t>::max();
      for (size_t c = 0; c < remaining.size(); ++c) {
        added = rows.kept[remaining[c]];
        added.reset(group);
        int64_t cost = added.count();
        if (cost < bestCost ||
            (cost == bestCost && remaining[c] < remaining[best])) {
          best = c;
          bestCost = cost;
        }
        if (bestCost == 0 && remaining[c] > remaining[best])
          break; // nothing can beat a free row with a lower index
      }
      group |= rows.kept[remaining[best]];
      order.push_back(remaining[best]);
      remaining.erase(remaining.begin() + best);
    }
  }
  return order;
}

/// Replaces `op`'s packed arrays and layout with `order` packed in groups
/// of `p`.
static void repack(BsrMatmulOp op, const Rows &rows, ArrayRef<int64_t> order,
                   int64_t p) {
  SmallVector<int32_t> rowPtr{0}, colIdx;
  SmallVector<float> values;
  for (size_t start = 0; start < order.size(); start += p) {
    size_t end = std::min(order.size(), start + p);
    llvm::BitVector group(rows.numCols);
    for (size_t i = start; i < end; ++i)
      group |= rows.kept[order[i]];
    for (int k : group.set_bits()) {
      colIdx.push_back(k);
      for (size_t i = start; i < start + p; ++i)
        values.push_back(i < end ? rows.dense[order[i] * rows.numCols + k]
                                 : 0.0f);
    }
    rowPtr.push_back(static_cast<int32_t>(colIdx.size()));
  }
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto constant = [&](ArrayRef<int64_t> shape, Type elem, auto data) {
    auto type = RankedTensorType::get(shape, elem);
    return arith::ConstantOp::create(b, loc, type,
                                     DenseElementsAttr::get(type, data));
  };
  int64_t nnz = colIdx.size();
  Value rp = constant({static_cast<int64_t>(rowPtr.size())}, b.getI32Type(),
                      ArrayRef<int32_t>(rowPtr));
  Value ci = constant({nnz}, b.getI32Type(), ArrayRef<int32_t>(colIdx));
  Value v = constant({nnz, p}, b.getF32Type(), ArrayRef<float>(values));
  LayoutAttr old = op.getLayout();
  auto layout = LayoutAttr::get(op.getContext(), {p, old.getBlock()[1]},
                                old.getScheme(), order);
  op.getRowPtrMutable().assign(rp);
  op.getColIdxMutable().assign(ci);
  op.getValuesMutable().assign(v);
  op.setLayoutAttr(layout);
  // A weight blkrew-sparsify packed whole (too dense as grouped) may no
  // longer keep every column in every group.
  if (colIdx.size() < (rowPtr.size() - 1) * static_cast<size_t>(rows.numCols))
    op->removeAttr("blkrew.dense");
}

/// Per-column overhead of the kernel's loop, in FMAs (an estimate).
static constexpr int64_t kLoopCost = 4;

namespace mlir::blkrew {
namespace {
struct BlkRewReorderPass : public impl::BlkRewReorderBase<BlkRewReorderPass> {
  using BlkRewReorderBase::BlkRewReorderBase;

  void runOnOperation() override {
    if (groupRows < 0) {
      getOperation().emitError("blkrew-reorder: group-rows must be >= 0, got ")
          << static_cast<int64_t>(groupRows);
      return signalPassFailure();
    }
    getOperation().walk([&](BsrMatmulOp op) {
      if (!op.hasPureTensorSemantics() || !op.getLayout().getPerm().empty())
        return;
      std::optional<Rows> rows = readRows(op);
      if (!rows || rows->numRows == 0)
        return;
      int64_t oldP = op.getLayout().getGroupRows();
      int64_t p = groupRows > 0 ? static_cast<int64_t>(groupRows) : oldP;
      SmallVector<int64_t> identity(rows->numRows);
      std::iota(identity.begin(), identity.end(), 0);
      SmallVector<int64_t> order = greedyOrder(*rows, p);
      // The kernel's cost per stored column: p FMAs plus the column's own
      // overhead (index load, rhs load, loop control), about kLoopCost
      // FMAs' worth.
      int64_t before =
          storedColumns(*rows, identity, oldP) * (oldP + kLoopCost);
      int64_t after = storedColumns(*rows, order, p) * (p + kLoopCost);
      LLVM_DEBUG(llvm::dbgs()
                 << "blkrew-reorder: " << rows->numRows << "x" << rows->numCols
                 << " cost " << before << " -> " << after << "\n");
      if (after < before)
        repack(op, *rows, order, p);
    });
  }
};
} // namespace
} // namespace mlir::blkrew
