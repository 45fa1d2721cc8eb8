//===- MemoryOrder.h - An op's neighbours that touch memory ----*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Shared by the rewrites on buffers that fold an op into the one next to it
// (a bias broadcast into a kernel's accumulators, a transpose into its
// packing, an activation into its stores): which op touches memory just
// before or after another, and who reads a temporary before it is
// overwritten.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_TRANSFORMS_MEMORYORDER_H
#define BLKREW_TRANSFORMS_MEMORYORDER_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Operation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <optional>

namespace mlir::blkrew {

/// The last op before `op` in its block that touches memory, passing over
/// those `skip` accepts; null when there is none.
inline Operation *
lastMemoryOpBefore(Operation *op,
                   function_ref<bool(Operation *)> skip = nullptr) {
  Operation *prev = op->getPrevNode();
  while (prev && (isMemoryEffectFree(prev) || (skip && skip(prev))))
    prev = prev->getPrevNode();
  return prev;
}

/// The first op after `op` in its block that touches memory, or null.
inline Operation *firstMemoryOpAfter(Operation *op) {
  Operation *next = op->getNextNode();
  while (next && isMemoryEffectFree(next))
    next = next->getNextNode();
  return next;
}

using BufferViews = SmallPtrSet<Value, 4>;

/// A temporary (an arena view or an allocation) and the reshapes of all of
/// it, through which it is read and written; none where it is something
/// else or a view of a part of it exists.
inline std::optional<BufferViews> wholeViews(Value buffer) {
  if (!buffer.getDefiningOp<memref::ViewOp>() &&
      !buffer.getDefiningOp<memref::AllocOp>())
    return std::nullopt;
  BufferViews whole = {buffer};
  SmallVector<Value> worklist = {buffer};
  while (!worklist.empty()) {
    for (Operation *user : worklist.pop_back_val().getUsers()) {
      if (!isa<ViewLikeOpInterface>(user))
        continue;
      if (!isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(user))
        return std::nullopt;
      if (whole.insert(user->getResult(0)).second)
        worklist.push_back(user->getResult(0));
    }
  }
  return whole;
}

/// Walks the ops after `op` in its block that touch the temporary `whole`
/// views (`wholeViews`), up to the first that overwrites it: a dealloc, a
/// linalg op with one output that writes every element of it without
/// reading it, or an op `overwrites` accepts. Each op touching it before
/// that reads it, and `read` accepts the read or not. Returns whether every
/// read was accepted (reaching the block's end counts as overwritten).
inline bool acceptsReadsBeforeOverwrite(
    Operation *op, const BufferViews &whole,
    function_ref<bool(Operation *)> read,
    function_ref<bool(Operation *)> overwrites = nullptr) {
  auto isWhole = [&](Value v) { return whole.contains(v); };
  for (Operation *next = op->getNextNode(); next; next = next->getNextNode()) {
    // A reshape touches no memory.
    if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(next))
      continue;
    bool uses = false;
    next->walk([&](Operation *nested) {
      uses |= llvm::any_of(nested->getOperands(), isWhole);
    });
    if (!uses)
      continue;
    if (isa<memref::DeallocOp>(next) || (overwrites && overwrites(next)))
      return true;
    auto linalgOp = dyn_cast<linalg::LinalgOp>(next);
    if (linalgOp && linalgOp.getNumDpsInits() == 1 &&
        !llvm::any_of(linalgOp.getDpsInputs(), isWhole)) {
      OpOperand *out = linalgOp.getDpsInitOperand(0);
      if (isWhole(out->get()) && !linalgOp.payloadUsesValueFromOperand(out) &&
          linalgOp.getMatchingIndexingMap(out).isPermutation())
        return true;
    }
    if (!read(next))
      return false;
  }
  return true;
}

} // namespace mlir::blkrew

#endif // BLKREW_TRANSFORMS_MEMORYORDER_H
