// What the CPU pipeline does to the dense ops around the kernels: an
// element-wise chain (bias, ReLU) fused into one loop nest, the
// temporaries that remain placed in the function's arena, and with
// threads, large ops split across them (OpenMP) and small ones left alone.
// RUN: blkrew-opt %s --blkrew-cpu-pipeline -mlir-print-ir-after=blkrew-fuse-elementwise -o /dev/null 2>&1 | FileCheck %s --check-prefix=FUSED
// RUN: blkrew-opt %s --blkrew-cpu-pipeline -mlir-print-ir-after=blkrew-plan-buffers -o /dev/null 2>&1 | FileCheck %s --check-prefix=ARENA
// RUN: blkrew-opt %s --blkrew-cpu-pipeline="parallel=true parallel-min-iterations=65536" | FileCheck %s --check-prefix=OMP
// RUN: blkrew-opt %s --blkrew-cpu-pipeline=parallel=true | FileCheck %s --check-prefix=BELOW
// RUN: blkrew-opt %s --blkrew-cpu-pipeline="parallel=true parallel-min-iterations=65537" | FileCheck %s --check-prefix=BELOW

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#chan = affine_map<(d0, d1, d2) -> (d1)>

// FUSED-LABEL: func.func @bias_relu(
// FUSED:         linalg.generic
// FUSED:           arith.addf
// FUSED:           arith.maximumf
// FUSED-NOT:     linalg.generic
// FUSED:         linalg.transpose
// FUSED:         return
// ARENA:       memref.global "private" @__blkrew_arena_bias_relu : memref<{{[0-9]+}}xi8> = uninitialized
// ARENA-LABEL: func.func @bias_relu(
// ARENA-NOT:     memref.alloc(
// ARENA:         memref.view {{.*}} to memref<1x8x16xf32>
// ARENA:         linalg.generic
// ARENA-NOT:     memref.alloc(
// ARENA:         return
// OMP-LABEL:   llvm.func @bias_relu(
// OMP-NOT:       omp.parallel
// OMP:           llvm.return
func.func @bias_relu(%x: tensor<1x8x16xf32>, %b: tensor<8xf32>) -> tensor<1x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x16xf32>
  %biased = linalg.generic {indexing_maps = [#id, #chan, #id],
                            iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %b : tensor<1x8x16xf32>, tensor<8xf32>) outs(%e : tensor<1x8x16xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    linalg.yield %s : f32
  } -> tensor<1x8x16xf32>
  %relu = linalg.generic {indexing_maps = [#id, #id],
                          iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%biased : tensor<1x8x16xf32>) outs(%e : tensor<1x8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x8x16xf32>
  %y = tensor.empty() : tensor<1x16x8xf32>
  %t = linalg.transpose ins(%relu : tensor<1x8x16xf32>) outs(%y : tensor<1x16x8xf32>) permutation = [0, 2, 1]
  return %t : tensor<1x16x8xf32>
}

// 64 x 1024 elements (at a threshold of 2^16): the fused chain and the
// transpose each run as an OpenMP worksharing loop over channel slices.
// OMP-LABEL:   llvm.func @bias_relu_large(
// OMP:           omp.parallel {
// OMP:             omp.wsloop {
// OMP:               llvm.intr.maximum
// OMP:           omp.parallel {
// OMP:             omp.wsloop {
// OMP:           llvm.return
// Below a raised threshold, and the default (2^21), they stay on the
// calling thread.
// BELOW-LABEL: llvm.func @bias_relu_large(
// BELOW-NOT:     omp.parallel
// BELOW:         llvm.intr.maximum
// BELOW-NOT:     omp.parallel
// BELOW:         llvm.return
func.func @bias_relu_large(%x: tensor<1x64x1024xf32>, %b: tensor<64xf32>) -> tensor<1x1024x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x64x1024xf32>
  %relu = linalg.generic {indexing_maps = [#id, #chan, #id],
                          iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %b : tensor<1x64x1024xf32>, tensor<64xf32>) outs(%e : tensor<1x64x1024xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x64x1024xf32>
  %y = tensor.empty() : tensor<1x1024x64xf32>
  %t = linalg.transpose ins(%relu : tensor<1x64x1024xf32>) outs(%y : tensor<1x1024x64xf32>) permutation = [0, 2, 1]
  return %t : tensor<1x1024x64xf32>
}
