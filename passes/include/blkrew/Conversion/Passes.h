//===- Passes.h - blkrew conversion passes ----------------------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_CONVERSION_PASSES_H
#define BLKREW_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace blkrew {

#define GEN_PASS_DECL
#include "blkrew/Conversion/Passes.h.inc"

/// Patterns lowering memref-semantics blkrew ops to scf loops.
void populateBlkRewToSCFConversionPatterns(RewritePatternSet &patterns);

/// Patterns lowering memref-semantics bsr_matmul to the vector kernel.
void populateBlkRewToVectorConversionPatterns(
    RewritePatternSet &patterns, const ConvertBlkRewToVectorOptions &options);

#define GEN_PASS_REGISTRATION
#include "blkrew/Conversion/Passes.h.inc"

} // namespace blkrew
} // namespace mlir

#endif // BLKREW_CONVERSION_PASSES_H
