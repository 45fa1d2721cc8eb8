//===- InitAll.cpp - register everything blkrew-opt knows -----*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// blkrew-opt parses torch-mlir output (linalg, tensor, arith, ml_program,
// ...) and runs upstream lowering passes after ours, so it registers every
// upstream dialect, extension and pass next to the blkrew ones. With
// libMLIR.so this costs nothing at link time.
//
//===----------------------------------------------------------------------===//

#include "blkrew/InitAll.h"
#include "blkrew/Conversion/Passes.h"
#include "blkrew/Dialect/BlkRewDialect.h"
#include "blkrew/Pipelines/Pipelines.h"
#include "blkrew/Transforms/Passes.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"

void mlir::blkrew::registerAllDialects(DialectRegistry &registry) {
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<BlkRewDialect>();
  registerBufferizableOpInterfaceExternalModels(registry);
}

void mlir::blkrew::registerAllPasses() {
  mlir::registerAllPasses();
  registerBlkRewConversionPasses();
  registerBlkRewTransformsPasses();
  registerPipelines();
}
