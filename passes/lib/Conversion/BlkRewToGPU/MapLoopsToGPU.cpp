//===- MapLoopsToGPU.cpp - tile and map parallel loops to the GPU -*- C++
//-*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Tiles every outermost scf.parallel into workgroup-sized tiles and attaches
// the mapping attributes that upstream convert-parallel-loops-to-gpu reads.
// Copies become loops first, so that after the upstream conversion every
// piece of device work is a gpu.launch.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Conversion/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

#define DEBUG_TYPE "blkrew-map-loops-to-gpu"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWMAPLOOPSTOGPU
#include "blkrew/Conversion/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

/// Replaces `memref.copy` with an element-wise `scf.parallel` copy.
static LogicalResult copyToLoop(memref::CopyOp copy) {
  auto type = cast<MemRefType>(copy.getTarget().getType());
  if (!type.hasStaticShape())
    return copy.emitOpError("needs a static shape to run on the GPU");
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  if (type.getRank() == 0) {
    // In a one-invocation loop like the rest (see wrapSerialWork).
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    scf::ParallelOp::create(
        b, loc, c0, c1, c1, [&](OpBuilder &b, Location loc, ValueRange) {
          Value v =
              memref::LoadOp::create(b, loc, copy.getSource(), ValueRange{});
          memref::StoreOp::create(b, loc, v, copy.getTarget(), ValueRange{});
        });
  } else {
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    SmallVector<Value> ubs;
    for (int64_t size : type.getShape())
      ubs.push_back(arith::ConstantIndexOp::create(b, loc, size));
    SmallVector<Value> lbs(ubs.size(), c0), steps(ubs.size(), c1);
    scf::ParallelOp::create(
        b, loc, lbs, ubs, steps,
        [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value v = memref::LoadOp::create(b, loc, copy.getSource(), ivs);
          memref::StoreOp::create(b, loc, v, copy.getTarget(), ivs);
        });
  }
  copy.erase();
  return success();
}

/// Replaces `arith.truncf` of a scalar constant with the rounded constant
/// (round to nearest even, as the CPU would at run time). torch-mlir builds
/// the batch-norm epsilon as an f64 constant truncated to f32; mobile GPUs
/// have no Float64, and arith's folder keeps inexact truncations.
static void foldConstantTruncations(ModuleOp module) {
  module.walk([](arith::TruncFOp trunc) {
    FloatAttr value;
    auto type = dyn_cast<FloatType>(trunc.getType());
    if (!type || !matchPattern(trunc.getIn(), m_Constant(&value)))
      return;
    APFloat rounded = value.getValue();
    bool losesInfo = false;
    rounded.convert(type.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                    &losesInfo);
    OpBuilder b(trunc);
    Value folded = arith::ConstantOp::create(b, trunc.getLoc(), type,
                                             b.getFloatAttr(type, rounded));
    trunc.replaceAllUsesWith(folded);
    trunc.erase();
  });
}

/// Wraps the device work a function body does outside any parallel loop in
/// a one-iteration `scf.parallel`, which becomes a one-invocation launch: a
/// reduction over every element (a batch-1 softmax's max and sum, once the
/// unit batch dimension is folded away) lowers to an `scf.for` and the fill
/// of its rank-0 accumulator to a `memref.store`, neither of which the
/// Vulkan path's host side can run. Only ops without results (a loop
/// accumulating in registers would have to hand its result out), and not
/// host loops around parallel loops, whose launches stay launches.
static void wrapSerialWork(func::FuncOp func) {
  auto touchesMemory = [](Operation *op) {
    if (isa<memref::LoadOp, memref::StoreOp>(op))
      return true;
    if (op->getNumRegions() == 0)
      return false;
    bool memory = false, parallel = false;
    op->walk([&](Operation *inner) {
      memory |= isa<memref::LoadOp, memref::StoreOp>(inner);
      parallel |= isa<scf::ParallelOp>(inner);
    });
    return memory && !parallel;
  };
  SmallVector<Operation *> serial;
  for (Block &block : func.getBody())
    for (Operation &op : block)
      if (!isa<scf::ParallelOp>(op) && op.getNumResults() == 0 &&
          touchesMemory(&op))
        serial.push_back(&op);
  for (Operation *op : serial) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    auto loop = scf::ParallelOp::create(b, loc, c0, c1, c1);
    op->moveBefore(loop.getBody()->getTerminator());
  }
}

static gpu::ParallelLoopDimMappingAttr mapTo(MLIRContext *ctx,
                                             gpu::Processor processor) {
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  return gpu::ParallelLoopDimMappingAttr::get(ctx, processor, id, id);
}

static void mapSequential(scf::ParallelOp loop) {
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping(
      loop.getNumLoops(), mapTo(loop.getContext(), gpu::Processor::Sequential));
  (void)gpu::setMappingAttr(loop, mapping);
}

namespace mlir::blkrew {
namespace {
struct BlkRewMapLoopsToGPUPass
    : public impl::BlkRewMapLoopsToGPUBase<BlkRewMapLoopsToGPUPass> {
  using BlkRewMapLoopsToGPUBase::BlkRewMapLoopsToGPUBase;

  LogicalResult mapLoop(scf::ParallelOp loop);

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (workgroupSize <= 0 || !llvm::isPowerOf2_64(workgroupSize)) {
      module.emitError() << "workgroup-size must be a power of two, got "
                         << static_cast<int64_t>(workgroupSize);
      return signalPassFailure();
    }
    // Assertions inside device loops cannot abort a kernel.
    module.walk([](cf::AssertOp op) {
      if (op->getParentOfType<scf::ParallelOp>())
        op.erase();
    });
    foldConstantTruncations(module);
    SmallVector<memref::CopyOp> copies;
    module.walk([&](memref::CopyOp op) { copies.push_back(op); });
    for (memref::CopyOp copy : copies)
      if (failed(copyToLoop(copy)))
        return signalPassFailure();

    module.walk([](func::FuncOp func) { wrapSerialWork(func); });

    SmallVector<scf::ParallelOp> outermost;
    module.walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        outermost.push_back(loop);
    });
    for (scf::ParallelOp loop : outermost)
      if (failed(mapLoop(loop)))
        return signalPassFailure();
  }
};
} // namespace
} // namespace mlir::blkrew

LogicalResult BlkRewMapLoopsToGPUPass::mapLoop(scf::ParallelOp loop) {
  MLIRContext *ctx = loop.getContext();
  unsigned rank = loop.getNumLoops();
  SmallVector<int64_t> extents;
  for (unsigned d = 0; d < rank; ++d) {
    std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound()[d]);
    std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound()[d]);
    std::optional<int64_t> step = getConstantIntValue(loop.getStep()[d]);
    if (!lb || !ub || !step || *step <= 0)
      return loop.emitOpError()
             << "needs constant bounds and steps to run on the GPU (compile "
                "with static shapes); dimension "
             << d << " has not";
    extents.push_back(std::max<int64_t>(0, llvm::divideCeil(*ub - *lb, *step)));
  }

  // Hand out the workgroup's invocations, powers of two, from the innermost
  // (contiguous in memory) dimension outwards, over at most three dims.
  SmallVector<int64_t> tile(rank, 1);
  int64_t budget = workgroupSize;
  unsigned threadDims = 0;
  for (int d = rank - 1; d >= 0 && budget > 1 && threadDims < 3; --d) {
    if (extents[d] <= 1)
      continue;
    int64_t t = std::min<int64_t>(llvm::PowerOf2Ceil(extents[d]), budget);
    tile[d] = t;
    budget /= t;
    ++threadDims;
  }

  auto [outer, inner] =
      scf::tileParallelLoop(loop, tile, /*noMinMaxBounds=*/true);

  // Invocations within a tile: innermost tiled dimension first.
  SmallVector<gpu::ParallelLoopDimMappingAttr> innerMap(
      rank, mapTo(ctx, gpu::Processor::Sequential));
  const gpu::Processor threads[] = {gpu::Processor::ThreadX,
                                    gpu::Processor::ThreadY,
                                    gpu::Processor::ThreadZ};
  unsigned next = 0;
  for (int d = rank - 1; d >= 0; --d)
    if (tile[d] > 1)
      innerMap[d] = mapTo(ctx, threads[next++]);

  // Tiles: the grid, innermost dimension with more than one tile first.
  SmallVector<gpu::ParallelLoopDimMappingAttr> outerMap(
      rank, mapTo(ctx, gpu::Processor::Sequential));
  const gpu::Processor blocks[] = {
      gpu::Processor::BlockX, gpu::Processor::BlockY, gpu::Processor::BlockZ};
  next = 0;
  for (int d = rank - 1; d >= 0 && next < 3; --d) {
    int64_t count = llvm::divideCeil(extents[d], tile[d]);
    if (count <= 1)
      continue;
    if (count > maxWorkgroupCount)
      return outer.emitOpError()
             << "needs " << count << " workgroups along dimension " << d
             << ", more than the target's "
             << static_cast<int64_t>(maxWorkgroupCount);
    outerMap[d] = mapTo(ctx, blocks[next++]);
  }
  if (failed(gpu::setMappingAttr(outer, outerMap)) ||
      failed(gpu::setMappingAttr(inner, innerMap)))
    return outer.emitOpError("could not be mapped to the GPU");
  // Loops nested in the body run inside each invocation.
  inner.getBody()->walk([](scf::ParallelOp nested) { mapSequential(nested); });
  return success();
}
