//===- Pipelines.h - blkrew pass pipelines ----------------------*- C++ -*-===//
//
// Part of the blkrew project, under the Apache License v2.0 with LLVM
// Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef BLKREW_PIPELINES_PIPELINES_H
#define BLKREW_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
namespace blkrew {

/// CPUs the CPU pipeline targets.
enum class CPUTarget { Host, AArch64 };

/// Options of the CPU pipeline.
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<CPUTarget> target{
      *this, "target", llvm::cl::desc("Target CPU"),
      llvm::cl::init(CPUTarget::Host),
      llvm::cl::values(
          clEnumValN(CPUTarget::Host, "host",
                     "the x86-64 machine blkrew-opt runs on (its vector "
                     "extensions are detected)"),
          clEnumValN(CPUTarget::AArch64, "aarch64", "AArch64 with NEON"))};
  PassOptions::Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes of the sparse kernel along N; 0 picks the "
                     "target's (host: 16 with AVX-512, 8 with AVX, else 4; "
                     "aarch64 4)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> accumulators{
      *this, "accumulators",
      llvm::cl::desc("Vector registers the sparse kernel's accumulator tile "
                     "may take; 0 picks the target's (24 of 32 registers "
                     "with AVX-512 and on aarch64, 12 of 16 otherwise, "
                     "counting a vector wider than a register as several)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> tileVectors{
      *this, "tile-vectors",
      llvm::cl::desc("Vectors per row in the sparse kernel's register tile; "
                     "0 picks per op (up to `accumulators` vectors)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> prefetchDistance{
      *this, "prefetch-distance",
      llvm::cl::desc("Prefetch the sparse kernel's rhs rows this many kept "
                     "columns ahead (0: none; -1: the target's default, 16 "
                     "on the host, none on aarch64)"),
      llvm::cl::init(-1)};
  PassOptions::Option<int64_t> weightPrefetchBytes{
      *this, "weight-prefetch-bytes",
      llvm::cl::desc("Prefetch the sparse kernel's packed values this many "
                     "bytes ahead (0: none; -1: the target's default, 4096 "
                     "on the host, none on aarch64)"),
      llvm::cl::init(-1)};
  PassOptions::Option<int64_t> panelBytes{
      *this, "panel-bytes",
      llvm::cl::desc("Sparse kernels whose rhs is larger than two of these "
                     "run every row group over one packed panel of N taking "
                     "this many bytes of it before the next (0: no panels; "
                     "-1: the target's default, a quarter of the host's L2, "
                     "128 KiB on aarch64)"),
      llvm::cl::init(-1)};
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Run the row groups of each sparse kernel, and the "
                     "large dense ops, on OpenMP threads (link with libomp; "
                     "OMP_NUM_THREADS applies)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> parallelMinFmas{
      *this, "parallel-min-fmas",
      llvm::cl::desc("With parallel, kernels with less static work (kept "
                     "values x N FMAs) stay on the calling thread"),
      llvm::cl::init(1 << 20)};
  PassOptions::Option<int64_t> parallelMinOutputs{
      *this, "parallel-min-outputs",
      llvm::cl::desc("With parallel, kernels with fewer output elements "
                     "need 8 x parallel-min-fmas of work to be threaded "
                     "(batch-1 CIFAR convolutions pruned 8x ran slower on "
                     "2 threads here)"),
      llvm::cl::init(1 << 18)};
  PassOptions::Option<int64_t> parallelMinIterations{
      *this, "parallel-min-iterations",
      llvm::cl::desc("With parallel, dense ops (copies, element-wise, "
                     "pooling, depthwise) whose loops run fewer times than "
                     "this in all stay on the calling thread"),
      llvm::cl::init(1 << 21)};
  PassOptions::Option<bool> implicitIm2col{
      *this, "implicit-im2col",
      llvm::cl::desc("Stride-1 convolutions read their patches from the "
                     "image in the sparse kernel (blkrew-fold-im2col) where "
                     "the output width is a multiple of the vector width"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> halfWeights{
      *this, "half-weights",
      llvm::cl::desc("Store the constant packed weights of the sparse "
                     "kernels that wait on them (the small-N shape) as f16, "
                     "extended to f32 as they are read (blkrew-half-weights)"
                     ": half the bytes, each weight rounded to f16"),
      llvm::cl::init(false)};
};

/// Tensor-level IR (blkrew + linalg, after blkrew-sparsify) to the LLVM
/// dialect for a CPU, with C interface wrappers and results as out-params.
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Tensor-level blkrew + linalg IR to the LLVM dialect through the
/// reference scf lowering (no tiling or vectorization).
struct SPIRVPipelineOptions : public PassPipelineOptions<SPIRVPipelineOptions> {
  PassOptions::Option<int64_t> workgroupSize{
      *this, "workgroup-size",
      llvm::cl::desc("Invocations per workgroup (a power of two, at most "
                     "128)"),
      llvm::cl::init(64)};
  PassOptions::Option<int64_t> maxStorageBuffers{
      *this, "max-storage-buffers",
      llvm::cl::desc("Storage buffers one kernel may bind"), llvm::cl::init(8)};
  PassOptions::Option<int64_t> rowsPerInvocation{
      *this, "rows-per-invocation",
      llvm::cl::desc("Rows of a row group one invocation of the block-sparse "
                     "kernel computes, each rhs element it loads feeding "
                     "all of them (the largest divisor of the group's "
                     "height not above it; 0: the whole group)"),
      llvm::cl::init(4)};
};

void buildSPIRVPipeline(OpPassManager &pm, const SPIRVPipelineOptions &options);

void buildReferenceToLLVMPipeline(OpPassManager &pm);

/// Registers the blkrew pipelines with the global registry.
void registerPipelines();

} // namespace blkrew
} // namespace mlir

#endif // BLKREW_PIPELINES_PIPELINES_H
