//===- ArenaAliasScopes.cpp - Arena views told apart for LLVM ---*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// blkrew-plan-buffers puts every temporary of a function in one global
// arena. To LLVM, two temporaries are then two offsets into one object, and
// once an index is not a constant it cannot tell them apart: a loop that
// reads one temporary and writes another reloads and re-stores around every
// access and does not vectorize (a softmax's row sums: 2.2x slower). This
// pass, on the LLVM dialect, follows each load's and store's address back
// to the arena and the view it goes through, and gives the accesses of
// views that share no byte alias scopes that say so (LLVM's scoped noalias
// metadata). Views that overlap, which the plan allows for temporaries that
// are never live at once, stay may-alias.
//
// A dynamic index is bounded by the memref it indexes: when the address is
// one index into the aligned pointer of a descriptor whose offset, sizes and
// strides are constants, the access touches only the bytes that memref
// spans (an access outside it is undefined). Without this, an index into a
// small temporary that starts where a larger, earlier one did was given the
// larger one's bytes: a softmax's row maxima, read in the loop that writes
// its exponentials, kept that loop from vectorizing.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "llvm/ADT/STLExtras.h"

#include <map>
#include <set>

#define DEBUG_TYPE "blkrew-arena-alias-scopes"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWARENAALIASSCOPES
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

namespace {
/// Bytes [begin, end) of an arena.
using Extent = std::pair<int64_t, int64_t>;

/// Where an address points in an arena: the constant byte offset of the
/// GEPs nearest the arena's address (where the view starts, or a constant
/// offset inside it), and whether a GEP with a dynamic index follows them.
struct ArenaAddress {
  StringRef arena;
  int64_t base = 0;
  bool dynamic = false;
  /// For a dynamic address: the bytes past `base` it may touch, from the
  /// descriptor it indexes; std::nullopt when unknown.
  std::optional<Extent> within;
};
} // namespace

static bool disjoint(Extent a, Extent b) {
  return a.second <= b.first || b.second <= a.first;
}

/// The byte offset of `gep` when all its indices are constants; std::nullopt
/// when one is dynamic or steps into a type other than an array.
static std::optional<int64_t> constantOffset(LLVM::GEPOp gep,
                                             const DataLayout &layout) {
  Type type = gep.getElemType();
  int64_t offset = 0;
  for (auto [i, index] : llvm::enumerate(gep.getIndices())) {
    int64_t value;
    if (auto attr = dyn_cast<IntegerAttr>(index)) {
      value = attr.getInt();
    } else {
      APInt constant;
      if (!matchPattern(cast<Value>(index), m_ConstantInt(&constant)))
        return std::nullopt;
      value = constant.getSExtValue();
    }
    if (i > 0) {
      auto array = dyn_cast<LLVM::LLVMArrayType>(type);
      if (!array)
        return std::nullopt;
      type = array.getElementType();
    }
    offset += value * static_cast<int64_t>(layout.getTypeSize(type));
  }
  return offset;
}

/// The value inserted at `position` into the aggregate `container` by the
/// chain of llvm.insertvalue that builds it (a memref descriptor); null
/// when the chain does not end in one.
static Value insertedValue(Value container, ArrayRef<int64_t> position) {
  while (auto insert = container.getDefiningOp<LLVM::InsertValueOp>()) {
    ArrayRef<int64_t> at = insert.getPosition();
    if (at == position)
      return insert.getValue();
    size_t common = std::min(at.size(), position.size());
    if (at.take_front(common) == position.take_front(common))
      return {}; // replaces a part or an enclosing aggregate
    container = insert.getContainer();
  }
  return {};
}

/// A constant inserted at `position` into the descriptor `container`.
static std::optional<int64_t> insertedConstant(Value container,
                                               ArrayRef<int64_t> position) {
  Value value = insertedValue(container, position);
  APInt constant;
  if (!value || !matchPattern(value, m_ConstantInt(&constant)))
    return std::nullopt;
  return constant.getSExtValue();
}

/// The bytes past its aligned pointer that an access of `accessBytes` at an
/// in-bounds index (in elements of `elementBytes`) of the memref
/// `descriptor` may touch; std::nullopt unless its offset, sizes and
/// strides are constants.
static std::optional<Extent>
descriptorBytes(Value descriptor, int64_t elementBytes, int64_t accessBytes) {
  auto type = dyn_cast<LLVM::LLVMStructType>(descriptor.getType());
  if (!type || (type.getBody().size() != 3 && type.getBody().size() != 5))
    return std::nullopt;
  int64_t rank = 0;
  if (type.getBody().size() == 5) {
    auto sizes = dyn_cast<LLVM::LLVMArrayType>(type.getBody()[3]);
    if (!sizes)
      return std::nullopt;
    rank = sizes.getNumElements();
  }
  std::optional<int64_t> offset = insertedConstant(descriptor, {2});
  if (!offset || *offset < 0)
    return std::nullopt;
  int64_t last = *offset;
  for (int64_t d = 0; d < rank; ++d) {
    std::optional<int64_t> size = insertedConstant(descriptor, {3, d});
    std::optional<int64_t> stride = insertedConstant(descriptor, {4, d});
    if (!size || !stride || *size <= 0 || *stride < 0)
      return std::nullopt;
    last += (*size - 1) * *stride;
  }
  return Extent{*offset * elementBytes, last * elementBytes + accessBytes};
}

/// Follows `ptr`, the address of an access of `accessBytes`, back through
/// GEPs and memref descriptors to the address of a global; std::nullopt
/// when it comes from anything else.
static std::optional<ArenaAddress> traceAddress(Value ptr, int64_t accessBytes,
                                                const DataLayout &layout) {
  ArenaAddress address;
  // The GEPs met before the first descriptor, the last of them.
  int geps = 0;
  LLVM::GEPOp nearest;
  bool pastDescriptor = false;
  while (Operation *def = ptr.getDefiningOp()) {
    if (auto gep = dyn_cast<LLVM::GEPOp>(def)) {
      if (!pastDescriptor) {
        ++geps;
        nearest = gep;
      }
      if (std::optional<int64_t> offset = constantOffset(gep, layout)) {
        address.base += *offset;
      } else {
        // Only the constant GEPs between the arena and the last dynamic
        // one say where the view is; a dynamic one past the descriptor
        // moves what it bounds.
        address.dynamic = true;
        address.base = 0;
        if (pastDescriptor)
          address.within.reset();
      }
      ptr = gep.getBase();
    } else if (auto extract = dyn_cast<LLVM::ExtractValueOp>(def)) {
      // The aligned pointer of the descriptor a single GEP indexes.
      if (!pastDescriptor && extract.getPosition() == ArrayRef<int64_t>{1}) {
        pastDescriptor = true;
        if (geps == 1 && nearest.getIndices().size() == 1)
          address.within = descriptorBytes(
              extract.getContainer(),
              static_cast<int64_t>(layout.getTypeSize(nearest.getElemType())),
              accessBytes);
      }
      ptr = insertedValue(extract.getContainer(), extract.getPosition());
      if (!ptr)
        return std::nullopt;
    } else if (auto global = dyn_cast<LLVM::AddressOfOp>(def)) {
      address.arena = global.getGlobalName();
      return address;
    } else {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

namespace mlir::blkrew {
namespace {
struct BlkRewArenaAliasScopesPass
    : public impl::BlkRewArenaAliasScopesBase<BlkRewArenaAliasScopesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto recorded = module->getAttrOfType<DictionaryAttr>(kArenaViewsAttrName);
    if (!recorded) {
      if (module->hasAttr(kArenaViewsAttrName)) {
        module.emitError() << "'" << kArenaViewsAttrName
                           << "' must be a dictionary";
        return signalPassFailure();
      }
      return;
    }
    // Each arena's views, as byte ranges.
    llvm::StringMap<SmallVector<Extent>> views;
    for (NamedAttribute entry : recorded) {
      auto ranges = dyn_cast<DenseI64ArrayAttr>(entry.getValue());
      if (!ranges || ranges.size() % 2 != 0) {
        module.emitError() << "'" << kArenaViewsAttrName << "' entry '"
                           << entry.getName().getValue()
                           << "' must be an array of (offset, bytes) pairs";
        return signalPassFailure();
      }
      for (int64_t i = 0; i < ranges.size(); i += 2) {
        if (ranges[i] < 0 || ranges[i + 1] <= 0) {
          module.emitError()
              << "'" << kArenaViewsAttrName << "' entry '"
              << entry.getName().getValue()
              << "' has a view at a negative offset or of no bytes";
          return signalPassFailure();
        }
        views[entry.getName().getValue()].push_back(
            {ranges[i], ranges[i] + ranges[i + 1]});
      }
    }
    module->removeAttr(kArenaViewsAttrName);

    // The bytes each access may touch, by arena.
    DataLayout layout(module);
    struct Access {
      LLVM::AliasAnalysisOpInterface op;
      StringRef arena;
      Extent extent;
    };
    SmallVector<Access> accesses;
    llvm::StringMap<std::set<Extent>> extents;
    module.walk([&](LLVM::AliasAnalysisOpInterface op) {
      Value ptr;
      Type accessed;
      if (auto load = dyn_cast<LLVM::LoadOp>(op.getOperation())) {
        ptr = load.getAddr();
        accessed = load.getType();
      } else if (auto store = dyn_cast<LLVM::StoreOp>(op.getOperation())) {
        ptr = store.getAddr();
        accessed = store.getValue().getType();
      } else {
        return;
      }
      if (op.getAliasScopesOrNull() || op.getNoAliasScopesOrNull())
        return;
      auto accessBytes = static_cast<int64_t>(layout.getTypeSize(accessed));
      std::optional<ArenaAddress> address =
          traceAddress(ptr, accessBytes, layout);
      if (!address)
        return;
      auto arena = views.find(address->arena);
      if (arena == views.end())
        return;
      std::optional<Extent> extent;
      if (!address->dynamic) {
        // A constant address: exactly the bytes accessed.
        extent = Extent{address->base, address->base + accessBytes};
      } else {
        // A dynamic index into the view that starts at (or holds) `base`:
        // anywhere in the views that hold it.
        for (Extent view : arena->second) {
          if (view.first > address->base || address->base >= view.second)
            continue;
          extent = extent ? Extent{std::min(extent->first, view.first),
                                   std::max(extent->second, view.second)}
                          : view;
        }
        // Within them, the bytes of the memref it indexes.
        if (extent && address->within) {
          Extent bound{address->base + address->within->first,
                       address->base + address->within->second};
          Extent both{std::max(extent->first, bound.first),
                      std::min(extent->second, bound.second)};
          if (both.first < both.second)
            extent = both;
        }
      }
      if (!extent)
        return;
      extents[address->arena].insert(*extent);
      accesses.push_back({op, address->arena, *extent});
    });

    // One scope per extent; an access is in its extent's scope and apart
    // from those of the extents it shares no byte with.
    MLIRContext *ctx = module.getContext();
    llvm::StringMap<std::map<Extent, std::pair<ArrayAttr, ArrayAttr>>> tags;
    for (auto &[arena, byExtent] : extents) {
      auto domain =
          LLVM::AliasScopeDomainAttr::get(ctx, StringAttr::get(ctx, arena));
      SmallVector<std::pair<Extent, Attribute>> scopes;
      for (Extent extent : byExtent) {
        std::string name;
        llvm::raw_string_ostream(name)
            << "[" << extent.first << ", " << extent.second << ")";
        scopes.push_back({extent, LLVM::AliasScopeAttr::get(
                                      domain, StringAttr::get(ctx, name))});
      }
      auto &arenaTags = tags[arena];
      for (auto &[extent, scope] : scopes) {
        SmallVector<Attribute> apart;
        for (auto &[other, otherScope] : scopes)
          if (disjoint(extent, other))
            apart.push_back(otherScope);
        arenaTags[extent] = {ArrayAttr::get(ctx, {scope}),
                             ArrayAttr::get(ctx, apart)};
      }
    }
    for (Access &access : accesses) {
      auto [scope, apart] = tags[access.arena][access.extent];
      access.op.setAliasScopes(scope);
      if (!apart.empty())
        access.op.setNoAliasScopes(apart);
    }
  }
};
} // namespace
} // namespace mlir::blkrew
