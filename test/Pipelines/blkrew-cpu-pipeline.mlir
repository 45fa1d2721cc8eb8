// The CPU pipeline: results become out-params, a C interface wrapper is
// emitted, the sparse kernel is vectorized at the target's width.
// RUN: blkrew-opt %s --blkrew-cpu-pipeline | FileCheck %s --check-prefix=HOST
// RUN: blkrew-opt %s --blkrew-cpu-pipeline=target=aarch64 | FileCheck %s --check-prefix=NEON
// RUN: blkrew-opt %s --blkrew-cpu-pipeline="parallel=true parallel-min-fmas=0" | FileCheck %s --check-prefix=OMP
// RUN: blkrew-opt %s --blkrew-cpu-pipeline=parallel=true | FileCheck %s --check-prefix=SMALL
// RUN: blkrew-opt %s --blkrew-cpu-pipeline="prefetch-distance=0 weight-prefetch-bytes=0" | FileCheck %s --check-prefix=NOPF
// RUN: blkrew-opt %s --blkrew-cpu-pipeline="prefetch-distance=0" | FileCheck %s --check-prefix=WPF
// RUN: blkrew-opt %s --blkrew-cpu-pipeline="vector-width=4 accumulators=2" -mlir-print-ir-after=convert-blkrew-to-vector -o /dev/null 2>&1 | FileCheck %s --check-prefix=ACC
// RUN: not blkrew-opt %s --blkrew-cpu-pipeline=target=riscv 2>&1 | FileCheck %s --check-prefix=BADTARGET
// RUN: not blkrew-opt %s --blkrew-cpu-pipeline=vector-width=-8 2>&1 | FileCheck %s --check-prefix=BADWIDTH
// RUN: not blkrew-opt %s --blkrew-cpu-pipeline=panel-bytes=-2 2>&1 | FileCheck %s --check-prefix=BADPANEL

// BADTARGET: for the --target option: Cannot find option named 'riscv'
// Out of range, an option fails rather than reading as the default.
// BADWIDTH: blkrew-cpu-pipeline: vector-width must be >= 0, got -8
// BADPANEL: blkrew-cpu-pipeline: panel-bytes must be >= 0, or -1 for the target's default, got -2

// The host's width is its widest f32 vector: 16 lanes with AVX-512, 8
// with AVX.
// HOST-LABEL: llvm.func @forward(
// HOST-NOT:     blkrew.
// HOST:         llvm.intr.prefetch
// HOST:         llvm.intr.fmuladd({{.*}}) : (vector<[[W:8|16]]xf32>, vector<[[W]]xf32>, vector<[[W]]xf32>) -> vector<[[W]]xf32>
// HOST-LABEL: llvm.func @_mlir_ciface_forward(
// HOST-SAME:    %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// HOST:         llvm.call @forward(
// The accumulator budget reaches the kernel: 2 registers, 1 row (the
// 2-row group in slabs of 1) x 2 vectors.
// ACC-LABEL: func.func @forward(
// ACC:         scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>) {
// ACC-NOT:     scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>
// ACC:         return
// With parallel=true the row groups are an OpenMP worksharing loop.
// OMP-LABEL: llvm.func @forward(
// OMP:         omp.parallel {
// OMP:           omp.wsloop {
// OMP:             omp.loop_nest
// OMP:               llvm.intr.fmuladd
// This kernel has 2 x 2 kept values x N = 32: 128 FMAs, far under the
// default parallel-min-fmas, so it stays on the calling thread.
// SMALL-LABEL: llvm.func @forward(
// SMALL-NOT:     omp.parallel
// SMALL:         llvm.intr.fmuladd
// SMALL-NOT:     omp.parallel
// NEON-LABEL: llvm.func @forward(
// NEON-NOT:     llvm.intr.prefetch
// NEON:         llvm.intr.fmuladd({{.*}}) : (vector<4xf32>, vector<4xf32>, vector<4xf32>) -> vector<4xf32>
// NEON-NOT:     llvm.intr.prefetch
// The host prefetches the rhs rows and (N = 32 is small) the packed
// values; each can be turned off. NEON prefetches neither by default.
// NOPF-LABEL: llvm.func @forward(
// NOPF-NOT:     llvm.intr.prefetch
// NOPF:         llvm.intr.fmuladd
// NOPF-NOT:     llvm.intr.prefetch
// WPF-LABEL: llvm.func @forward(
// WPF:         %[[VALUES:.*]] = llvm.mlir.addressof @__constant_2x2xf32
// WPF:         llvm.intr.prefetch
// WPF:         llvm.intr.fmuladd
func.func @forward(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %rp = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  %ci = arith.constant dense<[0, 3]> : tensor<2xi32>
  %v = arith.constant dense<1.0> : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x32xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y = blkrew.bsr_matmul #blkrew.layout<block = [2, 2], scheme = column>
      ins(%rp, %ci, %v, %x : tensor<3xi32>, tensor<2xi32>, tensor<2x2xf32>, tensor<4x32xf32>)
      outs(%c : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
