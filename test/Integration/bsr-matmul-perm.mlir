// A layout with a row permutation: packed row r is original row perm[r].
// bsr_matmul must write each result row back to its original position and
// to_dense must rebuild the permuted matrix; the dense product of that
// matrix must agree.
//
// RUN: blkrew-opt %s --blkrew-reference-to-llvm-pipeline \
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
  %x = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0],
                             [7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]> : tensor<4x3xf32>
  %e = tensor.empty() : tensor<5x4xf32>
  %zero = arith.constant dense<0.0> : tensor<5x3xf32>

  %y = blkrew.bsr_matmul #layout
      ins(%rp, %ci, %v, %x : tensor<4xi32>, tensor<4xi32>, tensor<4x2xf32>, tensor<4x3xf32>)
      outs(%zero : tensor<5x3xf32>) -> tensor<5x3xf32>
  %w = blkrew.to_dense #layout
      ins(%rp, %ci, %v : tensor<4xi32>, tensor<4xi32>, tensor<4x2xf32>)
      outs(%e : tensor<5x4xf32>) -> tensor<5x4xf32>
  %d = linalg.matmul ins(%w, %x : tensor<5x4xf32>, tensor<4x3xf32>)
                     outs(%zero : tensor<5x3xf32>) -> tensor<5x3xf32>

  // CHECK: rank = 2 offset = 0 sizes = [5, 3]
  // CHECK-NEXT: [20,   25,   30]
  // CHECK-NEXT: [24,   30,   36]
  // CHECK-NEXT: [42,   48,   54]
  // CHECK-NEXT: [49,   56,   63]
  // CHECK-NEXT: [31,   35,   39]
  %yu = tensor.cast %y : tensor<5x3xf32> to tensor<*xf32>
  call @printMemrefF32(%yu) : (tensor<*xf32>) -> ()

  // CHECK: rank = 2 offset = 0 sizes = [5, 3]
  // CHECK-NEXT: [20,   25,   30]
  // CHECK-NEXT: [24,   30,   36]
  // CHECK-NEXT: [42,   48,   54]
  // CHECK-NEXT: [49,   56,   63]
  // CHECK-NEXT: [31,   35,   39]
  %du = tensor.cast %d : tensor<5x3xf32> to tensor<*xf32>
  call @printMemrefF32(%du) : (tensor<*xf32>) -> ()

  // Unpacked: the rows of the unpermuted matrix, moved to perm[r].
  // CHECK: rank = 2 offset = 0 sizes = [5, 4]
  // CHECK-NEXT: [0,   5,   0,   0]
  // CHECK-NEXT: [0,   6,   0,   0]
  // CHECK-NEXT: [2,   0,   0,   4]
  // CHECK-NEXT: [0,   0,   7,   0]
  // CHECK-NEXT: [1,   0,   0,   3]
  %wu = tensor.cast %w : tensor<5x4xf32> to tensor<*xf32>
  call @printMemrefF32(%wu) : (tensor<*xf32>) -> ()
  return
}
