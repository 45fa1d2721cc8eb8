//===- BlkRewDialect.td - blkrew dialect definition -------*- tablegen -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The blkrew dialect carries block-sparse weights produced by BLK-REW pruning
// and the matmuls that consume them.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_DIALECT
#define BLKREW_DIALECT

include "mlir/IR/OpBase.td"

def BlkRew_Dialect : Dialect {
  let name = "blkrew";
  let summary = "Block-sparse weights and the matmuls that compute with them.";
  let description = [{
    The `blkrew` dialect represents weight matrices pruned block by block
    (BLK-REW: inside each `p`x`q` block whole columns, whole rows or both are
    removed) in a packed form the kernels read contiguously, and the
    block-sparse x dense matrix products computed with them.

    Packed weights are ordinary ranked tensors (or memrefs after
    bufferization), so upstream bufferization, constant handling and
    lowering apply unchanged. Their meaning is given by the
    `#blkrew.layout` attribute carried by every op that reads them; see
    `docs/format.md` for the storage format.
  }];
  let cppNamespace = "::mlir::blkrew";
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class BlkRew_Op<string mnemonic, list<Trait> traits = []>
    : Op<BlkRew_Dialect, mnemonic, traits>;

#endif // BLKREW_DIALECT
