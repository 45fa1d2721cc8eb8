//===- BlkRewAttrs.td - blkrew attribute definitions ------*- tablegen -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_ATTRS
#define BLKREW_ATTRS

include "blkrew/Dialect/BlkRewDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def BlkRew_SchemeColumn : I32EnumAttrCase<"Column", 0, "column">;
def BlkRew_SchemeRow : I32EnumAttrCase<"Row", 1, "row">;
def BlkRew_SchemeBCR : I32EnumAttrCase<"BCR", 2, "bcr">;

def BlkRew_PruneScheme : I32EnumAttr<"PruneScheme",
    "what is removed inside each block",
    [BlkRew_SchemeColumn, BlkRew_SchemeRow, BlkRew_SchemeBCR]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::blkrew";
}

def BlkRew_LayoutAttr : AttrDef<BlkRew_Dialect, "Layout"> {
  let mnemonic = "layout";
  let summary = "Block-sparse layout of a packed weight matrix";
  let description = [{
    Describes how a weight matrix `W[M, K]` pruned with BLK-REW is packed.

    * `block = [p, q]`: the pruning block. Rows are packed in groups of `p`
      consecutive rows (a *block-row*); each group stores the sorted list of
      columns it keeps and, for each kept column, the `p` values of that
      column in the group (a column vector of the block-row). `q` is the
      block width the pruner used; the packed format does not depend on it,
      kernels may use it to tile `K`.
    * `scheme`: what the pruner removed inside each block: whole `column`s
      (the packed format stores them exactly), whole `row`s, or both
      (`bcr`). Row-pruned matrices are packed exactly with `p = 1`, or with
      rows reordered (`perm`) so that rows with the same pattern share a
      group.
    * `perm` (optional): packed row `r` holds original row `perm[r]`; the
      matmul writes its result back to the original row order. Absent means
      the identity.

    ```mlir
    #blkrew.layout<block = [8, 4], scheme = column>
    #blkrew.layout<block = [2, 2], scheme = bcr, perm = [1, 0, 3, 2]>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t", "block shape [p, q]">:$block,
    EnumParameter<BlkRew_PruneScheme>:$scheme,
    OptionalArrayRefParameter<"int64_t", "row permutation">:$perm
  );
  let assemblyFormat = [{
    `<` `block` `=` `[` $block `]` `,` `scheme` `=` $scheme
        (`,` `perm` `=` `[` $perm^ `]`)? `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Rows per packed group (`p`).
    int64_t getGroupRows() const { return getBlock()[0]; }
    /// Number of packed row groups for a matrix with `rows` rows.
    int64_t getNumGroups(int64_t rows) const {
      return (rows + getGroupRows() - 1) / getGroupRows();
    }
    /// Original row index of packed row `r`.
    int64_t getOriginalRow(int64_t r) const {
      return getPerm().empty() ? r : getPerm()[r];
    }
  }];
}

#endif // BLKREW_ATTRS
