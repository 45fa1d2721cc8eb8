//===- BlkRewAttrs.cpp - blkrew attributes --------------------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The `#blkrew.layout` attribute and its verifier. The verifier checks what
// the attribute knows on its own (block shape, permutation); sizes that
// depend on the matrix are checked by the ops that carry it.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Dialect/BlkRewAttrs.h"
#include "blkrew/Dialect/BlkRewDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::blkrew;

#include "blkrew/Dialect/BlkRewEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "blkrew/Dialect/BlkRewAttrs.cpp.inc"

LogicalResult LayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> block, PruneScheme scheme,
                                 ArrayRef<int64_t> perm) {
  if (block.size() != 2)
    return emitError() << "block must have two sizes [p, q], got "
                       << block.size();
  if (block[0] <= 0 || block[1] <= 0)
    return emitError() << "block sizes must be positive, got [" << block[0]
                       << ", " << block[1] << "]";
  llvm::SmallBitVector seen(perm.size());
  for (auto [pos, row] : llvm::enumerate(perm)) {
    if (row < 0 || row >= static_cast<int64_t>(perm.size()))
      return emitError() << "perm[" << pos << "] = " << row
                         << " is not a row of a " << perm.size()
                         << "-row matrix";
    if (seen.test(row))
      return emitError() << "perm is not a permutation: row " << row
                         << " appears twice";
    seen.set(row);
  }
  return success();
}

void BlkRewDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "blkrew/Dialect/BlkRewAttrs.cpp.inc"
      >();
}
