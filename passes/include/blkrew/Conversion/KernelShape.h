//===- KernelShape.h - which shape the CPU kernel takes ---------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_CONVERSION_KERNELSHAPE_H
#define BLKREW_CONVERSION_KERNELSHAPE_H

#include "mlir/IR/BuiltinTypes.h"

namespace mlir::blkrew {

/// Whether convert-blkrew-to-vector runs a product of `n` columns (static)
/// with groups of `p` rows in its small-N shape at `vectorWidth` lanes:
/// vectorized along each group's rows, each kept column's `p` weights
/// loaded as one vector. Each weight then feeds only `n` FMAs: the kernel
/// waits on its weights rather than on its FMAs.
inline bool isSmallNKernel(int64_t n, int64_t p, int64_t vectorWidth) {
  return !ShapedType::isDynamic(n) && n < vectorWidth && n <= 16 && p >= 4;
}

} // namespace mlir::blkrew

#endif // BLKREW_CONVERSION_KERNELSHAPE_H
