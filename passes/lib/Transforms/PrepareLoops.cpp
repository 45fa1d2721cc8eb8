//===- PrepareLoops.cpp - Dense ops shaped for vectorization ---*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Prepares the dense ops that convert-linalg-to-loops turns into plain
// loops for LLVM's vectorizers: strided memref.copy becomes linalg.copy
// (loops, not the runner library's element-by-element memrefCopy),
// transposes and row copies move vector rows and blocks, NCHW depthwise
// convolutions get a contiguous innermost loop, element-wise ops merge
// adjacent loops, reduction sums may be reassociated and divisions by a
// row's value use its reciprocal. Also
// blkrew-fold-depthwise-padding, which runs earlier (before the arena is
// planned) and shares the depthwise helpers: depthwise convolutions read
// their zero padding implicitly instead of from a padded copy.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Transforms/MemoryOrder.h"
#include "blkrew/Transforms/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <numeric>

#define DEBUG_TYPE "blkrew-prepare-loops"

namespace mlir::blkrew {
#define GEN_PASS_DEF_BLKREWFOLDDEPTHWISEPADDING
#define GEN_PASS_DEF_BLKREWPREPARELOOPS
#define GEN_PASS_DEF_BLKREWCOLLAPSETRANSPOSES
#include "blkrew/Transforms/Passes.h.inc"
} // namespace mlir::blkrew

using namespace mlir;
using namespace mlir::blkrew;

/// True when `value` is a memref whose elements are one dense row-major
/// block: what finalize-memref-to-llvm copies with memcpy (the same test).
static bool isContiguous(Value value) {
  auto type = cast<MemRefType>(value.getType());
  return type.getLayout().isIdentity() ||
         memref::isStaticShapeAndContiguousRowMajor(type);
}

/// True when the innermost dimension of `value` (a memref) has unit stride.
static bool hasUnitInnerStride(Value value) {
  auto type = cast<MemRefType>(value.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  return type.getRank() > 0 &&
         succeeded(type.getStridesAndOffset(strides, offset)) &&
         strides.back() == 1;
}

/// True when `e` is `d` plus terms free of loop `inner` (which `d` is).
static bool isShiftOf(AffineExpr e, AffineExpr d, unsigned inner) {
  if (e == d)
    return true;
  auto add = dyn_cast<AffineBinaryOpExpr>(e);
  if (!add || add.getKind() != AffineExprKind::Add)
    return false;
  AffineExpr lhs = add.getLHS(), rhs = add.getRHS();
  return (isShiftOf(lhs, d, inner) && !rhs.isFunctionOfDim(inner)) ||
         (isShiftOf(rhs, d, inner) && !lhs.isFunctionOfDim(inner));
}

/// The vector length rows of `n` elements are processed in: `n` itself
/// when that is 4 to 64, else the largest of 64, 32, 16 dividing it; 0 when
/// none fits (rows too short to gain, or no chunk divides them).
static int64_t rowVectorLength(int64_t n) {
  if (n < 4)
    return 0;
  if (n <= 64)
    return n;
  for (int64_t chunk : {64, 32, 16})
    if (n % chunk == 0)
      return chunk;
  return 0;
}

/// Loops over the static `ranges` from 0 in `stepSizes`; `body` gets the
/// induction variables. With `parallel`, the loops up to the first one
/// longer than 1 form one `scf.parallel` (its iterations write disjoint
/// parts of the output) and the rest nest inside it.
static void
buildLoops(OpBuilder &builder, Location loc, ArrayRef<int64_t> ranges,
           ArrayRef<int64_t> stepSizes, bool parallel,
           function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  SmallVector<Value> lbs, ubs, steps;
  for (auto [range, step] : llvm::zip_equal(ranges, stepSizes)) {
    lbs.push_back(arith::ConstantIndexOp::create(builder, loc, 0));
    ubs.push_back(arith::ConstantIndexOp::create(builder, loc, range));
    steps.push_back(arith::ConstantIndexOp::create(builder, loc, step));
  }
  if (!parallel) {
    scf::buildLoopNest(builder, loc, lbs, ubs, steps, body);
    return;
  }
  size_t split = 0;
  while (split + 1 < ranges.size() && ranges[split] == 1)
    ++split;
  ++split;
  auto head = [&](ArrayRef<Value> v) {
    return ValueRange(v.take_front(split));
  };
  auto tail = [&](ArrayRef<Value> v) {
    return ValueRange(v.drop_front(split));
  };
  scf::ParallelOp::create(
      builder, loc, head(lbs), head(ubs), head(steps),
      [&](OpBuilder &b, Location loc, ValueRange outer) {
        scf::buildLoopNest(b, loc, tail(lbs), tail(ubs), tail(steps),
                           [&](OpBuilder &b, Location loc, ValueRange inner) {
                             SmallVector<Value> ivs(outer);
                             llvm::append_range(ivs, inner);
                             body(b, loc, ivs);
                           });
      });
}

/// buildLoops with the last of `ranges` in steps of `length` (one vector
/// row) and the others in steps of 1.
static void
buildRowLoops(OpBuilder &builder, Location loc, ArrayRef<int64_t> ranges,
              int64_t length, bool parallel,
              function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  SmallVector<int64_t> stepSizes(ranges.size(), 1);
  stepSizes.back() = length;
  buildLoops(builder, loc, ranges, stepSizes, parallel, body);
}

/// The length of the vector rows a copy-like generic is moved in
/// (rowVectorLength of its innermost loop); 0 when the op is not a row
/// copy: one input, yielded as is,
/// all loops parallel with static ranges, the innermost loop indexing the
/// last dimension of both operands (input: `e + d`, with `e` free of it;
/// output: `d`), with unit stride there and nowhere else.
static int64_t rowCopyLength(linalg::LinalgOp op) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 0 || !op.hasPureBufferSemantics())
    return 0;
  Block &body = *op.getBlock();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 1 ||
      yield.getValues().front() != body.getArgument(0))
    return 0;
  OpOperand *in = op.getDpsInputOperand(0);
  OpOperand *out = op.getDpsInitOperand(0);
  if (!hasUnitInnerStride(in->get()) || !hasUnitInnerStride(out->get()))
    return 0;
  // Whole bytes per element: a vector of i1 is packed bits, a memref of i1
  // is not.
  Type elem = cast<MemRefType>(in->get().getType()).getElementType();
  if (!elem.isIntOrFloat() || elem.getIntOrFloatBitWidth() % 8 != 0)
    return 0;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ranges.empty() || llvm::any_of(ranges, ShapedType::isDynamic))
    return 0;
  unsigned inner = ranges.size() - 1;
  AffineMap inMap = op.getMatchingIndexingMap(in);
  AffineMap outMap = op.getMatchingIndexingMap(out);
  AffineExpr d = getAffineDimExpr(inner, op.getContext());
  // Each map's last result moves with the innermost loop, one for one
  // (the output's is that loop); no other result moves with it.
  for (AffineMap map : {inMap, outMap}) {
    for (AffineExpr e : map.getResults().drop_back())
      if (e.isFunctionOfDim(inner))
        return 0;
    if (!isShiftOf(map.getResults().back(), d, inner))
      return 0;
  }
  if (outMap.getResults().back() != d)
    return 0;
  return rowVectorLength(ranges[inner]);
}

/// Rewrites a row copy (see rowCopyLength) as loops over its outer
/// dimensions around one vector load and store per row of `length`.
static void vectorizeRowCopy(RewriterBase &rewriter, linalg::LinalgOp op,
                             int64_t length, bool parallel) {
  Location loc = op.getLoc();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  Value src = op.getDpsInputOperand(0)->get();
  Value dst = op.getDpsInitOperand(0)->get();
  AffineMap inMap = op.getMatchingIndexingMap(op.getDpsInputOperand(0));
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  auto elemType = cast<MemRefType>(src.getType()).getElementType();
  auto vecType = VectorType::get({length}, elemType);

  rewriter.setInsertionPoint(op);
  buildRowLoops(
      rewriter, loc, ranges, length, parallel,
      [&](OpBuilder &b, Location loc, ValueRange ivs) {
        auto indices = [&](AffineMap map) {
          SmallVector<Value> values;
          for (unsigned r = 0; r < map.getNumResults(); ++r)
            values.push_back(getValueOrCreateConstantIndexOp(
                b, loc,
                affine::makeComposedFoldedAffineApply(
                    b, loc, map.getSubMap({r}), getAsOpFoldResult(ivs))));
          return values;
        };
        Value row =
            vector::LoadOp::create(b, loc, vecType, src, indices(inMap));
        vector::StoreOp::create(b, loc, row, dst, indices(outMap));
      });
  rewriter.eraseOp(op);
}

/// Rewrites a 2-D f32 `linalg.transpose` of static, unit-inner-stride
/// buffers (the input and output transposes around a linear layer's kernel
/// at a batch above 1) as `tile` x `tile` blocks: `tile` row loads, one
/// `vector.transpose` (appended to `transposes`, for the caller to lower to
/// shuffles) and `tile` row stores each; the strips past the last full
/// block stay `linalg.transpose`s of subviews. LLVM's vectorizer made the
/// loop nest gathers (measured: 0.54 ms for 256x1024, as long as the
/// 90%-pruned 1024x1024 kernel between the two transposes; 0.20 ms now).
/// With `parallel`, the loop over row blocks is an `scf.parallel` (blocks
/// write disjoint columns of the output).
static LogicalResult
vectorizeTranspose(RewriterBase &rewriter, linalg::TransposeOp op, int64_t tile,
                   bool parallel, SmallVectorImpl<Operation *> &transposes) {
  Value in = op.getInput(), out = op.getInit();
  auto inType = dyn_cast<MemRefType>(in.getType());
  auto outType = dyn_cast<MemRefType>(out.getType());
  if (tile < 2 || !inType || !outType || inType.getRank() != 2 ||
      !inType.hasStaticShape() || !inType.getElementType().isF32() ||
      !hasUnitInnerStride(in) || !hasUnitInnerStride(out))
    return failure();
  int64_t rows = inType.getDimSize(0), cols = inType.getDimSize(1);
  int64_t fullRows = rows / tile * tile, fullCols = cols / tile * tile;
  if (fullRows == 0 || fullCols == 0)
    return failure();
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  auto rowType = VectorType::get({tile}, inType.getElementType());
  auto blockType = VectorType::get({tile, tile}, inType.getElementType());
  auto cst = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  // One block per (i0, j0): its rows loaded, transposed, stored as rows.
  auto block = [&](OpBuilder &b, Location loc, ValueRange ivs) {
    Value i0 = ivs[0], j0 = ivs[1];
    Value acc = arith::ConstantOp::create(
        b, loc, blockType,
        DenseElementsAttr::get(blockType, b.getZeroAttr(b.getF32Type())));
    for (int64_t r = 0; r < tile; ++r) {
      Value i = arith::AddIOp::create(b, loc, i0, cst(b, r));
      Value row =
          vector::LoadOp::create(b, loc, rowType, in, ValueRange{i, j0});
      acc = vector::InsertOp::create(b, loc, row, acc, r);
    }
    auto transposed =
        vector::TransposeOp::create(b, loc, acc, ArrayRef<int64_t>{1, 0});
    transposes.push_back(transposed);
    for (int64_t c = 0; c < tile; ++c) {
      Value j = arith::AddIOp::create(b, loc, j0, cst(b, c));
      Value row = vector::ExtractOp::create(b, loc, transposed, c);
      vector::StoreOp::create(b, loc, row, out, ValueRange{j, i0});
    }
  };
  buildLoops(rewriter, loc, {fullRows, fullCols}, {tile, tile}, parallel,
             block);
  // The strips left: input columns past the last full block (all rows),
  // then input rows past it (the full columns).
  auto strip = [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    if (r0 == r1 || c0 == c1)
      return;
    auto view = [&](Value v, int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
      return memref::SubViewOp::create(
          rewriter, loc, v,
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(a0),
                                 rewriter.getIndexAttr(b0)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(a1 - a0),
                                 rewriter.getIndexAttr(b1 - b0)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1),
                                 rewriter.getIndexAttr(1)});
    };
    linalg::TransposeOp::create(rewriter, loc, view(in, r0, r1, c0, c1),
                                view(out, c0, c1, r0, r1),
                                ArrayRef<int64_t>{1, 0});
  };
  strip(0, rows, fullCols, cols);
  strip(fullRows, rows, 0, fullCols);
  rewriter.eraseOp(op);
  return success();
}

/// Rewrites a static `linalg.transpose` whose dimensions move in runs
/// (dimensions adjacent and in order in the output that are so in the
/// input too, as in a linear layer's `[s, b, d] -> [b, d, s]` or the split
/// of attention's heads) as the transpose of those runs, each collapsed to
/// one dimension (`memref.collapse_shape` on both sides): the 2-D
/// transposes and the row copies below then take it, where LLVM vectorized
/// the nest with gathers. Returns the new op, or `op` when no run is longer
/// than one dimension or a side cannot be collapsed.
static linalg::TransposeOp collapseTranspose(RewriterBase &rewriter,
                                             linalg::TransposeOp op) {
  auto inType = dyn_cast<MemRefType>(op.getInput().getType());
  auto outType = dyn_cast<MemRefType>(op.getInit().getType());
  if (!inType || !outType || !inType.hasStaticShape())
    return op;
  ArrayRef<int64_t> perm = op.getPermutation();
  // Runs of output dimensions whose input dimensions follow one another.
  SmallVector<ReassociationIndices> outGroups;
  for (auto [i, d] : llvm::enumerate(perm)) {
    if (i > 0 && d == perm[i - 1] + 1)
      outGroups.back().push_back(i);
    else
      outGroups.push_back({static_cast<int64_t>(i)});
  }
  if (outGroups.size() == perm.size())
    return op;
  // The same runs in the input's order; the collapsed permutation.
  SmallVector<int64_t> order(outGroups.size());
  std::iota(order.begin(), order.end(), 0);
  llvm::sort(order, [&](int64_t a, int64_t b) {
    return perm[outGroups[a].front()] < perm[outGroups[b].front()];
  });
  SmallVector<ReassociationIndices> inGroups;
  SmallVector<int64_t> collapsedPerm(outGroups.size());
  for (auto [rank, g] : llvm::enumerate(order)) {
    ReassociationIndices group;
    for (int64_t i : outGroups[g])
      group.push_back(perm[i]);
    inGroups.push_back(group);
    collapsedPerm[g] = rank;
  }
  if (!memref::CollapseShapeOp::isGuaranteedCollapsible(inType, inGroups) ||
      !memref::CollapseShapeOp::isGuaranteedCollapsible(outType, outGroups))
    return op;
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  // The collapse of an expand by the same groups is its source (the buffer
  // a kernel reads or writes whole).
  auto collapse = [&](Value v, ArrayRef<ReassociationIndices> groups) {
    auto expand = v.getDefiningOp<memref::ExpandShapeOp>();
    if (expand && expand.getReassociationIndices() == groups)
      return expand.getSrc();
    return memref::CollapseShapeOp::create(rewriter, loc, v, groups)
        .getResult();
  };
  Value in = collapse(op.getInput(), inGroups);
  Value out = collapse(op.getInit(), outGroups);
  auto collapsed =
      linalg::TransposeOp::create(rewriter, loc, in, out, collapsedPerm);
  rewriter.eraseOp(op);
  return collapsed;
}

/// collapseTranspose on every `linalg.transpose` under `root`; returns the
/// transposes as they are after it.
static SmallVector<linalg::TransposeOp>
collapseTransposes(RewriterBase &rewriter, Operation *root) {
  SmallVector<linalg::TransposeOp> transposes;
  root->walk([&](linalg::TransposeOp op) { transposes.push_back(op); });
  for (linalg::TransposeOp &op : transposes)
    op = collapseTranspose(rewriter, op);
  return transposes;
}

/// `op` when it broadcasts a per-channel bias into the NCHW buffer `out`,
/// else null.
static linalg::BroadcastOp channelBias(Operation *op, Value out) {
  auto broadcast = dyn_cast_or_null<linalg::BroadcastOp>(op);
  if (broadcast && broadcast.getInit() == out &&
      broadcast.getDimensions() == ArrayRef<int64_t>{0, 2, 3})
    return broadcast;
  return {};
}

/// Whether `op` is worth threads: with `parallel`, when its loops (all
/// static) run at least `minIterations` times in all.
static bool worthThreads(linalg::LinalgOp op, bool parallel,
                         int64_t minIterations) {
  if (!parallel)
    return false;
  int64_t iterations = 1;
  for (int64_t range : op.getStaticLoopRanges()) {
    if (ShapedType::isDynamic(range))
      return false;
    iterations *= range;
  }
  return iterations >= minIterations;
}

/// The element-wise op that transforms the NCHW buffer `out` in place
/// right after `op` (nothing touching memory in between), when its body
/// maps its one input through vectorizable element-wise ops (arith's: the
/// ReLU6 after a depthwise convolution): the kernel applies it to each
/// row before storing it, instead of another pass over memory. Else null.
static linalg::GenericOp activationAfter(Operation *op, Value out) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(firstMemoryOpAfter(op));
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 ||
      generic.getDpsInputOperand(0)->get() != out ||
      generic.getDpsInitOperand(0)->get() != out ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return {};
  Block &body = generic.getRegion().front();
  if (!body.getArgument(1).use_empty())
    return {};
  for (Operation &inner : body.without_terminator()) {
    bool scalar = llvm::all_of(inner.getResultTypes(),
                               [](Type t) { return t.isIntOrIndexOrFloat(); });
    if (!scalar || inner.getNumRegions() != 0 ||
        !(matchPattern(&inner, m_Constant()) ||
          (inner.hasTrait<OpTrait::Elementwise>() &&
           inner.hasTrait<OpTrait::Vectorizable>())))
      return {};
  }
  return generic;
}

/// The body of `activation` (see activationAfter) applied lane by lane to
/// `row`: each op recreated on vectors, scalars from outside broadcast.
static Value applyActivation(OpBuilder &b, Location loc,
                             linalg::GenericOp activation, Value row) {
  ArrayRef<int64_t> shape = cast<VectorType>(row.getType()).getShape();
  Block &body = activation.getRegion().front();
  IRMapping map;
  map.map(body.getArgument(0), row);
  auto vectorOf = [&](Value v) -> Value {
    if (Value mapped = map.lookupOrNull(v))
      return mapped;
    Value splat = vector::BroadcastOp::create(
        b, loc, VectorType::get(shape, v.getType()), v);
    map.map(v, splat);
    return splat;
  };
  for (Operation &inner : body.without_terminator()) {
    if (matchPattern(&inner, m_Constant())) {
      map.map(inner.getResult(0), vectorOf(b.clone(inner)->getResult(0)));
      continue;
    }
    OperationState state(loc, inner.getName());
    for (Value operand : inner.getOperands())
      state.addOperands(vectorOf(operand));
    for (Type type : inner.getResultTypes())
      state.addTypes(VectorType::get(shape, type));
    state.addAttributes(inner.getAttrs());
    map.map(inner.getResults(), b.create(state)->getResults());
  }
  return vectorOf(body.getTerminator()->getOperand(0));
}

/// Rewrites an NCHW depthwise convolution as loops over (n, c, oh, ow
/// chunk), each accumulating a row of outputs in one vector across the
/// unrolled kernel taps: out[n, c, oh, ow..] += w[c, kh, kw] *
/// in[n, c, oh * sh + kh * dh, ow.. * sw + kw * dw]; with sw > 1 each tap
/// loads the span of inputs and shuffles out every sw-th. A bias broadcast
/// into `out` right before is folded into the rows' starting values. Fails
/// (and changes nothing) for other shapes.
static LogicalResult vectorizeDepthwise(RewriterBase &rewriter,
                                        linalg::DepthwiseConv2DNchwChwOp conv,
                                        bool parallel) {
  Value in = conv.getDpsInputOperand(0)->get();
  Value filter = conv.getDpsInputOperand(1)->get();
  Value out = conv.getDpsInitOperand(0)->get();
  auto inType = dyn_cast<MemRefType>(in.getType());
  auto filterType = dyn_cast<MemRefType>(filter.getType());
  auto outType = dyn_cast<MemRefType>(out.getType());
  if (!inType || !filterType || !outType || !inType.hasStaticShape() ||
      !filterType.hasStaticShape() || !outType.hasStaticShape() ||
      !inType.getElementType().isF32() ||
      !filterType.getElementType().isF32() ||
      !outType.getElementType().isF32() || !hasUnitInnerStride(in) ||
      !hasUnitInnerStride(out))
    return failure();
  SmallVector<int64_t> strides(conv.getStrides().getValues<int64_t>());
  SmallVector<int64_t> dilations(conv.getDilations().getValues<int64_t>());
  ArrayRef<int64_t> outShape = outType.getShape();
  int64_t kh = filterType.getDimSize(1), kw = filterType.getDimSize(2);
  int64_t length = rowVectorLength(outShape[3]);
  // A width stride s reads a span of (length - 1) * s + 1 inputs per tap
  // and keeps every s-th (one shuffle).
  int64_t sw = strides[1];
  int64_t span = (length - 1) * sw + 1;
  if (!length || kh * kw > 49 || span > 128)
    return failure();

  // A per-channel bias broadcast into `out` just before (nothing touching
  // memory in between): each row starts from its channel's bias instead
  // of loading what the broadcast stored, and the broadcast goes.
  Value bias;
  if (linalg::BroadcastOp broadcast =
          channelBias(lastMemoryOpBefore(conv), out)) {
    bias = broadcast.getInput();
    rewriter.eraseOp(broadcast);
  }

  linalg::GenericOp activation = activationAfter(conv, out);
  Location loc = conv.getLoc();
  auto vecType = VectorType::get({length}, inType.getElementType());
  auto spanType = VectorType::get({span}, inType.getElementType());
  SmallVector<int64_t> every;
  for (int64_t l = 0; l < length; ++l)
    every.push_back(l * sw);
  // At the activation when there is one: what its body uses from outside
  // may be defined after the convolution (nothing between touches memory).
  rewriter.setInsertionPoint(activation ? activation.getOperation()
                                        : conv.getOperation());
  auto index = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  AffineExpr d0 = getAffineDimExpr(0, rewriter.getContext());
  buildRowLoops(
      rewriter, loc, outShape, length, parallel,
      [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value n = ivs[0], c = ivs[1], oh = ivs[2], ow = ivs[3];
        Value acc;
        if (bias)
          acc = vector::BroadcastOp::create(
              b, loc, vecType,
              memref::LoadOp::create(b, loc, bias, ValueRange{c}));
        else
          acc = vector::LoadOp::create(b, loc, vecType, out, ivs);
        for (int64_t i = 0; i < kh; ++i) {
          Value row = affine::AffineApplyOp::create(
              b, loc, AffineMap::get(1, 0, d0 * strides[0] + i * dilations[0]),
              ValueRange{oh});
          for (int64_t j = 0; j < kw; ++j) {
            Value col = affine::AffineApplyOp::create(
                b, loc, AffineMap::get(1, 0, d0 * sw + j * dilations[1]),
                ValueRange{ow});
            Value w = memref::LoadOp::create(
                b, loc, filter, ValueRange{c, index(b, i), index(b, j)});
            Value x = vector::LoadOp::create(b, loc, spanType, in,
                                             ValueRange{n, c, row, col});
            if (sw != 1)
              x = vector::ShuffleOp::create(b, loc, x, x, every);
            Value wv = vector::BroadcastOp::create(b, loc, vecType, w);
            acc = vector::FMAOp::create(b, loc, x, wv, acc);
          }
        }
        if (activation)
          acc = applyActivation(b, loc, activation, acc);
        vector::StoreOp::create(b, loc, acc, out, ivs);
      });
  rewriter.eraseOp(conv);
  if (activation)
    rewriter.eraseOp(activation);
  return success();
}

/// The value a fill-like op writes to every element of its one output: a
/// `linalg.fill`'s scalar, or what a `linalg.map` without inputs yields
/// from outside its body (a bufferized `tensor.pad`). Null otherwise.
static Value filledValue(Operation *op) {
  auto linalgOp = dyn_cast_or_null<linalg::LinalgOp>(op);
  if (!linalgOp || linalgOp.getNumDpsInits() != 1)
    return {};
  if (isa<linalg::FillOp>(op))
    return linalgOp.getDpsInputOperand(0)->get();
  if (!isa<linalg::MapOp>(op) || linalgOp.getNumDpsInputs() != 0)
    return {};
  Value yielded = linalgOp.getBlock()->getTerminator()->getOperand(0);
  if (op->isAncestor(yielded.getParentRegion()->getParentOp()))
    return {};
  return yielded;
}

/// The buffer whose elements `value` reshapes in their linear order
/// (through collapse_shape, expand_shape and cast), or `value` itself.
static Value reshapedBuffer(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    if (auto op = dyn_cast<memref::CollapseShapeOp>(def))
      value = op.getSrc();
    else if (auto op = dyn_cast<memref::ExpandShapeOp>(def))
      value = op.getSrc();
    else if (auto op = dyn_cast<memref::CastOp>(def))
      value = op.getSource();
    else
      break;
  }
  return value;
}

/// Whether buffers `a` and `b` (see reshapedBuffer) share no element:
/// two allocations, or an allocation and an argument.
static bool areDisjoint(Value a, Value b) {
  bool allocA = a.getDefiningOp<memref::AllocOp>() != nullptr;
  bool allocB = b.getDefiningOp<memref::AllocOp>() != nullptr;
  return a != b && (allocA || isa<BlockArgument>(a)) &&
         (allocB || isa<BlockArgument>(b)) && (allocA || allocB);
}

/// See the pass description (blkrew-fold-depthwise-padding).
static LogicalResult foldDepthwisePadding(RewriterBase &rewriter,
                                          linalg::DepthwiseConv2DNchwChwOp conv,
                                          bool parallel) {
  Value padded = conv.getDpsInputOperand(0)->get();
  Value filter = conv.getDpsInputOperand(1)->get();
  Value out = conv.getDpsInitOperand(0)->get();
  Block *block = conv->getBlock();
  auto alloc = padded.getDefiningOp<memref::AllocOp>();
  if (!alloc || alloc->getBlock() != block)
    return failure();
  // The padded buffer's only users: a zero fill, the interior view a copy
  // writes, the convolution.
  Operation *fill = nullptr;
  memref::SubViewOp interior;
  for (Operation *user : padded.getUsers()) {
    if (user == conv.getOperation())
      continue;
    Value value = filledValue(user);
    if (!fill && value && matchPattern(value, m_AnyZeroFloat())) {
      fill = user;
      continue;
    }
    if (auto view = dyn_cast<memref::SubViewOp>(user); view && !interior) {
      interior = view;
      continue;
    }
    return failure();
  }
  if (!fill || !interior || !interior->hasOneUse())
    return failure();
  Operation *copy = *interior->getUsers().begin();
  Value source;
  if (auto op = dyn_cast<memref::CopyOp>(copy);
      op && op.getTarget() == interior)
    source = op.getSource();
  else if (auto op = dyn_cast<linalg::CopyOp>(copy);
           op && op.getDpsInitOperand(0)->get() == interior)
    source = op.getDpsInputOperand(0)->get();
  else
    return failure();
  if (fill->getBlock() != block || copy->getBlock() != block ||
      !fill->isBeforeInBlock(copy) || !copy->isBeforeInBlock(conv))
    return failure();
  // What initializes the output, folded into the rows' starting values:
  // a per-channel bias or a constant written last before the convolution.
  Operation *init = lastMemoryOpBefore(conv);
  linalg::BroadcastOp bias = channelBias(init, out);
  Value initValue = bias ? Value() : filledValue(init);
  if (initValue && init->getOperand(init->getNumOperands() - 1) != out)
    initValue = {};
  if ((!bias && !initValue) || init == copy)
    init = nullptr;
  for (Operation *op = fill->getNextNode(); op != conv.getOperation();
       op = op->getNextNode())
    if (op != copy && op != init && !isMemoryEffectFree(op) &&
        !isa<memref::AllocOp>(op))
      return failure();

  // Shapes: static f32 rows, the interior at [0, 0, top, left].
  auto srcType = dyn_cast<MemRefType>(source.getType());
  auto outType = dyn_cast<MemRefType>(out.getType());
  auto filterType = dyn_cast<MemRefType>(filter.getType());
  if (!srcType || !outType || !filterType || !srcType.hasStaticShape() ||
      !outType.hasStaticShape() || !filterType.hasStaticShape() ||
      !srcType.getLayout().isIdentity() || !outType.getLayout().isIdentity() ||
      !srcType.getElementType().isF32() || !outType.getElementType().isF32() ||
      !filterType.getElementType().isF32() || !interior.hasUnitStride() ||
      ShapedType::isDynamicShape(interior.getStaticOffsets()) ||
      interior.getType().getShape() != srcType.getShape())
    return failure();
  ArrayRef<int64_t> offsets = interior.getStaticOffsets();
  if (offsets[0] != 0 || offsets[1] != 0)
    return failure();
  int64_t top = offsets[2], left = offsets[3];
  ArrayRef<int64_t> inShape = srcType.getShape(), outShape = outType.getShape();
  int64_t height = inShape[2], width = inShape[3];
  int64_t outHeight = outShape[2], outWidth = outShape[3];
  int64_t kh = filterType.getDimSize(1), kw = filterType.getDimSize(2);
  SmallVector<int64_t> strides(conv.getStrides().getValues<int64_t>());
  SmallVector<int64_t> dilations(conv.getDilations().getValues<int64_t>());
  int64_t sh = strides[0], sw = strides[1], dw = dilations[1];
  // Rows of up to 64 (one vector each) stay in registers; wider ones go
  // through a ring of kh padded rows in memory, in chunks of `lanes`.
  bool inRegisters = width <= 64 && rowVectorLength(outWidth) == outWidth;
  int64_t lanes = rowVectorLength(outWidth);
  int64_t copyLanes = rowVectorLength(width);
  int64_t span = (lanes - 1) * sw + 1;
  if (dilations[0] != 1 || kh * kw > 49 || !lanes ||
      (!inRegisters && (!copyLanes || span > 128)))
    return failure();
  // In place: every input row is in the window before the output row at
  // its place is stored.
  Value srcBuffer = reshapedBuffer(source), outBuffer = reshapedBuffer(out);
  if (srcBuffer == outBuffer) {
    if (inShape != outShape || sh != 1 || top > kh - 1 || !init)
      return failure();
  } else if (!areDisjoint(srcBuffer, outBuffer)) {
    return failure();
  }

  linalg::GenericOp activation = activationAfter(conv, out);
  Location loc = conv.getLoc();
  Type f32 = srcType.getElementType();
  auto rowType = VectorType::get({width}, f32);
  auto outRowType = VectorType::get({lanes}, f32);
  // At the activation when there is one: what its body uses from outside
  // may be defined after the convolution (nothing between touches memory).
  rewriter.setInsertionPoint(activation ? activation.getOperation()
                                        : conv.getOperation());
  // Register path only: the zero vectors and each tap column's shuffle.
  Value zeroRow, zeroOut;
  if (inRegisters) {
    zeroRow = arith::ConstantOp::create(
        rewriter, loc, rowType, cast<TypedAttr>(rewriter.getZeroAttr(rowType)));
    zeroOut = arith::ConstantOp::create(
        rewriter, loc, outRowType,
        cast<TypedAttr>(rewriter.getZeroAttr(outRowType)));
  }
  // Tap column j: lane l reads input column l * sw + j * dw - left, or a
  // lane of the zero vector (index `width`) outside the row. Empty when
  // that is the row itself.
  SmallVector<SmallVector<int64_t>> masks;
  for (int64_t j = 0; inRegisters && j < kw; ++j) {
    SmallVector<int64_t> mask;
    bool identity = outWidth == width;
    for (int64_t l = 0; l < outWidth; ++l) {
      int64_t col = l * sw + j * dw - left;
      mask.push_back(col >= 0 && col < width ? col : width);
      identity &= mask.back() == l;
    }
    masks.push_back(identity ? SmallVector<int64_t>() : mask);
  }
  // Rows carried from one output row to the next, each as its kw tap
  // views (shuffled once, when loaded, not for each output row it feeds).
  int64_t keep = std::max<int64_t>(kh - sh, 0);
  auto cst = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto tapsOf = [&](OpBuilder &b, Value row, SmallVectorImpl<Value> &taps) {
    for (int64_t j = 0; j < kw; ++j)
      taps.push_back(masks[j].empty() ? row
                                      : vector::ShuffleOp::create(
                                            b, loc, row, zeroRow, masks[j]));
  };

  // Per channel: the broadcast weights and the rows' starting value.
  SmallVector<Value> weights;
  Value start;
  auto channelValues = [&](OpBuilder &b, Value c) {
    weights.clear();
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j)
        weights.push_back(vector::BroadcastOp::create(
            b, loc, outRowType,
            memref::LoadOp::create(b, loc, filter,
                                   ValueRange{c, cst(b, i), cst(b, j)})));
    start = {};
    if (bias)
      start = vector::BroadcastOp::create(
          b, loc, outRowType,
          memref::LoadOp::create(b, loc, bias.getInput(), ValueRange{c}));
    else if (initValue && init)
      start = vector::BroadcastOp::create(b, loc, outRowType, initValue);
  };
  // Output row chunk (n, c, oh, ow0..) from its kh * kw tap views: one
  // chain of kw FMAs per kernel row, summed at the end (kh short
  // dependency chains instead of one kh * kw long), the activation, the
  // store.
  auto finishRow = [&](OpBuilder &b, Value n, Value c, Value oh, Value ow0,
                       ArrayRef<Value> taps) {
    Value acc;
    for (int64_t i = 0; i < kh; ++i) {
      Value part;
      for (int64_t j = 0; j < kw; ++j) {
        Value x = taps[i * kw + j], w = weights[i * kw + j];
        if (part)
          part = vector::FMAOp::create(b, loc, x, w, part);
        else if (i == 0)
          part = vector::FMAOp::create(
              b, loc, x, w,
              start ? start
                    : vector::LoadOp::create(b, loc, outRowType, out,
                                             ValueRange{n, c, oh, ow0}));
        else
          part = arith::MulFOp::create(b, loc, x, w);
      }
      acc = acc ? arith::AddFOp::create(b, loc, acc, part) : part;
    }
    if (activation)
      acc = applyActivation(b, loc, activation, acc);
    vector::StoreOp::create(b, loc, acc, out, ValueRange{n, c, oh, ow0});
  };
  // Whether input row `row` (an index) lies in the image.
  auto inImage = [&](OpBuilder &b, Value row) -> Value {
    return arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, row,
                              cst(b, 0)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, row,
                              cst(b, height)));
  };

  auto body = [&](OpBuilder &b, Location loc, Value n, Value c) {
    auto load = [&](OpBuilder &b, Value row) -> Value {
      return vector::LoadOp::create(b, loc, rowType, source,
                                    ValueRange{n, c, row, cst(b, 0)});
    };
    // The first window's carried rows (the loop loads the rest).
    SmallVector<Value> first;
    for (int64_t k = 0; k < keep; ++k) {
      int64_t row = k - top;
      if (row >= 0 && row < height)
        tapsOf(b, load(b, cst(b, row)), first);
      else
        first.append(kw, zeroOut);
    }
    channelValues(b, c);
    scf::ForOp::create(
        b, loc, cst(b, 0), cst(b, outHeight), cst(b, 1), first,
        [&](OpBuilder &b, Location loc, Value oh, ValueRange carried) {
          SmallVector<Value> taps(carried);
          Value base = arith::MulIOp::create(b, loc, oh, cst(b, sh));
          for (int64_t k = keep; k < kh; ++k) {
            Value row = arith::AddIOp::create(b, loc, base, cst(b, k - top));
            auto ifOp = scf::IfOp::create(
                b, loc, inImage(b, row),
                [&](OpBuilder &b, Location loc) {
                  scf::YieldOp::create(b, loc, load(b, row));
                },
                [&](OpBuilder &b, Location loc) {
                  scf::YieldOp::create(b, loc, zeroRow);
                });
            tapsOf(b, ifOp.getResult(0), taps);
          }
          finishRow(b, n, c, oh, cst(b, 0), taps);
          scf::YieldOp::create(b, loc,
                               ArrayRef<Value>(taps).take_back(keep * kw));
        });
  };

  // Wide rows: a ring of kh rows of the padded width (zero at the sides)
  // per (n, c), input row r in slot (r + top) mod kh. Each step copies in
  // the rows the previous one did not (or zeros outside the image); each
  // output chunk loads its taps from the ring (a span and a shuffle with a
  // width stride). In place, the ring holds every row the output
  // overwrites before it is needed again. The rings are one buffer,
  // zeroed once, which the arena places like any temporary (an alloca in
  // a parallel body would leave an alloca scope that scf-to-cf cannot
  // lower).
  int64_t paddedWidth = cast<MemRefType>(padded.getType()).getDimSize(3);
  auto copyType = VectorType::get({copyLanes}, f32);
  auto spanType = VectorType::get({span}, f32);
  SmallVector<int64_t> every;
  for (int64_t l = 0; l < lanes; ++l)
    every.push_back(l * sw);
  Value rings;
  if (!inRegisters) {
    rings = memref::AllocOp::create(
        rewriter, loc,
        MemRefType::get({outShape[0], outShape[1], kh, paddedWidth}, f32),
        rewriter.getI64IntegerAttr(64));
    linalg::FillOp::create(
        rewriter, loc,
        arith::ConstantOp::create(rewriter, loc, f32, rewriter.getZeroAttr(f32))
            .getResult(),
        rings);
  }
  auto ringBody = [&](OpBuilder &b, Location loc, Value n, Value c) {
    Value zeroCopy = arith::ConstantOp::create(
        b, loc, copyType, cast<TypedAttr>(b.getZeroAttr(copyType)));
    // Row `row` of the image, or zeros (a null row), into ring slot `slot`.
    auto copyRow = [&](OpBuilder &b, Value row, Value slot) {
      for (int64_t k = 0; k < width; k += copyLanes) {
        Value v = row ? vector::LoadOp::create(b, loc, copyType, source,
                                               ValueRange{n, c, row, cst(b, k)})
                      : zeroCopy;
        vector::StoreOp::create(b, loc, v, rings,
                                ValueRange{n, c, slot, cst(b, left + k)});
      }
    };
    // The same for a row known only at run time: zeros outside the image.
    auto fillSlot = [&](OpBuilder &b, Value row, Value slot) {
      auto ifOp = scf::IfOp::create(b, loc, inImage(b, row),
                                    /*withElseRegion=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      copyRow(b, row, slot);
      b.setInsertionPointToStart(ifOp.elseBlock());
      copyRow(b, Value(), slot);
    };
    // The first window's carried rows, known statically.
    for (int64_t k = 0; k < keep; ++k) {
      int64_t row = k - top;
      copyRow(b, row >= 0 && row < height ? cst(b, row) : Value(), cst(b, k));
    }
    channelValues(b, c);
    scf::ForOp::create(
        b, loc, cst(b, 0), cst(b, outHeight), cst(b, 1), ValueRange{},
        [&](OpBuilder &b, Location loc, Value oh, ValueRange) {
          Value base = arith::MulIOp::create(b, loc, oh, cst(b, sh));
          SmallVector<Value> slots;
          for (int64_t i = 0; i < kh; ++i)
            slots.push_back(arith::RemUIOp::create(
                b, loc, arith::AddIOp::create(b, loc, base, cst(b, i)),
                cst(b, kh)));
          for (int64_t k = keep; k < kh; ++k)
            fillSlot(b, arith::AddIOp::create(b, loc, base, cst(b, k - top)),
                     slots[k]);
          scf::ForOp::create(
              b, loc, cst(b, 0), cst(b, outWidth), cst(b, lanes), ValueRange{},
              [&](OpBuilder &b, Location loc, Value ow0, ValueRange) {
                Value col0 = arith::MulIOp::create(b, loc, ow0, cst(b, sw));
                SmallVector<Value> taps;
                for (int64_t i = 0; i < kh; ++i)
                  for (int64_t j = 0; j < kw; ++j) {
                    Value col =
                        arith::AddIOp::create(b, loc, col0, cst(b, j * dw));
                    Value x =
                        vector::LoadOp::create(b, loc, spanType, rings,
                                               ValueRange{n, c, slots[i], col});
                    if (sw != 1)
                      x = vector::ShuffleOp::create(b, loc, x, x, every);
                    taps.push_back(x);
                  }
                finishRow(b, n, c, oh, ow0, taps);
                scf::YieldOp::create(b, loc);
              });
          scf::YieldOp::create(b, loc);
        });
  };

  int64_t batch = outShape[0], channels = outShape[1];
  auto channel = [&](OpBuilder &b, Location loc, ValueRange ivs) {
    if (inRegisters)
      body(b, loc, ivs[0], ivs[1]);
    else
      ringBody(b, loc, ivs[0], ivs[1]);
  };
  if (parallel)
    scf::ParallelOp::create(
        rewriter, loc, ValueRange{cst(rewriter, 0), cst(rewriter, 0)},
        ValueRange{cst(rewriter, batch), cst(rewriter, channels)},
        ValueRange{cst(rewriter, 1), cst(rewriter, 1)}, channel);
  else
    scf::buildLoopNest(
        rewriter, loc, ValueRange{cst(rewriter, 0), cst(rewriter, 0)},
        ValueRange{cst(rewriter, batch), cst(rewriter, channels)},
        ValueRange{cst(rewriter, 1), cst(rewriter, 1)}, channel);
  rewriter.eraseOp(conv);
  if (activation)
    rewriter.eraseOp(activation);
  if (init)
    rewriter.eraseOp(init);
  rewriter.eraseOp(copy);
  rewriter.eraseOp(interior);
  rewriter.eraseOp(fill);
  rewriter.eraseOp(alloc);
  return success();
}

/// The loop groups an element-wise op (every loop parallel, static, every
/// operand indexed by a projected permutation, identity-layout memrefs)
/// collapses into: maximal runs of adjacent loops that stay adjacent in
/// every operand. With `keepFirst` the first loop longer than 1 stays
/// alone (threads split the op along it). Empty when nothing merges.
static SmallVector<ReassociationIndices>
elementwiseLoopGroups(linalg::LinalgOp op, bool keepFirst) {
  if (!op.hasPureBufferSemantics() || op.getNumLoops() < 2 ||
      op.getNumParallelLoops() != op.getNumLoops() || op.hasDynamicShape())
    return {};
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!llvm::all_of(maps,
                    [](AffineMap m) { return m.isProjectedPermutation(); }))
    return {};
  for (Value operand : op->getOperands())
    if (auto type = dyn_cast<MemRefType>(operand.getType());
        type && !type.getLayout().isIdentity())
      return {};
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t alone = -1;
  if (keepFirst)
    for (auto [i, range] : llvm::enumerate(ranges))
      if (range > 1) {
        alone = i;
        break;
      }
  SmallVector<ReassociationIndices> groups = {{0}};
  for (int64_t d = 1, e = ranges.size(); d < e; ++d) {
    ReassociationIndices merged = groups.back();
    merged.push_back(d);
    if (d != alone && !llvm::is_contained(groups.back(), alone) &&
        linalg::areDimSequencesPreserved(maps, {merged}))
      groups.back() = merged;
    else
      groups.push_back({d});
  }
  if (groups.size() == ranges.size())
    return {};
  return groups;
}

/// The `OpT` in `op`'s body that folds a value into the accumulator of the
/// output `init` (`acc op x` or `x op acc`, yielded into that output), or
/// null.
template <typename OpT>
static OpT foldIntoAccumulator(linalg::GenericOp op, OpOperand &init) {
  BlockArgument acc = op.getMatchingBlockArgument(&init);
  auto fold = op.getMatchingYieldValue(&init)->get().getDefiningOp<OpT>();
  if (!fold || fold->getBlock() != op.getBody() ||
      (fold.getLhs() != acc && fold.getRhs() != acc))
    return {};
  return fold;
}

/// Marks `reassoc` the float adds that fold a value into a reduction's
/// accumulator (`acc + x`, yielded into the output whose block argument
/// `acc` is): LLVM's vectorizer may then sum in vector lanes, which it
/// does not do to a sum kept in order. The rounding then differs from
/// the loop's order the way PyTorch's own vectorized sums do.
static void allowReassociation(linalg::GenericOp op) {
  if (op.getNumReductionLoops() == 0)
    return;
  for (OpOperand &init : op.getDpsInitsMutable())
    if (auto add = foldIntoAccumulator<arith::AddFOp>(op, init))
      add.setFastmath(add.getFastmath() | arith::FastMathFlags::reassoc);
}

/// Whether every read of the temporary `buffer` that `op` writes, until
/// the buffer is overwritten, is the subtrahend of `x - value` whose only
/// use is an exp (a softmax's shift by its row maximum), in the ops after
/// `op` in its block; nothing before `op` in the block (a loop's next
/// iteration) and nothing outside the block reads it.
static bool readOnlyAsExpShift(linalg::GenericOp op, Value buffer) {
  std::optional<BufferViews> whole = wholeViews(buffer);
  if (!whole)
    return false;
  auto isView = [&](Value v) { return whole->contains(v); };
  Block *block = op->getBlock();
  for (Value view : *whole)
    for (Operation *user : view.getUsers())
      if (!block->findAncestorOpInBlock(*user))
        return false; // read or written elsewhere too
  for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(prev);
    if (linalgOp &&
        (llvm::any_of(linalgOp.getDpsInputs(), isView) ||
         llvm::any_of(linalgOp.getDpsInitsMutable(), [&](OpOperand &out) {
           return isView(out.get()) &&
                  linalgOp.payloadUsesValueFromOperand(&out);
         })))
      return false;
    if (!linalgOp &&
        !isa<memref::CollapseShapeOp, memref::ExpandShapeOp>(prev) &&
        prev->walk([&](Operation *nested) {
              return llvm::any_of(nested->getOperands(), isView)
                         ? WalkResult::interrupt()
                         : WalkResult::advance();
            })
            .wasInterrupted())
      return false;
  }
  return acceptsReadsBeforeOverwrite(op, *whole, [&](Operation *reader) {
    auto generic = dyn_cast<linalg::GenericOp>(reader);
    if (!generic || llvm::any_of(generic.getDpsInits(), isView))
      return false;
    for (OpOperand *input : generic.getDpsInputOperands()) {
      if (!isView(input->get()))
        continue;
      BlockArgument arg = generic.getMatchingBlockArgument(input);
      for (Operation *user : arg.getUsers()) {
        auto sub = dyn_cast<arith::SubFOp>(user);
        if (!sub || sub.getRhs() != arg || sub.getLhs() == arg ||
            !llvm::all_of(sub->getUsers(),
                          [](Operation *u) { return isa<math::ExpOp>(u); }))
          return false;
      }
    }
    return true;
  });
}

/// Marks `nsz` the maximum that folds a value into a row maximum which is
/// only ever subtracted before an exp (a softmax's): exp(x - max) is the
/// same for either zero as the maximum, and a NaN still propagates. LLVM
/// then drops the sign-of-zero blends from the vector maximum (7 to 4
/// instructions a vector on AVX-512).
static void allowMaxOfEitherZero(linalg::GenericOp op) {
  if (op.getNumReductionLoops() == 0)
    return;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    auto max = foldIntoAccumulator<arith::MaximumFOp>(op, init);
    if (max && readOnlyAsExpShift(op, init.get()))
      max.setFastmath(max.getFastmath() | arith::FastMathFlags::nsz);
  }
}

/// Marks `arcp` the float divisions whose divisor is the same all along the
/// innermost loop: an operand read through a map that does not use that
/// loop (a softmax's row sum), or a value from outside the op. LLVM's LICM
/// then takes the divisor's reciprocal once, before the loop, and
/// multiplies by it, as PyTorch's softmax does; a quotient may differ from
/// the correctly rounded one by an ulp.
static void allowReciprocal(linalg::GenericOp op) {
  if (op.getNumLoops() == 0)
    return;
  unsigned innermost = op.getNumLoops() - 1;
  auto invariant = [&](Value v) {
    if (!op.getRegion().isAncestor(v.getParentRegion()))
      return true; // from outside the op
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || arg.getOwner() != op.getBody())
      return false;
    OpOperand *operand = op.getMatchingOpOperand(arg);
    return op.isDpsInput(operand) &&
           !op.getMatchingIndexingMap(operand).isFunctionOfDim(innermost);
  };
  op.getBody()->walk([&](arith::DivFOp div) {
    if (invariant(div.getRhs()))
      div.setFastmath(div.getFastmath() | arith::FastMathFlags::arcp);
  });
}

namespace mlir::blkrew {
namespace {
struct BlkRewFoldDepthwisePaddingPass
    : public impl::BlkRewFoldDepthwisePaddingBase<
          BlkRewFoldDepthwisePaddingPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::DepthwiseConv2DNchwChwOp> convs;
    getOperation().walk(
        [&](linalg::DepthwiseConv2DNchwChwOp conv) { convs.push_back(conv); });
    IRRewriter rewriter(&getContext());
    for (linalg::DepthwiseConv2DNchwChwOp conv : convs)
      (void)foldDepthwisePadding(
          rewriter, conv,
          worthThreads(cast<linalg::LinalgOp>(conv.getOperation()), parallel,
                       parallelMinIterations));
  }
};

struct BlkRewCollapseTransposesPass
    : public impl::BlkRewCollapseTransposesBase<BlkRewCollapseTransposesPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    (void)collapseTransposes(rewriter, getOperation());
  }
};

struct BlkRewPrepareLoopsPass
    : public impl::BlkRewPrepareLoopsBase<BlkRewPrepareLoopsPass> {
  using Base::Base;

  bool worthThreads(linalg::LinalgOp op) {
    return ::worthThreads(op, parallel, parallelMinIterations);
  }

  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) {
      if (!isContiguous(copy.getSource()) || !isContiguous(copy.getTarget()))
        copies.push_back(copy);
    });
    IRRewriter rewriter(&getContext());
    // 2-D transposes: vector blocks, each vector.transpose lowered to
    // shuffles now (16x16 by the AVX-512 sequence of unpacks and lane
    // permutes; other sizes as one shuffle), not element by element.
    SmallVector<linalg::TransposeOp> transposeOps =
        collapseTransposes(rewriter, getOperation());
    SmallVector<Operation *> transposes;
    // One inside a loop (a kernel's panel packing) stays on its thread.
    for (linalg::TransposeOp op : transposeOps)
      (void)vectorizeTranspose(
          rewriter, op, transposeTile,
          !op->getParentOfType<LoopLikeOpInterface>() &&
              worthThreads(cast<linalg::LinalgOp>(op.getOperation())),
          transposes);
    if (!transposes.empty()) {
      RewritePatternSet patterns(&getContext());
      vector::populateVectorTransposeLoweringPatterns(
          patterns, transposeTile == 16
                        ? vector::VectorTransposeLowering::Shuffle16x16
                        : vector::VectorTransposeLowering::Shuffle1D);
      if (failed(applyOpPatternsGreedily(transposes, std::move(patterns)))) {
        getOperation().emitError("could not lower the transposes' blocks");
        return signalPassFailure();
      }
    }
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    }
    // Row copies (im2col, the interior of padded activations) as vector
    // rows: as scalar loops LLVM fully unrolls the short rows and then
    // cannot vectorize them, not knowing that source and destination are
    // apart.
    // A transpose that keeps the last dimension in place (attention's
    // split and merge of heads) is one too.
    SmallVector<std::pair<linalg::LinalgOp, int64_t>> rowCopies;
    getOperation().walk([&](Operation *op) {
      if (!isa<linalg::GenericOp, linalg::CopyOp, linalg::TransposeOp>(op))
        return;
      auto linalgOp = cast<linalg::LinalgOp>(op);
      if (int64_t length = rowCopyLength(linalgOp))
        rowCopies.push_back({linalgOp, length});
    });
    for (auto [op, length] : rowCopies)
      vectorizeRowCopy(rewriter, op, length, worthThreads(op));
    // Depthwise convolutions: vector rows. The rest (mixed element types,
    // odd shapes): the generalized convolution's loops are (n, oh, ow, c,
    // kh, kw); run them as (n, c, oh, kh, kw, ow) instead.
    SmallVector<linalg::DepthwiseConv2DNchwChwOp> convs;
    getOperation().walk(
        [&](linalg::DepthwiseConv2DNchwChwOp conv) { convs.push_back(conv); });
    for (linalg::DepthwiseConv2DNchwChwOp conv : convs) {
      if (succeeded(vectorizeDepthwise(
              rewriter, conv,
              worthThreads(cast<linalg::LinalgOp>(conv.getOperation())))))
        continue;
      rewriter.setInsertionPoint(conv);
      FailureOr<linalg::GenericOp> generic =
          linalg::generalizeNamedOp(rewriter, conv);
      if (failed(generic) || failed(linalg::interchangeGenericOp(
                                 rewriter, *generic, {0, 3, 1, 4, 5, 2}))) {
        conv.emitOpError("could not be put in row order");
        return signalPassFailure();
      }
    }
    // Element-wise ops, bias broadcasts and fills: adjacent loops that stay
    // adjacent in every operand become one. LLVM fully unrolls a short
    // innermost loop (a 32-wide row) and then vectorizes the loop around it
    // across rows, with gathers and scatters (measured: the ReLU6 after
    // each MobileNetV2 depthwise convolution); one long loop vectorizes
    // along memory.
    SmallVector<std::pair<linalg::LinalgOp, SmallVector<ReassociationIndices>>>
        collapsible;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!isa<linalg::GenericOp, linalg::BroadcastOp, linalg::FillOp>(op))
        return;
      SmallVector<ReassociationIndices> groups =
          elementwiseLoopGroups(op, worthThreads(op));
      if (!groups.empty())
        collapsible.push_back({op, std::move(groups)});
    });
    for (auto &[op, groups] : collapsible) {
      rewriter.setInsertionPoint(op);
      linalg::LinalgOp generic = op;
      if (!isa<linalg::GenericOp>(op)) {
        FailureOr<linalg::GenericOp> g =
            linalg::generalizeNamedOp(rewriter, op);
        if (failed(g)) {
          op.emitOpError("could not be generalized");
          return signalPassFailure();
        }
        generic = *g;
      }
      FailureOr<linalg::CollapseResult> collapsed =
          linalg::collapseOpIterationDims(generic, groups, rewriter);
      if (failed(collapsed)) {
        generic.emitOpError("could not collapse its loops");
        return signalPassFailure();
      }
      rewriter.eraseOp(generic);
    }
    // Sums (a softmax's, a layer norm's, a mean): in vector lanes.
    getOperation().walk([](linalg::GenericOp op) { allowReassociation(op); });
    // Divisions by a row's value (a softmax's): by its reciprocal.
    getOperation().walk([](linalg::GenericOp op) { allowReciprocal(op); });
    // A softmax's row maximum: either zero will do.
    getOperation().walk([](linalg::GenericOp op) { allowMaxOfEitherZero(op); });
    // So for a max pooling's: PyTorch's keeps the first of equal values of
    // a window, so it does not order -0 and +0 either; a NaN still
    // propagates. The named op's body is implicit: generalized, it carries
    // the flag.
    SmallVector<linalg::LinalgOp> pools;
    getOperation().walk([&](Operation *op) {
      if (isa<linalg::PoolingNchwMaxOp, linalg::PoolingNhwcMaxOp>(op))
        pools.push_back(cast<linalg::LinalgOp>(op));
    });
    for (linalg::LinalgOp pool : pools) {
      rewriter.setInsertionPoint(pool);
      FailureOr<linalg::GenericOp> generic =
          linalg::generalizeNamedOp(rewriter, pool);
      if (failed(generic)) {
        pool.emitOpError("could not be generalized");
        return signalPassFailure();
      }
      generic->getBody()->walk([](arith::MaximumFOp max) {
        max.setFastmath(max.getFastmath() | arith::FastMathFlags::nsz);
      });
    }
    // The other large ops (element-wise chains, padding fills, pooling):
    // their first parallel loop longer than 1 becomes an scf.parallel over
    // slices, each slice the same op on subviews, so the loops inside
    // vectorize as before.
    if (!parallel)
      return;
    SmallVector<linalg::LinalgOp> large;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op.hasPureBufferSemantics() && worthThreads(op) &&
          !op->getParentOfType<scf::ParallelOp>())
        large.push_back(op);
    });
    for (linalg::LinalgOp op : large) {
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      auto iterators = op.getIteratorTypesArray();
      SmallVector<int64_t> tileSizes(ranges.size(), 0);
      for (auto [i, range] : llvm::enumerate(ranges)) {
        if (range > 1 && iterators[i] == utils::IteratorType::parallel) {
          tileSizes[i] = 1;
          break;
        }
      }
      if (llvm::all_of(tileSizes, [](int64_t t) { return t == 0; }))
        continue;
      rewriter.setInsertionPoint(op);
      if (failed(linalg::tileLinalgOp(
              rewriter, op,
              linalg::LinalgTilingOptions().setTileSizes(tileSizes).setLoopType(
                  linalg::LinalgTilingLoopType::ParallelLoops)))) {
        op.emitOpError("could not be split across threads");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }
  }
};
} // namespace
} // namespace mlir::blkrew
