//===- BlkRewToVector.cpp - Register-tiled bsr_matmul kernel --*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Lowers blkrew.bsr_matmul on memrefs to the register-tiled kernel the
// packed format is designed for: a p x V accumulator tile per row group and
// N slice, one load of each kept rhs row slice shared by the p rows. Expects
// bufferized IR whose memrefs are contiguous in their last dimension.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Conversion/KernelShape.h"
#include "blkrew/Conversion/PackedUtils.h"
#include "blkrew/Conversion/Passes.h"
#include "blkrew/Dialect/BlkRewOps.h"
#include "blkrew/Transforms/MemoryOrder.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/DialectConversion.h"
#include <limits>

#define DEBUG_TYPE "convert-blkrew-to-vector"

namespace mlir::blkrew {
#define GEN_PASS_DEF_CONVERTBLKREWTOVECTOR
#include "blkrew/Conversion/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

/// Per-op overrides of the tile-vectors and prefetch-distance options.
static constexpr llvm::StringLiteral kTileVectorsAttr = "blkrew.tile_vectors";
static constexpr llvm::StringLiteral kPrefetchAttr = "blkrew.prefetch_distance";

/// The packed values are prefetched (weight-prefetch-bytes) only by
/// kernels with N up to this: with more, each value feeds so many FMAs
/// that the kernel does not wait on them, and the prefetch's instructions
/// cost 5% (FC 1024 at N = 256); limits of 16 and 64 both gained on the
/// CIFAR models, 64 slightly more (ResNet-18's 8x8 maps).
static constexpr int64_t kWeightPrefetchMaxN = 64;

/// Panels (panel-bytes) pack the rhs, a copy that pays only where each rhs
/// element feeds this many FMAs (kept values per rhs row) or more. Zen 3,
/// N = 256 (FC) and 64 (the others), 1 thread, panels of half the L2
/// against none, speed-ups: 256 FMAs (FC 1024 at 75%, 8x4) 1.09x; 102
/// (FC 1024 at 90%) 1.13x with 16x1 blocks, 1.37x with 4x1; 64 (256 x
/// 2304 at 75%, 8x4) 1.14x; 51 (512 x 2304 at 90%, 8x4) 0.92x; 26 (256 x
/// 2304 at 90%) 0.93x with 8x4, 0.83x with 4x1.
static constexpr int64_t kMinPanelUses = 64;

/// Slabs take a group's kept columns in chunks only where the average
/// group keeps more than this many chunks' worth (see emitTile).
static constexpr int64_t kLongGroupChunks = 2;

/// A kernel with fewer outputs than parallel-min-outputs needs this many
/// times parallel-min-fmas to be threaded.
static constexpr int64_t kSmallOutputWork = 8;

/// Threaded kernels split their row groups into this many chunks of about
/// equal work (at most one per group), consecutive groups each; OpenMP's
/// static schedule gives each thread consecutive chunks, so 1, 2, 3, 4, 6,
/// 8, 12 or 24 threads get equal shares. Split by count instead, a thread
/// gets as many groups as the others whatever they keep: fine for most
/// BLK-REW layers (the pruned CIFAR models' busiest thread 0.4-2% over its
/// share, weighted by work), not for layers whose groups differ (a
/// 3072 x 1024 weight whose groups keep from 20% down to none: 50% over).
static constexpr int64_t kBalanceChunks = 24;

/// Independent FMA chains the small-N kernel keeps in flight: a core with
/// two FMA pipes of 4 cycles' latency (Zen 3, Skylake, Cortex-A76) needs 8
/// to issue an FMA every half cycle. With N accumulators (one per column of
/// N), it runs ceil(8 / N) sets of them over consecutive kept columns, summed
/// at the end, within the `accumulators` budget.
static constexpr int64_t kFmaChains = 8;

/// Whether what `buffer` holds is dead once `op` has read it: a temporary
/// (an arena view or an allocation, seen through no view but reshapes of
/// all of it) that the ops after `op` in its block overwrite whole, free,
/// or leave alone before any of them reads it.
static bool isDeadAfter(Operation *op, Value buffer) {
  // The buffer and its reshapes (a 3-D linear layer's operands are read
  // and written through them); a view of a part and the answer is no.
  std::optional<BufferViews> whole = wholeViews(buffer);
  if (!whole)
    return false;
  // A kernel that only stores its output overwrites it too; any read
  // before the buffer is overwritten keeps it alive.
  return acceptsReadsBeforeOverwrite(
      op, *whole, /*read=*/[](Operation *) { return false; },
      /*overwrites=*/
      [&](Operation *next) {
        auto kernel = dyn_cast<BsrMatmulOp>(next);
        return kernel && whole->contains(kernel.getInit()) &&
               kernel.getOverwrite() &&
               !llvm::any_of(kernel.getDpsInputs(),
                             [&](Value v) { return whole->contains(v); });
      });
}

/// Where `v` lies: the memory it views (a function argument, an allocation,
/// or a global, named by its symbol) and, for a `memref.view` at a constant
/// offset (the buffer planner's arena), its bytes there.
struct Extent {
  Value root;
  StringRef global;
  std::optional<std::pair<int64_t, int64_t>> bytes;
};
static Extent getExtent(Value v) {
  // A reshape spans all of its source's bytes (a 3-D linear layer's
  // operands are reshapes of arena views).
  while (isa_and_present<memref::ExpandShapeOp, memref::CollapseShapeOp>(
      v.getDefiningOp()))
    v = v.getDefiningOp()->getOperand(0);
  std::optional<std::pair<int64_t, int64_t>> bytes;
  if (auto view = v.getDefiningOp<memref::ViewOp>()) {
    auto type = cast<MemRefType>(view.getType());
    std::optional<int64_t> shift = getConstantIntValue(view.getByteShift());
    if (shift && type.hasStaticShape())
      bytes = {*shift, *shift + type.getNumElements() *
                                    type.getElementTypeBitWidth() / 8};
  }
  while (auto viewLike = v.getDefiningOp<ViewLikeOpInterface>()) {
    if (!isa<memref::ViewOp>(viewLike.getOperation()))
      bytes.reset(); // a part of the view, somewhere
    v = viewLike.getViewSource();
  }
  if (auto global = v.getDefiningOp<memref::GetGlobalOp>())
    return {Value(), global.getName(), bytes};
  return {v, StringRef(), bytes};
}

/// Whether `a` and `b` may share memory. Distinct function arguments and
/// allocations are taken not to (the runtime passes distinct tensors);
/// views of one buffer (the arena) do where their bytes overlap, which
/// the planner allows between values that are never live at once.
static bool mayAlias(Value a, Value b) {
  Extent x = getExtent(a), y = getExtent(b);
  if (x.root != y.root || x.global != y.global)
    return false;
  return !x.bytes || !y.bytes ||
         (x.bytes->first < y.bytes->second && y.bytes->first < x.bytes->second);
}

/// The 2-D transpose that wrote `op`'s rhs just before it (nothing touching
/// memory in between but `bias`, the broadcast into its init), where
/// nothing else reads what it wrote and its source is static with
/// contiguous rows: a linear layer's input x[N, K] turned into the
/// kernel's K x N. Null when there is none.
static linalg::TransposeOp findRhsTranspose(BsrMatmulOp op,
                                            linalg::BroadcastOp bias) {
  Operation *prev = lastMemoryOpBefore(
      op, [&](Operation *prev) { return bias && prev == bias; });
  if (!prev || !isRhsTranspose(op, prev))
    return {};
  auto transpose = cast<linalg::TransposeOp>(prev);
  auto sourceTy = dyn_cast<MemRefType>(transpose.getInput().getType());
  if (!sourceTy || sourceTy.getRank() != 2 || !sourceTy.hasStaticShape() ||
      !sourceTy.isLastDimUnitStride() || !isDeadAfter(op, op.getRhs()))
    return {};
  return transpose;
}

/// The 2-D transpose that reads `op`'s output right after it (nothing
/// touching memory in between), where `init` is a temporary nothing else
/// reads afterwards and the transpose's destination is static with
/// contiguous rows: a linear layer's K x N result turned back into
/// y[N, M]. Null when there is none.
static linalg::TransposeOp findInitTranspose(BsrMatmulOp op) {
  auto transpose =
      dyn_cast_or_null<linalg::TransposeOp>(firstMemoryOpAfter(op));
  if (!transpose || transpose.getInput() != op.getInit())
    return {};
  auto destTy = dyn_cast<MemRefType>(transpose.getInit().getType());
  if (!destTy || destTy.getRank() != 2 || !destTy.hasStaticShape() ||
      !destTy.isLastDimUnitStride() || !isDeadAfter(transpose, op.getInit()))
    return {};
  return transpose;
}

/// Whether `v` can be used right before `op`: defined before it, or by
/// ops without memory effects after it in its block (the arena view and
/// reshapes that the planner put right before the op reading them), which
/// then move before `op`, with what they take.
static bool availableBefore(Value v, Operation *op) {
  Operation *def = v.getDefiningOp();
  if (!def || def->getBlock() != op->getBlock() || def->isBeforeInBlock(op))
    return true;
  if (def == op || def->getNumRegions() || !isMemoryEffectFree(def) ||
      !llvm::all_of(def->getOperands(), [&](Value operand) {
        return availableBefore(operand, op);
      }))
    return false;
  def->moveBefore(op);
  return true;
}

/// The OpenMP runtime's thread count for the next parallel region
/// (`omp_get_max_threads`, declared in `op`'s module if it is not yet), as
/// an index.
static Value ompMaxThreads(OpBuilder &b, Location loc, Operation *op) {
  constexpr StringLiteral kName = "omp_get_max_threads";
  auto module = op->getParentOfType<ModuleOp>();
  Type i32 = b.getI32Type();
  if (!module.lookupSymbol(kName)) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    LLVM::LLVMFuncOp::create(b, loc, kName,
                             LLVM::LLVMFunctionType::get(i32, {}));
  }
  Value count =
      LLVM::CallOp::create(b, loc, TypeRange{i32}, kName, ValueRange{})
          .getResult();
  return arith::IndexCastUIOp::create(b, loc, b.getIndexType(), count);
}

/// Kept column `j`'s FMAs into the accumulators `accs`: the new ones.
using ColumnFn = function_ref<SmallVector<Value>(OpBuilder &, Location, Value j,
                                                 ValueRange accs)>;

/// Runs `column` over kept columns [lo, hi) with `sets` sets of its
/// accumulators over consecutive columns: the first set starting from
/// `accs`, the others from `zero`; the columns left over after the last
/// whole step go into the first set; the sets are then summed. More
/// independent FMA chains than one set has. `beforeStep`, where given, is
/// emitted at the start of each step (the columns' prefetches). Returns
/// the sums.
static SmallVector<Value> reduceInSets(
    OpBuilder &b, Location loc, Value lo, Value hi, int64_t sets,
    ValueRange accs, Value zero, ColumnFn column,
    function_ref<void(OpBuilder &, Location, Value)> beforeStep = nullptr) {
  int64_t n = accs.size();
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  SmallVector<Value> start(accs);
  start.append((sets - 1) * n, zero);
  Value cs = cst(sets);
  Value stepped =
      sets == 1
          ? hi
          : arith::AddIOp::create(
                b, loc, lo,
                arith::MulIOp::create(
                    b, loc,
                    arith::DivUIOp::create(
                        b, loc, arith::SubIOp::create(b, loc, hi, lo), cs),
                    cs));
  auto loop = scf::ForOp::create(
      b, loc, lo, stepped, cs, start,
      [&](OpBuilder &b, Location loc, Value j, ValueRange iterAccs) {
        if (beforeStep)
          beforeStep(b, loc, j);
        SmallVector<Value> next;
        for (int64_t s = 0; s < sets; ++s)
          llvm::append_range(
              next,
              column(b, loc,
                     s == 0 ? j : arith::AddIOp::create(b, loc, j, cst(s)),
                     iterAccs.slice(s * n, n)));
        scf::YieldOp::create(b, loc, next);
      });
  SmallVector<Value> sums(loop.getResults());
  if (sets == 1)
    return sums;
  auto rest = scf::ForOp::create(
      b, loc, stepped, hi, cst(1), ValueRange(sums).take_front(n),
      [&](OpBuilder &b, Location loc, Value j, ValueRange iterAccs) {
        scf::YieldOp::create(b, loc, column(b, loc, j, iterAccs));
      });
  for (int64_t k = 0; k < n; ++k) {
    sums[k] = rest.getResult(k);
    for (int64_t s = 1; s < sets; ++s)
      sums[k] = arith::AddFOp::create(b, loc, sums[k], sums[s * n + k]);
  }
  sums.resize(n);
  return sums;
}

namespace {
struct BsrMatmulToVector : public OpConversionPattern<BsrMatmulOp> {
  BsrMatmulToVector(MLIRContext *ctx, int64_t vectorWidth,
                    int64_t maxUnrollRows, int64_t tileVectors,
                    int64_t accumulators, int64_t prefetchDistance,
                    int64_t weightPrefetchBytes, int64_t panelBytes,
                    bool parallel, int64_t parallelMinFmas,
                    int64_t parallelMinOutputs, int64_t slabChunkBytes,
                    int64_t tileChains)
      : OpConversionPattern(ctx, /*benefit=*/2), vectorWidth(vectorWidth),
        maxUnrollRows(maxUnrollRows), tileVectors(tileVectors),
        accumulators(accumulators), prefetchDistance(prefetchDistance),
        weightPrefetchBytes(weightPrefetchBytes), panelBytes(panelBytes),
        parallel(parallel), parallelMinFmas(parallelMinFmas),
        parallelMinOutputs(parallelMinOutputs), slabChunkBytes(slabChunkBytes),
        tileChains(tileChains) {}

  LogicalResult
  matchAndRewrite(BsrMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "expected memref operands");
    LayoutAttr layout = op.getLayout();
    int64_t p = layout.getGroupRows();
    if (p > maxUnrollRows)
      return rewriter.notifyMatchFailure(op, "group too tall for registers");
    // Per-op choices (the auto-tuner's) override the pass options.
    int64_t opTileVectors = tileVectors, prefetch = prefetchDistance;
    if (auto attr = op->getAttrOfType<IntegerAttr>(kTileVectorsAttr))
      opTileVectors = attr.getInt();
    // With N within one vector, a group reads each kept rhs row once, from
    // a matrix small enough to stay in cache: prefetching would only take
    // load slots from a kernel bound by them (measured: 17% slower on a
    // 512x4608 convolution at N = 16).
    int64_t staticN =
        cast<MemRefType>(adaptor.getInit().getType()).getDimSize(1);
    if (!ShapedType::isDynamic(staticN) && staticN <= vectorWidth)
      prefetch = 0;
    if (auto attr = op->getAttrOfType<IntegerAttr>(kPrefetchAttr))
      prefetch = attr.getInt();
    if (opTileVectors < 0 || prefetch < 0)
      return op.emitOpError("needs non-negative ")
             << kTileVectorsAttr << " and " << kPrefetchAttr;
    // Vector loads and stores need rows that are contiguous in memory.
    for (Value v : {adaptor.getInit(), adaptor.getRhs(), adaptor.getValues()})
      if (!cast<MemRefType>(v.getType()).isLastDimUnitStride())
        return rewriter.notifyMatchFailure(op, "innermost stride is not 1");
    // Small N (see below) vectorizes along rows; otherwise N-wide slices
    // read a window's image as row segments, each of which must lie in one
    // image row.
    bool smallN = isSmallNKernel(staticN, p, vectorWidth);
    if (std::optional<ArrayRef<int64_t>> window = op.getWindow()) {
      int64_t width =
          cast<MemRefType>(adaptor.getRhs().getType()).getDimSize(2);
      if (!smallN && (ShapedType::isDynamic(width) ||
                      (width - (*window)[1] + 1) % vectorWidth != 0))
        return rewriter.notifyMatchFailure(
            op, "window output width is not a multiple of the vector width");
    }
    Location loc = op.getLoc();
    Value init = adaptor.getInit(), rhs = adaptor.getRhs();
    Value values = adaptor.getValues(), rowPtr = adaptor.getRowPtr();
    Value colIdx = adaptor.getColIdx();
    bool overwrite = op.getOverwrite();
    // A bias broadcast into init just before: each tile starts from the
    // row's bias instead of loading what the broadcast stored (one pass
    // over the output less per layer).
    Value bias;
    linalg::BroadcastOp broadcast =
        overwrite ? nullptr : findRowBroadcast(op, init);
    // Found before the broadcast goes (see the panels).
    linalg::TransposeOp rhsTranspose = findRhsTranspose(op, broadcast);
    if (broadcast) {
      bias = broadcast.getInput();
      rewriter.eraseOp(broadcast);
    }
    Type elemTy = cast<MemRefType>(init.getType()).getElementType();
    auto vecTy = VectorType::get({vectorWidth}, elemTy);
    auto maskTy = VectorType::get({vectorWidth}, rewriter.getI1Type());
    int64_t elemBytes = elemTy.getIntOrFloatBitWidth() / 8;
    int64_t vectorBytes = vectorWidth * elemBytes;
    // The packed values may be stored narrower (f16, blkrew-half-weights):
    // each is extended to elemTy as it is read (extendValue).
    Type valueTy = cast<MemRefType>(values.getType()).getElementType();
    int64_t valueElemBytes = valueTy.getIntOrFloatBitWidth() / 8;

    auto cst = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(rewriter, loc, v);
    };
    Value c0 = cst(0), c1 = cst(1), cp = cst(p), cv = cst(vectorWidth);
    Value rows = memref::DimOp::create(rewriter, loc, init, 0);
    Value cols = memref::DimOp::create(rewriter, loc, init, 1);
    Value perm = getPermBuffer(rewriter, op, layout);
    // The tile: u vectors of N by q of the group's rows. Unset, u is what
    // the accumulator budget leaves each row, and a group whose rows would
    // get fewer than 3 vectors each (where N has that many) is walked in
    // slabs of half its rows, each loading its kept columns' rhs vectors
    // again, from L1: on AVX2's 16 registers an 8-row group gets 1 vector
    // per row, 9 loads per 8 FMAs, where two 4 x 3 slabs take 14 per 24
    // (FC 1024 at 90% with 8 x 4 blocks: 1.27x faster on a Zen 3).
    int64_t maxTileVectors =
        ShapedType::isDynamic(staticN)
            ? 4
            : std::clamp<int64_t>(staticN / vectorWidth, 1, 4);
    int64_t q = p;
    int64_t u = opTileVectors;
    if (u == 0) {
      while (q % 2 == 0 &&
             accumulators / q < std::min<int64_t>(3, maxTileVectors))
        q /= 2;
      u = std::clamp<int64_t>(accumulators / q, 1, 4);
    } else {
      while (q % 2 == 0 && q * u > accumulators)
        q /= 2;
    }

    // Panels of N: where the rhs (K x N, not an image) is larger than two
    // panels (`2 * panelBytes`), every group runs over one panel of N before
    // any runs over the next, reading the panel from a packed K x panel copy
    // that stays in L2 while the groups that share its kept rows read them. On
    // the rhs itself, a row slice is one short run per rhs row a power of
    // two bytes apart (1 KiB at N = 256), which maps to a few cache sets
    // of L1 and L2 and evicts itself; the packed rows are contiguous (FC
    // 1024 at N = 256 on a Zen 3: docs/compile.md). The packed weights are
    // read once per panel, in order. An rhs of at most two panels (half the
    // L2 with the pipeline's default) stays in L2 read in place, and the
    // copy would only cost: FC 1024 at N = 256 (1 MiB) on a core with 2 MiB
    // of L2, no panels against panels of 512 KiB: 1.05-1.28x faster at
    // 50-90%, 1 thread, 1.21-1.48x with 2 (docs/compile.md).
    // An rhs that a linear layer's input transpose writes just before is
    // packed whatever its size, in panels one tile wide: the packing
    // replaces that transpose and the output's folds too (below), so the
    // two whole transposes no longer go through memory. nn.Linear 1024 x
    // 1024 at batch 128-512, 75% and 90% sparse, same core: 1.07-1.36x
    // faster on 1 thread, 1.20-1.57x on 2; panels of a quarter of the L2
    // (two tiles here) 0.97-1.22x on 1 thread, 0.95-1.19x on 2.
    int64_t panel = 0;
    auto rhsTy = cast<MemRefType>(rhs.getType());
    auto valuesTy = cast<MemRefType>(values.getType());
    if (panelBytes > 0 && !smallN && !op.getWindow() &&
        rhsTy.hasStaticShape() && valuesTy.hasStaticShape() &&
        (rhsTranspose || rhsTy.getNumElements() * elemBytes > 2 * panelBytes) &&
        valuesTy.getNumElements() >= kMinPanelUses * rhsTy.getDimSize(0)) {
      int64_t tileWidth = u * vectorWidth;
      int64_t rowBytes = rhsTy.getDimSize(0) * elemBytes;
      int64_t tiles = staticN / tileWidth;
      // Tiles per panel: one for a transposed rhs (above).
      int64_t fit =
          rhsTranspose
              ? 1
              : std::max<int64_t>(1, panelBytes / rowBytes / tileWidth);
      // Panels of equal width, so the last is not a sliver.
      if (tiles > fit)
        panel =
            llvm::divideCeil(tiles, llvm::divideCeil(tiles, fit)) * tileWidth;
    }
    // A linear layer's input, transposed into the rhs just before: the
    // panels are packed from x[N, K] itself (a transpose of each panel's
    // rows instead of a copy of its columns), and the transpose goes: one
    // pass over the input less.
    if (panel == 0)
      rhsTranspose = {};
    // Likewise its output, transposed back into y[N, M] right after: each
    // panel's tiles store into a packed M x panel buffer, transposed into
    // y's rows once the panel is done, while it is in cache; the transpose
    // of the whole output goes. Only where the tiles do not load init.
    linalg::TransposeOp initTranspose;
    if (panel > 0 && (overwrite || bias) &&
        cast<MemRefType>(init.getType()).hasStaticShape())
      initTranspose = findInitTranspose(op);
    // The folds move reads of the input and writes of the output into the
    // kernel, panel by panel: the planner may have put buffers that were
    // never live at once in the same bytes (the transposes' source before
    // the kernel, their destination after it), which then must not meet.
    Value written = initTranspose ? initTranspose.getInit() : init;
    if (rhsTranspose && mayAlias(rhsTranspose.getInput(), written))
      rhsTranspose = {};
    if (initTranspose &&
        mayAlias(written, rhsTranspose ? rhsTranspose.getInput() : rhs))
      initTranspose = {};
    // The kernel writes the transpose's destination: the planner may have
    // placed its view after the kernel (nn.MultiheadAttention's output
    // projection at batch 2 failed to compile).
    if (initTranspose && !availableBefore(initTranspose.getInit(), op))
      initTranspose = {};
    // With panels, the kernels read only the packed copies.
    RhsAccess access(rewriter, loc, op, rhs, colIdx,
                     /*precomputeOffsets=*/panel == 0, /*padding=*/prefetch);
    Value zeroVec = arith::ConstantOp::create(
        rewriter, loc, vecTy,
        DenseElementsAttr::get(vecTy, rewriter.getZeroAttr(elemTy)));
    // The packed values that far ahead (kept columns of p values each),
    // clamped to the last kept column: four instructions per column, which
    // the kernels that wait on their weights have to spare (an unclamped
    // index, reading past `values`, was 3% faster on ResNet-18; a branch
    // around the prefetch slower than both). Only where N is small.
    int64_t valueBytes = p * valueElemBytes;
    int64_t weightAhead =
        weightPrefetchBytes > 0 && !ShapedType::isDynamic(staticN) &&
                staticN <= kWeightPrefetchMaxN
            ? std::max<int64_t>(1, weightPrefetchBytes / valueBytes)
            : 0;
    Value lastColumn;
    if (weightAhead > 0)
      lastColumn = arith::SubIOp::create(
          rewriter, loc, memref::DimOp::create(rewriter, loc, values, 0), c1);
    auto prefetchWeights = [&](OpBuilder &b, Location loc, Value j) {
      if (weightAhead == 0)
        return;
      Value ahead = arith::MinUIOp::create(
          b, loc,
          arith::AddIOp::create(
              b, loc, j, arith::ConstantIndexOp::create(b, loc, weightAhead)),
          lastColumn);
      memref::PrefetchOp::create(b, loc, values, ValueRange{ahead, c0},
                                 /*isWrite=*/false, /*localityHint=*/3,
                                 /*isDataCache=*/true);
    };
    // N split into full slices and a (possibly empty) masked tail.
    Value tail = arith::RemUIOp::create(rewriter, loc, cols, cv);
    Value fullEnd = arith::SubIOp::create(rewriter, loc, cols, tail);
    Value groups = arith::CeilDivUIOp::create(rewriter, loc, rows, cp);

    // The rhs as the kernel reads it: the op's, or a panel's packed copy
    // (below), where the slice of output columns n0.. is rhs column
    // n0 - shift; and where the tiles store: init, or with `out` a panel's
    // output buffer, at its column n0 - shift.
    struct RhsView {
      const RhsAccess *access;
      Value shift;
      Value out = {};
    };
    // One q x (u*V) tile of a slab: rows r0 .. r0 + q of group g, columns
    // n0 .. n0 + u*V; with `mask` (u == 1 only) the lanes past N are masked
    // off. Opened (its rows, columns and starting accumulators), run over
    // a range of the group's kept columns (once, or chunk by chunk), closed
    // (its accumulators stored).
    struct Slab {
      RhsView view;
      int64_t u, r0;
      Value mask, begin, end;
      SmallVector<Value> cols0, inside, outRows, accs;
      SmallVector<SmallVector<Value>> rhsCols;
    };
    auto loadSlice = [&](OpBuilder &b, Location loc, Value mask, Value mem,
                         ValueRange indices) -> Value {
      if (mask)
        return vector::MaskedLoadOp::create(b, loc, vecTy, mem, indices, mask,
                                            zeroVec);
      return vector::LoadOp::create(b, loc, vecTy, mem, indices);
    };
    auto openSlab = [&](OpBuilder &b, Location loc, RhsView view, Value g,
                        Value n0, int64_t u, Value mask, int64_t r0) {
      const RhsAccess &access = *view.access;
      Slab slab;
      slab.view = view;
      slab.u = u;
      slab.r0 = r0;
      slab.mask = mask;
      std::tie(slab.begin, slab.end) = loadGroupBounds(b, loc, rowPtr, g);
      Value rowBase = arith::MulIOp::create(b, loc, g, cp);
      SmallVector<Value> &cols0 = slab.cols0;
      // The rhs column part of each slice's first element: with a window,
      // the slice is one image row segment (the pattern checks that the
      // output width is a multiple of V).
      for (int64_t k = 0; k < u; ++k) {
        cols0.push_back(arith::AddIOp::create(
            b, loc, n0,
            arith::ConstantIndexOp::create(b, loc, k * vectorWidth)));
        Value col = cols0.back();
        if (view.shift)
          col = arith::SubIOp::create(b, loc, col, view.shift);
        slab.rhsCols.push_back(access.colPart(b, loc, col));
      }
      SmallVector<Value> &inside = slab.inside, &outRows = slab.outRows;
      SmallVector<Value> &accs = slab.accs;
      SmallVector<Value> zeros(u, zeroVec);
      for (int64_t r = r0; r < r0 + q; ++r) {
        Value i = arith::AddIOp::create(
            b, loc, rowBase, arith::ConstantIndexOp::create(b, loc, r));
        Value in =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, i, rows);
        Value row = i;
        // Padded rows of the last group are neither loaded nor stored; their
        // index is clamped so no out-of-range address is even formed.
        if (perm) {
          auto ifOp = scf::IfOp::create(
              b, loc, in,
              [&](OpBuilder &b, Location loc) {
                scf::YieldOp::create(b, loc, loadIndex(b, loc, perm, i));
              },
              [&](OpBuilder &b, Location loc) {
                scf::YieldOp::create(b, loc, c0);
              });
          row = ifOp.getResult(0);
        }
        inside.push_back(in);
        outRows.push_back(row);
        // `overwrite`: the tile starts at zero; init is only stored to.
        if (overwrite) {
          llvm::append_range(accs, zeros);
          continue;
        }
        auto loaded = scf::IfOp::create(
            b, loc, in,
            [&](OpBuilder &b, Location loc) {
              SmallVector<Value> vs;
              if (bias) {
                Value v = vector::BroadcastOp::create(
                    b, loc, vecTy,
                    memref::LoadOp::create(b, loc, bias, ValueRange{row}));
                vs.assign(u, v);
              } else {
                for (Value col : cols0)
                  vs.push_back(
                      loadSlice(b, loc, mask, init, ValueRange{row, col}));
              }
              scf::YieldOp::create(b, loc, vs);
            },
            [&](OpBuilder &b, Location loc) {
              scf::YieldOp::create(b, loc, zeros);
            });
        llvm::append_range(accs, loaded.getResults());
      }
      return slab;
    };
    // The reduction over kept columns [lo, hi) of the slab's group, the
    // q*u accumulators in registers: each kept column loads u vectors of
    // its rhs row once and each of the q weights once (a broadcast load)
    // and feeds q*u FMAs. Returns the accumulators.
    auto runSlab = [&](OpBuilder &b, Location loc, const Slab &slab, Value lo,
                       Value hi, ValueRange accs) -> SmallVector<Value> {
      const RhsAccess &access = *slab.view.access;
      Value source = access.getSource(), end = slab.end, mask = slab.mask;
      const RhsView &view = slab.view;
      const SmallVector<SmallVector<Value>> &rhsCols = slab.rhsCols;
      int64_t u = slab.u, r0 = slab.r0;
      // Kept column j's FMAs into `iterAccs` (q*u of them).
      auto column = [&](OpBuilder &b, Location loc, Value j,
                        ValueRange iterAccs) -> SmallVector<Value> {
        // Only the first slab prefetches: the later ones read the
        // same weight lines and rhs rows after it.
        bool firstSlab = r0 == 0;
        if (firstSlab)
          prefetchWeights(b, loc, j);
        // The rhs rows are irregular (kept columns): prefetch the one
        // `prefetchDistance` columns ahead. Past the group's last, that
        // is the next group's (or a padding offset's) row: harmless, and
        // cheaper than clamping, which costs 6% on FC 1024 at 90%
        // (Xeon, AVX-512). Without padded offsets, it is clamped.
        if (prefetch > 0 && firstSlab) {
          Value ahead = arith::AddIOp::create(
              b, loc, j, arith::ConstantIndexOp::create(b, loc, prefetch));
          if (access.getPadding() < prefetch)
            ahead = arith::MinUIOp::create(
                b, loc, ahead, arith::SubIOp::create(b, loc, end, c1));
          SmallVector<Value> aheadRow = access.rowPart(b, loc, ahead);
          // One prefetch per cache line: a packed copy's slices start
          // on a vector boundary, so where vectors are smaller than a
          // line, every (64 / vector bytes)-th vector and the last
          // touch all the slice's lines (AVX2, 3 vectors: 2 of the 3).
          // The rhs itself may start anywhere: one per vector.
          int64_t perLine =
              view.shift && vectorBytes < 64 && 64 % vectorBytes == 0
                  ? 64 / vectorBytes
                  : 1;
          for (auto [k, c] : llvm::enumerate(rhsCols))
            if (k % perLine == 0 || k + 1 == rhsCols.size())
              memref::PrefetchOp::create(b, loc, source,
                                         access.indices(b, loc, aheadRow, c),
                                         /*isWrite=*/false,
                                         /*localityHint=*/3,
                                         /*isDataCache=*/true);
        }
        SmallVector<Value> rhsRow = access.rowPart(b, loc, j);
        SmallVector<Value> xs;
        for (ArrayRef<Value> c : rhsCols)
          xs.push_back(loadSlice(b, loc, mask, source,
                                 access.indices(b, loc, rhsRow, c)));
        SmallVector<Value> next;
        for (int64_t r = 0; r < q; ++r) {
          Value wr = loadValue(
              b, loc, values,
              ValueRange{j, arith::ConstantIndexOp::create(b, loc, r0 + r)},
              elemTy);
          Value wb = vector::BroadcastOp::create(b, loc, vecTy, wr);
          for (int64_t k = 0; k < u; ++k)
            next.push_back(
                vector::FMAOp::create(b, loc, wb, xs[k], iterAccs[r * u + k]));
        }
        return next;
      };
      // A tile of few accumulators is few FMA chains: `sets` of them over
      // consecutive kept columns, the columns left over after the last
      // whole step into the first set, then summed. 8 chains are the
      // minimum for two 4-cycle FMA pipes, but the tile's loop also loads a
      // weight per row and an rhs slice per column, and with 8 it ran
      // below that: Xeon (AVX-512), 512 x 4608 at N = 16, 87.5%, 1 thread,
      // against one set in the same rounds, cold and hot, two runs: 8 x 4
      // and 8 x 1 blocks (8 accumulators, 2 sets) 1.12-1.13x faster, 4 x 1
      // (4 accumulators, 4 sets) 1.08-1.11x, 4 x 4 1.07x; 16 x 1 (16
      // accumulators, one set) unchanged.
      int64_t n = q * u;
      int64_t sets =
          std::clamp<int64_t>(llvm::divideCeil(tileChains, n), 1,
                              std::max<int64_t>(1, accumulators / n));
      return reduceInSets(b, loc, lo, hi, sets, accs, zeroVec, column);
    };
    auto closeSlab = [&](OpBuilder &b, Location loc, const Slab &slab,
                         ValueRange sums) {
      const RhsView &view = slab.view;
      Value out = view.out ? view.out : init;
      SmallVector<Value> outCols = slab.cols0;
      if (view.out)
        for (Value &col : outCols)
          col = arith::SubIOp::create(b, loc, col, view.shift);
      int64_t u = slab.u;
      for (int64_t r = 0; r < q; ++r) {
        scf::IfOp::create(
            b, loc, slab.inside[r], [&](OpBuilder &b, Location loc) {
              for (int64_t k = 0; k < u; ++k) {
                Value acc = applyActivation(b, loc, op, sums[r * u + k]);
                SmallVector<Value, 2> at{slab.outRows[r], outCols[k]};
                if (slab.mask)
                  vector::MaskedStoreOp::create(b, loc, out, at, slab.mask,
                                                acc);
                else
                  vector::StoreOp::create(b, loc, acc, out, at);
              }
              scf::YieldOp::create(b, loc);
            });
      }
    };

    // All the group's rows for one slice of N, slab after slab. With
    // several slabs, the kept columns go in chunks, all slabs over one
    // chunk before the next, so the later slabs find the chunk's rhs
    // vectors and weights in L1 (a group's whole range may not fit it:
    // 576 kept columns of 64-byte rhs rows at N = 16); the slabs'
    // accumulators live across the chunks (the other slabs' in memory).
    auto emitTile = [&](OpBuilder &b, Location loc, RhsView view, Value g,
                        Value n0, int64_t u, Value mask) {
      // Only where a group keeps more columns than two chunks on average.
      int64_t chunk = slabChunkBytes / (u * vectorBytes + valueBytes);
      auto initTy = cast<MemRefType>(init.getType());
      bool longGroups = valuesTy.hasStaticShape() && initTy.hasStaticShape() &&
                        valuesTy.getDimSize(0) >
                            kLongGroupChunks * chunk *
                                static_cast<int64_t>(
                                    llvm::divideCeil(initTy.getDimSize(0), p));
      if (q == p || chunk <= 0 || !longGroups) {
        for (int64_t r0 = 0; r0 < p; r0 += q) {
          Slab slab = openSlab(b, loc, view, g, n0, u, mask, r0);
          closeSlab(b, loc, slab,
                    runSlab(b, loc, slab, slab.begin, slab.end, slab.accs));
        }
        return;
      }
      SmallVector<Slab, 4> slabs;
      for (int64_t r0 = 0; r0 < p; r0 += q)
        slabs.push_back(openSlab(b, loc, view, g, n0, u, mask, r0));
      SmallVector<Value> accs;
      for (const Slab &slab : slabs)
        llvm::append_range(accs, slab.accs);
      Value begin = slabs.front().begin, end = slabs.front().end;
      auto chunks = scf::ForOp::create(
          b, loc, begin, end, cst(chunk), accs,
          [&](OpBuilder &b, Location loc, Value lo, ValueRange iterAccs) {
            Value hi = arith::MinUIOp::create(
                b, loc, arith::AddIOp::create(b, loc, lo, cst(chunk)), end);
            SmallVector<Value> next;
            for (auto [i, slab] : llvm::enumerate(slabs))
              llvm::append_range(next,
                                 runSlab(b, loc, slab, lo, hi,
                                         iterAccs.slice(i * q * u, q * u)));
            scf::YieldOp::create(b, loc, next);
          });
      for (auto [i, slab] : llvm::enumerate(slabs))
        closeSlab(b, loc, slab,
                  ValueRange(chunks.getResults()).slice(i * q * u, q * u));
    };
    RhsView direct{&access, Value()};

    // One row group: its u*V-wide slices of N, then the full V-wide slices
    // left (one tile of that many vectors where N is static, single slices
    // otherwise), then the masked tail.
    Value cuv = cst(u * vectorWidth);
    Value wideEnd = arith::SubIOp::create(
        rewriter, loc, cols, arith::RemUIOp::create(rewriter, loc, cols, cuv));
    // A tile of r > 1 vectors loads its p weights once for r slices: the
    // single-vector tile is bound by those loads, not by its FMAs.
    int64_t rest =
        ShapedType::isDynamic(staticN) ? 0 : staticN / vectorWidth % u;
    // The group's u*V-wide tiles over [lo, hi) of N.
    auto emitWide = [&](OpBuilder &b, Location loc, RhsView view, Value g,
                        Value lo, Value hi) {
      scf::ForOp::create(b, loc, lo, hi, cuv, ValueRange{},
                         [&](OpBuilder &b, Location loc, Value n0, ValueRange) {
                           emitTile(b, loc, view, g, n0, u, Value());
                           scf::YieldOp::create(b, loc);
                         });
    };
    // What the wide tiles leave of the group's N.
    auto emitRest = [&](OpBuilder &b, Location loc, RhsView view, Value g) {
      if (rest > 1)
        emitTile(b, loc, view, g, wideEnd, rest, Value());
      else if (u > 1)
        scf::ForOp::create(
            b, loc, wideEnd, fullEnd, cv, ValueRange{},
            [&](OpBuilder &b, Location loc, Value n0, ValueRange) {
              emitTile(b, loc, view, g, n0, 1, Value());
              scf::YieldOp::create(b, loc);
            });
      Value hasTail =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, tail, c0);
      scf::IfOp::create(b, loc, hasTail, [&](OpBuilder &b, Location loc) {
        Value mask =
            vector::CreateMaskOp::create(b, loc, maskTy, ValueRange{tail});
        emitTile(b, loc, view, g, fullEnd, 1, mask);
        scf::YieldOp::create(b, loc);
      });
    };
    std::function<void(OpBuilder &, Location, Value)> emitGroup =
        [&](OpBuilder &b, Location loc, Value g) {
          emitWide(b, loc, direct, g, c0, wideEnd);
          emitRest(b, loc, direct, g);
        };
    // Small N (batch-1 FC layers, late convolutions on small maps): a
    // V-wide tile along N would be mostly masked lanes, so vectorize along
    // the group's rows instead. Per group, N accumulators of p lanes; each
    // kept column loads its p weights as one vector (the packed values are
    // stored that way) and broadcasts each of its N rhs elements.
    if (smallN)
      emitGroup = [&, n = staticN](OpBuilder &b, Location loc, Value g) {
        auto rowTy = VectorType::get({p}, elemTy);
        Value zero =
            arith::ConstantOp::create(b, loc, elemTy, b.getZeroAttr(elemTy));
        auto [begin, end] = loadGroupBounds(b, loc, rowPtr, g);
        Value rowBase = arith::MulIOp::create(b, loc, g, cp);
        SmallVector<Value> inside, outRows;
        for (int64_t r = 0; r < p; ++r) {
          Value i = arith::AddIOp::create(b, loc, rowBase, cst(r));
          Value in =
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, i, rows);
          Value row = i;
          if (perm)
            row =
                scf::IfOp::create(
                    b, loc, in,
                    [&](OpBuilder &b, Location loc) {
                      scf::YieldOp::create(b, loc, loadIndex(b, loc, perm, i));
                    },
                    [&](OpBuilder &b, Location loc) {
                      scf::YieldOp::create(b, loc, c0);
                    })
                    .getResult(0);
          inside.push_back(in);
          outRows.push_back(row);
        }
        SmallVector<Value> accs;
        for (int64_t k = 0; k < n; ++k) {
          if (overwrite) {
            accs.push_back(arith::ConstantOp::create(
                b, loc, rowTy,
                DenseElementsAttr::get(rowTy, b.getZeroAttr(elemTy))));
            continue;
          }
          SmallVector<Value> elems;
          for (int64_t r = 0; r < p; ++r)
            elems.push_back(
                scf::IfOp::create(
                    b, loc, inside[r],
                    [&](OpBuilder &b, Location loc) {
                      Value v = bias ? memref::LoadOp::create(
                                           b, loc, bias, ValueRange{outRows[r]})
                                     : memref::LoadOp::create(
                                           b, loc, init,
                                           ValueRange{outRows[r], cst(k)});
                      scf::YieldOp::create(b, loc, v);
                    },
                    [&](OpBuilder &b, Location loc) {
                      scf::YieldOp::create(b, loc, zero);
                    })
                    .getResult(0));
          accs.push_back(vector::FromElementsOp::create(b, loc, rowTy, elems));
        }
        // Kept column j's FMAs into the n accumulators accs[k]: returns
        // the new ones.
        auto column = [&](OpBuilder &b, Location loc, Value j,
                          ValueRange accs) {
          Value w =
              extendValue(b, loc,
                          vector::LoadOp::create(b, loc, rowTy.clone(valueTy),
                                                 values, ValueRange{j, c0}),
                          elemTy);
          SmallVector<Value> rhsRow = access.rowPart(b, loc, j);
          SmallVector<Value> next;
          for (int64_t k = 0; k < n; ++k) {
            Value x = memref::LoadOp::create(
                b, loc, access.getSource(),
                access.indices(b, loc, rhsRow, access.colPart(b, loc, cst(k))));
            Value xb = vector::BroadcastOp::create(b, loc, rowTy, x);
            next.push_back(vector::FMAOp::create(b, loc, w, xb, accs[k]));
          }
          return next;
        };
        // With few columns of N, one set of accumulators is a few FMA
        // chains, each waiting on its last FMA's latency: `sets` of them
        // over consecutive kept columns (the first starting from init),
        // the columns left over after the last whole step into the first
        // set, then summed.
        int64_t sets =
            std::clamp<int64_t>(llvm::divideCeil(kFmaChains, n), 1,
                                std::max<int64_t>(1, accumulators / n));
        Value zeroRow;
        if (sets > 1)
          zeroRow = arith::ConstantOp::create(
              b, loc, rowTy,
              DenseElementsAttr::get(rowTy, b.getZeroAttr(elemTy)));
        // One weight prefetch per cache line of the step's values (per
        // column where a column's values fill a line or more).
        int64_t perLine = std::max<int64_t>(1, 64 / valueBytes);
        SmallVector<Value> partial = reduceInSets(
            b, loc, begin, end, sets, accs, zeroRow, column,
            [&](OpBuilder &b, Location loc, Value j) {
              for (int64_t s = 0; s < sets; s += perLine)
                prefetchWeights(
                    b, loc,
                    s == 0 ? j : arith::AddIOp::create(b, loc, j, cst(s)));
            });
        SmallVector<Value> sums;
        for (int64_t k = 0; k < n; ++k)
          sums.push_back(applyActivation(b, loc, op, partial[k]));
        for (int64_t r = 0; r < p; ++r)
          scf::IfOp::create(b, loc, inside[r], [&](OpBuilder &b, Location loc) {
            for (int64_t k = 0; k < n; ++k) {
              Value v = vector::ExtractOp::create(b, loc, sums[k], r);
              memref::StoreOp::create(b, loc, v, init,
                                      ValueRange{outRows[r], cst(k)});
            }
            scf::YieldOp::create(b, loc);
          });
      };
    // Row groups write disjoint rows of init, so they may run in parallel,
    // when there is enough work to pay for a second thread (kernels of
    // batch-1 RNN steps take microseconds); with an output that fits one
    // core's caches, only with 8 times that (see parallel-min-outputs).
    // Unknown sizes count as large.
    auto initTy = cast<MemRefType>(init.getType());
    int64_t fmas = valuesTy.hasStaticShape() && !ShapedType::isDynamic(staticN)
                       ? valuesTy.getNumElements() * staticN
                       : std::numeric_limits<int64_t>::max();
    bool fewOutputs =
        initTy.hasStaticShape() && initTy.getNumElements() < parallelMinOutputs;
    bool small = fmas < parallelMinFmas ||
                 (fewOutputs && fmas / kSmallOutputWork < parallelMinFmas);
    // What the loops below run for each index (a group, a row, a panel).
    using IndexBody = function_ref<void(OpBuilder &, Location, Value)>;
    // `body` for each i in [lo, hi), in a loop.
    auto forRange = [&](OpBuilder &b, Location loc, Value lo, Value hi,
                        IndexBody body) {
      scf::ForOp::create(b, loc, lo, hi, c1, ValueRange{},
                         [&](OpBuilder &b, Location loc, Value i, ValueRange) {
                           body(b, loc, i);
                           scf::YieldOp::create(b, loc);
                         });
    };
    // `body` for each i in [0, count): on threads, or in a loop.
    auto forEach = [&](OpBuilder &b, Location loc, Value count, bool threaded,
                       IndexBody body) {
      if (threaded)
        scf::ParallelOp::create(b, loc, ValueRange{c0}, ValueRange{count},
                                ValueRange{c1},
                                [&](OpBuilder &b, Location loc,
                                    ValueRange ivs) { body(b, loc, ivs[0]); });
      else
        forRange(b, loc, c0, count, body);
    };
    // `body(lo, hi)` for `chunks` (at most `groups`) ranges of consecutive
    // groups of about equal work, on threads: a group's work is its kept
    // columns plus one column's worth for its stores, so the work before
    // group g, row_ptr[g] + g, rises strictly, and chunk c starts at the
    // group whose work before it is nearest c / chunks of the total (a
    // binary search of row_ptr), chunk `chunks` at `groups`.
    using RangeBody = function_ref<void(OpBuilder &, Location, Value, Value)>;
    auto forEachChunk = [&](OpBuilder &b, Location loc, Value chunks,
                            RangeBody body) {
      auto workBefore = [&](OpBuilder &b, Location loc, Value g) {
        return arith::AddIOp::create(b, loc, loadIndex(b, loc, rowPtr, g), g);
      };
      Value total = workBefore(b, loc, groups);
      auto firstGroup = [&](OpBuilder &b, Location loc, Value chunk) {
        Value target = arith::DivUIOp::create(
            b, loc, arith::MulIOp::create(b, loc, chunk, total), chunks);
        Type index = b.getIndexType();
        auto search = scf::WhileOp::create(
            b, loc, TypeRange{index, index}, ValueRange{c0, groups},
            [&](OpBuilder &b, Location loc, ValueRange range) {
              Value open = arith::CmpIOp::create(
                  b, loc, arith::CmpIPredicate::ult, range[0], range[1]);
              scf::ConditionOp::create(b, loc, open, range);
            },
            [&](OpBuilder &b, Location loc, ValueRange range) {
              Value mid = arith::ShRUIOp::create(
                  b, loc, arith::AddIOp::create(b, loc, range[0], range[1]),
                  c1);
              Value before =
                  arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                        workBefore(b, loc, mid), target);
              scf::YieldOp::create(
                  b, loc,
                  ValueRange{
                      arith::SelectOp::create(
                          b, loc, before,
                          arith::AddIOp::create(b, loc, mid, c1), range[0]),
                      arith::SelectOp::create(b, loc, before, range[1], mid)});
            });
        // The nearer to the target of that group and the one before
        // (rounding every bound up would hand a thread up to a whole group
        // more than its share where groups are few).
        Value g = search.getResult(0);
        Value before = arith::SubIOp::create(
            b, loc, arith::MaxUIOp::create(b, loc, g, c1), c1);
        Value below =
            arith::SubIOp::create(b, loc, target, workBefore(b, loc, before));
        Value above =
            arith::SubIOp::create(b, loc, workBefore(b, loc, g), target);
        Value down = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                           below, above);
        return arith::SelectOp::create(b, loc, down, before, g).getResult();
      };
      scf::ParallelOp::create(
          b, loc, ValueRange{c0}, ValueRange{chunks}, ValueRange{c1},
          [&](OpBuilder &b, Location loc, ValueRange ivs) {
            Value lo = firstGroup(b, loc, ivs[0]);
            Value hi =
                firstGroup(b, loc, arith::AddIOp::create(b, loc, ivs[0], c1));
            body(b, loc, lo, hi);
          });
    };
    // `body` for each group, on threads in up to kBalanceChunks chunks.
    auto forEachBalanced = [&](OpBuilder &b, Location loc, IndexBody body) {
      Value chunks = arith::MinUIOp::create(
          b, loc, groups,
          arith::ConstantIndexOp::create(b, loc, kBalanceChunks));
      forEachChunk(b, loc, chunks,
                   [&](OpBuilder &b, Location loc, Value lo, Value hi) {
                     forRange(b, loc, lo, hi, body);
                   });
    };
    auto emitGroups = [&](OpBuilder &b, Location loc, IndexBody body) {
      if (parallel && !small)
        forEachBalanced(b, loc, body);
      else
        forEach(b, loc, groups, /*threaded=*/false, body);
    };
    if (panel > 0) {
      bool threaded = parallel && !small;
      int64_t kRows = rhsTy.getDimSize(0);
      int64_t wideCols = staticN - staticN % (u * vectorWidth);
      int64_t restWidth = llvm::alignTo(staticN - wideCols, vectorWidth);
      // Copies rhs columns [lo, lo + width) to `packed` in vectors, loaded
      // with masks unless `width` is a multiple of V (the panels); the rows
      // on threads with `threadedCopy`.
      auto pack = [&](OpBuilder &b, Location loc, Value packed, Value lo,
                      Value width, bool masked, bool threadedCopy) {
        auto copyRow = [&](OpBuilder &b, Location loc, Value k) {
          scf::ForOp::create(
              b, loc, c0, width, cv, ValueRange{},
              [&](OpBuilder &b, Location loc, Value n, ValueRange) {
                SmallVector<Value> at = {k,
                                         arith::AddIOp::create(b, loc, lo, n)};
                Value v;
                if (masked)
                  v = vector::MaskedLoadOp::create(
                      b, loc, vecTy, rhs, at,
                      vector::CreateMaskOp::create(
                          b, loc, maskTy,
                          ValueRange{arith::SubIOp::create(b, loc, width, n)}),
                      zeroVec);
                else
                  v = vector::LoadOp::create(b, loc, vecTy, rhs, at);
                vector::StoreOp::create(b, loc, v, packed, ValueRange{k, n});
                scf::YieldOp::create(b, loc);
              });
        };
        forEach(b, loc, cst(kRows), threadedCopy, copyRow);
      };
      // With the rhs's transpose folded, its columns [lo, lo + width) are
      // rows of the transpose's source; with init's, a panel's output
      // columns go to rows of that transpose's destination. Both moves are
      // linalg.transposes of views of static sizes, which
      // blkrew-prepare-loops turns into vector blocks.
      Value source = rhsTranspose ? rhsTranspose.getInput() : Value();
      Value dest = initTranspose ? initTranspose.getInit() : Value();
      int64_t mRows = cast<MemRefType>(init.getType()).getDimSize(0);
      OpFoldResult zero = rewriter.getIndexAttr(0);
      // The rows x cols block of `v` at `at`.
      auto block = [&](OpBuilder &b, Location loc, Value v,
                       ArrayRef<OpFoldResult> at, int64_t rows, int64_t cols) {
        return memref::SubViewOp::create(
            b, loc, v, at, getAsIndexOpFoldResult(b.getContext(), {rows, cols}),
            getAsIndexOpFoldResult(b.getContext(), {1, 1}));
      };
      // from[rows x cols] at `fromAt` into to[cols x rows] at `toAt`.
      auto transposeViews = [&](OpBuilder &b, Location loc, Value from,
                                ArrayRef<OpFoldResult> fromAt, Value to,
                                ArrayRef<OpFoldResult> toAt, int64_t rows,
                                int64_t cols) {
        linalg::TransposeOp::create(
            b, loc, block(b, loc, from, fromAt, rows, cols),
            block(b, loc, to, toAt, cols, rows), ArrayRef<int64_t>{1, 0});
      };
      auto packTransposed = [&](OpBuilder &b, Location loc, Value packed,
                                Value lo, int64_t width) {
        transposeViews(b, loc, source, {lo, zero}, packed, {zero, zero}, width,
                       kRows);
      };
      auto unpackTransposed = [&](OpBuilder &b, Location loc, Value outBuf,
                                  Value lo, int64_t width) {
        transposeViews(b, loc, outBuf, {zero, zero}, dest, {lo, zero}, mRows,
                       width);
      };
      // `body` with the panel's width as a constant: every panel but the
      // last is `panel` wide.
      int64_t panels = llvm::divideCeil(wideCols, panel);
      int64_t lastWidth = wideCols - (panels - 1) * panel;
      auto withWidth =
          [&](OpBuilder &b, Location loc, Value width,
              function_ref<void(OpBuilder &, Location, int64_t)> body) {
            if (lastWidth == panel)
              return body(b, loc, panel);
            Value full = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                               width, cst(panel));
            scf::IfOp::create(
                b, loc, full,
                [&](OpBuilder &b, Location loc) {
                  body(b, loc, panel);
                  scf::YieldOp::create(b, loc);
                },
                [&](OpBuilder &b, Location loc) {
                  body(b, loc, lastWidth);
                  scf::YieldOp::create(b, loc);
                });
          };
      // The buffers of one panel (or of the columns left): the packed rhs
      // and, with init's transpose folded, the output.
      struct Buffers {
        Value packed, out;
      };
      auto allocBuffers = [&](OpBuilder &b, Location loc, int64_t width) {
        auto alloc = [&](int64_t rows) -> Value {
          return memref::AllocOp::create(b, loc,
                                         MemRefType::get({rows, width}, elemTy),
                                         b.getI64IntegerAttr(64));
        };
        return Buffers{alloc(kRows), dest ? alloc(mRows) : Value()};
      };
      auto freeBuffers = [&](OpBuilder &b, Location loc, Buffers buffers) {
        for (Value buffer : {buffers.packed, buffers.out})
          if (buffer)
            memref::DeallocOp::create(b, loc, buffer);
      };
      // While one thread's groups [glo, ghi) run over the panel ending at
      // `hi`, the lines the next panel's packing reads are prefetched into
      // L2, each group its share after its tiles: the copy then finds them
      // there instead of waiting on one miss after another (FC 1024 at 90%,
      // rhs out of cache: median 1.08x faster, docs/compile.md). The copy
      // reads each rhs row's columns [hi, hi + panel) (a run of
      // `panel * elemBytes` bytes, so lines `lineElems` elements apart plus
      // the run's last element), or with the rhs's transpose folded, rows
      // [hi, hi + panel) of the transpose's source, whole.
      int64_t lineElems = std::max<int64_t>(1, 64 / elemBytes);
      SmallVector<int64_t> runOffsets;
      for (int64_t j = 0; j < panel; j += lineElems)
        runOffsets.push_back(j);
      runOffsets.push_back(panel - 1);
      int64_t lineStarts = llvm::divideCeil(kRows, lineElems);
      int64_t units = source ? panel * lineStarts : kRows;
      auto prefetchNextPanel = [&](OpBuilder &b, Location loc, Value hi,
                                   Value g, Value glo, Value ghi) {
        Value more = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                           hi, wideEnd);
        scf::IfOp::create(b, loc, more, [&](OpBuilder &b, Location loc) {
          Value per = arith::CeilDivUIOp::create(
              b, loc, cst(units), arith::SubIOp::create(b, loc, ghi, glo));
          Value first = arith::MinUIOp::create(
              b, loc,
              arith::MulIOp::create(b, loc,
                                    arith::SubIOp::create(b, loc, g, glo), per),
              cst(units));
          Value last = arith::MinUIOp::create(
              b, loc, arith::AddIOp::create(b, loc, first, per), cst(units));
          auto prefetch = [&](OpBuilder &b, Location loc, Value memref,
                              Value row, Value col) {
            memref::PrefetchOp::create(b, loc, memref, ValueRange{row, col},
                                       /*isWrite=*/false, /*localityHint=*/2,
                                       /*isDataCache=*/true);
          };
          Value lastCol = arith::SubIOp::create(b, loc, cols, c1);
          forRange(
              b, loc, first, last, [&](OpBuilder &b, Location loc, Value i) {
                if (source) {
                  // Line i of the next panel's rows of x[N, K].
                  Value n = arith::MinUIOp::create(
                      b, loc,
                      arith::AddIOp::create(
                          b, loc, hi,
                          arith::DivUIOp::create(b, loc, i, cst(lineStarts))),
                      lastCol);
                  Value k = arith::MulIOp::create(
                      b, loc,
                      arith::RemUIOp::create(b, loc, i, cst(lineStarts)),
                      cst(lineElems));
                  prefetch(b, loc, source, n, k);
                  return;
                }
                for (int64_t j : runOffsets)
                  prefetch(b, loc, rhs, i,
                           arith::MinUIOp::create(
                               b, loc,
                               arith::AddIOp::create(b, loc, hi, cst(j)),
                               lastCol));
              });
          scf::YieldOp::create(b, loc);
        });
      };
      // One panel, packed into `packed` and run by each group in turn, on
      // one thread (`groupLoop` walks the groups); then, with an output
      // buffer, moved out of it.
      using GroupLoop = function_ref<void(OpBuilder &, Location, IndexBody)>;
      auto emitPanel = [&](OpBuilder &b, Location loc, Buffers buffers,
                           const RhsAccess &packedAccess, Value lo,
                           GroupLoop groupLoop, Value glo = {},
                           Value ghi = {}) {
        Value hi = arith::MinUIOp::create(
            b, loc, arith::AddIOp::create(b, loc, lo, cst(panel)), wideEnd);
        Value width = arith::SubIOp::create(b, loc, hi, lo);
        if (source)
          withWidth(b, loc, width, [&](OpBuilder &b, Location loc, int64_t w) {
            packTransposed(b, loc, buffers.packed, lo, w);
          });
        else
          pack(b, loc, buffers.packed, lo, width, /*masked=*/false,
               /*threadedCopy=*/false);
        groupLoop(b, loc, [&](OpBuilder &b, Location loc, Value g) {
          emitWide(b, loc, RhsView{&packedAccess, lo, buffers.out}, g, lo, hi);
          if (glo)
            prefetchNextPanel(b, loc, hi, g, glo, ghi);
        });
        if (buffers.out)
          withWidth(b, loc, width, [&](OpBuilder &b, Location loc, int64_t w) {
            unpackTransposed(b, loc, buffers.out, lo, w);
          });
      };
      // Every panel in turn, into one set of buffers.
      auto emitPanels = [&](OpBuilder &b, Location loc, Buffers buffers,
                            const RhsAccess &packedAccess, GroupLoop groupLoop,
                            Value glo, Value ghi) {
        scf::ForOp::create(
            b, loc, c0, wideEnd, cst(panel), ValueRange{},
            [&](OpBuilder &b, Location loc, Value lo, ValueRange) {
              emitPanel(b, loc, buffers, packedAccess, lo, groupLoop, glo, ghi);
              scf::YieldOp::create(b, loc);
            });
      };
      // What the wide tiles leave of N (narrower than a tile, so than a
      // panel), packed with its partial vector zero-filled, then run by
      // the groups; the copy's rows on threads with `threadedCopy`.
      auto emitRestPanel = [&](OpBuilder &b, Location loc, Buffers buffers,
                               const RhsAccess &packedAccess, bool threadedCopy,
                               GroupLoop groupLoop) {
        int64_t left = staticN - wideCols;
        if (source) {
          // The columns left, then zeros to the vector boundary.
          packTransposed(b, loc, buffers.packed, wideEnd, left);
          if (left < restWidth) {
            Value pad =
                block(b, loc, buffers.packed, {zero, b.getIndexAttr(left)},
                      kRows, restWidth - left);
            linalg::FillOp::create(b, loc,
                                   ValueRange{arith::ConstantOp::create(
                                       b, loc, b.getZeroAttr(elemTy))},
                                   ValueRange{pad});
          }
        } else {
          pack(b, loc, buffers.packed, wideEnd,
               arith::SubIOp::create(b, loc, cols, wideEnd),
               /*masked=*/true, threadedCopy);
        }
        groupLoop(b, loc, [&](OpBuilder &b, Location loc, Value g) {
          emitRest(b, loc, RhsView{&packedAccess, wideEnd, buffers.out}, g);
        });
        if (buffers.out)
          unpackTransposed(b, loc, buffers.out, wideEnd, left);
      };
      auto allGroups = [&](OpBuilder &b, Location loc, IndexBody body) {
        forEach(b, loc, groups, /*threaded=*/false, body);
      };
      if (threaded && !dest) {
        // Each thread takes one stripe of consecutive groups of about
        // equal work and runs it over every panel, packing each into its
        // own buffer: one parallel region, no barrier, and a core's L2
        // holds its share of the weights besides the panel (1024 x 1024
        // at 90%: each thread streamed all 400 KiB of them per panel when
        // threads took whole panels). Each thread copies all of rhs, as
        // one thread does. The count is the OpenMP runtime's at the call.
        Value threads = ompMaxThreads(rewriter, loc, op);
        Value stripes = arith::MinUIOp::create(rewriter, loc, groups, threads);
        forEachChunk(
            rewriter, loc, stripes,
            [&](OpBuilder &b, Location loc, Value glo, Value ghi) {
              Buffers buffers = allocBuffers(b, loc, panel);
              RhsAccess packedAccess(b, loc, op, buffers.packed, colIdx,
                                     /*precomputeOffsets=*/true,
                                     /*padding=*/prefetch);
              auto stripe = [&](OpBuilder &b, Location loc, IndexBody body) {
                forRange(b, loc, glo, ghi, body);
              };
              emitPanels(b, loc, buffers, packedAccess, stripe, glo, ghi);
              if (restWidth > 0)
                emitRestPanel(b, loc, buffers, packedAccess,
                              /*threadedCopy=*/false, stripe);
              freeBuffers(b, loc, buffers);
            });
      } else {
        if (threaded) {
          // With the output's transpose folded, threads take whole panels,
          // each packing its own into its own buffer and running every
          // group over it, then moving its M x panel output into `y`'s
          // rows (a stripe's rows, permuted, would not be one block).
          scf::ParallelOp::create(
              rewriter, loc, ValueRange{c0}, ValueRange{cst(panels)},
              ValueRange{c1}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
                Value lo = arith::MulIOp::create(b, loc, ivs[0], cst(panel));
                Buffers buffers = allocBuffers(b, loc, panel);
                RhsAccess packedAccess(b, loc, op, buffers.packed, colIdx,
                                       /*precomputeOffsets=*/true,
                                       /*padding=*/prefetch);
                emitPanel(b, loc, buffers, packedAccess, lo, allGroups);
                freeBuffers(b, loc, buffers);
              });
        }
        // One set of buffers for the panels (one thread) and for what the
        // wide tiles leave of N.
        int64_t width = threaded ? restWidth : panel;
        if (width > 0) {
          Buffers buffers = allocBuffers(rewriter, loc, width);
          RhsAccess packedAccess(rewriter, loc, op, buffers.packed, colIdx,
                                 /*precomputeOffsets=*/true,
                                 /*padding=*/prefetch);
          if (!threaded)
            emitPanels(rewriter, loc, buffers, packedAccess, allGroups, c0,
                       groups);
          if (restWidth > 0)
            emitRestPanel(rewriter, loc, buffers, packedAccess, threaded,
                          emitGroups);
          freeBuffers(rewriter, loc, buffers);
        }
      }
    } else {
      emitGroups(rewriter, loc, emitGroup);
    }
    for (linalg::TransposeOp folded : {rhsTranspose, initTranspose})
      if (folded)
        rewriter.eraseOp(folded);
    rewriter.eraseOp(op);
    return success();
  }

  int64_t vectorWidth, maxUnrollRows, tileVectors, accumulators,
      prefetchDistance, weightPrefetchBytes, panelBytes;
  bool parallel;
  int64_t parallelMinFmas, parallelMinOutputs, slabChunkBytes, tileChains;
};
} // namespace

void mlir::blkrew::populateBlkRewToVectorConversionPatterns(
    RewritePatternSet &patterns, const ConvertBlkRewToVectorOptions &options) {
  patterns.add<BsrMatmulToVector>(
      patterns.getContext(), options.vectorWidth, options.maxUnrollRows,
      options.tileVectors, options.accumulators, options.prefetchDistance,
      options.weightPrefetchBytes, options.panelBytes, options.parallel,
      options.parallelMinFmas, options.parallelMinOutputs,
      options.slabChunkBytes, options.tileChains);
}

namespace mlir::blkrew {
namespace {
struct ConvertBlkRewToVectorPass
    : public impl::ConvertBlkRewToVectorBase<ConvertBlkRewToVectorPass> {
  using ConvertBlkRewToVectorBase::ConvertBlkRewToVectorBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (vectorWidth <= 0 || maxUnrollRows <= 0 || tileVectors < 0 ||
        accumulators <= 0 || prefetchDistance < 0 || panelBytes < 0 ||
        parallelMinFmas < 0 || parallelMinOutputs < 0 || slabChunkBytes < 0 ||
        tileChains <= 0) {
      module.emitError("convert-blkrew-to-vector: vector-width, "
                       "max-unroll-rows, accumulators and tile-chains must be "
                       "positive, "
                       "tile-vectors, prefetch-distance, panel-bytes, "
                       "parallel-min-fmas, parallel-min-outputs and "
                       "slab-chunk-bytes non-negative");
      return signalPassFailure();
    }
    if (failed(verifyBufferized(module, "convert-blkrew-to-vector")))
      return signalPassFailure();

    ConversionTarget target(getContext());
    target.addIllegalDialect<BlkRewDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateBlkRewToVectorConversionPatterns(
        patterns,
        ConvertBlkRewToVectorOptions{
            vectorWidth, maxUnrollRows, tileVectors, accumulators,
            prefetchDistance, weightPrefetchBytes, panelBytes, parallel,
            parallelMinFmas, parallelMinOutputs, slabChunkBytes, tileChains});
    // Fallback for to_dense and very tall groups.
    populateBlkRewToSCFConversionPatterns(patterns);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew
