//===- InitAll.h - register everything blkrew-opt knows ---------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_INITALL_H
#define BLKREW_INITALL_H

namespace mlir {
class DialectRegistry;
namespace blkrew {

/// Registers the blkrew dialect, its interface models, and the upstream
/// dialects and extensions the blkrew pipelines and torch-mlir output use.
void registerAllDialects(DialectRegistry &registry);

/// Registers the blkrew passes and pipelines and the upstream passes.
void registerAllPasses();

} // namespace blkrew
} // namespace mlir

#endif // BLKREW_INITALL_H
