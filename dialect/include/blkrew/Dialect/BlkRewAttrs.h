//===- BlkRewAttrs.h - blkrew attributes ------------------------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_DIALECT_BLKREWATTRS_H
#define BLKREW_DIALECT_BLKREWATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "blkrew/Dialect/BlkRewEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "blkrew/Dialect/BlkRewAttrs.h.inc"

#endif // BLKREW_DIALECT_BLKREWATTRS_H
