//===- BlkRewDialect.cpp - blkrew dialect ---------------------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Dialect/BlkRewDialect.h"
#include "blkrew/Dialect/BlkRewAttrs.h"
#include "blkrew/Dialect/BlkRewOps.h"

using namespace mlir;
using namespace mlir::blkrew;

#include "blkrew/Dialect/BlkRewOpsDialect.cpp.inc"

void BlkRewDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "blkrew/Dialect/BlkRewOps.cpp.inc"
      >();
  registerAttributes();
}
