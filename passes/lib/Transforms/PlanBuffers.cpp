//===- PlanBuffers.cpp - Static arena for a function's buffers -*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Places every statically shaped temporary buffer of a function in one
// module-level arena, at offsets planned from the buffers' live ranges
// (greedy by size, first fit), so a call allocates nothing.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/STLExtras.h"

#define DEBUG_TYPE "blkrew-plan-buffers"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWPLANBUFFERS
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

namespace {
/// One buffer to place: live from op `first` to op `last` (positions in the
/// function's block, inclusive), `bytes` long.
struct Buffer {
  memref::AllocOp alloc;
  int64_t bytes;
  int64_t first;
  int64_t last;
  int64_t offset = -1;
};
} // namespace

/// The last position in `block` of an op using `value` or a view of it;
/// std::nullopt when the buffer escapes: returned, passed to a call, yielded
/// out of a region, or turned into a memref or a tensor by an op that is not
/// a view.
static std::optional<int64_t>
lastUse(Value value, Block &block, const DenseMap<Operation *, int64_t> &pos) {
  int64_t last = -1;
  SmallVector<Value> worklist = {value};
  while (!worklist.empty()) {
    Value current = worklist.pop_back_val();
    for (OpOperand &use : current.getUses()) {
      Operation *user = use.getOwner();
      if (isa<CallOpInterface>(user) || user->hasTrait<OpTrait::IsTerminator>())
        return std::nullopt;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user)) {
        if (view.getViewSource() == current)
          worklist.push_back(view->getResult(0));
      } else if (llvm::any_of(user->getResultTypes(),
                              llvm::IsaPred<BaseMemRefType, TensorType>)) {
        return std::nullopt;
      }
      Operation *top = block.findAncestorOpInBlock(*user);
      if (!top)
        return std::nullopt;
      last = std::max(last, pos.lookup(top));
    }
  }
  return last;
}

/// Assigns offsets, largest buffer first, each at the lowest `alignment`
/// multiple that overlaps no placed buffer live at the same time. Returns
/// the arena's size.
static int64_t placeBuffers(MutableArrayRef<Buffer> buffers,
                            int64_t alignment) {
  SmallVector<Buffer *> order;
  for (Buffer &b : buffers)
    order.push_back(&b);
  llvm::sort(order, [](const Buffer *a, const Buffer *b) {
    return std::make_pair(-a->bytes, a->first) <
           std::make_pair(-b->bytes, b->first);
  });
  int64_t size = 0;
  SmallVector<Buffer *> placed;
  for (Buffer *b : order) {
    SmallVector<Buffer *> live;
    for (Buffer *p : placed)
      if (p->first <= b->last && b->first <= p->last)
        live.push_back(p);
    llvm::sort(live, [](const Buffer *x, const Buffer *y) {
      return x->offset < y->offset;
    });
    int64_t offset = 0;
    for (Buffer *p : live) {
      if (offset + b->bytes <= p->offset)
        break;
      offset = std::max<int64_t>(
          offset, llvm::alignTo(p->offset + p->bytes, alignment));
    }
    b->offset = offset;
    size = std::max(size, offset + b->bytes);
    placed.push_back(b);
  }
  return size;
}

/// Records where each buffer sits in the arena `arena`, as the pair
/// (offset, bytes) per buffer in the module's `blkrew.arena_views`
/// dictionary under the arena's name. blkrew-arena-alias-scopes reads it
/// once the views are LLVM pointers, to tell LLVM which of them cannot
/// overlap.
static void recordViews(ModuleOp module, StringRef arena,
                        ArrayRef<Buffer> buffers) {
  SmallVector<int64_t> ranges;
  for (const Buffer &b : buffers)
    ranges.append({b.offset, b.bytes});
  Builder builder(module.getContext());
  NamedAttrList views;
  if (auto existing =
          module->getAttrOfType<DictionaryAttr>(kArenaViewsAttrName))
    views.append(existing.getValue());
  views.set(arena, builder.getDenseI64ArrayAttr(ranges));
  module->setAttr(kArenaViewsAttrName,
                  views.getDictionary(module.getContext()));
}

namespace mlir::blkrew {
namespace {
struct BlkRewPlanBuffersPass
    : public impl::BlkRewPlanBuffersBase<BlkRewPlanBuffersPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (alignment < 1 || !llvm::isPowerOf2_64(alignment)) {
      module.emitError("blkrew-plan-buffers: alignment must be a power of "
                       "two, got ")
          << static_cast<int64_t>(alignment);
      return signalPassFailure();
    }
    SymbolTable symbols(module);
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>()))
      if (!func.isExternal() && func.getBody().hasOneBlock())
        planFunction(func, symbols);
  }

  void planFunction(func::FuncOp func, SymbolTable &symbols) {
    Block &block = func.getBody().front();
    DenseMap<Operation *, int64_t> pos;
    for (auto [i, op] : llvm::enumerate(block))
      pos[&op] = i;
    SmallVector<Buffer> buffers;
    int64_t align = alignment;
    for (auto alloc : block.getOps<memref::AllocOp>()) {
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          type.getMemorySpace() || !type.getElementType().isIntOrFloat())
        continue;
      int64_t bytes = type.getNumElements() *
                      llvm::divideCeil(type.getElementTypeBitWidth(), 8);
      std::optional<int64_t> last = lastUse(alloc, block, pos);
      if (bytes == 0 || !last)
        continue;
      buffers.push_back(
          {alloc, bytes, pos[alloc], std::max(*last, pos[alloc])});
      align = std::max<int64_t>(align, alloc.getAlignment().value_or(1));
    }
    if (buffers.empty())
      return;
    int64_t size = placeBuffers(buffers, align);

    OpBuilder builder(func);
    auto arenaType = MemRefType::get({size}, builder.getI8Type());
    auto global = memref::GlobalOp::create(
        builder, func.getLoc(), ("__blkrew_arena_" + func.getSymName()).str(),
        builder.getStringAttr("private"), arenaType, builder.getUnitAttr(),
        /*constant=*/false, builder.getI64IntegerAttr(align));
    symbols.insert(global); // renames on a clash
    recordViews(func->getParentOfType<ModuleOp>(), global.getSymName(),
                buffers);

    builder.setInsertionPointToStart(&block);
    Value arena = memref::GetGlobalOp::create(builder, func.getLoc(), arenaType,
                                              global.getSymName());
    for (Buffer &b : buffers) {
      builder.setInsertionPoint(b.alloc);
      Value shift =
          arith::ConstantIndexOp::create(builder, b.alloc.getLoc(), b.offset);
      Value view =
          memref::ViewOp::create(builder, b.alloc.getLoc(), b.alloc.getType(),
                                 arena, shift, ValueRange());
      for (Operation *user : llvm::make_early_inc_range(b.alloc->getUsers()))
        if (isa<memref::DeallocOp>(user))
          user->erase();
      b.alloc.replaceAllUsesWith(view);
      b.alloc.erase();
    }
  }
};
} // namespace
} // namespace mlir::blkrew
