//===- FuseRows.cpp - row reductions and their users, row by row -*- C++ -*-=//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// A softmax is four ops over the whole tensor: the row maxima, the
// exponentials, their row sums and the division. Each is its own loop nest
// and reads its input from wherever the previous one left it: for a tensor
// beyond the L2, four trips to memory where PyTorch makes one. This pass
// tiles the last op of such a chain along its rows and fuses the chain's
// other ops into the tile (upstream's tile-and-fuse on TilingInterface),
// so each op runs on a few rows that stay in L1. A chain is an
// all-parallel linalg.generic and the linalg producers it reads, directly
// or through each other, with a reduction over the innermost loop among
// them (a softmax's, a layer norm's); only producers whose every user is in
// the chain are fused, so nothing is computed twice outside the tile.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"

#define DEBUG_TYPE "blkrew-fuse-rows"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWFUSEROWS
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;

/// Static loop ranges of `op`, or an empty vector.
static SmallVector<int64_t> staticRanges(linalg::LinalgOp op) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return {};
  return ranges;
}

/// A generic that reduces each row of its inputs: one reduction loop, the
/// innermost; every input read whole (the identity map) or the same all
/// along the row (a layer norm's mean). A matmul's operands are neither.
static bool isRowReduction(linalg::GenericOp op) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators.empty() || op.getNumReductionLoops() != 1 ||
      iterators.back() != utils::IteratorType::reduction)
    return false;
  unsigned innermost = op.getNumLoops() - 1;
  return llvm::all_of(op.getDpsInputOperands(), [&](OpOperand *input) {
    AffineMap map = op.getMatchingIndexingMap(input);
    return map.isIdentity() ||
           (map.isProjectedPermutation() && !map.isFunctionOfDim(innermost));
  });
}

/// An op that may run in a row tile: a fill, an element-wise generic
/// (projected-permutation maps), or a row reduction. Not a contraction:
/// its other operand would be computed whole for every tile.
static bool fitsRowTile(Operation *op) {
  if (isa<linalg::FillOp>(op))
    return true;
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic)
    return false;
  if (generic.getNumLoops() == generic.getNumParallelLoops())
    return llvm::all_of(generic.getIndexingMapsArray(), [](AffineMap map) {
      return map.isProjectedPermutation();
    });
  return isRowReduction(generic);
}

/// The ops of the chain that ends in `last`, those that may move into its
/// tile: producers that fit a row tile, reached through tensor operands in
/// the same block, each with every user in the chain.
static llvm::SetVector<Operation *> chainOf(linalg::GenericOp last) {
  llvm::SetVector<Operation *> chain;
  SmallVector<Operation *> work = {last};
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (!def || def->getBlock() != last->getBlock() || !fitsRowTile(def) ||
          !cast<linalg::LinalgOp>(def).hasPureTensorSemantics())
        continue;
      if (chain.insert(def))
        work.push_back(def);
    }
  }
  // Producers with a user outside the chain stay where they are, and then
  // so do the producers that only they used.
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation *op : llvm::to_vector(chain)) {
      bool inside = llvm::all_of(op->getUsers(), [&](Operation *user) {
        return user == last || chain.contains(user);
      });
      if (!inside) {
        chain.remove(op);
        changed = true;
      }
    }
  }
  return chain;
}

namespace mlir::blkrew {
namespace {
struct BlkRewFuseRowsPass
    : public impl::BlkRewFuseRowsBase<BlkRewFuseRowsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (minBytes < 0 || tileBytes < 1) {
      getOperation().emitError("blkrew-fuse-rows: min-bytes must be >= 0 and "
                               "tile-bytes >= 1");
      return signalPassFailure();
    }
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op.hasPureTensorSemantics() &&
          op.getNumLoops() == op.getNumParallelLoops() &&
          op.getNumLoops() >= 2 && op.getNumDpsInits() == 1 &&
          !op->getParentOfType<scf::ForOp>())
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    // The last op of a chain first: an earlier candidate (a softmax's
    // exponentials) is then part of its chain and fused with the rest.
    llvm::SmallPtrSet<Operation *, 16> erased;
    for (linalg::GenericOp last : llvm::reverse(candidates)) {
      if (erased.contains(last))
        continue;
      SmallVector<int64_t> ranges = staticRanges(last);
      if (ranges.empty())
        continue;
      llvm::SetVector<Operation *> chain = chainOf(last);
      if (!llvm::any_of(chain, [](Operation *op) {
            auto generic = dyn_cast<linalg::GenericOp>(op);
            return generic && isRowReduction(generic);
          }))
        continue;
      // Worth it only for tensors that leave the L1 and L2 between ops.
      auto resultType = cast<RankedTensorType>(last->getResult(0).getType());
      int64_t elementBytes =
          llvm::divideCeil(resultType.getElementTypeBitWidth(), 8);
      int64_t bytes = elementBytes;
      for (int64_t range : ranges)
        bytes *= range;
      if (bytes < minBytes)
        continue;
      // Tiles of whole rows, about `tile-bytes` of the last op's result:
      // the innermost loop whole, the one around it by as many rows as
      // fit, the others by 1.
      int64_t rowBytes = ranges.back() * elementBytes;
      int64_t rows =
          std::clamp<int64_t>(tileBytes / std::max<int64_t>(rowBytes, 1), 1,
                              ranges[ranges.size() - 2]);
      SmallVector<OpFoldResult> sizes;
      for (size_t d = 0; d + 2 < ranges.size(); ++d)
        sizes.push_back(rewriter.getIndexAttr(1));
      sizes.push_back(rewriter.getIndexAttr(rows));
      sizes.push_back(rewriter.getIndexAttr(0));

      scf::SCFTileAndFuseOptions options;
      options.setTilingOptions(scf::SCFTilingOptions().setTileSizes(sizes));
      options.setFusionControlFn(
          [&](tensor::ExtractSliceOp, OpResult producer, bool)
              -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
            if (!chain.contains(producer.getOwner()))
              return std::nullopt;
            return scf::SCFTileAndFuseOptions::ControlFnResult{};
          });
      rewriter.setInsertionPoint(last);
      FailureOr<scf::SCFTileAndFuseResult> tiled =
          scf::tileConsumerAndFuseProducersUsingSCF(
              rewriter, cast<TilingInterface>(last.getOperation()), options);
      if (failed(tiled)) {
        last.emitOpError("could not be tiled by rows");
        return signalPassFailure();
      }
      rewriter.replaceAllUsesWith(
          last->getResult(0), tiled->replacements.lookup(last->getResult(0)));
      erased.insert(last);
      rewriter.eraseOp(last);
      // The fused producers' originals, now unused but for slices of them
      // that the fusion left dead: none is then a candidate again.
      for (bool progress = true; progress;) {
        progress = false;
        for (Operation *op : llvm::to_vector(chain)) {
          llvm::SmallSetVector<Operation *, 4> users(op->user_begin(),
                                                     op->user_end());
          for (Operation *user : users)
            if (!chain.contains(user) && isOpTriviallyDead(user))
              rewriter.eraseOp(user);
          if (!op->use_empty())
            continue;
          chain.remove(op);
          erased.insert(op);
          rewriter.eraseOp(op);
          progress = true;
        }
      }
    }
    // A tile's slice of an empty tensor is an empty tile: the fused ops'
    // outputs then bufferize to tile-sized temporaries, apart from the
    // loop's result.
    RewritePatternSet patterns(&getContext());
    tensor::populateFoldTensorEmptyPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
