//===- PackedUtils.cpp - helpers for lowering packed blkrew ops -*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Conversion/PackedUtils.h"
#include "blkrew/Dialect/BlkRewDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"

using namespace mlir;

Value mlir::blkrew::loadIndex(OpBuilder &b, Location loc, Value memref,
                              ValueRange indices) {
  Value v = memref::LoadOp::create(b, loc, memref, indices);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}

void mlir::blkrew::buildReluInPlace(OpBuilder &b, Location loc, Value init,
                                    Value rows, Value cols, bool parallel) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Type elemTy = cast<MemRefType>(init.getType()).getElementType();
  Value zero = arith::ConstantOp::create(b, loc, elemTy, b.getZeroAttr(elemTy));
  auto relu = [&](OpBuilder &b, Location loc, ValueRange ivs) {
    Value x = memref::LoadOp::create(b, loc, init, ivs);
    Value y = arith::MaximumFOp::create(b, loc, x, zero);
    memref::StoreOp::create(b, loc, y, init, ivs);
  };
  if (parallel) {
    scf::ParallelOp::create(b, loc, ValueRange{c0, c0}, ValueRange{rows, cols},
                            ValueRange{c1, c1}, relu);
    return;
  }
  scf::buildLoopNest(b, loc, ValueRange{c0, c0}, ValueRange{rows, cols},
                     ValueRange{c1, c1}, relu);
}

std::pair<Value, Value> mlir::blkrew::loadGroupBounds(OpBuilder &b,
                                                      Location loc,
                                                      Value rowPtr, Value g) {
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value next = arith::AddIOp::create(b, loc, g, c1);
  return {loadIndex(b, loc, rowPtr, g), loadIndex(b, loc, rowPtr, next)};
}

Value mlir::blkrew::getPermBuffer(OpBuilder &b, Operation *op,
                                  LayoutAttr layout) {
  ArrayRef<int64_t> perm = layout.getPerm();
  if (perm.empty())
    return Value();
  auto module = op->getParentOfType<ModuleOp>();
  auto type =
      MemRefType::get({static_cast<int64_t>(perm.size())}, b.getI32Type());
  SmallVector<int32_t> values(perm.begin(), perm.end());
  auto init = DenseElementsAttr::get(
      RankedTensorType::get(type.getShape(), b.getI32Type()),
      ArrayRef<int32_t>(values));
  // Reuse an existing global with the same contents.
  memref::GlobalOp global;
  for (auto g : module.getOps<memref::GlobalOp>())
    if (g.getConstant() && g.getType() == type && g.getInitialValue() &&
        *g.getInitialValue() == init &&
        g.getSymName().starts_with("__blkrew_perm")) {
      global = g;
      break;
    }
  if (!global) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    global = memref::GlobalOp::create(b, op->getLoc(), "__blkrew_perm",
                                      b.getStringAttr("private"), type, init,
                                      /*constant=*/true, /*alignment=*/nullptr);
    SymbolTable(module).insert(global);
  }
  return memref::GetGlobalOp::create(b, op->getLoc(), type,
                                     global.getSymName());
}

LogicalResult mlir::blkrew::verifyBufferized(Operation *module,
                                             StringRef passName) {
  WalkResult walk = module->walk([&](Operation *op) {
    auto dps = dyn_cast<DestinationStyleOpInterface>(op);
    if (dps && isa<BlkRewDialect>(op->getDialect()) &&
        !dps.hasPureBufferSemantics()) {
      op->emitError(passName) << " expects memref operands; run "
                                 "one-shot-bufferize before it";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}
