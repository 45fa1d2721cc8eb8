//===- blkrew-opt.cpp - blkrew optimizer driver ---------------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// mlir-opt with the blkrew dialect, passes and pipelines registered next to
// the upstream ones.
//
//===----------------------------------------------------------------------===//

#include "blkrew/InitAll.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::blkrew::registerAllPasses();
  mlir::DialectRegistry registry;
  mlir::blkrew::registerAllDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "blkrew optimizer driver\n", registry));
}
