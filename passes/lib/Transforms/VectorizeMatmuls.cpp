//===- VectorizeMatmuls.cpp - register tiles for dense products -*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Products of two activations (attention's q k^T and its weights times v)
// have no constant operand, so blkrew-sparsify leaves them as linalg.matmul
// and linalg.batch_matmul, and as loops they ran about 20x slower than
// torch's GEMM. This pass gives them register tiles with upstream's
// machinery, on buffers: tile (scf::tileUsingSCF), peel the loops so only
// the last tile of each dimension is partial (and static), make each tile
// a 2-D linalg.matmul, vectorize it at its shape (linalg::vectorize) and
// lower the contraction to outer products, i.e. broadcast-and-FMA over
// rows of the rhs.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

#define DEBUG_TYPE "blkrew-vectorize-matmuls"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWVECTORIZEMATMULS
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;

/// Mark the tile loops still to peel and the tiles still to vectorize;
/// clones made by peeling carry the marks along.
static constexpr llvm::StringLiteral kPeelAttr = "blkrew.peel";
static constexpr llvm::StringLiteral kTileAttr = "blkrew.matmul_tile";
/// Marks the reduction's tile loop, whose iterations all read and write the
/// same result tile.
static constexpr llvm::StringLiteral kReductionAttr = "blkrew.matmul_depth";

/// Whether `op`'s body is `acc + lhs * rhs` of its three block arguments
/// and nothing else (isaContractionOpInterface also admits, say, an exp of
/// an operand before the multiplication).
static bool isPlainMultiplyAdd(linalg::LinalgOp op) {
  Block *body = op.getBlock();
  if (body->getNumArguments() != 3 || body->getOperations().size() != 3)
    return false;
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  auto add = yield ? yield.getValues()[0].getDefiningOp<arith::AddFOp>()
                   : arith::AddFOp();
  if (!add)
    return false;
  Value acc = body->getArgument(2);
  Value product = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul || (add.getLhs() != acc && add.getRhs() != acc))
    return false;
  Value a = body->getArgument(0), b = body->getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) ||
         (mul.getLhs() == b && mul.getRhs() == a);
}

/// The number of batch loops of a product this pass takes, or -1: f32
/// throughout, static shapes, buffer semantics, a multiply-add body
/// (linalg.matmul, linalg.batch_matmul, or a generic one), and the loops
/// in the order (batch..., m, n, k) with the canonical maps
/// lhs (batch..., m, k), rhs (batch..., k, n), result (batch..., m, n):
/// no transposed or broadcast operand folded into them.
static int64_t batchLoops(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !isPlainMultiplyAdd(op))
    return -1;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
      return -1;
  }
  int64_t loops = op.getNumLoops();
  if (loops < 3 || op.getNumReductionLoops() != 1)
    return -1;
  int64_t batch = loops - 3;
  MLIRContext *ctx = op->getContext();
  auto dims = [&](std::initializer_list<int64_t> tail) {
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < batch; ++d)
      exprs.push_back(getAffineDimExpr(d, ctx));
    for (int64_t d : tail)
      exprs.push_back(getAffineDimExpr(batch + d, ctx));
    return AffineMap::get(loops, 0, exprs, ctx);
  };
  SmallVector<AffineMap> want = {dims({0, 2}), dims({2, 1}), dims({0, 1})};
  if (op.getIndexingMapsArray() != want ||
      op.getIteratorTypesArray().back() != utils::IteratorType::reduction)
    return -1;
  return batch;
}

/// The ops of type `OpT` in `func` that carry the mark `attr`, the marks
/// removed.
template <typename OpT>
static SmallVector<OpT> takeMarked(func::FuncOp func, StringRef attr) {
  SmallVector<OpT> marked;
  func.walk([&](OpT op) {
    if (op->removeAttr(attr))
      marked.push_back(op);
  });
  return marked;
}

/// `v` seen through reshapes, which view all of what they reshape.
static Value throughReshapes(Value v) {
  while (isa_and_present<memref::CollapseShapeOp, memref::ExpandShapeOp>(
      v.getDefiningOp()))
    v = v.getDefiningOp()->getOperand(0);
  return v;
}

/// The fill of `op`'s whole result buffer right before it (nothing in
/// between touching memory) and the value it fills with: a `linalg.fill`,
/// or the generic that broadcasts a scalar that `blkrew-prepare-loops`
/// makes of one (on a reshape of the buffer). Null when there is none.
static std::pair<Operation *, Value> fillBefore(linalg::LinalgOp op) {
  Value init = throughReshapes(op.getDpsInits()[0]);
  for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(prev);
    if (!linalgOp && isMemoryEffectFree(prev))
      continue;
    if (!linalgOp || !linalgOp.hasPureBufferSemantics() ||
        linalgOp.getNumDpsInits() != 1 ||
        throughReshapes(linalgOp.getDpsInits()[0]) != init)
      return {};
    if (auto fill = dyn_cast<linalg::FillOp>(prev))
      return {fill, fill.getInputs()[0]};
    auto generic = dyn_cast<linalg::GenericOp>(prev);
    std::optional<Value> value =
        generic ? linalg::isaFillOpInterface(generic) : std::nullopt;
    if (!value)
      return {};
    return {generic, *value};
  }
  return {};
}

/// Keeps the result tile of the reduction loop `loop` in registers: where
/// the loop body reads a tile of a buffer defined outside it (after
/// hoisting what does not vary) and writes the tile back, once each, reads
/// it only row by row, and nothing else in the body writes memory, the
/// tile's rows are read before the loop, carried through it as values and
/// written after it. Upstream's hoistRedundantVectorTransfers leaves these
/// alone: the tile is a subview, and every buffer here is a view of the
/// arena.
static void carryTileThroughLoop(RewriterBase &rewriter, scf::ForOp loop) {
  moveLoopInvariantCode(cast<LoopLikeOpInterface>(loop.getOperation()));
  Block *body = loop.getBody();
  vector::TransferWriteOp write;
  for (Operation &op : body->without_terminator()) {
    if (auto w = dyn_cast<vector::TransferWriteOp>(op)) {
      if (write)
        return;
      write = w;
      continue;
    }
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (op.getNumRegions() || !effects ||
        effects.hasEffect<MemoryEffects::Write>())
      return;
  }
  if (!write || write.getMask() || write.getVectorType().getRank() != 2 ||
      !write.getPermutationMap().isIdentity() ||
      !loop.isDefinedOutsideOfLoop(write.getBase()))
    return;
  vector::TransferReadOp read;
  for (Operation *user : write.getBase().getUsers()) {
    if (user == write || !loop->isAncestor(user))
      continue;
    auto r = dyn_cast<vector::TransferReadOp>(user);
    if (!r || read || r->getBlock() != body)
      return;
    read = r;
  }
  if (!read || read.getMask() ||
      read.getVectorType() != write.getVectorType() ||
      read.getIndices() != write.getIndices() ||
      !read.getPermutationMap().isIdentity() ||
      read.getInBoundsValues() != write.getInBoundsValues() ||
      !read->isBeforeInBlock(write) ||
      llvm::any_of(
          read.getIndices(),
          [&](Value index) { return !loop.isDefinedOutsideOfLoop(index); }) ||
      llvm::any_of(read->getUsers(), [](Operation *user) {
        auto extract = dyn_cast<vector::ExtractOp>(user);
        return !extract || extract.getNumIndices() != 1 ||
               !isa<Attribute>(extract.getMixedPosition()[0]);
      }))
    return;

  VectorType type = read.getVectorType();
  int64_t rows = type.getShape()[0];
  auto rowType =
      VectorType::get(type.getShape().drop_front(), type.getElementType());
  Location loc = loop.getLoc();
  MLIRContext *ctx = loop.getContext();
  AffineMap rowMap = AffineMap::getMinorIdentityMap(2, 1, ctx);
  SmallVector<bool> rowInBounds = {read.getInBoundsValues()[1]};
  // The indices of row `r` of the tile.
  auto rowIndices = [&](int64_t r) {
    SmallVector<Value> indices(read.getIndices());
    indices[0] =
        arith::AddIOp::create(rewriter, loc, indices[0],
                              arith::ConstantIndexOp::create(rewriter, loc, r));
    return indices;
  };

  // The tile written right before the loop (a fill of it, step 1) starts
  // the loop as values, and that write is dead: the loop reads the tile
  // only through `read`, and the writes after it cover the whole tile.
  vector::TransferWriteOp before;
  for (Operation *prev = loop->getPrevNode(); prev;
       prev = prev->getPrevNode()) {
    before = dyn_cast<vector::TransferWriteOp>(prev);
    if (before || !isMemoryEffectFree(prev))
      break;
  }
  if (before && (before.getBase() != read.getBase() || before.getMask() ||
                 before.getVectorType() != type ||
                 before.getIndices() != read.getIndices() ||
                 !before.getPermutationMap().isIdentity() ||
                 before.getInBoundsValues() != read.getInBoundsValues()))
    before = {};

  rewriter.setInsertionPoint(loop);
  SmallVector<Value> inits;
  for (int64_t r = 0; r < rows; ++r)
    inits.push_back(
        before ? vector::ExtractOp::create(rewriter, loc,
                                           before.getValueToStore(), r)
                     .getResult()
               : vector::TransferReadOp::create(
                     rewriter, loc, rowType, read.getBase(), rowIndices(r),
                     read.getPadding(), rowMap, rowInBounds)
                     .getResult());
  if (before)
    rewriter.eraseOp(before);
  FailureOr<LoopLikeOpInterface> carried =
      cast<LoopLikeOpInterface>(loop.getOperation())
          .replaceWithAdditionalYields(
              rewriter, inits, /*replaceInitOperandUsesInLoop=*/false,
              [&](OpBuilder &, Location, ArrayRef<BlockArgument> args) {
                // The body is still the old loop's here.
                for (Operation *user : llvm::to_vector(read->getUsers())) {
                  auto extract = cast<vector::ExtractOp>(user);
                  int64_t r = extract.getStaticPosition()[0];
                  rewriter.replaceOp(extract, args[r]);
                }
                rewriter.setInsertionPoint(write);
                SmallVector<Value> next;
                for (int64_t r = 0; r < rows; ++r)
                  next.push_back(vector::ExtractOp::create(
                      rewriter, loc, write.getValueToStore(), r));
                return next;
              });
  if (failed(carried))
    return;
  Operation *newLoop = carried->getOperation();
  rewriter.setInsertionPointAfter(newLoop);
  for (auto [r, value] : llvm::enumerate(newLoop->getResults().take_back(rows)))
    vector::TransferWriteOp::create(rewriter, loc, value, write.getBase(),
                                    rowIndices(r), rowMap, rowInBounds);
  rewriter.eraseOp(write);
  rewriter.eraseOp(read);
}

namespace mlir::blkrew {
namespace {
struct BlkRewVectorizeMatmulsPass
    : public impl::BlkRewVectorizeMatmulsBase<BlkRewVectorizeMatmulsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (rows < 1 || vectorWidth < 1 || tileVectors < 1 || depth < 1) {
      getOperation().emitError("blkrew-vectorize-matmuls: rows, vector-width, "
                               "tile-vectors and depth must be >= 1");
      return signalPassFailure();
    }
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();
    IRRewriter rewriter(ctx);

    SmallVector<std::pair<linalg::LinalgOp, int64_t>> candidates;
    func.walk([&](linalg::LinalgOp op) {
      int64_t batch = batchLoops(op);
      if (batch >= 0)
        candidates.push_back({op, batch});
    });
    if (candidates.empty())
      return;

    // 1. Tiles: `rows` rows of the lhs by `tileVectors` vectors of the rhs
    // row, over `depth` of the reduction; batch products one batch (one
    // index of each batch loop) at a time.
    int64_t cols = tileVectors * vectorWidth;
    for (auto [op, batch] : candidates) {
      SmallVector<int64_t> sizes(batch, 1);
      sizes.append({rows, cols, depth});
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForOp);
      options.setTileSizes(getAsIndexOpFoldResult(ctx, sizes));
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled)) {
        op->emitOpError("could not be tiled into register tiles");
        return signalPassFailure();
      }
      // A product whose result is filled right before it (a zero init)
      // fills each result tile right before the tile's reduction loop
      // instead: the tile is then in cache (in registers once step 5 has
      // run), not a pass over the whole result ahead of the product (a
      // 4 MiB q k^T's memset took a seventh of its time).
      auto depthLoop =
          tiled->loops.size() == static_cast<size_t>(batch) + 3
              ? dyn_cast<scf::ForOp>(tiled->loops.back().getOperation())
              : scf::ForOp();
      auto [fill, fillValue] =
          depthLoop ? fillBefore(op) : std::pair<Operation *, Value>();
      if (fill) {
        moveLoopInvariantCode(
            cast<LoopLikeOpInterface>(depthLoop.getOperation()));
        if (tiled->tiledOps.size() != 1 ||
            !depthLoop.isDefinedOutsideOfLoop(
                tiled->tiledOps[0]->getOperand(2)))
          fill = nullptr;
      }
      // Each tile as a 2-D linalg.matmul on views without the unit batch
      // dimensions: what the vectorizer turns into one contraction.
      for (Operation *tile : tiled->tiledOps) {
        SmallVector<Value> views;
        for (auto [i, operand] : llvm::enumerate(tile->getOperands())) {
          rewriter.setInsertionPoint(fill && i == 2 ? depthLoop.getOperation()
                                                    : tile);
          auto type = cast<MemRefType>(operand.getType());
          if (batch == 0) {
            views.push_back(operand);
            continue;
          }
          SmallVector<OpFoldResult> offsets(type.getRank(),
                                            rewriter.getIndexAttr(0));
          SmallVector<OpFoldResult> strides(type.getRank(),
                                            rewriter.getIndexAttr(1));
          SmallVector<OpFoldResult> sizes =
              memref::getMixedSizes(rewriter, tile->getLoc(), operand);
          auto viewType = memref::SubViewOp::inferRankReducedResultType(
              type.getShape().drop_front(batch), type, offsets, sizes, strides);
          views.push_back(memref::SubViewOp::create(
              rewriter, tile->getLoc(), cast<MemRefType>(viewType), operand,
              offsets, sizes, strides));
        }
        if (fill) {
          rewriter.setInsertionPoint(depthLoop);
          auto tileFill = linalg::FillOp::create(rewriter, fill->getLoc(),
                                                 ValueRange{fillValue},
                                                 ValueRange{views[2]});
          tileFill->setAttr(kTileAttr, rewriter.getUnitAttr());
        }
        rewriter.setInsertionPoint(tile);
        auto matmul = linalg::MatmulOp::create(rewriter, tile->getLoc(),
                                               ValueRange{views[0], views[1]},
                                               ValueRange{views[2]});
        matmul->setAttr(kTileAttr, rewriter.getUnitAttr());
        rewriter.eraseOp(tile);
      }
      if (fill)
        rewriter.eraseOp(fill);
      for (LoopLikeOpInterface loop : tiled->loops)
        loop->setAttr(kPeelAttr, rewriter.getUnitAttr());
      if (depthLoop)
        depthLoop->setAttr(kReductionAttr, rewriter.getUnitAttr());
      rewriter.eraseOp(op);
    }

    // 2. Peeling: each tile loop's last, partial iteration on its own, so
    // every other tile has the full static shape (the affine.min of its
    // size folds to a constant) and needs no mask.
    while (true) {
      scf::ForOp loop;
      func.walk<WalkOrder::PreOrder>([&](scf::ForOp forOp) {
        if (!forOp->hasAttr(kPeelAttr))
          return WalkResult::advance();
        loop = forOp;
        return WalkResult::interrupt();
      });
      if (!loop)
        break;
      loop->removeAttr(kPeelAttr);
      scf::ForOp partial;
      rewriter.setInsertionPoint(loop);
      if (succeeded(scf::peelForLoopAndSimplifyBounds(rewriter, loop, partial)))
        partial->removeAttr(kPeelAttr);
    }
    {
      RewritePatternSet patterns(ctx);
      affine::AffineMinOp::getCanonicalizationPatterns(patterns, ctx);
      memref::SubViewOp::getCanonicalizationPatterns(patterns, ctx);
      scf::ForOp::getCanonicalizationPatterns(patterns, ctx);
      if (failed(applyPatternsGreedily(func, std::move(patterns))))
        return signalPassFailure();
    }

    // 3. Each tile as vectors at its static shape: the full tile's, or
    // after peeling a smaller one (masked to the full shape, the
    // contraction would lower to one reduction per element instead of
    // outer products). A tile whose shape stayed dynamic is left to
    // convert-linalg-to-loops.
    for (linalg::LinalgOp tile :
         takeMarked<linalg::LinalgOp>(func, kTileAttr)) {
      if (ShapedType::isDynamicShape(tile.getStaticLoopRanges()))
        continue;
      rewriter.setInsertionPoint(tile);
      FailureOr<linalg::VectorizationResult> result = linalg::vectorize(
          rewriter, tile, /*inputVectorSizes=*/{},
          /*inputScalableVecDims=*/{}, /*vectorizeNDExtract=*/false,
          /*flatten1DDepthwiseConv=*/false,
          /*assumeDynamicDimsMatchVecSizes=*/false,
          /*createNamedContraction=*/true);
      if (failed(result)) {
        tile->emitOpError("could not be vectorized as a register tile");
        return signalPassFailure();
      }
      rewriter.eraseOp(tile);
    }

    // 4. The contraction as outer products (a broadcast lhs element times
    // an rhs row, accumulated by FMA), transposed transfers as plain ones;
    // what is left of the transfers is lowered with the rest of the vector
    // ops later in the pipeline.
    RewritePatternSet patterns(ctx);
    vector::populateVectorContractLoweringPatterns(
        patterns, vector::VectorContractLowering::OuterProduct);
    vector::populateVectorOuterProductLoweringPatterns(patterns);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorBroadcastLoweringPatterns(patterns);
    vector::TransferReadOp::getCanonicalizationPatterns(patterns, ctx);
    vector::TransferWriteOp::getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsGreedily(func, std::move(patterns))))
      return signalPassFailure();

    // 5. The result tile in registers across the reduction's tile loop:
    // read before it, written after it, instead of once per `depth` steps.
    for (scf::ForOp loop : takeMarked<scf::ForOp>(func, kReductionAttr))
      carryTileThroughLoop(rewriter, loop);
    RewritePatternSet cleanup(ctx);
    vector::ExtractOp::getCanonicalizationPatterns(cleanup, ctx);
    vector::InsertOp::getCanonicalizationPatterns(cleanup, ctx);
    scf::ForOp::getCanonicalizationPatterns(cleanup, ctx);
    if (failed(applyPatternsGreedily(func, std::move(cleanup))))
      return signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
