//===- BlkRewOps.h - blkrew operations --------------------------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_DIALECT_BLKREWOPS_H
#define BLKREW_DIALECT_BLKREWOPS_H

#include "blkrew/Dialect/BlkRewAttrs.h"
#include "blkrew/Dialect/BlkRewDialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "blkrew/Dialect/BlkRewOps.h.inc"

#endif // BLKREW_DIALECT_BLKREWOPS_H
