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
// before or after another.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_TRANSFORMS_MEMORYORDER_H
#define BLKREW_TRANSFORMS_MEMORYORDER_H

#include "mlir/IR/Operation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Support/LLVM.h"

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

} // namespace mlir::blkrew

#endif // BLKREW_TRANSFORMS_MEMORYORDER_H
