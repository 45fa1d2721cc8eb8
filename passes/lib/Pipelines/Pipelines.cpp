//===- Pipelines.cpp - blkrew pass pipelines ------------------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//
//
// Pipelines registered in blkrew-opt. Each step says why it is there.
//
//===----------------------------------------------------------------------===//

#include "blkrew/Pipelines/Pipelines.h"
#include "blkrew/Conversion/Passes.h"
#include "blkrew/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"
#include <unistd.h>

using namespace mlir;
using mlir::blkrew::CPUTarget;

namespace {
/// The vector unit a CPU target's kernels are shaped for.
struct VectorUnit {
  int64_t width;     // f32 lanes per register
  int64_t registers; // architectural vector registers
};
} // namespace

/// NEON has 32 registers of 4 lanes. The host is the machine blkrew-opt
/// runs on, the one `-march=native` compiles for: with AVX-512, 32
/// registers of 16 lanes; with AVX, 16 of 8; SSE has 16 of 4. A 16-lane kernel
/// on an AVX2 machine takes two registers per vector and spills its tile
/// (pruned VGG-16 33%, ResNet-18 43% slower than at 8 lanes on a Zen 3).
static VectorUnit getVectorUnit(CPUTarget target) {
  if (target == CPUTarget::AArch64)
    return {4, 32};
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  if (features.lookup("avx512f"))
    return {16, 32};
  if (features.lookup("avx"))
    return {8, 16};
  if (features.lookup("neon")) // an AArch64 host
    return {4, 32};
  return {4, 16};
}

/// One core's L2 on this machine (the C library asks the CPU), or 512 KiB
/// where it cannot tell.
static int64_t getHostL2Bytes() {
#ifdef _SC_LEVEL2_CACHE_SIZE
  long bytes = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (bytes > 0)
    return bytes;
#endif
  return 512 * 1024;
}

static void addPipeline(OpPassManager &pm, StringRef pipeline) {
  std::string error;
  llvm::raw_string_ostream os(error);
  if (failed(parsePassPipeline(pipeline, pm, os)))
    llvm::report_fatal_error(llvm::Twine("blkrew: bad built-in pipeline: ") +
                             error);
}

// Both optimizing pipelines start here, on tensors: a ReLU right after a
// block-sparse product becomes part of its kernel; then clean up what the
// importer and blkrew-sparsify left (dead dense weights, transposes of
// fills), drop unit dimensions (batch 1) and fuse chains of element-wise
// ops (bias, ReLU, residual adds) into one op each, so an activation is
// walked once rather than once per op (on the GPU: one launch per chain).
// The fused chains are matched once more: a residual sum and its ReLU are
// one op only now, and the kernel then takes the sum's other addend in its
// init (merged with the bias by a second elementwise fusion).
static constexpr const char *kCleanUpAndFuse =
    "func.func(blkrew-fuse-activations),canonicalize,cse,"
    "linalg-fold-unit-extent-dims,blkrew-fuse-elementwise,canonicalize,"
    "cse,func.func(blkrew-fuse-activations),blkrew-fuse-elementwise,"
    "canonicalize,cse";

void mlir::blkrew::buildReferenceToLLVMPipeline(OpPassManager &pm) {
  // Tensors to buffers across function boundaries, with plain identity
  // layouts so callers (runner, ctypes) see ordinary strided memrefs.
  addPipeline(pm, "one-shot-bufferize{bufferize-function-boundaries "
                  "function-boundary-type-conversion=identity-layout-map}");
  // Free what bufferization allocated.
  addPipeline(pm, "buffer-deallocation-pipeline");
  // Our ops: the reference loops (the thing this pipeline exists to run).
  pm.addPass(createConvertBlkRewToSCF());
  // Dense linalg ops that stayed dense: plain loops here; the optimizing
  // CPU pipeline tiles and vectorizes them instead.
  addPipeline(pm, "func.func(convert-linalg-to-loops),"
                  "convert-bufferization-to-memref,lower-affine");
  // Structured control flow and memrefs to the LLVM dialect.
  addPipeline(pm, "convert-scf-to-cf,expand-strided-metadata,"
                  "finalize-memref-to-llvm,convert-to-llvm,"
                  "reconcile-unrealized-casts");
}

/// Options below their documented ranges: the sizes and thresholds must
/// not be negative; the three whose -1 picks the target's default not
/// below that.
static LogicalResult
verifyCPUPipelineOptions(const blkrew::CPUPipelineOptions &options,
                         function_ref<LogicalResult(const Twine &)> fail) {
  std::pair<StringRef, int64_t> atLeastZero[] = {
      {"vector-width", options.vectorWidth},
      {"accumulators", options.accumulators},
      {"tile-vectors", options.tileVectors},
      {"parallel-min-fmas", options.parallelMinFmas},
      {"parallel-min-outputs", options.parallelMinOutputs},
      {"parallel-min-iterations", options.parallelMinIterations}};
  for (auto [name, value] : atLeastZero)
    if (value < 0)
      return fail("blkrew-cpu-pipeline: " + name + " must be >= 0, got " +
                  Twine(value));
  std::pair<StringRef, int64_t> atLeastMinusOne[] = {
      {"prefetch-distance", options.prefetchDistance},
      {"weight-prefetch-bytes", options.weightPrefetchBytes},
      {"panel-bytes", options.panelBytes}};
  for (auto [name, value] : atLeastMinusOne)
    if (value < -1)
      return fail("blkrew-cpu-pipeline: " + name +
                  " must be >= 0, or -1 for the target's default, got " +
                  Twine(value));
  return success();
}

void mlir::blkrew::buildCPUPipeline(OpPassManager &pm,
                                    const CPUPipelineOptions &options) {
  VectorUnit unit = getVectorUnit(options.target);
  bool arm = options.target == CPUTarget::AArch64;
  int64_t width = options.vectorWidth > 0 ? options.vectorWidth : unit.width;
  // Three quarters of the registers hold the tile; the rest the rhs
  // vectors and the broadcast weight (8 x 48 on AVX-512 ran FC 1024 at 90%
  // 10% faster than 8 x 32; NEON's 3-wide cores need the wide tile to
  // amortize the loop; on AVX2, 4 x 24 took 21% less time than 4 x 16
  // with 4 x 4 blocks, and 8 x 16 spilled). A vector wider than the
  // registers (vector-width=16 on AVX2) takes several of them.
  int64_t accumulators =
      options.accumulators > 0
          ? options.accumulators
          : std::max<int64_t>(1, unit.registers * 3 / 4 /
                                     llvm::divideCeil(width, unit.width));
  // erf (GELU) and erfc, which LLVM has no intrinsic for.
  pm.addPass(createBlkRewApproximateMath());
  addPipeline(pm, kCleanUpAndFuse);
  // After the fusions and blkrew-reorder, which read the packed values as
  // f32 constants; only the kernels that wait on their weights.
  if (options.halfWeights)
    pm.addNestedPass<func::FuncOp>(
        createBlkRewHalfWeights(BlkRewHalfWeightsOptions{width}));
  // Convolutions' patch matrices read in place by the kernels, where each
  // vector they load stays in one image row.
  if (options.implicitIm2col)
    pm.addNestedPass<func::FuncOp>(
        createBlkRewFoldIm2col(BlkRewFoldIm2colOptions{width}));
  // A softmax's (a layer norm's) ops over a tensor of half the L2 or more,
  // a few rows at a time, which stay in L1 from op to op; canonicalize
  // drops the slices the fusion left dead, cse merges the copies of an op
  // that two others in the tile read. Smaller ones stay in the L2 between
  // ops: tiling them measured no faster (causal attention's 512 KiB of
  // scores 0.97-1.03x; 1 MiB softmax 1.00-1.11x, layer norm 2.1-2.6x, on a
  // 2 MiB L2). AArch64: half a Cortex-A76's 512 KiB (not measured on one).
  int64_t rowsMinBytes = arm ? 256 * 1024 : getHostL2Bytes() / 2;
  addPipeline(pm, "func.func(blkrew-fuse-rows{min-bytes=" +
                      std::to_string(rowsMinBytes) + "}),canonicalize,cse");
  // Tensors to buffers; identity layouts at the boundary so the runtime
  // passes plain contiguous memrefs.
  addPipeline(pm, "one-shot-bufferize{bufferize-function-boundaries "
                  "function-boundary-type-conversion=identity-layout-map}");
  // A loop that writes its result buffer in place (blkrew-fuse-rows' tiles)
  // yields it unchanged: canonicalize folds the loop's result to that
  // buffer, which then becomes the out-parameter below, not a copy into it.
  addPipeline(pm, "func.func(canonicalize)");
  // Results become caller-provided buffers: the runtime owns every buffer
  // it sees, and a static result is computed in place.
  addPipeline(pm, "buffer-results-to-out-params{hoist-static-allocs=true "
                  "modify-public-functions=true}");
  // The buffers a loop body allocates (a strided convolution's patches,
  // image by image) out of the loop, where the arena plan takes them.
  addPipeline(pm,
              "func.func(buffer-loop-hoisting),canonicalize,cse,canonicalize");
  // Depthwise convolutions read their input's zero padding implicitly:
  // the padded copy goes. Before the arena is planned, so that the input
  // stays live until the convolution reads it.
  pm.addNestedPass<func::FuncOp>(
      createBlkRewFoldDepthwisePadding(BlkRewFoldDepthwisePaddingOptions{
          options.parallel, options.parallelMinIterations}));
  // Temporaries in one static arena planned from their live ranges: a call
  // allocates nothing and the arena stays in cache.
  pm.addPass(createBlkRewPlanBuffers());
  addPipeline(pm, "buffer-deallocation-pipeline");
  // Our kernels: the register-tiled block-sparse matmul. Before
  // blkrew-prepare-loops, which generalizes the bias broadcasts that the
  // kernel folds into its accumulators.
  // Prefetching is the host's only: on NEON the instructions cost more
  // issue slots than they can be shown to save here. 16 kept columns
  // ahead rather than 4 (Zen 3, 1 thread, interleaved): FC 1024 at 90%
  // 1.08-1.12x faster, the VGG-16 conv shapes (N = 16 and 64) and the
  // GRU gates 1.03-1.20x, pruned VGG-16 and ResNet-18 1.02x; at 75% and
  // on MobileNetV2 and the digits GRU no change; 32 and 64 were no better.
  int64_t prefetch = options.prefetchDistance >= 0 ? options.prefetchDistance
                     : arm                         ? 0
                                                   : 16;
  // The packed values 4 KiB ahead on the host (pruned VGG-16 9-12%,
  // ResNet-18 4-9% faster); on NEON unmeasured, so off like the rhs
  // prefetch.
  int64_t weightPrefetch = options.weightPrefetchBytes >= 0
                               ? options.weightPrefetchBytes
                           : arm ? 0
                                 : 4096;
  // Panels of a quarter of the L2 (FC 1024 x 1024, N = 256, 1 thread on a
  // Zen 3 with 512 KiB: 1.21-1.39x over no panels at 50-90% sparsity, and
  // 1.04-1.23x over half the L2); on 2 threads, narrow panels also share
  // out evenly. AArch64: a quarter of a Cortex-A76's 512 KiB (not
  // measured on one).
  int64_t panelBytes = options.panelBytes >= 0 ? options.panelBytes
                       : arm                   ? 128 * 1024
                                               : getHostL2Bytes() / 4;
  // Slabs of a group over chunks of its kept columns whose rhs slices and
  // values fill half a 32 KiB L1, so the later slabs read them from L1.
  constexpr int64_t kSlabChunkBytes = 16 * 1024;
  // A linear layer's 3-D input and output transposes (reshape propagation
  // made them 3-D) as the 2-D ones of its operands, which the kernel folds.
  addPipeline(pm, "func.func(blkrew-collapse-transposes),cse");
  pm.addPass(createConvertBlkRewToVector(ConvertBlkRewToVectorOptions{
      width, /*maxUnrollRows=*/32, options.tileVectors, accumulators, prefetch,
      weightPrefetch, panelBytes, options.parallel, options.parallelMinFmas,
      options.parallelMinOutputs, kSlabChunkBytes}));
  // Padding copies, depthwise convolutions and element-wise ops shaped so
  // the loops they become vectorize (see the pass); with threads, the large
  // dense ops are split across them too, so they do not serialize the
  // sparse kernels' speed-up.
  pm.addNestedPass<func::FuncOp>(
      createBlkRewPrepareLoops(BlkRewPrepareLoopsOptions{
          options.parallel, options.parallelMinIterations, width}));
  // Products of two activations (attention) as register tiles: two
  // vectors wide, as many rows as half the tile's accumulators allow (at
  // most 8: 8 x 32 on AVX-512, 6 x 16 on AVX2, 8 x 8 on NEON). After
  // blkrew-prepare-loops, so that a large one split across threads is
  // tiled slice by slice.
  pm.addNestedPass<func::FuncOp>(
      createBlkRewVectorizeMatmuls(BlkRewVectorizeMatmulsOptions{
          std::min<int64_t>(8, std::max<int64_t>(1, accumulators / 2)), width,
          /*tileVectors=*/2, /*depth=*/8}));
  // Their 2-D tile transfers as one 1-D transfer per row (the kernels
  // above load and store 1-D vectors already).
  addPipeline(pm, "func.func(convert-vector-to-scf{full-unroll=true})");
  // Parallel row groups become an OpenMP worksharing loop; canonicalize
  // inlines the alloca scope it wraps the body in (the kernel allocates
  // nothing), which scf-to-cf could not lower.
  if (options.parallel)
    addPipeline(pm, "convert-scf-to-openmp,canonicalize");
  // Dense linalg ops as loops; LLVM's loop and SLP vectorizers (clang -O3)
  // vectorize them.
  addPipeline(pm, "func.func(convert-linalg-to-loops),"
                  "convert-bufferization-to-memref,lower-affine");
  // tanh and friends have no LLVM intrinsic: expand them to exp-based
  // formulas, which lower to llvm.exp.
  // exp's results below 2^-126 as 0 without a call: libmvec's vector expf
  // leaves its fast path for a whole vector when one lane is there, as a
  // causal softmax's masked (-inf) scores are (causal attention 1.25x).
  addPipeline(
      pm, "func.func(math-expand-ops),blkrew-approximate-math{guard-exp=true}");
  // expand-strided-metadata writes the offsets of subviews at dynamic
  // positions (the slices of threaded ops) as affine.apply.
  addPipeline(pm, "convert-scf-to-cf,func.func(llvm-request-c-wrappers),"
                  "convert-vector-to-llvm,expand-strided-metadata,lower-affine,"
                  "finalize-memref-to-llvm,convert-math-to-llvm,"
                  "convert-to-llvm,reconcile-unrealized-casts");
  // The arena's temporaries told apart for LLVM's alias analysis, so loops
  // that read one and write another keep values in registers and
  // vectorize.
  pm.addPass(createBlkRewArenaAliasScopes());
}

void mlir::blkrew::buildSPIRVPipeline(OpPassManager &pm,
                                      const SPIRVPipelineOptions &options) {
  // erf (GELU) and erfc, which GLSL.std.450 has no instruction for; the
  // f64 and i64 arithmetic torch-mlir uses for some layers (LayerNorm,
  // Upsample), which mobile GPUs rarely have, in 32 bits.
  pm.addPass(createBlkRewApproximateMath());
  pm.addNestedPass<func::FuncOp>(createBlkRewDemote64Bit());
  addPipeline(pm, kCleanUpAndFuse);
  // Boolean tensors left between ops after the fusions (attention's
  // all--inf row check), which Vulkan buffers cannot hold, as i32.
  pm.addNestedPass<func::FuncOp>(createBlkRewWidenBools());
  // Each invocation computes one output element and reads the image
  // directly: any output width works, and the patch matrix (a launch and
  // nine times the image in device memory for 3x3) goes away.
  pm.addNestedPass<func::FuncOp>(createBlkRewFoldIm2col());
  // A padded image in one kernel (each element its source's or zero), not
  // a fill and a copy.
  pm.addNestedPass<func::FuncOp>(createBlkRewPadToGenerate());
  // A depthwise convolution with its bias and activation in one kernel,
  // reading the unpadded input (the padding's generate inlined).
  pm.addNestedPass<func::FuncOp>(createBlkRewDepthwiseToGenerate());
  // Buffers as on the CPU: identity layouts at the boundary, results as
  // caller-provided buffers. No deallocation: the runner owns every buffer
  // for the lifetime of the compiled model.
  addPipeline(pm, "one-shot-bufferize{bufferize-function-boundaries "
                  "function-boundary-type-conversion=identity-layout-map}");
  addPipeline(pm, "buffer-results-to-out-params{hoist-static-allocs=true "
                  "modify-public-functions=true}");
  // Every op becomes a parallel loop nest with one iteration per output
  // element; reductions stay sequential inside the iteration.
  pm.addPass(createConvertBlkRewToParallelLoops(
      ConvertBlkRewToParallelLoopsOptions{options.rowsPerInvocation}));
  addPipeline(pm, "func.func(convert-linalg-to-parallel-loops),canonicalize");
  // Workgroup tiles, mapped to blocks and threads, then to gpu.launch.
  pm.addPass(createBlkRewMapLoopsToGPU(BlkRewMapLoopsToGPUOptions{
      options.workgroupSize, /*maxWorkgroupCount=*/65535}));
  addPipeline(pm, "func.func(convert-parallel-loops-to-gpu)");
  // Views (reshapes, slices of padded buffers) fold into the kernels'
  // indexing, so kernels bind whole buffers; then affine index maps become
  // arith, which SPIR-V conversion understands.
  addPipeline(pm, "fold-memref-alias-ops,lower-affine,canonicalize,cse");
  addPipeline(pm, "gpu-launch-sink-index-computations,gpu-kernel-outlining");
  pm.addPass(createBlkRewAttachSPIRVTarget(
      BlkRewAttachSPIRVTargetOptions{options.maxStorageBuffers}));
  // Kernels to SPIR-V with 32-bit indices (no Int64 on mobile); the ABI
  // lowering emits the entry points, update-vce the minimal requirements.
  addPipeline(pm, "arith-expand,convert-math-to-spirv,"
                  "convert-gpu-to-spirv{use-64bit-index=false},"
                  "spirv.module(spirv-lower-abi-attrs,spirv-update-vce)");
}

void mlir::blkrew::registerPipelines() {
  PassPipelineRegistration<SPIRVPipelineOptions>(
      "blkrew-spirv-pipeline",
      "Lower tensor-level blkrew/linalg IR to SPIR-V kernels for a mobile "
      "Vulkan GPU plus a host function of gpu.launch_func "
      "(blkrew-export-vulkan writes them out for the runner)",
      buildSPIRVPipeline);
  // Registered by hand rather than through PassPipelineRegistration, so
  // that options out of range fail with a message instead of quietly
  // reading as the target's defaults.
  registerPassPipeline(
      "blkrew-cpu-pipeline",
      "Lower tensor-level blkrew/linalg IR to the LLVM dialect for a CPU "
      "(register-tiled sparse kernels, C interface, results as out-params)",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        CPUPipelineOptions options;
        if (failed(options.parseFromString(text)) ||
            failed(verifyCPUPipelineOptions(options, errorHandler)))
          return failure();
        buildCPUPipeline(pm, options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optHandler) {
        optHandler(CPUPipelineOptions());
      });
  PassPipelineRegistration<>(
      "blkrew-reference-to-llvm-pipeline",
      "Lower tensor-level blkrew/linalg IR to the LLVM dialect through the "
      "reference scf loops (no tiling or vectorization)",
      buildReferenceToLLVMPipeline);
}
