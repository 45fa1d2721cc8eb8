//===- Pipelines.h - blkrew pass pipelines ----------------------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_PIPELINES_PIPELINES_H
#define BLKREW_PIPELINES_PIPELINES_H

namespace mlir {
class OpPassManager;
namespace blkrew {

/// Tensor-level blkrew + linalg IR to the LLVM dialect through the
/// reference scf lowering (no tiling or vectorization).
void buildReferenceToLLVMPipeline(OpPassManager &pm);

/// Registers the blkrew pipelines with the global registry.
void registerPipelines();

} // namespace blkrew
} // namespace mlir

#endif // BLKREW_PIPELINES_PIPELINES_H
