//===- BlkRewDialect.h - blkrew dialect -------------------------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_DIALECT_BLKREWDIALECT_H
#define BLKREW_DIALECT_BLKREWDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Dialect.h"

#include "blkrew/Dialect/BlkRewOpsDialect.h.inc"

namespace mlir {
class DialectRegistry;
namespace blkrew {
/// Registers the external interface models (bufferization) of blkrew ops.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);
} // namespace blkrew
} // namespace mlir

#endif // BLKREW_DIALECT_BLKREWDIALECT_H
