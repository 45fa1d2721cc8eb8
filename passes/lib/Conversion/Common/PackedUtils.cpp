//===- PackedUtils.cpp - helpers for lowering packed blkrew ops -*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Conversion/PackedUtils.h"
#include "blkrew/Dialect/BlkRewDialect.h"
#include "blkrew/Transforms/MemoryOrder.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"

using namespace mlir;

Value mlir::blkrew::loadIndex(OpBuilder &b, Location loc, Value memref,
                              ValueRange indices) {
  Value v = memref::LoadOp::create(b, loc, memref, indices);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}

Value mlir::blkrew::extendValue(OpBuilder &b, Location loc, Value v,
                                Type elemTy) {
  if (getElementTypeOrSelf(v.getType()) == elemTy)
    return v;
  Type wide = elemTy;
  if (auto vecTy = dyn_cast<VectorType>(v.getType()))
    wide = vecTy.clone(elemTy);
  return arith::ExtFOp::create(b, loc, wide, v);
}

Value mlir::blkrew::loadValue(OpBuilder &b, Location loc, Value values,
                              ValueRange indices, Type elemTy) {
  return extendValue(b, loc, memref::LoadOp::create(b, loc, values, indices),
                     elemTy);
}

bool mlir::blkrew::hasActivation(BsrMatmulOp op) {
  return op.getRelu() || op.getClamp();
}

Value mlir::blkrew::applyActivation(OpBuilder &b, Location loc, BsrMatmulOp op,
                                    Value x) {
  Type type = x.getType();
  auto splat = [&](double v) -> Value {
    Type elemTy = getElementTypeOrSelf(type);
    TypedAttr attr = b.getFloatAttr(elemTy, v);
    if (auto vecTy = dyn_cast<VectorType>(type))
      attr = DenseElementsAttr::get(vecTy, attr);
    return arith::ConstantOp::create(b, loc, type, attr);
  };
  if (op.getRelu())
    return arith::MaximumFOp::create(b, loc, x, splat(0.0));
  if (std::optional<ArrayRef<float>> clamp = op.getClamp()) {
    Value lo = arith::MaxNumFOp::create(b, loc, x, splat((*clamp)[0]));
    return arith::MinNumFOp::create(b, loc, lo, splat((*clamp)[1]));
  }
  return x;
}

void mlir::blkrew::buildActivationInPlace(OpBuilder &b, Location loc,
                                          BsrMatmulOp op, Value init,
                                          Value rows, Value cols,
                                          bool parallel) {
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  auto activate = [&](OpBuilder &b, Location loc, ValueRange ivs) {
    Value x = memref::LoadOp::create(b, loc, init, ivs);
    memref::StoreOp::create(b, loc, applyActivation(b, loc, op, x), init, ivs);
  };
  if (parallel) {
    scf::ParallelOp::create(b, loc, ValueRange{c0, c0}, ValueRange{rows, cols},
                            ValueRange{c1, c1}, activate);
    return;
  }
  scf::buildLoopNest(b, loc, ValueRange{c0, c0}, ValueRange{rows, cols},
                     ValueRange{c1, c1}, activate);
}

std::pair<Value, Value> mlir::blkrew::loadGroupBounds(OpBuilder &b,
                                                      Location loc,
                                                      Value rowPtr, Value g) {
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value next = arith::AddIOp::create(b, loc, g, c1);
  return {loadIndex(b, loc, rowPtr, g), loadIndex(b, loc, rowPtr, next)};
}

Value mlir::blkrew::getConstantIndexArray(OpBuilder &b, Operation *op,
                                          StringRef prefix,
                                          ArrayRef<int32_t> values) {
  auto module = op->getParentOfType<ModuleOp>();
  auto type =
      MemRefType::get({static_cast<int64_t>(values.size())}, b.getI32Type());
  auto init = DenseElementsAttr::get(
      RankedTensorType::get(type.getShape(), b.getI32Type()), values);
  // Reuse an existing global with the same contents.
  memref::GlobalOp global;
  for (auto g : module.getOps<memref::GlobalOp>())
    if (g.getConstant() && g.getType() == type && g.getInitialValue() &&
        *g.getInitialValue() == init && g.getSymName().starts_with(prefix)) {
      global = g;
      break;
    }
  if (!global) {
    // Created unlinked: inserting it into the symbol table then renames it
    // when the name is taken.
    OpBuilder detached(b.getContext());
    global = memref::GlobalOp::create(detached, op->getLoc(), prefix,
                                      b.getStringAttr("private"), type, init,
                                      /*constant=*/true, /*alignment=*/nullptr);
    SymbolTable(module).insert(global, module.getBody()->begin());
  }
  return memref::GetGlobalOp::create(b, op->getLoc(), type,
                                     global.getSymName());
}

Value mlir::blkrew::getPermBuffer(OpBuilder &b, Operation *op,
                                  LayoutAttr layout) {
  ArrayRef<int64_t> perm = layout.getPerm();
  if (perm.empty())
    return Value();
  SmallVector<int32_t> values(perm.begin(), perm.end());
  return getConstantIndexArray(b, op, "__blkrew_perm", values);
}

/// The contents of `v` when it reads a constant global with a dense
/// initializer of integers.
static std::optional<SmallVector<int64_t>> constantGlobalInts(Value v,
                                                              Operation *op) {
  auto get = v.getDefiningOp<memref::GetGlobalOp>();
  if (!get)
    return std::nullopt;
  auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
      op, get.getNameAttr());
  if (!global || !global.getConstant() || !global.getInitialValue())
    return std::nullopt;
  auto attr = dyn_cast<DenseIntElementsAttr>(*global.getInitialValue());
  if (!attr)
    return std::nullopt;
  SmallVector<int64_t> out;
  for (const APInt &x : attr.getValues<APInt>())
    out.push_back(x.getSExtValue());
  return out;
}

mlir::blkrew::RhsAccess::RhsAccess(OpBuilder &b, Location loc, BsrMatmulOp op,
                                   Value rhs, Value colIdx,
                                   bool precomputeOffsets, int64_t padding)
    : source(rhs), colIdx(colIdx), padding(padding) {
  auto rhsTy = cast<MemRefType>(rhs.getType());
  if (std::optional<ArrayRef<int64_t>> window = op.getWindow()) {
    kh = (*window)[0];
    kw = (*window)[1];
    if (!rhsTy.isDynamicDim(2)) {
      width = rhsTy.getDimSize(2);
      outWidth = arith::ConstantIndexOp::create(b, loc, width - kw + 1);
    } else {
      outWidth =
          arith::SubIOp::create(b, loc, memref::DimOp::create(b, loc, rhs, 2),
                                arith::ConstantIndexOp::create(b, loc, kw - 1));
    }
  }
  // Contiguous at any offset: one image of a batch is a subview.
  if (!precomputeOffsets ||
      !memref::isStaticShapeAndContiguousRowMajor(rhsTy) ||
      rhsTy.getNumElements() > std::numeric_limits<int32_t>::max())
    return;
  std::optional<SmallVector<int64_t>> cols = constantGlobalInts(colIdx, op);
  if (!cols)
    return;
  SmallVector<int32_t> offs;
  if (hasWindow()) {
    int64_t height = rhsTy.getDimSize(1);
    for (int64_t k : *cols)
      offs.push_back(((k / (kh * kw)) * height + (k / kw) % kh) * width +
                     k % kw);
  } else {
    for (int64_t k : *cols)
      offs.push_back(k * rhsTy.getDimSize(1));
  }
  offs.append(padding, 0);
  offsets = getConstantIndexArray(b, op, "__blkrew_rhs_offsets", offs);
  ReassociationIndices all =
      llvm::to_vector(llvm::seq<int64_t>(0, rhsTy.getRank()));
  source = memref::CollapseShapeOp::create(b, loc, rhs,
                                           ArrayRef<ReassociationIndices>{all});
}

SmallVector<Value> mlir::blkrew::RhsAccess::rowPart(OpBuilder &b, Location loc,
                                                    Value j) const {
  if (offsets)
    return {loadIndex(b, loc, offsets, j)};
  return rowPartOfColumn(b, loc, loadIndex(b, loc, colIdx, j));
}

SmallVector<Value> mlir::blkrew::RhsAccess::rowPartOfColumn(OpBuilder &b,
                                                            Location loc,
                                                            Value k) const {
  assert(!offsets && "the offsets replace the column index");
  if (!hasWindow())
    return {k};
  // k = (c * KH + dy) * KW + dx.
  Value ckw = arith::ConstantIndexOp::create(b, loc, kw);
  Value ckh = arith::ConstantIndexOp::create(b, loc, kh);
  Value cdy = arith::DivUIOp::create(b, loc, k, ckw);
  return {arith::DivUIOp::create(b, loc, cdy, ckh),
          arith::RemUIOp::create(b, loc, cdy, ckh),
          arith::RemUIOp::create(b, loc, k, ckw)};
}

SmallVector<Value> mlir::blkrew::RhsAccess::colPart(OpBuilder &b, Location loc,
                                                    Value n) const {
  if (!hasWindow())
    return {n};
  Value y = arith::DivUIOp::create(b, loc, n, outWidth);
  Value x = arith::RemUIOp::create(b, loc, n, outWidth);
  if (!offsets)
    return {y, x};
  Value cw = arith::ConstantIndexOp::create(b, loc, width);
  return {
      arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, y, cw), x)};
}

SmallVector<Value> mlir::blkrew::RhsAccess::indices(OpBuilder &b, Location loc,
                                                    ArrayRef<Value> row,
                                                    ArrayRef<Value> col) const {
  if (offsets)
    return {arith::AddIOp::create(b, loc, row[0], col[0])};
  if (!hasWindow())
    return {row[0], col[0]};
  return {row[0], arith::AddIOp::create(b, loc, row[1], col[0]),
          arith::AddIOp::create(b, loc, row[2], col[1])};
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

bool mlir::blkrew::isRhsTranspose(BsrMatmulOp op, Operation *prev) {
  auto transpose = dyn_cast<linalg::TransposeOp>(prev);
  return transpose && transpose.getInit() == op.getRhs();
}

linalg::BroadcastOp mlir::blkrew::findRowBroadcast(BsrMatmulOp op, Value init) {
  Value buffer = init;
  SmallVector<ReassociationIndices> groups = {{0}, {1}};
  if (auto collapse = init.getDefiningOp<memref::CollapseShapeOp>()) {
    buffer = collapse.getSrc();
    groups = collapse.getReassociationIndices();
  }
  auto broadcast = dyn_cast_or_null<linalg::BroadcastOp>(lastMemoryOpBefore(
      op, [&](Operation *prev) { return isRhsTranspose(op, prev); }));
  if (!broadcast || broadcast.getInit() != buffer ||
      cast<ShapedType>(broadcast.getInput().getType()).getRank() != 1)
    return {};
  auto bufferType = cast<MemRefType>(buffer.getType());
  ArrayRef<int64_t> added = broadcast.getDimensions();
  for (int64_t d : groups[0]) {
    bool isInput = !llvm::is_contained(added, d);
    if (!isInput && bufferType.getDimSize(d) != 1)
      return {};
  }
  // The input's dimension is the one not added, and it must be in the row
  // group.
  for (int64_t d = 0, e = bufferType.getRank(); d < e; ++d)
    if (!llvm::is_contained(added, d) && !llvm::is_contained(groups[0], d))
      return {};
  return broadcast;
}
