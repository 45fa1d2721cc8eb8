// The register-tiled kernel of the CPU pipeline, executed: N = 7 is one
// full 4-wide slice plus a masked tail of 3 (at width 2, one 3-slice tile
// and a tail of 1; all tail at width 16); the
// last row group is half padding and rows are permuted. The product of the
// unpacked matrix, computed densely in the same file, must agree.
//
// RUN: blkrew-opt %s --blkrew-cpu-pipeline="vector-width=4" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_runner_utils%shlibext \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils%shlibext \
// RUN: | FileCheck %s
// RUN: blkrew-opt %s --blkrew-cpu-pipeline="vector-width=2 tile-vectors=4" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_runner_utils%shlibext \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils%shlibext \
// RUN: | FileCheck %s
// RUN: blkrew-opt %s --blkrew-cpu-pipeline="vector-width=16" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_runner_utils%shlibext \
// RUN:   -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils%shlibext \
// RUN: | FileCheck %s

#layout = #blkrew.layout<block = [2, 2], scheme = column, perm = [4, 2, 0, 1, 3]>

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  %rp = arith.constant dense<[0, 2, 3, 4]> : tensor<4xi32>
  %ci = arith.constant dense<[0, 3, 1, 2]> : tensor<4xi32>
  %v = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 0.0]]> : tensor<4x2xf32>
  %x = arith.constant dense<[[-10.0, -9.0, -8.0, -7.0, -6.0, -5.0, -4.0],
                             [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0],
                             [4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
                             [11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]]> : tensor<4x7xf32>
  %zero = arith.constant dense<0.0> : tensor<5x7xf32>
  %e = tensor.empty() : tensor<5x4xf32>

  %y = blkrew.bsr_matmul #layout
      ins(%rp, %ci, %v, %x : tensor<4xi32>, tensor<4xi32>, tensor<4x2xf32>, tensor<4x7xf32>)
      outs(%zero : tensor<5x7xf32>) -> tensor<5x7xf32>
  %w = blkrew.to_dense #layout
      ins(%rp, %ci, %v : tensor<4xi32>, tensor<4xi32>, tensor<4x2xf32>)
      outs(%e : tensor<5x4xf32>) -> tensor<5x4xf32>
  %d = linalg.matmul ins(%w, %x : tensor<5x4xf32>, tensor<4x7xf32>)
                     outs(%zero : tensor<5x7xf32>) -> tensor<5x7xf32>

  // CHECK: rank = 2 offset = 0 sizes = [5, 7]
  // CHECK-NEXT: [-15,   -10,   -5,   0,   5,   10,   15]
  // CHECK-NEXT: [-18,   -12,   -6,   0,   6,   12,   18]
  // CHECK-NEXT: [24,   30,   36,   42,   48,   54,   60]
  // CHECK-NEXT: [28,   35,   42,   49,   56,   63,   70]
  // CHECK-NEXT: [23,   27,   31,   35,   39,   43,   47]
  %yu = tensor.cast %y : tensor<5x7xf32> to tensor<*xf32>
  call @printMemrefF32(%yu) : (tensor<*xf32>) -> ()
  // CHECK: rank = 2 offset = 0 sizes = [5, 7]
  // CHECK-NEXT: [-15,   -10,   -5,   0,   5,   10,   15]
  // CHECK-NEXT: [-18,   -12,   -6,   0,   6,   12,   18]
  // CHECK-NEXT: [24,   30,   36,   42,   48,   54,   60]
  // CHECK-NEXT: [28,   35,   42,   49,   56,   63,   70]
  // CHECK-NEXT: [23,   27,   31,   35,   39,   43,   47]
  %du = tensor.cast %d : tensor<5x7xf32> to tensor<*xf32>
  call @printMemrefF32(%du) : (tensor<*xf32>) -> ()
  return
}
